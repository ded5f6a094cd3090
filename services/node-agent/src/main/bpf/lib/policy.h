/* SPDX-License-Identifier: Apache-2.0 */
/* Identity and policy lookups: the ipcache (address -> identity), the endpoint's ipBlock address
 * classes, and the endpoint's policy map. Three LPM lookups at most (peer identity, address class,
 * any peer); the strongest verdict wins, then the longest port prefix. Deny entries are pushed
 * into every narrower entry by the compiler, so a longer prefix can never undo a deny. */
#ifndef PORIN_LIB_POLICY_H
#define PORIN_LIB_POLICY_H

#include "parse.h"

static __always_inline __u32 ipcache_identity(const __u8 *addr, __u8 family)
{
	struct porin_ipcache_key k = {};
	k.family = family;
	if (family == PORIN_FAMILY_IPV4) {
		k.prefixlen = 32 + 32;
		__builtin_memcpy(k.addr, addr, 4);
	} else {
		k.prefixlen = 32 + 128;
		__builtin_memcpy(k.addr, addr, 16);
	}
	struct porin_ipcache_value *v = bpf_map_lookup_elem(&porin_ipcache, &k);
	return v ? v->identity : PORIN_IDENTITY_WORLD;
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

static __always_inline void policy_decide(struct decision *d, const struct porin_endpoint *ep,
					  __u8 dir, __u32 peer, const __u8 *peer_addr,
					  const struct packet *p)
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
	void *policy = bpf_map_lookup_elem(&porin_policy, &epid);
	if (policy) {
		struct porin_policy_key k = {
			.prefixlen = 40 + 24, .identity = peer, .direction = dir,
			.protocol = p->protocol, .port = p->policy_port,
		};
		consider(d, &found, &best_prefix, bpf_map_lookup_elem(policy, &k), peer);
		__u8 classes = dir == PORIN_DIR_INGRESS ? PORIN_EP_CIDR_CLASSES_INGRESS
							: PORIN_EP_CIDR_CLASSES_EGRESS;
		if (ep->flags & classes) {
			struct porin_cidr_class_key ck = {};
			ck.endpoint_id = epid;
			ck.direction = dir;
			ck.family = p->family;
			ck.prefixlen = 64 + (p->family == PORIN_FAMILY_IPV4 ? 32 : 128);
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
