package io.porin.core.service;

import io.porin.core.ipam.Cidr;
import io.porin.core.resource.ServiceResource;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Cluster IPs and node ports for services, as the API server allocates them: from the service CIDRs
 * (one per family), a requested {@code spec.clusterIP} honoured when it is inside the range and
 * free, a taken one refused with the name of its holder. Pure: the caller supplies what is taken
 * and stores the result (atomically with the service).
 */
public final class ServiceAddresses {
  /** The cluster's service CIDRs: IPv4 required, IPv6 optional (null). */
  public record Ranges(Cidr ipv4, Cidr ipv6) {
    public static Ranges parse(String ipv4, String ipv6) {
      Cidr v4 = Cidr.parse(ipv4);
      Cidr v6 = ipv6 == null || ipv6.isBlank() ? null : Cidr.parse(ipv6);
      if (v4.family() != Cidr.Family.IPV4 || (v6 != null && v6.family() != Cidr.Family.IPV6)) {
        throw new IllegalArgumentException(
            "service CIDRs: " + ipv4 + " must be IPv4 and " + ipv6 + " IPv6");
      }
      return new Ranges(v4, v6);
    }
  }

  /** A refusal: the field, the value and why. */
  public static final class Refused extends RuntimeException {
    public Refused(String message) {
      super(message);
    }
  }

  /** Addresses below this offset are only given on request (as Kubernetes' static band). */
  static final int DYNAMIC_FROM = 16;

  private ServiceAddresses() {}

  /**
   * The cluster IPs for a service: the requested ones (checked), plus one per family the cluster
   * has that was not requested. Headless services get none.
   *
   * @param taken address to the "namespace/name" of the service holding it
   */
  public static List<String> clusterIPs(
      Ranges ranges, String service, List<String> requested, Map<String, String> taken) {
    if (requested.contains(ServiceResource.HEADLESS)) {
      return List.of(ServiceResource.HEADLESS);
    }
    List<String> out = new ArrayList<>();
    boolean v4 = false;
    boolean v6 = false;
    for (int i = 0; i < requested.size(); i++) {
      String ip = requested.get(i);
      String field = requested.size() == 1 ? "spec.clusterIP" : "spec.clusterIPs[" + i + "]";
      Cidr range = ip.contains(":") ? ranges.ipv6() : ranges.ipv4();
      Cidr host = Cidr.parse(ip + (ip.contains(":") ? "/128" : "/32"));
      if (range == null || !range.contains(host.network())) {
        throw new Refused(
            field
                + ": \""
                + ip
                + "\" is outside the service range "
                + (range == null ? "(this cluster has no IPv6 service range)" : range.toString()));
      }
      String holder = taken.get(ip);
      if (holder != null && !holder.equals(service)) {
        throw new Refused(field + ": \"" + ip + "\" is already the address of service " + holder);
      }
      out.add(ip);
      v4 |= !ip.contains(":");
      v6 |= ip.contains(":");
    }
    if (!v4) {
      out.add(next(ranges.ipv4(), service, taken));
    }
    if (!v6 && ranges.ipv6() != null) {
      out.add(next(ranges.ipv6(), service, taken));
    }
    return out;
  }

  private static String next(Cidr range, String service, Map<String, String> taken) {
    BigInteger size = range.size();
    BigInteger span = size.subtract(BigInteger.valueOf(DYNAMIC_FROM + 1));
    if (span.signum() <= 0) {
      throw new Refused("the service range " + range + " is too small");
    }
    // Start at a place derived from the name, so that re-creating a service tends to get its
    // address back; then the first free one.
    long limit = span.min(BigInteger.valueOf(1L << 20)).longValueExact();
    long start = Math.floorMod((long) service.hashCode(), limit);
    for (long i = 0; i < limit; i++) {
      BigInteger offset = BigInteger.valueOf(DYNAMIC_FROM + (start + i) % limit);
      String ip = Cidr.format(range.family(), range.addressAt(offset));
      String holder = taken.get(ip);
      if (holder == null || holder.equals(service)) {
        return ip;
      }
    }
    throw new Refused("the service range " + range + " is full");
  }

  /**
   * The node ports of a NodePort service: requested ones checked, the others allocated.
   *
   * @param taken node port to the "namespace/name" holding it (a port holds for TCP and UDP)
   * @return one node port per service port
   */
  public static List<Integer> nodePorts(
      ServiceResource svc, Map<Integer, String> taken, int min, int max) {
    String service = svc.id().namespace() + "/" + svc.id().name();
    List<Integer> out = new ArrayList<>();
    List<Integer> mine = new ArrayList<>();
    for (int i = 0; i < svc.ports().size(); i++) {
      int p = svc.ports().get(i).nodePort();
      if (p != 0) {
        String holder = taken.get(p);
        if (holder != null && !holder.equals(service)) {
          throw new Refused(
              "spec.ports["
                  + i
                  + "].nodePort: "
                  + p
                  + " is already a node port of service "
                  + holder);
        }
        if (mine.contains(p)) {
          throw new Refused("spec.ports[" + i + "].nodePort: " + p + " is used twice");
        }
        mine.add(p);
      }
      out.add(p);
    }
    int span = max - min + 1;
    int cursor = Math.floorMod(service.hashCode(), span);
    for (int i = 0; i < out.size(); i++) {
      if (out.get(i) != 0) {
        continue;
      }
      int found = 0;
      for (int k = 0; k < span; k++) {
        int candidate = min + (cursor + k) % span;
        String holder = taken.get(candidate);
        if ((holder == null || holder.equals(service)) && !mine.contains(candidate)) {
          found = candidate;
          break;
        }
      }
      if (found == 0) {
        throw new Refused("no node port is free in " + min + "-" + max);
      }
      mine.add(found);
      out.set(i, found);
    }
    return out;
  }
}
