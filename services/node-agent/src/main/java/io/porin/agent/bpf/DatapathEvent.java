package io.porin.agent.bpf;

import static io.porin.agent.bpf.MapLayouts.EVENT;
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

  // Field offsets, looked up once: decoding runs for every event (hundreds of thousands a second).
  private static final int SIZE = (int) EVENT.byteSize();
  private static final int TIMESTAMP = offset(EVENT, "timestamp");
  private static final int IFINDEX = offset(EVENT, "ifindex");
  private static final int ENDPOINT_ID = offset(EVENT, "endpoint_id");
  private static final int SRC_IDENTITY = offset(EVENT, "src_identity");
  private static final int DST_IDENTITY = offset(EVENT, "dst_identity");
  private static final int COOKIE = offset(EVENT, "cookie");
  private static final int POLICY_REVISION = offset(EVENT, "policy_revision");
  private static final int SADDR = offset(EVENT, "saddr");
  private static final int DADDR = offset(EVENT, "daddr");
  private static final int SPORT = offset(EVENT, "sport");
  private static final int DPORT = offset(EVENT, "dport");
  private static final int FAMILY = offset(EVENT, "family");
  private static final int PROTOCOL = offset(EVENT, "protocol");
  private static final int DIRECTION = offset(EVENT, "direction");
  private static final int VERDICT = offset(EVENT, "verdict");
  private static final int REASON = offset(EVENT, "reason");
  private static final int TCP_FLAGS = offset(EVENT, "tcp_flags");
  private static final int IS_REPLY = offset(EVENT, "is_reply");
  private static final int MATCH_TYPE = offset(EVENT, "match_type");
  private static final int EVENT_TYPE = offset(EVENT, "event_type");
  private static final int ICMP_TYPE = offset(EVENT, "icmp_type");
  private static final int LENGTH = offset(EVENT, "length");

  public static DatapathEvent decode(byte[] b) {
    if (b.length < SIZE) {
      throw new IllegalArgumentException("event of " + b.length + " bytes, expected " + SIZE);
    }
    int family = b[FAMILY] & 0xFF;
    return new DatapathEvent(
        MapLayouts.getLong(b, TIMESTAMP),
        MapLayouts.getInt(b, IFINDEX),
        MapLayouts.getInt(b, ENDPOINT_ID),
        MapLayouts.getInt(b, SRC_IDENTITY),
        MapLayouts.getInt(b, DST_IDENTITY),
        MapLayouts.getInt(b, COOKIE),
        MapLayouts.getInt(b, POLICY_REVISION),
        address(b, SADDR, family),
        address(b, DADDR, family),
        MapLayouts.getPort(b, SPORT),
        MapLayouts.getPort(b, DPORT),
        b[PROTOCOL] & 0xFF,
        b[DIRECTION] & 0xFF,
        b[VERDICT] & 0xFF,
        MapLayouts.getShort(b, REASON),
        b[TCP_FLAGS] & 0xFF,
        b[IS_REPLY] != 0,
        b[MATCH_TYPE] & 0xFF,
        b[EVENT_TYPE] & 0xFF,
        b[ICMP_TYPE] & 0xFF,
        MapLayouts.getInt(b, LENGTH));
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
