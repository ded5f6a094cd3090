package io.porin.core.policy;

import java.util.Locale;

/** Traffic direction as seen from the endpoint a policy selects. */
public enum Direction {
  /** Traffic to the endpoint; the peer is the sender. */
  INGRESS,
  /** Traffic from the endpoint; the peer is the receiver. */
  EGRESS;

  public String display() {
    return name().toLowerCase(Locale.ROOT);
  }
}
