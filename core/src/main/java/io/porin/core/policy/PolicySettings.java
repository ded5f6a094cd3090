package io.porin.core.policy;

import java.util.Objects;

/**
 * Cluster-wide policy settings.
 *
 * @param mode when endpoints are default deny
 * @param auditAll agent-wide audit mode: every drop becomes AUDIT
 * @param clusterId this cluster's ID: the {@code cluster} entity means its identities
 */
public record PolicySettings(EnforcementMode mode, boolean auditAll, int clusterId) {
  public PolicySettings {
    Objects.requireNonNull(mode, "mode");
  }

  public static PolicySettings defaults(int clusterId) {
    return new PolicySettings(EnforcementMode.DEFAULT, false, clusterId);
  }
}
