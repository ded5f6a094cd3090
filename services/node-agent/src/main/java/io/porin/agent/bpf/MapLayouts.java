package io.porin.agent.bpf;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

/**
 * The Java side of {@code src/main/bpf/porin_maps.h}: every struct by the same name and field
 * names, every constant by the same value. MapLayoutsTest compiles a probe against the header and
 * checks each size, offset and constant here, so a change on one side fails the build until the
 * other follows. Members are unaligned value layouts (host order; network order for {@code __be16}
 * ports) so that the map codecs can address them in plain byte arrays.
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
  public static final int DROP_INVALID_SOURCE_MAC = 130;
  public static final int DROP_INVALID_SOURCE_IP = 132;
  public static final int DROP_POLICY = 133;
  public static final int DROP_INVALID_PACKET = 134;
  public static final int DROP_CT_INVALID_HDR = 135;
  public static final int DROP_UNSUPPORTED_L3 = 139;
  public static final int DROP_CT_CREATE_FAILED = 155;
  public static final int DROP_INVALID_EXTHDR = 156;
  public static final int DROP_FRAG_NOSUPPORT = 157;
  public static final int DROP_FRAG_NOT_FOUND = 175;
  public static final int DROP_POLICY_DENY = 181;
  public static final int DROP_VLAN_FILTERED = 182;
  public static final int DROP_CT_NO_MAP = 190;
  public static final int DROP_WRITE_ERROR = 141;
  public static final int DROP_EP_NOT_READY = 203;
  public static final int IDENTITY_HOST = 1;
  public static final int IDENTITY_MAX_RESERVED = 255;
  public static final int IDENTITY_LOCAL_SCOPE = 1 << 24;
  public static final int IDENTITY_WORLD_IPV4 = 9;
  public static final int IDENTITY_WORLD_IPV6 = 10;
  public static final int IPCACHE_MAX = 512000;
  public static final int ENDPOINTS_MAX = 4096;
  public static final int POLICY_SLOTS = 2;
  public static final int POLICY_MAX = 16384;
  public static final int CIDR_CLASSES_MAX = 65536;
  public static final int DEVICES_MAX = 4;
  public static final int CT_PER_ENDPOINT = 8192;
  public static final int CT_KIND_PORTS = 0;
  public static final int CT_KIND_ECHO_REQUEST = 1;
  public static final int CT_KIND_ECHO_REPLY = 2;
  public static final int CT_KIND_ICMP = 3;
  public static final int FRAG_PER_ENDPOINT = 1024;
  public static final int CT_LIFETIME_TCP = 21600;
  public static final int CT_LIFETIME_SYN = 60;
  public static final int CT_LIFETIME_CLOSE = 10;
  public static final int CT_LIFETIME_NONTCP = 60;
  public static final int CT_SEEN_REPLY = 1;
  public static final int CT_CLOSING = 8;
  public static final int IPCACHE_KEY_BASE_BITS = 32;
  public static final int POLICY_KEY_BASE_BITS = 40;
  public static final int CIDR_CLASS_KEY_BASE_BITS = 64;
  public static final int COUNTERS_MAX = 512;
  public static final int COUNTER_EVENTS_LOST = 255;
  public static final int EP_ENFORCE_INGRESS = 1;
  public static final int EP_ENFORCE_EGRESS = 2;
  public static final int EP_CIDR_CLASSES_INGRESS = 4;
  public static final int EP_CIDR_CLASSES_EGRESS = 8;
  public static final int EVENT_TRACE_SOCK = 7;
  public static final int DROP_NO_SERVICE = 158;
  public static final int LB_SERVICES_MAX = 262144;
  public static final int LB_BACKENDS_MAX = 262144;
  public static final int LB_REVNAT_MAX = 65536;
  public static final int LB_MAGLEV_SIZE = 16381;
  public static final int LB_MAGLEV_MAX = 4096;
  public static final int LB_CLUSTER_IP = 1;
  public static final int LB_NODE_PORT = 2;
  public static final int LB_AFFINITY = 4;
  public static final int LB_MAGLEV = 8;
  public static final int LB_CLIENT_ADDR = 0;
  public static final int LB_CLIENT_NETNS = 1;
  public static final int LB_SOCK_SLOTS = 4;
  public static final int LB_SOCK_REPORT_NS = 1_000_000_000;
  public static final int LB_SOCK_REPORTED_MAX = 65536;
  public static final int LB_CONN_MAX = 262144;
  public static final int LB_NAT_PORT_MIN = 61000;
  public static final int LB_NAT_PORT_MAX = 65535;
  public static final int DROP_UNENCRYPTED = 195;
  public static final int EP_ENCRYPT_STRICT = 16;
  public static final int ENCRYPT_ON = 1;
  public static final int ENCRYPT_STRICT = 2;
  public static final int ENCRYPT_MAX = 65536;
  public static final int ENCRYPT_PEER = 1;
  public static final int EVENT_F_ENCRYPTED = 1;

  /** Kernel map type numbers (linux/bpf.h). */
  public static final int MAP_TYPE_LPM_TRIE = 11;

  public static final int MAP_TYPE_LRU_HASH = 9;

  public static final int MAP_TYPE_ARRAY = 2;

  public static final int MAP_F_NO_PREALLOC = 1;

  /** Every constant above by its C name (without the PORIN_ prefix), for the layout test. */
  public static final Map<String, Integer> CONSTANTS =
      Map.ofEntries(
          Map.entry("EVENT_TRACE_SOCK", EVENT_TRACE_SOCK),
          Map.entry("DROP_UNENCRYPTED", DROP_UNENCRYPTED),
          Map.entry("EP_ENCRYPT_STRICT", EP_ENCRYPT_STRICT),
          Map.entry("ENCRYPT_ON", ENCRYPT_ON),
          Map.entry("ENCRYPT_STRICT", ENCRYPT_STRICT),
          Map.entry("ENCRYPT_MAX", ENCRYPT_MAX),
          Map.entry("ENCRYPT_PEER", ENCRYPT_PEER),
          Map.entry("EVENT_F_ENCRYPTED", EVENT_F_ENCRYPTED),
          Map.entry("DROP_NO_SERVICE", DROP_NO_SERVICE),
          Map.entry("LB_SERVICES_MAX", LB_SERVICES_MAX),
          Map.entry("LB_BACKENDS_MAX", LB_BACKENDS_MAX),
          Map.entry("LB_REVNAT_MAX", LB_REVNAT_MAX),
          Map.entry("LB_MAGLEV_SIZE", LB_MAGLEV_SIZE),
          Map.entry("LB_MAGLEV_MAX", LB_MAGLEV_MAX),
          Map.entry("LB_CLUSTER_IP", LB_CLUSTER_IP),
          Map.entry("LB_NODE_PORT", LB_NODE_PORT),
          Map.entry("LB_AFFINITY", LB_AFFINITY),
          Map.entry("LB_MAGLEV", LB_MAGLEV),
          Map.entry("LB_CLIENT_ADDR", LB_CLIENT_ADDR),
          Map.entry("LB_CLIENT_NETNS", LB_CLIENT_NETNS),
          Map.entry("LB_SOCK_SLOTS", LB_SOCK_SLOTS),
          Map.entry("LB_SOCK_REPORT_NS", LB_SOCK_REPORT_NS),
          Map.entry("LB_SOCK_REPORTED_MAX", LB_SOCK_REPORTED_MAX),
          Map.entry("LB_CONN_MAX", LB_CONN_MAX),
          Map.entry("LB_NAT_PORT_MIN", LB_NAT_PORT_MIN),
          Map.entry("LB_NAT_PORT_MAX", LB_NAT_PORT_MAX),
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
          Map.entry("DROP_INVALID_SOURCE_MAC", DROP_INVALID_SOURCE_MAC),
          Map.entry("DROP_INVALID_SOURCE_IP", DROP_INVALID_SOURCE_IP),
          Map.entry("DROP_POLICY", DROP_POLICY),
          Map.entry("DROP_INVALID_PACKET", DROP_INVALID_PACKET),
          Map.entry("DROP_CT_INVALID_HDR", DROP_CT_INVALID_HDR),
          Map.entry("DROP_UNSUPPORTED_L3", DROP_UNSUPPORTED_L3),
          Map.entry("DROP_CT_CREATE_FAILED", DROP_CT_CREATE_FAILED),
          Map.entry("DROP_INVALID_EXTHDR", DROP_INVALID_EXTHDR),
          Map.entry("DROP_FRAG_NOSUPPORT", DROP_FRAG_NOSUPPORT),
          Map.entry("DROP_FRAG_NOT_FOUND", DROP_FRAG_NOT_FOUND),
          Map.entry("DROP_POLICY_DENY", DROP_POLICY_DENY),
          Map.entry("DROP_VLAN_FILTERED", DROP_VLAN_FILTERED),
          Map.entry("DROP_CT_NO_MAP", DROP_CT_NO_MAP),
          Map.entry("DROP_WRITE_ERROR", DROP_WRITE_ERROR),
          Map.entry("DROP_EP_NOT_READY", DROP_EP_NOT_READY),
          Map.entry("IDENTITY_HOST", IDENTITY_HOST),
          Map.entry("IDENTITY_MAX_RESERVED", IDENTITY_MAX_RESERVED),
          Map.entry("IDENTITY_LOCAL_SCOPE", IDENTITY_LOCAL_SCOPE),
          Map.entry("CT_KIND_PORTS", CT_KIND_PORTS),
          Map.entry("CT_KIND_ECHO_REQUEST", CT_KIND_ECHO_REQUEST),
          Map.entry("CT_KIND_ECHO_REPLY", CT_KIND_ECHO_REPLY),
          Map.entry("CT_KIND_ICMP", CT_KIND_ICMP),
          Map.entry("IDENTITY_WORLD_IPV4", IDENTITY_WORLD_IPV4),
          Map.entry("IDENTITY_WORLD_IPV6", IDENTITY_WORLD_IPV6),
          Map.entry("IPCACHE_MAX", IPCACHE_MAX),
          Map.entry("ENDPOINTS_MAX", ENDPOINTS_MAX),
          Map.entry("POLICY_SLOTS", POLICY_SLOTS),
          Map.entry("POLICY_MAX", POLICY_MAX),
          Map.entry("CIDR_CLASSES_MAX", CIDR_CLASSES_MAX),
          Map.entry("DEVICES_MAX", DEVICES_MAX),
          Map.entry("CT_PER_ENDPOINT", CT_PER_ENDPOINT),
          Map.entry("FRAG_PER_ENDPOINT", FRAG_PER_ENDPOINT),
          Map.entry("CT_LIFETIME_TCP", CT_LIFETIME_TCP),
          Map.entry("CT_LIFETIME_SYN", CT_LIFETIME_SYN),
          Map.entry("CT_LIFETIME_CLOSE", CT_LIFETIME_CLOSE),
          Map.entry("CT_LIFETIME_NONTCP", CT_LIFETIME_NONTCP),
          Map.entry("CT_SEEN_REPLY", CT_SEEN_REPLY),
          Map.entry("CT_CLOSING", CT_CLOSING),
          Map.entry("IPCACHE_KEY_BASE_BITS", IPCACHE_KEY_BASE_BITS),
          Map.entry("POLICY_KEY_BASE_BITS", POLICY_KEY_BASE_BITS),
          Map.entry("CIDR_CLASS_KEY_BASE_BITS", CIDR_CLASS_KEY_BASE_BITS),
          Map.entry("COUNTERS_MAX", COUNTERS_MAX),
          Map.entry("COUNTER_EVENTS_LOST", COUNTER_EVENTS_LOST),
          Map.entry("EP_ENFORCE_INGRESS", EP_ENFORCE_INGRESS),
          Map.entry("EP_ENFORCE_EGRESS", EP_ENFORCE_EGRESS),
          Map.entry("EP_CIDR_CLASSES_INGRESS", EP_CIDR_CLASSES_INGRESS),
          Map.entry("EP_CIDR_CLASSES_EGRESS", EP_CIDR_CLASSES_EGRESS));

  private static final ValueLayout.OfInt U32 = JAVA_INT_UNALIGNED;
  private static final ValueLayout.OfLong U64 = JAVA_LONG_UNALIGNED;
  private static final ValueLayout.OfShort U16 = JAVA_SHORT_UNALIGNED;

  /** A {@code __be16}: network order. */
  private static final ValueLayout.OfShort BE16 =
      JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

  private static MemoryLayout bytes(int n, String name) {
    return sequenceLayout(n, JAVA_BYTE).withName(name);
  }

  public static final StructLayout IPCACHE_KEY =
      structLayout(
              U32.withName("prefixlen"),
              JAVA_BYTE.withName("family"),
              bytes(3, "pad"),
              bytes(16, "addr"))
          .withName("porin_ipcache_key");

  public static final StructLayout IPCACHE_VALUE =
      structLayout(U32.withName("identity"), U32.withName("flags")).withName("porin_ipcache_value");

  public static final StructLayout ENDPOINT =
      structLayout(
              U32.withName("endpoint_id"),
              U32.withName("identity"),
              U32.withName("policy_revision"),
              JAVA_BYTE.withName("flags"),
              JAVA_BYTE.withName("ingress_default"),
              JAVA_BYTE.withName("egress_default"),
              JAVA_BYTE.withName("policy_slot"),
              U32.withName("ingress_default_cookie"),
              U32.withName("egress_default_cookie"),
              bytes(6, "pod_mac"),
              bytes(6, "host_mac"),
              bytes(4, "ipv4"),
              bytes(16, "ipv6"))
          .withName("porin_endpoint");

  public static final StructLayout LXC_KEY =
      structLayout(JAVA_BYTE.withName("family"), bytes(3, "pad"), bytes(16, "addr"))
          .withName("porin_lxc_key");

  public static final StructLayout LXC_VALUE =
      structLayout(U32.withName("ifindex")).withName("porin_lxc_value");

  public static final StructLayout POLICY_KEY =
      structLayout(
              U32.withName("prefixlen"),
              U32.withName("identity"),
              JAVA_BYTE.withName("direction"),
              JAVA_BYTE.withName("protocol"),
              BE16.withName("port"))
          .withName("porin_policy_key");

  public static final StructLayout POLICY_VALUE =
      structLayout(
              JAVA_BYTE.withName("verdict"),
              JAVA_BYTE.withName("prefix_len"),
              JAVA_BYTE.withName("flags"),
              JAVA_BYTE.withName("pad"),
              U32.withName("cookie"))
          .withName("porin_policy_value");

  public static final StructLayout CIDR_CLASS_KEY =
      structLayout(
              U32.withName("prefixlen"),
              U32.withName("endpoint_id"),
              JAVA_BYTE.withName("direction"),
              JAVA_BYTE.withName("family"),
              JAVA_BYTE.withName("slot"),
              JAVA_BYTE.withName("pad"),
              bytes(16, "addr"))
          .withName("porin_cidr_class_key");

  public static final StructLayout CIDR_CLASS_VALUE =
      structLayout(U32.withName("class_id")).withName("porin_cidr_class_value");

  public static final StructLayout CT_KEY =
      structLayout(
              bytes(16, "saddr"),
              bytes(16, "daddr"),
              BE16.withName("sport"),
              BE16.withName("dport"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("direction"),
              JAVA_BYTE.withName("family"),
              JAVA_BYTE.withName("kind"))
          .withName("porin_ct_key");

  public static final StructLayout CT_ENTRY =
      structLayout(
              U64.withName("expires"),
              U32.withName("policy_revision"),
              U32.withName("cookie"),
              U32.withName("peer_identity"),
              U32.withName("ipcache_generation"),
              JAVA_BYTE.withName("verdict"),
              JAVA_BYTE.withName("flags"),
              U16.withName("rev_nat"),
              bytes(4, "pad"))
          .withName("porin_ct_entry");

  public static final StructLayout FRAG_KEY =
      structLayout(
              bytes(16, "saddr"),
              bytes(16, "daddr"),
              U32.withName("id"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("family"),
              JAVA_BYTE.withName("direction"),
              JAVA_BYTE.withName("pad"))
          .withName("porin_frag_key");

  public static final StructLayout FRAG_VALUE =
      structLayout(
              BE16.withName("sport"),
              BE16.withName("dport"),
              BE16.withName("policy_port"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("kind"))
          .withName("porin_frag_value");

  public static final StructLayout NODE_STATE =
      structLayout(
              U32.withName("ipcache_generation"),
              U32.withName("last_revision"),
              sequenceLayout(DEVICES_MAX, U32).withName("devices"),
              U32.withName("wg_ifindex"),
              U32.withName("encrypt"))
          .withName("porin_node_state");

  public static final StructLayout ENCRYPT_VALUE =
      structLayout(U32.withName("flags")).withName("porin_encrypt_value");

  public static final StructLayout COUNTER =
      structLayout(U64.withName("packets"), U64.withName("bytes")).withName("porin_counter");

  public static final StructLayout EVENT =
      structLayout(
              U64.withName("timestamp"),
              U32.withName("ifindex"),
              U32.withName("endpoint_id"),
              U32.withName("src_identity"),
              U32.withName("dst_identity"),
              U32.withName("cookie"),
              U32.withName("policy_revision"),
              bytes(16, "saddr"),
              bytes(16, "daddr"),
              BE16.withName("sport"),
              BE16.withName("dport"),
              JAVA_BYTE.withName("family"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("direction"),
              JAVA_BYTE.withName("verdict"),
              U16.withName("reason"),
              JAVA_BYTE.withName("tcp_flags"),
              JAVA_BYTE.withName("is_reply"),
              JAVA_BYTE.withName("match_type"),
              JAVA_BYTE.withName("event_type"),
              JAVA_BYTE.withName("icmp_type"),
              JAVA_BYTE.withName("flags"),
              U32.withName("length"),
              U32.withName("rev_nat"))
          .withName("porin_event");

  public static final StructLayout LB_KEY =
      structLayout(
              bytes(16, "addr"),
              BE16.withName("port"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("family"),
              U16.withName("slot"),
              U16.withName("pad"))
          .withName("porin_lb_key");

  public static final StructLayout LB_SERVICE =
      structLayout(
              U32.withName("backend_id"),
              U16.withName("active"),
              U16.withName("terminating"),
              U32.withName("rev_nat"),
              U32.withName("affinity_timeout"),
              JAVA_BYTE.withName("flags"),
              bytes(3, "pad"))
          .withName("porin_lb_service");

  public static final StructLayout LB_BACKEND =
      structLayout(
              bytes(16, "addr"),
              BE16.withName("port"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("family"))
          .withName("porin_lb_backend");

  public static final StructLayout LB_REVNAT =
      structLayout(
              bytes(16, "addr"),
              BE16.withName("port"),
              JAVA_BYTE.withName("family"),
              JAVA_BYTE.withName("pad"))
          .withName("porin_lb_revnat");

  public static final StructLayout LB_AFFINITY_KEY =
      structLayout(
              bytes(16, "client"),
              U32.withName("rev_nat"),
              JAVA_BYTE.withName("kind"),
              bytes(3, "pad"))
          .withName("porin_lb_affinity_key");

  public static final StructLayout LB_AFFINITY_VALUE =
      structLayout(U64.withName("last_used"), U32.withName("backend_id"), U32.withName("pad"))
          .withName("porin_lb_affinity_value");

  public static final StructLayout LB_SOCK_ENTRY =
      structLayout(
              bytes(16, "backend"),
              BE16.withName("backend_port"),
              JAVA_BYTE.withName("family"),
              JAVA_BYTE.withName("used"),
              bytes(16, "service"),
              BE16.withName("service_port"),
              U16.withName("pad"),
              U32.withName("rev_nat"))
          .withName("porin_lb_sock_entry");

  public static final StructLayout LB_SOCK_VALUE =
      structLayout(
              sequenceLayout(LB_SOCK_SLOTS, LB_SOCK_ENTRY).withName("entries"),
              U32.withName("next"))
          .withName("porin_lb_sock_value");

  public static final StructLayout LB_CONN_KEY =
      structLayout(
              bytes(16, "saddr"),
              bytes(16, "daddr"),
              BE16.withName("sport"),
              BE16.withName("dport"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("family"),
              U16.withName("pad"))
          .withName("porin_lb_conn_key");

  public static final StructLayout LB_CONN_VALUE =
      structLayout(
              U32.withName("backend_id"),
              U32.withName("rev_nat"),
              BE16.withName("nat_port"),
              U16.withName("pad"),
              U32.withName("pad2"))
          .withName("porin_lb_conn_value");

  public static final StructLayout LB_NAT_KEY =
      structLayout(
              bytes(16, "addr"),
              BE16.withName("port"),
              JAVA_BYTE.withName("protocol"),
              JAVA_BYTE.withName("family"))
          .withName("porin_lb_nat_key");

  public static final StructLayout LB_NAT_VALUE =
      structLayout(
              bytes(16, "client"),
              bytes(16, "backend"),
              BE16.withName("client_port"),
              BE16.withName("backend_port"),
              BE16.withName("node_port"),
              U16.withName("pad"),
              U32.withName("rev_nat"))
          .withName("porin_lb_nat_value");

  public static final StructLayout LB_SOCK_REPORT_KEY =
      structLayout(U64.withName("netns"), U32.withName("rev_nat"), U32.withName("refused"))
          .withName("porin_lb_sock_report_key");

  public static final StructLayout LB_AFFINITY_MATCH_KEY =
      structLayout(U32.withName("backend_id"), U32.withName("rev_nat"))
          .withName("porin_lb_affinity_match_key");

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
          NODE_STATE,
          ENCRYPT_VALUE,
          COUNTER,
          EVENT,
          LB_KEY,
          LB_SERVICE,
          LB_BACKEND,
          LB_REVNAT,
          LB_AFFINITY_KEY,
          LB_AFFINITY_VALUE,
          LB_AFFINITY_MATCH_KEY,
          LB_SOCK_REPORT_KEY,
          LB_CONN_KEY,
          LB_CONN_VALUE,
          LB_NAT_KEY,
          LB_NAT_VALUE,
          LB_SOCK_ENTRY,
          LB_SOCK_VALUE);

  /** A field's byte offset. */
  public static int offset(StructLayout layout, String field) {
    return (int) layout.byteOffset(MemoryLayout.PathElement.groupElement(field));
  }

  /** A struct's size in bytes. */
  public static int size(StructLayout layout) {
    return (int) layout.byteSize();
  }
}
