package io.porin.agent.bpf;

import static io.porin.agent.bpf.MapLayouts.EVENT;
import static io.porin.agent.bpf.MapLayouts.offset;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
    int length,
    int revNat,
    int flags) {

  /** The packet went out through (or came in from) the WireGuard device. */
  public boolean encrypted() {
    return (flags & MapLayouts.EVENT_F_ENCRYPTED) != 0;
  }

  /** A socket's service translation (Cilium's trace sock): see {@link #netnsCookie}. */
  public boolean traceSock() {
    return type == MapLayouts.EVENT_TRACE_SOCK;
  }

  /** In a trace-sock event: the client's network namespace cookie (ifindex and endpoint id). */
  public long netnsCookie() {
    return (ifindex & 0xFFFFFFFFL) | ((long) endpointId << 32);
  }

  // Field handles, built once from the layout: decoding runs for every event (hundreds of
  // thousands a second).
  private static final int SIZE = (int) EVENT.byteSize();
  private static final VarHandle TIMESTAMP = scalar("timestamp");
  private static final VarHandle IFINDEX = scalar("ifindex");
  private static final VarHandle ENDPOINT_ID = scalar("endpoint_id");
  private static final VarHandle SRC_IDENTITY = scalar("src_identity");
  private static final VarHandle DST_IDENTITY = scalar("dst_identity");
  private static final VarHandle COOKIE = scalar("cookie");
  private static final VarHandle POLICY_REVISION = scalar("policy_revision");
  private static final int SADDR = offset(EVENT, "saddr");
  private static final int DADDR = offset(EVENT, "daddr");
  private static final VarHandle SPORT = scalar("sport");
  private static final VarHandle DPORT = scalar("dport");
  private static final VarHandle FAMILY = scalar("family");
  private static final VarHandle PROTOCOL = scalar("protocol");
  private static final VarHandle DIRECTION = scalar("direction");
  private static final VarHandle VERDICT = scalar("verdict");
  private static final VarHandle REASON = scalar("reason");
  private static final VarHandle TCP_FLAGS = scalar("tcp_flags");
  private static final VarHandle IS_REPLY = scalar("is_reply");
  private static final VarHandle MATCH_TYPE = scalar("match_type");
  private static final VarHandle EVENT_TYPE = scalar("event_type");
  private static final VarHandle ICMP_TYPE = scalar("icmp_type");
  private static final VarHandle LENGTH = scalar("length");
  private static final VarHandle REV_NAT = scalar("rev_nat");
  private static final VarHandle FLAGS = scalar("flags");

  private static VarHandle scalar(String field) {
    return MethodHandles.insertCoordinates(
        EVENT.varHandle(MemoryLayout.PathElement.groupElement(field)), 1, 0L);
  }

  public static DatapathEvent decode(byte[] b) {
    if (b.length < SIZE) {
      throw new IllegalArgumentException("event of " + b.length + " bytes, expected " + SIZE);
    }
    MemorySegment s = MemorySegment.ofArray(b);
    int family = u8(FAMILY, s);
    return new DatapathEvent(
        (long) TIMESTAMP.get(s),
        (int) IFINDEX.get(s),
        (int) ENDPOINT_ID.get(s),
        (int) SRC_IDENTITY.get(s),
        (int) DST_IDENTITY.get(s),
        (int) COOKIE.get(s),
        (int) POLICY_REVISION.get(s),
        address(b, SADDR, family),
        address(b, DADDR, family),
        (short) SPORT.get(s) & 0xFFFF,
        (short) DPORT.get(s) & 0xFFFF,
        u8(PROTOCOL, s),
        u8(DIRECTION, s),
        u8(VERDICT, s),
        (short) REASON.get(s) & 0xFFFF,
        u8(TCP_FLAGS, s),
        u8(IS_REPLY, s) != 0,
        u8(MATCH_TYPE, s),
        u8(EVENT_TYPE, s),
        u8(ICMP_TYPE, s),
        (int) LENGTH.get(s),
        (int) REV_NAT.get(s),
        u8(FLAGS, s));
  }

  private static int u8(VarHandle h, MemorySegment s) {
    return (byte) h.get(s) & 0xFF;
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
