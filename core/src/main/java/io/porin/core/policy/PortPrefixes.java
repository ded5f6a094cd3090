package io.porin.core.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * Port ranges as the prefixes an LPM map can hold (Cilium's PortRangeToMaskedPorts): 80-83 is 80/14
 * (four ports: 16 bits minus 2); the fewest aligned blocks that cover the range exactly.
 */
public final class PortPrefixes {

  /** An aligned block of ports: {@code port} with the first {@code bits} of 16 fixed. */
  public record PortPrefix(int port, int bits) {
    public int first() {
      return port;
    }

    public int last() {
      return port + (1 << (16 - bits)) - 1;
    }
  }

  private PortPrefixes() {}

  /** The blocks covering {@code first..last} (inclusive, 0..65535), in ascending order. */
  public static List<PortPrefix> of(int first, int last) {
    if (first < 0 || last > 65535 || first > last) {
      throw new IllegalArgumentException("bad port range " + first + "-" + last);
    }
    List<PortPrefix> out = new ArrayList<>();
    int p = first;
    while (p <= last) {
      int size = p == 0 ? 1 << 16 : Integer.lowestOneBit(p);
      while (p + size - 1 > last) {
        size >>= 1;
      }
      out.add(new PortPrefix(p, 16 - Integer.numberOfTrailingZeros(size)));
      p += size;
    }
    return out;
  }
}
