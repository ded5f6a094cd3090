package io.porin.agent.endpoint;

import io.porin.core.ipam.Cidr;
import java.math.BigInteger;

/** What the node is: its name and the addresses its pods use ({@code ipv6} parts may be null). */
public record NodeAddresses(
    String name, Cidr ipv4Cidr, Cidr ipv6Cidr, String gateway4, String gateway6) {

  /** A node with its CIDRs' first addresses as gateways. */
  public static NodeAddresses of(String name, Cidr ipv4Cidr, Cidr ipv6Cidr) {
    return new NodeAddresses(
        name,
        ipv4Cidr,
        ipv6Cidr,
        gatewayOf(ipv4Cidr),
        ipv6Cidr == null ? null : gatewayOf(ipv6Cidr));
  }

  /** The gateway of a node CIDR: its first address after the network. */
  public static String gatewayOf(Cidr cidr) {
    return Cidr.format(cidr.family(), cidr.network().add(BigInteger.ONE));
  }
}
