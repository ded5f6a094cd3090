/* SPDX-License-Identifier: Apache-2.0 */
/* Connection tracking: per endpoint and direction, one entry per connection, keyed by the tuple
 * of its first packet. The entry keeps the verdict, the endpoint policy revision and the ipcache
 * generation it came from, so an established packet costs two hash lookups (the endpoint's map,
 * the entry): no ipcache, no policy lookup. */
#ifndef PORIN_LIB_CONNTRACK_H
#define PORIN_LIB_CONNTRACK_H

#include "policy.h"

#define NSEC 1000000000ULL

/* The template of every endpoint's map; the agent creates each with its own size (hash maps of
 * maps compare type, key, value and flags, not max_entries). */
struct porin_ct_inner {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(key_size, sizeof(struct porin_ct_key));
	__uint(value_size, sizeof(struct porin_ct_entry));
	__uint(max_entries, PORIN_CT_PER_ENDPOINT);
};

/* Arrays of maps (endpoint ids are small): the verifier inlines their lookups, no hashing. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, PORIN_ENDPOINTS_MAX * 2);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct porin_ct_inner);
} porin_ct SEC(".maps");

/* An endpoint's conntrack map of one direction (connections first seen that way); 0 if none. */
static __always_inline void *ct_map(__u32 endpoint_id, __u8 dir)
{
	__u32 k = PORIN_CT_MAP_KEY(endpoint_id, dir);
	return bpf_map_lookup_elem(&porin_ct, &k);
}

struct porin_frag_inner {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(key_size, sizeof(struct porin_frag_key));
	__uint(value_size, sizeof(struct porin_frag_value));
	__uint(max_entries, PORIN_FRAG_PER_ENDPOINT);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, PORIN_ENDPOINTS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct porin_frag_inner);
} porin_frag SEC(".maps");

enum ct_status { CT_NEW, CT_ESTABLISHED, CT_REPLY };

static __always_inline void ct_key_of(struct porin_ct_key *k, const struct tuple *t, __u8 dir,
				      int reverse)
{
	if (reverse) {
		__builtin_memcpy(k->saddr, t->daddr, 16);
		__builtin_memcpy(k->daddr, t->saddr, 16);
		k->sport = t->dport;
		k->dport = t->sport;
		k->direction = dir ^ 1;
		/* a reply's connection began with a request */
		k->kind = t->kind == PORIN_CT_KIND_ECHO_REPLY	  ? PORIN_CT_KIND_ECHO_REQUEST
			  : t->kind == PORIN_CT_KIND_ECHO_REQUEST ? PORIN_CT_KIND_ECHO_REPLY
								  : t->kind;
	} else {
		__builtin_memcpy(k->saddr, t->saddr, 16);
		__builtin_memcpy(k->daddr, t->daddr, 16);
		k->sport = t->sport;
		k->dport = t->dport;
		k->direction = dir;
		k->kind = t->kind;
	}
	k->protocol = t->protocol;
	k->family = t->family;
}

static __always_inline __u64 ct_lifetime(const struct porin_ct_entry *e, __u8 protocol)
{
	if (protocol != IPPROTO_TCP)
		return PORIN_CT_LIFETIME_NONTCP * NSEC;
	if (e->flags & PORIN_CT_CLOSING)
		return PORIN_CT_LIFETIME_CLOSE * NSEC;
	if (!(e->flags & PORIN_CT_SEEN_REPLY))
		return PORIN_CT_LIFETIME_SYN * NSEC;
	return PORIN_CT_LIFETIME_TCP * NSEC;
}

/* Updates TCP state and the deadline in place; writes only when something changed or the
 * deadline moved by more than a second. */
static __always_inline void ct_touch(struct porin_ct_entry *e, const struct packet *p, int reply,
				     __u64 now)
{
	__u8 flags = e->flags;
	if (reply)
		flags |= PORIN_CT_SEEN_REPLY;
	if (p->t.protocol == IPPROTO_TCP) {
		if (p->tcp_flags & TCP_RST)
			flags |= PORIN_CT_CLOSING;
		if (p->tcp_flags & TCP_FIN)
			flags |= reply ? PORIN_CT_FIN_REPLY : PORIN_CT_FIN_ORIGINAL;
		if ((flags & PORIN_CT_FIN_ORIGINAL) && (flags & PORIN_CT_FIN_REPLY))
			flags |= PORIN_CT_CLOSING;
	}
	if (flags != e->flags)
		e->flags = flags;
	__u64 deadline = now + ct_lifetime(e, p->t.protocol);
	if (deadline > e->expires + NSEC || (flags & PORIN_CT_CLOSING && deadline < e->expires))
		e->expires = deadline;
}

/*
 * Finds the connection a packet belongs to among one endpoint's connections: as its original
 * direction (in the map of that direction), or as a reply (in the other). key ends up as the key
 * of the entry found (the forward key when none is); *where is the map it is in (the forward map
 * when none is). The endpoint's maps must exist (the caller checked the forward one).
 */
