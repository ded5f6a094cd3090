package io.porin.clustermesh.grpc;

import io.porin.api.mesh.v1.ClusterInfo;
import io.porin.api.mesh.v1.ClusterMesh;
import io.porin.api.mesh.v1.ExportEvent;
import io.porin.api.mesh.v1.ExportRequest;
import io.porin.api.mesh.v1.InfoRequest;
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
              AutoCloseable watch =
                  kv.watch(
                      Keys.ROOT,
                      from,
                      new WatchListener() {
                        @Override
                        public void onReset(Snapshot snapshot) {
                          em.emit(event(ExportEvent.Type.SNAPSHOT, "", "", snapshot.revision()));
                          for (Entry e : snapshot.entries()) {
                            Optional<String> key = Keys.Mesh.exported(e.key());
                            key.ifPresent(
                                k ->
                                    em.emit(
                                        event(
                                            ExportEvent.Type.PUT, k, e.value(), e.modRevision())));
                          }
                          em.emit(event(ExportEvent.Type.SYNCED, "", "", snapshot.revision()));
                        }

                        @Override
                        public void onEvents(List<WatchEvent> events) {
                          boolean any = false;
                          long last = 0;
                          for (WatchEvent e : events) {
                            last = Math.max(last, e.revision());
                            Optional<String> key = Keys.Mesh.exported(e.entry().key());
                            if (key.isEmpty()) {
                              continue;
                            }
                            any = true;
                            em.emit(
                                e.type() == WatchEvent.Type.PUT
                                    ? event(
                                        ExportEvent.Type.PUT,
                                        key.get(),
                                        e.entry().value(),
                                        e.revision())
                                    : event(ExportEvent.Type.DELETE, key.get(), "", e.revision()));
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

  private static ExportEvent event(ExportEvent.Type type, String key, String value, long rev) {
    return ExportEvent.newBuilder()
        .setType(type)
        .setKey(key)
        .setValue(value)
        .setRevision(rev)
        .build();
  }
}
