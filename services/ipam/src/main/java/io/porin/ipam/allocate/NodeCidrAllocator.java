package io.porin.ipam.allocate;

import io.porin.core.ipam.Cidr;
import io.porin.core.ipam.ClusterPool;
import io.porin.kvstore.Entry;
import io.porin.kvstore.KeyValueNames;
import io.porin.kvstore.Keys.Ipam;
import io.porin.kvstore.KvStore;
import io.porin.kvstore.KvStoreException;
import io.porin.kvstore.Snapshot;
import io.porin.kvstore.Transaction;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Hands each node its pod CIDRs from the cluster pools, in etcd, so that every replica gives a node
 * the same answer, concurrently and after any restart.
 *
 * <p>A node gets its blocks (one per enabled family) in one transaction that creates the node key
 * and each block key only if none exists: a block is never held by two nodes, and a node never
 * half-allocated. Blocks are taken lowest-first across the pools in order, as Cilium does; a
 * replica that loses a race re-reads and tries again, starting a little further on so that racing
 * replicas spread out.
 */
public final class NodeCidrAllocator {
  private static final int MAX_ATTEMPTS = 64;

  /** One family's pool and the name of its setting, for messages. */
  public record FamilyPool(ClusterPool pool, String setting) {}

  private final KvStore kv;
  private final List<FamilyPool> families;
  private final RandomGenerator random;

  public NodeCidrAllocator(KvStore kv, List<FamilyPool> families, RandomGenerator random) {
    this.kv = kv;
    this.families = List.copyOf(families);
    this.random = random;
  }

  /** The pools, IPv4 first. */
  public List<FamilyPool> families() {
    return families;
  }

  /**
   * The node's CIDRs, allocated when it has none.
   *
   * @throws IllegalArgumentException naming the field for a bad node name
   * @throws PoolExhaustedException naming the pool when a family has no free block
   * @throws KvStoreException of kind UNAVAILABLE when etcd does not answer (nothing written)
   */
  public NodeCidrs allocate(String node) {
    checkNode(node);
    String nodeKey = Ipam.node(node);
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      Optional<Entry> existing = kv.get(nodeKey);
      if (existing.isPresent()) {
        return NodeCidrs.decode(node, existing.get().value(), existing.get().modRevision());
      }
      List<Cidr> picked = new ArrayList<>();
      Transaction t = kv.transaction().ifAbsent(nodeKey);
      for (FamilyPool f : families) {
        Cidr block = pickFree(f, attempt);
        String key = Ipam.block(f.pool().family().label(), block.toString());
        t.ifAbsent(key).put(key, node);
        picked.add(block);
      }
      NodeCidrs result = new NodeCidrs(node, picked, 0);
      Transaction.Result r = t.put(nodeKey, result.encode()).orElseGet(nodeKey).commit();
      if (r.succeeded()) {
        return new NodeCidrs(node, picked, r.revision());
      }
      Entry raced = r.reads().getFirst();
      if (raced != null) {
        return NodeCidrs.decode(node, raced.value(), raced.modRevision());
      }
      // A block was taken by another node meanwhile: look again.
    }
    throw new KvStoreException(
        KvStoreException.Kind.UNAVAILABLE,
        "allocation for node " + node + " lost " + MAX_ATTEMPTS + " races in a row; retry",
        null);
  }

  /** The lowest free block, or after a lost race one of the next few free ones. */
  private Cidr pickFree(FamilyPool f, int attempt) {
    ClusterPool pool = f.pool();
    String family = pool.family().label();
    Snapshot held = kv.list(Ipam.blocks(family));
    Set<BigInteger> used = new HashSet<>();
    for (Entry e : held.entries()) {
      pool.indexOf(Cidr.parse(Ipam.cidrOf(family, e.key()))).ifPresent(used::add);
    }
    int skip = attempt == 0 ? 0 : random.nextInt(Math.min(1 << Math.min(attempt, 10), 64));
    BigInteger total = pool.blockCount();
    BigInteger firstFree = null;
    for (BigInteger i = BigInteger.ZERO; i.compareTo(total) < 0; i = i.add(BigInteger.ONE)) {
      if (!used.contains(i)) {
        if (firstFree == null) {
          firstFree = i;
        }
        if (skip-- == 0) {
          return pool.block(i);
        }
      }
    }
    if (firstFree == null) {
      throw new PoolExhaustedException(f.setting(), pool, kv.count(Ipam.NODES_PREFIX));
    }
    return pool.block(firstFree);
  }

  /**
   * Returns the node's CIDRs to the pools.
   *
   * @return true when the node held CIDRs
   */
  public boolean release(String node) {
    checkNode(node);
    String nodeKey = Ipam.node(node);
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      Optional<Entry> existing = kv.get(nodeKey);
      if (existing.isEmpty()) {
        return false;
      }
      NodeCidrs n = NodeCidrs.decode(node, existing.get().value(), existing.get().modRevision());
      Transaction t =
          kv.transaction().ifModRevision(nodeKey, existing.get().modRevision()).delete(nodeKey);
      for (Cidr c : n.cidrs()) {
        String key = Ipam.block(c.family().label(), c.toString());
        t.ifValue(key, node).delete(key);
      }
      if (t.commit().succeeded()) {
        return true;
      }
    }
    throw new KvStoreException(
        KvStoreException.Kind.UNAVAILABLE, "release of node " + node + " kept racing; retry", null);
  }

  /** Every node's CIDRs, by name, at one revision. */
  public Listing list() {
    Snapshot nodes = kv.list(Ipam.NODES_PREFIX);
    List<NodeCidrs> out = new ArrayList<>();
    for (Entry e : nodes.entries()) {
      out.add(NodeCidrs.decode(Ipam.nodeOf(e.key()), e.value(), e.modRevision()));
    }
    List<Usage> usage = new ArrayList<>();
    for (FamilyPool f : families) {
      String family = f.pool().family().label();
      usage.add(new Usage(f.pool(), kv.count(Ipam.blocks(family))));
    }
    return new Listing(out, nodes.revision(), usage);
  }

  /** How much of a family's pools is held. */
  public record Usage(ClusterPool pool, long blocksUsed) {}

  /** Every node at one revision, and the pools' usage. */
  public record Listing(List<NodeCidrs> nodes, long revision, List<Usage> usage) {}

  /**
   * Checks a node name.
   *
   * @throws IllegalArgumentException naming the field and the value
   */
  public static void checkNode(String node) {
    if (node == null || node.isEmpty()) {
      throw new IllegalArgumentException("node: the node name is empty");
    }
    if (node.length() > 253 || !KeyValueNames.isSafeSegment(node)) {
      throw new IllegalArgumentException(
          "node: \"" + node + "\" must be 1 to 253 characters without '/' or white space");
    }
  }
}
