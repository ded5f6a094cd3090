package io.porin.bench.mesh;

import static io.porin.agent.bpf.MapLayouts.IPCACHE_KEY;
import static io.porin.agent.bpf.MapLayouts.IPCACHE_VALUE;

import io.porin.agent.bpf.BpfMap;
import io.porin.agent.bpf.MapLayouts;
import io.porin.agent.bpf.maps.IpcacheMap;
import io.porin.core.ipam.Cidr;
import io.porin.kvstore.Keys;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.Transaction;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * From one cluster's store to another cluster's kernel maps, through both clustermesh services, in
 * two connected labs: (1) {@code ENDPOINTS} endpoints of {@code IDENTITIES} identities written to
 * the source cluster's etcd (as its agents publish them, on nodes that hold IPAM blocks), timed
 * until the last one is in every node of the other cluster's ipcache, with the bytes that crossed
 * the link between the clusters; (2) one endpoint added, again and again, timed until every node of
 * the other cluster has it (p50, p99, max). Runs in the source lab's control-plane namespace (its
 * etcd on 127.0.0.1) and reads the other lab's nodes' pinned maps directly.
 *
 * <pre>
 * MeshPropagation ETCD CLUSTER CLUSTER_ID LINK ENDPOINTS IDENTITIES CHANGES POOL PIN_DIR...
 * </pre>
 *
 * LINK is the interface of the source cluster's router towards the other cluster (its bytes in both
 * directions are counted); POOL the source cluster's IPv4 pod pool.
 */
public final class MeshPropagation {
  private MeshPropagation() {}

  static final String NS = "meshbench";

  /**
   * Endpoint n's address: the source cluster's pool, from its 100th /24 on (fake nodes' blocks).
   */
  static String address(String pool, int n) {
    String[] o = pool.split("[./]");
    return o[0] + "." + o[1] + "." + (100 + n / 250) + "." + (n % 250 + 2);
  }

  static String node(int n) {
    return "meshbench-n" + (n / 250);
  }

  static long identity(int clusterId, int i) {
    return ((long) clusterId << 16) + 20000 + i;
  }

  /** Bytes received and sent by an interface of this process's network namespace. */
  static long bytes(String dev) throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/net/dev"))) {
      String[] p = line.trim().split("[:\\s]+");
      if (p[0].equals(dev)) {
        return Long.parseLong(p[1]) + Long.parseLong(p[9]);
      }
    }
    throw new IllegalArgumentException("no interface " + dev + " in this network namespace");
  }

  public static void main(String[] args) throws Exception {
    String etcd = args[0];
    String cluster = args[1];
    int clusterId = Integer.parseInt(args[2]);
    String link = args[3];
    int endpoints = Integer.parseInt(args[4]);
    int identities = Integer.parseInt(args[5]);
    int changes = Integer.parseInt(args[6]);
    String pool = args[7];
    List<IpcacheMap> nodes = new ArrayList<>();
    for (int i = 8; i < args.length; i++) {
      nodes.add(
          new IpcacheMap(
              BpfMap.fromPin(
                  Path.of(args[i]).resolve("porin_ipcache"),
                  "porin_ipcache",
                  MapLayouts.size(IPCACHE_KEY),
                  MapLayouts.size(IPCACHE_VALUE))));
    }
    try (KvStore kv =
        KvStore.connect(
            List.of(etcd),
            Duration.ofSeconds(10),
            io.porin.bench.BenchTls.fromEnvironment().orElse(null))) {
      int blocks = (endpoints + changes) / 250 + 1;
      Transaction tx = kv.transaction();
      for (int b = 0; b < blocks; b++) {
        String[] o = pool.split("[./]");
        String cidr = o[0] + "." + o[1] + "." + (100 + b) + ".0/24";
        tx.put(Keys.Ipam.block("ipv4", cidr), node(b * 250));
      }
      tx.commit();
      long bytes0 = bytes(link);
      long t0 = System.nanoTime();
      for (int from = 0; from < identities; from += 50) {
        Transaction t = kv.transaction();
        for (int i = from; i < Math.min(identities, from + 50); i++) {
          long id = identity(clusterId, i);
          t.put(
              Keys.Identities.id(id),
              "k8s:app=bench-"
                  + i
                  + ";k8s:io.cilium.k8s.policy.cluster="
                  + cluster
                  + ";k8s:io.kubernetes.pod.namespace="
                  + NS);
          // referenced, so the identity service's collector leaves them
          t.put(Keys.Identities.ref(id, "meshbench"), "1");
        }
        t.commit();
      }
      for (int from = 0; from < endpoints; from += 100) {
        Transaction t = kv.transaction();
        for (int n = from; n < Math.min(endpoints, from + 100); n++) {
          t.put(
              Keys.Endpoints.endpoint(node(n), address(pool, n)), record(n, clusterId, identities));
        }
        t.commit();
      }
      long written = System.nanoTime() - t0;
      String last = address(pool, endpoints - 1);
      long[] inKernel = new long[nodes.size()];
      for (int i = 0; i < nodes.size(); i++) {
        while (lookup(nodes.get(i), last) == 0) {
          if (System.nanoTime() - t0 > 300_000_000_000L) {
            throw new IllegalStateException("node " + i + " never got the last endpoint");
          }
          Thread.sleep(2);
        }
        inKernel[i] = System.nanoTime() - t0;
      }
      long crossed = bytes(link) - bytes0;
      System.out.printf(
          "%,d endpoints of %,d identities: written to %s's etcd in %d ms; in every node's ipcache of"
              + " the other cluster %d ms after the first write (per node: %s ms); %,d bytes"
              + " crossed the link between the clusters (%.0f per endpoint)%n",
          endpoints,
          identities,
          cluster,
          written / 1_000_000,
          Arrays.stream(inKernel).max().orElse(0) / 1_000_000,
          Arrays.toString(Arrays.stream(inKernel).map(x -> x / 1_000_000).toArray()),
          crossed,
          (double) crossed / endpoints);

      // (2) one new endpoint at a time
      long[] took = new long[changes];
      for (int c = 0; c < changes; c++) {
        int n = endpoints + c;
        long start = System.nanoTime();
        kv.put(
            Keys.Endpoints.endpoint(node(n), address(pool, n)),
            record(n, clusterId, identities),
            0);
        for (IpcacheMap node : nodes) {
          while (lookup(node, address(pool, n)) == 0) {
            if (System.nanoTime() - start > 10_000_000_000L) {
              throw new IllegalStateException("a node never got endpoint " + n);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(100_000);
          }
        }
        took[c] = System.nanoTime() - start;
        Thread.sleep(20);
      }
      Arrays.sort(took);
      System.out.printf(
          "one endpoint added in %s, %d times, until every node of the other cluster has it in its"
              + " ipcache: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
          cluster,
          changes,
          took[changes / 2] / 1e6,
          took[Math.min(changes - 1, (int) Math.ceil(changes * 0.99) - 1)] / 1e6,
          took[changes - 1] / 1e6);
    }
  }

  static String record(int n, int clusterId, int identities) {
    return "{\"identity\":"
        + identity(clusterId, n % identities)
        + ",\"node\":\""
        + node(n)
        + "\",\"namespace\":\""
        + NS
        + "\",\"pod\":\"p"
        + n
        + "\",\"endpointId\":"
        + (n + 1)
        + "}";
  }

  static int lookup(IpcacheMap map, String ip) throws Exception {
    byte[] a = InetAddress.ofLiteral(ip).getAddress();
    return map.lookup(Cidr.Family.IPV4, new BigInteger(1, a)).orElse(0);
  }
}
