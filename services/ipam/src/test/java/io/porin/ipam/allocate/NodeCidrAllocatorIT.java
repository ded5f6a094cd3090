package io.porin.ipam.allocate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.porin.core.ipam.Cidr;
import io.porin.core.ipam.ClusterPool;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.testing.EtcdProcess;
import java.util.ArrayList;
import java.util.Collections;
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

/** The allocator against a real etcd; each instance is what one service replica runs. */
class NodeCidrAllocatorIT {
  private EtcdProcess etcd;
  private final List<KvStore> clients = new ArrayList<>();

  @BeforeEach
  void start() {
    etcd = EtcdProcess.start("ipam");
  }

  @AfterEach
  void stop() {
    clients.forEach(KvStore::close);
    clients.clear();
    etcd.close();
  }

  private NodeCidrAllocator replica(List<String> v4, int mask4, List<String> v6, int mask6) {
    KvStore kv = etcd.connect();
    clients.add(kv);
    List<NodeCidrAllocator.FamilyPool> pools = new ArrayList<>();
    pools.add(
        new NodeCidrAllocator.FamilyPool(
            ClusterPool.of(Cidr.Family.IPV4, v4, mask4, "v4list", "v4mask"), "v4list"));
    if (v6 != null) {
      pools.add(
          new NodeCidrAllocator.FamilyPool(
              ClusterPool.of(Cidr.Family.IPV6, v6, mask6, "v6list", "v6mask"), "v6list"));
    }
    return new NodeCidrAllocator(kv, pools, new Random());
  }

  private NodeCidrAllocator defaults() {
    return replica(List.of("10.0.0.0/8"), 24, List.of("fd00::/104"), 120);
  }

  @Test
  void twoReplicasRacingFor500NodesGiveDisjointCidrsAndOneAnswerPerNode() throws Exception {
    NodeCidrAllocator a = defaults();
    NodeCidrAllocator b = defaults();
    List<String> nodes = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      nodes.add("node-" + i);
    }
    Map<String, NodeCidrs> fromA = new ConcurrentHashMap<>();
    Map<String, NodeCidrs> fromB = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<?>> fs = new ArrayList<>();
      fs.addAll(allocateAll(pool, a, nodes, fromA, new Random(1)));
      fs.addAll(allocateAll(pool, b, nodes, fromB, new Random(2)));
      for (Future<?> f : fs) {
        f.get(180, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(fromA).hasSize(500);
    for (String n : nodes) {
      assertThat(fromA.get(n).cidrs()).isEqualTo(fromB.get(n).cidrs());
    }
    Set<Cidr> v4 = new HashSet<>();
    Set<Cidr> v6 = new HashSet<>();
    for (NodeCidrs n : fromA.values()) {
      assertThat(n.of(Cidr.Family.IPV4)).hasSize(1);
      assertThat(n.of(Cidr.Family.IPV6)).hasSize(1);
      assertThat(v4.add(n.of(Cidr.Family.IPV4).getFirst())).isTrue();
      assertThat(v6.add(n.of(Cidr.Family.IPV6).getFirst())).isTrue();
      assertThat(Cidr.parse("10.0.0.0/8").contains(n.of(Cidr.Family.IPV4).getFirst())).isTrue();
      assertThat(n.of(Cidr.Family.IPV4).getFirst().prefixLength()).isEqualTo(24);
      assertThat(n.of(Cidr.Family.IPV6).getFirst().prefixLength()).isEqualTo(120);
    }
    // Blocks do not overlap (distinct /24s of one pool cannot, but check as the reference would).
    List<Cidr> sorted = new ArrayList<>(v4);
    Collections.sort(sorted);
    for (int i = 1; i < sorted.size(); i++) {
      assertThat(sorted.get(i - 1).overlaps(sorted.get(i))).isFalse();
    }
    NodeCidrAllocator.Listing l = a.list();
    assertThat(l.nodes()).hasSize(500);
    assertThat(l.usage())
        .extracting(NodeCidrAllocator.Usage::blocksUsed)
        .containsExactly(500L, 500L);
  }

  private static List<Future<?>> allocateAll(
      ExecutorService pool,
      NodeCidrAllocator allocator,
      List<String> nodes,
      Map<String, NodeCidrs> out,
      Random r) {
    List<String> order = new ArrayList<>(nodes);
    Collections.shuffle(order, r);
    List<Future<?>> fs = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      int thread = t;
      fs.add(
          pool.submit(
              () -> {
                for (int i = thread; i < order.size(); i += 8) {
                  out.put(order.get(i), allocator.allocate(order.get(i)));
                }
              }));
    }
    return fs;
  }

