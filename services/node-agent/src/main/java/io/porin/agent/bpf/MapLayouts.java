package io.porin.agent.bpf;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.util.List;
import java.util.Map;

/**
 * The Java side of {@code src/main/bpf/porin_maps.h}: every struct by the same name and field
 * names, every constant by the same value. MapLayoutsTest compiles a probe against the header and
 * checks each size, offset and constant here, so a change on one side fails the build until the
 * other follows.
 */
public final class MapLayouts {
  private MapLayouts() {}

  public static final int DIR_INGRESS = 0;
  public static final int DIR_EGRESS = 1;
  public static final int FAMILY_IPV4 = 4;
  public static final int FAMILY_IPV6 = 6;
  public static final int POLICY_ALLOW = 0;
  public static final int POLICY_AUDIT = 1;
  public static final int POLICY_DENY = 2;
  public static final int VERDICT_FORWARDED = 1;
  public static final int VERDICT_DROPPED = 2;
  public static final int VERDICT_AUDIT = 4;
  public static final int EVENT_DROP = 1;
  public static final int EVENT_POLICY_VERDICT = 5;
  public static final int DROP_POLICY = 133;
  public static final int DROP_INVALID_PACKET = 134;
  public static final int DROP_CT_INVALID_HDR = 135;
  public static final int DROP_UNSUPPORTED_L3 = 139;
  public static final int DROP_CT_CREATE_FAILED = 155;
  public static final int DROP_INVALID_EXTHDR = 156;
  public static final int DROP_FRAG_NOSUPPORT = 157;
  public static final int DROP_FRAG_NOT_FOUND = 175;
  public static final int DROP_POLICY_DENY = 181;
  public static final int DROP_WRITE_ERROR = 141;
  public static final int DROP_EP_NOT_READY = 203;
  public static final int IPCACHE_MAX = 512000;
  public static final int ENDPOINTS_MAX = 4096;
  public static final int POLICY_MAX = 16384;
  public static final int CIDR_CLASSES_MAX = 65536;
  public static final int CT_MAX = 262144;
  public static final int COUNTERS_MAX = 512;
  public static final int COUNTER_EVENTS_LOST = 255;
  public static final int EP_ENFORCE_INGRESS = 1;
  public static final int EP_ENFORCE_EGRESS = 2;
  public static final int EP_CIDR_CLASSES_INGRESS = 4;
  public static final int EP_CIDR_CLASSES_EGRESS = 8;

  /** Kernel map type numbers (linux/bpf.h). */
  public static final int MAP_TYPE_LPM_TRIE = 11;

  public static final int MAP_F_NO_PREALLOC = 1;

  /** Every constant above by its C name (without the PORIN_ prefix), for the layout test. */
  public static final Map<String, Integer> CONSTANTS =
      Map.ofEntries(
          Map.entry("DIR_INGRESS", DIR_INGRESS),
          Map.entry("DIR_EGRESS", DIR_EGRESS),
          Map.entry("FAMILY_IPV4", FAMILY_IPV4),
          Map.entry("FAMILY_IPV6", FAMILY_IPV6),
          Map.entry("POLICY_ALLOW", POLICY_ALLOW),
          Map.entry("POLICY_AUDIT", POLICY_AUDIT),
          Map.entry("POLICY_DENY", POLICY_DENY),
          Map.entry("VERDICT_FORWARDED", VERDICT_FORWARDED),
          Map.entry("VERDICT_DROPPED", VERDICT_DROPPED),
          Map.entry("VERDICT_AUDIT", VERDICT_AUDIT),
          Map.entry("EVENT_DROP", EVENT_DROP),
          Map.entry("EVENT_POLICY_VERDICT", EVENT_POLICY_VERDICT),
          Map.entry("DROP_POLICY", DROP_POLICY),
          Map.entry("DROP_INVALID_PACKET", DROP_INVALID_PACKET),
          Map.entry("DROP_CT_INVALID_HDR", DROP_CT_INVALID_HDR),
          Map.entry("DROP_UNSUPPORTED_L3", DROP_UNSUPPORTED_L3),
          Map.entry("DROP_CT_CREATE_FAILED", DROP_CT_CREATE_FAILED),
          Map.entry("DROP_INVALID_EXTHDR", DROP_INVALID_EXTHDR),
          Map.entry("DROP_FRAG_NOSUPPORT", DROP_FRAG_NOSUPPORT),
          Map.entry("DROP_FRAG_NOT_FOUND", DROP_FRAG_NOT_FOUND),
          Map.entry("DROP_POLICY_DENY", DROP_POLICY_DENY),
          Map.entry("DROP_WRITE_ERROR", DROP_WRITE_ERROR),
          Map.entry("DROP_EP_NOT_READY", DROP_EP_NOT_READY),
          Map.entry("IPCACHE_MAX", IPCACHE_MAX),
          Map.entry("ENDPOINTS_MAX", ENDPOINTS_MAX),
          Map.entry("POLICY_MAX", POLICY_MAX),
          Map.entry("CIDR_CLASSES_MAX", CIDR_CLASSES_MAX),
          Map.entry("CT_MAX", CT_MAX),
          Map.entry("COUNTERS_MAX", COUNTERS_MAX),
          Map.entry("COUNTER_EVENTS_LOST", COUNTER_EVENTS_LOST),
          Map.entry("EP_ENFORCE_INGRESS", EP_ENFORCE_INGRESS),
          Map.entry("EP_ENFORCE_EGRESS", EP_ENFORCE_EGRESS),
          Map.entry("EP_CIDR_CLASSES_INGRESS", EP_CIDR_CLASSES_INGRESS),
          Map.entry("EP_CIDR_CLASSES_EGRESS", EP_CIDR_CLASSES_EGRESS));

