// Prints the size and field offsets of every struct of porin_maps.h and of the libbpf option
// structs the agent fills, and every PORIN_ constant the agent mirrors. MapLayoutsTest compiles
// and runs this, then compares the output with the Java layouts.
#include <stddef.h>
#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "porin_maps.h"

#define S(t) printf("struct %s %zu\n", #t, sizeof(struct t))
#define F(t, f) printf("field %s %s %zu %zu\n", #t, #f, offsetof(struct t, f), sizeof(((struct t *)0)->f))
#define C(n) printf("const %s %ld\n", #n, (long)PORIN_##n)

int main(void)
{
	S(porin_ipcache_key); F(porin_ipcache_key, prefixlen); F(porin_ipcache_key, family);
	F(porin_ipcache_key, pad); F(porin_ipcache_key, addr);
	S(porin_ipcache_value); F(porin_ipcache_value, identity); F(porin_ipcache_value, flags);
	S(porin_endpoint); F(porin_endpoint, endpoint_id); F(porin_endpoint, identity);
	F(porin_endpoint, policy_revision); F(porin_endpoint, flags); F(porin_endpoint, ingress_default);
	F(porin_endpoint, egress_default); F(porin_endpoint, pad);
	F(porin_endpoint, ingress_default_cookie); F(porin_endpoint, egress_default_cookie);
	F(porin_endpoint, pod_mac); F(porin_endpoint, host_mac);
	S(porin_lxc_key); F(porin_lxc_key, family); F(porin_lxc_key, pad); F(porin_lxc_key, addr);
	S(porin_lxc_value); F(porin_lxc_value, ifindex);
	S(porin_policy_key); F(porin_policy_key, prefixlen); F(porin_policy_key, identity);
	F(porin_policy_key, direction); F(porin_policy_key, protocol); F(porin_policy_key, port);
	S(porin_policy_value); F(porin_policy_value, verdict); F(porin_policy_value, prefix_len);
	F(porin_policy_value, flags); F(porin_policy_value, pad); F(porin_policy_value, cookie);
	S(porin_cidr_class_key); F(porin_cidr_class_key, prefixlen); F(porin_cidr_class_key, endpoint_id);
	F(porin_cidr_class_key, direction); F(porin_cidr_class_key, family); F(porin_cidr_class_key, pad);
	F(porin_cidr_class_key, addr);
	S(porin_cidr_class_value); F(porin_cidr_class_value, class_id);
	S(porin_ct_key); F(porin_ct_key, saddr); F(porin_ct_key, daddr); F(porin_ct_key, sport);
	F(porin_ct_key, dport); F(porin_ct_key, protocol); F(porin_ct_key, direction);
	F(porin_ct_key, family); F(porin_ct_key, pad);
	S(porin_ct_entry); F(porin_ct_entry, expires); F(porin_ct_entry, policy_revision);
	F(porin_ct_entry, cookie); F(porin_ct_entry, peer_identity); F(porin_ct_entry, verdict);
	F(porin_ct_entry, flags); F(porin_ct_entry, pad);
	S(porin_frag_key); F(porin_frag_key, saddr); F(porin_frag_key, daddr); F(porin_frag_key, id);
	F(porin_frag_key, protocol); F(porin_frag_key, pad);
	S(porin_frag_value); F(porin_frag_value, sport); F(porin_frag_value, dport);
	S(porin_counter); F(porin_counter, packets); F(porin_counter, bytes);
	S(porin_event); F(porin_event, timestamp); F(porin_event, ifindex); F(porin_event, endpoint_id);
	F(porin_event, src_identity); F(porin_event, dst_identity); F(porin_event, cookie);
	F(porin_event, policy_revision); F(porin_event, saddr); F(porin_event, daddr);
	F(porin_event, sport); F(porin_event, dport); F(porin_event, family); F(porin_event, protocol);
	F(porin_event, direction); F(porin_event, verdict); F(porin_event, reason);
	F(porin_event, tcp_flags); F(porin_event, is_reply); F(porin_event, match_type);
	F(porin_event, event_type); F(porin_event, icmp_type); F(porin_event, pad); F(porin_event, length); F(porin_event, pad2);

	S(bpf_object_open_opts); F(bpf_object_open_opts, sz); F(bpf_object_open_opts, object_name);
	F(bpf_object_open_opts, relaxed_maps); F(bpf_object_open_opts, pin_root_path);
	F(bpf_object_open_opts, kconfig); F(bpf_object_open_opts, btf_custom_path);
	F(bpf_object_open_opts, kernel_log_buf); F(bpf_object_open_opts, kernel_log_size);
	F(bpf_object_open_opts, kernel_log_level);
	S(bpf_tc_hook); F(bpf_tc_hook, sz); F(bpf_tc_hook, ifindex); F(bpf_tc_hook, attach_point);
	F(bpf_tc_hook, parent);
	S(bpf_tc_opts); F(bpf_tc_opts, sz); F(bpf_tc_opts, prog_fd); F(bpf_tc_opts, flags);
	F(bpf_tc_opts, prog_id); F(bpf_tc_opts, handle); F(bpf_tc_opts, priority);
	S(bpf_map_batch_opts); F(bpf_map_batch_opts, sz); F(bpf_map_batch_opts, elem_flags);
	F(bpf_map_batch_opts, flags);
	S(bpf_map_create_opts); F(bpf_map_create_opts, sz); F(bpf_map_create_opts, btf_fd);
	F(bpf_map_create_opts, inner_map_fd); F(bpf_map_create_opts, map_flags);
	F(bpf_map_create_opts, map_extra); F(bpf_map_create_opts, numa_node);
	F(bpf_map_create_opts, map_ifindex);
	S(bpf_test_run_opts); F(bpf_test_run_opts, sz); F(bpf_test_run_opts, data_in);
	F(bpf_test_run_opts, data_out); F(bpf_test_run_opts, data_size_in);
	F(bpf_test_run_opts, data_size_out); F(bpf_test_run_opts, ctx_in); F(bpf_test_run_opts, ctx_out);
	F(bpf_test_run_opts, ctx_size_in); F(bpf_test_run_opts, ctx_size_out);
	F(bpf_test_run_opts, retval); F(bpf_test_run_opts, repeat); F(bpf_test_run_opts, duration);
	F(bpf_test_run_opts, flags); F(bpf_test_run_opts, cpu); F(bpf_test_run_opts, batch_size);

	C(DIR_INGRESS); C(DIR_EGRESS); C(FAMILY_IPV4); C(FAMILY_IPV6); C(POLICY_ALLOW);
	C(POLICY_AUDIT); C(POLICY_DENY); C(VERDICT_FORWARDED); C(VERDICT_DROPPED); C(VERDICT_AUDIT);
	C(EVENT_DROP); C(EVENT_POLICY_VERDICT); C(DROP_POLICY); C(DROP_INVALID_PACKET);
	C(DROP_CT_INVALID_HDR); C(DROP_UNSUPPORTED_L3); C(DROP_CT_CREATE_FAILED);
	C(DROP_INVALID_EXTHDR); C(DROP_FRAG_NOSUPPORT); C(DROP_FRAG_NOT_FOUND); C(DROP_POLICY_DENY);
	C(DROP_WRITE_ERROR); C(DROP_EP_NOT_READY); C(IPCACHE_MAX); C(ENDPOINTS_MAX); C(POLICY_MAX); C(CIDR_CLASSES_MAX);
	C(CT_MAX); C(COUNTERS_MAX); C(COUNTER_EVENTS_LOST); C(EP_ENFORCE_INGRESS);
	C(EP_ENFORCE_EGRESS); C(EP_CIDR_CLASSES_INGRESS); C(EP_CIDR_CLASSES_EGRESS);
	return 0;
}
