package io.porin.identity.allocate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.core.identity.AllocationRange;
import io.porin.core.identity.NumericIdentity;
import io.porin.core.labels.LabelFilter;
import io.porin.core.labels.LabelSet;
import io.porin.identity.gc.IdentityCollector;
import io.porin.kvstore.Entry;
import io.porin.kvstore.Keys.Identities;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Transaction;
import io.porin.kvstore.testing.EtcdProcess;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The allocator against a real etcd: each instance is what one service replica runs. */
class IdentityAllocatorIT {
  private EtcdProcess etcd;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeEach
  void startEtcd() {
    etcd = EtcdProcess.start("identity");
  }

  @AfterEach
  void stopEverything() throws Exception {
    Collections.reverse(toClose);
    for (AutoCloseable c : toClose) {
      c.close();
    }
    toClose.clear();
    etcd.close();
  }

  private KvStore client() {
    KvStore kv = etcd.connect();
    toClose.add(kv);
    return kv;
  }

  private IdentityAllocator replica(int clusterId, Duration ownerTtl) throws InterruptedException {
    IdentityAllocator a =
        new IdentityAllocator(
                client(),
                new AllocationRange(clusterId),
                LabelFilter.defaults(),
                ownerTtl,
                new Random())
            .start();
    toClose.add(a);
    assertThat(a.awaitSynced(Duration.ofSeconds(10))).isTrue();
    return a;
  }

