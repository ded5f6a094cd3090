// SPDX-License-Identifier: Apache-2.0
/*
 * Porin's endpoint programs, attached with tc (clsact, direct action):
 *   porin_from_pod     on each pod's host-side veth, tc ingress: what the pod sends -> its egress
 *                      policy
 *   porin_to_pod       on the same veth, tc egress: what the pod receives -> its ingress policy
 *   porin_from_netdev  on the node's uplinks, tc ingress: what other nodes send to a local pod ->
 *                      that pod's ingress policy, then straight into the pod
 *
 * Per packet: parse. What a pod sends must come from its own MAC and addresses (VLAN tags, other
 * sources: dropped); link-local control (ND, MLD, the pod's own ARP) passes, counted. Then the
 * endpoint's own conntrack: a reply or an established packet decided under the endpoint's
 * current policy revision and the current ipcache passes; an ICMP error about one of its
 * connections passes (RELATED). Anything else is decided by policy (ipcache -> peer identity,
 * then the endpoint's policy map) — a reply under a changed policy is decided again as its
 * connection's first packet — and a new allowed connection gets a conntrack entry and one event;
 * every drop gets an event.
 */
#include <linux/pkt_cls.h>
#include "lib/conntrack.h"
#include "lib/encrypt.h"
#include "lib/events.h"
#include "lib/nat.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct porin_endpoint);
	__uint(max_entries, PORIN_ENDPOINTS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct porin_lxc_key);
	__type(value, struct porin_lxc_value);
	__uint(max_entries, PORIN_ENDPOINTS_MAX * 2);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lxc SEC(".maps");


static __always_inline int drop_as(struct __sk_buff *skb, const struct porin_endpoint *ep,
				   const struct packet *p, __u8 dir, __u32 peer,
				   const struct decision *d, __u16 reason, __u8 is_reply)
{
	count(reason, dir, skb->len);
	emit(skb, ep, p, dir, peer, d, PORIN_VERDICT_DROPPED, reason, is_reply, PORIN_EVENT_DROP);
	return TC_ACT_SHOT;
}

static __always_inline int drop(struct __sk_buff *skb, const struct porin_endpoint *ep,
				const struct packet *p, __u8 dir, __u16 reason)
{
	return drop_as(skb, ep, p, dir, 0, 0, reason, 0);
}

static __always_inline int forward(struct __sk_buff *skb, __u8 dir)
{
	count(0, dir, skb->len);
	return TC_ACT_OK;
}

/* Whether an ND or MLD message a pod sends stays on its link: to a link-local address or this
 * link's multicast groups. Anything else would be routed on (with hop limit 254): policy decides. */
static __always_inline int nd_to_link(const struct packet *p)
{
	return ipv6_is_link_local(p->t.daddr) || ipv6_is_link_multicast(p->t.daddr);
}

/*
 * What a pod may send from: its own MAC, its own addresses, and for link-local control (ND, MLD)
 * the unspecified or a link-local IPv6 address. Returns 0 or the drop reason.
 */
static __always_inline int source_check(struct __sk_buff *skb, const struct porin_endpoint *ep,
					const struct packet *p)
{
	if (!source_macs_are(skb, ep->pod_mac, p->kind))
		return PORIN_DROP_INVALID_SOURCE_MAC;
	if (p->t.family == PORIN_FAMILY_IPV4) {
		/* ARP probes (RFC 5227) come from 0.0.0.0 */
		if (p->t.saddr[0] == ep->ipv4 && ep->ipv4)
			return 0;
		return p->kind == PACKET_ARP && !p->t.saddr[0] ? 0 : PORIN_DROP_INVALID_SOURCE_IP;
	}
	if (addr_eq(p->t.saddr, ep->ipv6, PORIN_FAMILY_IPV6) && !ipv6_is_unspecified(ep->ipv6))
		return 0;
	if (p->control && (ipv6_is_unspecified(p->t.saddr) || ipv6_is_link_local(p->t.saddr)) &&
	    nd_to_link(p))
		return 0;
	return PORIN_DROP_INVALID_SOURCE_IP;
}

