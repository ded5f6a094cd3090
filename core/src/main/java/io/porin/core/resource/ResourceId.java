package io.porin.core.resource;

import java.util.Objects;

/** Names one resource: its kind, its namespace (empty for cluster-scoped kinds) and its name. */
public record ResourceId(ResourceKind kind, String namespace, String name)
    implements Comparable<ResourceId> {

  public ResourceId {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(name, "name");
    namespace = kind.namespaced() ? Objects.requireNonNull(namespace, "namespace") : "";
  }

  /** {@code namespace/name}, or {@code name} for cluster-scoped resources. */
  public String displayName() {
    return namespace.isEmpty() ? name : namespace + "/" + name;
  }

  @Override
  public int compareTo(ResourceId o) {
    int c = kind.compareTo(o.kind);
    if (c == 0) {
      c = namespace.compareTo(o.namespace);
    }
    return c != 0 ? c : name.compareTo(o.name);
  }

  /** {@code Kind namespace/name}. */
  @Override
  public String toString() {
    return kind.kind() + " " + displayName();
  }
}
