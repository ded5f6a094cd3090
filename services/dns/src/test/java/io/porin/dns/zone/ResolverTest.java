package io.porin.dns.zone;

import static io.porin.dns.zone.Question.A;
import static io.porin.dns.zone.Question.AAAA;
import static io.porin.dns.zone.Question.ANY;
import static io.porin.dns.zone.Question.NS;
import static io.porin.dns.zone.Question.PTR;
import static io.porin.dns.zone.Question.SOA;
import static io.porin.dns.zone.Question.SRV;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The kubernetes plugin's answers, as tables over {@link Zones#standard()}. */
class ResolverTest {
  private static final Resolver RESOLVER = new Resolver(5);
  private static final DnsZone ZONE = Zones.standard();
  private static final String SOA_TEXT =
      "cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local. 42 5";

  private static Arguments row(String name, int type, Rcode rcode, String... answers) {
    return Arguments.of(name, type, rcode, List.of(answers));
  }

  static Stream<Arguments> answers() {
    String api = "api.demo.svc.cluster.local.";
    String db = "db.demo.svc.cluster.local.";
    return Stream.of(
        // ClusterIP services: each family its own type; NODATA for the missing family.
        row("api.demo.svc.cluster.local", A, Rcode.NOERROR, api + " A 10.96.0.10"),
        row("api.demo.svc.cluster.local.", AAAA, Rcode.NOERROR, api + " AAAA fd00:96::a"),
        row(
            "api.demo.svc.cluster.local",
            ANY,
            Rcode.NOERROR,
            api + " A 10.96.0.10",
            api + " AAAA fd00:96::a"),
        row("v4only.demo.svc.cluster.local", AAAA, Rcode.NOERROR),
        row("api.demo.svc.cluster.local", PTR, Rcode.NOERROR),
        // Case-insensitive; the owner keeps the question's case.
        row(
            "API.Demo.SVC.Cluster.Local.",
            A,
            Rcode.NOERROR,
            "API.Demo.SVC.Cluster.Local. A 10.96.0.10"),
        // Headless: the active backends; terminating only when none is active.
        row("db.demo.svc.cluster.local", A, Rcode.NOERROR, db + " A 10.0.1.7", db + " A 10.0.1.8"),
        row("db.demo.svc.cluster.local", AAAA, Rcode.NOERROR, db + " AAAA fd00:1::7"),
        row(
            "drain.demo.svc.cluster.local",
            A,
            Rcode.NOERROR,
            "drain.demo.svc.cluster.local. A 10.0.2.1"),
        row("empty.demo.svc.cluster.local", A, Rcode.NOERROR),
        // A backend by its pod name.
        row("db-0.db.demo.svc.cluster.local", A, Rcode.NOERROR, "db-0." + db + " A 10.0.1.7"),
        row(
            "db-0.db.demo.svc.cluster.local",
            AAAA,
            Rcode.NOERROR,
            "db-0." + db + " AAAA fd00:1::7"),
        row("db-1.db.demo.svc.cluster.local", AAAA, Rcode.NOERROR),
        row("db-2.db.demo.svc.cluster.local", A, Rcode.NXDOMAIN),
        row("db-9.db.demo.svc.cluster.local", A, Rcode.NXDOMAIN),
        // SRV: named ports; a ClusterIP service targets itself, a headless one each backend.
        row(
            "_http._tcp.api.demo.svc.cluster.local",
            SRV,
            Rcode.NOERROR,
            "_http._tcp.api.demo.svc.cluster.local. SRV 0 100 80 " + api),
        row(
            "_dns._udp.api.demo.svc.cluster.local",
            SRV,
            Rcode.NOERROR,
            "_dns._udp.api.demo.svc.cluster.local. SRV 0 100 53 " + api),
        row("_dns._tcp.api.demo.svc.cluster.local", SRV, Rcode.NXDOMAIN),
        row("_nope._tcp.api.demo.svc.cluster.local", SRV, Rcode.NXDOMAIN),
        row(
            "_pg._tcp.db.demo.svc.cluster.local",
            SRV,
            Rcode.NOERROR,
            "_pg._tcp.db.demo.svc.cluster.local. SRV 0 50 5433 db-0." + db,
            "_pg._tcp.db.demo.svc.cluster.local. SRV 0 50 5433 db-1." + db),
        row("_pg._tcp.empty.demo.svc.cluster.local", SRV, Rcode.NOERROR),
        // SRV of the service's own name: every port, named or not (as CoreDNS).
        row(
            "api.demo.svc.cluster.local",
            SRV,
            Rcode.NOERROR,
            api + " SRV 0 33 80 " + api,
            api + " SRV 0 33 53 " + api,
            api + " SRV 0 33 9090 " + api),
        // An SRV name asked for addresses answers the service's (as CoreDNS).
        row(
            "_http._tcp.api.demo.svc.cluster.local",
            A,
            Rcode.NOERROR,
            "_http._tcp.api.demo.svc.cluster.local. A 10.96.0.10"),
        // Namespaces and the zone's own names: NODATA when they exist, NXDOMAIN when not.
        row("svc.cluster.local", A, Rcode.NOERROR),
        row("demo.svc.cluster.local", A, Rcode.NOERROR),
        row("solo.svc.cluster.local", A, Rcode.NOERROR),
        row("nowhere.svc.cluster.local", A, Rcode.NXDOMAIN),
        row("web.demo.svc.cluster.local", A, Rcode.NXDOMAIN),
        row(
            "web.other.svc.cluster.local",
            A,
            Rcode.NOERROR,
            "web.other.svc.cluster.local. A 10.96.0.20"),
        row("a.b.c.d.e.svc.cluster.local", A, Rcode.NXDOMAIN),
        row("_tcp.api.demo.svc.cluster.local", A, Rcode.NXDOMAIN),
        row("x.cluster.local", A, Rcode.NXDOMAIN),
        row("x.y.cluster.local", A, Rcode.NXDOMAIN),
        row("pod.cluster.local", A, Rcode.NOERROR),
        row("demo.pod.cluster.local", A, Rcode.NOERROR),
        row("cluster.local", A, Rcode.NOERROR),
        row("cluster.local", SOA, Rcode.NOERROR, SOA_TEXT),
        row("cluster.local.", NS, Rcode.NOERROR, "cluster.local. NS ns.dns.cluster.local."),
        // Pod records: verified against the published addresses of that namespace.
        row(
            "10-0-1-5.demo.pod.cluster.local",
            A,
            Rcode.NOERROR,
            "10-0-1-5.demo.pod.cluster.local. A 10.0.1.5"),
        row("10-0-1-5.demo.pod.cluster.local", AAAA, Rcode.NOERROR),
        row(
            "fd00-1--5.demo.pod.cluster.local",
            AAAA,
            Rcode.NOERROR,
            "fd00-1--5.demo.pod.cluster.local. AAAA fd00:1::5"),
        row(
            "fd00-1-0-0-0-0-0-5.demo.pod.cluster.local",
            AAAA,
            Rcode.NOERROR,
            "fd00-1-0-0-0-0-0-5.demo.pod.cluster.local. AAAA fd00:1::5"),
        row("10-0-1-5.solo.pod.cluster.local", A, Rcode.NXDOMAIN),
        row("10-0-1-6.demo.pod.cluster.local", A, Rcode.NXDOMAIN),
        row("10-0-9-9.demo.pod.cluster.local", A, Rcode.NXDOMAIN),
        row("api-1.demo.pod.cluster.local", A, Rcode.NXDOMAIN),
        // Reverse: cluster IPs, backends, then other pods; unknown addresses are not ours.
        row("10.0.96.10.in-addr.arpa", PTR, Rcode.NOERROR, "10.0.96.10.in-addr.arpa. PTR " + api),
        row(
            "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa.",
            PTR,
            Rcode.NOERROR,
            "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa. PTR " + api),
        row("7.1.0.10.in-addr.arpa", PTR, Rcode.NOERROR, "7.1.0.10.in-addr.arpa. PTR db-0." + db),
        row(
            "5.1.0.10.in-addr.arpa",
            PTR,
            Rcode.NOERROR,
            "5.1.0.10.in-addr.arpa. PTR 10-0-1-5.demo.pod.cluster.local."),
        row("5.1.0.10.in-addr.arpa", A, Rcode.NOERROR),
        row("9.1.0.10.in-addr.arpa", PTR, Rcode.REFUSED),
        row("1.1.1.1.in-addr.arpa", PTR, Rcode.REFUSED),
        // Outside the zone: no forwarding.
        row("example.com", A, Rcode.REFUSED),
        row("cluster.local.example.com", A, Rcode.REFUSED),
        row("notcluster.local", A, Rcode.REFUSED),
        row(".", NS, Rcode.REFUSED));
  }

