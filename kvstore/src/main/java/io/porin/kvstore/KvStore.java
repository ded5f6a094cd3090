package io.porin.kvstore;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchResponse;
import io.grpc.Status;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.jboss.logging.Logger;

/**
 * Typed, blocking access to etcd. Every call waits at most the configured request timeout and fails
 * with {@link KvStoreException} of kind {@code UNAVAILABLE} when etcd does not answer, so that
 * callers never half-apply: each write is a single etcd transaction.
 *
 * <p>Blocking keeps the callers simple; they run on virtual threads, and many callers pipeline over
 * the one gRPC connection.
 */
public final class KvStore implements AutoCloseable {
  /** Who etcd's server certificate must name. */
  public static final PeerIdentity ETCD_IDENTITY = PeerIdentity.service("etcd");

  private static final Logger LOG = Logger.getLogger(KvStore.class);

  private static final java.util.Set<ErrorCode> TRANSIENT_CODES =
      java.util.EnumSet.of(
          ErrorCode.UNAVAILABLE,
          ErrorCode.DEADLINE_EXCEEDED,
          ErrorCode.CANCELLED,
          ErrorCode.ABORTED);

  private final AtomicReference<Client> client = new AtomicReference<>();
  private final java.util.function.Supplier<Client> factory;
  private final List<java.net.InetSocketAddress> addresses;
  private final Duration timeout;
  private final java.util.Set<PrefixWatch> watches =
      java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final AtomicBoolean probing = new AtomicBoolean();
  private final AtomicBoolean closedStore = new AtomicBoolean();

  private KvStore(
      java.util.function.Supplier<Client> factory,
      List<java.net.InetSocketAddress> addresses,
      Duration timeout) {
    this.factory = factory;
    this.addresses = addresses;
    this.timeout = timeout;
    this.client.set(factory.get());
  }

  /**
   * Connects to etcd. The connection is lazy: an unreachable etcd shows on the first call.
   *
   * @param endpoints etcd client URLs such as {@code http://127.0.0.1:2379}
   * @param timeout how long one call may take
   */
  public static KvStore connect(List<String> endpoints, Duration timeout) {
    return connect(endpoints, timeout, null);
  }

