package io.porin.core.ipam;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * An IPv4 or IPv6 prefix, such as {@code 10.0.0.0/8} or {@code fd00::/104}. Host bits must be zero.
 * Arithmetic is on {@link BigInteger} so that IPv4 and IPv6, /0 included, share one code path; this
 * is control-plane code, not the packet path.
 */
public record Cidr(Family family, BigInteger network, int prefixLength)
    implements Comparable<Cidr> {

  /** The address family. */
  public enum Family {
    IPV4(32),
    IPV6(128);

    private final int bits;

    Family(int bits) {
      this.bits = bits;
    }

    /** Address width in bits. */
    public int bits() {
      return bits;
    }

    /** Lower-case name as in settings and output: ipv4, ipv6. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  public Cidr {
    Objects.requireNonNull(family, "family");
    Objects.requireNonNull(network, "network");
    if (prefixLength < 0 || prefixLength > family.bits()) {
      throw new IllegalArgumentException(
          "prefix length " + prefixLength + " is outside 0.." + family.bits());
    }
    if (network.signum() < 0 || network.bitLength() > family.bits()) {
      throw new IllegalArgumentException("address out of range for " + family.label());
    }
    if (!network.and(hostMask(family, prefixLength)).equals(BigInteger.ZERO)) {
      throw new IllegalArgumentException("host bits are set");
    }
  }

  /**
   * Parses {@code address/prefix}.
   *
   * @throws IllegalArgumentException naming the text and what is wrong, including host bits that
   *     are set ("did you mean ...")
   */
  public static Cidr parse(String text) {
    Objects.requireNonNull(text, "cidr");
    String t = text.strip();
    int slash = t.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("\"" + text + "\" is not a CIDR: no /prefix");
    }
    String addr = t.substring(0, slash);
    int prefix;
    try {
      prefix = Integer.parseInt(t.substring(slash + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("\"" + text + "\" is not a CIDR: bad prefix length");
    }
    Family family;
    if (addr.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      family = Family.IPV4;
    } else if (addr.contains(":") && addr.matches("[0-9A-Fa-f:.]+")) {
      family = Family.IPV6;
    } else {
      throw new IllegalArgumentException(
          "\"" + text + "\" is not a CIDR: bad address \"" + addr + "\"");
    }
    byte[] bytes;
    try {
      // Only literals reach here (checked above), so no name lookup happens.
      bytes = InetAddress.getByName(addr).getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException(
          "\"" + text + "\" is not a CIDR: bad address \"" + addr + "\"");
    }
    if ((family == Family.IPV4) != (bytes.length == 4)) {
      throw new IllegalArgumentException(
          "\"" + text + "\" is not a CIDR: bad address \"" + addr + "\"");
    }
    if (prefix < 0 || prefix > family.bits()) {
      throw new IllegalArgumentException(
          "\"" + text + "\": prefix length " + prefix + " is outside 0.." + family.bits());
    }
    BigInteger value = new BigInteger(1, bytes);
    BigInteger masked = value.andNot(hostMask(family, prefix));
    if (!masked.equals(value)) {
      throw new IllegalArgumentException(
          "\""
              + text
              + "\" has host bits set; did you mean "
              + new Cidr(family, masked, prefix)
              + "?");
    }
    return new Cidr(family, value, prefix);
  }

  /** The prefix holding exactly one address. */
  public static Cidr host(Family family, BigInteger address) {
    return new Cidr(family, address, family.bits());
  }

  /** How many addresses the prefix holds (2^(bits - prefix)). */
  public BigInteger size() {
    return BigInteger.ONE.shiftLeft(family.bits() - prefixLength);
  }

  /** The last address of the prefix (the IPv4 broadcast address). */
  public BigInteger last() {
    return network.add(size()).subtract(BigInteger.ONE);
  }

  /** The address {@code offset} addresses after the network address. */
  public BigInteger addressAt(BigInteger offset) {
    if (offset.signum() < 0 || offset.compareTo(size()) >= 0) {
      throw new IndexOutOfBoundsException("offset " + offset + " is outside " + this);
    }
    return network.add(offset);
  }

  /** True when the address (of this family) lies in the prefix. */
  public boolean contains(BigInteger address) {
    return address.compareTo(network) >= 0 && address.compareTo(last()) <= 0;
  }

  /** True when the other prefix lies wholly in this one. */
  public boolean contains(Cidr other) {
    return family == other.family && other.prefixLength >= prefixLength && contains(other.network);
  }

  /** True when the prefixes share any address. */
  public boolean overlaps(Cidr other) {
    return family == other.family && (contains(other) || other.contains(this));
  }

  /**
   * How many blocks of {@code maskSize} the prefix splits into.
   *
   * @throws IllegalArgumentException when the mask is shorter than this prefix or too long
   */
  public BigInteger blockCount(int maskSize) {
    checkMask(maskSize);
    return BigInteger.ONE.shiftLeft(maskSize - prefixLength);
  }

  /** Block {@code index} (from 0) of size {@code maskSize}. */
  public Cidr block(BigInteger index, int maskSize) {
    checkMask(maskSize);
    if (index.signum() < 0 || index.compareTo(blockCount(maskSize)) >= 0) {
      throw new IndexOutOfBoundsException(
          "block " + index + " is outside " + this + " split into /" + maskSize);
    }
    return new Cidr(family, network.add(index.shiftLeft(family.bits() - maskSize)), maskSize);
  }

  /** The index of a block of this prefix (the inverse of {@link #block}). */
  public BigInteger indexOf(Cidr block) {
    if (!contains(block)) {
      throw new IllegalArgumentException(block + " is not in " + this);
    }
    return block.network.subtract(network).shiftRight(family.bits() - block.prefixLength);
  }

  private void checkMask(int maskSize) {
    if (maskSize < prefixLength || maskSize > family.bits()) {
      throw new IllegalArgumentException(
          "mask size /"
              + maskSize
              + " does not fit "
              + this
              + " (it must be "
              + prefixLength
              + ".."
              + family.bits()
              + ")");
    }
  }

  /** The address in its usual text form (IPv6 compressed). */
  public static String format(Family family, BigInteger address) {
    byte[] raw = address.toByteArray();
    byte[] bytes = new byte[family.bits() / 8];
    int copy = Math.min(raw.length, bytes.length);
    System.arraycopy(raw, raw.length - copy, bytes, bytes.length - copy, copy);
    try {
      String s = InetAddress.getByAddress(bytes).getHostAddress();
      return family == Family.IPV6 ? compress(s) : s;
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Shortens Java's full IPv6 form (1:0:0:0:0:0:0:1) as RFC 5952 does (1::1). */
  private static String compress(String full) {
    String[] parts = full.split(":");
    int bestStart = -1;
    int bestLen = 1;
    for (int i = 0; i < parts.length; ) {
      if (parts[i].equals("0")) {
        int j = i;
        while (j < parts.length && parts[j].equals("0")) {
          j++;
        }
        if (j - i > bestLen) {
          bestStart = i;
          bestLen = j - i;
        }
        i = j;
      } else {
        i++;
      }
    }
    if (bestStart < 0) {
      return full;
    }
    String head = String.join(":", java.util.Arrays.copyOfRange(parts, 0, bestStart));
    String tail =
        String.join(":", java.util.Arrays.copyOfRange(parts, bestStart + bestLen, parts.length));
    return head + "::" + tail;
  }

  private static BigInteger hostMask(Family family, int prefixLength) {
    return BigInteger.ONE.shiftLeft(family.bits() - prefixLength).subtract(BigInteger.ONE);
  }

  @Override
  public int compareTo(Cidr o) {
    int c = family.compareTo(o.family);
    if (c != 0) {
      return c;
    }
    c = network.compareTo(o.network);
    return c != 0 ? c : Integer.compare(prefixLength, o.prefixLength);
  }

  @Override
  public String toString() {
    return format(family, network) + "/" + prefixLength;
  }
}
