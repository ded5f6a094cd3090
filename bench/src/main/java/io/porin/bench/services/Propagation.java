package io.porin.bench.services;

import io.porin.agent.bpf.maps.LoadBalancerMaps;
import io.porin.agent.datapath.LoadBalancer;
import io.porin.core.ipam.Cidr;
import io.porin.core.policy.Protocol;
import io.porin.core.service.ServiceRecord;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Transaction;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * From the store's change to every node's kernel maps, in a running lab: (1) 10,000 services of 10
 * backends written to etcd (the records the policy service publishes), timed until the last one is
 * in every node's load-balancing maps; (2) one service's backend changed, again and again, timed
 * until every node's maps hold the new backend (p50, p99, max). Reads the nodes' pinned maps
 * directly (lookups, no iteration). Runs in the lab's control-plane namespace (etcd on 127.0.0.1).
 *
 * <pre>Propagation ETCD SERVICES CHANGES PIN_DIR...</pre>
 */
public final class Propagation {
  private Propagation() {}

  static ServiceRecord record(String name, String vip, int backends, int offset, int targetPort) {
    List<ServiceRecord.Backend> bs = new ArrayList<>();
    for (int b = 0; b < backends; b++) {
      int n = offset + b;
      String ip = "10." + (130 + n / 62500) + "." + (n / 250 % 250) + "." + (n % 250 + 1);
      bs.add(
          new ServiceRecord.Backend(
              "p" + n, "n", List.of(ip), ServiceRecord.State.ACTIVE, List.of(targetPort)));
    }
    return new ServiceRecord(
        "bench",
        name,
        "ClusterIP",
        List.of(vip),
        false,
        List.of(new ServiceRecord.Port("p", 80, Protocol.TCP, 0)),
        0,
        "random",
        bs);
  }

  static String vip(int i) {
    return "10.98." + (i / 250) + "." + (i % 250 + 1);
  }

  static LoadBalancer.Address frontend(String vip) {
    return new LoadBalancer.Address(
        Cidr.Family.IPV4,
        new BigInteger(1, InetAddress.ofLiteral(vip).getAddress()),
        80,
        Protocol.TCP);
  }

  public static void main(String[] args) throws Exception {
    String etcd = args[0];
    int services = Integer.parseInt(args[1]);
    int changes = Integer.parseInt(args[2]);
    List<LoadBalancerMaps> nodes = new ArrayList<>();
    for (int i = 3; i < args.length; i++) {
      nodes.add(LoadBalancerMaps.pinned(Path.of(args[i])));
    }
    try (KvStore kv =
        KvStore.connect(
            List.of(etcd),
            Duration.ofSeconds(10),
            io.porin.bench.BenchTls.fromEnvironment().orElse(null))) {
      kv.transaction().deletePrefix(Keys.Services.PREFIX + "bench/").commit();
      // (1) many services at once
      long t0 = System.nanoTime();
      for (int from = 0; from < services; from += 100) {
        Transaction tx = kv.transaction();
        for (int i = from; i < Math.min(services, from + 100); i++) {
          tx.put(
              Keys.Services.service("bench", "s" + i),
              record("s" + i, vip(i), 10, i * 10, 8080).toJson());
        }
        tx.commit();
      }
      long written = System.nanoTime() - t0;
      LoadBalancer.Address last = frontend(vip(services - 1));
      long[] inKernel = new long[nodes.size()];
      for (int n = 0; n < nodes.size(); n++) {
        while (nodes.get(n).frontend(last).map(s -> s.active().size()).orElse(0) < 10) {
          if (System.nanoTime() - t0 > 120_000_000_000L) {
            throw new IllegalStateException("node " + n + " never got the last service");
          }
          Thread.sleep(1);
        }
        inKernel[n] = System.nanoTime() - t0;
      }
      System.out.printf(
          "%,d services x 10 backends: written to etcd in %d ms; in the kernel maps of every node"
              + " %d ms after the first write (per node: %s ms)%n",
          services,
          written / 1_000_000,
          Arrays.stream(inKernel).max().orElse(0) / 1_000_000,
          Arrays.toString(Arrays.stream(inKernel).map(x -> x / 1_000_000).toArray()));

      // (2) one service's backend, changed again and again
      long[] took = new long[changes];
      LoadBalancer.Address f = frontend(vip(0));
      for (int c = 0; c < changes; c++) {
        int port = 10000 + c;
        long start = System.nanoTime();
        kv.put(Keys.Services.service("bench", "s0"), record("s0", vip(0), 1, 0, port).toJson(), 0);
        for (LoadBalancerMaps node : nodes) {
          while (true) {
            var svc = node.frontend(f);
            if (svc.isPresent() && svc.get().active().size() == 1) {
              var be = node.backendById(svc.get().active().getFirst());
              if (be.isPresent() && be.get().port() == port) {
                break;
              }
            }
            if (System.nanoTime() - start > 10_000_000_000L) {
              throw new IllegalStateException("a node never got change " + c);
            }
            // a short nap, not a spin: the agents need the CPU (2 cores) more than this loop
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
          }
        }
        took[c] = System.nanoTime() - start;
        Thread.sleep(20);
      }
      Arrays.sort(took);
      System.out.printf(
          "one service's backend change, %d times, until every node's maps have it: p50 %.1f ms,"
              + " p99 %.1f ms, max %.1f ms%n",
          changes,
          took[changes / 2] / 1e6,
          took[Math.min(changes - 1, (int) Math.ceil(changes * 0.99) - 1)] / 1e6,
          took[changes - 1] / 1e6);
      kv.transaction().deletePrefix(Keys.Services.PREFIX + "bench/").commit();
    }
  }
}
