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
#define PORIN_EVENT_TRACE_SOCK 7           /* a socket's service translation (connect, sendmsg) */

/* Policy match types (Cilium's POLICY_MATCH_*). */
#define PORIN_MATCH_NONE 0
#define PORIN_MATCH_L3_ONLY 1
#define PORIN_MATCH_L3_L4 2
#define PORIN_MATCH_L4_ONLY 3
#define PORIN_MATCH_ALL 4

/* Drop reasons: Cilium's codes (pkg/monitor/api/drop.go, flow.proto DropReason). */
#define PORIN_DROP_INVALID_SOURCE_MAC 130  /* a pod sent from a MAC that is not its own */
#define PORIN_DROP_INVALID_SOURCE_IP 132   /* a pod sent from an address that is not its own */
#define PORIN_DROP_POLICY 133              /* no allow rule: default deny */
#define PORIN_DROP_INVALID_PACKET 134
#define PORIN_DROP_CT_INVALID_HDR 135
#define PORIN_DROP_UNSUPPORTED_L3 139
#define PORIN_DROP_CT_CREATE_FAILED 155
#define PORIN_DROP_INVALID_EXTHDR 156
#define PORIN_DROP_FRAG_NOSUPPORT 157
#define PORIN_DROP_FRAG_NOT_FOUND 175
#define PORIN_DROP_POLICY_DENY 181         /* an explicit deny rule */
#define PORIN_DROP_VLAN_FILTERED 182       /* a pod sent a VLAN-tagged frame */
#define PORIN_DROP_CT_NO_MAP 190           /* the endpoint has no conntrack map (yet) */
#define PORIN_DROP_WRITE_ERROR 141
#define PORIN_DROP_EP_NOT_READY 203
#define PORIN_DROP_NO_SERVICE 158          /* a service with no backend: rejected */
#define PORIN_DROP_UNENCRYPTED 195         /* pod traffic between nodes that would go in clear */

/* Reserved identities the datapath uses: an address the ipcache does not know is the world of
 * its family, so that toCIDR 0.0.0.0/0 never opens the IPv6 world (and ::/0 not the IPv4 one). */
#define PORIN_IDENTITY_HOST 1
#define PORIN_IDENTITY_MAX_RESERVED 255
#define PORIN_IDENTITY_LOCAL_SCOPE (1 << 24) /* node-local (CIDR) identities carry this bit */
#define PORIN_IDENTITY_WORLD_IPV4 9
#define PORIN_IDENTITY_WORLD_IPV6 10

/* Map sizes. */
#define PORIN_IPCACHE_MAX 512000
#define PORIN_ENDPOINTS_MAX 4096
#define PORIN_POLICY_SLOTS 2               /* each endpoint's policy is double-buffered */
#define PORIN_POLICY_MAX 16384             /* entries per endpoint and slot */
#define PORIN_CIDR_CLASSES_MAX 65536
#define PORIN_CT_PER_ENDPOINT 8192         /* per direction; the agent sizes each endpoint's maps */
#define PORIN_FRAG_PER_ENDPOINT 1024       /* datagrams in flight per endpoint */
#define PORIN_EVENTS_BYTES (32 * 1024 * 1024)
#define PORIN_COUNTERS_MAX 512             /* reason * 2 + direction */
#define PORIN_COUNTER_EVENTS_LOST 255      /* a counter "reason": events the ring had no room for */

/* Connection tracking lifetimes, in seconds (Cilium's defaults). */
#define PORIN_CT_LIFETIME_TCP 21600
#define PORIN_CT_LIFETIME_SYN 60
#define PORIN_CT_LIFETIME_CLOSE 10
#define PORIN_CT_LIFETIME_NONTCP 60

/* porin_ipcache: LPM trie; prefixlen = PORIN_IPCACHE_KEY_BASE_BITS (family and pad) + the
 * address prefix. */
struct porin_ipcache_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

#define PORIN_IPCACHE_KEY_BASE_BITS                                                               \
	((__builtin_offsetof(struct porin_ipcache_key, addr) - __builtin_offsetof(struct porin_ipcache_key, family)) * 8)

struct porin_ipcache_value {
	__u32 identity;
	__u32 flags;
};

/* porin_endpoints: hash, host-side ifindex -> endpoint. The agent replaces a value whole (one
 * atomic update), so a packet sees an endpoint's identity, revision, defaults and policy slot
 * together: never a half-written policy. */