/* Whether an ND message arriving at a pod comes from the link: a link-local or unspecified
 * source, or the node itself. Others (a routed hop limit 255 is impossible, but a crafted one is
 * not) go through policy. */
static __always_inline int nd_from_link(const struct packet *p)
{
	return ipv6_is_unspecified(p->t.saddr) || ipv6_is_link_local(p->t.saddr) ||
	       ipcache_identity(p->t.saddr, PORIN_FAMILY_IPV6) == PORIN_IDENTITY_HOST;
}

/* The destination port (or ICMP type) of a connection's first packet, from one of its replies. */
static __always_inline __be16 original_port(const struct packet *p)
{
	if (p->t.protocol == IPPROTO_ICMP)
		return bpf_htons(ICMP_ECHO);
	if (p->t.protocol == IPPROTO_ICMPV6)
		return bpf_htons(ICMPV6_ECHO_REQUEST);
	return p->t.sport;
}

/*
 * One policy direction of one endpoint for a parsed packet: the endpoint's conntrack, then policy
 * for what is new (or was decided under an older revision or ipcache). Counts, emits, and returns
 * TC_ACT_OK or _SHOT.
 */
static __noinline int policy_step(struct __sk_buff *skb, const struct porin_endpoint *ep, __u8 dir,
				  struct packet *p, __u32 local_peer)
{
	/* A function of its own (not inlined): the fast path runs it twice, and each run needs its
	 * keys and decision on the stack; inlined twice they would not fit the 512-byte stack.
	 * local_peer: the peer's identity when it is an endpoint of this node (0: ask the ipcache). */
	__u64 now = p->now;
	__u32 generation = p->generation;
	void *fwd = ct_map(ep->endpoint_id, dir);
	if (!fwd)
		return drop(skb, ep, p, dir, PORIN_DROP_CT_NO_MAP);
	if (p->icmp_error && ct_related(ep, p, dir))
		return forward(skb, dir);

	struct porin_ct_key key;
	enum ct_status status;
	void *ctmap;
	struct porin_ct_entry *ct = ct_lookup(fwd, ep->endpoint_id, p, dir, &key, &ctmap, now, &status);
	int reply = status == CT_REPLY;
	if (ct && reply && ct->rev_nat)
		p->reply_rev_nat = ct->rev_nat; /* a translated connection: undo it on its replies */
	if (ct && ct->policy_revision == ep->policy_revision &&
	    ct->ipcache_generation == generation) {
		ct_touch(ct, p, reply, now);
		p->peer = ct->peer_identity;
		return forward(skb, dir);
	}

	/*
	 * New, or decided under an older policy or ipcache: decide now. A reply is decided as its
	 * connection's first packet was: the other direction, the original destination port. The
	 * peer is the far end either way.
	 */
	const __be32 *peer_addr = dir == PORIN_DIR_EGRESS ? p->t.daddr : p->t.saddr;
	__u32 peer = local_peer ? local_peer : ipcache_identity(peer_addr, p->t.family);
	struct decision d = {};
	p->peer = peer;
	policy_decide(&d, ep, reply ? dir ^ 1 : dir, peer, peer_addr, p->t.family, p->t.protocol,
		      reply ? original_port(p) : p->policy_port);
	if (d.verdict == PORIN_POLICY_DENY) {
		if (ct)
			bpf_map_delete_elem(ctmap, &key);
		return drop_as(skb, ep, p, dir, peer, &d,
			       d.by_default ? PORIN_DROP_POLICY : PORIN_DROP_POLICY_DENY, reply);
	}
	if (ct) {
		/* still allowed under the new revision and ipcache: keep the connection */
		ct->policy_revision = ep->policy_revision;
		ct->ipcache_generation = generation;
		ct->verdict = d.verdict;
		ct->cookie = d.cookie;
		ct->peer_identity = peer;
		ct_touch(ct, p, reply, now);
		return forward(skb, dir);
	}
	struct porin_ct_entry entry = {
		.policy_revision = ep->policy_revision, .ipcache_generation = generation,
		.cookie = d.cookie, .peer_identity = peer, .verdict = d.verdict,
		.rev_nat = p->rev_nat && dir == p->rev_nat_dir ? (__u16)p->rev_nat : 0,
	};
	ct_touch(&entry, p, 0, now);
	if (bpf_map_update_elem(ctmap, &key, &entry, BPF_ANY))
		return drop_as(skb, ep, p, dir, peer, &d, PORIN_DROP_CT_CREATE_FAILED, 0);
	emit(skb, ep, p, dir, peer, &d,
	     d.verdict == PORIN_POLICY_AUDIT ? PORIN_VERDICT_AUDIT : PORIN_VERDICT_FORWARDED, 0, 0,
	     PORIN_EVENT_POLICY_VERDICT);
	return forward(skb, dir);
}

