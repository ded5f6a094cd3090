package io.porin.clustermesh.grpc;

import io.porin.api.mesh.v1.ClusterInfo;
import io.porin.api.mesh.v1.ClusterMesh;
import io.porin.api.mesh.v1.ExportEvent;
import io.porin.api.mesh.v1.ExportRequest;
import io.porin.api.mesh.v1.InfoRequest;
import io.porin.api.mesh.v1.MeshStatus;
import io.porin.api.mesh.v1.PeerStatus;
import io.porin.api.mesh.v1.StatusRequest;
import io.porin.clustermesh.imports.PeerImporter;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import io.quarkus.grpc.GrpcService;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Inject;
import java.util.List;
import java.util.Optional;

/**
 * What this cluster exports to its peers: who it is, and its identities, endpoints, nodes and
 * services as a snapshot followed by changes, with etcd's revisions (a follower resumes after the
 * last revision it applied; a compacted history gives it a snapshot again).
 */
@GrpcService
public class MeshService implements ClusterMesh {
  /** Export streams served at once (one per peer is the norm). */
  static final int MAX_STREAMS = 32;

  @Inject KvStore kv;
  @Inject ClusterInfo self;
  @Inject List<PeerImporter> importers;
  private final java.util.concurrent.atomic.AtomicInteger streams =
      new java.util.concurrent.atomic.AtomicInteger();

  @Override
  public Uni<ClusterInfo> info(InfoRequest request) {
    return Uni.createFrom().item(self);
  }

  @Override
  public Multi<ExportEvent> export(ExportRequest request) {
    if (request.getFromRevision() < 0) {
      return Multi.createFrom()
          .failure(
              io.grpc.Status.INVALID_ARGUMENT
                  .withDescription("from_revision: " + request.getFromRevision() + " is negative")
                  .asRuntimeException());
    }
    if (streams.incrementAndGet() > MAX_STREAMS) {
      streams.decrementAndGet();
      return Multi.createFrom()
          .failure(
              io.grpc.Status.RESOURCE_EXHAUSTED
                  .withDescription(
                      MAX_STREAMS + " export streams are open already; try again later")
                  .asRuntimeException());
    }
    // a revision this store has not reached (another etcd, restored from a backup): a snapshot
    long from = request.getFromRevision() > kv.revision() ? 0 : request.getFromRevision();
    return Multi.createFrom()
        .emitter(
            em -> {
              ExportFilter filter = new ExportFilter();
              // a resumed stream gets no snapshot: the blocks as they are now
              try {
                kv.list(Keys.Ipam.BLOCKS_PREFIX)
                    .entries()
                    .forEach(e -> filter.block(e.key(), e.value()));
              } catch (RuntimeException e) {
                em.fail(
                    io.grpc.Status.UNAVAILABLE
                        .withDescription("this cluster's store: " + e.getMessage())
                        .asRuntimeException());
                streams.decrementAndGet();
                return;
              }
              AutoCloseable watch;
              try {
                watch =
                    kv.watch(
                        Keys.ROOT,
                        from,
                        new WatchListener() {
                          @Override
                          public void onReset(Snapshot snapshot) {
                            em.emit(event(ExportEvent.Type.SNAPSHOT, "", "", snapshot.revision()));
                            // the IPAM blocks first: they say which node holds which address
                            for (Entry e : snapshot.entries()) {
                              if (e.key().startsWith(Keys.Ipam.BLOCKS_PREFIX)) {
                                filter.block(e.key(), e.value());
                              }
                            }
                            for (Entry e : snapshot.entries()) {
                              Optional<String> key = filter.exported(e.key(), e.value());
                              key.ifPresent(
                                  k ->
                                      em.emit(
                                          event(
                                              ExportEvent.Type.PUT,
                                              k,
                                              e.value(),
                                              e.modRevision())));
                            }
                            em.emit(event(ExportEvent.Type.SYNCED, "", "", snapshot.revision()));
                          }

                          @Override
                          public void onEvents(List<WatchEvent> events) {
                            boolean any = false;
                            long last = 0;
                            for (WatchEvent e : events) {
                              last = Math.max(last, e.revision());
                              if (e.entry().key().startsWith(Keys.Ipam.BLOCKS_PREFIX)) {
                                filter.block(
                                    e.entry().key(),
                                    e.type() == WatchEvent.Type.PUT ? e.entry().value() : null);
                              }
                              Optional<String> key = Keys.Mesh.exported(e.entry().key());
                              if (key.isEmpty()) {
                                continue;
                              }
                              any = true;
                              boolean put =
                                  e.type() == WatchEvent.Type.PUT
                                      && filter
                                          .exported(e.entry().key(), e.entry().value())
                                          .isPresent();
                              em.emit(
                                  put
                                      ? event(
                                          ExportEvent.Type.PUT,
                                          key.get(),
                                          e.entry().value(),
                                          e.revision())
                                      : event(
                                          ExportEvent.Type.DELETE, key.get(), "", e.revision()));
                            }
                            if (any) {
                              em.emit(event(ExportEvent.Type.SYNCED, "", "", last));
                            }
                          }

                          @Override
                          public void onClosed(Throwable cause) {
                            em.fail(
                                io.grpc.Status.UNAVAILABLE
                                    .withDescription("this cluster's store: " + cause)
                                    .asRuntimeException());
                          }
                        });
              } catch (RuntimeException e) {
                // the slot is given back: a store that failed does not use up the streams
                streams.decrementAndGet();
                em.fail(
                    io.grpc.Status.UNAVAILABLE
                        .withDescription("this cluster's store: " + e.getMessage())
                        .asRuntimeException());
                return;
              }
              em.onTermination(
                  () -> {
                    streams.decrementAndGet();
                    try {
                      watch.close();
                    } catch (Exception ignored) {
                      // the watch is going away anyway
                    }
                  });
            });
  }