#define PORIN_EP_ENFORCE_INGRESS 1
#define PORIN_EP_ENFORCE_EGRESS 2
#define PORIN_EP_CIDR_CLASSES_INGRESS 4
#define PORIN_EP_CIDR_CLASSES_EGRESS 8
#define PORIN_EP_ENCRYPT_STRICT 16         /* a policy demands encryption (cilium.io/encrypt) */

struct porin_endpoint {
	__u32 endpoint_id;
	__u32 identity;
	__u32 policy_revision;     /* unique on the node; changes whenever the policy changes */
	__u8 flags;
	__u8 ingress_default;      /* PORIN_POLICY_* when enforced and nothing matches */
	__u8 egress_default;
	__u8 policy_slot;          /* which of the endpoint's two policy maps and class sets is live */
	__u32 ingress_default_cookie;
	__u32 egress_default_cookie;
	__u8 pod_mac[6];           /* the pod's interface: the only source MAC it may send from */
	__u8 host_mac[6];          /* the host side: the source MAC of redirected packets */
	__be32 ipv4;               /* the pod's addresses: the only sources it may send from */
	__be32 ipv6[4];            /* all zero when the pod has no IPv6 address */
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

/* porin_policy: hash of maps, PORIN_POLICY_MAP_KEY(endpoint id, slot) -> that endpoint's LPM trie
 * of these. prefixlen = PORIN_POLICY_KEY_BASE_BITS (identity and direction) + 0..24 (protocol
 * then port). */
#define PORIN_POLICY_MAP_KEY(endpoint_id, slot) (((endpoint_id) << 1) | ((slot) & 1))

struct porin_policy_key {
	__u32 prefixlen;
	__u32 identity;            /* 0 = any peer; class ids for ipBlock address classes */
	__u8 direction;
	__u8 protocol;             /* 0 = any */
	__be16 port;               /* destination port, or ICMP type */
};

#define PORIN_POLICY_KEY_BASE_BITS                                                                \
	((__builtin_offsetof(struct porin_policy_key, protocol) - __builtin_offsetof(struct porin_policy_key, identity)) * 8)

struct porin_policy_value {
	__u8 verdict;              /* PORIN_POLICY_* */
	__u8 prefix_len;           /* protocol+port prefix, 0..24 */
	__u8 flags;
	__u8 pad;
	__u32 cookie;              /* names the rules behind this entry */
};

/* porin_cidr_classes: LPM trie, per endpoint, policy slot and direction: address -> ipBlock
 * class id. prefixlen = PORIN_CIDR_CLASS_KEY_BASE_BITS (endpoint, direction, family, slot, pad)
 * + the address prefix. */
struct porin_cidr_class_key {
	__u32 prefixlen;
	__u32 endpoint_id;
	__u8 direction;
	__u8 family;
	__u8 slot;
	__u8 pad;
	__u8 addr[16];
};

#define PORIN_CIDR_CLASS_KEY_BASE_BITS                                                            \
	((__builtin_offsetof(struct porin_cidr_class_key, addr) -                                           \
	  __builtin_offsetof(struct porin_cidr_class_key, endpoint_id)) * 8)

struct porin_cidr_class_value {
	__u32 class_id;
};

/* porin_ct: hash of maps, PORIN_CT_MAP_KEY(endpoint id, direction) -> that endpoint's LRU hash of
 * the connections it saw first in that direction, keyed as their first packet saw them. Two maps
 * per endpoint: a packet only ever matches state its own endpoint created, a flood (even one its
 * own policy admits) only evicts that endpoint's entries of the flood's direction, and a deleted
 * endpoint's connections go with its maps. ICMP echo keys on (id, 0) / (0, id) with the kind;
 * other ICMP on (0, type << 8 | code), which no reverse lookup can match. */
#define PORIN_CT_MAP_KEY(endpoint_id, direction) (((endpoint_id) << 1) | ((direction) & 1))

/* What the ports of a conntrack key are (ICMP echo requests and replies are told apart here, not
 * by their ports, so no identifier can make a request look like a reply). */
#define PORIN_CT_KIND_PORTS 0
#define PORIN_CT_KIND_ECHO_REQUEST 1
#define PORIN_CT_KIND_ECHO_REPLY 2
#define PORIN_CT_KIND_ICMP 3

struct porin_ct_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 protocol;
	__u8 direction;
	__u8 family;
	__u8 kind;                 /* PORIN_CT_KIND_* */
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
	__u32 ipcache_generation;  /* the ipcache the peer identity came from */
	__u8 verdict;              /* PORIN_POLICY_ALLOW or _AUDIT */
	__u8 flags;                /* PORIN_CT_* */
	__u16 rev_nat;             /* a service translation: replies get its frontend as source */
	__u8 pad[4];
};