  /**
   * Connects to etcd over mutual TLS (endpoints {@code https://...}): this component's certificate
   * is its etcd user (its CN), and etcd must prove it is {@code svc/etcd} of the cluster CA. With
   * {@code tls} null, plaintext ({@code http://...}).
   */
  public static KvStore connect(List<String> endpoints, Duration timeout, ClusterTls tls) {
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("no etcd endpoints given");
    }
    for (String e : endpoints) {
      boolean secure = e.startsWith("https://");
      if (tls != null && !secure) {
        throw new IllegalArgumentException(
            "etcd endpoint "
                + e
                + " is plaintext while TLS is on: use https://, or porin.tls.insecure=true"
                + " for development");
      }
      if (tls == null && secure) {
        throw new IllegalArgumentException(
            "etcd endpoint " + e + " is https:// but no certificate is configured (porin.tls.*)");
      }
    }
    var builder =
        Client.builder()
            .endpoints(endpoints.toArray(String[]::new))
            .connectTimeout(timeout)
            // Retry transient errors with short delays, and stop well before the call's
            // timeout, so that a call reported as failed is not retried behind its back.
            .retryChronoUnit(ChronoUnit.MILLIS)
            .retryDelay(Math.min(100, timeout.toMillis() / 8))
            .retryMaxDelay(Math.min(1000, timeout.toMillis() / 4))
            .retryMaxDuration(timeout.dividedBy(2))
            .keepaliveTime(Duration.ofSeconds(10))
            .keepaliveTimeout(Duration.ofSeconds(5));
    if (tls != null) {
      try {
        builder.sslContext(
            b ->
                b.keyManager(tls.keyManager())
                    .trustManager(
                        tls.serverTrust(
                            ClusterTls.exactly(ETCD_IDENTITY), "etcd (" + ETCD_IDENTITY + ")"))
                    .protocols(ClusterTls.PROTOCOL));
      } catch (javax.net.ssl.SSLException e) {
        throw new IllegalArgumentException("etcd TLS: " + e.getMessage(), e);
      }
    }
    List<java.net.InetSocketAddress> addresses = new ArrayList<>();
    for (String e : endpoints) {
      java.net.URI u = java.net.URI.create(e);
      addresses.add(
          java.net.InetSocketAddress.createUnresolved(
              u.getHost(), u.getPort() > 0 ? u.getPort() : 2379));
    }
    return new KvStore(builder::build, addresses, timeout);
  }

  /** The jetcd client, for this package's administration (access control). */
  Client client() {
    return client.get();
  }

  /**
   * etcd may be down: watch its ports, and once one answers again after it did not, connect afresh
   * at once (gRPC's own reconnect backs off for up to two minutes) and resume every watch on the
   * new connection. So every client of etcd is back within a second of etcd's return.
   */
  private void suspectDown() {
    if (closedStore.get() || !probing.compareAndSet(false, true)) {
      return;
    }
    Thread.ofVirtual()
        .name("kvstore-probe")
        .start(
            () -> {
              try {
                boolean sawDown = false;
                long upSince = -1;
                while (!closedStore.get()) {
                  boolean up = anyPortOpen();
                  if (!up) {
                    sawDown = true;
                    upSince = -1;
                  } else if (sawDown) {
                    reconnect();
                    return;
                  } else if (upSince < 0) {
                    upSince = System.nanoTime();
                  } else if (System.nanoTime() - upSince > TimeUnit.SECONDS.toNanos(3)) {
                    return; // etcd never went away: a slow answer, not an outage
                  }
                  Thread.sleep(200);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } finally {
                probing.set(false);
              }
            });
  }

  private boolean anyPortOpen() {
    for (java.net.InetSocketAddress a : addresses) {
      try (java.net.Socket s = new java.net.Socket()) {
        s.connect(new java.net.InetSocketAddress(a.getHostString(), a.getPort()), 300);
        return true;
      } catch (java.io.IOException closed) {
        // not this one
      }
    }
    return false;
  }

  private void reconnect() {
    Client fresh = factory.get();
    Client old = client.getAndSet(fresh);
    LOG.infof("etcd answers again: connected afresh, resuming %d watches", watches.size());
    for (PrefixWatch w : watches) {
      w.resume();
    }
    Thread.ofVirtual()
        .name("kvstore-close-old")
        .start(
            () -> {
              try {
                Thread.sleep(2000);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              old.close();
            });
  }

  /** The key, if it exists. */
  public Optional<Entry> get(String key) {
    GetResponse r = await(client().getKVClient().get(bytes(key)), "get " + key);
    return r.getKvs().isEmpty() ? Optional.empty() : Optional.of(entry(r.getKvs().getFirst()));
  }

  /** Every key under the prefix, at the current revision. */
  public Snapshot list(String prefix) {
    return list(prefix, 0);
  }

  /** Every key under the prefix, at the given revision (0: the current one). */
  public Snapshot list(String prefix, long revision) {
    GetOption.Builder opt = GetOption.builder().isPrefix(true);
    if (revision > 0) {
      opt.withRevision(revision);
    }
    GetResponse r = await(client().getKVClient().get(bytes(prefix), opt.build()), "list " + prefix);
    List<Entry> entries = new ArrayList<>(r.getKvs().size());
    for (KeyValue kv : r.getKvs()) {
      entries.add(entry(kv));
    }
    return new Snapshot(r.getHeader().getRevision(), entries);
  }

  /** How many keys exist under the prefix. */
  public long count(String prefix) {
    GetOption opt = GetOption.builder().isPrefix(true).withCountOnly(true).build();
    return await(client().getKVClient().get(bytes(prefix), opt), "count " + prefix).getCount();
  }

  /** Writes the key unconditionally. */
  public long put(String key, String value, long lease) {
    PutOption.Builder opt = PutOption.builder();
    if (lease != 0) {
      opt.withLeaseId(lease);
    }
    return await(client().getKVClient().put(bytes(key), bytes(value), opt.build()), "put " + key)
        .getHeader()
        .getRevision();
  }

  /** Deletes the key; true when it existed. */
  public boolean delete(String key) {
    return await(client().getKVClient().delete(bytes(key), DeleteOption.DEFAULT), "delete " + key)
            .getDeleted()
        > 0;
  }

  /** Starts a compare-and-swap transaction. */
  public Transaction transaction() {
    return new Transaction(this);
  }

  /** Creates the key when it does not exist; true when this call created it. */
  public boolean createIfAbsent(String key, String value, long lease) {
    return transaction().ifAbsent(key).put(key, value, lease).commit().succeeded();
  }

  Transaction.Result commit(Transaction t) {
    TxnResponse r =
        await(
            client()
                .getKVClient()
                .txn()
                .If(t.conditions.toArray(io.etcd.jetcd.op.Cmp[]::new))
                .Then(t.writes.toArray(io.etcd.jetcd.op.Op[]::new))
                .Else(t.elseReads.toArray(io.etcd.jetcd.op.Op[]::new))
                .commit(),
            "transaction");
    List<Entry> reads = new ArrayList<>();
    if (!r.isSucceeded()) {
      for (GetResponse g : r.getGetResponses()) {
        reads.add(g.getKvs().isEmpty() ? null : entry(g.getKvs().getFirst()));
      }
    }
    return new Transaction.Result(r.isSucceeded(), r.getHeader().getRevision(), reads);
  }

  /** Grants a lease; keys attached to it vanish when it is not kept alive for its TTL. */
  public long grantLease(Duration ttl) {
    return await(client().getLeaseClient().grant(Math.max(1, ttl.toSeconds())), "grant lease")
        .getID();
  }

  /**
   * Refreshes a lease once.
   *
   * @return the lease's TTL in seconds, or empty when the lease no longer exists
   */
  public Optional<Long> keepAliveOnce(long lease) {
    try {
      LeaseKeepAliveResponse r =
          await(client().getLeaseClient().keepAliveOnce(lease), "keep lease alive");
      return r.getTTL() > 0 ? Optional.of(r.getTTL()) : Optional.empty();
    } catch (KvStoreException e) {
      if (e.kind() == KvStoreException.Kind.LEASE_NOT_FOUND) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** Revokes a lease, deleting every key attached to it. A missing lease is not an error. */
  public void revokeLease(long lease) {
    try {
      await(client().getLeaseClient().revoke(lease), "revoke lease");
    } catch (KvStoreException e) {
      if (e.kind() != KvStoreException.Kind.LEASE_NOT_FOUND) {
        throw e;
      }
    }
  }

  /** Compacts the history up to the revision (tests use it to force a re-list). */
  public void compact(long revision) {
    await(client().getKVClient().compact(revision), "compact");
  }

  /** The store's current revision. */
  public long revision() {
    return await(client().getKVClient().get(bytes(Keys.ROOT + "\0")), "revision")
        .getHeader()
        .getRevision();
  }

  /**
   * Watches every key under the prefix.
   *
   * <p>With {@code fromRevision} 0 the listener first gets a snapshot, then every change after it.
   * With a revision, it gets every change after that revision, without gaps or duplicates; when
   * that history was compacted away it gets a fresh snapshot instead (a clean re-list) and
   * continues from there. Connection errors are retried by the client, resuming after the last
   * delivered revision.
   *
   * @return a handle that stops the watch when closed
   */
  public AutoCloseable watch(String prefix, long fromRevision, WatchListener listener) {
    PrefixWatch w = new PrefixWatch(prefix, listener);
    watches.add(w);
    return w.start(fromRevision);
  }

  @Override
  public void close() {
    closedStore.set(true);
    client.get().close();
  }

  /** A watch that re-lists when its revision was compacted. */
  private final class PrefixWatch implements AutoCloseable {
    private final String prefix;
    private final WatchListener listener;
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicReference<Watch.Watcher> watcher = new AtomicReference<>();
    private long lastDelivered;
    private long backoffMs = 100;

    PrefixWatch(String prefix, WatchListener listener) {
      this.prefix = prefix;
      this.listener = listener;
    }

    PrefixWatch start(long fromRevision) {
      if (fromRevision <= 0) {
        relist();
      } else {
        lastDelivered = fromRevision;
        subscribe(fromRevision + 1);
      }
      return this;
    }

    private void relist() {
      Snapshot s = list(prefix);
      deliver(() -> listener.onReset(s));
      lastDelivered = s.revision();
      subscribe(s.revision() + 1);
    }

    private void subscribe(long revision) {
      if (closed.get()) {
        return;
      }
      WatchOption opt =
          WatchOption.builder().isPrefix(true).withPrevKV(true).withRevision(revision).build();
      Watch.Watcher w =
          client()
              .getWatchClient()
              .watch(bytes(prefix), opt, Watch.listener(this::onResponse, this::onError, () -> {}));
      Watch.Watcher previous = watcher.getAndSet(w);
      if (previous != null) {
        previous.close();
      }
      if (closed.get()) {
        w.close();
      }
    }

    private void onResponse(WatchResponse r) {
      lock.lock();
      try {
        List<WatchEvent> events = new ArrayList<>(r.getEvents().size());
        for (io.etcd.jetcd.watch.WatchEvent e : r.getEvents()) {
          KeyValue kv = e.getKeyValue();
          // The client resumes after reconnects; never deliver a revision twice.
          if (kv.getModRevision() <= lastDelivered) {
            continue;
          }
          if (e.getEventType() == io.etcd.jetcd.watch.WatchEvent.EventType.DELETE) {
            KeyValue prev = e.getPrevKV();
            String value = prev == null ? "" : text(prev.getValue());
            events.add(
                new WatchEvent(
                    WatchEvent.Type.DELETE,
                    new Entry(text(kv.getKey()), value, kv.getModRevision(), 0, 0)));
          } else if (e.getEventType() == io.etcd.jetcd.watch.WatchEvent.EventType.PUT) {
            events.add(new WatchEvent(WatchEvent.Type.PUT, entry(kv)));
          }
        }
        backoffMs = 100;
        if (!events.isEmpty()) {
          deliver(() -> listener.onEvents(events));
          lastDelivered = events.getLast().revision();
        }
      } finally {
        lock.unlock();
      }
    }

    private void onError(Throwable t) {
      if (closed.get()) {
        return;
      }
      if (t instanceof CompactedException) {
        LOG.infof("watch of %s: revision compacted, listing afresh", prefix);
        Thread.ofVirtual()
            .name("kvstore-relist")
            .start(
                () -> {
                  lock.lock();
                  try {
                    relist();
                  } catch (RuntimeException e) {
                    closeWith(e);
                  } finally {
                    lock.unlock();
                  }
                });
        return;
      }
      if (!isPermanent(t)) {
        suspectDown();
        long delay = backoffMs;
        backoffMs = Math.min(backoffMs * 2, 1_000);
        LOG.warnf(
            "watch of %s interrupted (%s); resuming after revision %d in %d ms",
            prefix, t.getMessage(), lastDelivered, delay);
        Thread.ofVirtual()
            .name("kvstore-rewatch")
            .start(
                () -> {
                  try {
                    Thread.sleep(delay);
                  } catch (InterruptedException e) {
                    return;
                  }
                  lock.lock();
                  try {
                    subscribe(lastDelivered + 1);
                  } finally {
                    lock.unlock();
                  }
                });
        return;
      }
      LOG.warnf(t, "watch of %s ended", prefix);
      closeWith(t);
    }

    private void closeWith(Throwable t) {
      if (closed.compareAndSet(false, true)) {
        Watch.Watcher w = watcher.getAndSet(null);
        if (w != null) {
          w.close();
        }
        deliver(() -> listener.onClosed(t));
      }
    }

    private void deliver(Runnable r) {
      try {
        r.run();
      } catch (RuntimeException e) {
        LOG.errorf(e, "watch listener of %s failed; the watch continues", prefix);
      }
    }

    /** Subscribes again after the last delivered revision (on a new connection). */
    void resume() {
      lock.lock();
      try {
        backoffMs = 100;
        subscribe(lastDelivered + 1);
      } finally {
        lock.unlock();
      }
    }

    @Override
    public void close() {
      closed.set(true);
      watches.remove(this);
      Watch.Watcher w = watcher.getAndSet(null);
      if (w != null) {
        w.close();
      }
    }
  }

  private <T> T await(CompletableFuture<T> f, String what) {
    try {
      return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      suspectDown();
      throw new KvStoreException(
          KvStoreException.Kind.UNAVAILABLE,
          "etcd did not answer " + what + " within " + timeout.toMillis() + " ms",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KvStoreException(KvStoreException.Kind.UNAVAILABLE, what + " interrupted", e);
    } catch (ExecutionException e) {
      KvStoreException k = translate(e.getCause(), what);
      if (k.kind() == KvStoreException.Kind.UNAVAILABLE) {
        suspectDown();
      }
      throw k;
    }
  }

  private static KvStoreException translate(Throwable cause, String what) {
    if (cause instanceof CompactedException) {
      return new KvStoreException(KvStoreException.Kind.COMPACTED, what + ": compacted", cause);
    }
    String msg = what + ": " + cause.getMessage();
    if (mentions(cause, "lease not found")) {
      return new KvStoreException(KvStoreException.Kind.LEASE_NOT_FOUND, msg, cause);
    }
    if (isTransient(cause)) {
      return new KvStoreException(
          KvStoreException.Kind.UNAVAILABLE, "etcd unavailable: " + msg, cause);
    }
    return new KvStoreException(KvStoreException.Kind.OTHER, msg, cause);
  }

  /**
   * True for failures a watch must not retry: the request itself is refused (a certificate without
   * the permission, a bad request). Anything else (etcd away, restarting, a connection reset
   * mid-stream) is retried.
   */
  static boolean isPermanent(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof EtcdException e
          && (e.getErrorCode() == ErrorCode.PERMISSION_DENIED
              || e.getErrorCode() == ErrorCode.INVALID_ARGUMENT
              || e.getErrorCode() == ErrorCode.UNAUTHENTICATED)) {
        return true;
      }
      Status.Code code = Status.fromThrowable(c).getCode();
      if (code == Status.Code.PERMISSION_DENIED
          || code == Status.Code.INVALID_ARGUMENT
          || code == Status.Code.UNAUTHENTICATED) {
        return true;
      }
    }
    return false;
  }

  /** True for failures that say etcd could not be reached, not that the request was wrong. */
  static boolean isTransient(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof EtcdException e
          && (TRANSIENT_CODES.contains(e.getErrorCode())
              || mentions(e, "closed")
              || mentions(e, "unexpected EOS")
              || mentions(e, "GOAWAY")
              || mentions(e, "RST_STREAM"))) {
        return true;
      }
      if (c instanceof java.nio.channels.ClosedChannelException
          || c instanceof java.net.ConnectException
          || c instanceof java.util.concurrent.TimeoutException) {
        return true;
      }
      Status.Code code = Status.fromThrowable(c).getCode();
      if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
        return true;
      }
    }
    return false;
  }

  private static boolean mentions(Throwable t, String text) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c.getMessage() != null && c.getMessage().contains(text)) {
        return true;
      }
    }
    return false;
  }

  private static Entry entry(KeyValue kv) {
    return new Entry(
        text(kv.getKey()),
        text(kv.getValue()),
        kv.getModRevision(),
        kv.getVersion(),
        kv.getLease());
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private static String text(ByteSequence b) {
    return b.toString(StandardCharsets.UTF_8);
  }
}