static __always_inline struct porin_ct_entry *ct_lookup(void *fwd, __u32 endpoint_id,
						       const struct packet *p, __u8 dir,
						       struct porin_ct_key *key, void **where,
						       __u64 now, enum ct_status *status)
{
	struct porin_ct_entry *e;
	ct_key_of(key, &p->t, dir, 0);
	*where = fwd;
	e = bpf_map_lookup_elem(fwd, key);
	if (e && e->expires > now) {
		/* a new SYN on a closed connection starts a new one */
		if (p->t.protocol == IPPROTO_TCP && (e->flags & PORIN_CT_CLOSING) &&
		    (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
			bpf_map_delete_elem(fwd, key);
			*status = CT_NEW;
			return 0;
		}
		*status = CT_ESTABLISHED;
		return e;
	}
	void *rev = ct_map(endpoint_id, dir ^ 1);
	if (!rev) {
		*status = CT_NEW;
		return 0;
	}
	struct porin_ct_key rkey;
	ct_key_of(&rkey, &p->t, dir, 1);
	e = bpf_map_lookup_elem(rev, &rkey);
	if (e && e->expires > now) {
		*key = rkey;
		*where = rev;
		*status = CT_REPLY;
		return e;
	}
	*status = CT_NEW;
	return 0;
}

/* Whether an identity is a pod's (a cluster identity: neither reserved nor node-local CIDR). */
static __always_inline int is_pod_identity(__u32 id)
{
	return id > PORIN_IDENTITY_MAX_RESERVED && !(id & PORIN_IDENTITY_LOCAL_SCOPE);
}

/*
 * Whether an ICMP error belongs to a current connection of this endpoint (RELATED). The packet it
 * carries went the other way through this endpoint, so it is looked up as that direction's packet,
 * and its entry must have been decided under the endpoint's current policy and ipcache. The error
 * must concern this endpoint's own address and go back to the other end of the connection (out of
 * the endpoint: only to where the embedded packet came from). Coming in, it may come from a router
 * on the path, but not from a pod that is not the connection's other end: pods are not routers.
 */
static __always_inline int ct_related(const struct porin_endpoint *ep, const struct packet *p,
				      __u8 dir)
{
	const struct tuple *in = &p->inner;
	if (in->family != p->t.family)
		return 0;
	if (dir == PORIN_DIR_INGRESS) {
		if (!addr_eq(p->t.daddr, in->saddr, in->family))
			return 0;
		if (!addr_eq(p->t.saddr, in->daddr, in->family) &&
		    is_pod_identity(ipcache_identity(p->t.saddr, p->t.family)))
			return 0;
	} else if (!addr_eq(p->t.saddr, in->daddr, in->family) ||
		   !addr_eq(p->t.daddr, in->saddr, in->family)) {
		return 0;
	}
	struct porin_ct_key k;
	struct porin_ct_entry *e = 0;
	void *m = ct_map(ep->endpoint_id, dir ^ 1);
	if (m) {
		ct_key_of(&k, in, dir ^ 1, 0);
		e = bpf_map_lookup_elem(m, &k);
	}
	m = ct_map(ep->endpoint_id, dir);
	if (!(e && e->expires > p->now) && m) {
		ct_key_of(&k, in, dir ^ 1, 1);
		e = bpf_map_lookup_elem(m, &k);
	}
	return e && e->expires > p->now && e->policy_revision == ep->policy_revision &&
	       e->ipcache_generation == p->generation;
}

/* ---- fragments (functions of their own: their keys stay off the callers' stack frames) */

static __always_inline void frag_key_of(struct porin_frag_key *k, const struct packet *p, __u8 dir)
{
	__builtin_memcpy(k->saddr, p->t.saddr, 16);
	__builtin_memcpy(k->daddr, p->t.daddr, 16);
	k->id = p->frag_id;
	k->protocol = p->frag_proto;
	k->family = p->t.family;
	k->direction = dir;
	k->pad = 0;
}

/* A later fragment takes the ports its first fragment was forwarded with; 0 when there was none
 * (the first fragment was dropped, never seen, or its datagram is complete). */
static __noinline int frag_resolve(__u32 endpoint_id, struct packet *p, __u8 dir)
{
	void *frags = bpf_map_lookup_elem(&porin_frag, &endpoint_id);
	if (!frags)
		return 0;
	struct porin_frag_key k;
	frag_key_of(&k, p, dir);
	struct porin_frag_value *v = bpf_map_lookup_elem(frags, &k);
	if (!v)
		return 0;
	p->t.sport = v->sport;
	p->t.dport = v->dport;
	p->t.protocol = v->protocol;
	p->t.kind = v->kind;
	p->policy_port = v->policy_port;
	if (p->last_frag)
		bpf_map_delete_elem(frags, &k);
	return 1;
}

/* A first fragment was forwarded: its later fragments may follow it. */
static __noinline void frag_record(__u32 endpoint_id, const struct packet *p, __u8 dir)
{
	void *frags = bpf_map_lookup_elem(&porin_frag, &endpoint_id);
	if (!frags)
		return;
	struct porin_frag_key k;
	frag_key_of(&k, p, dir);
	struct porin_frag_value v = {
		.sport = p->t.sport, .dport = p->t.dport, .policy_port = p->policy_port,
		.protocol = p->t.protocol, .kind = p->t.kind,
	};
	bpf_map_update_elem(frags, &k, &v, BPF_ANY);
}

#endif