/* porin_frag: hash of maps, endpoint id -> that endpoint's LRU hash of datagrams whose first
 * fragment was forwarded: the ports later fragments take. Written after a forward verdict only,
 * removed with the last fragment. */
struct porin_frag_key {
	__be32 saddr[4];
	__be32 daddr[4];
	__be32 id;                 /* IPv4: the 16-bit identification; IPv6: the fragment header's */
	__u8 protocol;             /* as every fragment carries it (IPv6: the fragment header's) */
	__u8 family;
	__u8 direction;
	__u8 pad;
};

struct porin_frag_value {
	__be16 sport;
	__be16 dport;
	__be16 policy_port;
	__u8 protocol;             /* the datagram's L4 protocol (after any extension headers) */
	__u8 kind;                 /* PORIN_CT_KIND_* */
};

/* porin_state: array of one: node-wide values. The agent bumps ipcache_generation after every
 * ipcache change, so established connections check their peer's identity again;
 * last_revision is the agent's own: the last endpoint revision it handed out (revisions are
 * unique on the node, across endpoints and agent restarts). devices: the ifindexes of the
 * node's uplinks (0 = none): traffic between pods of different nodes is routed straight out of
 * and into these (host routing, skipping the node's IP stack); porin_from_netdev runs on their
 * tc ingress. Kept here, next to the generation every packet reads, not in a map of its own. */
#define PORIN_DEVICES_MAX 4

/* encrypt: WireGuard on this node (pod traffic to a peer's pods goes through wg_ifindex), and
 * strict mode (pod traffic to another node that has no peer yet is dropped, never sent in clear). */
#define PORIN_ENCRYPT_ON 1
#define PORIN_ENCRYPT_STRICT 2

struct porin_node_state {
	__u32 ipcache_generation;
	__u32 last_revision;
	__u32 devices[PORIN_DEVICES_MAX];
	__u32 wg_ifindex;          /* the WireGuard device (0: none) */
	__u32 encrypt;             /* PORIN_ENCRYPT_* */
};

/* porin_encrypt: LPM trie keyed as porin_ipcache: the pod prefixes of every other node. With
 * PORIN_ENCRYPT_PEER the node is a configured WireGuard peer: a pod's packet to one of these goes
 * through the WireGuard device. Without it (no key yet) the prefix is still known as another
 * node's pods: strict mode drops what would go there in clear, whatever the ipcache knows. */
#define PORIN_ENCRYPT_MAX 65536
#define PORIN_ENCRYPT_PEER 1

struct porin_encrypt_value {
	__u32 flags;               /* PORIN_ENCRYPT_PEER */
};

/*
 * Services (kube-proxy replacement). porin_lb_services: hash, frontend + slot -> service (slot 0)
 * or one of its backends (slot 1..active+terminating). Slots 1..active hold the ready backends,
 * the next ones the terminating backends, used only when no ready one is left. The agent writes
 * a service's backend slots before its slot 0 and removes them after, so a packet never sees a
 * count larger than the slots behind it.
 */
#define PORIN_LB_SERVICES_MAX 262144
#define PORIN_LB_BACKENDS_MAX 262144
#define PORIN_LB_REVNAT_MAX 65536
#define PORIN_LB_AFFINITY_MAX 65536
#define PORIN_LB_CONN_MAX 262144
#define PORIN_LB_MAGLEV_SIZE 16381          /* Cilium's default table size, a prime */
#define PORIN_LB_MAGLEV_MAX 4096            /* services with a Maglev table */

#define PORIN_LB_CLUSTER_IP 1               /* a cluster IP (pods reach it) */
#define PORIN_LB_NODE_PORT 2                /* a node address and node port (reached from outside) */
#define PORIN_LB_AFFINITY 4                 /* sessionAffinity: ClientIP */
#define PORIN_LB_MAGLEV 8                   /* pick through the service's Maglev table */

struct porin_lb_key {
	__u8 addr[16];
	__be16 port;
	__u8 protocol;
	__u8 family;
	__u16 slot;                /* 0: the service; n: its n-th backend */
	__u16 pad;
};

struct porin_lb_service {
	__u32 backend_id;          /* slot n: the backend */
	__u16 active;              /* slot 0: ready backends (slots 1..active) */
	__u16 terminating;         /* slot 0: terminating ones (the slots after) */
	__u32 rev_nat;             /* the frontend's index in porin_lb_revnat and porin_lb_maglev */
	__u32 affinity_timeout;    /* seconds, with PORIN_LB_AFFINITY */
	__u8 flags;                /* PORIN_LB_* */
	__u8 pad[3];
};

