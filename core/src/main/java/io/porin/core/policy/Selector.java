package io.porin.core.policy;

import io.porin.core.labels.Label;
import io.porin.core.labels.LabelSet;
import io.porin.core.labels.LabelSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A label selector: the AND of its requirements; no requirements select everything. Requirements
 * are kept sorted so that equal selectors are equal objects (the compiler caches by selector).
 */
public record Selector(List<Requirement> requirements) {
  private static final Comparator<Requirement> ORDER =
      Comparator.comparing(Requirement::key)
          .thenComparing(r -> r.operator().ordinal())
          .thenComparing(r -> String.join(",", r.values()));

  /** Selects every endpoint. */
  public static final Selector ALL = new Selector(List.of());

  public Selector {
    List<Requirement> sorted = new ArrayList<>(requirements);
    sorted.sort(ORDER);
    requirements = List.copyOf(sorted);
  }

  public boolean matches(LabelSet labels) {
    for (Requirement r : requirements) {
      if (!r.matches(labels)) {
        return false;
      }
    }
    return true;
  }

  /** This selector with one more requirement. */
  public Selector and(Requirement r) {
    List<Requirement> rs = new ArrayList<>(requirements);
    rs.add(r);
    return new Selector(rs);
  }

  /** This selector with all requirements of another. */
  public Selector and(Selector other) {
    List<Requirement> rs = new ArrayList<>(requirements);
    rs.addAll(other.requirements);
    return new Selector(rs);
  }

  /** True when some requirement is on this bare key (with any or no source prefix). */
  public boolean hasKey(String bareKey) {
    return requirements.stream().anyMatch(r -> r.bareKey().equals(bareKey));
  }

  /** True when some requirement's bare key starts with the prefix. */
  public boolean hasKeyWithPrefix(String prefix) {
    return requirements.stream().anyMatch(r -> r.bareKey().startsWith(prefix));
  }

  /** True when some requirement is on a {@code reserved:} label. */
  public boolean selectsReserved() {
    return requirements.stream()
        .anyMatch(r -> r.source().equals(Optional.of(LabelSource.RESERVED)));
  }

  /**
   * Cilium's namespace scoping for a namespaced policy: unless the selector names the pod's
   * namespace or namespace labels itself, or selects reserved labels, it is limited to the policy's
   * namespace.
   */
  public Selector scopedToNamespace(String namespace) {
    if (hasKey(Label.POD_NAMESPACE)
        || hasKeyWithPrefix(Label.NAMESPACE_LABELS_PREFIX)
        || selectsReserved()) {
      return this;
    }
    return and(Requirement.equalTo("k8s:" + Label.POD_NAMESPACE, namespace));
  }

  /**
   * Cilium's scoping for a clusterwide policy: unless the selector names the namespace itself (or
   * reserved labels), it selects only pods (which always carry a namespace), never a wildcard.
   */
  public Selector scopedToPods() {
    if (hasKey(Label.POD_NAMESPACE)
        || hasKeyWithPrefix(Label.NAMESPACE_LABELS_PREFIX)
        || selectsReserved()) {
      return this;
    }
    return and(
        new Requirement("k8s:" + Label.POD_NAMESPACE, Requirement.Operator.EXISTS, List.of()));
  }

  @Override
  public String toString() {
    if (requirements.isEmpty()) {
      return "{}";
    }
    return "{" + String.join(", ", requirements.stream().map(Requirement::toString).toList()) + "}";
  }
}
