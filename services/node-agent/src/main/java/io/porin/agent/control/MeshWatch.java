package io.porin.agent.control;

import io.porin.agent.service.ServiceWatch;
import io.porin.core.mesh.MeshImports;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Connected clusters, as this cluster's clustermesh service imported them into etcd ({@code
 * /porin/v1/mesh/<peer>/...}; the agent never talks to another cluster): their endpoints into the
 * ipcache and their nodes' pod CIDRs into routes ({@link IpcacheSync}), their identities' labels
 * for flows ({@link IdentityLabels}), their global services' backends into the load balancer
 * ({@link ServiceWatch}), their nodes' WireGuard keys into peers. Every record is checked again
 * here ({@link MeshImports}); what is not believed is logged once and counted. While a peer is
 * unreachable its last imported state stays.
 */
public final class MeshWatch implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(MeshWatch.class);

  private final MeshImports imports;
  private final IpcacheSync ipcache;
  private final IdentityLabels labels;
  private final ServiceWatch services;
  private final java.util.function.Consumer<List<MeshImports.RemoteNode>> remoteNodes;
  private AutoCloseable watch = () -> {};

  /**
   * @param remoteNodes told the connected clusters' nodes (WireGuard peers)
   */
  public MeshWatch(
      int localClusterId,
      IpcacheSync ipcache,
      IdentityLabels labels,
      ServiceWatch services,
      java.util.function.Consumer<List<MeshImports.RemoteNode>> remoteNodes) {
    this.imports = new MeshImports(localClusterId);
    this.ipcache = ipcache;
    this.labels = labels;
    this.services = services;
    this.remoteNodes = remoteNodes;
  }

  public MeshWatch start(KvStore kv) {
    watch =
        kv.watch(
            Keys.Mesh.PREFIX,
            0,
            new WatchListener() {
              @Override
              public void onReset(Snapshot snapshot) {
                Map<String, String> all = new HashMap<>();
                for (Entry e : snapshot.entries()) {
                  all.put(relative(e.key()), e.value());
                }
                synchronized (MeshWatch.this) {
                  imports.reset(all);
                  changed();
                }
              }

              @Override
              public void onEvents(List<WatchEvent> events) {
                synchronized (MeshWatch.this) {
                  for (WatchEvent e : events) {
                    if (e.type() == WatchEvent.Type.PUT) {
                      imports.put(relative(e.entry().key()), e.entry().value());
                    } else {
                      imports.delete(relative(e.entry().key()));
                    }
                  }
                  changed();
                }
              }
            });
    return this;
  }

  private static String relative(String key) {
    return key.substring(Keys.Mesh.PREFIX.length());
  }

  /**
   * Publishes soon: changes arriving within {@link #COALESCE_MILLIS} (a peer's snapshot comes as
   * many small batches) are published together, each publication being a pass over everything.
   */
  private void changed() {
    if (!scheduled) {
      scheduled = true;
      publisher.schedule(
          () -> {
            synchronized (MeshWatch.this) {
              scheduled = false;
              try {
                publish();
              } catch (RuntimeException e) {
                LOG.errorf(e, "applying connected clusters' state");
              }
            }
          },
          COALESCE_MILLIS,
          java.util.concurrent.TimeUnit.MILLISECONDS);
    }
  }

  static final long COALESCE_MILLIS = 20;

  private final java.util.concurrent.ScheduledExecutorService publisher =
      java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("porin-mesh-watch").daemon().unstarted(r));
  private boolean scheduled;

  private void publish() {
    var remoteEndpoints = imports.endpoints();
    var nodes = imports.nodes();
    // each reader on its own: one that fails does not hold back the others
    step("the ipcache and routes", () -> ipcache.setRemote(remoteEndpoints, nodes));
    step("WireGuard peers", () -> remoteNodes.accept(nodes));
    step("identities' labels", () -> labels.setRemote(imports.identities()));
    step("global services", () -> services.setRemote(imports.services()));
    for (String r : imports.drainRefusals()) {
      LOG.warnf("not believing %s", r);
    }
  }

  private static void step(String what, Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      LOG.errorf(e, "connected clusters' state into %s", what);
    }
  }

  @Override
  public void close() throws Exception {
    watch.close();
    publisher.shutdownNow();
  }
}
