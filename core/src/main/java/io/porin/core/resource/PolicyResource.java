package io.porin.core.resource;

import io.porin.core.policy.PolicyRef;
import io.porin.core.policy.PolicyRule;
import java.util.List;
import java.util.Map;

/**
 * A policy of any of the three kinds, translated into Porin's rules. {@link #notYetEnforced()}
 * lists the parts that parse and validate but that no Porin feature enforces yet; a policy with any
 * is refused rather than half-enforced.
 */
public record PolicyResource(
    ResourceId id,
    Map<String, String> labels,
    Map<String, String> annotations,
    List<PolicyRule> rules,
    List<String> notYetEnforced,
    Map<String, Object> source)
    implements Resource {

  public PolicyResource {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
    rules = List.copyOf(rules);
    notYetEnforced = List.copyOf(notYetEnforced);
  }

  public PolicyRef ref() {
    return new PolicyRef(id.kind(), id.namespace(), id.name());
  }

  public boolean enforceable() {
    return notYetEnforced.isEmpty();
  }
}
