package io.porin.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.api.model.rbac.Role;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.porin.agent.control.KubernetesPodLabels;
import io.porin.agent.control.PodLabels;
import io.porin.core.labels.LabelFilter;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceId;
import io.porin.identity.gc.GcLease;
import io.porin.identity.join.KubernetesJoinVerifier;
import io.porin.policy.source.KubernetesSource;
import io.porin.policy.source.ResourceSource;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each component's RBAC rules cover exactly the Kubernetes API calls it makes: the real code of
 * each (the policy service's informers, the agent's pod labels, the identity service's token
 * reviews and Lease) runs against the fabric8 mock API server in CRUD mode (no real API server
 * here), every request it sends is recorded and turned into (group, resource, verb, namespace), and
 * compared with the Roles and ClusterRoles bound to its ServiceAccount in the manifests: every call
 * allowed, every rule used.
 */
@EnableKubernetesMockClient(crud = true)
class RbacTest {
  static KubernetesMockServer server;
  static KubernetesClient client;
  static Manifests manifests;

  /** One API call as RBAC sees it. */
  record Call(String group, String resource, String verb, String namespace, String name) {
    String permission() {
      return (group.isEmpty() ? "core" : group) + "/" + resource + ":" + verb;
    }
  }

  @BeforeAll
  static void setUp() throws Exception {
    manifests = Manifests.render("dev");
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName("shop").endMetadata().build())
        .create();
    client
        .pods()
        .inNamespace("shop")
        .resource(
            new PodBuilder()
                .withNewMetadata()
                .withName("web")
                .addToLabels("app", "web")
                .endMetadata()
                .build())
        .create();
    drain();
  }

  /** Takes every request recorded so far (after {@code quiet} without a new one). */
  static List<Call> drain() throws InterruptedException {
    List<Call> calls = new ArrayList<>();
    RecordedRequest r;
    while ((r = server.takeRequest(500, TimeUnit.MILLISECONDS)) != null) {
      calls.add(call(r));
    }
    return calls;
  }

  static Call call(RecordedRequest r) {
    String full = r.getPath();
    int q = full.indexOf('?');
    String path = q < 0 ? full : full.substring(0, q);
    boolean watch = q >= 0 && full.substring(q).contains("watch=true");
    String[] parts = path.replaceFirst("^/", "").split("/");
    int i;
    String group;
    if (parts[0].equals("api")) {
      group = "";
      i = 2;
    } else {
      group = parts[1];
      i = 3;
    }
    String namespace = "";
    if (parts.length > i + 1 && parts[i].equals("namespaces") && parts.length > i + 2) {
      namespace = parts[i + 1];
      i += 2;
    }
    String resource = parts[i];
    boolean named = parts.length > i + 1;
    String name = named ? parts[i + 1] : "";
    String verb =
        switch (r.getMethod()) {
          case "GET" -> watch ? "watch" : named ? "get" : "list";
          case "POST" -> "create";
          case "PUT" -> "update";
          case "PATCH" -> "patch";
          case "DELETE" -> named ? "delete" : "deletecollection";
          default -> throw new AssertionError("unexpected method " + r.getMethod() + " " + full);
        };
    return new Call(group, resource, verb, namespace, name);
  }

  /** The rules bound to {@code account}: cluster-wide ones, and ones of Porin's namespace. */
  static List<PolicyRule> rules(String account, boolean clusterWide) {
    List<PolicyRule> out = new ArrayList<>();
    if (clusterWide) {
      for (ClusterRoleBinding b : manifests.all(ClusterRoleBinding.class)) {
        if (bound(b.getSubjects(), account)) {
          out.addAll(manifests.one(ClusterRole.class, b.getRoleRef().getName()).getRules());
        }
      }
    } else {
      for (RoleBinding b : manifests.all(RoleBinding.class)) {
        if (bound(b.getSubjects(), account)) {
          out.addAll(manifests.one(Role.class, b.getRoleRef().getName()).getRules());
        }
      }
    }
    return out;
  }

  static boolean bound(List<Subject> subjects, String account) {
    return subjects.stream()
        .anyMatch(
            s ->
                s.getKind().equals("ServiceAccount")
                    && s.getName().equals(account)
                    && Manifests.NAMESPACE.equals(s.getNamespace()));
  }

  static boolean allows(PolicyRule rule, Call c) {
    return rule.getApiGroups().contains(c.group())
        && rule.getResources().contains(c.resource())
        && rule.getVerbs().contains(c.verb())
        && (rule.getResourceNames().isEmpty() || rule.getResourceNames().contains(c.name()));
  }

  /** Every call allowed by the account's rules; every (group, resource, verb) of them used. */
  static void assertExactly(String account, List<Call> calls) {
    assertThat(calls).as(account + " made no calls").isNotEmpty();
    List<PolicyRule> cluster = rules(account, true);
    List<PolicyRule> namespaced = rules(account, false);
    List<String> problems = new ArrayList<>();
    Set<String> used = new LinkedHashSet<>();
    for (Call c : calls) {
      boolean ok =
          cluster.stream().anyMatch(r -> allows(r, c))
              || (c.namespace().equals(Manifests.NAMESPACE)
                  && namespaced.stream().anyMatch(r -> allows(r, c)));
      if (!ok) {
        problems.add("not allowed: " + c);
      }
      used.add(c.permission());
    }
    Set<String> granted = new TreeSet<>();
    for (PolicyRule r : concat(cluster, namespaced)) {
      for (String g : r.getApiGroups()) {
        for (String res : r.getResources()) {
          for (String v : r.getVerbs()) {
            granted.add((g.isEmpty() ? "core" : g) + "/" + res + ":" + v);
          }
        }
      }
    }
    for (String g : granted) {
      if (!used.contains(g)) {
        problems.add("granted, never used: " + g);
      }
    }
    assertThat(problems).as(account).isEmpty();
  }

  static List<PolicyRule> concat(List<PolicyRule> a, List<PolicyRule> b) {
    List<PolicyRule> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  @Test
  void thePolicyServiceWatchesWhatPolicyIsMadeOfAndNothingElse() throws Exception {
    AtomicBoolean synced = new AtomicBoolean();
    KubernetesSource source = new KubernetesSource(client);
    source.start(
        new ResourceSource.Listener() {
          @Override
          public void reset() {}

          @Override
          public void upsert(Resource resource) {}

          @Override
          public void delete(ResourceId id) {}

          @Override
          public void invalid(ResourceId id, String message) {}

          @Override
          public void synced() {
            synced.set(true);
          }
        });
    try {
      await(synced::get);
    } finally {
      source.close();
    }
    assertExactly("porin-policy", drain());
  }

  @Test
  void theAgentReadsAndWatchesPodsAndNamespaces() throws Exception {
    KubernetesPodLabels labels = new KubernetesPodLabels(client, LabelFilter.defaults(), "c1");
    assertThat(labels.labels("shop", "web").podFound()).isTrue();
    try (AutoCloseable w =
        labels.watch(
            new PodLabels.Changes() {
              @Override
              public void changed(String namespace, String pod) {}
            })) {
      Thread.sleep(300);
    }
    assertExactly("porin-agent", drain());
  }

  @Test
  void theIdentityServiceReviewsTokensReadsTheirPodsAndHoldsItsLease() throws Exception {
    String uid =
        client
            .pods()
            .inNamespace(Manifests.NAMESPACE)
            .resource(
                new PodBuilder()
                    .withNewMetadata()
                    .withName("porin-agent-x")
                    .endMetadata()
                    .withNewSpec()
                    .withServiceAccountName("porin-agent")
                    .withNodeName("n1")
                    .endSpec()
                    .build())
            .create()
            .getMetadata()
            .getUid();
    io.porin.identity.join.ScriptedTokenReviews.answer(
        server.expect(),
        t ->
            java.util.Optional.of(
                io.porin.identity.join.ScriptedTokenReviews.Who.account(
                    Manifests.NAMESPACE, "porin-agent", "porin", "porin-agent-x", uid)));
    client
        .nodes()
        .resource(
            new io.fabric8.kubernetes.api.model.NodeBuilder()
                .withNewMetadata()
                .withName("n1")
                .endMetadata()
                .build())
        .create();
    drain();
    assertThat(
            new KubernetesJoinVerifier(client, Manifests.NAMESPACE, "porin")
                .verify(io.porin.kvstore.testing.TestTokens.jwt("agent", "porin", 600))
                .identity()
                .name())
        .isEqualTo("n1");
    GcLease lease = new GcLease(client, Manifests.NAMESPACE + "/porin-identity-gc", "identity-0");
    try {
      await(lease::leading);
      // a renewal (update) happens every retry period
      Thread.sleep(2500);
    } finally {
      lease.close();
    }
    assertExactly("porin-identity", drain());
  }

  @Test
  void componentsWithoutApiCallsHaveNoTokenMountedAndNoRules() {
    for (String account : List.of("porin-etcd", "porin-ipam", "porin-relay", "porin-clustermesh")) {
      ServiceAccount sa = manifests.one(ServiceAccount.class, account);
      assertThat(sa.getAutomountServiceAccountToken()).as(account).isFalse();
      assertThat(rules(account, true)).as(account).isEmpty();
      assertThat(rules(account, false)).as(account).isEmpty();
    }
    for (var w : manifests.workloads()) {
      assertThat(w.pod().getServiceAccountName()).isEqualTo(w.name());
    }
  }

  static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofSeconds(20));
    while (!condition.getAsBoolean()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("timed out");
      }
      Thread.sleep(50);
    }
  }
}
