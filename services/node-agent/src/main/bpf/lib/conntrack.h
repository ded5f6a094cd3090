/* SPDX-License-Identifier: Apache-2.0 */
/* Connection tracking: one entry per connection and policy direction, keyed by the tuple of
 * its first packet. The entry keeps the verdict and the endpoint policy revision it came from,
 * so an established packet costs one hash lookup: no ipcache, no policy lookup. */
#ifndef PORIN_LIB_CONNTRACK_H
#define PORIN_LIB_CONNTRACK_H

#include "parse.h"

#define NSEC 1000000000ULL

enum ct_status { CT_NEW, CT_ESTABLISHED, CT_REPLY };

static __always_inline void ct_key_of(struct porin_ct_key *k, const struct packet *p, __u8 dir,
				      int reverse)
{
	if (reverse) {
		__builtin_memcpy(k->saddr, p->daddr, 16);
		__builtin_memcpy(k->daddr, p->saddr, 16);
		k->sport = p->dport;
		k->dport = p->sport;
		k->direction = dir ^ 1;
	} else {
		__builtin_memcpy(k->saddr, p->saddr, 16);
		__builtin_memcpy(k->daddr, p->daddr, 16);
		k->sport = p->sport;
		k->dport = p->dport;
		k->direction = dir;
	}
	k->protocol = p->protocol;
	k->family = p->family;
	k->pad = 0;
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
	if (p->protocol == IPPROTO_TCP) {
		if (p->tcp_flags & TCP_RST)
			flags |= PORIN_CT_CLOSING;
		if (p->tcp_flags & TCP_FIN)
			flags |= reply ? PORIN_CT_FIN_REPLY : PORIN_CT_FIN_ORIGINAL;
		if ((flags & PORIN_CT_FIN_ORIGINAL) && (flags & PORIN_CT_FIN_REPLY))
			flags |= PORIN_CT_CLOSING;
	}
	if (flags != e->flags)
		e->flags = flags;
	__u64 deadline = now + ct_lifetime(e, p->protocol);
	if (deadline > e->expires + NSEC || (flags & PORIN_CT_CLOSING && deadline < e->expires))
		e->expires = deadline;
}

/* Finds the connection this packet belongs to: as its original direction, or as a reply. */
static __always_inline struct porin_ct_entry *ct_lookup(const struct packet *p, __u8 dir,
						       struct porin_ct_key *key, __u64 now,
						       enum ct_status *status)
{
	struct porin_ct_entry *e;
	ct_key_of(key, p, dir, 0);
	e = bpf_map_lookup_elem(&porin_ct, key);
	if (e && e->expires > now) {
		/* a new SYN on a closed connection starts a new one */
		if (p->protocol == IPPROTO_TCP && (e->flags & PORIN_CT_CLOSING) &&
		    (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
			bpf_map_delete_elem(&porin_ct, key);
			*status = CT_NEW;
			return 0;
		}
		*status = CT_ESTABLISHED;
		return e;
	}
	struct porin_ct_key rkey;
	ct_key_of(&rkey, p, dir, 1);
	e = bpf_map_lookup_elem(&porin_ct, &rkey);
	if (e && e->expires > now) {
		*status = CT_REPLY;
		return e;
	}
	*status = CT_NEW;
	return 0;
}

#endif
