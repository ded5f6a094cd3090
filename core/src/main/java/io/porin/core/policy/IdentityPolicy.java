package io.porin.core.policy;

/**
 * The compiled policy of one identity: what its endpoints may receive and send.
 *
 * @param encrypt a policy selecting the identity demands encryption ({@code cilium.io/encrypt}):
 *     its pod traffic between nodes goes through WireGuard or not at all
 */
public record IdentityPolicy(
    int identity, DirectionPolicy ingress, DirectionPolicy egress, boolean encrypt) {

  public IdentityPolicy(int identity, DirectionPolicy ingress, DirectionPolicy egress) {
    this(identity, ingress, egress, false);
  }

  public DirectionPolicy direction(Direction d) {
    return d == Direction.INGRESS ? ingress : egress;
  }

  public int entryCount() {
    return ingress.entryCount() + egress.entryCount();
  }
}