/* Decrements the IPv4 TTL (fixing the header checksum) or the IPv6 hop limit. Returns 1 when the
 * packet must not be forwarded here (TTL 1 or less), a negative value when writing failed. */
static __always_inline int ttl_decrement(struct __sk_buff *skb, const struct packet *p)
{
	__u32 off = sizeof(struct ethhdr) + (p->t.family == PORIN_FAMILY_IPV4 ? 8 : 7);
	__u8 ttl = p->ttl;
	if (ttl <= 1)
		return 1;
	__u8 next = ttl - 1;
	if (p->t.family == PORIN_FAMILY_IPV4 &&
	    bpf_l3_csum_replace(skb, sizeof(struct ethhdr) + 10, bpf_htons((__u16)ttl << 8),
				bpf_htons((__u16)next << 8), 2))
		return -1;
	return bpf_skb_store_bytes(skb, off, &next, 1, 0) ? -1 : 0;
}

/* Hands a packet to a local endpoint inside its namespace: one hop (TTL), its MACs. */
static __always_inline int into_pod(struct __sk_buff *skb, const struct porin_endpoint *dst,
				    __u32 dst_ifindex, const struct packet *p)
{
	/* a router's duty: the hop limit goes down; at 1 the stack answers (time exceeded) */
	int rc = ttl_decrement(skb, p);
	if (rc > 0)
		return TC_ACT_OK;
	if (rc < 0 || bpf_skb_store_bytes(skb, 0, dst->pod_mac, 6, 0) ||
	    bpf_skb_store_bytes(skb, 6, dst->host_mac, 6, 0))
		return drop(skb, dst, p, PORIN_DIR_INGRESS, PORIN_DROP_WRITE_ERROR);
	return bpf_redirect_peer(dst_ifindex, 0);
}

/*
 * Host routing: a packet for a pod on another node leaves through the node's uplink directly (a
 * FIB lookup, then out of the device), skipping the node's IP input and forwarding path. Only to
 * one of the node's own devices; anything the lookup does not settle (no route, a route
 * elsewhere, a packet too big) takes the stack as before.
 */
