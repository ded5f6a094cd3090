/* SPDX-License-Identifier: Apache-2.0 */
/* Services: the load-balancing maps and the choice of a backend, shared by the socket programs
 * (bpf_sock.c: translated once per connection) and the tc programs (per packet). */
#ifndef PORIN_LIB_LB_H
#define PORIN_LIB_LB_H

#include "events.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct porin_lb_key);
	__type(value, struct porin_lb_service);
	__uint(max_entries, PORIN_LB_SERVICES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct porin_lb_backend);
	__uint(max_entries, PORIN_LB_BACKENDS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct porin_lb_revnat);
	__uint(max_entries, PORIN_LB_REVNAT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_revnat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct porin_lb_affinity_key);
	__type(value, struct porin_lb_affinity_value);
	__uint(max_entries, PORIN_LB_AFFINITY_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_affinity SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct porin_lb_affinity_match_key);
	__type(value, __u8);
	__uint(max_entries, PORIN_LB_BACKENDS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lb_affinity_match SEC(".maps");

struct porin_lb_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, PORIN_LB_MAGLEV_SIZE);
};

/* porin_lb_maglev: hash of maps, rev_nat index -> the service's Maglev table (slot -> backend
 * id), for services with PORIN_LB_MAGLEV. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, PORIN_LB_MAGLEV_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct porin_lb_maglev_inner);
} porin_lb_maglev SEC(".maps");

static __always_inline void lb_key_of(struct porin_lb_key *k, const __be32 *addr, __be16 port,
				      __u8 protocol, __u8 family)
{
	__builtin_memset(k, 0, sizeof(*k));
	if (family == PORIN_FAMILY_IPV4)
		__builtin_memcpy(k->addr, addr, 4);
	else
		__builtin_memcpy(k->addr, addr, 16);
	k->port = port;
	k->protocol = protocol;
	k->family = family;
}

/* A backend of the service, or 0 when it has none: a ready one, else a terminating one; through
 * the Maglev table when the service has one, else by hash over the slots. */
static __always_inline __u32 lb_pick(struct porin_lb_key *k, const struct porin_lb_service *svc,
				     __u32 hash)
{
	__u32 n = svc->active ? svc->active : svc->terminating;
	if (!n)
		return 0;
	if (svc->flags & PORIN_LB_MAGLEV) {
		__u32 rev = svc->rev_nat;
		void *table = bpf_map_lookup_elem(&porin_lb_maglev, &rev);
		if (table) {
			__u32 idx = hash % PORIN_LB_MAGLEV_SIZE;
			__u32 *id = bpf_map_lookup_elem(table, &idx);
			if (id && *id)
				return *id;
		}
	}
	k->slot = (__u16)(hash % n) + 1;
	struct porin_lb_service *b = bpf_map_lookup_elem(&porin_lb_services, k);
	if (!b) {
		/* the agent shrank the service between our reads of its count and slot: slot 1 is
		 * always there while the service has a backend */
		k->slot = 1;
		b = bpf_map_lookup_elem(&porin_lb_services, k);
	}
	k->slot = 0;
	return b ? b->backend_id : 0;
}

/*
 * The backend for a new connection to the service: the client's last one while its affinity
 * holds (and that backend still exists), else a fresh pick (remembered when the service has
 * affinity). Returns the backend id (0: none) and its address in *out.
 */
static __always_inline __u32 lb_select(struct porin_lb_key *k, const struct porin_lb_service *svc,
				       const __u8 *client, __u8 client_kind, __u32 hash,
				       struct porin_lb_backend **out)
{
	struct porin_lb_affinity_key ak = {};
	__u64 now = 0;
	__u32 id = 0;
	if (svc->flags & PORIN_LB_AFFINITY) {
		__builtin_memcpy(ak.client, client, 16);
		ak.rev_nat = svc->rev_nat;
		ak.kind = client_kind;
		now = bpf_ktime_get_ns();
		struct porin_lb_affinity_value *a = bpf_map_lookup_elem(&porin_lb_affinity, &ak);
		if (a && now - a->last_used <= (__u64)svc->affinity_timeout * 1000000000ULL) {
			/* only while that backend still serves this frontend, in its family */
			struct porin_lb_affinity_match_key mk = { .backend_id = a->backend_id,
								  .rev_nat = svc->rev_nat };
			id = a->backend_id;
			*out = bpf_map_lookup_elem(&porin_lb_backends, &id);
			if (*out && (*out)->family == k->family &&
			    bpf_map_lookup_elem(&porin_lb_affinity_match, &mk)) {
				a->last_used = now;
				return id;
			}
		}
	}
	id = lb_pick(k, svc, hash);
	if (!id)
		return 0;
	*out = bpf_map_lookup_elem(&porin_lb_backends, &id);
	if (!*out || (*out)->family != k->family)
		return 0;
	if (svc->flags & PORIN_LB_AFFINITY) {
		struct porin_lb_affinity_value v = { .last_used = now, .backend_id = id };
		bpf_map_update_elem(&porin_lb_affinity, &ak, &v, BPF_ANY);
	}
	return id;
}

#endif
