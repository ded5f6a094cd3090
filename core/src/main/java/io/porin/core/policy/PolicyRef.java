package io.porin.core.policy;

import io.porin.core.resource.ResourceKind;

/** Names a policy: its kind, namespace (empty for clusterwide) and name. */
public record PolicyRef(ResourceKind kind, String namespace, String name)
    implements Comparable<PolicyRef> {

  /** {@code namespace/name}, or {@code name} for clusterwide policies. */
  public String displayName() {
    return namespace.isEmpty() ? name : namespace + "/" + name;
  }

  private static final java.util.Comparator<PolicyRef> ORDER =
      java.util.Comparator.comparing((PolicyRef r) -> r.kind().kind())
          .thenComparing(PolicyRef::namespace)
          .thenComparing(PolicyRef::name);

  /** By kind name, namespace, name (the order of {@link #toString()}). */
  @Override
  public int compareTo(PolicyRef o) {
    return ORDER.compare(this, o);
  }

  /** {@code CiliumNetworkPolicy demo/frontend-to-api}. */
  @Override
  public String toString() {
    return kind.kind() + " " + displayName();
  }
}
