/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transparent encryption (WireGuard). The agent runs the device (kernel or wireguard-go) with one
 * peer per other node and lists those peers' pod prefixes in porin_encrypt; a pod's packet to one
 * of them leaves through the device instead of the uplink. Strict mode (node-wide, or an
 * endpoint a cilium.io/encrypt policy selects) drops pod traffic between nodes that would go in
 * clear: to a node that is no peer yet, and (for a strict endpoint) what arrives in clear.
 */
#ifndef PORIN_LIB_ENCRYPT_H
#define PORIN_LIB_ENCRYPT_H

#include "conntrack.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct porin_ipcache_key);
	__type(value, struct porin_encrypt_value);
	__uint(max_entries, PORIN_ENCRYPT_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_encrypt SEC(".maps");

/* The node's encryption mode (PORIN_ENCRYPT_*) and its WireGuard device. */
static __always_inline __u32 encrypt_mode(__u32 *wg_ifindex)
{
	__u32 zero = 0;
	struct porin_node_state *s = bpf_map_lookup_elem(&porin_state, &zero);
	if (!s) {
		*wg_ifindex = 0;
		return 0;
	}
	*wg_ifindex = s->wg_ifindex;
	return s->encrypt;
}

/* The porin_encrypt entry of an address: another node's pods (0: none). */
static __always_inline struct porin_encrypt_value *encrypt_prefix(const __be32 *addr, __u8 family)
{
	struct porin_ipcache_key k = {};
	ipcache_key_of(&k, addr, family);
	return bpf_map_lookup_elem(&porin_encrypt, &k);
}

/*
 * A pod's packet to an address that is not on this node, before policy: whether it goes through
 * WireGuard (p->encrypt, and the device's ifindex returned), or must be dropped (a negative drop
 * reason: strict, and the destination is another node's pod that no peer covers). 0: in clear, as
 * without encryption.
 */
static __noinline int encrypt_egress(const struct porin_endpoint *ep, struct packet *p)
{
	__u32 wg = 0;
	__u32 mode = encrypt_mode(&wg);
	int strict = (mode & PORIN_ENCRYPT_STRICT) || (ep->flags & PORIN_EP_ENCRYPT_STRICT);
	if (!(mode & PORIN_ENCRYPT_ON) && !strict)
		return 0;
	struct porin_encrypt_value *v = encrypt_prefix(p->t.daddr, p->t.family);
	if (v && (v->flags & PORIN_ENCRYPT_PEER) && (mode & PORIN_ENCRYPT_ON) && wg) {
		p->encrypt = 1;
		return (int)wg;
	}
	/* another node's pods: by their node's prefix (an address the ipcache does not know yet
	 * included), or by identity */
	if (strict && (v || is_pod_identity(ipcache_identity(p->t.daddr, p->t.family))))
		return -PORIN_DROP_UNENCRYPTED;
	return 0;
}

/*
 * A packet for an endpoint that did not come through WireGuard: in strict mode (node-wide, or the
 * endpoint's) dropped when it comes from another node's pod — the other end sent it in clear, or
 * someone on the underlay forged it. Returns 0 or the drop reason (a caller that may see this
 * node's own pods' packets checks for those before dropping).
 */
static __noinline int encrypt_ingress(const struct porin_endpoint *ep, const struct packet *p)
{
	if (p->encrypt)
		return 0;
	__u32 wg = 0;
	int strict = (ep->flags & PORIN_EP_ENCRYPT_STRICT) ||
		     (encrypt_mode(&wg) & PORIN_ENCRYPT_STRICT);
	if (!strict)
		return 0;
	if (encrypt_prefix(p->t.saddr, p->t.family) ||
	    is_pod_identity(ipcache_identity(p->t.saddr, p->t.family)))
		return PORIN_DROP_UNENCRYPTED;
	return 0;
}

/* Whether a packet arrived on the node through the WireGuard device. */
static __always_inline int came_encrypted(const struct __sk_buff *skb)
{
	__u32 wg = 0;
	encrypt_mode(&wg);
	return wg && skb->ingress_ifindex == wg;
}

#endif
