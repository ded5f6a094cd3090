package io.porin.dns.zone;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Answers queries from a {@link DnsZone} as CoreDNS's kubernetes plugin does:
 *
 * <pre>
 * &lt;zone&gt;                                    SOA, NS
 * svc.&lt;zone&gt;, &lt;ns&gt;.svc.&lt;zone&gt;                 NODATA (when the namespace exists)
 * &lt;svc&gt;.&lt;ns&gt;.svc.&lt;zone&gt;                      A/AAAA: the cluster IPs, or the backends when headless;
 *                                           SRV: every port
 * &lt;pod&gt;.&lt;svc&gt;.&lt;ns&gt;.svc.&lt;zone&gt;                A/AAAA: that backend's addresses
 * _&lt;port&gt;._&lt;proto&gt;.&lt;svc&gt;.&lt;ns&gt;.svc.&lt;zone&gt;      SRV: that named port
 * &lt;a-b-c-d&gt;.&lt;ns&gt;.pod.&lt;zone&gt;                  A/AAAA: the address, if a pod of the namespace has it
 * &lt;reverse&gt;.in-addr.arpa, ip6.arpa           PTR: cluster IPs, backends, pods
 * </pre>
 *
 * Anything else under the zone is NXDOMAIN, anything outside it REFUSED (there is no upstream).
 * Negative answers carry the zone's SOA, whose minimum is the TTL. Pure and thread-safe.
 */
public final class Resolver {
  private static final int SOA_REFRESH = 7200;
  private static final int SOA_RETRY = 1800;
  private static final int SOA_EXPIRE = 86400;

  private final int ttl;

  /**
   * @param ttl seconds every answer (and negative answer) may be cached
   */
  public Resolver(int ttl) {
    if (ttl < 0) {
      throw new IllegalArgumentException("negative TTL " + ttl);
    }
    this.ttl = ttl;
  }

  /** The answer to a query; never throws for any query. */
  public Resolution resolve(DnsZone zone, Query query) {
    if (query.opcode() != Query.QUERY) {
      return Resolution.error(Rcode.NOTIMP);
    }
    if (query.questions().size() != 1) {
      return Resolution.error(Rcode.FORMERR);
    }
    Question q = query.questions().getFirst();
    if (q.dnsClass() != Question.IN) {
      return Resolution.error(Rcode.NOTIMP);
    }
    if (q.type() == Question.AXFR || q.type() == Question.IXFR) {
      return Resolution.error(Rcode.REFUSED);
    }
    if (!zone.loaded()) {
      return Resolution.error(Rcode.SERVFAIL);
    }
    String name = normalize(q.name());
    String owner = q.name().endsWith(".") ? q.name() : q.name() + ".";
    if (name.equals(zone.domain())) {
      return apex(zone, owner, q.type());
    }
    if (name.endsWith("." + zone.domain())) {
      String relative = name.substring(0, name.length() - zone.domain().length() - 1);
      return new Lookup(zone, owner, q.type()).under(relative.split("\\.", -1));
    }
    Optional<InetAddress> reverse = AddressNames.parseReverse(name);
    if (reverse.isPresent() && !zone.namesOf(reverse.get()).isEmpty()) {
      return ptr(zone, owner, q.type(), reverse.get());
    }
    return Resolution.error(Rcode.REFUSED);
  }

  /** The zone's SOA record. */
  public ResourceRecord.Soa soa(DnsZone zone) {
    return new ResourceRecord.Soa(
        zone.domain() + ".",
        ttl,
        "ns.dns." + zone.domain() + ".",
        "hostmaster." + zone.domain() + ".",
        zone.serial() & 0xffffffffL,
        SOA_REFRESH,
        SOA_RETRY,
        SOA_EXPIRE,
        ttl);
  }

  private Resolution apex(DnsZone zone, String owner, int type) {
    List<ResourceRecord> answers = new ArrayList<>();
    if (type == Question.SOA || type == Question.ANY) {
      ResourceRecord.Soa soa = soa(zone);
      answers.add(
          new ResourceRecord.Soa(
              owner,
              soa.ttl(),
              soa.mname(),
              soa.rname(),
              soa.serial(),
              soa.refresh(),
              soa.retry(),
              soa.expire(),
              soa.minimum()));
    }
    if (type == Question.NS || type == Question.ANY) {
      answers.add(new ResourceRecord.Ns(owner, ttl, "ns.dns." + zone.domain() + "."));
    }
    return answers.isEmpty() ? noData(zone) : found(answers, List.of());
  }

  private Resolution ptr(DnsZone zone, String owner, int type, InetAddress address) {
    if (type != Question.PTR && type != Question.ANY) {
      return new Resolution(Rcode.NOERROR, true, List.of(), List.of(), List.of());
    }
    List<ResourceRecord> answers = new ArrayList<>();
    for (String target : zone.namesOf(address)) {
      answers.add(new ResourceRecord.Ptr(owner, ttl, target));
    }
    return found(answers, List.of());
  }

  /** One lookup of a name under the zone. */
  private final class Lookup {
    private final DnsZone zone;
    private final String owner;
    private final int type;

    Lookup(DnsZone zone, String owner, int type) {
      this.zone = zone;
      this.owner = owner;
      this.type = type;
    }

    /** Labels of the name left of the zone, leftmost first. */
    Resolution under(String[] labels) {
      int n = labels.length;
      String kind = labels[n - 1];
      if (kind.equals("svc")) {
        return services(labels, n - 1);
      }
      if (kind.equals("pod")) {
        return pods(labels, n - 1);
      }
      return nxdomain(zone);
    }