static __noinline int route_out(struct __sk_buff *skb, const struct packet *p)
{
	struct bpf_fib_lookup fib = {};
	fib.ifindex = skb->ifindex;
	fib.l4_protocol = p->t.protocol;
	fib.sport = p->t.sport;
	fib.dport = p->t.dport;
	if (p->t.family == PORIN_FAMILY_IPV4) {
		fib.family = 2; /* AF_INET */
		fib.ipv4_src = p->t.saddr[0];
		fib.ipv4_dst = p->t.daddr[0];
	} else {
		fib.family = 10; /* AF_INET6 */
		__builtin_memcpy(fib.ipv6_src, p->t.saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, p->t.daddr, 16);
	}
	long rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return TC_ACT_OK;
	__u32 out = fib.ifindex;
	if (!out || !is_node_device(out))
		return TC_ACT_OK;
	int ttl = ttl_decrement(skb, p);
	if (ttl > 0)
		return TC_ACT_OK;
	if (ttl < 0)
		return TC_ACT_SHOT;
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh = {};
		if (p->t.family == PORIN_FAMILY_IPV4) {
			nh.nh_family = 2;
			nh.ipv4_nh = fib.ipv4_dst;
		} else {
			nh.nh_family = 10;
			__builtin_memcpy(nh.ipv6_nh, fib.ipv6_dst, 16);
		}
		return bpf_redirect_neigh(out, &nh, sizeof(nh), 0);
	}
	if (bpf_skb_store_bytes(skb, 0, fib.dmac, 6, 0) || bpf_skb_store_bytes(skb, 6, fib.smac, 6, 0))
		return TC_ACT_SHOT;
	return bpf_redirect(out, 0);
}

/* The lxc entry of an address: a local endpoint's. */
static __always_inline struct porin_lxc_value *local_address_of(const __u8 *addr, __u8 family)
{
	struct porin_lxc_key lk = { .family = family };
	__builtin_memcpy(lk.addr, addr, 16);
	return bpf_map_lookup_elem(&porin_lxc, &lk);
}

/* A packet for a pod on a WireGuard peer: into the device (an L3 device: the redirect drops the
 * Ethernet header), one hop as on the uplink. */
