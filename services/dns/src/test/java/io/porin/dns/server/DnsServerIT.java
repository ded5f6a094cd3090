package io.porin.dns.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.dns.DnsRecordType;
import io.porin.core.policy.Protocol;
import io.porin.core.service.ServiceRecord;
import io.porin.dns.testing.DnsClient;
import io.porin.dns.zone.DnsZone;
import io.porin.dns.zone.Rcode;
import io.porin.dns.zone.Resolver;
import io.porin.dns.zone.Zones;
import io.porin.kvstore.testing.EtcdProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The server on real sockets (127.0.0.1, a free port) over a fixed zone: UDP and TCP, truncation,
 * EDNS0, and messages that are not proper queries.
 */
class DnsServerIT {
  private static final int BIG = 60;
  private static final Map<Rcode, Integer> counted = new EnumMap<>(Rcode.class);
  private static DnsServer server;
  private static int port;

  @BeforeAll
  static void start() {
    List<DnsZone.Service> services = new ArrayList<>();
    List<ServiceRecord.Backend> backends = new ArrayList<>();
    for (int i = 0; i < BIG; i++) {
      backends.add(
          Zones.backend("big-" + i, ServiceRecord.State.ACTIVE, List.of("10.0.4." + i), 80));
    }
    services.add(
        DnsZone.Service.of(
            Zones.headless(
                "demo", "big", List.of(Zones.port("http", 80, Protocol.TCP)), backends)));
    services.add(
        DnsZone.Service.of(
            Zones.clusterIp(
                "demo",
                "api",
                List.of("10.96.0.10", "fd00:96::a"),
                List.of(Zones.port("http", 80, Protocol.TCP)))));
    DnsZone zone = DnsZone.of("cluster.local", 7, services, List.of());
    port = EtcdProcess.freePort();
    server =
        new DnsServer(
            new DnsServer.Settings(List.of("127.0.0.1"), port, Duration.ofSeconds(2), 1),
            () -> zone,
            new Resolver(5),
            rcode -> {
              synchronized (counted) {
                counted.merge(rcode, 1, Integer::sum);
              }
            });
    server.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  @Test
  void answersOverUdpAndTcp() {
    for (DnsClient.Answer a :
        List.of(
            DnsClient.udp(port, "api.demo.svc.cluster.local", DnsRecordType.A),
            DnsClient.tcp(port, "api.demo.svc.cluster.local", DnsRecordType.A))) {
      assertThat(a.rcode()).isZero();
      assertThat(a.authoritative()).isTrue();
      assertThat(a.answers()).containsExactly("api.demo.svc.cluster.local. A 10.96.0.10");
    }
    DnsClient.Answer srv =
        DnsClient.udp(port, "_http._tcp.api.demo.svc.cluster.local", DnsRecordType.SRV);
    assertThat(srv.answers())
        .containsExactly(
            "_http._tcp.api.demo.svc.cluster.local. SRV 0 100 80 api.demo.svc.cluster.local.");
    assertThat(srv.additional())
        .containsExactly(
            "api.demo.svc.cluster.local. A 10.96.0.10",
            "api.demo.svc.cluster.local. AAAA fd00:96::a");
    DnsClient.Answer nx = DnsClient.tcp(port, "nope.demo.svc.cluster.local", DnsRecordType.A);
    assertThat(nx.rcode()).isEqualTo(Rcode.NXDOMAIN.code());
    assertThat(nx.authority())
        .containsExactly("cluster.local. SOA ns.dns.cluster.local. hostmaster.cluster.local. 7 5");
    assertThat(DnsClient.udp(port, "example.com", DnsRecordType.A).rcode())
        .isEqualTo(Rcode.REFUSED.code());
  }

  @Test
  void udpAnswersThatDoNotFitAreTruncated() {
    DnsClient.Answer classic = DnsClient.udp(port, "big.demo.svc.cluster.local", DnsRecordType.A);
    assertThat(classic.truncated()).isTrue();
    assertThat(classic.answers()).isEmpty();
    assertThat(classic.size()).isLessThanOrEqualTo(512);

    DnsClient.Answer small =
        DnsClient.udp(port, "big.demo.svc.cluster.local", DnsRecordType.A, 1000);
    assertThat(small.truncated()).isTrue();
    assertThat(small.additional()).containsExactly(". OPT 1232");

    DnsClient.Answer edns =
        DnsClient.udp(port, "big.demo.svc.cluster.local", DnsRecordType.A, 4096);
    assertThat(edns.truncated()).isFalse();
    assertThat(edns.answers()).hasSize(BIG);
    assertThat(edns.additional()).containsExactly(". OPT 1232");
    assertThat(edns.size()).isGreaterThan(1000);

    DnsClient.Answer tcp = DnsClient.tcp(port, "big.demo.svc.cluster.local", DnsRecordType.A);
    assertThat(tcp.truncated()).isFalse();
    assertThat(tcp.answers()).hasSize(BIG);
  }

  @Test
  void messagesThatAreNotProperQueriesGetErrorsAndTheServerServesOn() {
    byte[] query = DnsClient.encode("api.demo.svc.cluster.local", DnsRecordType.A, 0);

    // No question although the header announces one: FORMERR with the query's ID.
    byte[] headerOnly = java.util.Arrays.copyOf(query, 12);
    DnsClient.Answer formerr = DnsClient.decode(DnsClient.udpRaw(port, headerOnly));
    assertThat(formerr.rcode()).isEqualTo(Rcode.FORMERR.code());
    assertThat(formerr.id()).isEqualTo(((query[0] & 0xff) << 8) | (query[1] & 0xff));

    // No question announced: FORMERR.
    byte[] none = java.util.Arrays.copyOf(query, 12);
    none[5] = 0;
    assertThat(DnsClient.decode(DnsClient.udpRaw(port, none)).rcode())
        .isEqualTo(Rcode.FORMERR.code());

    // Two questions: FORMERR.
    byte[] question = java.util.Arrays.copyOfRange(query, 12, query.length);
    byte[] two = new byte[query.length + question.length];
    System.arraycopy(query, 0, two, 0, query.length);
    System.arraycopy(question, 0, two, query.length, question.length);
    two[5] = 2;
    assertThat(DnsClient.decode(DnsClient.udpRaw(port, two)).rcode())
        .isEqualTo(Rcode.FORMERR.code());

    // NOTIFY (opcode 4): NOTIMP.
    byte[] notify = query.clone();
    notify[2] = (byte) ((notify[2] & 0x87) | (4 << 3));
    assertThat(DnsClient.decode(DnsClient.udpRaw(port, notify)).rcode())
        .isEqualTo(Rcode.NOTIMP.code());

    // Class CH: NOTIMP.
    byte[] chaos = query.clone();
    chaos[chaos.length - 1] = 3;
    assertThat(DnsClient.decode(DnsClient.udpRaw(port, chaos)).rcode())
        .isEqualTo(Rcode.NOTIMP.code());

    // Too short for a header, or a response: no answer at all.
    assertThat(DnsClient.udpRaw(port, new byte[] {1, 2, 3, 4, 5})).isNull();
    byte[] response = query.clone();
    response[2] |= (byte) 0x80;
    assertThat(DnsClient.udpRaw(port, response)).isNull();

    assertThat(DnsClient.udp(port, "api.demo.svc.cluster.local", DnsRecordType.A).answers())
        .hasSize(1);
    synchronized (counted) {
      assertThat(counted.get(Rcode.FORMERR)).isGreaterThanOrEqualTo(3);
      assertThat(counted.get(Rcode.NOTIMP)).isGreaterThanOrEqualTo(2);
    }
  }

  @Test
  void aBrokenTcpStreamIsClosedAndOthersServeOn() throws Exception {
    try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
      s.setSoTimeout(3000);
      s.getOutputStream().write(new byte[] {0, 5, 1, 2, 3, 4, 5});
      s.getOutputStream().flush();
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    assertThat(DnsClient.tcp(port, "api.demo.svc.cluster.local", DnsRecordType.AAAA).answers())
        .containsExactly("api.demo.svc.cluster.local. AAAA fd00:96::a");
  }

  @Test
  void boundAddresses() {
    assertThat(server.bound()).isTrue();
    assertThat(server.addresses()).hasSize(2).allMatch(a -> a.getPort() == port);
  }
}
