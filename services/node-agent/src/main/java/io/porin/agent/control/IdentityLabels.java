package io.porin.agent.control;

import io.porin.api.identity.v1.WatchEvent;
import io.porin.api.identity.v1.WatchRequest;
import io.porin.core.identity.ReservedIdentity;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * Every identity's labels, cluster-wide, from the identity service's Watch stream (a snapshot, then
 * additions and deletions), so that flows name the labels of peers on other nodes. Published as an
 * immutable snapshot; reconnects with backoff and resumes from the last revision.
 */
public final class IdentityLabels implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(IdentityLabels.class);

  /** Reserved identities, known without asking: core's table, as "reserved:<name>" labels. */
  public static final Map<Integer, List<String>> RESERVED = reserved();

  private static Map<Integer, List<String>> reserved() {
    Map<Integer, List<String>> m = new HashMap<>();
    for (ReservedIdentity r : ReservedIdentity.values()) {
      m.put(r.id().value(), List.of("reserved:" + r.labelName()));
    }
    return Map.copyOf(m);
  }

  private final ControlPlane control;
  private final ScheduledExecutorService executor;
  private final AtomicReference<Map<Integer, List<String>>> labels =
      new AtomicReference<>(RESERVED);
  private volatile long revision;
  private volatile boolean closed;
  private long backoffMillis = 1000;

  public IdentityLabels(ControlPlane control, ScheduledExecutorService executor) {
    this.control = control;
    this.executor = executor;
  }

  /** Connected clusters' identities (from the imported state, checked by {@link MeshWatch}). */
  private volatile Map<Integer, List<String>> remote = Map.of();

  /** The labels of an identity (empty when unknown). */
  public List<String> of(int identity) {
    List<String> l = labels.get().get(identity);
    return l != null ? l : remote.getOrDefault(identity, List.of());
  }

  /** Replaces the identities of connected clusters. */
  public void setRemote(Map<Integer, io.porin.core.labels.LabelSet> identities) {
    Map<Integer, List<String>> m = new HashMap<>();
    identities.forEach((id, l) -> m.put(id, l.strings()));
    remote = Map.copyOf(m);
  }

  public void start() {
    renewals =
        control.onRenewed(
            () ->
                executor.execute(
                    () -> {
                      // a new watch on a new connection with the renewed certificate, from the
                      // revision reached; the old one is cancelled
                      var old = current;
                      connect();
                      if (old != null) {
                        old.cancel("moved to a connection with the renewed certificate", null);
                      }
                    }));
    connect();
  }

  private AutoCloseable renewals = () -> {};
  private volatile io.grpc.stub.ClientCallStreamObserver<WatchRequest> current;
  private volatile long stream;

  private synchronized void connect() {
    if (closed) {
      return;
    }
    long mine = ++stream;
    Map<Integer, List<String>> pending = new HashMap<>();
    control
        .identities()
        .watch(
            WatchRequest.newBuilder().setFromRevision(revision).build(),
            new io.grpc.stub.ClientResponseObserver<WatchRequest, WatchEvent>() {
              private boolean synced = revision > 0;

              @Override
              public void beforeStart(io.grpc.stub.ClientCallStreamObserver<WatchRequest> call) {
                current = call;
              }

              @Override
              public void onNext(WatchEvent e) {
                if (mine != stream) {
                  return; // a stream that was moved
                }
                switch (e.getType()) {
                  case SNAPSHOT ->
                      pending.put(e.getIdentity().getId(), e.getIdentity().getLabelsList());
                  case SYNCED -> {
                    Map<Integer, List<String>> m = new HashMap<>(RESERVED);
                    m.putAll(pending);
                    labels.set(Map.copyOf(m));
                    synced = true;
                    backoffMillis = 1000;
                  }
                  case ADDED -> update(e.getIdentity().getId(), e.getIdentity().getLabelsList());
                  case DELETED -> update(e.getIdentity().getId(), null);
                  default -> {}
                }
                if (e.getRevision() > 0 && synced) {
                  revision = e.getRevision();
                }
              }

              @Override
              public void onError(Throwable t) {
                retry(mine, t.getMessage());
              }

              @Override
              public void onCompleted() {
                retry(mine, "stream ended");
              }
            });
  }

  private void update(int id, List<String> l) {
    Map<Integer, List<String>> m = new HashMap<>(labels.get());
    if (l == null) {
      m.remove(id);
    } else {
      m.put(id, List.copyOf(l));
    }
    labels.set(Map.copyOf(m));
  }

  private synchronized void retry(long which, String why) {
    if (closed || which != stream) {
      return; // closed, or a stream that was moved
    }
    LOG.debugf("identity watch: %s; retrying in %d ms", why, backoffMillis);
    executor.schedule(this::connect, backoffMillis, TimeUnit.MILLISECONDS);
    backoffMillis = Math.min(backoffMillis * 2, 30_000);
  }

  @Override
  public void close() {
    closed = true;
    try {
      renewals.close();
    } catch (Exception ignored) {
      // removing a listener does not fail
    }
  }
}
