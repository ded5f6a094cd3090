package io.porin.dns.zone;

import io.porin.core.service.ServiceRecord;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What the cluster DNS knows at one moment: the services and the published pod addresses, indexed
 * for lookups. Immutable; the store's watch builds a new one on every change and swaps it in, so a
 * query always reads one consistent zone.
 */
public final class DnsZone {
  /** A DNS label as Kubernetes names are (RFC 1123), which is what names can be made of. */
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  private final String domain;
  private final long serial;
  private final boolean loaded;
  private final Map<String, Map<String, Service>> services;
  private final Set<String> namespaces;
  private final Map<InetAddress, Pod> pods;
  private final Map<InetAddress, List<String>> reverse;

  /** A service as DNS answers for it; built from its {@link ServiceRecord}. */
  public record Service(
      String namespace,
      String name,
      boolean headless,
      List<InetAddress> clusterIps,
      List<Port> ports,
      List<Backend> backends) {
    public Service {
      clusterIps = List.copyOf(clusterIps);
      ports = List.copyOf(ports);
      backends = List.copyOf(backends);
    }

    /**
     * The DNS view of a stored record: names in lower case, addresses parsed, and only the backends
     * DNS names: the active ones, or the terminating ones when none is active.
     *
     * @throws IllegalArgumentException when the namespace or name is not a DNS label, or an address
     *     is not an IP literal
     */
    public static Service of(ServiceRecord r) {
      String namespace = label(r.namespace(), "namespace");
      String name = label(r.name(), "name");
      List<InetAddress> ips = new ArrayList<>();
      for (String ip : r.clusterIPs()) {
        ips.add(literal(ip));
      }
      List<Port> ports = new ArrayList<>();
      for (ServiceRecord.Port p : r.ports()) {
        ports.add(
            new Port(
                p.name() == null ? null : p.name().toLowerCase(Locale.ROOT),
                p.protocol().name().toLowerCase(Locale.ROOT),
                p.port()));
      }
      boolean anyActive =
          r.backends().stream().anyMatch(b -> b.state() == ServiceRecord.State.ACTIVE);
      ServiceRecord.State wanted =
          anyActive ? ServiceRecord.State.ACTIVE : ServiceRecord.State.TERMINATING;
      List<Backend> backends = new ArrayList<>();
      for (ServiceRecord.Backend b : r.backends()) {
        if (b.state() != wanted) {
          continue;
        }
        List<InetAddress> addresses = new ArrayList<>();
        for (String a : b.addresses()) {
          addresses.add(literal(a));
        }
        String pod = b.pod() == null ? "" : b.pod().toLowerCase(Locale.ROOT);
        backends.add(new Backend(LABEL.matcher(pod).matches() ? pod : null, addresses, b.ports()));
      }
      return new Service(namespace, name, r.headless(), ips, ports, backends);
    }
  }

  /**
   * A service port.
   *
   * @param name the port's name in lower case, null when unnamed
   * @param protocol {@code tcp}, {@code udp} or {@code sctp}
   */
  public record Port(String name, String protocol, int port) {}

  /**
   * A backend DNS names.
   *
   * @param hostname the pod's name when it is a DNS label, else null (its addresses are still
   *     answered for the service, but it has no name of its own)
   * @param ports the pod's port per service port, 0 where it has none
   */
  public record Backend(String hostname, List<InetAddress> addresses, List<Integer> ports) {
    public Backend {
      addresses = List.copyOf(addresses);
      ports = List.copyOf(ports);
    }
  }

  /** A published pod address (an endpoint key). */
  public record Pod(InetAddress address, String namespace, String name) {}

  private DnsZone(
      String domain,
      long serial,
      boolean loaded,
      Map<String, Map<String, Service>> services,
      Set<String> namespaces,
      Map<InetAddress, Pod> pods,
      Map<InetAddress, List<String>> reverse) {
    this.domain = domain;
    this.serial = serial;
    this.loaded = loaded;
    this.services = services;
    this.namespaces = namespaces;
    this.pods = pods;
    this.reverse = reverse;
  }

  /** The zone before the store was read: every query in it fails (SERVFAIL), none is denied. */
  public static DnsZone unloaded(String domain) {
    return new DnsZone(normalize(domain), 0, false, Map.of(), Set.of(), Map.of(), Map.of());
  }

