package io.porin.lab;

import java.util.regex.Pattern;

/**
 * What {@code porin lab up} was asked for, validated, and the lab's address plan.
 *
 * <p>The underlay is {@code 172.30.<cluster-id>.0/24} and {@code fd00:ac1e:<cluster-id>::/64}: the
 * control plane (and the bridge) is {@code .1}, node {@code i} is {@code .(10+i)}. Addresses only
 * exist inside the lab's own namespaces, so two labs never see each other's; giving them different
 * cluster IDs keeps them distinct when a later step joins them.
 *
 * @param name the lab's name; its namespaces are {@code <name>-cp}, {@code <name>-node<i>} and
 *     {@code <name>-<pod namespace>-<pod>}
 * @param nodes how many nodes, 1..{@value #MAX_NODES}
 * @param clusterId 1..255 (identities' bits 16..23; also the underlay's third octet)
 * @param podCidr the IPv4 pod pool, split into a /24 per node
 * @param podCidr6 the IPv6 pod pool (a /104), split into a /120 per node
 */
public record LabSpec(String name, int nodes, int clusterId, String podCidr, String podCidr6) {
  public static final int MAX_NODES = 16;
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9]{0,15}");
  private static final Pattern V4 =
      Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})/(\\d{1,2})");

  /**
   * @throws LabException naming the flag and the value when something is not acceptable
   */
  public LabSpec {
    if (!NAME.matcher(name).matches()) {
      throw new LabException(
          "--name: \""
              + name
              + "\" is not a lab name (lower-case letters and digits, starting with a letter, at"
              + " most 16)");
    }
    if (nodes < 1 || nodes > MAX_NODES) {
      throw new LabException("--nodes: " + nodes + " is not between 1 and " + MAX_NODES);
    }
    if (clusterId < 1 || clusterId > 255) {
      throw new LabException("--cluster-id: " + clusterId + " is not between 1 and 255");
    }
    var m = V4.matcher(podCidr);
    if (!m.matches()) {
      throw new LabException("--pod-cidr: \"" + podCidr + "\" is not an IPv4 CIDR (a.b.c.d/len)");
    }
    long addr = 0;
    for (int i = 1; i <= 4; i++) {
      int octet = Integer.parseInt(m.group(i));
      if (octet > 255) {
        throw new LabException("--pod-cidr: \"" + podCidr + "\" is not an IPv4 CIDR");
      }
      addr = addr << 8 | octet;
    }
    int len = Integer.parseInt(m.group(5));
    if (len < 8 || len > 24) {
      throw new LabException(
          "--pod-cidr: /" + len + " in \"" + podCidr + "\": give a prefix between /8 and /24");
    }
    if ((addr & ((1L << (32 - len)) - 1)) != 0) {
      throw new LabException("--pod-cidr: \"" + podCidr + "\" has host bits set");
    }
    if ((1L << (24 - len)) < nodes) {
      throw new LabException(
          "--pod-cidr: \""
              + podCidr
              + "\" holds "
              + (1L << (24 - len))
              + " node /24s, not "
              + nodes);
    }
    long net = addr;
    if (underlayOverlaps(net, len, clusterId)) {
      throw new LabException(
          "--pod-cidr: \""
              + podCidr
              + "\" overlaps the lab's underlay 172.30."
              + clusterId
              + ".0/24");
    }
    if (podCidr6 == null) {
      podCidr6 = String.format("fd00:200:%x::/104", clusterId);
    }
  }

  private static boolean underlayOverlaps(long net, int len, int clusterId) {
    long underlay = (172L << 24) | (30L << 16) | ((long) clusterId << 8);
    long mask = len == 0 ? 0 : (0xffffffffL << (32 - len)) & 0xffffffffL;
    return (underlay & mask) == net;
  }

  public String cpNetns() {
    return name + "-cp";
  }

  public String nodeName(int i) {
    return name + "-node" + i;
  }

  public String cpAddress4() {
    return "172.30." + clusterId + ".1";
  }

  public String cpAddress6() {
    return String.format("fd00:ac1e:%x::1", clusterId);
  }

  public String nodeAddress4(int i) {
    return "172.30." + clusterId + "." + (10 + i);
  }

  public String nodeAddress6(int i) {
    return String.format("fd00:ac1e:%x::%x", clusterId, 10 + i);
  }
}
