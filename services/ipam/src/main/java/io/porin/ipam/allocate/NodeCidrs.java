package io.porin.ipam.allocate;

import io.porin.core.ipam.Cidr;
import java.util.ArrayList;
import java.util.List;

/**
 * One node's pod CIDRs.
 *
 * @param node the node's name
 * @param cidrs its blocks, IPv4 first
 * @param revision the etcd revision at which it got them
 */
public record NodeCidrs(String node, List<Cidr> cidrs, long revision) {
  public NodeCidrs {
    cidrs = List.copyOf(cidrs);
  }

  /** The blocks of one family. */
  public List<Cidr> of(Cidr.Family family) {
    return cidrs.stream().filter(c -> c.family() == family).toList();
  }

  /** The stored form: CIDRs, comma-separated. */
  public String encode() {
    return String.join(",", cidrs.stream().map(Cidr::toString).toList());
  }

  /** Parses the stored form. */
  public static NodeCidrs decode(String node, String value, long revision) {
    List<Cidr> cidrs = new ArrayList<>();
    for (String s : value.split(",")) {
      if (!s.isBlank()) {
        cidrs.add(Cidr.parse(s));
      }
    }
    return new NodeCidrs(node, cidrs, revision);
  }
}
