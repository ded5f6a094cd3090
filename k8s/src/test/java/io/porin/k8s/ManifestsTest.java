package io.porin.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every overlay renders with {@code kubectl kustomize}, every object parses strictly with the
 * fabric8 model (a field it does not know fails), and the workloads run with least privilege.
 */
class ManifestsTest {
  static final Set<String> COMPONENTS =
      Set.of(
          "porin-etcd",
          "porin-identity",
          "porin-ipam",
          "porin-policy",
          "porin-relay",
          "porin-clustermesh",
          "porin-agent");

  @ParameterizedTest
  @ValueSource(strings = {"dev", "production"})
  void everyObjectIsAKnownKindWithNoUnknownFieldInPorinsNamespace(String overlay) {
    Manifests m = Manifests.render(overlay);
    assertThat(m.objects).hasSizeGreaterThan(20);
    List<String> problems = new ArrayList<>();
    for (HasMetadata o : m.objects) {
      String name = o.getKind() + "/" + o.getMetadata().getName();
      if (o instanceof GenericKubernetesResource) {
        problems.add(name + ": not a kind the model knows (" + o.getApiVersion() + ")");
      }
      Strict.unknownFields(o).forEach(f -> problems.add(name + ": unknown field " + f));
      boolean clusterScoped =
          Set.of("Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding")
              .contains(o.getKind());
      if (!clusterScoped && !Manifests.NAMESPACE.equals(o.getMetadata().getNamespace())) {
        problems.add(name + ": in namespace " + o.getMetadata().getNamespace());
      }
      if (!"porin".equals(o.getMetadata().getLabels().get("app.kubernetes.io/part-of"))) {
        problems.add(name + ": without app.kubernetes.io/part-of=porin");
      }
    }
    assertThat(problems).isEmpty();
    assertThat(m.one(Namespace.class, Manifests.NAMESPACE)).isNotNull();
    assertThat(m.workloads())
        .extracting(Manifests.Workload::name)
        .containsExactlyInAnyOrderElementsOf(COMPONENTS);
    assertThat(m.one(ConfigMap.class, "porin-grafana-dashboard").getData())
        .containsKey("grafana-dashboard.json");
  }

