package io.porin.policy.source;

import io.porin.core.resource.ResourceException;
import io.porin.core.resource.ResourceId;
import io.porin.core.resource.ResourceKind;
import io.porin.core.resource.ResourceParser;
import io.porin.core.resource.YamlDocuments;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/** Resources stored in etcd under {@code /porin/v1/resources/} by {@code porin apply}. */
public final class StandaloneSource implements ResourceSource {
  private static final Logger LOG = Logger.getLogger(StandaloneSource.class);

  private final KvStore kv;
  private AutoCloseable watch;

  public StandaloneSource(KvStore kv) {
    this.kv = kv;
  }

  @Override
  public void start(Listener listener) {
    watch =
        kv.watch(
            Keys.Resources.PREFIX,
            0,
            new WatchListener() {
              @Override
              public void onReset(Snapshot snapshot) {
                listener.reset();
                for (Entry e : snapshot.entries()) {
                  put(listener, e);
                }
                listener.synced();
              }

              @Override
              public void onEvents(List<WatchEvent> events) {
                for (WatchEvent ev : events) {
                  if (ev.type() == WatchEvent.Type.PUT) {
                    put(listener, ev.entry());
                  } else {
                    idOf(ev.entry().key()).ifPresent(listener::delete);
                  }
                }
              }
            });
  }

  private static void put(Listener listener, Entry e) {
    Optional<ResourceId> id = idOf(e.key());
    if (id.isEmpty()) {
      LOG.warnf("ignoring %s: not a resource key", e.key());
      return;
    }
    try {
      List<YamlDocuments.Document> docs = YamlDocuments.read(e.value());
      if (docs.size() != 1 || docs.getFirst().hasSyntaxError()) {
        listener.invalid(id.get(), id.get().displayName() + ": the stored document is not JSON");
        return;
      }
      listener.upsert(ResourceParser.parseDocument(docs.getFirst().tree(), id.get().displayName()));
    } catch (ResourceException ex) {
      listener.invalid(id.get(), ex.getMessage());
    }
  }

  /** The resource a key names: {@code /porin/v1/resources/<plural>/<namespace or _>/<name>}. */
  public static Optional<ResourceId> idOf(String key) {
    if (!key.startsWith(Keys.Resources.PREFIX)) {
      return Optional.empty();
    }
    String[] parts = key.substring(Keys.Resources.PREFIX.length()).split("/", -1);
    if (parts.length != 3) {
      return Optional.empty();
    }
    return ResourceKind.parse(parts[0])
        .filter(k -> k.plural().equals(parts[0]))
        .map(
            k ->
                new ResourceId(
                    k, parts[1].equals(Keys.Resources.CLUSTER_SCOPE) ? "" : parts[1], parts[2]));
  }

  @Override
  public String name() {
    return "standalone";
  }

  @Override
  public void close() {
    try {
      if (watch != null) {
        watch.close();
      }
    } catch (Exception e) {
      LOG.debug("closing the resource watch", e);
    }
  }
}