  @ParameterizedTest(name = "{0} {1} -> {2}")
  @MethodSource("answers")
  void answers(String name, int type, Rcode rcode, List<String> expected) {
    Resolution r = RESOLVER.resolve(ZONE, Query.of(name, type));
    assertThat(r.rcode()).isEqualTo(rcode);
    assertThat(r.answers()).map(Zones::text).containsExactlyInAnyOrderElementsOf(expected);
    if (rcode == Rcode.NXDOMAIN || (rcode == Rcode.NOERROR && expected.isEmpty())) {
      if (name.endsWith("arpa")) {
        assertThat(r.authority()).isEmpty();
      } else {
        // Negative answers carry the SOA, whose minimum (and TTL) is the negative TTL.
        assertThat(r.authority()).map(Zones::text).containsExactly(SOA_TEXT);
        assertThat(r.authority().getFirst().ttl()).isEqualTo(5);
      }
    }
    assertThat(r.authoritative()).isEqualTo(rcode != Rcode.REFUSED);
    r.answers().forEach(a -> assertThat(a.ttl()).isEqualTo(5));
  }

  @Test
  void srvAnswersCarryTheTargetsAddresses() {
    Resolution clusterIp =
        RESOLVER.resolve(ZONE, Query.of("_http._tcp.api.demo.svc.cluster.local", SRV));
    assertThat(clusterIp.additional())
        .map(Zones::text)
        .containsExactly(
            "api.demo.svc.cluster.local. A 10.96.0.10",
            "api.demo.svc.cluster.local. AAAA fd00:96::a");
    Resolution headless =
        RESOLVER.resolve(ZONE, Query.of("_pg._tcp.db.demo.svc.cluster.local", SRV));
    assertThat(headless.additional())
        .map(Zones::text)
        .containsExactly(
            "db-0.db.demo.svc.cluster.local. A 10.0.1.7",
            "db-0.db.demo.svc.cluster.local. AAAA fd00:1::7",
            "db-1.db.demo.svc.cluster.local. A 10.0.1.8");
  }

