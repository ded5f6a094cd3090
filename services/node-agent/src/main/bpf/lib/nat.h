/* SPDX-License-Identifier: Apache-2.0 */
/* Per-packet service translation in tc, for what no socket hook translated: a pod's traffic to a
 * frontend (raw sends, a process outside the pods' cgroup), and node ports reached from outside
 * the node. Destination NAT to the backend, the frontend put back as the source of replies (from
 * the connection's conntrack entry), and for node ports whose backend is on another node, source
 * NAT to this node so that the replies come back here. */
#ifndef PORIN_LIB_NAT_H
#define PORIN_LIB_NAT_H

#include "conntrack.h"
#include "lb.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct porin_lb_conn_key);
	__type(value, struct porin_lb_conn_value);
	__uint(max_entries, PORIN_LB_CONN_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_conn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct porin_lb_nat_key);
	__type(value, struct porin_lb_nat_value);
	__uint(max_entries, PORIN_LB_CONN_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_nat SEC(".maps");

#define NAT_SRC 1
#define NAT_DST 0

/*
 * Rewrites the source or destination address and port of a TCP or UDP packet, checksums
 * included (the L4 checksum covers the addresses through the pseudo header). Returns 0 or -1.
 */
static __always_inline int nat_rewrite(struct __sk_buff *skb, struct packet *p, int src,
				  const __u8 *addr, __be16 port)
{
	__u32 l4 = p->l4_off;
	__u32 csum_off = l4 + (p->t.protocol == IPPROTO_TCP ? 16 : 6);
	__u32 port_off = l4 + (src ? 0 : 2);
	__be16 old_port = src ? p->t.sport : p->t.dport;
	__u64 mangle = p->t.protocol == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	int l4_csum = 1;
	if (p->t.protocol == IPPROTO_UDP && p->t.family == PORIN_FAMILY_IPV4) {
		__u16 c = 0;
		if (bpf_skb_load_bytes(skb, csum_off, &c, 2))
			return -1;
		l4_csum = c != 0; /* UDP over IPv4 may go without a checksum */
	}
	if (p->t.family == PORIN_FAMILY_IPV4) {
		__be32 old = src ? p->t.saddr[0] : p->t.daddr[0];
		__be32 new = 0;
		__builtin_memcpy(&new, addr, 4);
		if (l4_csum &&
		    bpf_l4_csum_replace(skb, csum_off, old, new, BPF_F_PSEUDO_HDR | mangle | 4))
			return -1;
		if (bpf_l3_csum_replace(skb, sizeof(struct ethhdr) + 10, old, new, 4))
			return -1;
		if (bpf_skb_store_bytes(skb, sizeof(struct ethhdr) + (src ? 12 : 16), &new, 4, 0))
			return -1;
		if (src)
			p->t.saddr[0] = new;
		else
			p->t.daddr[0] = new;
	} else {
		__be32 old[4];
		__be32 new[4];
		__builtin_memcpy(old, src ? p->t.saddr : p->t.daddr, 16);
		__builtin_memcpy(new, addr, 16);
		__s64 diff = bpf_csum_diff(old, 16, new, 16, 0);
		if (bpf_l4_csum_replace(skb, csum_off, 0, diff, BPF_F_PSEUDO_HDR | mangle))
			return -1;
		if (bpf_skb_store_bytes(skb, sizeof(struct ethhdr) + (src ? 8 : 24), new, 16, 0))
			return -1;
		__builtin_memcpy(src ? p->t.saddr : p->t.daddr, new, 16);
	}
	if (old_port != port) {
		if (l4_csum && bpf_l4_csum_replace(skb, csum_off, old_port, port, mangle | 2))
			return -1;
		if (bpf_skb_store_bytes(skb, port_off, &port, 2, 0))
			return -1;
		if (src) {
			p->t.sport = port;
		} else {
			p->t.dport = port;
			p->policy_port = port;
		}
	}
	return 0;
}

static __always_inline int nat_ported(const struct packet *p)
{
	return p->kind == PACKET_IP && !p->icmp_error && !p->control &&
	       (p->t.protocol == IPPROTO_TCP || p->t.protocol == IPPROTO_UDP);
}

static __always_inline void conn_key_of(struct porin_lb_conn_key *k, const struct packet *p)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->saddr, p->t.saddr, 16);
	__builtin_memcpy(k->daddr, p->t.daddr, 16);
	k->sport = p->t.sport;
	k->dport = p->t.dport;
	k->protocol = p->t.protocol;
	k->family = p->t.family;
}

