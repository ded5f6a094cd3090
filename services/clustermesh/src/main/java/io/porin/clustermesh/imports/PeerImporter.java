package io.porin.clustermesh.imports;

import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.porin.api.mesh.v1.ClusterMeshGrpc;
import io.porin.api.mesh.v1.ExportEvent;
import io.porin.api.mesh.v1.ExportRequest;
import io.porin.api.mesh.v1.InfoRequest;
import io.porin.core.ipam.Cidr;
import io.porin.core.mesh.ClusterInfo;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.service.tls.ClusterChannels;
import io.porin.tls.ClusterTls;
import io.porin.tls.PeerIdentity;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Imports one peer cluster: asks who it is (refusing a peer whose name is not the one configured,
 * whose name, ID or pod CIDRs clash with this cluster's, whose ID changed since it was first
 * imported, or whose ID another peer holds), then follows its Export stream and mirrors it into
 * this cluster's store under {@code mesh/<peer>/state/}, recording the peer's revision reached, so
 * that a reconnect resumes where it stopped and a snapshot replaces what was imported (keys the
 * peer no longer has are removed). Records the peer may not send ({@link ImportRules}) are refused
 * and counted. One event is requested at a time, so a fast peer cannot fill this service's memory.
 * While the peer is unreachable, what was imported stays: this cluster keeps working on the last
 * state it had.
 */
