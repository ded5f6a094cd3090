package io.porin.agent.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.porin.core.labels.LabelFilter;
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
    PodLabels labels = new KubernetesPodLabels(client, LabelFilter.defaults());
    PodLabels.Found found = labels.labels("shop", "web-1");
    assertThat(found.podFound()).isTrue();
    assertThat(found.labels().strings())
        .contains(
            "k8s:app=web",
            "k8s:io.kubernetes.pod.namespace=shop",
            "k8s:io.cilium.k8s.namespace.labels.team=blue")
        .noneMatch(l -> l.contains("pod-template-hash"));

    PodLabels.Found missing = labels.labels("shop", "nope");
    assertThat(missing.podFound()).isFalse();
    assertThat(missing.labels().strings()).contains("k8s:io.kubernetes.pod.namespace=shop");
  }
}