/*
 * The backend of a connection to a frontend: the one its first packet got while that backend
 * exists (a connection keeps its backend when the backend leaves the service), else a new pick.
 * Fills *conn with the connection's entry (nat_port 0 for a new one).
 */
static __always_inline __u32 conn_backend(struct __sk_buff *skb, const struct packet *p,
					  struct porin_lb_key *k, const struct porin_lb_service *svc,
					  const struct porin_lb_conn_key *ck,
					  struct porin_lb_backend **be,
					  struct porin_lb_conn_value *conn)
{
	struct porin_lb_conn_value *v = bpf_map_lookup_elem(&porin_lb_conn, ck);
	if (v && v->rev_nat == svc->rev_nat) {
		__u32 id = v->backend_id;
		*be = bpf_map_lookup_elem(&porin_lb_backends, &id);
		if (*be && (*be)->family == p->t.family) {
			*conn = *v;
			return id;
		}
	}
	__u32 id = lb_select(k, svc, (const __u8 *)p->t.saddr, PORIN_LB_CLIENT_ADDR,
			     bpf_get_hash_recalc(skb), be);
	if (!id || !*be)
		return 0;
	conn->backend_id = id;
	conn->rev_nat = svc->rev_nat;
	conn->nat_port = 0;
	bpf_map_update_elem(&porin_lb_conn, ck, conn, BPF_ANY);
	return id;
}

/*
 * A pod's packet to a service frontend (no socket hook translated it): to a backend. Returns 0
 * (translated, or not for a service) or a drop reason.
 */
static __noinline int lb_egress(struct __sk_buff *skb, struct packet *p)
{
	if (!nat_ported(p))
		return 0;
	struct porin_lb_key k;
	lb_key_of(&k, p->t.daddr, p->t.dport, p->t.protocol, p->t.family);
	struct porin_lb_service *svc = bpf_map_lookup_elem(&porin_lb_services, &k);
	if (!svc)
		return 0;
	if (p->frag != FRAG_NONE)
		return PORIN_DROP_FRAG_NOSUPPORT; /* a fragmented datagram to a service */
	struct porin_lb_backend *be = 0;
	struct porin_lb_conn_value conn = {};
	struct porin_lb_conn_key ck;
	conn_key_of(&ck, p);
	if (!conn_backend(skb, p, &k, svc, &ck, &be, &conn) || !be)
		return PORIN_DROP_NO_SERVICE;
	__u32 rev_nat = svc->rev_nat;
	if (nat_rewrite(skb, p, NAT_DST, be->addr, be->port))
		return PORIN_DROP_WRITE_ERROR;
	p->rev_nat = rev_nat;
	p->rev_nat_dir = PORIN_DIR_EGRESS;
	return 0;
}

/* A reply of a translated connection: its frontend as the source again. Returns 0 or -1. */
static __noinline int lb_reverse(struct __sk_buff *skb, struct packet *p)
{
	__u32 id = p->reply_rev_nat;
	struct porin_lb_revnat *rn = bpf_map_lookup_elem(&porin_lb_revnat, &id);
	if (!rn || rn->family != p->t.family || !nat_ported(p))
		return 0; /* the frontend is gone: nothing to put back */
	return nat_rewrite(skb, p, NAT_SRC, rn->addr, rn->port);
}

#endif
