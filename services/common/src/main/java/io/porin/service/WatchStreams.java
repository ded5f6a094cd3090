package io.porin.service;

import io.grpc.Status;
import io.porin.kvstore.Entry;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import io.smallrye.mutiny.Multi;
import java.util.List;
import java.util.function.LongFunction;

/**
 * A gRPC Watch stream over an etcd prefix, as every Porin service offers one: a snapshot (one
 * message per key, then a "synced" message), then every change, each with its revision; with a
 * revision to resume from, only the changes after it (a fresh snapshot when it was compacted).
 */
public final class WatchStreams {
  private WatchStreams() {}

  /** What happened to a key, as a stream tells it. */
  public enum Kind {
    /** The key is part of the snapshot. */
    SNAPSHOT,
    /** The key was written after the snapshot. */
    PUT,
    /** The key was deleted after the snapshot (the entry holds its last value). */
    DELETE
  }

  /** How one service turns a key into its own message. */
  @FunctionalInterface
  public interface KeyMessage<T> {
    T of(Kind kind, Entry entry, long revision);
  }

  /** The stream; {@code fromRevision} below 0 fails with INVALID_ARGUMENT naming the field. */
  public static <T> Multi<T> of(
      KvStore kv, String prefix, long fromRevision, KeyMessage<T> message, LongFunction<T> synced) {
    if (fromRevision < 0) {
      return Multi.createFrom()
          .failure(
              Status.INVALID_ARGUMENT
                  .withDescription("from_revision: " + fromRevision + " is negative")
                  .asRuntimeException());
    }
    return Multi.createFrom()
        .<T>emitter(
            emitter -> {
              WatchListener listener =
                  new WatchListener() {
                    @Override
                    public void onReset(Snapshot snapshot) {
                      snapshot
                          .entries()
                          .forEach(
                              e -> emitter.emit(message.of(Kind.SNAPSHOT, e, e.modRevision())));
                      emitter.emit(synced.apply(snapshot.revision()));
                    }

                    @Override
                    public void onEvents(List<WatchEvent> events) {
                      events.forEach(
                          e ->
                              emitter.emit(
                                  message.of(
                                      e.type() == WatchEvent.Type.PUT ? Kind.PUT : Kind.DELETE,
                                      e.entry(),
                                      e.revision())));
                    }

                    @Override
                    public void onClosed(Throwable cause) {
                      emitter.fail(GrpcCalls.toStatus(cause));
                    }
                  };
              try {
                AutoCloseable w = kv.watch(prefix, fromRevision, listener);
                emitter.onTermination(
                    () -> {
                      try {
                        w.close();
                      } catch (Exception ignored) {
                        // closing a watch does not fail in a way the caller can act on
                      }
                    });
              } catch (RuntimeException e) {
                emitter.fail(GrpcCalls.toStatus(e));
              }
            })
        .runSubscriptionOn(r -> Thread.ofVirtual().start(r));
  }
}
