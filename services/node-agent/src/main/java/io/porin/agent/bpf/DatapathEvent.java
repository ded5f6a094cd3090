package io.porin.agent.bpf;

import static io.porin.agent.bpf.MapLayouts.EVENT;
import static io.porin.agent.bpf.MapLayouts.get;
import static io.porin.agent.bpf.MapLayouts.offset;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/** One record of the {@code porin_events} ring: a drop, or the first packet of a connection. */
public record DatapathEvent(
    long timestampNanos,
    int ifindex,
    int endpointId,
    int srcIdentity,
    int dstIdentity,
    int cookie,
    int policyRevision,
    InetAddress source,
    InetAddress destination,
    int sourcePort,
    int destinationPort,
    int protocol,
    int direction,
    int verdict,
    int reason,
    int tcpFlags,
    boolean reply,
    int matchType,
    int type,
    int icmpType,
    int length) {

  public static DatapathEvent decode(byte[] b) {
    if (b.length < EVENT.byteSize()) {
      throw new IllegalArgumentException(
          "event of " + b.length + " bytes, expected " + EVENT.byteSize());
    }
    int family = get(b, EVENT, "family");
    return new DatapathEvent(
        MapLayouts.getLong(b, offset(EVENT, "timestamp")),
        get(b, EVENT, "ifindex"),
        get(b, EVENT, "endpoint_id"),
        get(b, EVENT, "src_identity"),
        get(b, EVENT, "dst_identity"),
        get(b, EVENT, "cookie"),
        get(b, EVENT, "policy_revision"),
        address(b, offset(EVENT, "saddr"), family),
        address(b, offset(EVENT, "daddr"), family),
        MapLayouts.getPort(b, offset(EVENT, "sport")),
        MapLayouts.getPort(b, offset(EVENT, "dport")),
        get(b, EVENT, "protocol"),
        get(b, EVENT, "direction"),
        get(b, EVENT, "verdict"),
        get(b, EVENT, "reason"),
        get(b, EVENT, "tcp_flags"),
        get(b, EVENT, "is_reply") != 0,
        get(b, EVENT, "match_type"),
        get(b, EVENT, "event_type"),
        get(b, EVENT, "icmp_type"),
        get(b, EVENT, "length"));
  }

  private static InetAddress address(byte[] b, int off, int family) {
    int len = family == MapLayouts.FAMILY_IPV6 ? 16 : 4;
    try {
      return InetAddress.getByAddress(Arrays.copyOfRange(b, off, off + len));
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
