package io.porin.agent.net;

import java.util.Optional;

/**
 * How pods are wired to the node: a veth pair per pod interface, addressed and routed. {@link
 * IprouteWiring} does it with iproute2; tests use an in-memory fake.
 */
public interface PodWiring {
  /** The addresses a pod gets. {@code ipv6} and {@code gateway6} may be null. */
  record Addresses(String ipv4, String gateway4, String ipv6, String gateway6) {}

  /** A wired pod interface: its host side (name, ifindex, MAC) and the pod side's MAC. */
  record Wired(String hostInterface, int ifindex, String hostMac, String podMac) {}

  /** Creates the pair, moves the peer into the pod as {@code ifname}, addresses and routes it. */
  Wired create(String containerId, String netns, String ifname, Addresses addresses, int mtu);

  /** Removes the pair (tolerates what is already gone). */
  void delete(String containerId, String ifname);

  /** The host side's ifindex, when it exists. */
  Optional<Integer> hostIfindex(String containerId, String ifname);

  /** The problem with the pod side, or empty when the interface carries the address. */
  Optional<String> checkPod(String netns, String ifname, String ipv4);
}
