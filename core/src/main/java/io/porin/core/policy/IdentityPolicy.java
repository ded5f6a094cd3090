package io.porin.core.policy;

/** The compiled policy of one identity: what its endpoints may receive and send. */
public record IdentityPolicy(int identity, DirectionPolicy ingress, DirectionPolicy egress) {

  public DirectionPolicy direction(Direction d) {
    return d == Direction.INGRESS ? ingress : egress;
  }

  public int entryCount() {
    return ingress.entryCount() + egress.entryCount();
  }
}
