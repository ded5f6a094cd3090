package io.porin.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.porin.core.identity.NumericIdentity;
import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import io.porin.core.resource.EndpointLabels;
import io.porin.core.resource.PolicyResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceParser;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Random churn of identities, endpoints (named ports), policies and audited namespaces: after every
 * commit, a node that applied only the deltas ({@link PolicyChanges}) holds exactly what a compile
 * from scratch gives, for every identity.
 */
class PolicyIncrementalTest {

  @Test
  void deltasAlwaysAddUpToAFullCompile() {
    List<PolicyResource> policies = new ArrayList<>();
    for (Resource r : ResourceParser.parse(PolicyCombinatorialTest.POLICIES).resources()) {
      policies.add((PolicyResource) r);
    }
    List<LabelSet> labelChoices = new ArrayList<>();
    for (String ns : List.of("a", "b")) {
      for (String app : List.of("x", "y", "z")) {
        for (boolean prod : List.of(true, false)) {
          Map<String, String> l = prod ? Map.of("app", app, "env", "prod") : Map.of("app", app);
          labelChoices.add(
              LabelFilter.defaults().filter(EndpointLabels.all(ns, l, Map.of())).identityLabels());
        }
      }
    }
    for (long seed = 1; seed <= 20; seed++) {
      Random random = new Random(seed);
      // even seeds: selectors without a cluster match only cluster 1's identities
      PolicyCompiler compiler =
          new PolicyCompiler(new PolicySettings(EnforcementMode.DEFAULT, false, 1, seed % 2 == 0));
      Map<Integer, IdentityPolicy> node = new HashMap<>();
      Set<Integer> live = new HashSet<>();
      Set<String> audit = new HashSet<>();
      for (int step = 0; step < 300; step++) {
        int ops = 1 + random.nextInt(3);
        for (int o = 0; o < ops; o++) {
          // Identities of cluster 1 and of cluster 2 (a meshed peer: not in the cluster entity).
          int id =
              NumericIdentity.ofCluster(1 + random.nextInt(2), 256 + random.nextInt(12)).value();
          switch (random.nextInt(7)) {
            case 0, 1 -> {
              compiler.putIdentity(id, labelChoices.get(random.nextInt(labelChoices.size())));
              live.add(id);
            }
            case 2 -> {
              compiler.removeIdentity(id);
              live.remove(id);
            }
            case 3 ->
                compiler.putEndpoint(
                    "ep-" + random.nextInt(10),
                    id,
                    random.nextBoolean()
                        ? List.of(new NamedPort("http", Protocol.TCP, 80 + random.nextInt(3)))
                        : List.of(new NamedPort("dns", Protocol.UDP, 53)));
            case 4 -> compiler.removeEndpoint("ep-" + random.nextInt(10));
            case 5 -> {
              PolicyResource p = policies.get(random.nextInt(policies.size()));
              if (random.nextBoolean()) {
                compiler.putPolicy(p.ref(), p.rules());
              } else {
                compiler.removePolicy(p.ref());
              }
            }
            default -> {
              String ns = random.nextBoolean() ? "a" : "b";
              if (!audit.remove(ns)) {
                audit.add(ns);
              }
              compiler.setAuditNamespaces(audit);
            }
          }
        }
        PolicyChanges changes = compiler.commit();
        // A patched identity's other peers are untouched: a delta of the named peers is complete.
        changes
            .patchedPeers()
            .forEach(
                (id, peers) -> {
                  IdentityPolicy before = node.get(id);
                  IdentityPolicy after = changes.updated().get(id);
                  for (Direction d : Direction.values()) {
                    Set<Integer> all = new HashSet<>(before.direction(d).byPeer().keySet());
                    all.addAll(after.direction(d).byPeer().keySet());
                    all.removeAll(peers);
                    for (int peer : all) {
                      assertThat(after.direction(d).byPeer().get(peer))
                          .isEqualTo(before.direction(d).byPeer().get(peer));
                    }
                    assertThat(after.direction(d).enforced())
                        .isEqualTo(before.direction(d).enforced());
                  }
                });
        node.putAll(changes.updated());
        node.keySet().removeAll(changes.removed());
        assertThat(node.keySet()).as("seed %d step %d", seed, step).isEqualTo(live);
        for (int id : live) {
          assertThat(node.get(id))
              .as("seed %d step %d identity %d", seed, step, id)
              .isEqualTo(compiler.compileFull(id));
        }
      }
    }
  }
}
