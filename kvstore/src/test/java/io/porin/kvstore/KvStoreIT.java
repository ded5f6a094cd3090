package io.porin.kvstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.kvstore.testing.EtcdProcess;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class KvStoreIT {
  static EtcdProcess etcd;
  static KvStore kv;

  @BeforeAll
  static void start() {
    etcd = EtcdProcess.start("kvstore");
    kv = etcd.connect();
  }

  @AfterAll
  static void stop() {
    if (kv != null) {
      kv.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }

  @Test
  void createIfAbsentCreatesOnce() {
    assertThat(kv.createIfAbsent("/t/cas/a", "1", 0)).isTrue();
    assertThat(kv.createIfAbsent("/t/cas/a", "2", 0)).isFalse();
    assertThat(kv.get("/t/cas/a")).get().extracting(Entry::value).isEqualTo("1");
  }

  @Test
  void failedTransactionWritesNothingAndReturnsItsReads() {
    kv.put("/t/txn/x", "old", 0);
    Transaction.Result r =
        kv.transaction()
            .ifAbsent("/t/txn/x")
            .put("/t/txn/x", "new")
            .put("/t/txn/y", "new")
            .orElseGet("/t/txn/x")
            .orElseGet("/t/txn/missing")
            .commit();
    assertThat(r.succeeded()).isFalse();
    assertThat(r.reads()).hasSize(2);
    assertThat(r.reads().get(0).value()).isEqualTo("old");
    assertThat(r.reads().get(1)).isNull();
    assertThat(kv.get("/t/txn/y")).isEmpty();
  }

  @Test
  void modRevisionConditionDetectsAConcurrentWrite() {
    kv.put("/t/rev/k", "a", 0);
    long seen = kv.get("/t/rev/k").orElseThrow().modRevision();
    kv.put("/t/rev/k", "a", 0); // same value, new revision
    assertThat(
            kv.transaction()
                .ifModRevision("/t/rev/k", seen)
                .delete("/t/rev/k")
                .commit()
                .succeeded())
        .isFalse();
    assertThat(kv.get("/t/rev/k")).isPresent();
  }

  @Test
  void keysOnAnExpiredLeaseVanish() throws Exception {
    long lease = kv.grantLease(Duration.ofSeconds(1));
    kv.put("/t/lease/k", "v", lease);
    assertThat(kv.keepAliveOnce(lease)).isPresent();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (kv.get("/t/lease/k").isPresent() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(kv.get("/t/lease/k")).isEmpty();
    assertThat(kv.keepAliveOnce(lease)).isEmpty();
    assertThatThrownBy(() -> kv.put("/t/lease/k2", "v", lease))
        .isInstanceOfSatisfying(
            KvStoreException.class,
            e -> assertThat(e.kind()).isEqualTo(KvStoreException.Kind.LEASE_NOT_FOUND));
  }

  @Test
  void watchResumesFromARevisionWithoutGapsOrDuplicates() throws Exception {
    String prefix = "/t/watch/";
    long start = kv.revision();
    List<Long> firstRun = new CopyOnWriteArrayList<>();
    AutoCloseable w1 = kv.watch(prefix, start, recorder(firstRun, new ArrayList<>()));
    for (int i = 0; i < 50; i++) {
      kv.put(prefix + (i % 7), Integer.toString(i), 0);
    }
    awaitSize(firstRun, 50);
    w1.close();
    long resumeAfter = firstRun.get(24);
    for (int i = 50; i < 80; i++) {
      if (i % 10 == 0) {
        kv.delete(prefix + (i % 7));
      } else {
        kv.put(prefix + (i % 7), Integer.toString(i), 0);
      }
    }
    List<Long> resumed = new CopyOnWriteArrayList<>();
    List<Snapshot> resets = new CopyOnWriteArrayList<>();
    try (AutoCloseable w2 = kv.watch(prefix, resumeAfter, recorder(resumed, resets))) {
      awaitSize(resumed, 25 + 30);
      Thread.sleep(200);
      assertThat(resets).isEmpty();
      // Exactly the revisions after resumeAfter, in order, each once.
      assertThat(resumed).hasSize(55).isSorted().doesNotHaveDuplicates();
      assertThat(resumed.getFirst()).isEqualTo(firstRun.get(25));
      assertThat(resumed.getLast()).isEqualTo(kv.revision());
    }
  }

  @Test
  void watchFromZeroStartsWithASnapshot() throws Exception {
    String prefix = "/t/snap/";
    kv.put(prefix + "a", "1", 0);
    kv.put(prefix + "b", "2", 0);
    List<Long> events = new CopyOnWriteArrayList<>();
    List<Snapshot> resets = new CopyOnWriteArrayList<>();
    try (AutoCloseable w = kv.watch(prefix, 0, recorder(events, resets))) {
      assertThat(resets).hasSize(1);
      assertThat(resets.getFirst().entries())
          .extracting(Entry::key)
          .containsExactly(prefix + "a", prefix + "b");
      kv.put(prefix + "c", "3", 0);
      awaitSize(events, 1);
      assertThat(events.getFirst()).isGreaterThan(resets.getFirst().revision());
    }
  }

  @Test
  void aCompactedRevisionGivesACleanRelist() throws Exception {
    String prefix = "/t/compact/";
    long old = kv.revision();
    for (int i = 0; i < 10; i++) {
      kv.put(prefix + i, "v" + i, 0);
    }
    kv.delete(prefix + "3");
    kv.compact(kv.revision());
    List<Long> events = new CopyOnWriteArrayList<>();
    List<Snapshot> resets = new CopyOnWriteArrayList<>();
    AtomicInteger closed = new AtomicInteger();
    WatchListener base = recorder(events, resets);
    WatchListener l =
        new WatchListener() {
          @Override
          public void onReset(Snapshot s) {
            base.onReset(s);
          }

          @Override
          public void onEvents(List<WatchEvent> e) {
            base.onEvents(e);
          }

          @Override
          public void onClosed(Throwable cause) {
            closed.incrementAndGet();
          }
        };
    try (AutoCloseable w = kv.watch(prefix, old, l)) {
      awaitSize(resets, 1);
      assertThat(resets.getFirst().entries()).hasSize(9);
      kv.put(prefix + "after", "x", 0);
      awaitSize(events, 1);
      assertThat(closed.get()).isZero();
    }
  }

  @Test
  void aWatchSurvivesAnEtcdRestartWithoutGaps() throws Exception {
    try (EtcdProcess own = EtcdProcess.start("kvstore-restart");
        KvStore client = own.connect()) {
      String prefix = "/t/restart/";
      List<Long> events = new CopyOnWriteArrayList<>();
      List<Snapshot> resets = new CopyOnWriteArrayList<>();
      try (AutoCloseable w = client.watch(prefix, 0, recorder(events, resets))) {
        client.put(prefix + "a", "1", 0);
        awaitSize(events, 1);
        own.stop();
        assertThatThrownBy(() -> client.put(prefix + "b", "2", 0))
            .isInstanceOfSatisfying(
                KvStoreException.class,
                e -> assertThat(e.kind()).isEqualTo(KvStoreException.Kind.UNAVAILABLE));
        own.start();
        client.put(prefix + "c", "3", 0);
        client.put(prefix + "d", "4", 0);
        // Every write the store holds was delivered once, in order, across the restart
        // ("b" may or may not have reached etcd before it stopped).
        List<Long> stored =
            client.list(prefix).entries().stream().map(Entry::modRevision).sorted().toList();
        awaitSize(events, stored.size());
        assertThat(resets).hasSize(1);
        assertThat(events).isSorted().doesNotHaveDuplicates().containsAll(stored);
        assertThat(events.getLast()).isEqualTo(client.revision());
      }
    }
  }

  /**
   * After a long outage (long enough for gRPC's own reconnect backoff to grow to many seconds) a
   * client over mutual TLS answers and its watch delivers again soon after etcd is back: the store
   * connects afresh when etcd's port answers. The figure is measured in bench/reconnect.sh; the
   * bound here only says it does not take gRPC's minutes.
   */
  @Test
  void aClientAndItsWatchAreBackSoonAfterALongOutage() throws Exception {
    try (EtcdProcess own =
            EtcdProcess.startSecure(
                "kvstore-outage", io.porin.kvstore.testing.TestPki.cluster(), List.of());
        KvStore client = own.connect()) {
      String prefix = "/t/outage/";
      List<Long> events = new CopyOnWriteArrayList<>();
      List<Snapshot> resets = new CopyOnWriteArrayList<>();
      try (AutoCloseable w = client.watch(prefix, 0, recorder(events, resets))) {
        client.put(prefix + "a", "1", 0);
        awaitSize(events, 1);
        own.stop();
        long down = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < down) {
          try {
            client.get(prefix + "a");
          } catch (KvStoreException expected) {
            // etcd is away
          }
          Thread.sleep(500);
        }
        own.start();
        long back = System.nanoTime();
        long answered = -1;
        while (answered < 0 && System.nanoTime() - back < TimeUnit.SECONDS.toNanos(15)) {
          try {
            client.get(prefix + "a");
            answered = System.nanoTime() - back;
          } catch (KvStoreException notYet) {
            Thread.sleep(50);
          }
        }
        assertThat(answered).as("the client answers again").isNotNegative();
        try (KvStore other = own.connect()) {
          other.put(prefix + "b", "2", 0);
        }
        awaitSize(events, 2);
        long delivered = System.nanoTime() - back;
        System.out.printf(
            "etcd back: first answer after %d ms, watch delivered after %d ms%n",
            answered / 1_000_000, delivered / 1_000_000);
        assertThat(delivered).isLessThan(TimeUnit.SECONDS.toNanos(15));
      }
    }
  }

  @Test
  void anUnreachableEtcdIsReportedAsUnavailable() {
    try (KvStore nowhere =
        KvStore.connect(
            List.of("http://127.0.0.1:" + EtcdProcess.freePort()), Duration.ofMillis(800))) {
      assertThatThrownBy(() -> nowhere.get("/t/x"))
          .isInstanceOfSatisfying(
              KvStoreException.class,
              e -> assertThat(e.kind()).isEqualTo(KvStoreException.Kind.UNAVAILABLE));
    }
  }

  private static WatchListener recorder(List<Long> revisions, List<Snapshot> resets) {
    return new WatchListener() {
      @Override
      public void onReset(Snapshot snapshot) {
        resets.add(snapshot);
      }

      @Override
      public void onEvents(List<WatchEvent> events) {
        events.forEach(e -> revisions.add(e.revision()));
      }
    };
  }

  private static void awaitSize(List<?> list, int size) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (list.size() < size && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(list).hasSizeGreaterThanOrEqualTo(size);
  }
}
