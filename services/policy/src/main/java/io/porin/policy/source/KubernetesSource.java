package io.porin.policy.source;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.porin.core.resource.ResourceException;
import io.porin.core.resource.ResourceId;
import io.porin.core.resource.ResourceKind;
import io.porin.core.resource.ResourceParser;
import io.porin.core.resource.YamlDocuments;
import java.util.ArrayList;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Resources from the Kubernetes API: informers on Namespaces, Pods, Services, NetworkPolicies and
 * both Cilium CRDs, read as generic objects and parsed by the same code as the standalone store. A
 * kind the server does not serve (Cilium CRDs not installed) is logged and skipped.
 */
public final class KubernetesSource implements ResourceSource {
  private static final Logger LOG = Logger.getLogger(KubernetesSource.class);

  private final KubernetesClient client;
  private final List<SharedIndexInformer<GenericKubernetesResource>> informers = new ArrayList<>();
  private Thread syncWatcher;

  public KubernetesSource(KubernetesClient client) {
    this.client = client;
  }

  @Override
  public void start(Listener listener) {
    // Informers call handlers on their own threads; the listener wants one call at a time.
    Listener serial = new SerialListener(listener);
    for (ResourceKind kind : ResourceKind.values()) {
      try {
        SharedIndexInformer<GenericKubernetesResource> informer =
            client
                .genericKubernetesResources(context(kind))
                .inAnyNamespace()
                .inform(handler(kind, serial), 0);
        informers.add(informer);
      } catch (KubernetesClientException e) {
        LOG.warnf("not watching %s (%s): %s", kind.kind(), kind.apiVersion(), e.getMessage());
      }
    }
    syncWatcher =
        Thread.ofPlatform()
            .daemon()
            .name("porin-k8s-sync")
            .start(
                () -> {
                  try {
                    while (!informers.stream().allMatch(SharedIndexInformer::hasSynced)) {
                      Thread.sleep(50);
                    }
                    serial.synced();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                });
  }

  /** The kind's group, version and plural, so that no API discovery is needed. */
  static ResourceDefinitionContext context(ResourceKind kind) {
    String av = kind.apiVersion();
    int slash = av.indexOf('/');
    return new ResourceDefinitionContext.Builder()
        .withGroup(slash < 0 ? "" : av.substring(0, slash))
        .withVersion(slash < 0 ? av : av.substring(slash + 1))
        .withKind(kind.kind())
        .withPlural(kind.plural())
        .withNamespaced(kind.namespaced())
        .build();
  }

  private static ResourceEventHandler<GenericKubernetesResource> handler(
      ResourceKind kind, Listener listener) {
    return new ResourceEventHandler<>() {
      @Override
      public void onAdd(GenericKubernetesResource obj) {
        deliver(kind, obj, listener);
      }

      @Override
      public void onUpdate(GenericKubernetesResource oldObj, GenericKubernetesResource newObj) {
        deliver(kind, newObj, listener);
      }

      @Override
      public void onDelete(GenericKubernetesResource obj, boolean deletedFinalStateUnknown) {
        listener.delete(idOf(kind, obj));
      }
    };
  }

  private static void deliver(ResourceKind kind, GenericKubernetesResource obj, Listener listener) {
    ResourceId id = idOf(kind, obj);
    try {
      // The same parser as the store: generic object -> JSON -> plain tree.
      Object tree = YamlDocuments.read(Serialization.asJson(obj)).getFirst().tree();
      listener.upsert(ResourceParser.parseDocument(tree, id.displayName()));
    } catch (ResourceException e) {
      listener.invalid(id, e.getMessage());
    } catch (RuntimeException e) {
      listener.invalid(id, id.displayName() + ": cannot be read: " + e.getMessage());
    }
  }

  private static ResourceId idOf(ResourceKind kind, GenericKubernetesResource obj) {
    String ns = obj.getMetadata().getNamespace();
    return new ResourceId(kind, ns == null ? "" : ns, obj.getMetadata().getName());
  }

  @Override
  public String name() {
    return "kubernetes";
  }

  @Override
  public void close() {
    if (syncWatcher != null) {
      syncWatcher.interrupt();
    }
    informers.forEach(SharedIndexInformer::close);
  }

  /** Serializes calls from several informer threads. */
  private record SerialListener(Listener delegate) implements Listener {
    @Override
    public synchronized void reset() {
      delegate.reset();
    }

    @Override
    public synchronized void upsert(io.porin.core.resource.Resource resource) {
      delegate.upsert(resource);
    }

    @Override
    public synchronized void delete(ResourceId id) {
      delegate.delete(id);
    }

    @Override
    public synchronized void invalid(ResourceId id, String message) {
      delegate.invalid(id, message);
    }

    @Override
    public synchronized void synced() {
      delegate.synced();
    }
  }
}