  /**
   * A loaded zone.
   *
   * @param domain the cluster domain, such as {@code cluster.local}
   * @param serial the SOA serial (the store's revision)
   * @param services every service
   * @param pods every published pod address; addresses without a namespace are left out
   */
  public static DnsZone of(
      String domain, long serial, Collection<Service> services, Collection<Pod> pods) {
    String zone = normalize(domain);
    Map<String, Map<String, Service>> byNamespace = new HashMap<>();
    Set<String> namespaces = new HashSet<>();
    Map<InetAddress, Set<String>> reverse = new HashMap<>();
    Map<InetAddress, Set<String>> backendNames = new HashMap<>();
    for (Service s : services) {
      byNamespace.computeIfAbsent(s.namespace(), n -> new HashMap<>()).put(s.name(), s);
      namespaces.add(s.namespace());
      String serviceName = s.name() + "." + s.namespace() + ".svc." + zone + ".";
      for (InetAddress ip : s.clusterIps()) {
        reverse.computeIfAbsent(ip, k -> new TreeSet<>()).add(serviceName);
      }
      for (Backend b : s.backends()) {
        if (b.hostname() == null) {
          continue;
        }
        for (InetAddress ip : b.addresses()) {
          backendNames
              .computeIfAbsent(ip, k -> new TreeSet<>())
              .add(b.hostname() + "." + serviceName);
        }
      }
    }
    Map<InetAddress, Pod> podsByAddress = new HashMap<>();
    for (Pod p : pods) {
      if (p.namespace() == null || p.namespace().isEmpty()) {
        continue;
      }
      Pod pod = new Pod(p.address(), p.namespace().toLowerCase(Locale.ROOT), p.name());
      podsByAddress.put(pod.address(), pod);
      namespaces.add(pod.namespace());
    }
    // A cluster IP names its service; else a backend's address names it under its services;
    // else a pod's address names the pod record.
    Map<InetAddress, List<String>> ptr = new HashMap<>();
    reverse.forEach((ip, names) -> ptr.put(ip, List.copyOf(names)));
    backendNames.forEach((ip, names) -> ptr.putIfAbsent(ip, List.copyOf(names)));
    podsByAddress.forEach(
        (ip, p) ->
            ptr.putIfAbsent(
                ip, List.of(AddressNames.dashed(ip) + "." + p.namespace() + ".pod." + zone + ".")));
    Map<String, Map<String, Service>> frozen = new HashMap<>();
    byNamespace.forEach((ns, m) -> frozen.put(ns, Map.copyOf(m)));
    return new DnsZone(
        zone,
        serial,
        true,
        Map.copyOf(frozen),
        Set.copyOf(namespaces),
        Map.copyOf(podsByAddress),
        Map.copyOf(ptr));
  }

  /** The zone's name in lower case, without leading or trailing dot. */
  public String domain() {
    return domain;
  }

  /** The SOA serial. */
  public long serial() {
    return serial;
  }

  /** Whether the store was read (both prefixes); before that every query fails. */
  public boolean loaded() {
    return loaded;
  }

  /** The service, by lower-case namespace and name. */
  public Optional<Service> service(String namespace, String name) {
    Map<String, Service> m = services.get(namespace);
    return m == null ? Optional.empty() : Optional.ofNullable(m.get(name));
  }

  /** Whether a service or a pod address lives in the namespace. */
  public boolean hasNamespace(String namespace) {
    return namespaces.contains(namespace);
  }

  /** The published pod holding the address. */
  public Optional<Pod> pod(InetAddress address) {
    return Optional.ofNullable(pods.get(address));
  }

  /** The names of an address (PTR targets, absolute), empty when the cluster has none. */
  public List<String> namesOf(InetAddress address) {
    return reverse.getOrDefault(address, List.of());
  }

  /** How many services the zone holds. */
  public int serviceCount() {
    return services.values().stream().mapToInt(Map::size).sum();
  }

  /** How many pod addresses the zone holds. */
  public int podCount() {
    return pods.size();
  }

  private static String normalize(String domain) {
    String d = domain.toLowerCase(Locale.ROOT);
    while (d.startsWith(".")) {
      d = d.substring(1);
    }
    while (d.endsWith(".")) {
      d = d.substring(0, d.length() - 1);
    }
    if (d.isEmpty()) {
      throw new IllegalArgumentException("the cluster domain is empty");
    }
    return d;
  }

  private static String label(String s, String what) {
    String l = s == null ? "" : s.toLowerCase(Locale.ROOT);
    if (!LABEL.matcher(l).matches()) {
      throw new IllegalArgumentException("the " + what + " '" + s + "' is not a DNS label");
    }
    return l;
  }

  private static InetAddress literal(String ip) {
    return AddressNames.parseLiteral(ip);
  }
}