static __always_inline int to_wireguard(struct __sk_buff *skb, const struct packet *p, int wg)
{
	int ttl = ttl_decrement(skb, p);
	if (ttl > 0)
		return TC_ACT_OK;
	if (ttl < 0)
		return TC_ACT_SHOT;
	return bpf_redirect((__u32)wg, 0);
}

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	struct packet p = {};
	__u32 ifindex = skb->ifindex;
	struct porin_endpoint *ep = bpf_map_lookup_elem(&porin_endpoints, &ifindex);
	if (!ep)
		return drop(skb, 0, &p, dir, PORIN_DROP_EP_NOT_READY);
	/* a tag would survive the redirect of the fast path: a pod has no business with VLANs */
	if (dir == PORIN_DIR_EGRESS && skb->vlan_present)
		return drop(skb, ep, &p, dir, PORIN_DROP_VLAN_FILTERED);
	int rc = parse_packet(skb, &p);
	if (rc < 0)
		return drop(skb, ep, &p, dir, -rc);
	if (dir == PORIN_DIR_EGRESS) {
		rc = source_check(skb, ep, &p);
		if (rc)
			return drop(skb, ep, &p, dir, rc);
	}
	if (p.kind == PACKET_ARP)
		return forward(skb, dir);
	if (p.control == CONTROL_MLD ||
	    (p.control == CONTROL_ND && (dir == PORIN_DIR_EGRESS ? nd_to_link(&p) : nd_from_link(&p))))
		return forward(skb, dir);
	/* a pod has no business routing through others (IPv6 routing headers, segment routing) */
	if (dir == PORIN_DIR_EGRESS && p.routed)
		return drop(skb, ep, &p, dir, PORIN_DROP_INVALID_EXTHDR);
	/* a service frontend no socket hook translated: to a backend, before policy (which sees
	 * the backend, as Cilium's) */
	if (dir == PORIN_DIR_EGRESS) {
		rc = lb_egress(skb, &p);
		if (rc)
			return drop(skb, ep, &p, dir, rc);
	}

	__u32 epid = ep->endpoint_id;
	if (p.frag == FRAG_LATER && !frag_resolve(epid, &p, dir))
		return drop(skb, ep, &p, dir, PORIN_DROP_FRAG_NOT_FOUND);

	/*
	 * Same-node fast path: when the destination is a local endpoint, decide its ingress policy
	 * here too and hand the packet straight to its interface inside its namespace. The node's
	 * routing and the destination's own hook are skipped; policy is not. Both ends are local, so
	 * each one's identity is the endpoint's own, not an ipcache lookup.
	 */
	struct porin_endpoint *dst = 0;
	__u32 dst_ifindex = 0;
	if (dir == PORIN_DIR_EGRESS) {
		struct porin_lxc_key lk = { .family = p.t.family };
		__builtin_memcpy(lk.addr, p.t.daddr, 16);
		struct porin_lxc_value *lxc = bpf_map_lookup_elem(&porin_lxc, &lk);
		if (lxc) {
			dst_ifindex = lxc->ifindex;
			dst = bpf_map_lookup_elem(&porin_endpoints, &dst_ifindex);
		}
	}
	/* encryption: a pod on another node through WireGuard (or not at all, when strict); what a
	 * strict endpoint receives must have come through it */
	int wg = 0;
	if (dir == PORIN_DIR_EGRESS && !dst) {
		wg = encrypt_egress(ep, &p);
		if (wg < 0)
			return drop_as(skb, ep, &p, dir, ipcache_identity(p.t.daddr, p.t.family), 0,
				       -wg, 0);
	} else if (dir == PORIN_DIR_INGRESS) {
		p.encrypt = came_encrypted(skb);
		rc = encrypt_ingress(ep, &p);
		/* a local pod's packet that missed the fast path is no other node's */
		if (rc && !local_address_of((const __u8 *)p.t.saddr, p.t.family))
			return drop_as(skb, ep, &p, dir, ipcache_identity(p.t.saddr, p.t.family), 0,
				       rc, 0);
	}
	p.now = bpf_ktime_get_ns();
	p.generation = ipcache_generation();
	rc = policy_step(skb, ep, dir, &p, dst ? dst->identity : 0);
	if (rc != TC_ACT_OK)
		return rc;
	if (dst) {
		rc = policy_step(skb, dst, PORIN_DIR_INGRESS, &p, ep->identity);
		if (rc != TC_ACT_OK)
			return rc;
	}
	/* both verdicts said forward: the datagram's later fragments may follow */
	if (p.frag == FRAG_FIRST)
		frag_record(epid, &p, dir);
	/* a reply of a translated connection: from the frontend again */
	int reversed = 0;
	if (p.reply_rev_nat) {
		if (lb_reverse(skb, &p) < 0)
			return drop(skb, ep, &p, dir, PORIN_DROP_WRITE_ERROR);
		reversed = 1;
	}
	if (dst)
		return into_pod(skb, dst, dst_ifindex, &p);
	if (wg > 0)
		return to_wireguard(skb, &p, wg);
	/* a pod on another node: straight out of the node (the world and the node take the stack);
	 * a reply from a node port (its source is now this node's address): out of the uplink too,
	 * the stack would take a packet from its own address for a martian */
	if (dir == PORIN_DIR_EGRESS && (is_pod_identity(p.peer) || reversed))
		return route_out(skb, &p);
	return TC_ACT_OK;
}

/* The lxc entry of a packet's destination. */
static __always_inline struct porin_lxc_value *local_address(const struct packet *p)
{
	return local_address_of((const __u8 *)p->t.daddr, p->t.family);
}

/* What the node port functions leave to their caller (values no tc action takes). */
#define NODEPORT_PASS 100
#define NODEPORT_ROUTE 101

/*
 * A node port's replies from a backend on another node (source-translated to this node on the
 * way there): back to the client, from the node port. Returns -1 when the packet is not one.
 */
