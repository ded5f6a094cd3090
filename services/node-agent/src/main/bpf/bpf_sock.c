// SPDX-License-Identifier: Apache-2.0
/*
 * Socket-level load balancing (cgroup v2 sock_addr hooks), attached to the cgroup the pods run
 * under: a connect() or sendmsg() to a service frontend is sent to one of its backends instead,
 * decided once per connection (per datagram for unconnected UDP), so the packets themselves carry
 * the backend's address and need no NAT. recvmsg() and getpeername() show the application the
 * service's address again. A service without backends refuses the connection (ECONNREFUSED),
 * counted and reported.
 */
#include <linux/bpf.h>
#include "lib/lb.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SOCK_PASS 1
#define ECONNREFUSED 111

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct porin_lb_sock_report_key);
	__type(value, __u64);
	__uint(max_entries, PORIN_LB_SOCK_REPORTED_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_sock_reported SEC(".maps");

/* Whether this client's translation to this frontend is due to be reported (once a second). */
static __always_inline int sock_report_due(__u64 netns, __u32 rev_nat, int refused)
{
	struct porin_lb_sock_report_key k = { .netns = netns, .rev_nat = rev_nat,
					      .refused = refused };
	__u64 now = bpf_ktime_get_ns();
	__u64 *last = bpf_map_lookup_elem(&porin_lb_sock_reported, &k);
	if (last && now - *last < PORIN_LB_SOCK_REPORT_NS)
		return 0;
	bpf_map_update_elem(&porin_lb_sock_reported, &k, &now, BPF_ANY);
	return 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct porin_lb_sock_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_sock SEC(".maps");

static __always_inline int sock_entry_is(const struct porin_lb_sock_entry *e, const __u8 *addr,
					 __be16 port, __u8 family)
{
	const __u32 *a = (const __u32 *)e->backend;
	const __u32 *b = (const __u32 *)addr;
	return e->used && e->family == family && e->backend_port == port && a[0] == b[0] &&
	       a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* Remembers, on the socket itself, that this backend stands for this service. */
static __always_inline void sock_remember(struct bpf_sock_addr *ctx,
					  const struct porin_lb_backend *be, const __be32 *vip,
					  __be16 vport, __u8 family, __u32 rev_nat)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return;
	struct porin_lb_sock_value *v =
		bpf_sk_storage_get(&porin_lb_sock, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!v)
		return;
	__u32 slot = v->next % PORIN_LB_SOCK_SLOTS;
#pragma unroll
	for (int i = 0; i < PORIN_LB_SOCK_SLOTS; i++) {
		if (sock_entry_is(&v->entries[i], be->addr, be->port, family)) {
			slot = i;
			break;
		}
	}
	if (slot == v->next % PORIN_LB_SOCK_SLOTS)
		v->next++;
	struct porin_lb_sock_entry *e = &v->entries[slot & (PORIN_LB_SOCK_SLOTS - 1)];
	__builtin_memcpy(e->backend, be->addr, 16);
	e->backend_port = be->port;
	e->family = family;
	e->used = 1;
	__builtin_memcpy(e->service, vip, 16);
	e->service_port = vport;
	e->rev_nat = rev_nat;
}

/* The address a sock_addr context is about, as four words (IPv4 in the first), and its family:
 * an IPv4-mapped IPv6 address (::ffff:a.b.c.d, a dual-stack socket reaching IPv4) is IPv4, so
 * such a socket cannot reach a service address untranslated. */
static __always_inline __u8 user_addr(struct bpf_sock_addr *ctx, __u8 family, __be32 *a)
{
	if (family == PORIN_FAMILY_IPV4) {
		a[0] = ctx->user_ip4;
		return PORIN_FAMILY_IPV4;
	}
	__be32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1], w2 = ctx->user_ip6[2];
	__be32 w3 = ctx->user_ip6[3];
	if (!w0 && !w1 && w2 == bpf_htonl(0xffff)) {
		a[0] = w3;
		return PORIN_FAMILY_IPV4;
	}
	a[0] = w0;
	a[1] = w1;
	a[2] = w2;
	a[3] = w3;
	return PORIN_FAMILY_IPV6;
}

/* Writes an address of family addr_family into a context of family ctx_family (IPv4 into an IPv6
 * context: IPv4-mapped). */
static __always_inline void set_user_addr(struct bpf_sock_addr *ctx, __u8 ctx_family,
					  __u8 addr_family, const __u8 *addr, __be16 port)
{
	const __be32 *a = (const __be32 *)addr;
	if (ctx_family == PORIN_FAMILY_IPV4) {
		ctx->user_ip4 = a[0];
	} else if (addr_family == PORIN_FAMILY_IPV4) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = a[0];
	} else {
		ctx->user_ip6[0] = a[0];
		ctx->user_ip6[1] = a[1];
		ctx->user_ip6[2] = a[2];
		ctx->user_ip6[3] = a[3];
	}
	ctx->user_port = port;
}

/* One event per translation (or refusal), as Cilium's trace sock. In these events daddr/dport
 * are the service, saddr/sport the backend chosen (zero when refused), and ifindex/endpoint_id
 * the low/high words of the client's network namespace cookie. */