public final class PeerImporter implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(PeerImporter.class);
  static final long MAX_BACKOFF_MILLIS = 2000;

  /** Which peer holds which cluster ID, among this process's importers. */
  private static final Map<Integer, String> CLAIMED = new HashMap<>();

  private final String peer;
  private final String target;
  private final ClusterInfo local;
  private final KvStore kv;
  private final ManagedChannel channel;
  private final ScheduledExecutorService executor;
  private final AtomicLong snapshots = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private volatile String problem = "not connected yet";
  private volatile long revision;
  private volatile boolean synced;
  private volatile boolean closed;
  private long backoffMillis = 200;
  private int peerClusterId;
  private long stream;
  private ClientCallStreamObserver<ExportRequest> call;
  // keys seen since a SNAPSHOT began (null: not in a snapshot)
  private Set<String> snapshot;

  /** The records imported from this peer (relative keys), bounded by {@link #maxKeys}. */
  private final Set<String> known = new HashSet<>();

  private int maxKeys = DEFAULT_MAX_KEYS;

  /** How many records one peer may have imported here (a peer cannot grow this etcd unbounded). */
  public static final int DEFAULT_MAX_KEYS = 200_000;

  /** Sets the most records this peer may have imported here. */
  public PeerImporter maxKeys(int max) {
    this.maxKeys = max;
    return this;
  }

  /**
   * @param peer the peer cluster's name, as it must answer
   * @param target its clustermesh service, {@code host:port}
   * @param local this cluster, for the clash checks
   * @param tls this service's certificate, trusting the peer's CA only; empty: plaintext
   */
  public PeerImporter(
      String peer, String target, ClusterInfo local, KvStore kv, Optional<ClusterTls> tls) {
    this.peer = peer;
    this.target = target;
    this.local = local;
    this.kv = kv;
    this.channel =
        ClusterChannels.renewing(
            target, tls, PeerIdentity.service("clustermesh"), 16 * 1024 * 1024);
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("porin-mesh-" + peer).daemon().unstarted(r));
  }

  public PeerImporter start() {
    executor.execute(this::connect);
    return this;
  }

  public String peer() {
    return peer;
  }

  /** Its clustermesh service, host:port. */
  public String target() {
    return target;
  }

  /** Empty when connected and synced; else why not. */
  public Optional<String> problem() {
    return Optional.ofNullable(problem);
  }

  /** Whether the peer's state is imported completely (a SYNCED was applied, or resumed). */
  public boolean synced() {
    return synced;
  }

  /** The peer's revision up to which its state is imported. */
  public long revision() {
    return revision;
  }

  /** How many snapshots this importer received (a resumed stream brings none). */
  public long snapshots() {
    return snapshots.get();
  }

  /** Records the peer sent that were not believed. */
  public long refused() {
    return refused.get();
  }

  private void connect() {
    if (closed) {
      return;
    }
    long mine = ++stream;
    long from;
    try {
      ClusterInfo remote = ask();
      String why = admissible(remote);
      if (why != null) {
        retry(why);
        return;
      }
      peerClusterId = remote.id();
      from = kv.get(Keys.Mesh.revision(peer)).map(e -> Long.parseLong(e.value())).orElse(0L);
      String prefix = Keys.Mesh.importedPrefix(peer);
      known.clear();
      kv.list(prefix).entries().forEach(e -> known.add(e.key().substring(prefix.length())));
    } catch (RuntimeException e) {
      retry("connecting to " + target + ": " + e.getMessage());
      return;
    }
    revision = from;
    snapshot = null;
    if (from > 0) {
      // what was imported is complete up to the recorded revision; changes follow
      problem = null;
      synced = true;
    }
    ClusterMeshGrpc.newStub(channel)
        .export(
            ExportRequest.newBuilder().setFromRevision(from).build(),
            new ClientResponseObserver<ExportRequest, ExportEvent>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<ExportRequest> c) {
                c.disableAutoRequestWithInitial(1);
                call = c;
              }

              @Override
              public void onNext(ExportEvent e) {
                executor.execute(
                    () -> {
                      if (mine == stream) {
                        apply(e);
                        if (mine == stream && call != null) {
                          call.request(1);
                        }
                      }
                    });
              }

              @Override
              public void onError(Throwable t) {
                executor.execute(
                    () -> {
                      if (mine == stream) {
                        retry("export stream of " + target + ": " + t.getMessage());
                      }
                    });
              }

              @Override
              public void onCompleted() {
                executor.execute(
                    () -> {
                      if (mine == stream) {
                        retry(target + " ended the export stream");
                      }
                    });
              }
            });
  }

  private ClusterInfo ask() {
    io.porin.api.mesh.v1.ClusterInfo answer =
        ClusterMeshGrpc.newBlockingStub(ClusterChannels.reviving(channel))
            .withDeadlineAfter(5, TimeUnit.SECONDS)
            .info(InfoRequest.getDefaultInstance());
    return new ClusterInfo(
        answer.getName(),
        answer.getId(),
        answer.getPodCidrsList().stream().map(Cidr::parse).toList());
  }

  /** Why this peer is not imported, or null: it is who it should be and clashes with nobody. */
  private String admissible(ClusterInfo remote) {
    if (!remote.name().equals(peer)) {
      return target
          + " is cluster \""
          + remote.name()
          + "\", not \""
          + peer
          + "\" as configured; nothing imported";
    }
    List<String> clashes = ClusterInfo.conflicts(local, remote);
    if (!clashes.isEmpty()) {
      return "refusing to import: " + String.join("; ", clashes);
    }
    Optional<ClusterInfo> recorded =
        kv.get(Keys.Mesh.info(peer)).flatMap(e -> parsed(peer, e.value()));
    if (recorded.isPresent() && recorded.get().id() != remote.id()) {
      return "cluster "
          + peer
          + " now says it has cluster ID "
          + remote.id()
          + "; it had ID "
          + recorded.get().id()
          + " when it was connected (its identities are numbered in it): disconnect it first";
    }
    synchronized (CLAIMED) {
      String holder = CLAIMED.get(remote.id());
      if (holder != null && !holder.equals(peer)) {
        return "cluster ID " + remote.id() + " is cluster " + holder + "'s, not " + peer + "'s";
      }
      for (Entry e : kv.list(Keys.Mesh.PREFIX).entries()) {
        String other = Keys.Mesh.peerOf(e.key());
        if (e.key().equals(Keys.Mesh.info(other))
            && !other.equals(peer)
            && parsed(other, e.value()).map(c -> c.id() == remote.id()).orElse(false)) {
          return "cluster ID " + remote.id() + " is cluster " + other + "'s, not " + peer + "'s";
        }
      }
      CLAIMED.put(remote.id(), peer);
    }
    if (!recorded.equals(Optional.of(remote))) {
      // its ID (pinned) and pod CIDRs, which this cluster's readers check its records against
      kv.put(Keys.Mesh.info(peer), remote.record(), 0);
    }
    return null;
  }

  private static Optional<ClusterInfo> parsed(String peer, String record) {
    try {
      return Optional.of(ClusterInfo.parseRecord(peer, record));
    } catch (IllegalArgumentException e) {
      LOG.warnf("the record of cluster %s is unreadable (%s): written again", peer, e.getMessage());
      return Optional.empty();
    }
  }

  private void apply(ExportEvent e) {
    try {
      switch (e.getType()) {
        case SNAPSHOT -> {
          if (e.getRevision() < revision) {
            // an older state than the one imported (replayed, or the peer's store restored from a
            // backup): nothing of it is applied; disconnecting and connecting again accepts it
            retry(
                "cluster "
                    + peer
                    + " sent a snapshot of its revision "
                    + e.getRevision()
                    + ", older than revision "
                    + revision
                    + " already imported; refused");
            return;
          }
          // until its SYNCED, what is imported mixes the old state and the new
          synced = false;
          snapshot = new HashSet<>();
          snapshots.incrementAndGet();
        }
        case PUT -> {
          String why = ImportRules.refusal(peer, peerClusterId, e.getKey(), e.getValue());
          if (why != null) {
            refuse(e.getKey(), why);
            return;
          }
          if (snapshot != null) {
            snapshot.add(e.getKey());
          }
          if (!known.contains(e.getKey()) && known.size() >= maxKeys) {
            refuse(
                e.getKey(),
                "cluster "
                    + peer
                    + " already has "
                    + known.size()
                    + " records here, the most allowed");
            return;
          }
          known.add(e.getKey());
          queue(Keys.Mesh.imported(peer, e.getKey()), e.getValue());
        }
        case DELETE -> {
          String why = ImportRules.deleteRefusal(e.getKey());
          if (why != null) {
            refuse(e.getKey(), why);
            return;
          }
          known.remove(e.getKey());
          queue(Keys.Mesh.imported(peer, e.getKey()), null);
        }
        case SYNCED -> synced(e.getRevision());
        default -> LOG.debugf("ignoring export event %s", e.getType());
      }
    } catch (RuntimeException ex) {
      // this cluster's store failed: start again from the last revision recorded
      retry("importing into this cluster's store: " + ex.getMessage());
    }
  }

  /**
   * Changes not yet written, in order (a null value deletes): written as one transaction when a
   * batch is complete (SYNCED) or {@link #BATCH} changes are waiting, so a snapshot of thousands of
   * records takes tens of transactions, not thousands of writes.
   */
  private final java.util.LinkedHashMap<String, String> pending = new java.util.LinkedHashMap<>();

  /** Operations per transaction (etcd refuses more than 128). */
  static final int BATCH = 100;

  /** Bytes per transaction (etcd refuses requests over 1.5 MiB). */
  static final int BATCH_BYTES = 1024 * 1024;

  private int pendingBytes;

  private void flushIfFull() {
    if (pending.size() >= BATCH || pendingBytes >= BATCH_BYTES) {
      flush(null);
    }
  }

  /** Queues a change; a value that would not fit with the others is written first. */
  private void queue(String key, String value) {
    int bytes = key.length() + (value == null ? 0 : ImportRules.bytes(value));
    if (pendingBytes + bytes > BATCH_BYTES) {
      flush(null);
    }
    pending.put(key, value);
    pendingBytes += bytes;
    flushIfFull();
  }

  /** Writes what is pending, and the revision reached when given, in one transaction. */
  private void flush(String revisionReached) {
    if (pending.isEmpty() && revisionReached == null) {
      return;
    }
    io.porin.kvstore.Transaction tx = kv.transaction();
    for (var op : pending.entrySet()) {
      if (op.getValue() == null) {
        tx.delete(op.getKey());
      } else {
        tx.put(op.getKey(), op.getValue());
      }
    }
    if (revisionReached != null) {
      tx.put(Keys.Mesh.revision(peer), revisionReached);
    }
    tx.commit();
    pending.clear();
    pendingBytes = 0;
    pendingBytes = 0;
  }

  private void refuse(String key, String why) {
    refused.incrementAndGet();
    LOG.warnf("cluster %s: not importing %s: %s", peer, key, why);
  }

  private void synced(long rev) {
    if (rev <= 0 || rev < revision) {
      retry(
          "cluster "
              + peer
              + " said its state is complete up to revision "
              + rev
              + ", before "
              + revision
              + " which it had reached");
      return;
    }
    flush(null);
    if (snapshot != null) {
      // what the peer no longer has goes
      String prefix = Keys.Mesh.importedPrefix(peer);
      for (Entry old : kv.list(prefix).entries()) {
        if (!snapshot.contains(old.key().substring(prefix.length()))) {
          known.remove(old.key().substring(prefix.length()));
          queue(old.key(), null);
        }
      }
      snapshot = null;
    }
    flush(Long.toString(rev));
    revision = rev;
    if (!synced || problem != null) {
      LOG.infof("cluster %s (%s) imported up to its revision %d", peer, target, rev);
    }
    synced = true;
    problem = null;
    backoffMillis = 200;
  }

  /** Ends the current stream and tries again after a backoff. */
  private void retry(String why) {
    stream++;
    // what was not written is sent again from the last revision recorded
    pending.clear();
    cancelCall(why);
    if (closed) {
      return;
    }
    problem = why;
    LOG.warnf("cluster %s: %s; retrying in %d ms", peer, why, backoffMillis);
    executor.schedule(this::connect, backoffMillis, TimeUnit.MILLISECONDS);
    backoffMillis = Math.min(backoffMillis * 2, MAX_BACKOFF_MILLIS);
  }

  private void cancelCall(String why) {
    ClientCallStreamObserver<ExportRequest> c = call;
    call = null;
    if (c != null) {
      try {
        c.cancel(why, null);
      } catch (RuntimeException ignored) {
        // already ended
      }
    }
  }

  /** Stops importing; what was imported stays (see {@link #forget}). */
  @Override
  public void close() {
    closed = true;
    executor.execute(
        () -> {
          stream++;
          cancelCall("closed");
        });
    executor.shutdown();
    try {
      executor.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (CLAIMED) {
      CLAIMED.values().remove(peer);
    }
    channel.shutdownNow();
  }

  /**
   * Removes everything imported from {@code peer} (a disconnect; close its importer first): its
   * state, revision and recorded ID. Returns how many keys went.
   */
  public static long forget(KvStore kv, String peer) {
    List<Entry> all = kv.list(Keys.Mesh.ofCluster(peer)).entries();
    for (Entry e : all) {
      kv.delete(e.key());
    }
    return all.size();
  }
}
