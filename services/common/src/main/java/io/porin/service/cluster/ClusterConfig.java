package io.porin.service.cluster;

import io.porin.core.mesh.ClusterInfo;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * This cluster's name ({@code porin.cluster.name}), as Cilium's {@code cluster-name}: every
 * endpoint's identity carries it as {@code io.cilium.k8s.policy.cluster}, so selectors can pick a
 * cluster of a mesh. The agents and the policy service must be given the same name.
 */
@ConfigMapping(prefix = "porin.cluster")
public interface ClusterConfig {
  /** {@code default} for a cluster that was never named (it cannot join a mesh). */
  @WithDefault(ClusterInfo.DEFAULT_NAME)
  String name();

  /**
   * This cluster's ID in a mesh (1..255, as the identity service's); 0 when not given. Agents
   * refuse a peer that claims it.
   */
  @WithDefault("0")
  int id();

  /** The name, checked: a bad one stops start-up, named. */
  static String checked(ClusterConfig config) {
    String name = config.name();
    var problems =
        ClusterInfo.nameProblems(name).stream()
            .filter(p -> !name.equals(ClusterInfo.DEFAULT_NAME))
            .toList();
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          String.join(
              "; ",
              problems.stream()
                  .map(p -> p.replaceFirst("^cluster name", "porin.cluster.name"))
                  .toList()));
    }
    return name;
  }
}
