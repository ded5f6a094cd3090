package io.porin.agent.control;

import io.porin.core.labels.LabelFilter;
import io.porin.core.resource.EndpointLabels;
import io.porin.core.resource.NamespaceResource;
import io.porin.core.resource.PodResource;
import io.porin.core.resource.Resource;
import io.porin.core.resource.ResourceParser;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A pod's identity labels from the standalone store (what {@code porin apply} wrote), derived
 * exactly as the policy service derives them, so both arrive at the same identity.
 */
public final class StandalonePodLabels implements PodLabels {
  private final KvStore kv;
  private final LabelFilter filter;
  private final String cluster;

  /** Pods of cluster {@code cluster} (its name, as {@code io.cilium.k8s.policy.cluster}). */
  public StandalonePodLabels(KvStore kv, LabelFilter filter, String cluster) {
    this.kv = kv;
    this.filter = filter;
    this.cluster = cluster;
  }

  @Override
  public Found labels(String namespace, String pod) {
    Optional<NamespaceResource> ns =
        read(Keys.Resources.resource("namespaces", Keys.Resources.CLUSTER_SCOPE, namespace))
            .filter(NamespaceResource.class::isInstance)
            .map(NamespaceResource.class::cast);
    Optional<PodResource> p =
        pod == null || pod.isEmpty()
            ? Optional.empty()
            : read(Keys.Resources.resource("pods", namespace, pod))
                .filter(PodResource.class::isInstance)
                .map(PodResource.class::cast);
    if (p.isPresent()) {
      return new Found(EndpointLabels.identity(cluster, p.get(), ns.orElse(null), filter), true);
    }
    Map<String, String> nsLabels = ns.map(NamespaceResource::labels).orElse(Map.of());
    return new Found(
        filter.filter(EndpointLabels.all(cluster, namespace, Map.of(), nsLabels)).identityLabels(),
        false);
  }

  @Override
  public AutoCloseable watch(Changes changes) {
    AutoCloseable pods = kv.watch(Keys.Resources.kind("pods"), 0, listener(changes, false));
    AutoCloseable namespaces =
        kv.watch(Keys.Resources.kind("namespaces"), 0, listener(changes, true));
    return () -> {
      pods.close();
      namespaces.close();
    };
  }

  private static WatchListener listener(Changes changes, boolean namespaces) {
    String prefix = Keys.Resources.kind(namespaces ? "namespaces" : "pods");
    return new WatchListener() {
      @Override
      public void onReset(Snapshot snapshot) {
        changes.changed("", "");
      }

      @Override
      public void onEvents(List<WatchEvent> events) {
        for (WatchEvent e : events) {
          // pods/<namespace>/<name>, namespaces/_/<name>
          String[] parts = e.entry().key().substring(prefix.length()).split("/", 2);
          if (parts.length == 2) {
            changes.changed(namespaces ? parts[1] : parts[0], namespaces ? "" : parts[1]);
          }
        }
      }
    };
  }

  private Optional<Resource> read(String key) {
    return kv.get(key)
        .flatMap(
            e -> {
              ResourceParser.Result r = ResourceParser.parse(e.value());
              return r.resources().isEmpty() ? Optional.empty() : Optional.of(r.resources().get(0));
            });
  }
}