  @Test
  void aRestartKeepsEveryAllocation() {
    NodeCidrAllocator a = defaults();
    NodeCidrs one = a.allocate("node-1");
    NodeCidrs two = a.allocate("node-2");
    etcd.stop();
    etcd.start();
    NodeCidrAllocator again = defaults();
    assertThat(again.allocate("node-1").cidrs()).isEqualTo(one.cidrs());
    assertThat(again.allocate("node-2").cidrs()).isEqualTo(two.cidrs());
    assertThat(one.cidrs()).extracting(Cidr::toString).containsExactly("10.0.0.0/24", "fd00::/120");
    assertThat(two.cidrs())
        .extracting(Cidr::toString)
        .containsExactly("10.0.1.0/24", "fd00::100/120");
  }

  @Test
  void exhaustionNamesThePoolAndReleaseReturnsTheBlock() {
    NodeCidrAllocator a = replica(List.of("10.0.0.0/23", "10.5.0.0/24"), 24, null, 0);
    assertThat(a.allocate("n1").cidrs()).extracting(Cidr::toString).containsExactly("10.0.0.0/24");
    assertThat(a.allocate("n2").cidrs()).extracting(Cidr::toString).containsExactly("10.0.1.0/24");
    assertThat(a.allocate("n3").cidrs()).extracting(Cidr::toString).containsExactly("10.5.0.0/24");
    assertThatThrownBy(() -> a.allocate("n4"))
        .isInstanceOf(PoolExhaustedException.class)
        .hasMessageContaining(
            "the ipv4 pool [10.0.0.0/23, 10.5.0.0/24] in /24 blocks (v4list) is exhausted")
        .hasMessageContaining("3 nodes hold all 3 blocks");
    assertThat(a.release("n2")).isTrue();
    assertThat(a.release("n2")).isFalse();
    assertThat(a.allocate("n4").cidrs()).extracting(Cidr::toString).containsExactly("10.0.1.0/24");
    // A node that comes back after release gets a block again.
    assertThat(a.release("n1")).isTrue();
    assertThat(a.allocate("n1").cidrs()).extracting(Cidr::toString).containsExactly("10.0.0.0/24");
    assertThat(a.list().nodes()).extracting(NodeCidrs::node).containsExactly("n1", "n3", "n4");
  }

  @Test
  void anExhaustedFamilyWritesNothingForTheOther() {
    NodeCidrAllocator a = replica(List.of("10.0.0.0/16"), 24, List.of("fd00::/120"), 120);
    a.allocate("n1");
    assertThatThrownBy(() -> a.allocate("n2")).hasMessageContaining("the ipv6 pool");
    assertThat(a.list().nodes()).hasSize(1);
    assertThat(a.list().usage())
        .extracting(NodeCidrAllocator.Usage::blocksUsed)
        .containsExactly(1L, 1L);
  }

  @Test
  void badNodeNamesAreNamed() {
    NodeCidrAllocator a = defaults();
    assertThatThrownBy(() -> a.allocate("")).hasMessage("node: the node name is empty");
    assertThatThrownBy(() -> a.allocate("a/b")).hasMessageStartingWith("node: \"a/b\"");
  }
}
