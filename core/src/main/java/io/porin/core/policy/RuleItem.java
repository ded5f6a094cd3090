package io.porin.core.policy;

import java.util.List;

/**
 * One item of an ingress/egress (allow or deny) section: its peers and its ports combine, so the
 * ports apply to those peers.
 *
 * @param peers who: {@code null} when the item names no peer at all (an L4-only rule: any peer); an
 *     empty list selects nobody
 * @param ports what: empty means every port and protocol (an L3-only rule); ICMP types appear as
 *     ports of ICMP/ICMPv6
 */
public record RuleItem(
    RuleRef ref, Direction direction, boolean deny, List<Peer> peers, List<PortRule> ports) {

  public RuleItem {
    peers = peers == null ? null : List.copyOf(peers);
    ports = List.copyOf(ports);
  }

  /** True when the item names no peer (any peer matches). */
  public boolean anyPeer() {
    return peers == null;
  }

  public boolean hasNamedPorts() {
    return ports.stream().anyMatch(PortRule::named);
  }
}