  static Stream<Arguments> badQueries() {
    return Stream.of(
        Arguments.of(new Query(4, List.of(Question.in("cluster.local", SOA))), Rcode.NOTIMP),
        Arguments.of(new Query(5, List.of(Question.in("cluster.local", SOA))), Rcode.NOTIMP),
        Arguments.of(new Query(Query.QUERY, List.of()), Rcode.FORMERR),
        Arguments.of(
            new Query(
                Query.QUERY,
                List.of(
                    Question.in("api.demo.svc.cluster.local", A),
                    Question.in("api.demo.svc.cluster.local", AAAA))),
            Rcode.FORMERR),
        Arguments.of(
            new Query(Query.QUERY, List.of(new Question("version.bind", 16, 3))), Rcode.NOTIMP),
        Arguments.of(
            new Query(Query.QUERY, List.of(new Question("api.demo.svc.cluster.local", A, 255))),
            Rcode.NOTIMP),
        Arguments.of(Query.of("cluster.local", Question.AXFR), Rcode.REFUSED),
        Arguments.of(Query.of("cluster.local", Question.IXFR), Rcode.REFUSED));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("badQueries")
  void badQueriesGetErrorsNotExceptions(Query query, Rcode rcode) {
    Resolution r = RESOLVER.resolve(ZONE, query);
    assertThat(r.rcode()).isEqualTo(rcode);
    assertThat(r.answers()).isEmpty();
  }

  @Test
  void anUnloadedZoneFailsRatherThanDenies() {
    Resolution r =
        RESOLVER.resolve(
            DnsZone.unloaded("cluster.local"), Query.of("api.demo.svc.cluster.local", A));
    assertThat(r.rcode()).isEqualTo(Rcode.SERVFAIL);
  }

  @Test
  void theDomainIsConfigurable() {
    DnsZone zone =
        DnsZone.of(
            "Corp.Example.",
            1,
            List.of(
                DnsZone.Service.of(
                    Zones.clusterIp("demo", "api", List.of("10.96.0.10"), List.of()))),
            List.of());
    assertThat(RESOLVER.resolve(zone, Query.of("api.demo.svc.corp.example", A)).answers())
        .map(Zones::text)
        .containsExactly("api.demo.svc.corp.example. A 10.96.0.10");
    assertThat(RESOLVER.resolve(zone, Query.of("api.demo.svc.cluster.local", A)).rcode())
        .isEqualTo(Rcode.REFUSED);
  }

  @Test
  void recordsThatAreNoDnsNamesAreRefused() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                DnsZone.Service.of(
                    Zones.clusterIp("demo", "Bad_Name", List.of("10.96.0.1"), List.of())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Bad_Name");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> DnsZone.Service.of(Zones.clusterIp("demo", "api", List.of("10.96.0"), List.of())))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