static __noinline int nodeport_reply(struct __sk_buff *skb, struct packet *p)
{
	if (!nat_ported(p) || p->frag == FRAG_LATER)
		return -1;
	__u16 port = bpf_ntohs(p->t.dport);
	if (port < PORIN_LB_NAT_PORT_MIN)
		return -1;
	struct porin_lb_nat_key nk = { .port = p->t.dport, .protocol = p->t.protocol,
				       .family = p->t.family };
	__builtin_memcpy(nk.addr, p->t.daddr, 16);
	struct porin_lb_nat_value *nv = bpf_map_lookup_elem(&porin_lb_nat, &nk);
	if (!nv || !addr_eq(p->t.saddr, (const __be32 *)nv->backend, p->t.family) ||
	    p->t.sport != nv->backend_port)
		return -1;
	struct porin_lb_nat_value v = *nv;
	if (nat_rewrite(skb, p, NAT_DST, v.client, v.client_port) ||
	    nat_rewrite(skb, p, NAT_SRC, nk.addr, v.node_port))
		return TC_ACT_SHOT;
	return NODEPORT_ROUTE; /* the caller sends it out (a frame less on the stack) */
}

/*
 * A packet from outside to one of this node's node ports: to a backend. A local backend: its
 * address as the destination (the caller goes on as for any packet to a local pod; 0). One on
 * another node: this node's address and a NAT port as the source too (NODEPORT_ROUTE: the caller
 * sends it out of the uplink). Not a node port: NODEPORT_PASS. A drop: its reason, negative.
 */

static __always_inline int nodeport_translate(struct __sk_buff *skb, struct packet *p)
{
	if (!nat_ported(p))
		return NODEPORT_PASS;
	struct porin_lb_key k;
	lb_key_of(&k, p->t.daddr, p->t.dport, p->t.protocol, p->t.family);
	struct porin_lb_service *svc = bpf_map_lookup_elem(&porin_lb_services, &k);
	if (!svc || !(svc->flags & PORIN_LB_NODE_PORT))
		return NODEPORT_PASS;
	if (p->frag != FRAG_NONE)
		return -PORIN_DROP_FRAG_NOSUPPORT;
	struct porin_lb_backend *be = 0;
	struct porin_lb_conn_value conn = {};
	struct porin_lb_conn_key ck;
	conn_key_of(&ck, p);
	if (!conn_backend(skb, p, &k, svc, &ck, &be, &conn) || !be)
		return -PORIN_DROP_NO_SERVICE;
	__u32 rev_nat = svc->rev_nat;
	if (local_address_of(be->addr, be->family)) {
		/* a local backend: the client's address stays (its ingress policy sees the client) */
		if (nat_rewrite(skb, p, NAT_DST, be->addr, be->port))
			return -PORIN_DROP_WRITE_ERROR;
		p->rev_nat = rev_nat;
		p->rev_nat_dir = PORIN_DIR_INGRESS;
		return 0;
	}
	/* another node's backend: from this node, on a NAT port of the connection's own */
	struct porin_lb_nat_key nk = { .protocol = p->t.protocol, .family = p->t.family };
	__builtin_memcpy(nk.addr, p->t.daddr, 16);
	struct porin_lb_nat_value nv = { .client_port = p->t.sport, .backend_port = be->port,
					 .node_port = p->t.dport, .rev_nat = rev_nat };
	__builtin_memcpy(nv.client, p->t.saddr, 16);
	__builtin_memcpy(nv.backend, be->addr, 16);
	__be16 nat_port = conn.nat_port;
	if (nat_port) {
		nk.port = nat_port;
		bpf_map_update_elem(&porin_lb_nat, &nk, &nv, BPF_ANY);
	} else {
		for (int i = 0; i < 8; i++) {
			__u16 candidate = PORIN_LB_NAT_PORT_MIN +
					  bpf_get_prandom_u32() %
						  (PORIN_LB_NAT_PORT_MAX - PORIN_LB_NAT_PORT_MIN + 1);
			nk.port = bpf_htons(candidate);
			if (!bpf_map_update_elem(&porin_lb_nat, &nk, &nv, BPF_NOEXIST)) {
				nat_port = nk.port;
				break;
			}
		}
		if (!nat_port)
			return -PORIN_DROP_CT_CREATE_FAILED;
		conn.nat_port = nat_port;
		bpf_map_update_elem(&porin_lb_conn, &ck, &conn, BPF_ANY);
	}
	if (nat_rewrite(skb, p, NAT_DST, nv.backend, nv.backend_port) ||
	    nat_rewrite(skb, p, NAT_SRC, nk.addr, nat_port))
		return -PORIN_DROP_WRITE_ERROR;
	p->rev_nat = rev_nat;
	return NODEPORT_ROUTE;
}

