/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every map layout and constant the datapath shares with the agent, in one place.
 * io.porin.agent.bpf.MapLayouts mirrors this file; MapLayoutsTest compiles a probe against it
 * and checks every size and offset, so the two cannot drift apart.
 *
 * All structs are naturally aligned with explicit padding: no hidden holes.
 * Addresses and ports are in network byte order; everything else in host order.
 */
#ifndef PORIN_MAPS_H
#define PORIN_MAPS_H

#include <linux/types.h>

/* Policy directions (as Cilium's egress bit). */
#define PORIN_DIR_INGRESS 0
#define PORIN_DIR_EGRESS 1

/* Address families in keys. */
#define PORIN_FAMILY_IPV4 4
#define PORIN_FAMILY_IPV6 6

/* Policy verdicts, ordered by strength: the strongest matching entry wins. */
#define PORIN_POLICY_ALLOW 0
#define PORIN_POLICY_AUDIT 1
#define PORIN_POLICY_DENY 2

/* Event verdicts (Hubble's Verdict numbers). */
#define PORIN_VERDICT_FORWARDED 1
#define PORIN_VERDICT_DROPPED 2
#define PORIN_VERDICT_AUDIT 4

/* Event types (Cilium's monitor message types). */
#define PORIN_EVENT_DROP 1
#define PORIN_EVENT_POLICY_VERDICT 5

/* Policy match types (Cilium's POLICY_MATCH_*). */
#define PORIN_MATCH_NONE 0
#define PORIN_MATCH_L3_ONLY 1
#define PORIN_MATCH_L3_L4 2
#define PORIN_MATCH_L4_ONLY 3
#define PORIN_MATCH_ALL 4

/* Drop reasons: Cilium's codes (pkg/monitor/api/drop.go, flow.proto DropReason). */
#define PORIN_DROP_POLICY 133              /* no allow rule: default deny */
#define PORIN_DROP_INVALID_PACKET 134
#define PORIN_DROP_CT_INVALID_HDR 135
#define PORIN_DROP_UNSUPPORTED_L3 139
#define PORIN_DROP_CT_CREATE_FAILED 155
#define PORIN_DROP_INVALID_EXTHDR 156
#define PORIN_DROP_FRAG_NOSUPPORT 157
#define PORIN_DROP_FRAG_NOT_FOUND 175
#define PORIN_DROP_POLICY_DENY 181         /* an explicit deny rule */
#define PORIN_DROP_WRITE_ERROR 141
#define PORIN_DROP_EP_NOT_READY 203

/* Reserved identities the datapath falls back to. */
#define PORIN_IDENTITY_WORLD 2

/* Map sizes. */
#define PORIN_IPCACHE_MAX 512000
#define PORIN_ENDPOINTS_MAX 4096
#define PORIN_POLICY_MAX 16384             /* entries per endpoint */
#define PORIN_CIDR_CLASSES_MAX 65536
#define PORIN_CT_MAX 262144
#define PORIN_FRAG_MAX 8192
#define PORIN_EVENTS_BYTES (32 * 1024 * 1024)
#define PORIN_COUNTERS_MAX 512             /* reason * 2 + direction */
#define PORIN_COUNTER_EVENTS_LOST 255      /* a counter "reason": events the ring had no room for */

/* Connection tracking lifetimes, in seconds (Cilium's defaults). */
#define PORIN_CT_LIFETIME_TCP 21600
#define PORIN_CT_LIFETIME_SYN 60
#define PORIN_CT_LIFETIME_CLOSE 10
#define PORIN_CT_LIFETIME_NONTCP 60

/* porin_ipcache: LPM trie; prefixlen = 32 (family and pad) + the address prefix. */
struct porin_ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

struct porin_ipcache_value {
	__u32 identity;
	__u32 flags;
};

/* porin_endpoints: hash, host-side ifindex -> endpoint. */
#define PORIN_EP_ENFORCE_INGRESS 1
#define PORIN_EP_ENFORCE_EGRESS 2
#define PORIN_EP_CIDR_CLASSES_INGRESS 4
#define PORIN_EP_CIDR_CLASSES_EGRESS 8

