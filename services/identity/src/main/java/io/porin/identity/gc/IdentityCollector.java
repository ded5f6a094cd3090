package io.porin.identity.gc;

import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys.Identities;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import io.porin.kvstore.Snapshot;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Deletes identities that no owner has referenced for the grace period.
 *
 * <p>Each pass reads identities, references and the reverse index at one etcd revision. An identity
 * without references is remembered with the time it was first seen so; once the grace period has
 * passed it is deleted in a transaction conditional on its value key's revision being the one read.
 * Allocation rewrites that key in the same transaction that adds a reference, so an allocation
 * between the read and the delete makes the delete fail: no reference ever points to a deleted
 * identity. Passes are idempotent; every replica may run them.
 *
 * <p>References live on their owners' leases, so a dead owner's references expire by themselves and
 * its identities become collectable without anyone releasing them.
 */
public final class IdentityCollector implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(IdentityCollector.class);

  private final KvStore kv;
  private final Duration grace;
  private final Clock clock;
  private final Map<Long, Instant> unreferencedSince = new ConcurrentHashMap<>();
  private final AtomicLong deleted = new AtomicLong();
  private volatile Thread loop;
  private volatile AutoCloseable alongside;

  public IdentityCollector(KvStore kv, Duration grace, Clock clock) {
    this.kv = kv;
    this.grace = grace;
    this.clock = clock;
  }

  /** One pass. Returns how many identities it deleted. */
  public int collectOnce() {
    Snapshot ids = kv.list(Identities.ID_PREFIX);
    Snapshot refs = kv.list(Identities.REFS_PREFIX, ids.revision());
    Snapshot values = kv.list(Identities.VALUE_PREFIX, ids.revision());
    Set<Long> referenced = new HashSet<>();
    for (Entry r : refs.entries()) {
      referenced.add(Identities.idOfRef(r.key()));
    }
    Map<String, Entry> valueByKey = new HashMap<>();
    for (Entry v : values.entries()) {
      valueByKey.put(v.key(), v);
    }
    Instant now = clock.instant();
    Set<Long> present = new HashSet<>();
    int count = 0;
    for (Entry idEntry : ids.entries()) {
      long id = Identities.idOf(idEntry.key());
      present.add(id);
      if (referenced.contains(id)) {
        unreferencedSince.remove(id);
        continue;
      }
      Instant since = unreferencedSince.putIfAbsent(id, now);
      if (since == null || Duration.between(since, now).compareTo(grace) < 0) {
        continue;
      }
      if (delete(id, idEntry, valueByKey.get(Identities.value(idEntry.value())))) {
        count++;
      }
      unreferencedSince.remove(id);
    }
    unreferencedSince.keySet().retainAll(present);
    deleted.addAndGet(count);
    return count;
  }

  private boolean delete(long id, Entry idEntry, Entry valueEntry) {
    var txn = kv.transaction().ifModRevision(idEntry.key(), idEntry.modRevision());
    if (valueEntry != null && valueEntry.value().equals(Long.toString(id))) {
      txn.ifModRevision(valueEntry.key(), valueEntry.modRevision()).delete(valueEntry.key());
    }
    boolean done = txn.delete(idEntry.key()).deletePrefix(Identities.refs(id)).commit().succeeded();
    if (done) {
      LOG.infof("deleted identity %d (%s): unreferenced for %s", id, idEntry.value(), grace);
    }
    return done;
  }

  /** Identities this collector has deleted since it started. */
  public long deletedTotal() {
    return deleted.get();
  }

  /** Runs a pass every {@code interval} on a virtual thread until {@link #close()}. */
  public IdentityCollector start(Duration interval) {
    return start(interval, () -> true);
  }

  /**
   * As {@link #start(Duration)}, passing only while {@code leading} says this replica is the
   * collector (a Lease). A replica that is not forgets what it saw, so a new collector waits the
   * whole grace period again before it deletes anything.
   */
  public IdentityCollector start(Duration interval, java.util.function.BooleanSupplier leading) {
    loop =
        Thread.ofVirtual()
            .name("identity-gc")
            .start(
                () -> {
                  while (!Thread.currentThread().isInterrupted()) {
                    try {
                      Thread.sleep(interval);
                      if (leading.getAsBoolean()) {
                        collectOnce();
                      } else {
                        unreferencedSince.clear();
                      }
                    } catch (InterruptedException e) {
                      return;
                    } catch (KvStoreException e) {
                      LOG.warnf("identity GC pass skipped: %s", e.getMessage());
                    } catch (RuntimeException e) {
                      LOG.errorf(e, "identity GC pass failed");
                    }
                  }
                });
    return this;
  }

  /** Closes {@code c} (the Lease) when this collector is closed. */
  public void onClose(AutoCloseable c) {
    alongside = c;
  }

  /** Stops the passes (and gives up the Lease). */
  @Override
  public void close() {
    Thread t = loop;
    if (t != null) {
      t.interrupt();
    }
    AutoCloseable a = alongside;
    if (a != null) {
      try {
        a.close();
      } catch (Exception e) {
        LOG.debugf("closing the collector's Lease: %s", e.getMessage());
      }
    }
  }
}