static __noinline int nodeport(struct __sk_buff *skb, struct packet *p)
{
	int rc = nodeport_translate(skb, p);
	if (rc >= 0)
		return rc;
	count(-rc, PORIN_DIR_INGRESS, skb->len);
	emit(skb, 0, p, PORIN_DIR_INGRESS, 0, 0, PORIN_VERDICT_DROPPED, -rc, 0, PORIN_EVENT_DROP);
	return TC_ACT_SHOT;
}

/*
 * From another node or the outside, on the node's uplink: a packet for a local endpoint meets that
 * endpoint's ingress policy here and goes straight into the pod (its own hook never sees it); a
 * node port is translated to its backend first. Anything else (for the node itself, not IP, not
 * for a pod) passes to the stack untouched.
 */
SEC("tc")
int porin_from_netdev(struct __sk_buff *skb)
{
	struct packet p = {};
	if (parse_packet(skb, &p) < 0 || p.kind != PACKET_IP || p.control)
		return TC_ACT_OK;
	int rc = nodeport_reply(skb, &p);
	if (rc == NODEPORT_ROUTE) {
		rc = route_out(skb, &p);
		return rc == TC_ACT_OK ? TC_ACT_SHOT : rc; /* the stack would take it for a martian */
	}
	if (rc >= 0)
		return rc;
	struct porin_lxc_value *lxc = local_address(&p);
	if (!lxc) {
		rc = nodeport(skb, &p);
		if (rc == NODEPORT_PASS)
			return TC_ACT_OK;
		if (rc == NODEPORT_ROUTE) {
			rc = route_out(skb, &p);
			return rc == TC_ACT_OK ? TC_ACT_SHOT : rc;
		}
		if (rc)
			return rc;
		lxc = local_address(&p); /* the local backend */
		if (!lxc)
			return TC_ACT_SHOT;
	}
	__u32 dst_ifindex = lxc->ifindex;
	struct porin_endpoint *dst = bpf_map_lookup_elem(&porin_endpoints, &dst_ifindex);
	if (!dst)
		return TC_ACT_OK;
	if (p.frag == FRAG_LATER && !frag_resolve(dst->endpoint_id, &p, PORIN_DIR_INGRESS))
		return drop(skb, dst, &p, PORIN_DIR_INGRESS, PORIN_DROP_FRAG_NOT_FOUND);
	/* in clear from the uplink: a strict endpoint takes nothing from another node's pods so */
	rc = encrypt_ingress(dst, &p);
	if (rc)
		return drop_as(skb, dst, &p, PORIN_DIR_INGRESS,
			       ipcache_identity(p.t.saddr, p.t.family), 0, rc, 0);
	p.now = bpf_ktime_get_ns();
	p.generation = ipcache_generation();
	rc = policy_step(skb, dst, PORIN_DIR_INGRESS, &p, 0);
	if (rc != TC_ACT_OK)
		return rc;
	if (p.frag == FRAG_FIRST)
		frag_record(dst->endpoint_id, &p, PORIN_DIR_INGRESS);
	if (p.reply_rev_nat && lb_reverse(skb, &p) < 0)
		return drop(skb, dst, &p, PORIN_DIR_INGRESS, PORIN_DROP_WRITE_ERROR);
	return into_pod(skb, dst, dst_ifindex, &p);
}

SEC("tc")
int porin_from_pod(struct __sk_buff *skb)
{
	return handle(skb, PORIN_DIR_EGRESS);
}

SEC("tc")
int porin_to_pod(struct __sk_buff *skb)
{
	return handle(skb, PORIN_DIR_INGRESS);
}