static __always_inline void sock_event(struct bpf_sock_addr *ctx, const __be32 *vip, __be16 vport,
				       const struct porin_lb_backend *be, __u8 protocol,
				       __u8 family, __u32 rev_nat, __u16 reason)
{
	struct porin_event *e = bpf_ringbuf_reserve(&porin_events, sizeof(*e), 0);
	if (!e) {
		count(PORIN_COUNTER_EVENTS_LOST, PORIN_DIR_EGRESS, 0);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->timestamp = bpf_ktime_get_ns();
	__u64 netns = bpf_get_netns_cookie(ctx);
	e->ifindex = (__u32)netns;
	e->endpoint_id = (__u32)(netns >> 32);
	__builtin_memcpy(e->daddr, vip, 16);
	e->dport = vport;
	if (be) {
		__builtin_memcpy(e->saddr, be->addr, 16);
		e->sport = be->port;
	}
	e->family = family;
	e->protocol = protocol;
	e->direction = PORIN_DIR_EGRESS;
	e->verdict = reason ? PORIN_VERDICT_DROPPED : PORIN_VERDICT_FORWARDED;
	e->reason = reason;
	e->event_type = PORIN_EVENT_TRACE_SOCK;
	e->rev_nat = rev_nat;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* connect() and sendmsg(): a frontend becomes a backend. Returns 1 (go on) or 0 (refused). Only
 * connect() reports, at most once a second per client and service: a datagram or connect loop
 * must not flood the event ring (refusals are counted every time). */
static __always_inline int sock_translate(struct bpf_sock_addr *ctx, __u8 family, int trace)
{
	__u8 protocol = ctx->protocol;
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return SOCK_PASS;
	__be32 vip[4] = {};
	__u8 ctx_family = family;
	family = user_addr(ctx, ctx_family, vip);
	__be16 vport = (__be16)ctx->user_port;
	struct porin_lb_key k;
	lb_key_of(&k, vip, vport, protocol, family);
	struct porin_lb_service *svc = bpf_map_lookup_elem(&porin_lb_services, &k);
	if (!svc)
		return SOCK_PASS;
	__u64 netns = bpf_get_netns_cookie(ctx);
	__u8 client[16] = {};
	__builtin_memcpy(client, &netns, 8);
	struct porin_lb_backend *be = 0;
	__u32 id = lb_select(&k, svc, client, PORIN_LB_CLIENT_NETNS, bpf_get_prandom_u32(), &be);
	if (!id || !be) {
		count(PORIN_DROP_NO_SERVICE, PORIN_DIR_EGRESS, 0);
		if (trace && sock_report_due(netns, svc->rev_nat, 1))
			sock_event(ctx, vip, vport, 0, protocol, family, svc->rev_nat,
				   PORIN_DROP_NO_SERVICE);
		bpf_set_retval(-ECONNREFUSED);
		return 0;
	}
	sock_remember(ctx, be, vip, vport, family, svc->rev_nat);
	if (trace && sock_report_due(netns, svc->rev_nat, 0))
		sock_event(ctx, vip, vport, be, protocol, family, svc->rev_nat, 0);
	set_user_addr(ctx, ctx_family, family, be->addr, be->port);
	return SOCK_PASS;
}

/* recvmsg() and getpeername(): a backend this socket was sent to shows as its service. */
static __always_inline int sock_reverse(struct bpf_sock_addr *ctx, __u8 family)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return SOCK_PASS;
	struct porin_lb_sock_value *v = bpf_sk_storage_get(&porin_lb_sock, sk, 0, 0);
	if (!v)
		return SOCK_PASS;
	__be32 addr[4] = {};
	__u8 ctx_family = family;
	family = user_addr(ctx, ctx_family, addr);
	__be16 port = (__be16)ctx->user_port;
#pragma unroll
	for (int i = 0; i < PORIN_LB_SOCK_SLOTS; i++) {
		struct porin_lb_sock_entry *e = &v->entries[i];
		if (sock_entry_is(e, (const __u8 *)addr, port, family)) {
			set_user_addr(ctx, ctx_family, family, e->service, e->service_port);
			break;
		}
	}
	return SOCK_PASS;
}

SEC("cgroup/connect4")
int porin_sock4_connect(struct bpf_sock_addr *ctx)
{
	return sock_translate(ctx, PORIN_FAMILY_IPV4, 1);
}

SEC("cgroup/connect6")
int porin_sock6_connect(struct bpf_sock_addr *ctx)
{
	return sock_translate(ctx, PORIN_FAMILY_IPV6, 1);
}

SEC("cgroup/sendmsg4")
int porin_sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	return sock_translate(ctx, PORIN_FAMILY_IPV4, 0);
}

SEC("cgroup/sendmsg6")
int porin_sock6_sendmsg(struct bpf_sock_addr *ctx)
{
	return sock_translate(ctx, PORIN_FAMILY_IPV6, 0);
}

SEC("cgroup/recvmsg4")
int porin_sock4_recvmsg(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, PORIN_FAMILY_IPV4);
}

SEC("cgroup/recvmsg6")
int porin_sock6_recvmsg(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, PORIN_FAMILY_IPV6);
}

SEC("cgroup/getpeername4")
int porin_sock4_getpeername(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, PORIN_FAMILY_IPV4);
}

SEC("cgroup/getpeername6")
int porin_sock6_getpeername(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, PORIN_FAMILY_IPV6);
}
