package io.porin.core.policy;

import io.porin.core.resource.ResourceKind;

/** Names a policy: its kind, namespace (empty for clusterwide) and name. */
public record PolicyRef(ResourceKind kind, String namespace, String name)
    implements Comparable<PolicyRef> {

  /** {@code namespace/name}, or {@code name} for clusterwide policies. */
  public String displayName() {
    return namespace.isEmpty() ? name : namespace + "/" + name;
  }

  @Override
  public int compareTo(PolicyRef o) {
    return toString().compareTo(o.toString());
  }

  /** {@code CiliumNetworkPolicy demo/frontend-to-api}. */
  @Override
  public String toString() {
    return kind.kind() + " " + displayName();
  }
}
