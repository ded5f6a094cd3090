package io.porin.identity.allocate;

import io.porin.core.identity.AllocationRange;
import io.porin.core.identity.NumericIdentity;
import io.porin.core.identity.ReservedIdentity;
import io.porin.core.labels.InvalidLabelException;
import io.porin.core.labels.Label;
import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import io.porin.kvstore.Entry;
import io.porin.kvstore.KeyValueNames;
import io.porin.kvstore.Keys.Identities;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.Transaction;
import io.porin.kvstore.WatchEvent;
import io.porin.kvstore.WatchListener;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.jboss.logging.Logger;

/**
 * Allocates identities in etcd so that every replica, concurrently and after any restart, gives a
 * label set the same number.
 *
 * <p>Keys ({@link Identities}): {@code id/<n>} holds the canonical labels, {@code value/<labels>}
 * the number, {@code refs/<n>/<owner>} one owner's reference on that owner's lease.
 *
 * <ul>
 *   <li>A new label set: one transaction creates the id key, the value key and the reference, if
 *       neither the id nor the value key exists. Numbers are picked at random from those this
 *       replica does not know to be taken, so replicas rarely race; a lost race is retried.
 *   <li>A known label set: when the owner already holds a reference, a read-only transaction
 *       confirms it (no write). Otherwise one transaction, conditional on the value key still
 *       naming the number, rewrites the value key (bumping its revision) and adds the reference.
 *   <li>Garbage collection ({@link io.porin.identity.gc.IdentityCollector}) deletes an identity
 *       only if the value key's revision is what it saw with no references, so an allocation that
 *       races it always wins.
 * </ul>
 *
 * The local cache of taken numbers follows etcd through a watch; it is a hint for picking and for
 * the fast path, never the source of truth.
 */
