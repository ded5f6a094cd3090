package io.porin.core.ipam;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One address family's cluster pool, as Cilium's cluster-pool IPAM: a list of pool CIDRs, split
 * into node blocks of one mask size, used in order. Blocks are numbered across the pools: the first
 * pool's blocks first.
 */
public final class ClusterPool {
  private final Cidr.Family family;
  private final List<Cidr> pools;
  private final int maskSize;
  private final BigInteger blockCount;

  private ClusterPool(Cidr.Family family, List<Cidr> pools, int maskSize) {
    this.family = family;
    this.pools = List.copyOf(pools);
    this.maskSize = maskSize;
    BigInteger n = BigInteger.ZERO;
    for (Cidr p : pools) {
      n = n.add(p.blockCount(maskSize));
    }
    this.blockCount = n;
  }

  /**
   * Builds a pool from settings, refusing what Cilium users would get wrong.
   *
   * @param listSetting the setting's name, for messages (e.g. {@code clusterPoolIPv4PodCIDRList})
   * @param maskSetting the mask setting's name
   * @throws IllegalArgumentException naming the setting and the value: an unparsable CIDR, a CIDR
   *     of the other family, overlapping pools, a mask size shorter than a pool's prefix
   */
  public static ClusterPool of(
      Cidr.Family family,
      List<String> cidrs,
      int maskSize,
      String listSetting,
      String maskSetting) {
    if (cidrs.isEmpty()) {
      throw new IllegalArgumentException(listSetting + ": the list is empty");
    }
    if (maskSize < 0 || maskSize > family.bits()) {
      throw new IllegalArgumentException(
          maskSetting + ": " + maskSize + " is outside 0.." + family.bits());
    }
    List<Cidr> pools = new ArrayList<>();
    for (String s : cidrs) {
      Cidr c;
      try {
        c = Cidr.parse(s);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(listSetting + ": " + e.getMessage(), e);
      }
      if (c.family() != family) {
        throw new IllegalArgumentException(
            listSetting + ": \"" + s + "\" is not an " + family.label() + " CIDR");
      }
      if (maskSize < c.prefixLength()) {
        throw new IllegalArgumentException(
            maskSetting
                + ": /"
                + maskSize
                + " is shorter than the pool "
                + c
                + " in "
                + listSetting
                + " (a node block cannot be larger than its pool)");
      }
      for (Cidr other : pools) {
        if (other.overlaps(c)) {
          throw new IllegalArgumentException(
              listSetting + ": the pools " + other + " and " + c + " overlap");
        }
      }
      pools.add(c);
    }
    return new ClusterPool(family, pools, maskSize);
  }

  public Cidr.Family family() {
    return family;
  }

  public List<Cidr> pools() {
    return pools;
  }

  public int maskSize() {
    return maskSize;
  }

  /** How many node blocks all pools hold together. */
  public BigInteger blockCount() {
    return blockCount;
  }

  /** Block number {@code index} across the pools, in order. */
  public Cidr block(BigInteger index) {
    BigInteger i = index;
    for (Cidr p : pools) {
      BigInteger n = p.blockCount(maskSize);
      if (i.compareTo(n) < 0) {
        return p.block(i, maskSize);
      }
      i = i.subtract(n);
    }
    throw new IndexOutOfBoundsException("block " + index + " is beyond " + this);
  }

  /** The number of a block, if it is one of this pool's blocks. */
  public Optional<BigInteger> indexOf(Cidr block) {
    if (block.family() != family || block.prefixLength() != maskSize) {
      return Optional.empty();
    }
    BigInteger base = BigInteger.ZERO;
    for (Cidr p : pools) {
      if (p.contains(block)) {
        return Optional.of(base.add(p.indexOf(block)));
      }
      base = base.add(p.blockCount(maskSize));
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    return pools + " in /" + maskSize + " blocks";
  }
}