  @Override
  public Uni<MeshStatus> status(StatusRequest request) {
    return Uni.createFrom()
        .item(
            () -> {
              MeshStatus.Builder b =
                  MeshStatus.newBuilder().setSelf(self).setExportStreams(streams.get());
              for (PeerImporter p : importers) {
                b.addPeers(peerStatus(p));
              }
              return b.build();
            })
        .runSubscriptionOn(io.smallrye.mutiny.infrastructure.Infrastructure.getDefaultWorkerPool());
  }

  private PeerStatus peerStatus(PeerImporter p) {
    PeerStatus.Builder b =
        PeerStatus.newBuilder()
            .setName(p.peer())
            .setAddress(p.target())
            .setSynced(p.synced() && p.problem().isEmpty())
            .setRevision(p.revision())
            .setProblem(p.problem().orElse(""))
            .setRefused(p.refused())
            .setSnapshots(p.snapshots());
    String prefix = Keys.Mesh.importedPrefix(p.peer());
    long ids = 0;
    long endpoints = 0;
    long nodes = 0;
    long services = 0;
    for (Entry e : kv.list(prefix).entries()) {
      String rel = e.key().substring(prefix.length());
      if (rel.startsWith("identities/id/")) {
        ids++;
      } else if (rel.startsWith("endpoints/")) {
        endpoints++;
      } else if (rel.startsWith("nodes/")) {
        nodes++;
      } else if (rel.startsWith("services/")) {
        services++;
      }
    }
    kv.get(Keys.Mesh.info(p.peer()))
        .ifPresent(
            e -> {
              try {
                b.setClusterId(
                    io.porin.core.mesh.ClusterInfo.parseRecord(p.peer(), e.value()).id());
              } catch (IllegalArgumentException ignored) {
                // not recorded properly: no ID shown
              }
            });
    return b.setIdentities(ids)
        .setEndpoints(endpoints)
        .setNodes(nodes)
        .setGlobalServices(services)
        .build();
  }

  private static ExportEvent event(ExportEvent.Type type, String key, String value, long rev) {
    return ExportEvent.newBuilder()
        .setType(type)
        .setKey(key)
        .setValue(value)
        .setRevision(rev)
        .build();
  }
}