  private static List<LabelSet> labelSets(int n) {
    List<LabelSet> sets = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      sets.add(
          LabelSet.parse(
              List.of(
                  "k8s:app=app-" + i,
                  "k8s:io.kubernetes.pod.namespace=ns-" + (i % 13),
                  "k8s:pod-template-hash=h" + i)));
    }
    return sets;
  }

  @Test
  void twoReplicasRacingGiveExactlyOneIdentityPerLabelSet() throws Exception {
    List<LabelSet> sets = labelSets(1000);
    IdentityAllocator a = replica(1, Duration.ofSeconds(30));
    IdentityAllocator b = replica(1, Duration.ofSeconds(30));
    Map<LabelSet, NumericIdentity> fromA = new ConcurrentHashMap<>();
    Map<LabelSet, NumericIdentity> fromB = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<?>> futures = new ArrayList<>();
      futures.addAll(allocateAll(pool, a, "node-a", sets, fromA, new Random(1)));
      futures.addAll(allocateAll(pool, b, "node-b", sets, fromB, new Random(2)));
      for (Future<?> f : futures) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(fromA).hasSize(1000);
    assertThat(fromA).isEqualTo(fromB);
    assertThat(new HashSet<>(fromA.values())).hasSize(1000);
    KvStore kv = client();
    assertThat(kv.count(Identities.ID_PREFIX)).isEqualTo(1000);
    assertThat(kv.count(Identities.VALUE_PREFIX)).isEqualTo(1000);
    assertThat(kv.count(Identities.REFS_PREFIX)).isEqualTo(2000);
    for (NumericIdentity id : fromA.values()) {
      assertThat(id.clusterId()).isEqualTo(1);
      assertThat(new AllocationRange(1).contains(id)).isTrue();
    }
    // Churning labels never formed identity: the hash label is not stored.
    LabelSet first = sets.getFirst();
    assertThat(a.get(fromA.get(first)).orElseThrow().labels().strings())
        .containsExactly("k8s:app=app-0", "k8s:io.kubernetes.pod.namespace=ns-0");
  }

  /** 8 threads allocating every set once, in the given random order. */
  private static List<Future<?>> allocateAll(
      ExecutorService pool,
      IdentityAllocator allocator,
      String owner,
      List<LabelSet> sets,
      Map<LabelSet, NumericIdentity> out,
      Random random) {
    List<LabelSet> order = new ArrayList<>(sets);
    Collections.shuffle(order, random);
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      int thread = t;
      futures.add(
          pool.submit(
              () -> {
                for (int i = thread; i < order.size(); i += 8) {
                  Allocation a = allocator.allocate(order.get(i), owner);
                  out.put(order.get(i), a.identity().id());
                }
              }));
    }
    return futures;
  }

  @Test
  void restartsKeepEveryIdentity() throws Exception {
    List<LabelSet> sets = labelSets(50);
    Map<LabelSet, NumericIdentity> before = new HashMap<>();
    IdentityAllocator a = replica(1, Duration.ofSeconds(30));
    for (LabelSet s : sets) {
      before.put(s, a.allocate(s, "node-1").identity().id());
    }
    a.close();
    etcd.stop();
    etcd.start();
    IdentityAllocator again = replica(1, Duration.ofSeconds(30));
    for (LabelSet s : sets) {
      Allocation after = again.allocate(s, "node-2");
      assertThat(after.created()).isFalse();
      assertThat(after.identity().id()).isEqualTo(before.get(s));
    }
  }

  @Test
  void repeatedAllocationByTheSameOwnerIsIdempotent() throws Exception {
    IdentityAllocator a = replica(1, Duration.ofSeconds(30));
    LabelSet s = labelSets(1).getFirst();
    Allocation first = a.allocate(s, "node-1");
    Allocation second = a.allocate(s, "node-1");
    assertThat(first.created()).isTrue();
    assertThat(second.created()).isFalse();
    assertThat(second.identity().id()).isEqualTo(first.identity().id());
    assertThat(first.ignored().strings()).containsExactly("k8s:pod-template-hash=h0");
    assertThat(a.get(first.identity().id()).orElseThrow().references()).isEqualTo(1);
  }

  @Test
  void aDeadOwnersReferencesExpireAndGcRemovesTheIdentity() throws Exception {
    IdentityAllocator a = replica(1, Duration.ofSeconds(2));
    KvStore kv = client();
    IdentityCollector gc = new IdentityCollector(kv, Duration.ofSeconds(1), Clock.systemUTC());
    LabelSet dead = LabelSet.parse(List.of("k8s:app=dead", "k8s:io.kubernetes.pod.namespace=x"));
    LabelSet alive = LabelSet.parse(List.of("k8s:app=alive", "k8s:io.kubernetes.pod.namespace=x"));
    NumericIdentity deadId = a.allocate(dead, "node-dead").identity().id();
    NumericIdentity aliveId = a.allocate(alive, "node-alive").identity().id();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (a.get(deadId).isPresent() && System.nanoTime() < deadline) {
      assertThat(a.keepAlive("node-alive")).isPresent();
      gc.collectOnce();
      Thread.sleep(300);
    }
    assertThat(a.get(deadId)).isEmpty();
    assertThat(a.lookup(dead)).isEmpty();
    assertThat(a.keepAlive("node-dead")).isEmpty();
    assertThat(a.get(aliveId)).isPresent();
    assertThat(gc.deletedTotal()).isEqualTo(1);
    // The label set comes back as a fresh identity when allocated again.
    Allocation back = a.allocate(dead, "node-dead");
    assertThat(back.created()).isTrue();
  }

  @Test
  void releasedIdentitiesAreCollectedAfterTheGracePeriodOnly() throws Exception {
    IdentityAllocator a = replica(1, Duration.ofSeconds(30));
    KvStore kv = client();
    Duration grace = Duration.ofSeconds(2);
    IdentityCollector gc = new IdentityCollector(kv, grace, Clock.systemUTC());
    LabelSet s = labelSets(1).getFirst();
    NumericIdentity id = a.allocate(s, "node-1").identity().id();
    assertThat(a.release(id, "node-1")).isTrue();
    assertThat(a.release(id, "node-1")).isFalse();
    assertThat(gc.collectOnce()).isZero(); // first seen unreferenced now
    assertThat(a.get(id)).isPresent();
    Thread.sleep(grace.toMillis() + 200);
    assertThat(gc.collectOnce()).isEqualTo(1);
    assertThat(a.get(id)).isEmpty();
  }

  @Test
  void allocationsRacingGarbageCollectionNeverLeaveDanglingReferences() throws Exception {
    IdentityAllocator a = replica(1, Duration.ofSeconds(30));
    KvStore kv = client();
    IdentityCollector gc = new IdentityCollector(kv, Duration.ZERO, Clock.systemUTC());
    List<LabelSet> sets = labelSets(20);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      Future<?> churn =
          pool.submit(
              () -> {
                Random r = new Random(3);
                for (int i = 0; i < 600; i++) {
                  LabelSet s = sets.get(r.nextInt(sets.size()));
                  NumericIdentity id = a.allocate(s, "node-1").identity().id();
                  if (r.nextBoolean()) {
                    a.release(id, "node-1");
                  }
                }
              });
      Future<?> collect =
          pool.submit(
              () -> {
                while (!churn.isDone()) {
                  gc.collectOnce();
                }
              });
      churn.get(120, TimeUnit.SECONDS);
      collect.get(30, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
    // Every reference points to an identity, and every reverse-index entry to the identity
    // that names its labels.
    Set<Long> ids = new HashSet<>();
    Map<Long, String> labelsOf = new HashMap<>();
    for (Entry e : kv.list(Identities.ID_PREFIX).entries()) {
      ids.add(Identities.idOf(e.key()));
      labelsOf.put(Identities.idOf(e.key()), e.value());
    }
    for (Entry r : kv.list(Identities.REFS_PREFIX).entries()) {
      assertThat(ids).contains(Identities.idOfRef(r.key()));
    }
    for (Entry v : kv.list(Identities.VALUE_PREFIX).entries()) {
      long id = Long.parseLong(v.value());
      assertThat(labelsOf.get(id)).isEqualTo(v.key().substring(Identities.VALUE_PREFIX.length()));
    }
  }

  @Test
  void aFullRangeIsReportedWithTheClusterAndTheRange() throws Exception {
    KvStore kv = client();
    AllocationRange range = new AllocationRange(7);
    // Fill cluster 7's range directly in etcd, 128 keys per transaction (etcd's limit).
    for (int start = range.min().value(); start <= range.max().value(); start += 128) {
      Transaction t = kv.transaction();
      for (int v = start; v < Math.min(start + 128, range.max().value() + 1); v++) {
        t.put(Identities.id(v), "k8s:filler=f" + v + ";");
      }
      t.commit();
    }
    IdentityAllocator a = replica(7, Duration.ofSeconds(30));
    assertThat(a.knownCount()).isEqualTo(range.size());
    assertThatThrownBy(() -> a.allocate(labelSets(1).getFirst(), "node-1"))
        .isInstanceOf(RangeExhaustedException.class)
        .hasMessageContaining("cluster 7 (459008..524287)")
        .hasMessageContaining("65280 of 65280 are allocated");
  }

  @Test
  void badRequestsNameTheFieldAndWriteNothing() throws Exception {
    IdentityAllocator a = replica(1, Duration.ofSeconds(30));
    KvStore kv = client();
    assertThatThrownBy(() -> a.allocate(LabelSet.empty(), "n"))
        .hasMessage("labels: the label set is empty");
    assertThatThrownBy(() -> a.allocate(LabelSet.parse(List.of("reserved:host")), "n"))
        .hasMessageContaining("labels: label \"reserved:host\": reserved labels");
    assertThatThrownBy(() -> a.allocate(LabelSet.parse(List.of("k8s:pod-template-hash=x")), "n"))
        .hasMessageContaining("forms identity");
    assertThatThrownBy(() -> a.allocate(labelSets(1).getFirst(), ""))
        .hasMessage("owner: the owner is empty");
    assertThatThrownBy(() -> a.allocate(labelSets(1).getFirst(), "a/b"))
        .hasMessageContaining("owner: \"a/b\"");
    assertThatThrownBy(() -> IdentityAllocator.parseLabels(List.of("k8s:app=ok", "k8s:app=-x")))
        .hasMessageStartingWith("labels[1]: label \"k8s:app=-x\"");
    assertThat(kv.count(Identities.PREFIX)).isZero();
  }
}