    private Resolution services(String[] l, int n) {
      if (n == 0) {
        return noData(zone);
      }
      String namespace = l[n - 1];
      if (n == 1) {
        return zone.hasNamespace(namespace) ? noData(zone) : nxdomain(zone);
      }
      Optional<DnsZone.Service> found = zone.service(namespace, l[n - 2]);
      if (found.isEmpty()) {
        return nxdomain(zone);
      }
      DnsZone.Service s = found.get();
      return switch (n) {
        case 2 -> service(s, null, null);
        case 3 -> backend(s, l[0]);
        case 4 -> {
          if (l[0].length() > 1
              && l[0].startsWith("_")
              && l[1].length() > 1
              && l[1].startsWith("_")) {
            yield service(s, l[0].substring(1), l[1].substring(1));
          }
          yield nxdomain(zone);
        }
        default -> nxdomain(zone);
      };
    }

    /** The service's name, or one of its SRV names when port and protocol are given. */
    private Resolution service(DnsZone.Service s, String port, String protocol) {
      List<Integer> ports = new ArrayList<>();
      for (int i = 0; i < s.ports().size(); i++) {
        DnsZone.Port p = s.ports().get(i);
        if (port == null || (port.equals(p.name()) && protocol.equals(p.protocol()))) {
          ports.add(i);
        }
      }
      if (port != null && ports.isEmpty()) {
        return nxdomain(zone);
      }
      String serviceName = serviceName(s);
      if (type == Question.SRV) {
        return srv(s, ports, serviceName);
      }
      List<InetAddress> addresses = new ArrayList<>();
      if (s.headless()) {
        Set<InetAddress> seen = new LinkedHashSet<>();
        s.backends().forEach(b -> seen.addAll(b.addresses()));
        addresses.addAll(seen);
      } else {
        addresses.addAll(s.clusterIps());
      }
      return addresses(owner, addresses);
    }

    private Resolution srv(DnsZone.Service s, List<Integer> ports, String serviceName) {
      record Target(int port, String host, List<InetAddress> addresses) {}
      List<Target> targets = new ArrayList<>();
      for (int i : ports) {
        if (!s.headless()) {
          targets.add(new Target(s.ports().get(i).port(), serviceName, s.clusterIps()));
          continue;
        }
        for (DnsZone.Backend b : s.backends()) {
          int target = i < b.ports().size() ? b.ports().get(i) : 0;
          if (b.hostname() != null && target > 0) {
            targets.add(new Target(target, b.hostname() + "." + serviceName, b.addresses()));
          }
        }
      }
      if (targets.isEmpty()) {
        return noData(zone);
      }
      // As CoreDNS: records of one priority share a weight of 100.
      int weight = 100 / targets.size();
      List<ResourceRecord> answers = new ArrayList<>();
      Set<String> hosts = new LinkedHashSet<>();
      List<ResourceRecord> additional = new ArrayList<>();
      for (Target t : targets) {
        answers.add(new ResourceRecord.Srv(owner, ttl, 0, weight, t.port(), t.host()));
        if (hosts.add(t.host())) {
          for (InetAddress a : t.addresses()) {
            additional.add(new ResourceRecord.Address(t.host(), ttl, a));
          }
        }
      }
      return found(answers, additional);
    }

    private Resolution backend(DnsZone.Service s, String hostname) {
      for (DnsZone.Backend b : s.backends()) {
        if (hostname.equals(b.hostname())) {
          return addresses(owner, b.addresses());
        }
      }
      return nxdomain(zone);
    }

    private Resolution pods(String[] l, int n) {
      if (n == 0) {
        return noData(zone);
      }
      String namespace = l[n - 1];
      if (n == 1) {
        return zone.hasNamespace(namespace) ? noData(zone) : nxdomain(zone);
      }
      if (n != 2) {
        return nxdomain(zone);
      }
      Optional<InetAddress> ip = AddressNames.parseDashed(l[0]);
      if (ip.isEmpty()) {
        return nxdomain(zone);
      }
      Optional<DnsZone.Pod> pod = zone.pod(ip.get());
      if (pod.isEmpty() || !pod.get().namespace().equals(namespace)) {
        return nxdomain(zone);
      }
      return addresses(owner, List.of(ip.get()));
    }

    /** The addresses of the asked family as an answer; NODATA when there are none. */
    private Resolution addresses(String name, List<InetAddress> all) {
      List<ResourceRecord> answers = new ArrayList<>();
      for (InetAddress a : all) {
        boolean v4 = a instanceof Inet4Address;
        if (type == Question.ANY || (type == Question.A && v4) || (type == Question.AAAA && !v4)) {
          answers.add(new ResourceRecord.Address(name, ttl, a));
        }
      }
      return answers.isEmpty() ? noData(zone) : found(answers, List.of());
    }

    private String serviceName(DnsZone.Service s) {
      return s.name() + "." + s.namespace() + ".svc." + zone.domain() + ".";
    }
  }

  private static Resolution found(List<ResourceRecord> answers, List<ResourceRecord> additional) {
    return new Resolution(Rcode.NOERROR, true, answers, List.of(), additional);
  }

  private Resolution noData(DnsZone zone) {
    return new Resolution(Rcode.NOERROR, true, List.of(), List.of(soa(zone)), List.of());
  }

  private Resolution nxdomain(DnsZone zone) {
    return new Resolution(Rcode.NXDOMAIN, true, List.of(), List.of(soa(zone)), List.of());
  }

  private static String normalize(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.endsWith(".") ? n.substring(0, n.length() - 1) : n;
  }
}
