package io.porin.core.flow;

/**
 * Cilium's policy match types (a flow's {@code policy_match_type}, the datapath's PORIN_MATCH_*)
 * and the names Hubble prints and labels metrics with.
 */
public final class PolicyMatchTypes {
  private PolicyMatchTypes() {}

  /** "none" (default deny, nothing matched), "L3-Only", "L3-L4", "L4-Only", "all", "L3-Proto". */
  public static String name(int type) {
    return switch (type) {
      case 1 -> "L3-Only";
      case 2 -> "L3-L4";
      case 3 -> "L4-Only";
      case 4 -> "all";
      case 5 -> "L3-Proto";
      default -> "none";
    };
  }
}
