package io.porin.core.service;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016), as Cilium's {@code lb-algorithm: maglev}:
 * a lookup table of {@code m} slots (a prime) filled from each backend's permutation, so that every
 * node computes the same table from the same backends, each backend gets its share of the slots
 * (they differ by at most one), and removing a backend moves few flows of the others.
 */
public final class Maglev {
  /** Cilium's default table size. */
  public static final int DEFAULT_TABLE_SIZE = 16381;

  private static final long SEED_OFFSET = 0x9e3779b97f4a7c15L;
  private static final long SEED_SKIP = 0xc2b2ae3d27d4eb4fL;

  private Maglev() {}

  /**
   * The table: for each slot, the index (into {@code backends}) of the backend that owns it. Empty
   * when there are no backends.
   *
   * @param backends stable names of the backends (e.g. "10.0.1.5:3000"); order does not matter for
   *     the slots each name gets, only for the indexes returned
   * @param m the table size, a prime larger than the number of backends
   */
  public static int[] table(List<String> backends, int m) {
    int n = backends.size();
    if (n == 0) {
      return new int[0];
    }
    if (n >= m) {
      throw new IllegalArgumentException(
          "maglev: " + n + " backends do not fit a table of " + m + " slots");
    }
    long[] offset = new long[n];
    long[] skip = new long[n];
    // Fill in name order, so that the table does not depend on the order the caller lists them.
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      byte[] name = backends.get(i).getBytes(StandardCharsets.UTF_8);
      offset[i] = Long.remainderUnsigned(hash(name, SEED_OFFSET), m);
      skip[i] = Long.remainderUnsigned(hash(name, SEED_SKIP), m - 1) + 1;
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> backends.get(a).compareTo(backends.get(b)));
    int[] table = new int[m];
    Arrays.fill(table, -1);
    long[] next = new long[n];
    int filled = 0;
    while (true) {
      for (int k = 0; k < n; k++) {
        int i = order[k];
        long c = (offset[i] + next[i] * skip[i]) % m;
        while (table[(int) c] >= 0) {
          next[i]++;
          c = (offset[i] + next[i] * skip[i]) % m;
        }
        table[(int) c] = i;
        next[i]++;
        if (++filled == m) {
          return table;
        }
      }
    }
  }

  /** 64-bit hash (FNV-1a, then a murmur3 finalizer): deterministic across JVMs and nodes. */
  static long hash(byte[] data, long seed) {
    long h = 0xcbf29ce484222325L ^ seed;
    for (byte b : data) {
      h ^= (b & 0xff);
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
