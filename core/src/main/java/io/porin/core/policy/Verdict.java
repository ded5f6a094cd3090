package io.porin.core.policy;

/**
 * What a policy entry (or a direction's default) does to a packet. Ordered by strength: when
 * several entries match, the strongest wins, so deny beats audit beats allow.
 */
public enum Verdict {
  /** Forward. */
  ALLOW,
  /** Forward, and report that an audited policy would have dropped it. */
  AUDIT,
  /** Drop. */
  DENY;

  /** The stronger of the two. */
  public static Verdict max(Verdict a, Verdict b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
