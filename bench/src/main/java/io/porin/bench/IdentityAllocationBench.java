package io.porin.bench;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.ManagedChannel;
import io.porin.api.identity.v1.AllocateRequest;
import io.porin.api.identity.v1.AllocateResponse;
import io.porin.api.identity.v1.IdentitiesGrpc;
import io.porin.kvstore.KvStore;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/**
 * Allocations per second and latency percentiles from one client with a fixed number of calls in
 * flight, against a running identity service; and, as the baseline measured in the same run, raw
 * etcd create-if-absent transactions at the same concurrency from one jetcd client.
 *
 * <p>Usage: {@code IdentityAllocationBench IDENTITY_HOST:PORT ETCD_URL [COUNT] [IN_FLIGHT]}
 */
public final class IdentityAllocationBench {

  /** The figures of one phase. */
  record Figures(String phase, int count, double seconds, long[] latenciesNanos) {
    double perSecond() {
      return count / seconds;
    }

    double percentileMs(double p) {
      long[] sorted = latenciesNanos.clone();
      Arrays.sort(sorted);
      int i = (int) Math.min(sorted.length - 1, Math.ceil(p / 100.0 * sorted.length) - 1);
      return sorted[Math.max(0, i)] / 1e6;
    }

    String line() {
      return String.format(
          Locale.ROOT,
          "%-34s %7d ops  %8.0f ops/s  p50 %6.2f ms  p99 %6.2f ms",
          phase,
          count,
          perSecond(),
          percentileMs(50),
          percentileMs(99));
    }
  }

  public static void main(String[] args) throws Exception {
    String target = args[0];
    String etcd = args[1];
    int count = args.length > 2 ? Integer.parseInt(args[2]) : 20_000;
    int inFlight = args.length > 3 ? Integer.parseInt(args[3]) : 16;
    String run = Long.toString(System.nanoTime(), 36);

    ManagedChannel channel = BenchTls.channel(target, "identity").build();
    var stub = IdentitiesGrpc.newFutureStub(channel);
    IntFunction<AllocateRequest> labels =
        i ->
            AllocateRequest.newBuilder()
                .setOwner("bench-node")
                .addAllLabels(
                    List.of(
                        "k8s:app=app-" + run + "-" + i,
                        "k8s:io.kubernetes.pod.namespace=ns-" + (i % 100),
                        "k8s:tier=t" + (i % 3)))
                .build();
    // The owner stays alive as a node agent would keep it (its references last the owner TTL).
    var keepAlive =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
            Thread.ofVirtual().factory());
    keepAlive.scheduleAtFixedRate(
        () -> {
          try {
            IdentitiesGrpc.newBlockingStub(channel)
                .keepAlive(
                    io.porin.api.identity.v1.KeepAliveRequest.newBuilder()
                        .setOwner("bench-node")
                        .build());
          } catch (RuntimeException notYetRegistered) {
            // the owner registers with its first allocation
          }
        },
        0,
        5,
        java.util.concurrent.TimeUnit.SECONDS);
    // Warm-up: JIT, connections, the owner's lease.
    drive("warm-up", 2_000, inFlight, i -> grpc(stub.allocate(labels.apply(count + i))));

    try (KvStore kv =
        KvStore.connect(
            List.of(etcd), Duration.ofSeconds(10), BenchTls.fromEnvironment().orElse(null))) {
      drive(
          "warm-up etcd",
          2_000,
          inFlight,
          i ->
              CompletableFuture.runAsync(
                  () -> kv.createIfAbsent("/bench/" + run + "/warm/" + i, "x", 0),
                  Thread::startVirtualThread));
      Figures baseline =
          drive(
              "baseline: etcd create-if-absent",
              count,
              inFlight,
              i ->
                  CompletableFuture.runAsync(
                      () -> kv.createIfAbsent("/bench/" + run + "/cas/" + i, "x", 0),
                      Thread::startVirtualThread));
      Figures reads =
          drive(
              "baseline: etcd read-only txn",
              count,
              inFlight,
              i ->
                  CompletableFuture.runAsync(
                      () ->
                          kv.transaction()
                              .ifPresent("/bench/" + run + "/cas/" + i)
                              .ifValue("/bench/" + run + "/cas/" + i, "x")
                              .commit(),
                      Thread::startVirtualThread));
      Figures fresh =
          drive(
              "porin: new label sets", count, inFlight, i -> grpc(stub.allocate(labels.apply(i))));
      Figures repeat =
          drive(
              "porin: known label sets, same owner",
              count,
              inFlight,
              i -> grpc(stub.allocate(labels.apply(i))));
      System.out.println();
      System.out.println(baseline.line());
      System.out.println(reads.line());
      System.out.println(fresh.line());
      System.out.println(repeat.line());
      System.out.printf(
          Locale.ROOT,
          "%nratios: new label sets / etcd create-if-absent %.2fx;"
              + " known label sets / etcd read-only txn %.2fx (in flight: %d)%n",
          fresh.perSecond() / baseline.perSecond(),
          repeat.perSecond() / reads.perSecond(),
          inFlight);
      System.out.printf(
          Locale.ROOT,
          "goal: >= 5000 new identities/s and p99 < 20 ms -> %s (%.0f/s, p99 %.2f ms)%n",
          fresh.perSecond() >= 5000 && fresh.percentileMs(99) < 20 ? "met" : "not met",
          fresh.perSecond(),
          fresh.percentileMs(99));
      kv.transaction().deletePrefix("/bench/" + run + "/").commit();
    } finally {
      keepAlive.shutdownNow();
      channel.shutdownNow();
    }
  }

  private static CompletableFuture<?> grpc(
      com.google.common.util.concurrent.ListenableFuture<AllocateResponse> f) {
    CompletableFuture<AllocateResponse> c = new CompletableFuture<>();
    Futures.addCallback(
        f,
        new FutureCallback<>() {
          @Override
          public void onSuccess(AllocateResponse r) {
            c.complete(r);
          }

          @Override
          public void onFailure(Throwable t) {
            c.completeExceptionally(t);
          }
        },
        MoreExecutors.directExecutor());
    return c;
  }

  /** Runs {@code count} operations with at most {@code inFlight} outstanding; prints progress. */
  private static Figures drive(
      String phase, int count, int inFlight, IntFunction<CompletableFuture<?>> op)
      throws InterruptedException {
    Semaphore slots = new Semaphore(inFlight);
    long[] latencies = new long[count];
    AtomicInteger failures = new AtomicInteger();
    AtomicInteger done = new AtomicInteger();
    long start = System.nanoTime();
    for (int i = 0; i < count; i++) {
      slots.acquire();
      int n = i;
      long t0 = System.nanoTime();
      op.apply(i)
          .whenComplete(
              (r, e) -> {
                latencies[n] = System.nanoTime() - t0;
                if (e != null && failures.getAndIncrement() == 0) {
                  System.err.println(phase + ": " + e);
                }
                int d = done.incrementAndGet();
                if (d % Math.max(1, count / 4) == 0) {
                  System.err.printf("%s: %d/%d%n", phase, d, count);
                }
                slots.release();
              });
    }
    slots.acquire(inFlight);
    double seconds = (System.nanoTime() - start) / 1e9;
    if (failures.get() > 0) {
      throw new IllegalStateException(phase + ": " + failures.get() + " of " + count + " failed");
    }
    return new Figures(phase, count, seconds, latencies);
  }
}
