package io.porin.agent.control;

import io.porin.kvstore.KvStore;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * What this node tells the cluster through etcd: the node itself and its endpoints (IP to
 * identity), all on one lease, so they vanish when the agent is gone for longer than the TTL.
 * Desired keys are kept here and written by one thread; when etcd is away the writes wait and are
 * retried (the datapath does not depend on them), and when the lease was lost everything is written
 * again under a new one.
 */
public final class Publisher implements Publication, AutoCloseable {
  private static final Logger LOG = Logger.getLogger(Publisher.class);
  static final Duration TTL = Duration.ofSeconds(30);

  private final KvStore kv;
  private final Map<String, String> desired = new HashMap<>();
  private final Map<String, String> written = new HashMap<>();
  private final ScheduledExecutorService executor =
      Executors.newSingleThreadScheduledExecutor(
          r -> Thread.ofPlatform().name("porin-publisher").daemon().unstarted(r));
  private long lease;
  private volatile String problem = "not published yet";
  private boolean closed;

  public Publisher(KvStore kv) {
    this.kv = kv;
  }

  public void start() {
    executor.scheduleWithFixedDelay(this::reconcile, 0, TTL.toSeconds() / 3, TimeUnit.SECONDS);
  }

  /** Publishes (or replaces) a key; written as soon as etcd takes it. */
  @Override
  public void put(String key, String value) {
    executor.execute(
        () -> {
          desired.put(key, value);
          reconcile();
        });
  }

  @Override
  public void remove(String key) {
    executor.execute(
        () -> {
          desired.remove(key);
          reconcile();
        });
  }

  /** Empty when every key is written under a live lease; else why not. */
  public Optional<String> problem() {
    return Optional.ofNullable(problem);
  }

  /** Waits until everything asked for so far was attempted (tests, orderly steps). */
  public void flush() throws InterruptedException {
    try {
      executor.submit(() -> {}).get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("publisher stuck", e);
    }
  }

  private void reconcile() {
    if (closed) {
      return;
    }
    try {
      if (lease == 0 || kv.keepAliveOnce(lease).isEmpty()) {
        lease = kv.grantLease(TTL);
        written.clear();
      }
      for (Map.Entry<String, String> e : desired.entrySet()) {
        if (!e.getValue().equals(written.get(e.getKey()))) {
          kv.put(e.getKey(), e.getValue(), lease);
          written.put(e.getKey(), e.getValue());
        }
      }
      for (String key : Map.copyOf(written).keySet()) {
        if (!desired.containsKey(key)) {
          kv.delete(key);
          written.remove(key);
        }
      }
      problem = null;
    } catch (RuntimeException e) {
      if (problem == null) {
        LOG.warnf("etcd unreachable, will retry: %s", e.getMessage());
      }
      problem = "etcd: " + e.getMessage();
    }
  }

  /** Stops, revoking the lease (the node and its endpoints disappear at once) when asked to. */
  public void close(boolean revoke) {
    try {
      executor
          .submit(
              () -> {
                closed = true;
                if (revoke && lease != 0) {
                  try {
                    kv.revokeLease(lease);
                  } catch (RuntimeException e) {
                    LOG.debugf(e, "revoking the lease");
                  }
                }
              })
          .get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.debugf(e, "stopping the publisher");
    }
    executor.shutdownNow();
  }

  @Override
  public void close() {
    close(false);
  }
}
