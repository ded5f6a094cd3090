package io.porin.core.policy;

/**
 * Names the rule that produced a policy entry: the policy, the section ({@code ingress}, {@code
 * egress}, {@code ingressDeny}, {@code egressDeny}, with {@code specs[i].} in front for the list
 * form) and the item's index in it.
 */
public record RuleRef(PolicyRef policy, String section, int index) implements Comparable<RuleRef> {

  /** {@code demo/frontend-to-api ingress[0]}. */
  public String shortName() {
    return policy.displayName() + " " + section + "[" + index + "]";
  }

  private static final java.util.Comparator<RuleRef> ORDER =
      java.util.Comparator.comparing(RuleRef::policy)
          .thenComparing(RuleRef::section)
          .thenComparingInt(RuleRef::index);

  /** By policy, section, index. */
  @Override
  public int compareTo(RuleRef o) {
    return ORDER.compare(this, o);
  }

  /** {@code CiliumNetworkPolicy demo/frontend-to-api ingress[0]}. */
  @Override
  public String toString() {
    return policy + " " + section + "[" + index + "]";
  }
}
