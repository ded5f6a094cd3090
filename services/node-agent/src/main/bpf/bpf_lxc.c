// SPDX-License-Identifier: Apache-2.0
/*
 * Porin's endpoint program, attached with tc (clsact, direct action) to each pod's host-side
 * veth:
 *   porin_from_pod  on tc ingress: traffic the pod sends    -> the pod's egress policy
 *   porin_to_pod    on tc egress:  traffic the pod receives -> the pod's ingress policy
 *
 * Per packet: parse; look the connection up in conntrack. A reply passes. An established packet
 * whose entry was decided under the endpoint's current policy revision passes. Anything else is
 * decided by policy (ipcache -> peer identity, then the endpoint's policy map), and a new allowed
 * connection gets a conntrack entry and one event; every drop gets an event.
 */
#include <linux/pkt_cls.h>
#include "lib/conntrack.h"
#include "lib/events.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int drop(struct __sk_buff *skb, const struct porin_endpoint *ep,
				const struct packet *p, __u8 dir, __u32 peer,
				const struct decision *d, __u16 reason)
{
	count(reason, dir, skb->len);
	emit(skb, ep, p, dir, peer, d, PORIN_VERDICT_DROPPED, reason, 0, PORIN_EVENT_DROP);
	return TC_ACT_SHOT;
}

static __always_inline int forward(struct __sk_buff *skb, __u8 dir)
{
	count(0, dir, skb->len);
	return TC_ACT_OK;
}

/*
 * One policy direction of one endpoint for a parsed packet: conntrack, then policy for what is
 * new (or was decided under an older revision). Counts, emits, and returns TC_ACT_OK or _SHOT.
 */
static __always_inline int policy_step(struct __sk_buff *skb, const struct porin_endpoint *ep,
				       __u8 dir, const struct packet *p, __u64 now)
{
	struct porin_ct_key key;
	enum ct_status status;
	struct porin_ct_entry *ct = ct_lookup(p, dir, &key, now, &status);
	if (status == CT_REPLY) {
		ct_touch(ct, p, 1, now);
		return forward(skb, dir);
	}
	if (status == CT_ESTABLISHED && ct->policy_revision == ep->policy_revision) {
		ct_touch(ct, p, 0, now);
		return forward(skb, dir);
	}

	/* New, or decided under an older policy: decide now. */
	const __u8 *peer_addr = dir == PORIN_DIR_EGRESS ? p->daddr : p->saddr;
	__u32 peer = ipcache_identity(peer_addr, p->family);
	struct decision d = {};
	policy_decide(&d, ep, dir, peer, peer_addr, p);
	if (d.verdict == PORIN_POLICY_DENY) {
		if (ct)
			bpf_map_delete_elem(&porin_ct, &key);
		return drop(skb, ep, p, dir, peer, &d,
			    d.by_default ? PORIN_DROP_POLICY : PORIN_DROP_POLICY_DENY);
	}
	if (ct) {
		/* still allowed under the new revision: keep the connection */
		ct->policy_revision = ep->policy_revision;
		ct->verdict = d.verdict;
		ct->cookie = d.cookie;
		ct->peer_identity = peer;
		ct_touch(ct, p, 0, now);
		return forward(skb, dir);
	}
	struct porin_ct_entry entry = {
		.policy_revision = ep->policy_revision, .cookie = d.cookie,
		.peer_identity = peer, .verdict = d.verdict,
	};
	ct_touch(&entry, p, 0, now);
	if (bpf_map_update_elem(&porin_ct, &key, &entry, BPF_ANY))
		return drop(skb, ep, p, dir, peer, &d, PORIN_DROP_CT_CREATE_FAILED);
	emit(skb, ep, p, dir, peer, &d,
	     d.verdict == PORIN_POLICY_AUDIT ? PORIN_VERDICT_AUDIT : PORIN_VERDICT_FORWARDED, 0, 0,
	     PORIN_EVENT_POLICY_VERDICT);
	return forward(skb, dir);
}

/* Decrements the IPv4 TTL (fixing the header checksum) or the IPv6 hop limit. Returns 1 when the
 * packet must not be forwarded here (TTL 1 or less), a negative value when writing failed. */
static __always_inline int ttl_decrement(struct __sk_buff *skb, __u8 family)
{
	__u32 off = sizeof(struct ethhdr) + (family == PORIN_FAMILY_IPV4 ? 8 : 7);
	__u8 ttl;
	if (bpf_skb_load_bytes(skb, off, &ttl, 1))
		return -1;
	if (ttl <= 1)
		return 1;
	__u8 next = ttl - 1;
	if (family == PORIN_FAMILY_IPV4 &&
	    bpf_l3_csum_replace(skb, sizeof(struct ethhdr) + 10, bpf_htons((__u16)ttl << 8),
				bpf_htons((__u16)next << 8), 2))
		return -1;
	return bpf_skb_store_bytes(skb, off, &next, 1, 0) ? -1 : 0;
}

static __always_inline int handle(struct __sk_buff *skb, __u8 dir)
{
	struct packet p = {};
	__u32 ifindex = skb->ifindex;
	struct porin_endpoint *ep = bpf_map_lookup_elem(&porin_endpoints, &ifindex);
	int rc = parse_packet(skb, &p);
	if (rc == PARSE_PASS)
		return TC_ACT_OK;
	if (!ep)
		return drop(skb, 0, &p, dir, 0, 0, PORIN_DROP_EP_NOT_READY);
	if (rc < 0)
		return drop(skb, ep, &p, dir, 0, 0, -rc);

	__u64 now = bpf_ktime_get_ns();
	rc = policy_step(skb, ep, dir, &p, now);
	if (rc != TC_ACT_OK || dir != PORIN_DIR_EGRESS)
		return rc;

	/*
	 * Same-node fast path: when the destination is a local endpoint, decide its ingress policy
	 * here and hand the packet straight to its interface inside its namespace. The node's
	 * routing and the destination's own hook are skipped; policy is not.
	 */
	struct porin_lxc_key lk = { .family = p.family };
	__builtin_memcpy(lk.addr, p.daddr, 16);
	struct porin_lxc_value *lxc = bpf_map_lookup_elem(&porin_lxc, &lk);
	if (!lxc)
		return TC_ACT_OK;
	__u32 dst_ifindex = lxc->ifindex;
	struct porin_endpoint *dst = bpf_map_lookup_elem(&porin_endpoints, &dst_ifindex);
	if (!dst)
		return TC_ACT_OK;
	rc = policy_step(skb, dst, PORIN_DIR_INGRESS, &p, now);
	if (rc != TC_ACT_OK)
		return rc;
	/* a router's duty: the hop limit goes down; at 1 the stack answers (time exceeded) */
	rc = ttl_decrement(skb, p.family);
	if (rc > 0)
		return TC_ACT_OK;
	if (rc < 0 || bpf_skb_store_bytes(skb, 0, dst->pod_mac, 6, 0) ||
	    bpf_skb_store_bytes(skb, 6, dst->host_mac, 6, 0))
		return drop(skb, dst, &p, PORIN_DIR_INGRESS, 0, 0, PORIN_DROP_WRITE_ERROR);
	return bpf_redirect_peer(dst_ifindex, 0);
}

SEC("tc")
int porin_from_pod(struct __sk_buff *skb)
{
	return handle(skb, PORIN_DIR_EGRESS);
}

SEC("tc")
int porin_to_pod(struct __sk_buff *skb)
{
	return handle(skb, PORIN_DIR_INGRESS);
}
