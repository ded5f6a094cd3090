/* SPDX-License-Identifier: Apache-2.0 */
/* The map definitions. Every map is pinned by name under the agent's pin directory, so a new
 * agent process reuses the maps (and their contents) of the previous one. */
#ifndef PORIN_LIB_MAPS_H
#define PORIN_LIB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "../porin_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct porin_ipcache_key);
	__type(value, struct porin_ipcache_value);
	__uint(max_entries, PORIN_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_ipcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct porin_endpoint);
	__uint(max_entries, PORIN_ENDPOINTS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct porin_lxc_key);
	__type(value, struct porin_lxc_value);
	__uint(max_entries, PORIN_ENDPOINTS_MAX * 2);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_lxc SEC(".maps");

struct porin_policy_inner {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(key_size, sizeof(struct porin_policy_key));
	__uint(value_size, sizeof(struct porin_policy_value));
	__uint(max_entries, PORIN_POLICY_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, PORIN_ENDPOINTS_MAX);
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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct porin_ct_key);
	__type(value, struct porin_ct_entry);
	__uint(max_entries, PORIN_CT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct porin_frag_key);
	__type(value, struct porin_frag_value);
	__uint(max_entries, PORIN_FRAG_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} porin_frag SEC(".maps");

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

#endif
