package io.porin.core.policy;

import java.util.List;

/**
 * One entry of an endpoint's policy map, as the datapath holds it: for traffic with this peer (0 =
 * any peer), protocol and port prefix, this verdict, and the rules that produced it.
 *
 * <p>The key is an LPM key over 24 bits, protocol then port: {@code prefixLength} 0 matches every
 * protocol and port, 8 one protocol and every port, 24 one protocol and one port, values between a
 * block of ports (a range). For ICMP and ICMPv6 the port is the ICMP type.
 *
 * @param l7Redirect the flow must go through the L7 proxy (no L7 enforcement exists yet: always
 *     false, and policies with L7 rules are refused)
 */
public record PolicyEntry(
    int peer,
    Protocol protocol,
    int port,
    int prefixLength,
    Verdict verdict,
    boolean l7Redirect,
    List<RuleRef> rules) {

  /** The peer value meaning "any peer" (an L4-only entry). */
  public static final int ANY_PEER = 0;

  public PolicyEntry {
    rules = List.copyOf(rules);
    if (prefixLength == 0 && (protocol != Protocol.ANY || port != 0)) {
      throw new IllegalArgumentException("a wildcard entry has no protocol or port");
    }
  }

  /** The sort and map key: peer, protocol, port, prefix length. */
  public long key() {
    return key(peer, protocol, port, prefixLength);
  }

  public static long key(int peer, Protocol protocol, int port, int prefixLength) {
    return ((peer & 0xFFFFFFFFL) << 32)
        | ((long) protocol.number() << 24)
        | ((long) port << 8)
        | prefixLength;
  }

  /** The first and last port this entry covers (0..65535 when it covers every port). */
  public int firstPort() {
    return prefixLength <= 8 ? 0 : port;
  }

  public int lastPort() {
    return prefixLength <= 8 ? 65535 : port + (1 << (24 - prefixLength)) - 1;
  }

  /** True when this entry's key covers traffic of this protocol and port. */
  public boolean matches(Protocol p, int dport) {
    if (prefixLength == 0) {
      return true;
    }
    if (p != protocol) {
      return false;
    }
    return prefixLength == 8 || (dport >= firstPort() && dport <= lastPort());
  }

  /** True when this entry's key contains the other's (same peer assumed). */
  public boolean covers(PolicyEntry other) {
    if (prefixLength > other.prefixLength) {
      return false;
    }
    if (prefixLength == 0) {
      return true;
    }
    return protocol == other.protocol
        && other.firstPort() >= firstPort()
        && other.lastPort() <= lastPort();
  }

  /** Ports as the CLI prints them: {@code *}, {@code 80}, {@code 8000-8007}. */
  public String portsText() {
    if (prefixLength <= 8) {
      return "*";
    }
    return firstPort() == lastPort() ? "" + firstPort() : firstPort() + "-" + lastPort();
  }

  PolicyEntry with(Verdict v, List<RuleRef> r) {
    return new PolicyEntry(peer, protocol, port, prefixLength, v, l7Redirect, r);
  }
}
