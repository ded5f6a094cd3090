package io.porin.dns;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.dns.DnsRecordType;
import io.porin.core.policy.Protocol;
import io.porin.core.service.ServiceRecord;
import io.porin.dns.testing.DnsClient;
import io.porin.dns.zone.Rcode;
import io.porin.dns.zone.Zones;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.service.testing.TestHttp;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusIntegrationTest;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The packaged DNS against a real etcd: records written to etcd are answered over UDP and TCP,
 * changes and deletes show within moments, and a malformed record harms nothing else.
 */
@QuarkusIntegrationTest
@WithTestResource(DnsResource.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DnsServiceIT {
  private static final String API = "api.demo.svc.cluster.local";
  private static KvStore kv;

  @BeforeAll
  static void connect() {
    kv = DnsResource.etcd.connect();
  }

  @AfterAll
  static void disconnect() {
    kv.close();
  }

  private static int port() {
    return DnsResource.dnsPort;
  }

  private static void put(ServiceRecord r) {
    kv.put(Keys.Services.service(r.namespace(), r.name()), r.toJson(), 0);
  }

  private static void putEndpoint(String ip, String namespace, String pod) {
    kv.put(
        Keys.Endpoints.endpoint("n1", ip),
        "{\"ip\":\"%s\",\"identity\":123,\"node\":\"node1\",\"namespace\":\"%s\",\"pod\":\"%s\",\"endpointId\":7}"
            .formatted(ip, namespace, pod),
        0);
  }

  /** The answer once it satisfies the check (the watch is asynchronous), or the last one. */
  private static DnsClient.Answer eventually(
      Supplier<DnsClient.Answer> query, java.util.function.Predicate<DnsClient.Answer> check)
      throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    DnsClient.Answer a = query.get();
    while (!check.test(a) && System.nanoTime() < deadline) {
      Thread.sleep(50);
      a = query.get();
    }
    return a;
  }

  /** A process without the cluster's certificate gets a failed handshake, nothing else. */
  @Test
  @org.junit.jupiter.api.Order(0)
  void onlyTheClusterIsServed() throws Exception {
    io.porin.service.testing.TlsRefusals.assertOnlyTheClusterIsServed(DnsResource.port, "dns");
  }

  @Test
  @Order(1)
  void readyOnceTheZoneIsLoadedAndTheSocketsAreBound() throws InterruptedException {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (TestHttp.get(DnsResource.port, "dns", "/q/health/ready").status() != 200
        && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(TestHttp.get(DnsResource.port, "dns", "/q/health/ready"))
        .satisfies(
            r -> {
              assertThat(r.status()).isEqualTo(200);
              assertThat(r.body()).contains("zoneLoaded");
            });
    assertThat(TestHttp.get(DnsResource.port, "dns", "/q/health/live"))
        .satisfies(
            r -> {
              assertThat(r.status()).isEqualTo(200);
            });
    // Nothing published yet: the name does not exist.
    assertThat(DnsClient.udp(port(), API, DnsRecordType.A).rcode())
        .isEqualTo(Rcode.NXDOMAIN.code());
  }

  @Test
  @Order(2)
  void publishedServicesAndPodsAreAnsweredOverUdpAndTcp() throws InterruptedException {
    put(
        Zones.clusterIp(
            "demo",
            "api",
            List.of("10.96.0.10", "fd00:96::a"),
            List.of(Zones.port("http", 80, Protocol.TCP))));
    put(
        Zones.headless(
            "demo",
            "db",
            List.of(Zones.port("pg", 5432, Protocol.TCP)),
            List.of(
                Zones.backend("db-0", ServiceRecord.State.ACTIVE, List.of("10.0.1.7"), 5432),
                Zones.backend(
                    "db-1", ServiceRecord.State.TERMINATING, List.of("10.0.1.8"), 5432))));
    putEndpoint("10.0.1.7", "demo", "db-0");
    putEndpoint("fd00:1::7", "demo", "db-0");

    DnsClient.Answer a =
        eventually(() -> DnsClient.udp(port(), API, DnsRecordType.A), x -> !x.answers().isEmpty());
    assertThat(a.rcode()).isZero();
    assertThat(a.answers()).containsExactly(API + ". A 10.96.0.10");
    assertThat(DnsClient.tcp(port(), API, DnsRecordType.AAAA).answers())
        .containsExactly(API + ". AAAA fd00:96::a");
    assertThat(DnsClient.tcp(port(), "_http._tcp." + API, DnsRecordType.SRV).answers())
        .containsExactly("_http._tcp." + API + ". SRV 0 100 80 " + API + ".");
    assertThat(DnsClient.udp(port(), "db.demo.svc.cluster.local", DnsRecordType.A).answers())
        .containsExactly("db.demo.svc.cluster.local. A 10.0.1.7");
    assertThat(DnsClient.udp(port(), "db-0.db.demo.svc.cluster.local", DnsRecordType.A).answers())
        .containsExactly("db-0.db.demo.svc.cluster.local. A 10.0.1.7");
    DnsClient.Answer pod =
        eventually(
            () -> DnsClient.udp(port(), "fd00-1--7.demo.pod.cluster.local", DnsRecordType.AAAA),
            x -> !x.answers().isEmpty());
    assertThat(pod.answers()).containsExactly("fd00-1--7.demo.pod.cluster.local. AAAA fd00:1::7");
    assertThat(DnsClient.udp(port(), "10.0.96.10.in-addr.arpa", DnsRecordType.PTR).answers())
        .containsExactly("10.0.96.10.in-addr.arpa. PTR " + API + ".");
    DnsClient.Answer nx = DnsClient.tcp(port(), "nope.demo.svc.cluster.local", DnsRecordType.A);
    assertThat(nx.rcode()).isEqualTo(Rcode.NXDOMAIN.code());
    assertThat(nx.authority()).hasSize(1).allMatch(s -> s.startsWith("cluster.local. SOA "));
    assertThat(DnsClient.udp(port(), "example.com", DnsRecordType.A).rcode())
        .isEqualTo(Rcode.REFUSED.code());
  }

  @Test
  @Order(3)
  void changesAndDeletesShowAndAMalformedRecordHarmsNothingElse() throws InterruptedException {
    kv.put(Keys.Services.service("demo", "broken"), "{not json", 0);
    kv.put(Keys.Endpoints.endpoint("n1", "10.0.1.99"), "[]", 0);
    put(
        Zones.clusterIp(
            "demo", "api", List.of("10.96.0.99"), List.of(Zones.port("http", 80, Protocol.TCP))));
    DnsClient.Answer changed =
        eventually(
            () -> DnsClient.udp(port(), API, DnsRecordType.A),
            x -> x.answers().equals(List.of(API + ". A 10.96.0.99")));
    assertThat(changed.answers()).containsExactly(API + ". A 10.96.0.99");
    // The IPv6 address is gone: NODATA, not NXDOMAIN.
    DnsClient.Answer noData = DnsClient.tcp(port(), API, DnsRecordType.AAAA);
    assertThat(noData.rcode()).isZero();
    assertThat(noData.answers()).isEmpty();
    assertThat(DnsClient.udp(port(), "broken.demo.svc.cluster.local", DnsRecordType.A).rcode())
        .isEqualTo(Rcode.NXDOMAIN.code());

    kv.delete(Keys.Services.service("demo", "api"));
    DnsClient.Answer deleted =
        eventually(
            () -> DnsClient.udp(port(), API, DnsRecordType.A),
            x -> x.rcode() == Rcode.NXDOMAIN.code());
    assertThat(deleted.rcode()).isEqualTo(Rcode.NXDOMAIN.code());
    assertThat(DnsClient.tcp(port(), API, DnsRecordType.A).rcode())
        .isEqualTo(Rcode.NXDOMAIN.code());

    kv.delete(Keys.Endpoints.endpoint("n1", "fd00:1::7"));
    assertThat(
            eventually(
                    () ->
                        DnsClient.udp(
                            port(), "fd00-1--7.demo.pod.cluster.local", DnsRecordType.AAAA),
                    x -> x.rcode() == Rcode.NXDOMAIN.code())
                .rcode())
        .isEqualTo(Rcode.NXDOMAIN.code());
    // The other service is untouched.
    assertThat(DnsClient.udp(port(), "db.demo.svc.cluster.local", DnsRecordType.A).answers())
        .containsExactly("db.demo.svc.cluster.local. A 10.0.1.7");
  }

  @Test
  @Order(4)
  void queriesAreCountedByResponseCode() {
    String metrics = TestHttp.get(DnsResource.port, "dns", "/q/metrics").body();
    assertThat(metrics).contains("porin_dns_queries_total{rcode=\"NXDOMAIN\"}");
    assertThat(metrics).contains("porin_dns_queries_total{rcode=\"NOERROR\"}");
    assertThat(metrics).doesNotContain("porin_dns_queries_total{rcode=\"NXDOMAIN\"} 0.0");
    assertThat(metrics).contains("porin_dns_zone_services 1.0");
  }
}
