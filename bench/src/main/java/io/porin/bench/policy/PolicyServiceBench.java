package io.porin.bench.policy;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.porin.api.policy.v1.Ack;
import io.porin.api.policy.v1.PoliciesGrpc;
import io.porin.api.policy.v1.PolicyUpdate;
import io.porin.api.policy.v1.SubscribeRequest;
import io.porin.api.policy.v1.Subscription;
import io.porin.api.resource.v1.ApplyRequest;
import io.porin.api.resource.v1.ResourcesGrpc;
import io.porin.core.labels.LabelSet;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Transaction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The policy service end to end at cluster scale: the workload's identities written to etcd as the
 * identity service writes them, its policies applied through {@code Resources.Apply}, one node
 * subscribed for namespace 0's identities. Then, per round, a change is written (a new identity in
 * namespace 0, or a changed app policy there) and the time until the node has the delta (UPSERT
 * then SYNCED) is taken: etcd write + watch + compile + gRPC, i.e. until the delta has left the
 * service and arrived. The engine's own share is read from porin_policy_update_seconds.
 *
 * <p>Usage: {@code PolicyServiceBench POLICY_HOST:PORT ETCD_URL [NAMESPACES] [ROUNDS]}.
 */
public final class PolicyServiceBench {
  private PolicyServiceBench() {}

