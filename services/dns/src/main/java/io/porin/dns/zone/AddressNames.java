package io.porin.dns.zone;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Optional;

/**
 * Addresses written as DNS labels: the dashed form of pod records ({@code 10-0-1-5}, {@code
 * fd00--1}) and the reverse names of PTR lookups ({@code 5.1.0.10.in-addr.arpa}, nibbles under
 * {@code ip6.arpa}). Only literals are parsed here, never host names (nothing is looked up).
 */
public final class AddressNames {
  public static final String IN_ADDR_ARPA = "in-addr.arpa";
  public static final String IP6_ARPA = "ip6.arpa";

  private AddressNames() {}

  /**
   * The address of a pod label, as CoreDNS reads it: with exactly three dashes and no {@code --} an
   * IPv4 address ({@code 10-0-1-5}), otherwise an IPv6 address with every {@code :} written {@code
   * -} ({@code fd00--1}; the fully written form is accepted too).
   */
  public static Optional<InetAddress> parseDashed(String label) {
    long dashes = label.chars().filter(c -> c == '-').count();
    if (dashes == 3 && !label.contains("--")) {
      return parseIpv4(label.split("-", -1));
    }
    for (int i = 0; i < label.length(); i++) {
      char c = label.charAt(i);
      if (!(c == '-' || Character.digit(c, 16) >= 0)) {
        return Optional.empty();
      }
    }
    try {
      return Optional.of(Inet6Address.ofLiteral(label.replace('-', ':')));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /**
   * An address literal, strictly: four decimal IPv4 parts, or IPv6 text.
   *
   * @throws IllegalArgumentException for anything else (never a host name lookup)
   */
  public static InetAddress parseLiteral(String text) {
    if (text != null && !text.contains(":")) {
      return parseIpv4(text.split("\\.", -1))
          .orElseThrow(() -> new IllegalArgumentException("'" + text + "' is not an IP address"));
    }
    try {
      return Inet6Address.ofLiteral(text);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException("'" + text + "' is not an IP address");
    }
  }

  /** The dashed label of an address: {@code 10-0-1-5}, {@code fd00--1} (RFC 5952 form). */
  public static String dashed(InetAddress address) {
    return text(address).replace('.', '-').replace(':', '-');
  }

  /** An address as text: dotted IPv4, or IPv6 in its canonical compressed form (RFC 5952). */
  public static String text(InetAddress address) {
    if (address instanceof Inet4Address) {
      return address.getHostAddress();
    }
    byte[] b = address.getAddress();
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
    }
    // The longest run of zero groups (at least two), the first one on a tie.
    int bestStart = -1;
    int bestLength = 1;
    for (int i = 0; i < 8; ) {
      if (groups[i] != 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < 8 && groups[j] == 0) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = j;
    }
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        s.append("::");
        i += bestLength - 1;
        continue;
      }
      if (!s.isEmpty() && s.charAt(s.length() - 1) != ':') {
        s.append(':');
      }
      s.append(Integer.toHexString(groups[i]));
    }
    return s.toString();
  }

  /** The reverse name of an address, without the trailing dot. */
  public static String reverse(InetAddress address) {
    byte[] b = address.getAddress();
    StringBuilder s = new StringBuilder();
    if (address instanceof Inet4Address) {
      for (int i = 3; i >= 0; i--) {
        s.append(b[i] & 0xff).append('.');
      }
      return s.append(IN_ADDR_ARPA).toString();
    }
    for (int i = 15; i >= 0; i--) {
      s.append(Character.forDigit(b[i] & 0xf, 16)).append('.');
      s.append(Character.forDigit((b[i] >> 4) & 0xf, 16)).append('.');
    }
    return s.append(IP6_ARPA).toString();
  }

  /**
   * The address a full reverse name stands for (lower case, no trailing dot); empty for anything
   * else, including partial names such as {@code 10.in-addr.arpa}.
   */
  public static Optional<InetAddress> parseReverse(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.endsWith("." + IN_ADDR_ARPA)) {
      String[] labels = n.substring(0, n.length() - IN_ADDR_ARPA.length() - 1).split("\\.", -1);
      if (labels.length != 4) {
        return Optional.empty();
      }
      String[] ordered = {labels[3], labels[2], labels[1], labels[0]};
      return parseIpv4(ordered);
    }
    if (n.endsWith("." + IP6_ARPA)) {
      String[] labels = n.substring(0, n.length() - IP6_ARPA.length() - 1).split("\\.", -1);
      if (labels.length != 32) {
        return Optional.empty();
      }
      byte[] b = new byte[16];
      for (int i = 0; i < 32; i++) {
        String l = labels[31 - i];
        int v = l.length() == 1 ? Character.digit(l.charAt(0), 16) : -1;
        if (v < 0) {
          return Optional.empty();
        }
        b[i / 2] |= (byte) (i % 2 == 0 ? v << 4 : v);
      }
      try {
        return Optional.of(InetAddress.getByAddress(b));
      } catch (java.net.UnknownHostException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  private static Optional<InetAddress> parseIpv4(String[] parts) {
    if (parts.length != 4) {
      return Optional.empty();
    }
    byte[] b = new byte[4];
    for (int i = 0; i < 4; i++) {
      String p = parts[i];
      if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
        return Optional.empty();
      }
      int v = 0;
      for (int k = 0; k < p.length(); k++) {
        char c = p.charAt(k);
        if (c < '0' || c > '9') {
          return Optional.empty();
        }
        v = v * 10 + (c - '0');
      }
      if (v > 255) {
        return Optional.empty();
      }
      b[i] = (byte) v;
    }
    try {
      return Optional.of(InetAddress.getByAddress(b));
    } catch (java.net.UnknownHostException e) {
      return Optional.empty();
    }
  }
}