public final class IdentityAllocator implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(IdentityAllocator.class);
  private static final int MAX_ATTEMPTS = 32;

  private final KvStore kv;
  private final AllocationRange range;
  private final LabelFilter filter;
  private final Duration ownerTtl;
  private final RandomGenerator random;

  /** Taken numbers to canonical labels, and back: a hint fed by the watch. */
  private final Map<Integer, String> labelsById = new ConcurrentHashMap<>();

  private final Map<String, Integer> idByLabels = new ConcurrentHashMap<>();

  /** Each owner's lease, as last seen. */
  private final Map<String, Long> ownerLeases = new ConcurrentHashMap<>();

  private final CountDownLatch synced = new CountDownLatch(1);
  private volatile AutoCloseable watch;
  private volatile boolean closed;

  public IdentityAllocator(
      KvStore kv,
      AllocationRange range,
      LabelFilter filter,
      Duration ownerTtl,
      RandomGenerator random) {
    this.kv = kv;
    this.range = range;
    this.filter = filter;
    this.ownerTtl = ownerTtl;
    this.random = random;
  }

  /** Starts following etcd; retries in the background until etcd answers. */
  public IdentityAllocator start() {
    Thread.ofVirtual().name("identity-cache").start(this::followEtcd);
    return this;
  }

  /** True once the cache has its first snapshot from etcd. */
  public boolean isSynced() {
    return synced.getCount() == 0;
  }

  /** Waits for the first snapshot; false on timeout. */
  public boolean awaitSynced(Duration timeout) throws InterruptedException {
    return synced.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The range this allocator allocates from. */
  public AllocationRange range() {
    return range;
  }

  /** How many allocated identities this replica knows of. */
  public int knownCount() {
    return labelsById.size();
  }

  /**
   * The identity of the label set, allocated if needed, with a reference held by the owner.
   *
   * @throws InvalidRequestException for an empty or reserved label set or a bad owner
   * @throws RangeExhaustedException when the range is full
   * @throws KvStoreException of kind UNAVAILABLE when etcd does not answer (nothing written)
   */
  public Allocation allocate(LabelSet requested, String owner) {
    checkOwner(owner);
    LabelFilter.Result split = split(requested);
    LabelSet labels = split.identityLabels();
    requireSynced();
    String canonical = labels.canonical();
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      Integer known = idByLabels.get(canonical);
      if (known == null) {
        Optional<Entry> value = kv.get(Identities.value(canonical));
        if (value.isPresent()) {
          known = Integer.valueOf(value.get().value());
          remember(known, canonical);
        }
      }
      Optional<Allocation> done =
          known == null
              ? tryCreate(labels, owner, split.informationLabels())
              : tryReference(known, labels, owner, split.informationLabels());
      if (done.isPresent()) {
        return done.get();
      }
    }
    throw new KvStoreException(
        KvStoreException.Kind.UNAVAILABLE,
        "allocation of " + canonical + " lost " + MAX_ATTEMPTS + " races in a row; retry",
        null);
  }

  /** Adds the owner's reference to a known number, if the number still names these labels. */
  private Optional<Allocation> tryReference(
      int id, LabelSet labels, String owner, LabelSet ignored) {
    String valueKey = Identities.value(labels.canonical());
    String ref = Identities.ref(id, owner);
    Transaction.Result held =
        kv.transaction().ifValue(valueKey, Integer.toString(id)).ifPresent(ref).commit();
    if (held.succeeded()) {
      return Optional.of(new Allocation(record(id, labels, 0), false, ignored));
    }
    long lease = ownerLease(owner);
    try {
      Transaction.Result r =
          kv.transaction()
              .ifValue(valueKey, Integer.toString(id))
              .put(valueKey, Integer.toString(id))
              .put(ref, owner, lease)
              .commit();
      if (r.succeeded()) {
        return Optional.of(new Allocation(record(id, labels, 0), false, ignored));
      }
    } catch (KvStoreException e) {
      if (e.kind() != KvStoreException.Kind.LEASE_NOT_FOUND) {
        throw e;
      }
      ownerLeases.remove(owner, lease);
      return Optional.empty();
    }
    // The number was collected or never named these labels: forget it and look again.
    forget(id, labels.canonical());
    return Optional.empty();
  }

  /** Creates the identity with a number nobody is known to hold. */
  private Optional<Allocation> tryCreate(LabelSet labels, String owner, LabelSet ignored) {
    String canonical = labels.canonical();
    NumericIdentity id =
        range
            .pickFree(labelsById::containsKey, random)
            .orElseThrow(() -> new RangeExhaustedException(range, labelsById.size()));
    String idKey = Identities.id(id.value());
    String valueKey = Identities.value(canonical);
    long lease = ownerLease(owner);
    Transaction.Result r;
    try {
      r =
          kv.transaction()
              .ifAbsent(idKey)
              .ifAbsent(valueKey)
              .put(idKey, canonical)
              .put(valueKey, id.toString())
              .put(Identities.ref(id.value(), owner), owner, lease)
              .orElseGet(valueKey)
              .orElseGet(idKey)
              .commit();
    } catch (KvStoreException e) {
      if (e.kind() != KvStoreException.Kind.LEASE_NOT_FOUND) {
        throw e;
      }
      ownerLeases.remove(owner, lease);
      return Optional.empty();
    }
    if (r.succeeded()) {
      remember(id.value(), canonical);
      return Optional.of(new Allocation(record(id.value(), labels, r.revision()), true, ignored));
    }
    Entry value = r.reads().get(0);
    Entry taken = r.reads().get(1);
    if (value != null) {
      remember(Integer.parseInt(value.value()), canonical);
    }
    if (taken != null) {
      labelsById.putIfAbsent(id.value(), taken.value());
    }
    return Optional.empty();
  }

  /**
   * Drops the owner's reference.
   *
   * @return true when the owner held one
   */
  public boolean release(NumericIdentity id, String owner) {
    checkOwner(owner);
    return kv.delete(Identities.ref(id.value(), owner));
  }

  /**
   * Keeps the owner's references alive.
   *
   * @return the time left, or empty when the owner is unknown or its lease expired
   */
  public Optional<Duration> keepAlive(String owner) {
    checkOwner(owner);
    Optional<Entry> registration = kv.get(Identities.owner(owner));
    if (registration.isEmpty()) {
      ownerLeases.remove(owner);
      return Optional.empty();
    }
    long lease = Long.parseLong(registration.get().value());
    Optional<Long> ttl = kv.keepAliveOnce(lease);
    if (ttl.isEmpty()) {
      ownerLeases.remove(owner, lease);
    }
    return ttl.map(Duration::ofSeconds);
  }

  /** One identity, reserved ones included. */
  public Optional<IdentityRecord> get(NumericIdentity id) {
    Optional<ReservedIdentity> reserved = id.reserved();
    if (reserved.isPresent()) {
      return Optional.of(new IdentityRecord(id, reserved.get().labels(), 0, 0));
    }
    return kv.get(Identities.id(id.value()))
        .map(
            e ->
                new IdentityRecord(
                    id,
                    LabelSet.parseCanonical(e.value()),
                    e.modRevision(),
                    (int) kv.count(Identities.refs(id.value()))));
  }

  /** The identity of a label set, after the label filter; nothing is allocated. */
  public Optional<IdentityRecord> lookup(LabelSet requested) {
    LabelSet labels = split(requested).identityLabels();
    return kv.get(Identities.value(labels.canonical()))
        .flatMap(e -> get(new NumericIdentity(Integer.parseInt(e.value()))));
  }

  /** Every identity: reserved first, then allocated by number; read at one revision. */
  public Listing list() {
    Snapshot ids = kv.list(Identities.ID_PREFIX);
    Snapshot refs = kv.list(Identities.REFS_PREFIX, ids.revision());
    Map<Long, Integer> refCounts = new HashMap<>();
    for (Entry r : refs.entries()) {
      refCounts.merge(Identities.idOfRef(r.key()), 1, Integer::sum);
    }
    List<IdentityRecord> out = new ArrayList<>();
    for (ReservedIdentity r : ReservedIdentity.values()) {
      out.add(new IdentityRecord(r.id(), r.labels(), 0, 0));
    }
    List<IdentityRecord> allocated = new ArrayList<>();
    for (Entry e : ids.entries()) {
      long id = Identities.idOf(e.key());
      allocated.add(
          new IdentityRecord(
              new NumericIdentity((int) id),
              LabelSet.parseCanonical(e.value()),
              e.modRevision(),
              refCounts.getOrDefault(id, 0)));
    }
    allocated.sort(Comparator.comparing(IdentityRecord::id));
    out.addAll(allocated);
    return new Listing(out, ids.revision());
  }

  /**
   * Every identity at one revision.
   *
   * @param identities reserved first, then allocated by number
   * @param revision the etcd revision of the read
   */
  public record Listing(List<IdentityRecord> identities, long revision) {}

  /**
   * Splits the request into identity and information labels.
   *
   * @throws InvalidRequestException naming the field when the set cannot form an identity
   */
  public LabelFilter.Result split(LabelSet requested) {
    if (requested.isEmpty()) {
      throw new InvalidRequestException("labels", "the label set is empty");
    }
    for (Label l : requested) {
      if (l.isReserved()) {
        throw new InvalidRequestException(
            "labels", "label \"" + l + "\": reserved labels are assigned by Porin, not requested");
      }
    }
    LabelFilter.Result split = filter.filter(requested);
    if (split.identityLabels().isEmpty()) {
      throw new InvalidRequestException(
          "labels",
          "none of " + requested.strings() + " forms identity (the label filter ignores them all)");
    }
    return split;
  }

  /**
   * Checks an owner name: 1..253 characters, none of them '/' or white space.
   *
   * @throws InvalidRequestException naming the value
   */
  public static void checkOwner(String owner) {
    if (owner == null || owner.isEmpty()) {
      throw new InvalidRequestException("owner", "the owner is empty");
    }
    if (owner.length() > 253 || !KeyValueNames.isSafeSegment(owner)) {
      throw new InvalidRequestException(
          "owner", "\"" + owner + "\" must be 1 to 253 characters without '/' or white space");
    }
  }

  /**
   * Parses labels as a client wrote them.
   *
   * @throws InvalidRequestException naming the index and the label
   */
  public static LabelSet parseLabels(List<String> labels) {
    List<Label> parsed = new ArrayList<>(labels.size());
    for (int i = 0; i < labels.size(); i++) {
      try {
        parsed.add(Label.parse(labels.get(i)));
      } catch (InvalidLabelException e) {
        throw new InvalidRequestException("labels[" + i + "]", e.getMessage());
      }
    }
    try {
      return LabelSet.of(parsed);
    } catch (InvalidLabelException e) {
      throw new InvalidRequestException("labels", e.getMessage());
    }
  }

  private long ownerLease(String owner) {
    Long cached = ownerLeases.get(owner);
    if (cached != null) {
      return cached;
    }
    String key = Identities.owner(owner);
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      Optional<Entry> existing = kv.get(key);
      if (existing.isPresent()) {
        long lease = Long.parseLong(existing.get().value());
        ownerLeases.put(owner, lease);
        return lease;
      }
      long lease = kv.grantLease(ownerTtl);
      if (kv.createIfAbsent(key, Long.toString(lease), lease)) {
        ownerLeases.put(owner, lease);
        return lease;
      }
      kv.revokeLease(lease); // another replica registered the owner first
    }
    throw new KvStoreException(
        KvStoreException.Kind.UNAVAILABLE, "could not register owner " + owner, null);
  }

  private void requireSynced() {
    if (!isSynced()) {
      throw new KvStoreException(
          KvStoreException.Kind.UNAVAILABLE, "identity cache not yet synced with etcd", null);
    }
  }

  private void remember(int id, String canonical) {
    labelsById.put(id, canonical);
    idByLabels.put(canonical, id);
  }

  private void forget(int id, String canonical) {
    labelsById.remove(id, canonical);
    idByLabels.remove(canonical, id);
  }

  private IdentityRecord record(int id, LabelSet labels, long revision) {
    return new IdentityRecord(new NumericIdentity(id), labels, revision, -1);
  }

  /** Keeps the cache following etcd; re-subscribes with backoff when the watch ends. */
  private void followEtcd() {
    long backoffMs = 100;
    while (!closed) {
      CountDownLatch ended = new CountDownLatch(1);
      try {
        watch = kv.watch(Identities.ID_PREFIX, 0, new CacheListener(ended));
        backoffMs = 100;
        ended.await();
      } catch (KvStoreException e) {
        LOG.warnf("identity cache: %s; retrying in %d ms", e.getMessage(), backoffMs);
      } catch (InterruptedException e) {
        return;
      }
      try {
        Thread.sleep(backoffMs);
      } catch (InterruptedException e) {
        return;
      }
      backoffMs = Math.min(backoffMs * 2, 5_000);
    }
  }

  private final class CacheListener implements WatchListener {
    private final CountDownLatch ended;

    CacheListener(CountDownLatch ended) {
      this.ended = ended;
    }

    @Override
    public void onReset(Snapshot snapshot) {
      Map<Integer, String> fresh = new HashMap<>();
      for (Entry e : snapshot.entries()) {
        fresh.put((int) Identities.idOf(e.key()), e.value());
      }
      labelsById.keySet().retainAll(fresh.keySet());
      idByLabels.values().retainAll(fresh.keySet());
      fresh.forEach(IdentityAllocator.this::remember);
      synced.countDown();
    }

    @Override
    public void onEvents(List<WatchEvent> events) {
      for (WatchEvent e : events) {
        int id = (int) Identities.idOf(e.entry().key());
        if (e.type() == WatchEvent.Type.PUT) {
          remember(id, e.entry().value());
        } else {
          forget(id, e.entry().value());
        }
      }
    }

    @Override
    public void onClosed(Throwable cause) {
      ended.countDown();
    }
  }

  @Override
  public void close() throws Exception {
    closed = true;
    AutoCloseable w = watch;
    if (w != null) {
      w.close();
    }
  }
}
