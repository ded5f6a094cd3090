package io.porin.core.policy;

import java.util.Objects;

/**
 * Cluster-wide policy settings.
 *
 * @param mode when endpoints are default deny
 * @param auditAll agent-wide audit mode: every drop becomes AUDIT
 * @param clusterId this cluster's ID: the {@code cluster} entity means its identities
 * @param selectorsMatchLocalClusterOnly an endpoint selector that names no cluster (no {@code
 *     io.cilium.k8s.policy.cluster} requirement) selects only this cluster's endpoints (Cilium
 *     1.19's {@code policy-default-local-cluster}); off, it selects endpoints of every connected
 *     cluster, as the ClusterMesh guides describe
 */
public record PolicySettings(
    EnforcementMode mode, boolean auditAll, int clusterId, boolean selectorsMatchLocalClusterOnly) {
  public PolicySettings {
    Objects.requireNonNull(mode, "mode");
  }

  public PolicySettings(EnforcementMode mode, boolean auditAll, int clusterId) {
    this(mode, auditAll, clusterId, false);
  }

  public static PolicySettings defaults(int clusterId) {
    return new PolicySettings(EnforcementMode.DEFAULT, false, clusterId);
  }
}
