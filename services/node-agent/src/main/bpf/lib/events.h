/* SPDX-License-Identifier: Apache-2.0 */
/* Counters and events. Events never wake user space (BPF_RB_NO_WAKEUP): the agent drains the
 * ring in batches on its own schedule, so a packet never waits for a context switch. */
#ifndef PORIN_LIB_EVENTS_H
#define PORIN_LIB_EVENTS_H

#include "policy.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct porin_counter);
	__uint(max_entries, PORIN_COUNTERS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, PORIN_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_events SEC(".maps");

static __always_inline void count(__u32 reason, __u8 dir, __u32 bytes)
{
	__u32 idx = (reason & 0xFF) * 2 + (dir & 1);
	struct porin_counter *c = bpf_map_lookup_elem(&porin_counters, &idx);
	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void emit(struct __sk_buff *skb, const struct porin_endpoint *ep,
				 const struct packet *p, __u8 dir, __u32 peer,
				 const struct decision *d, __u8 verdict, __u16 reason, __u8 is_reply,
				 __u8 type)
{
	/* written in place in the ring: nothing of it on the stack */
	struct porin_event *e = bpf_ringbuf_reserve(&porin_events, sizeof(*e), 0);
	if (!e) {
		count(PORIN_COUNTER_EVENTS_LOST, dir, 0);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->timestamp = bpf_ktime_get_ns();
	e->ifindex = skb->ifindex;
	if (ep) {
		e->endpoint_id = ep->endpoint_id;
		e->policy_revision = ep->policy_revision;
		e->src_identity = dir == PORIN_DIR_EGRESS ? ep->identity : peer;
		e->dst_identity = dir == PORIN_DIR_EGRESS ? peer : ep->identity;
	}
	if (d) {
		e->cookie = d->cookie;
		e->match_type = d->match_type;
	}
	__builtin_memcpy(e->saddr, p->t.saddr, 16);
	__builtin_memcpy(e->daddr, p->t.daddr, 16);
	e->family = p->t.family;
	e->protocol = p->t.protocol;
	if (p->t.protocol == IPPROTO_ICMP || p->t.protocol == IPPROTO_ICMPV6) {
		/* flows show ICMP by type, not by the conntrack ports */
		e->icmp_type = (__u8)bpf_ntohs(p->policy_port);
	} else {
		e->sport = p->t.sport;
		e->dport = p->t.dport;
	}
	e->direction = dir;
	e->verdict = verdict;
	e->reason = reason;
	e->tcp_flags = p->tcp_flags;
	e->is_reply = is_reply;
	e->event_type = type;
	e->length = p->length;
	e->rev_nat = p->rev_nat;
	e->flags = p->encrypt ? PORIN_EVENT_F_ENCRYPTED : 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

#endif