  public static void main(String[] args) throws Exception {
    String policy = args[0];
    String etcd = args[1];
    int namespaces = args.length > 2 ? Integer.parseInt(args[2]) : 100;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 100;
    ManagedChannel channel =
        io.porin.bench.BenchTls.channel(policy, "policy").maxInboundMessageSize(256 << 20).build();
    try (KvStore kv =
        KvStore.connect(
            List.of(etcd),
            Duration.ofSeconds(10),
            io.porin.bench.BenchTls.fromEnvironment().orElse(null))) {
      long t0 = System.nanoTime();
      Map<Integer, LabelSet> identities = PolicyWorkload.identities(namespaces);
      List<Map.Entry<Integer, LabelSet>> all = new ArrayList<>(identities.entrySet());
      for (int i = 0; i < all.size(); i += 50) {
        Transaction tx = kv.transaction();
        for (Map.Entry<Integer, LabelSet> e : all.subList(i, Math.min(all.size(), i + 50))) {
          tx.put(Keys.Identities.id(e.getKey()), e.getValue().canonical());
          tx.put(Keys.Identities.value(e.getValue().canonical()), Integer.toString(e.getKey()));
        }
        tx.commit();
      }
      System.out.printf(
          "loaded %d identities into etcd in %.1f s%n", all.size(), (System.nanoTime() - t0) / 1e9);
      t0 = System.nanoTime();
      ResourcesGrpc.ResourcesBlockingStub resources =
          ResourcesGrpc.newBlockingStub(channel).withDeadlineAfter(300, TimeUnit.SECONDS);
      StringBuilder text = new StringBuilder();
      int count = 0;
      for (int ns = 0; ns < namespaces; ns++) {
        for (String doc : PolicyWorkload.policies(ns, namespaces, 0)) {
          text.append(doc).append("---\n");
          count++;
        }
      }
      resources.apply(ApplyRequest.newBuilder().setText(text.toString()).build());
      System.out.printf("applied %d policies in %.1f s%n", count, (System.nanoTime() - t0) / 1e9);

      // One node hosting namespace 0 (and the identities the rounds will create there).
      Node node = new Node();
      node.requests = PoliciesGrpc.newStub(channel).subscribe(node);
      Subscription.Builder sub = Subscription.newBuilder().setNode("bench-node");
      for (int app = 0; app < 20; app++) {
        for (int v = 0; v < 5; v++) {
          sub.addIdentities(PolicyWorkload.identity(0, app, v));
        }
      }
      int base = PolicyWorkload.identity(namespaces, 0, 0) + 1000;
      for (int r = 0; r < rounds; r++) {
        sub.addIdentities(base + r);
      }
      t0 = System.nanoTime();
      waitForFullState(node, sub.build(), identities.size());
      System.out.printf(
          "node snapshot (100 identities) after the service compiled everything: %.1f s%n",
          (System.nanoTime() - t0) / 1e9);

      var engine0 = engineShare(policy);
      long[] identity = new long[rounds];
      for (int r = 0; r < rounds; r++) {
        int id = base + r;
        LabelSet labels = PolicyWorkload.labels(0, r % 20, 10 + r);
        long start = System.nanoTime();
        kv.transaction().put(Keys.Identities.id(id), labels.canonical()).commit();
        node.awaitUpsertOf(id);
        identity[r] = System.nanoTime() - start;
        // Pods come and go: the identity goes again (untimed), so every round sees the same
        // cluster, as in the in-process benchmark.
        kv.delete(Keys.Identities.id(id));
        node.awaitSynced();
      }
      var engine1 = engineShare(policy);
      long[] policyChange = new long[rounds];
      for (int r = 0; r < rounds; r++) {
        String doc = PolicyWorkload.policies(0, namespaces, 1 + r % 7).get(1);
        long start = System.nanoTime();
        resources.apply(ApplyRequest.newBuilder().setText(doc).build());
        node.awaitAnyUpsert();
        policyChange[r] = System.nanoTime() - start;
      }
      var engine2 = engineShare(policy);
      report("new identity (etcd write -> delta at the node)", identity);
      System.out.println(
          "  in the engine (change reaching it -> its deltas sent; adds and removes): "
              + engineBetween(engine0, engine1));
      report("changed app policy (apply -> delta at the node)", policyChange);
      System.out.println(
          "  in the engine (change reaching it -> its deltas sent): "
              + engineBetween(engine1, engine2));
      node.requests.onCompleted();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static void waitForFullState(Node node, Subscription sub, int expectedIdentities)
      throws InterruptedException {
    // The service answers the subscription once it has read everything; the snapshot ends with
    // SYNCED. Resubscribe until the snapshot holds namespace 0's identities (compiled).
    node.requests.onNext(SubscribeRequest.newBuilder().setSubscription(sub).build());
    int snapshots = 0;
    while (true) {
      PolicyUpdate u = node.received.poll(600, TimeUnit.SECONDS);
      if (u == null) {
        throw new IllegalStateException("no snapshot in 600 s");
      }
      if (u.getType() == PolicyUpdate.Type.SNAPSHOT) {
        snapshots++;
      }
      if (u.getType() == PolicyUpdate.Type.SYNCED) {
        node.ack(u.getRevision());
        if (snapshots >= 100) {
          return;
        }
        snapshots = 0;
        Thread.sleep(200);
        node.requests.onNext(SubscribeRequest.newBuilder().setSubscription(sub).build());
      }
    }
  }

  /** porin_policy_update_seconds: bucket upper bound (seconds) -> cumulative count. */
  private static java.util.TreeMap<Double, Double> engineShare(String hostPort) throws Exception {
    var tls = io.porin.bench.BenchTls.fromEnvironment();
    var builder = java.net.http.HttpClient.newBuilder();
    tls.ifPresent(
        t ->
            builder.sslContext(
                t.clientContext(
                    io.porin.tls.ClusterTls.exactly(io.porin.tls.PeerIdentity.service("policy")),
                    "svc/policy")));
    var client = builder.build();
    String body =
        client
            .send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create(
                            (tls.isPresent() ? "https://" : "http://") + hostPort + "/q/metrics"))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString())
            .body();
    java.util.TreeMap<Double, Double> buckets = new java.util.TreeMap<>();
    for (String line : body.split("\n")) {
      if (line.startsWith("porin_policy_update_seconds_bucket{")) {
        int le = line.indexOf("le=\"") + 4;
        String bound = line.substring(le, line.indexOf('"', le));
        double b = bound.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(bound);
        buckets.put(b, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)));
      }
    }
    return buckets;
  }

  /** The engine's share between two snapshots: upper bounds of the buckets holding p50, p99. */
  private static String engineBetween(
      java.util.TreeMap<Double, Double> before, java.util.TreeMap<Double, Double> after) {
    double total = after.lastEntry().getValue() - before.lastEntry().getValue();
    double p50 = Double.NaN;
    double p99 = Double.NaN;
    for (var e : after.entrySet()) {
      double n = e.getValue() - before.getOrDefault(e.getKey(), 0.0);
      if (Double.isNaN(p50) && n >= total * 0.5) {
        p50 = e.getKey();
      }
      if (Double.isNaN(p99) && n >= total * 0.99) {
        p99 = e.getKey();
      }
    }
    return String.format(
        "p50 <= %.2f ms, p99 <= %.2f ms over %.0f commits", p50 * 1000, p99 * 1000, total);
  }

  private static void report(String what, long[] nanos) {
    long[] s = nanos.clone();
    Arrays.sort(s);
    System.out.printf(
        "%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d%n",
        what,
        s[s.length / 2] / 1e6,
        s[Math.min(s.length - 1, (int) Math.ceil(s.length * 0.99) - 1)] / 1e6,
        s[s.length - 1] / 1e6,
        s.length);
  }

  /** The node's end of the stream. */
  static final class Node implements StreamObserver<PolicyUpdate> {
    final BlockingQueue<PolicyUpdate> received = new LinkedBlockingQueue<>();
    StreamObserver<SubscribeRequest> requests;

    @Override
    public void onNext(PolicyUpdate u) {
      received.add(u);
    }

    @Override
    public void onError(Throwable t) {
      System.err.println("stream failed: " + t);
    }

    @Override
    public void onCompleted() {}

    void ack(long revision) {
      requests.onNext(
          SubscribeRequest.newBuilder().setAck(Ack.newBuilder().setRevision(revision)).build());
    }

    void awaitUpsertOf(int id) throws InterruptedException {
      boolean seen = false;
      while (true) {
        PolicyUpdate u = received.poll(30, TimeUnit.SECONDS);
        if (u == null) {
          throw new IllegalStateException("no delta for identity " + id + " in 30 s");
        }
        if ((u.getType() == PolicyUpdate.Type.UPSERT || u.getType() == PolicyUpdate.Type.PATCH)
            && u.getIdentity() == id) {
          seen = true;
        }
        if (u.getType() == PolicyUpdate.Type.SYNCED) {
          ack(u.getRevision());
          if (seen) {
            return;
          }
        }
      }
    }

    void awaitSynced() throws InterruptedException {
      while (true) {
        PolicyUpdate u = received.poll(30, TimeUnit.SECONDS);
        if (u == null) {
          throw new IllegalStateException("no SYNCED in 30 s");
        }
        if (u.getType() == PolicyUpdate.Type.SYNCED) {
          ack(u.getRevision());
          return;
        }
      }
    }

    void awaitAnyUpsert() throws InterruptedException {
      boolean seen = false;
      while (true) {
        PolicyUpdate u = received.poll(30, TimeUnit.SECONDS);
        if (u == null) {
          throw new IllegalStateException("no delta in 30 s");
        }
        if (u.getType() == PolicyUpdate.Type.UPSERT || u.getType() == PolicyUpdate.Type.PATCH) {
          seen = true;
        }
        if (u.getType() == PolicyUpdate.Type.SYNCED) {
          ack(u.getRevision());
          if (seen) {
            return;
          }
        }
      }
    }
  }
}
