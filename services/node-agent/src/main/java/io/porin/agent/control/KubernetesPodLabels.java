package io.porin.agent.control;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.porin.core.labels.LabelFilter;
import io.porin.core.resource.EndpointLabels;
import java.util.Map;

/** A pod's identity labels from the Kubernetes API (the pod and its namespace). */
public final class KubernetesPodLabels implements PodLabels {
  private final KubernetesClient client;
  private final LabelFilter filter;

  public KubernetesPodLabels(KubernetesClient client, LabelFilter filter) {
    this.client = client;
    this.filter = filter;
  }

  @Override
  public Found labels(String namespace, String pod) {
    Namespace ns = client.namespaces().withName(namespace).get();
    Map<String, String> nsLabels =
        ns == null || ns.getMetadata().getLabels() == null
            ? Map.of()
            : ns.getMetadata().getLabels();
    Pod p =
        pod == null || pod.isEmpty()
            ? null
            : client.pods().inNamespace(namespace).withName(pod).get();
    Map<String, String> podLabels =
        p == null || p.getMetadata().getLabels() == null ? Map.of() : p.getMetadata().getLabels();
    return new Found(
        filter.filter(EndpointLabels.all(namespace, podLabels, nsLabels)).identityLabels(),
        p != null);
  }
}
