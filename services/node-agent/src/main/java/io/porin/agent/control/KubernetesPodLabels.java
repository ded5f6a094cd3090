package io.porin.agent.control;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.porin.core.labels.LabelFilter;
import io.porin.core.resource.EndpointLabels;
import java.util.Map;
import java.util.function.Consumer;

/** A pod's identity labels from the Kubernetes API (the pod and its namespace). */
public final class KubernetesPodLabels implements PodLabels {
  private final KubernetesClient client;
  private final LabelFilter filter;
  private final String cluster;

  /** Pods of cluster {@code cluster} (its name, as {@code io.cilium.k8s.policy.cluster}). */
  public KubernetesPodLabels(KubernetesClient client, LabelFilter filter, String cluster) {
    this.client = client;
    this.filter = filter;
    this.cluster = cluster;
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
        filter.filter(EndpointLabels.all(cluster, namespace, podLabels, nsLabels)).identityLabels(),
        p != null);
  }

  @Override
  public AutoCloseable watch(Changes changes) {
    Watch pods =
        client
            .pods()
            .inAnyNamespace()
            .watch(
                watcher(
                    (Pod p) ->
                        changes.changed(p.getMetadata().getNamespace(), p.getMetadata().getName()),
                    changes));
    Watch namespaces =
        client
            .namespaces()
            .watch(
                watcher((Namespace n) -> changes.changed(n.getMetadata().getName(), ""), changes));
    return () -> {
      pods.close();
      namespaces.close();
    };
  }

  private static <T> Watcher<T> watcher(Consumer<T> changed, Changes changes) {
    return new Watcher<>() {
      @Override
      public void eventReceived(Action action, T resource) {
        changed.accept(resource);
      }

      @Override
      public void onClose(WatcherException cause) {
        // the watch is gone: a resync covers what it would have said
        changes.changed("", "");
      }
    };
  }
}