  private static MemoryLayout bytes(int n, String name) {
    return sequenceLayout(n, JAVA_BYTE).withName(name);
  }

  public static final StructLayout IPCACHE_KEY =
      structLayout(
              JAVA_INT.withName("prefixlen"),
              JAVA_BYTE.withName("family"),
              bytes(3, "pad"),
              bytes(16, "addr"))
          .withName("porin_ipcache_key");

  public static final StructLayout IPCACHE_VALUE =
      structLayout(JAVA_INT.withName("identity"), JAVA_INT.withName("flags"))
          .withName("porin_ipcache_value");

  public static final StructLayout ENDPOINT =
      structLayout(
              JAVA_INT.withName("endpoint_id"),
              JAVA_INT.withName("identity"),
              JAVA_INT.withName("policy_revision"),
              JAVA_BYTE.withName("flags"),
              JAVA_BYTE.withName("ingress_default"),
              JAVA_BYTE.withName("egress_default"),
              JAVA_BYTE.withName("pad"),
              JAVA_INT.withName("ingress_default_cookie"),
              JAVA_INT.withName("egress_default_cookie"),
              bytes(6, "pod_mac"),
              bytes(6, "host_mac"))
          .withName("porin_endpoint");

  public static final StructLayout LXC_KEY =
      structLayout(JAVA_BYTE.withName("family"), bytes(3, "pad"), bytes(16, "addr"))
          .withName("porin_lxc_key");

  public static final StructLayout LXC_VALUE =
      structLayout(JAVA_INT.withName("ifindex")).withName("porin_lxc_value");

  public static final StructLayout POLICY_KEY =
      structLayout(
              JAVA_INT.withName("prefixlen"),
              JAVA_INT.withName("identity"),
              JAVA_BYTE.withName("direction"),
              JAVA_BYTE.withName("protocol"),
              JAVA_SHORT.withName("port"))
          .withName("porin_policy_key");

  public static final StructLayout POLICY_VALUE =
      structLayout(
              JAVA_BYTE.withName("verdict"),
              JAVA_BYTE.withName("prefix_len"),
              JAVA_BYTE.withName("flags"),
              JAVA_BYTE.withName("pad"),
              JAVA_INT.withName("cookie"))
          .withName("porin_policy_value");

  public static final StructLayout CIDR_CLASS_KEY =
      structLayout(
              JAVA_INT.withName("prefixlen"),
              JAVA_INT.withName("endpoint_id"),
              JAVA_BYTE.withName("direction"),
              JAVA_BYTE.withName("family"),
              bytes(2, "pad"),
              bytes(16, "addr"))
          .withName("porin_cidr_class_key");

  public static final StructLayout CIDR_CLASS_VALUE =
      structLayout(JAVA_INT.withName("class_id")).withName("porin_cidr_class_value");

