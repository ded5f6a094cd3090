package io.porin.core.resource;

import io.porin.core.labels.Label;
import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The labels a pod's identity is made of, as Cilium derives them: the pod's labels, its namespace
 * ({@code io.kubernetes.pod.namespace}), its namespace's labels ({@code
 * io.cilium.k8s.namespace.labels.*}, including {@code kubernetes.io/metadata.name} which Kubernetes
 * sets on every namespace), its cluster ({@code io.cilium.k8s.policy.cluster}), all with source
 * {@code k8s}, then filtered by the label filter.
 */
public final class EndpointLabels {
  private EndpointLabels() {}

  /**
   * All labels of a pod of cluster {@code cluster}, before filtering: {@link #all(String, Map,
   * Map)} and {@code io.cilium.k8s.policy.cluster=<cluster>}, which selectors use to pick a cluster
   * of a mesh.
   */
  public static LabelSet all(
      String cluster,
      String namespace,
      Map<String, String> podLabels,
      Map<String, String> namespaceLabels) {
    List<Label> out = new ArrayList<>(all(namespace, podLabels, namespaceLabels).labels());
    out.add(Label.k8s(Label.POLICY_CLUSTER, cluster));
    return LabelSet.of(out);
  }

  /** All labels, before filtering. */
  public static LabelSet all(
      String namespace, Map<String, String> podLabels, Map<String, String> namespaceLabels) {
    List<Label> out = new ArrayList<>();
    podLabels.forEach((k, v) -> out.add(Label.k8s(k, v)));
    out.add(Label.k8s(Label.POD_NAMESPACE, namespace));
    out.add(Label.k8s(Label.NAMESPACE_LABELS_PREFIX + "kubernetes.io/metadata.name", namespace));
    namespaceLabels.forEach((k, v) -> out.add(Label.k8s(Label.NAMESPACE_LABELS_PREFIX + k, v)));
    return LabelSet.of(out);
  }

  /**
   * The identity labels of a pod of cluster {@code cluster} in a namespace (null namespace: no
   * namespace labels known).
   */
  public static LabelSet identity(
      String cluster, PodResource pod, NamespaceResource namespace, LabelFilter filter) {
    Map<String, String> nsLabels = namespace == null ? Map.of() : namespace.labels();
    return filter
        .filter(all(cluster, pod.id().namespace(), pod.labels(), nsLabels))
        .identityLabels();
  }
}
