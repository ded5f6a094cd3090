package io.porin.core.policy;

import java.util.List;

/**
 * One rule of a policy (a CiliumNetworkPolicy has one per {@code spec}/{@code specs[i]}; a
 * Kubernetes NetworkPolicy has one), already translated: selectors scoped, entities and DNS
 * resolved to peers, port names kept for the compiler to resolve.
 *
 * @param ingressSection true when the rule has an ingress or ingressDeny section, even empty: that
 *     turns on default deny for ingress of the endpoints it selects, unless {@code
 *     defaultDenyIngress} is false
 * @param defaultDenyIngress {@code enableDefaultDeny.ingress}; null when not given
 * @param ingressRequires fromRequires: every endpoint peer of this direction must also match these
 * @param audited the policy is in audit mode: what it would drop passes as AUDIT
 * @param encrypt the policy demands encryption ({@code cilium.io/encrypt: "true"}): the traffic of
 *     the endpoints it selects is never sent between nodes in clear
 */
public record PolicyRule(
    PolicyRef policy,
    Selector subject,
    boolean ingressSection,
    boolean egressSection,
    Boolean defaultDenyIngress,
    Boolean defaultDenyEgress,
    List<RuleItem> items,
    List<Selector> ingressRequires,
    List<Selector> egressRequires,
    boolean audited,
    boolean encrypt) {

  public PolicyRule {
    items = List.copyOf(items);
    ingressRequires = List.copyOf(ingressRequires);
    egressRequires = List.copyOf(egressRequires);
  }

  public boolean hasSection(Direction d) {
    return d == Direction.INGRESS ? ingressSection : egressSection;
  }

  /** True when this rule turns on default deny for the direction of the endpoints it selects. */
  public boolean enablesDefaultDeny(Direction d) {
    Boolean flag = d == Direction.INGRESS ? defaultDenyIngress : defaultDenyEgress;
    return hasSection(d) && !Boolean.FALSE.equals(flag);
  }

  public List<Selector> requires(Direction d) {
    return d == Direction.INGRESS ? ingressRequires : egressRequires;
  }
}