  public static final StructLayout CT_KEY =
      structLayout(
              bytes(16, "saddr"),
              bytes(16, "daddr"),
              JAVA_SHORT.withName("sport"),
              JAVA_SHORT.withName("dport"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("direction"),
              JAVA_BYTE.withName("family"),
              JAVA_BYTE.withName("pad"))
          .withName("porin_ct_key");

  public static final StructLayout CT_ENTRY =
      structLayout(
              JAVA_LONG.withName("expires"),
              JAVA_INT.withName("policy_revision"),
              JAVA_INT.withName("cookie"),
              JAVA_INT.withName("peer_identity"),
              JAVA_BYTE.withName("verdict"),
              JAVA_BYTE.withName("flags"),
              bytes(2, "pad"))
          .withName("porin_ct_entry");

  public static final StructLayout FRAG_KEY =
      structLayout(
              JAVA_INT.withName("saddr"),
              JAVA_INT.withName("daddr"),
              JAVA_SHORT.withName("id"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("pad"))
          .withName("porin_frag_key");

  public static final StructLayout FRAG_VALUE =
      structLayout(JAVA_SHORT.withName("sport"), JAVA_SHORT.withName("dport"))
          .withName("porin_frag_value");

  public static final StructLayout COUNTER =
      structLayout(JAVA_LONG.withName("packets"), JAVA_LONG.withName("bytes"))
          .withName("porin_counter");

  public static final StructLayout EVENT =
      structLayout(
              JAVA_LONG.withName("timestamp"),
              JAVA_INT.withName("ifindex"),
              JAVA_INT.withName("endpoint_id"),
              JAVA_INT.withName("src_identity"),
              JAVA_INT.withName("dst_identity"),
              JAVA_INT.withName("cookie"),
              JAVA_INT.withName("policy_revision"),
              bytes(16, "saddr"),
              bytes(16, "daddr"),
              JAVA_SHORT.withName("sport"),
              JAVA_SHORT.withName("dport"),
              JAVA_BYTE.withName("family"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("direction"),
              JAVA_BYTE.withName("verdict"),
              JAVA_SHORT.withName("reason"),
              JAVA_BYTE.withName("tcp_flags"),
              JAVA_BYTE.withName("is_reply"),
              JAVA_BYTE.withName("match_type"),
              JAVA_BYTE.withName("event_type"),
              JAVA_BYTE.withName("icmp_type"),
              JAVA_BYTE.withName("pad"),
              JAVA_INT.withName("length"),
              JAVA_INT.withName("pad2"))
          .withName("porin_event");

  /** Every struct of the header, for the layout test. */
  public static final List<StructLayout> ALL =
      List.of(
          IPCACHE_KEY,
          IPCACHE_VALUE,
          ENDPOINT,
          LXC_KEY,
          LXC_VALUE,
          POLICY_KEY,
          POLICY_VALUE,
          CIDR_CLASS_KEY,
          CIDR_CLASS_VALUE,
          CT_KEY,
          CT_ENTRY,
          FRAG_KEY,
          FRAG_VALUE,
          COUNTER,
          EVENT);

  /** A field's byte offset. */
  public static int offset(StructLayout layout, String field) {
    return (int) layout.byteOffset(MemoryLayout.PathElement.groupElement(field));
  }

  /** A zeroed buffer the size of a struct. */
  public static byte[] buffer(StructLayout layout) {
    return new byte[(int) layout.byteSize()];
  }

  // Host-order (little-endian on x86-64) and network-order accessors.

  public static void putInt(byte[] b, int off, int v) {
    b[off] = (byte) v;
    b[off + 1] = (byte) (v >>> 8);
    b[off + 2] = (byte) (v >>> 16);
    b[off + 3] = (byte) (v >>> 24);
  }

  public static int getInt(byte[] b, int off) {
    return (b[off] & 0xFF)
        | (b[off + 1] & 0xFF) << 8
        | (b[off + 2] & 0xFF) << 16
        | (b[off + 3] & 0xFF) << 24;
  }

  public static long getLong(byte[] b, int off) {
    return (getInt(b, off) & 0xFFFFFFFFL) | ((long) getInt(b, off + 4) << 32);
  }

  public static int getShort(byte[] b, int off) {
    return (b[off] & 0xFF) | (b[off + 1] & 0xFF) << 8;
  }

  public static void putPort(byte[] b, int off, int port) {
    b[off] = (byte) (port >>> 8);
    b[off + 1] = (byte) port;
  }

  public static int getPort(byte[] b, int off) {
    return (b[off] & 0xFF) << 8 | (b[off + 1] & 0xFF);
  }

  public static void put(byte[] b, StructLayout layout, String field, int value) {
    int off = offset(layout, field);
    switch ((int) layout.select(MemoryLayout.PathElement.groupElement(field)).byteSize()) {
      case 1 -> b[off] = (byte) value;
      case 2 -> {
        b[off] = (byte) value;
        b[off + 1] = (byte) (value >>> 8);
      }
      case 4 -> putInt(b, off, value);
      default -> throw new IllegalArgumentException(field + " is not a scalar up to 4 bytes");
    }
  }

  public static int get(byte[] b, StructLayout layout, String field) {
    int off = offset(layout, field);
    return switch ((int) layout.select(MemoryLayout.PathElement.groupElement(field)).byteSize()) {
      case 1 -> b[off] & 0xFF;
      case 2 -> getShort(b, off);
      case 4 -> getInt(b, off);
      default -> throw new IllegalArgumentException(field + " is not a scalar up to 4 bytes");
    };
  }
}
