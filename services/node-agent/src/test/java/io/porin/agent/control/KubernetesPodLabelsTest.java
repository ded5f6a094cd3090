package io.porin.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.porin.core.labels.LabelFilter;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Pod labels from the Kubernetes API, against the fabric8 mock API server in CRUD mode (no real API
 * server exists here).
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesPodLabelsTest {
  static KubernetesClient client;

  @Test
  void podAndNamespaceLabelsFormTheIdentityLabelsAsThePolicyServiceDerivesThem() {
    client
        .namespaces()
        .resource(
            new NamespaceBuilder()
                .withNewMetadata()
                .withName("shop")
                .addToLabels("team", "blue")
                .endMetadata()
                .build())
        .create();
    client
        .pods()
        .inNamespace("shop")
        .resource(
            new PodBuilder()
                .withNewMetadata()
                .withName("web-1")
                .addToLabels("app", "web")
                .addToLabels("pod-template-hash", "abc123")
                .endMetadata()
                .build())
        .create();
    PodLabels labels = new KubernetesPodLabels(client, LabelFilter.defaults(), "east");
    PodLabels.Found found = labels.labels("shop", "web-1");
    assertThat(found.podFound()).isTrue();
    assertThat(found.labels().strings())
        .contains(
            "k8s:app=web",
            "k8s:io.kubernetes.pod.namespace=shop",
            "k8s:io.cilium.k8s.namespace.labels.team=blue",
            "k8s:io.cilium.k8s.policy.cluster=east")
        .noneMatch(l -> l.contains("pod-template-hash"));

    PodLabels.Found missing = labels.labels("shop", "nope");
    assertThat(missing.podFound()).isFalse();
    assertThat(missing.labels().strings()).contains("k8s:io.kubernetes.pod.namespace=shop");
  }

  @Test
  void aRelabelledPodOrNamespaceIsToldAndItsNewLabelsRead() throws Exception {
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName("ops").endMetadata().build())
        .create();
    client
        .pods()
        .inNamespace("ops")
        .resource(
            new PodBuilder()
                .withNewMetadata()
                .withName("probe")
                .addToLabels("app", "probe")
                .endMetadata()
                .build())
        .create();
    PodLabels labels = new KubernetesPodLabels(client, LabelFilter.defaults(), "east");
    BlockingQueue<String> changes = new LinkedBlockingQueue<>();
    try (AutoCloseable watch = labels.watch((ns, pod) -> changes.add(ns + "/" + pod))) {
      client
          .pods()
          .inNamespace("ops")
          .withName("probe")
          .edit(
              p -> {
                p.getMetadata().getLabels().put("tier", "debug");
                return p;
              });
      assertThat(awaitChange(changes, "ops/probe")).isTrue();
      assertThat(labels.labels("ops", "probe").labels().strings()).contains("k8s:tier=debug");

      client
          .namespaces()
          .withName("ops")
          .edit(
              n -> {
                n.getMetadata().setLabels(java.util.Map.of("team", "ops"));
                return n;
              });
      assertThat(awaitChange(changes, "ops/")).isTrue();
      assertThat(labels.labels("ops", "probe").labels().strings())
          .contains("k8s:io.cilium.k8s.namespace.labels.team=ops");
    }
  }

  private static boolean awaitChange(BlockingQueue<String> changes, String expected)
      throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < deadline) {
      String c = changes.poll(200, TimeUnit.MILLISECONDS);
      if (expected.equals(c)) {
        return true;
      }
    }
    return false;
  }
}
