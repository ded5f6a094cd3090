package io.porin.core.resource;

import java.util.Arrays;
import java.util.Optional;

/** The resource kinds Porin reads, with their API group version and where the store keeps them. */
public enum ResourceKind {
  NAMESPACE("v1", "Namespace", "namespaces", false),
  POD("v1", "Pod", "pods", true),
  SERVICE("v1", "Service", "services", true),
  NETWORK_POLICY("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true),
  CILIUM_NETWORK_POLICY("cilium.io/v2", "CiliumNetworkPolicy", "ciliumnetworkpolicies", true),
  CILIUM_CLUSTERWIDE_NETWORK_POLICY(
      "cilium.io/v2", "CiliumClusterwideNetworkPolicy", "ciliumclusterwidenetworkpolicies", false);

  private final String apiVersion;
  private final String kind;
  private final String plural;
  private final boolean namespaced;

  ResourceKind(String apiVersion, String kind, String plural, boolean namespaced) {
    this.apiVersion = apiVersion;
    this.kind = kind;
    this.plural = plural;
    this.namespaced = namespaced;
  }

  public String apiVersion() {
    return apiVersion;
  }

  /** The Kubernetes kind, e.g. {@code CiliumNetworkPolicy}. */
  public String kind() {
    return kind;
  }

  /** The lower-case plural, as in the store's keys and Kubernetes' URLs. */
  public String plural() {
    return plural;
  }

  public boolean namespaced() {
    return namespaced;
  }

  public boolean isPolicy() {
    return this == NETWORK_POLICY
        || this == CILIUM_NETWORK_POLICY
        || this == CILIUM_CLUSTERWIDE_NETWORK_POLICY;
  }

  /** The kind with this Kubernetes kind name. */
  public static Optional<ResourceKind> ofKind(String kind) {
    return Arrays.stream(values()).filter(k -> k.kind.equals(kind)).findFirst();
  }

  /** The kind with this plural, kind name or common short name (cnp, ccnp, netpol, ns, po, svc). */
  public static Optional<ResourceKind> parse(String name) {
    String n = name.toLowerCase(java.util.Locale.ROOT);
    for (ResourceKind k : values()) {
      if (k.plural.equals(n) || k.kind.toLowerCase(java.util.Locale.ROOT).equals(n)) {
        return Optional.of(k);
      }
    }
    return switch (n) {
      case "cnp" -> Optional.of(CILIUM_NETWORK_POLICY);
      case "ccnp" -> Optional.of(CILIUM_CLUSTERWIDE_NETWORK_POLICY);
      case "netpol" -> Optional.of(NETWORK_POLICY);
      case "ns" -> Optional.of(NAMESPACE);
      case "po", "pod" -> Optional.of(POD);
      case "svc" -> Optional.of(SERVICE);
      default -> Optional.empty();
    };
  }
}
