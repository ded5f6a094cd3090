package io.porin.dns.zone;

import io.porin.core.policy.Protocol;
import io.porin.core.service.ServiceRecord;
import java.net.InetAddress;
import java.util.List;

/** Service records and zones for tests. */
public final class Zones {
  private Zones() {}

  public static ServiceRecord clusterIp(
      String namespace, String name, List<String> ips, List<ServiceRecord.Port> ports) {
    return new ServiceRecord(
        namespace, name, "ClusterIP", ips, false, ports, 0, "random", List.of());
  }

  public static ServiceRecord headless(
      String namespace,
      String name,
      List<ServiceRecord.Port> ports,
      List<ServiceRecord.Backend> backends) {
    return new ServiceRecord(
        namespace, name, "ClusterIP", List.of(), true, ports, 0, "random", backends);
  }

  public static ServiceRecord.Port port(String name, int port, Protocol protocol) {
    return new ServiceRecord.Port(name, port, protocol, 0);
  }

  public static ServiceRecord.Backend backend(
      String pod, ServiceRecord.State state, List<String> addresses, Integer... ports) {
    return new ServiceRecord.Backend(pod, "node1", addresses, state, List.of(ports));
  }

  public static DnsZone.Pod pod(String ip, String namespace, String name) {
    return new DnsZone.Pod(InetAddress.ofLiteral(ip), namespace, name);
  }

  /**
   * The zone most tests use:
   *
   * <pre>
   * demo/api     ClusterIP 10.96.0.10, fd00:96::a; http 80/TCP, dns 53/UDP, unnamed 9090/TCP
   * demo/v4only  ClusterIP 10.96.0.11; metrics 9100/TCP
   * demo/db      headless; pg 5432 -> 5433; db-0 (10.0.1.7, fd00:1::7), db-1 (10.0.1.8) active,
   *              db-2 (10.0.1.9) terminating
   * demo/drain   headless; only terminating backends: d-0 (10.0.2.1)
   * demo/empty   headless, no backends
   * other/web    ClusterIP 10.96.0.20; http 80/TCP
   * pods         10.0.1.5, fd00:1::5 (demo/api-1), 10.0.3.3 (solo/lonely), 10.0.9.9 (no namespace)
   * </pre>
   */
  public static DnsZone standard() {
    List<ServiceRecord> services =
        List.of(
            clusterIp(
                "demo",
                "api",
                List.of("10.96.0.10", "fd00:96::a"),
                List.of(
                    port("http", 80, Protocol.TCP),
                    port("dns", 53, Protocol.UDP),
                    port(null, 9090, Protocol.TCP))),
            clusterIp(
                "demo",
                "v4only",
                List.of("10.96.0.11"),
                List.of(port("metrics", 9100, Protocol.TCP))),
            headless(
                "demo",
                "db",
                List.of(port("pg", 5432, Protocol.TCP)),
                List.of(
                    backend(
                        "db-0", ServiceRecord.State.ACTIVE, List.of("10.0.1.7", "fd00:1::7"), 5433),
                    backend("db-1", ServiceRecord.State.ACTIVE, List.of("10.0.1.8"), 5433),
                    backend("db-2", ServiceRecord.State.TERMINATING, List.of("10.0.1.9"), 5433))),
            headless(
                "demo",
                "drain",
                List.of(port("pg", 5432, Protocol.TCP)),
                List.of(
                    backend("d-0", ServiceRecord.State.TERMINATING, List.of("10.0.2.1"), 5432))),
            headless("demo", "empty", List.of(port("pg", 5432, Protocol.TCP)), List.of()),
            clusterIp(
                "other", "web", List.of("10.96.0.20"), List.of(port("http", 80, Protocol.TCP))));
    return DnsZone.of(
        "cluster.local",
        42,
        services.stream().map(DnsZone.Service::of).toList(),
        List.of(
            pod("10.0.1.5", "demo", "api-1"),
            pod("fd00:1::5", "demo", "api-1"),
            pod("10.0.3.3", "solo", "lonely"),
            pod("10.0.9.9", "", "")));
  }

  /** A record as the tests compare it: {@code owner TYPE data}. */
  public static String text(ResourceRecord r) {
    return switch (r) {
      case ResourceRecord.Address a ->
          a.name()
              + " "
              + (a.type() == Question.A ? "A" : "AAAA")
              + " "
              + AddressNames.text(a.address());
      case ResourceRecord.Srv s ->
          s.name() + " SRV " + s.priority() + " " + s.weight() + " " + s.port() + " " + s.target();
      case ResourceRecord.Soa s ->
          s.name() + " SOA " + s.mname() + " " + s.rname() + " " + s.serial() + " " + s.minimum();
      case ResourceRecord.Ns n -> n.name() + " NS " + n.host();
      case ResourceRecord.Ptr p -> p.name() + " PTR " + p.host();
    };
  }
}
