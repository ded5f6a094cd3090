package io.porin.core.identity;

import java.util.Optional;
import java.util.function.IntPredicate;
import java.util.random.RandomGenerator;

/**
 * The identities one cluster allocates: {@code clusterId << 16 | 256} to {@code clusterId << 16 |
 * 65535}. Free numbers are picked at random, as Cilium does, so that concurrent allocators on
 * several replicas rarely race for the same number.
 */
public record AllocationRange(int clusterId) {

  public AllocationRange {
    NumericIdentity.checkClusterId(clusterId);
  }

  /** The first identity of the range. */
  public NumericIdentity min() {
    return NumericIdentity.minOfCluster(clusterId);
  }

  /** The last identity of the range. */
  public NumericIdentity max() {
    return NumericIdentity.maxOfCluster(clusterId);
  }

  /** How many identities the range holds. */
  public int size() {
    return max().value() - min().value() + 1;
  }

  /** True when the identity lies in this range. */
  public boolean contains(NumericIdentity id) {
    return id.value() >= min().value() && id.value() <= max().value();
  }

  /**
   * A random identity of the range for which {@code used} is false, or empty when every one is
   * used. Starts at a random offset and scans forward, wrapping once.
   */
  public Optional<NumericIdentity> pickFree(IntPredicate used, RandomGenerator random) {
    int size = size();
    int start = random.nextInt(size);
    for (int i = 0; i < size; i++) {
      int v = min().value() + (start + i) % size;
      if (!used.test(v)) {
        return Optional.of(new NumericIdentity(v));
      }
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    return "cluster " + clusterId + " (" + min() + ".." + max() + ")";
  }
}