  @Test
  void aFieldTheModelDoesNotKnowIsFound() {
    // the check itself: a typo in a manifest must not pass unnoticed
    var d =
        new io.fabric8.kubernetes.client.utils.KubernetesSerialization()
            .unmarshal(
                """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: x}
                spec:
                  replicas: 1
                  template:
                    spec:
                      containers:
                        - name: c
                          image: i
                          imagePullPolice: Always
                """,
                HasMetadata.class);
    assertThat(Strict.unknownFields(d))
        .containsExactly(".spec.template.spec.containers[0].imagePullPolice");
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev", "production"})
  void everythingButTheAgentRunsAsNonRootReadOnlyWithoutCapabilities(String overlay) {
    List<String> problems = new ArrayList<>();
    for (Manifests.Workload w : Manifests.render(overlay).workloads()) {
      var podSc = w.pod().getSecurityContext();
      List<Container> all =
          Stream.concat(w.pod().getInitContainers().stream(), w.pod().getContainers().stream())
              .toList();
      for (Container c : all) {
        String name = w.name() + "/" + c.getName();
        var sc = c.getSecurityContext();
        if (sc == null) {
          problems.add(name + ": no securityContext");
          continue;
        }
        if (!Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
          problems.add(name + ": privilege escalation allowed");
        }
        if (!Boolean.TRUE.equals(sc.getReadOnlyRootFilesystem())) {
          problems.add(name + ": writable root filesystem");
        }
        if (Boolean.TRUE.equals(sc.getPrivileged())) {
          problems.add(name + ": privileged");
        }
        if (sc.getCapabilities() == null || !sc.getCapabilities().getDrop().contains("ALL")) {
          problems.add(name + ": capabilities not dropped");
        }
        boolean agent = w.name().equals("porin-agent") && c.getName().equals("agent");
        if (agent) {
          assertThat(sc.getCapabilities().getAdd())
              .as("the agent's capabilities (each named in agent.yaml)")
              .containsExactlyInAnyOrder("BPF", "NET_ADMIN", "SYS_ADMIN");
          continue;
        }
        if (!sc.getCapabilities().getAdd().isEmpty()) {
          problems.add(name + ": adds capabilities " + sc.getCapabilities().getAdd());
        }
        boolean nonRoot =
            Boolean.TRUE.equals(sc.getRunAsNonRoot())
                || (podSc != null
                    && Boolean.TRUE.equals(podSc.getRunAsNonRoot())
                    && sc.getRunAsUser() == null);
        if (!nonRoot && !w.name().equals("porin-agent")) {
          problems.add(name + ": may run as root");
        }
      }
      if (!w.name().equals("porin-agent")) {
        if (podSc == null || podSc.getSeccompProfile() == null) {
          problems.add(w.name() + ": no seccomp profile");
        }
      }
      for (Container c : w.pod().getContainers()) {
        if (c.getResources() == null
            || c.getResources().getRequests().get("memory") == null
            || c.getResources().getLimits().get("memory") == null) {
          problems.add(w.name() + "/" + c.getName() + ": no memory request and limit");
        }
      }
    }
    assertThat(problems).isEmpty();
  }

  @Test
  void theAgentRunsOnEveryNodeAsNodeCriticalOnTheHostNetwork() {
    var agent = Manifests.render("dev").workload("porin-agent");
    assertThat(agent.pod().getHostNetwork()).isTrue();
    assertThat(agent.pod().getPriorityClassName()).isEqualTo("system-node-critical");
    assertThat(agent.pod().getTolerations())
        .anySatisfy(
            t -> {
              assertThat(t.getOperator()).isEqualTo("Exists");
              assertThat(t.getKey()).isNull();
              assertThat(t.getEffect()).isNull();
            });
    assertThat(agent.pod().getInitContainers())
        .extracting(Container::getName)
        .contains("install-cni");
    assertThat(agent.main().getVolumeMounts())
        .extracting(v -> v.getMountPath())
        .contains("/sys/fs/bpf", "/run/porin/cgroupv2", "/var/run/porin", "/host/etc/cni/net.d");
  }

  @Test
  void productionRunsThreeEtcdMembersApartAndTwoOfEveryStatelessServiceWithBudgets() {
    Manifests m = Manifests.render("production");
    StatefulSet etcd = m.one(StatefulSet.class, "porin-etcd");
    assertThat(etcd.getSpec().getReplicas()).isEqualTo(3);
    assertThat(
            etcd.getSpec()
                .getTemplate()
                .getSpec()
                .getAffinity()
                .getPodAntiAffinity()
                .getRequiredDuringSchedulingIgnoredDuringExecution())
        .extracting(t -> t.getTopologyKey())
        .containsExactly("kubernetes.io/hostname");
    String initial = m.workload("porin-etcd").env("INITIAL_CLUSTER").orElseThrow();
    for (int i = 0; i < 3; i++) {
      assertThat(initial).contains("porin-etcd-" + i + "=https://porin-etcd-" + i + ".porin-etcd.");
    }
    assertThat(m.workload("porin-etcd").main().getArgs()).isEmpty();
    assertThat(m.workload("porin-etcd").main().getCommand())
        .contains("--client-cert-auth", "--peer-client-cert-auth");
    for (String s : List.of("identity", "ipam", "policy", "relay", "clustermesh")) {
      var d = m.one(io.fabric8.kubernetes.api.model.apps.Deployment.class, "porin-" + s);
      assertThat(d.getSpec().getReplicas()).as(s).isEqualTo(2);
      assertThat(
              m.one(PodDisruptionBudget.class, "porin-" + s)
                  .getSpec()
                  .getMinAvailable()
                  .getIntVal())
          .isEqualTo(1);
    }
    assertThat(
            m.one(PodDisruptionBudget.class, "porin-etcd")
                .getSpec()
                .getMaxUnavailable()
                .getIntVal())
        .isEqualTo(1);
    assertThat(Manifests.render("dev").one(StatefulSet.class, "porin-etcd").getSpec().getReplicas())
        .isEqualTo(1);
  }

  /** The agent's JVM in a cluster is the one the lab runs (and bench/memory.sh measures). */
  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {"dev", "production"})
  void theAgentsJvmIsTheOneTheLabMeasures(String overlay) {
    Manifests.Workload agent =
        Manifests.render(overlay).workloads().stream()
            .filter(w -> w.name().equals("porin-agent"))
            .findFirst()
            .orElseThrow();
    java.util.List<String> options =
        java.util.List.of(agent.env("JAVA_TOOL_OPTIONS").orElseThrow().split("\\s+"));
    assertThat(options.stream().filter(o -> !o.startsWith("--enable-native-access")).toList())
        .isEqualTo(io.porin.lab.Lab.AGENT_JVM);
  }
}
