package io.porin.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.ipam.Cidr;
import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import io.porin.core.resource.EndpointLabels;
import io.porin.core.resource.PolicyResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceParser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Selectors across a mesh, with seed 04 as users have it: a selector without the cluster label
 * selects the endpoints of every connected cluster (the guides' semantics), one with it picks that
 * cluster, and with {@code selectorsMatchLocalClusterOnly} a selector without it picks only this
 * cluster's (Cilium 1.19's default).
 */
class ClusterSelectorsTest {
  static final int EAST = 1;
  static final int WEST = 2;
  static final int FRONTEND = NumericIdentity.ofCluster(EAST, 300).value();
  static final int BACKEND_EAST = NumericIdentity.ofCluster(EAST, 301).value();
  static final int BACKEND_WEST = NumericIdentity.ofCluster(WEST, 301).value();
  static final int OTHER_WEST = NumericIdentity.ofCluster(WEST, 302).value();

  static LabelSet pod(String cluster, String app) {
    return LabelFilter.defaults()
        .filter(EndpointLabels.all(cluster, "production", Map.of("app", app), Map.of()))
        .identityLabels();
  }

  static PolicyCompiler compiler(PolicySettings settings, String... extraPolicies)
      throws Exception {
    PolicyCompiler c = new PolicyCompiler(settings);
    c.putIdentity(FRONTEND, pod("east", "frontend"));
    c.putIdentity(BACKEND_EAST, pod("east", "backend"));
    c.putIdentity(BACKEND_WEST, pod("west", "backend"));
    c.putIdentity(OTHER_WEST, pod("west", "other"));
    String seed = Files.readString(Path.of("../examples/seed/04-clustermesh-global-service.yaml"));
    for (String yaml :
        java.util.stream.Stream.concat(
                java.util.stream.Stream.of(seed), java.util.Arrays.stream(extraPolicies))
            .toList()) {
      for (Resource r : ResourceParser.parse(yaml).resources()) {
        if (r instanceof PolicyResource p) {
          c.putPolicy(p.ref(), p.rules());
        }
      }
    }
    c.commit();
    return c;
  }

  static Verdict egress(PolicyCompiler c, int from, int to) {
    return c.get(from).egress().decide(to, null, Cidr.Family.IPV4, Protocol.TCP, 8080).verdict();
  }

  @Test
  void aSelectorWithoutAClusterSelectsEveryConnectedCluster() throws Exception {
    PolicyCompiler c = compiler(PolicySettings.defaults(EAST));
    assertThat(egress(c, FRONTEND, BACKEND_EAST)).isEqualTo(Verdict.ALLOW);
    assertThat(egress(c, FRONTEND, BACKEND_WEST)).isEqualTo(Verdict.ALLOW);
    assertThat(egress(c, FRONTEND, OTHER_WEST)).isEqualTo(Verdict.DENY);
  }

  @Test
  void localClusterOnlyKeepsSuchSelectorsHome() throws Exception {
    PolicyCompiler c = compiler(new PolicySettings(EnforcementMode.DEFAULT, false, EAST, true));
    assertThat(egress(c, FRONTEND, BACKEND_EAST)).isEqualTo(Verdict.ALLOW);
    assertThat(egress(c, FRONTEND, BACKEND_WEST)).isEqualTo(Verdict.DENY);
  }

  static final String TO_WEST =
      """
      apiVersion: cilium.io/v2
      kind: CiliumNetworkPolicy
      metadata: {name: frontend-to-west, namespace: production}
      spec:
        endpointSelector: {matchLabels: {app: frontend}}
        egress:
        - toEndpoints:
          - matchLabels: {app: other, io.cilium.k8s.policy.cluster: west}
          toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
      """;

  @Test
  void aSelectorNamingAClusterPicksThatCluster() throws Exception {
    for (boolean localOnly : new boolean[] {false, true}) {
      PolicyCompiler c =
          compiler(new PolicySettings(EnforcementMode.DEFAULT, false, EAST, localOnly), TO_WEST);
      assertThat(egress(c, FRONTEND, OTHER_WEST))
          .as("local only: %s", localOnly)
          .isEqualTo(Verdict.ALLOW);
    }
  }

  @Test
  void switchingTheSettingRecompiles() throws Exception {
    PolicyCompiler c = compiler(PolicySettings.defaults(EAST));
    c.setSettings(new PolicySettings(EnforcementMode.DEFAULT, false, EAST, true));
    c.commit();
    assertThat(egress(c, FRONTEND, BACKEND_WEST)).isEqualTo(Verdict.DENY);
    assertThat(c.compileFull(FRONTEND)).isEqualTo(c.get(FRONTEND));
  }
}
