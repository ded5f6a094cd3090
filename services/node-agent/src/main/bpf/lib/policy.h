/* SPDX-License-Identifier: Apache-2.0 */
/* Identity and policy lookups: the ipcache (address -> identity), the endpoint's ipBlock address
 * classes, and the endpoint's policy map. Three LPM lookups at most (peer identity, address class,
 * any peer); the strongest verdict wins, then the longest port prefix. Deny entries are pushed
 * into every narrower entry by the compiler, so a longer prefix can never undo a deny. */
#ifndef PORIN_LIB_POLICY_H
#define PORIN_LIB_POLICY_H

#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct porin_ipcache_key);
	__type(value, struct porin_ipcache_value);
	__uint(max_entries, PORIN_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct porin_node_state);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_state SEC(".maps");

struct porin_policy_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(key_size, sizeof(struct porin_policy_key));
	__uint(value_size, sizeof(struct porin_policy_value));
	__uint(max_entries, PORIN_POLICY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, PORIN_ENDPOINTS_MAX * PORIN_POLICY_SLOTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct porin_policy_inner);
} porin_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct porin_cidr_class_key);
	__type(value, struct porin_cidr_class_value);
	__uint(max_entries, PORIN_CIDR_CLASSES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_cidr_classes SEC(".maps");

/* The ipcache generation: bumped by the agent after every ipcache change. */
static __always_inline __u32 ipcache_generation(void)
{
	__u32 zero = 0;
	struct porin_node_state *s = bpf_map_lookup_elem(&porin_state, &zero);
	return s ? s->ipcache_generation : 0;
}

/* Whether an interface is one of the node's uplinks (host routing goes out of these only). */
static __always_inline int is_node_device(__u32 ifindex)
{
	__u32 zero = 0;
	struct porin_node_state *s = bpf_map_lookup_elem(&porin_state, &zero);
	if (!s)
		return 0;
	return s->devices[0] == ifindex || s->devices[1] == ifindex || s->devices[2] == ifindex ||
	       s->devices[3] == ifindex;
}

/* The ipcache-shaped LPM key of one address (a host prefix). */
static __always_inline void ipcache_key_of(struct porin_ipcache_key *k, const __be32 *addr,
					   __u8 family)
{
	k->family = family;
	if (family == PORIN_FAMILY_IPV4) {
		k->prefixlen = PORIN_IPCACHE_KEY_BASE_BITS + 32;
		__builtin_memcpy(k->addr, addr, 4);
	} else {
		k->prefixlen = PORIN_IPCACHE_KEY_BASE_BITS + 128;
		__builtin_memcpy(k->addr, addr, 16);
	}
}

static __always_inline __u32 ipcache_identity(const __be32 *addr, __u8 family)
{
	struct porin_ipcache_key k = {};
	ipcache_key_of(&k, addr, family);
	struct porin_ipcache_value *v = bpf_map_lookup_elem(&porin_ipcache, &k);
	if (v)
		return v->identity;
	return family == PORIN_FAMILY_IPV4 ? PORIN_IDENTITY_WORLD_IPV4 : PORIN_IDENTITY_WORLD_IPV6;
}

struct decision {
	__u8 verdict;     /* PORIN_POLICY_* */
	__u8 match_type;  /* PORIN_MATCH_* */
	__u8 by_default;  /* no entry matched */
	__u8 pad;
	__u32 cookie;
};

static __always_inline void consider(struct decision *d, int *found, __u8 *best_prefix,
				     const struct porin_policy_value *v, __u32 peer)
{
	if (!v)
		return;
	if (*found && (v->verdict < d->verdict ||
		       (v->verdict == d->verdict && v->prefix_len <= *best_prefix)))
		return;
	*found = 1;
	*best_prefix = v->prefix_len;
	d->verdict = v->verdict;
	d->cookie = v->cookie;
	if (peer)
		d->match_type = v->prefix_len ? PORIN_MATCH_L3_L4 : PORIN_MATCH_L3_ONLY;
	else
		d->match_type = v->prefix_len ? PORIN_MATCH_L4_ONLY : PORIN_MATCH_ALL;
}

/*
 * The endpoint's verdict, in one direction, for a peer (identity and address) on a protocol and
 * port (the destination port of the connection's first packet, or the ICMP type).
 */
static __always_inline void policy_decide(struct decision *d, const struct porin_endpoint *ep,
					  __u8 dir, __u32 peer, const __be32 *peer_addr,
					  __u8 family, __u8 protocol, __be16 port)
{
	__u8 enforce = dir == PORIN_DIR_INGRESS ? PORIN_EP_ENFORCE_INGRESS : PORIN_EP_ENFORCE_EGRESS;
	d->by_default = 0;
	d->match_type = PORIN_MATCH_NONE;
	d->cookie = 0;
	if (!(ep->flags & enforce)) {
		d->verdict = PORIN_POLICY_ALLOW;
		d->match_type = PORIN_MATCH_ALL;
		return;
	}
	int found = 0;
	__u8 best_prefix = 0;
	__u32 epid = ep->endpoint_id;
	__u32 slot = ep->policy_slot;
	__u32 map_key = PORIN_POLICY_MAP_KEY(epid, slot);
	void *policy = bpf_map_lookup_elem(&porin_policy, &map_key);
	if (policy) {
		struct porin_policy_key k = {
			.prefixlen = PORIN_POLICY_KEY_BASE_BITS + 24, .identity = peer,
			.direction = dir, .protocol = protocol, .port = port,
		};
		consider(d, &found, &best_prefix, bpf_map_lookup_elem(policy, &k), peer);
		__u8 classes = dir == PORIN_DIR_INGRESS ? PORIN_EP_CIDR_CLASSES_INGRESS
							: PORIN_EP_CIDR_CLASSES_EGRESS;
		if (ep->flags & classes) {
			struct porin_cidr_class_key ck = {};
			ck.endpoint_id = epid;
			ck.direction = dir;
			ck.family = family;
			ck.slot = slot;
			ck.prefixlen = PORIN_CIDR_CLASS_KEY_BASE_BITS +
				       (family == PORIN_FAMILY_IPV4 ? 32 : 128);
			__builtin_memcpy(ck.addr, peer_addr, 16);
			struct porin_cidr_class_value *cv = bpf_map_lookup_elem(&porin_cidr_classes, &ck);
			if (cv) {
				k.identity = cv->class_id;
				consider(d, &found, &best_prefix, bpf_map_lookup_elem(policy, &k),
					 cv->class_id);
			}
		}
		k.identity = 0;
		consider(d, &found, &best_prefix, bpf_map_lookup_elem(policy, &k), 0);
	}
	if (!found) {
		d->by_default = 1;
		d->verdict = dir == PORIN_DIR_INGRESS ? ep->ingress_default : ep->egress_default;
		d->cookie = dir == PORIN_DIR_INGRESS ? ep->ingress_default_cookie
						     : ep->egress_default_cookie;
	}
}

#endif