struct porin_endpoint {
	__u32 endpoint_id;
	__u32 identity;
	__u32 policy_revision;     /* changes whenever the endpoint's policy changes */
	__u8 flags;
	__u8 ingress_default;      /* PORIN_POLICY_* when enforced and nothing matches */
	__u8 egress_default;
	__u8 pad;
	__u32 ingress_default_cookie;
	__u32 egress_default_cookie;
	__u8 pod_mac[6];           /* the pod's interface: the destination MAC of redirected packets */
	__u8 host_mac[6];          /* the host side: their source MAC */
};

/* porin_lxc: hash, local endpoint address -> host-side ifindex (the same-node fast path). */
struct porin_lxc_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

struct porin_lxc_value {
	__u32 ifindex;
};

/* porin_policy: hash of maps, endpoint id -> that endpoint's LPM trie of these.
 * prefixlen = 40 (identity and direction) + 0..24 (protocol then port). */
struct porin_policy_key {
	__u32 prefixlen;
	__u32 identity;            /* 0 = any peer; class ids for ipBlock address classes */
	__u8 direction;
	__u8 protocol;             /* 0 = any */
	__be16 port;               /* destination port, or ICMP type */
};

struct porin_policy_value {
	__u8 verdict;              /* PORIN_POLICY_* */
	__u8 prefix_len;           /* protocol+port prefix, 0..24 */
	__u8 flags;
	__u8 pad;
	__u32 cookie;              /* names the rules behind this entry */
};

/* porin_cidr_classes: LPM trie, per endpoint and direction: address -> ipBlock class id.
 * prefixlen = 64 (endpoint, direction, family, pad) + the address prefix. */
struct porin_cidr_class_key {
	__u32 prefixlen;
	__u32 endpoint_id;
	__u8 direction;
	__u8 family;
	__u8 pad[2];
	__u8 addr[16];
};

struct porin_cidr_class_value {
	__u32 class_id;
};

/* porin_ct: LRU hash. A connection as its first packet saw it, per policy direction. */
struct porin_ct_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 protocol;
	__u8 direction;
	__u8 family;
	__u8 pad;
};

#define PORIN_CT_SEEN_REPLY 1
#define PORIN_CT_FIN_ORIGINAL 2
#define PORIN_CT_FIN_REPLY 4
#define PORIN_CT_CLOSING 8

struct porin_ct_entry {
	__u64 expires;             /* bpf_ktime_get_ns() deadline */
	__u32 policy_revision;     /* the endpoint revision the verdict came from */
	__u32 cookie;
	__u32 peer_identity;
	__u8 verdict;              /* PORIN_POLICY_ALLOW or _AUDIT */
	__u8 flags;                /* PORIN_CT_* */
	__u8 pad[2];
};

/* porin_frag: LRU hash, IPv4 datagram -> the ports its first fragment carried. */
struct porin_frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id;
	__u8 protocol;
	__u8 pad;
};

struct porin_frag_value {
	__be16 sport;
	__be16 dport;
};

/* porin_counters: per-CPU array indexed reason * 2 + direction (reason 0 = forwarded). */
struct porin_counter {
	__u64 packets;
	__u64 bytes;
};

/* porin_events: ring buffer records: one per drop and one per new connection. */
struct porin_event {
	__u64 timestamp;           /* bpf_ktime_get_ns() */
	__u32 ifindex;
	__u32 endpoint_id;
	__u32 src_identity;
	__u32 dst_identity;
	__u32 cookie;
	__u32 policy_revision;
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 family;
	__u8 protocol;
	__u8 direction;
	__u8 verdict;              /* PORIN_VERDICT_* */
	__u16 reason;              /* drop reason, 0 when forwarded */
	__u8 tcp_flags;
	__u8 is_reply;
	__u8 match_type;           /* PORIN_MATCH_* */
	__u8 event_type;           /* PORIN_EVENT_* */
	__u8 icmp_type;            /* ICMP/ICMPv6: the message type (0 otherwise) */
	__u8 pad;
	__u32 length;              /* packet length */
	__u32 pad2;
};

#endif
