package io.porin.core.resource;

import java.util.Map;

/** A namespace: its labels become part of the identity of every pod in it. */
public record NamespaceResource(
    ResourceId id,
    Map<String, String> labels,
    Map<String, String> annotations,
    Map<String, Object> source)
    implements Resource {

  /** The annotation that puts every endpoint of a namespace (or one policy) in audit mode. */
  public static final String AUDIT_ANNOTATION = "cilium.io/policy-audit-mode";

  public NamespaceResource {
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
  }

  public String name() {
    return id.name();
  }

  /** True when the namespace asks for policy audit mode. */
  public boolean audited() {
    return "true".equalsIgnoreCase(annotations.getOrDefault(AUDIT_ANNOTATION, ""));
  }
}