/* porin_lb_backends: hash, backend id -> address. */
struct porin_lb_backend {
	__u8 addr[16];
	__be16 port;
	__u8 protocol;
	__u8 family;
};

/* porin_lb_revnat: hash, rev_nat index -> the frontend replies must seem to come from. */
struct porin_lb_revnat {
	__u8 addr[16];
	__be16 port;
	__u8 family;
	__u8 pad;
};

/* porin_lb_affinity: LRU hash, (client, service) -> the backend it was given. The client is its
 * network namespace's cookie (socket LB) or its address (tc). */
#define PORIN_LB_CLIENT_ADDR 0
#define PORIN_LB_CLIENT_NETNS 1

struct porin_lb_affinity_key {
	__u8 client[16];
	__u32 rev_nat;
	__u8 kind;                 /* PORIN_LB_CLIENT_* */
	__u8 pad[3];
};

struct porin_lb_affinity_value {
	__u64 last_used;           /* bpf_ktime_get_ns() */
	__u32 backend_id;
	__u32 pad;
};

/* porin_lb_conn: LRU hash, a connection translated per packet (tc: a pod's traffic that no socket
 * hook saw, node ports from outside) as its client sent it -> its backend, so that every packet
 * of the connection goes to the same one. */
struct porin_lb_conn_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 protocol;
	__u8 family;
	__u16 pad;
};

struct porin_lb_conn_value {
	__u32 backend_id;
	__u32 rev_nat;
	__be16 nat_port;           /* node ports to another node: the source port on this node */
	__u16 pad;
	__u32 pad2;
};

/* porin_lb_nat: LRU hash, this node's address and a NAT port -> the connection a node port sent
 * to a backend on another node (source-translated to this node), so that the backend's replies go
 * back to the client, as from the node port. */
#define PORIN_LB_NAT_PORT_MIN 61000        /* above the node's ephemeral ports (32768-60999) */
#define PORIN_LB_NAT_PORT_MAX 65535

struct porin_lb_nat_key {
	__u8 addr[16];             /* this node's address */
	__be16 port;               /* the NAT port */
	__u8 protocol;
	__u8 family;
};

struct porin_lb_nat_value {
	__u8 client[16];
	__u8 backend[16];
	__be16 client_port;
	__be16 backend_port;
	__be16 node_port;          /* the frontend's port */
	__u16 pad;
	__u32 rev_nat;
};

/* porin_lb_affinity_match: hash, (backend, frontend) pairs the agent programmed: an affinity entry
 * is only honoured while its backend still serves that frontend. */
struct porin_lb_affinity_match_key {
	__u32 backend_id;
	__u32 rev_nat;
};

/* porin_lb_sock_reported: LRU hash, (client network namespace, frontend) -> when its last
 * translation was reported: one trace-sock event per client and service per second at most (a
 * connect loop neither floods the event ring nor taxes every connection with an event). */
#define PORIN_LB_SOCK_REPORT_NS 1000000000ULL
#define PORIN_LB_SOCK_REPORTED_MAX 65536

struct porin_lb_sock_report_key {
	__u64 netns;
	__u32 rev_nat;
	__u32 refused;
};

/* porin_lb_sock: socket-local storage (freed with the socket, reachable from no other): the
 * backends this socket was sent to and the service each stands for, what recvmsg and getpeername
 * show the application instead. A few per socket (an unconnected UDP socket may talk to several
 * services); the oldest is replaced. */
#define PORIN_LB_SOCK_SLOTS 4

struct porin_lb_sock_entry {
	__u8 backend[16];
	__be16 backend_port;
	__u8 family;
	__u8 used;
	__u8 service[16];
	__be16 service_port;
	__u16 pad;
	__u32 rev_nat;
};

struct porin_lb_sock_value {
	struct porin_lb_sock_entry entries[PORIN_LB_SOCK_SLOTS];
	__u32 next;
};

/* porin_counters: per-CPU array indexed reason * 2 + direction (reason 0 = forwarded). */
struct porin_counter {
	__u64 packets;
	__u64 bytes;
};

/* Event flags. */
#define PORIN_EVENT_F_ENCRYPTED 1          /* the packet went (or came) through WireGuard */

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
	__u8 flags;                /* PORIN_EVENT_F_* */
	__u32 length;              /* packet length */
	__u32 rev_nat;             /* the service the connection was addressed to (0: none) */
};

#endif
