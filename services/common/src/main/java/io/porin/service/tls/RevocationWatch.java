package io.porin.service.tls;

import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import io.porin.tls.PeerIdentity;
import io.porin.tls.Revocations;
import io.quarkus.runtime.StartupEvent;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.jboss.logging.Logger;

/**
 * The cluster's deny list, followed in etcd ({@code /porin/v1/ca/revoked/<kind>/<name>}): the
 * handshakes and calls of this service consult it, and a revocation ends the revoked holder's calls
 * in progress. Other parts of a component (the agent's ipcache) can follow it too.
 */
@Singleton
public class RevocationWatch implements Revocations {
  private static final Logger LOG = Logger.getLogger(RevocationWatch.class);

  private final AtomicReference<Map<PeerIdentity, Instant>> revoked =
      new AtomicReference<>(Map.of());
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private final Map<String, PeerIdentity> byKey = new HashMap<>();
  private AutoCloseable watch;
  private volatile boolean ready;

  public RevocationWatch(ServiceTls tls, LiveCalls live) {
    tls.cluster().ifPresent(c -> c.useRevocations(this));
    listeners.add(() -> live.endRevoked(this));
  }

  /** Services with an etcd client bean follow the list from start-up. */
  void onStart(@Observes StartupEvent ev, Instance<KvStore> kv) {
    if (kv.isResolvable()) {
      follow(kv.get());
    }
  }

  /** Follows the deny list in {@code kv} (once; later calls do nothing). */
  public synchronized void follow(KvStore kv) {
    if (watch == null) {
      watch = kv.watch(Keys.Revocations.PREFIX, 0, new Listener());
    }
  }

  @Override
  public Optional<Instant> revokedAt(PeerIdentity id) {
    return Optional.ofNullable(revoked.get().get(id));
  }

  /**
   * Applies a revocation made by this service at once (the watch brings it again, the same): its
   * holder's calls here end now, not when etcd's event arrives.
   */
  public synchronized void apply(PeerIdentity id, Instant at) {
    Map<PeerIdentity, Instant> next = new HashMap<>(revoked.get());
    next.put(id, at);
    revoked.set(Map.copyOf(next));
    for (Runnable r : listeners) {
      try {
        r.run();
      } catch (RuntimeException ex) {
        LOG.warnf(ex, "applying the deny list");
      }
    }
  }

  /** True once the deny list was read (or when this service follows none: then it says so). */
  public boolean ready() {
    return ready;
  }

  /**
   * This service follows no deny list (a relay given fixed agents, without etcd): calls are served,
   * and the log says that revocations are not seen here.
   */
  public void notFollowing() {
    LOG.warn("no etcd: this service does not see the cluster's deny list (revocations)");
    ready = true;
  }

  /** Every revocation in force. */
  public Map<PeerIdentity, Instant> all() {
    return revoked.get();
  }

  /** Runs {@code r} after each change of the list. */
  public void onChange(Runnable r) {
    listeners.add(r);
  }

  /** A revocation's etcd value: {@code at=<instant>} and {@code by=<who>} lines. */
  public static String encode(Instant at, String by) {
    return "at=" + at + "\nby=" + by + "\n";
  }

  /** When a revocation value says the identity was revoked. */
  public static Instant decodeAt(String value) {
    for (String line : value.split("\n")) {
      if (line.startsWith("at=")) {
        return Instant.parse(line.substring(3).strip());
      }
    }
    throw new IllegalArgumentException("no at= line");
  }

  private synchronized void apply(List<WatchEvent> events, boolean reset) {
    Map<PeerIdentity, Instant> next = reset ? new HashMap<>() : new HashMap<>(revoked.get());
    if (reset) {
      byKey.clear();
    }
    for (WatchEvent e : events) {
      String key = e.entry().key();
      if (e.type() == WatchEvent.Type.DELETE) {
        PeerIdentity gone = byKey.remove(key);
        if (gone != null) {
          next.remove(gone);
        }
        continue;
      }
      String rest = key.substring(Keys.Revocations.PREFIX.length());
      Optional<PeerIdentity> id = PeerIdentity.ofUri(PeerIdentity.TRUST_DOMAIN_PREFIX + rest);
      try {
        if (id.isEmpty()) {
          throw new IllegalArgumentException("not <kind>/<name>");
        }
        next.put(id.get(), decodeAt(e.entry().value()));
        byKey.put(key, id.get());
      } catch (RuntimeException ex) {
        LOG.warnf("ignoring revocation %s: %s", key, ex.getMessage());
      }
    }
    revoked.set(Map.copyOf(next));
    ready = true;
    for (Runnable r : listeners) {
      try {
        r.run();
      } catch (RuntimeException ex) {
        LOG.warnf(ex, "applying the deny list");
      }
    }
  }

  private final class Listener implements WatchListener {
    @Override
    public void onReset(Snapshot snapshot) {
      apply(
          snapshot.entries().stream()
              .map((Entry en) -> new WatchEvent(WatchEvent.Type.PUT, en))
              .toList(),
          true);
    }

    @Override
    public void onEvents(List<WatchEvent> events) {
      apply(events, false);
    }
  }

  @PreDestroy
  synchronized void close() {
    if (watch == null) {
      return;
    }
    try {
      watch.close();
    } catch (Exception e) {
      LOG.debugf(e, "closing the deny list's watch");
    }
  }
}
