/* SPDX-License-Identifier: Apache-2.0 */
/* Counters and events. Events never wake user space (BPF_RB_NO_WAKEUP): the agent drains the
 * ring in batches on its own schedule, so a packet never waits for a context switch. */
#ifndef PORIN_LIB_EVENTS_H
#define PORIN_LIB_EVENTS_H

#include "policy.h"

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
	struct porin_event ev = {};
	ev.timestamp = bpf_ktime_get_ns();
	ev.ifindex = skb->ifindex;
	if (ep) {
		ev.endpoint_id = ep->endpoint_id;
		ev.policy_revision = ep->policy_revision;
		ev.src_identity = dir == PORIN_DIR_EGRESS ? ep->identity : peer;
		ev.dst_identity = dir == PORIN_DIR_EGRESS ? peer : ep->identity;
	}
	if (d) {
		ev.cookie = d->cookie;
		ev.match_type = d->match_type;
	}
	__builtin_memcpy(ev.saddr, p->saddr, 16);
	__builtin_memcpy(ev.daddr, p->daddr, 16);
	ev.sport = p->sport;
	ev.dport = p->dport;
	ev.family = p->family;
	ev.protocol = p->protocol;
	ev.direction = dir;
	ev.verdict = verdict;
	ev.reason = reason;
	ev.tcp_flags = p->tcp_flags;
	ev.is_reply = is_reply;
	ev.event_type = type;
	if (p->protocol == IPPROTO_ICMP || p->protocol == IPPROTO_ICMPV6)
		ev.icmp_type = (__u8)bpf_ntohs(p->policy_port);
	ev.length = p->length;
	if (bpf_ringbuf_output(&porin_events, &ev, sizeof(ev), BPF_RB_NO_WAKEUP))
		count(PORIN_COUNTER_EVENTS_LOST, dir, 0);
}

#endif
