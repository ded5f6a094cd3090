/* SPDX-License-Identifier: Apache-2.0 */
/* Packet parsing: Ethernet, ARP, IPv4 (with fragments), IPv6 (with extension headers and
 * fragments), TCP, UDP, SCTP, ICMP, ICMPv6, and the packet an ICMP error carries. The result is
 * one flat struct the rest of the program works on; nothing here decides anything. */
#ifndef PORIN_LIB_PARSE_H
#define PORIN_LIB_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "../porin_maps.h"

/* ICMP and ICMPv6 share this start (linux/icmp.h drags in libc headers). */
struct icmp_echo_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_TIME_EXCEED 3
#define ICMPV6_PARAMPROB 4
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129
#define ICMPV6_MLD_QUERY 130
#define ICMPV6_MLD_REPORT 131
#define ICMPV6_MLD_DONE 132
#define ICMPV6_ROUTER_SOLICIT 133
#define ICMPV6_REDIRECT 137
#define ICMPV6_MLD2_REPORT 143

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#define IPV6_EXT_MAX 6
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

/* A connection's addresses, ports and protocol, as conntrack keys it. */
struct tuple {
	__be32 saddr[4];
	__be32 daddr[4];
	__be16 sport;
	__be16 dport;
	__u8 protocol;
	__u8 family;
	__u8 kind;  /* PORIN_CT_KIND_* */
	__u8 pad;
};

enum packet_kind { PACKET_IP, PACKET_ARP };

enum frag_kind { FRAG_NONE, FRAG_FIRST, FRAG_LATER };

/* Link-local control messages: they never reach policy (and make no flow). */
enum control_kind {
	CONTROL_NONE,
	CONTROL_ND, /* router/neighbour discovery (133-137), hop limit 255 */
	CONTROL_MLD /* multicast listener messages, hop limit 1, to a multicast group */
};

struct packet {
	struct tuple t;
	struct tuple inner;  /* ICMP errors: the packet the error is about (from its own sender) */
	__be16 policy_port;  /* the port policy keys on: dport, or the ICMP type */
	__u16 l4_off;        /* where the L4 header starts */
	__u8 kind;           /* enum packet_kind */
	__u8 tcp_flags;      /* FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128 */
	__u8 icmp_error;     /* inner holds the embedded packet */
	__u8 control;        /* enum control_kind */
	__u8 ttl;            /* IPv4 TTL or IPv6 hop limit */
	__u8 frag;           /* enum frag_kind */
	__u8 last_frag;      /* no more fragments follow this one */
	__u8 frag_proto;     /* the protocol every fragment of the datagram carries */
	__u8 routed;         /* an IPv6 routing header with segments left: not for its destination */
	__u8 rev_nat_dir;    /* the direction whose new conntrack entry records rev_nat */
	__u8 encrypt;        /* goes out through (or came in from) the WireGuard device */
	__u16 rev_nat;       /* set when a service translated this packet: that frontend */
	__u16 reply_rev_nat; /* set when a reply's connection was translated: undo it (source) */
	__be32 frag_id;
	__u32 length;
	__u32 generation;    /* the ipcache generation when the packet arrived */
	__u32 peer;          /* the identity of the far end, as the last policy step found it */
	__u64 now;           /* bpf_ktime_get_ns() when the packet arrived */
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* Addresses are compared as four words: the verifier wants no byte loops on the hot path. */
static __always_inline int addr_eq(const __be32 *a, const __be32 *b, __u8 family)
{
	if (family == PORIN_FAMILY_IPV4)
		return a[0] == b[0];
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline int ipv6_is_unspecified(const __be32 *a)
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

static __always_inline int ipv6_is_link_local(const __be32 *a)
{
	return (a[0] & bpf_htonl(0xFFC00000)) == bpf_htonl(0xFE800000);
}

/* ff02::/16: multicast on this link only (the only scope ND and MLD may use here) */
static __always_inline int ipv6_is_link_multicast(const __be32 *a)
{
	return (a[0] & bpf_htonl(0xFFFF0000)) == bpf_htonl(0xFF020000);
}

static __always_inline int is_echo_request(__u8 protocol, __u8 type)
{
	return (protocol == IPPROTO_ICMP && type == ICMP_ECHO) ||
	       (protocol == IPPROTO_ICMPV6 && type == ICMPV6_ECHO_REQUEST);
}

static __always_inline int is_echo_reply(__u8 protocol, __u8 type)
{
	return (protocol == IPPROTO_ICMP && type == ICMP_ECHOREPLY) ||
	       (protocol == IPPROTO_ICMPV6 && type == ICMPV6_ECHO_REPLY);
}

static __always_inline int is_icmp_error(__u8 protocol, __u8 type)
{
	if (protocol == IPPROTO_ICMP)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB;
	return type >= ICMPV6_DEST_UNREACH && type <= ICMPV6_PARAMPROB;
}

/*
 * Conntrack ports of an ICMP message: an echo request is (id, 0) of kind request, its reply (0, id)
 * of kind reply, so the reply is the request reversed (a reversed key swaps the kinds too) and no
 * identifier makes one look like the other; anything else (0, type << 8 | code), which keeps types
 * and codes apart and which no reversed key can equal.
 */
static __always_inline void icmp_ports(struct tuple *t, __u8 type, __u8 code, __be16 id)
{
	if (is_echo_request(t->protocol, type)) {
		t->sport = id;
		t->dport = 0;
		t->kind = PORIN_CT_KIND_ECHO_REQUEST;
	} else if (is_echo_reply(t->protocol, type)) {
		t->sport = 0;
		t->dport = id;
		t->kind = PORIN_CT_KIND_ECHO_REPLY;
	} else {
		t->sport = 0;
		t->dport = bpf_htons(((__u16)type << 8) | code);
		t->kind = PORIN_CT_KIND_ICMP;
	}
}

/*
 * The packet an ICMP error carries, from offset off (its IP header) up to end (the end of the
 * outer datagram): addresses, protocol and the first bytes of its L4 header, into p->inner.
 * Errors whose embedded packet is cut short or has IPv6 extension headers are left as plain ICMP
 * (policy decides them).
 */
static __always_inline void parse_inner(struct __sk_buff *skb, struct packet *p, __u32 off,
					__u32 end)
{
	struct tuple *in = &p->inner;
	__u8 l4[8];
	if (p->t.family == PORIN_FAMILY_IPV4) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) || ip.ihl < 5)
			return;
		in->family = PORIN_FAMILY_IPV4;
		in->protocol = ip.protocol;
		in->saddr[0] = ip.saddr;
		in->daddr[0] = ip.daddr;
		off += ip.ihl * 4;
	} else {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
			return;
		in->family = PORIN_FAMILY_IPV6;
		in->protocol = ip6.nexthdr;
		__builtin_memcpy(in->saddr, &ip6.saddr, 16);
		__builtin_memcpy(in->daddr, &ip6.daddr, 16);
		off += sizeof(ip6);
	}
	if (off + sizeof(l4) > end || bpf_skb_load_bytes(skb, off, l4, sizeof(l4)))
		return;
	switch (in->protocol) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_SCTP:
		__builtin_memcpy(&in->sport, &l4[0], 2);
		__builtin_memcpy(&in->dport, &l4[2], 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		if (in->protocol != (p->t.family == PORIN_FAMILY_IPV4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
			return;
		__be16 id;
		__builtin_memcpy(&id, &l4[4], 2);
		icmp_ports(in, l4[0], l4[1], id);
		break;
	}
	default:
		return;
	}
	p->icmp_error = 1;
}

/*
 * Parses ports (or ICMP type, code and id) at l4, of which the datagram holds avail bytes (what
 * the frame holds beyond the IP length is not the datagram's: the kernel trims it away); returns 0
 * or a negative drop reason.
 */
static __always_inline int parse_l4(struct __sk_buff *skb, struct packet *p, void *l4,
				    void *data_end, __u32 l4_off, __u32 avail)
{
	p->l4_off = (__u16)l4_off;
	switch (p->t.protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > data_end || avail < sizeof(*tcp))
			return -PORIN_DROP_CT_INVALID_HDR;
		p->t.sport = tcp->source;
		p->t.dport = tcp->dest;
		p->policy_port = tcp->dest;
		p->tcp_flags = ((__u8 *)tcp)[13];
		return 0;
	}
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		/* UDP and SCTP both start with source and destination port */
		__be16 *ports = l4;
		if ((void *)(ports + 2) > data_end || avail < 8)
			return -PORIN_DROP_CT_INVALID_HDR;
		p->t.sport = ports[0];
		p->t.dport = ports[1];
		p->policy_port = ports[1];
		return 0;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct icmp_echo_hdr *icmp = l4;
		if ((void *)(icmp + 1) > data_end || avail < sizeof(*icmp))
			return -PORIN_DROP_CT_INVALID_HDR;
		/* ICMP over IPv6 or ICMPv6 over IPv4 is nobody's: it would meet the other family's rules */
		if (p->t.protocol != (p->t.family == PORIN_FAMILY_IPV4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
			return -PORIN_DROP_INVALID_PACKET;
		__u8 type = icmp->type;
		__u8 code = icmp->code;
		p->policy_port = bpf_htons(type);
		icmp_ports(&p->t, type, code, icmp->id);
		if (is_icmp_error(p->t.protocol, type))
			parse_inner(skb, p, l4_off + sizeof(*icmp), l4_off + avail);
		if (p->t.protocol == IPPROTO_ICMPV6) {
			if (type >= ICMPV6_ROUTER_SOLICIT && type <= ICMPV6_REDIRECT && code == 0 &&
			    p->ttl == 255)
				p->control = CONTROL_ND;
			else if (((type >= ICMPV6_MLD_QUERY && type <= ICMPV6_MLD_DONE) ||
				  type == ICMPV6_MLD2_REPORT) &&
				 p->ttl == 1 && ipv6_is_link_multicast(p->t.daddr))
				p->control = CONTROL_MLD;
		}
		return 0;
	}
	default:
		return 0; /* other protocols: policy by protocol, port 0 */
	}
}

/* Bytes of the IP datagram after the header, by its own length field; negative when it lies. */
static __always_inline int datagram_left(__u32 total, __u32 header)
{
	return total < header ? -1 : (int)(total - header);
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, struct packet *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	if ((void *)(ip + 1) > data_end)
		return -PORIN_DROP_INVALID_PACKET;
	__u32 ihl = ip->ihl & 0xF;
	if (ihl < 5)
		return -PORIN_DROP_INVALID_PACKET;
	int left = datagram_left(bpf_ntohs(ip->tot_len), ihl * 4);
	if (left < 0)
		return -PORIN_DROP_INVALID_PACKET;
	p->t.family = PORIN_FAMILY_IPV4;
	p->t.protocol = ip->protocol;
	p->t.saddr[0] = ip->saddr;
	p->t.daddr[0] = ip->daddr;
	p->ttl = ip->ttl;

	__u16 frag = bpf_ntohs(ip->frag_off);
	if (frag & (IP_MF | IP_OFFSET)) {
		p->frag_id = ip->id;
		p->frag_proto = ip->protocol;
		p->last_frag = !(frag & IP_MF);
		if (frag & IP_OFFSET) {
			/* a later fragment has no L4 header: its ports come from the first one */
			p->frag = FRAG_LATER;
			return 0;
		}
		p->frag = FRAG_FIRST;
	}
	return parse_l4(skb, p, (void *)ip + ihl * 4, data_end, sizeof(struct ethhdr) + ihl * 4,
			(__u32)left);
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, struct packet *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	if ((void *)(ip6 + 1) > data_end)
		return -PORIN_DROP_INVALID_PACKET;
	p->t.family = PORIN_FAMILY_IPV6;
	__builtin_memcpy(p->t.saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->t.daddr, &ip6->daddr, 16);
	p->ttl = ip6->hop_limit;

	__u8 next = ip6->nexthdr;
	void *cursor = ip6 + 1;
	/* what the datagram holds after the fixed header: every header must fit in it */
	__u32 avail = bpf_ntohs(ip6->payload_len);
	__u32 len;
#pragma unroll
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		switch (next) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60: { /* destination options */
			__u8 *ext = cursor;
			if ((void *)(ext + 4) > data_end)
				return -PORIN_DROP_INVALID_EXTHDR;
			if (next == 43 && ext[3])
				p->routed = 1; /* segments left: the destination is not the last hop */
			len = (ext[1] + 1) * 8;
			if (len > avail)
				return -PORIN_DROP_INVALID_EXTHDR;
			avail -= len;
			next = ext[0];
			cursor += len;
			break;
		}
		case 51: { /* authentication header: length in 4-byte units, minus 2 */
			__u8 *ext = cursor;
			if ((void *)(ext + 2) > data_end)
				return -PORIN_DROP_INVALID_EXTHDR;
			len = (ext[1] + 2) * 4;
			if (len > avail)
				return -PORIN_DROP_INVALID_EXTHDR;
			avail -= len;
			next = ext[0];
			cursor += len;
			break;
		}
		case 44: { /* fragment: only the first fragment carries L4 */
			__u8 *ext = cursor;
			if ((void *)(ext + 8) > data_end || avail < 8)
				return -PORIN_DROP_INVALID_EXTHDR;
			__u16 off = ((__u16)ext[2] << 8 | ext[3]) & 0xFFF8;
			int more = ext[3] & 1;
			next = ext[0];
			avail -= 8;
			cursor += 8;
			if (!off && !more)
				break; /* an atomic fragment: a whole datagram */
			__builtin_memcpy(&p->frag_id, ext + 4, 4);
			p->frag_proto = next;
			p->last_frag = !more;
			if (off) {
				p->t.protocol = next;
				p->frag = FRAG_LATER;
				return 0;
			}
			p->frag = FRAG_FIRST;
			break;
		}
		default:
			goto done;
		}
	}
	/* still an extension header after IPV6_EXT_MAX of them */
	if (next == 0 || next == 43 || next == 60 || next == 51 || next == 44)
		return -PORIN_DROP_INVALID_EXTHDR;
done:
	p->t.protocol = next;
	if (cursor > data_end)
		return -PORIN_DROP_INVALID_EXTHDR;
	return parse_l4(skb, p, cursor, data_end, (__u32)(cursor - data), avail);
}

/* 0 = a packet parsed into p (IP or ARP); negative = drop reason. */
static __always_inline int parse_packet(struct __sk_buff *skb, struct packet *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return -PORIN_DROP_INVALID_PACKET;
	p->length = skb->len;
	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return parse_ipv4(skb, p);
	case bpf_htons(ETH_P_IPV6):
		return parse_ipv6(skb, p);
	case bpf_htons(ETH_P_ARP): {
		struct arp_eth_ipv4 *arp = (void *)(eth + 1);
		if ((void *)(arp + 1) > data_end || arp->htype != bpf_htons(1) ||
		    arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != 6 || arp->plen != 4)
			return -PORIN_DROP_INVALID_PACKET;
		p->kind = PACKET_ARP;
		p->t.family = PORIN_FAMILY_IPV4;
		__builtin_memcpy(p->t.saddr, arp->spa, 4);
		__builtin_memcpy(p->t.daddr, arp->tpa, 4);
		return 0;
	}
	default:
		return -PORIN_DROP_UNSUPPORTED_L3;
	}
}

/* The source MAC of the frame, and the sender hardware address of an ARP packet. */
static __always_inline int source_macs_are(struct __sk_buff *skb, const __u8 *mac, __u8 kind)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return 0;
	const __u8 *src = eth->h_source;
	if (src[0] != mac[0] || src[1] != mac[1] || src[2] != mac[2] || src[3] != mac[3] ||
	    src[4] != mac[4] || src[5] != mac[5])
		return 0;
	if (kind != PACKET_ARP)
		return 1;
	struct arp_eth_ipv4 *arp = (void *)(eth + 1);
	if ((void *)(arp + 1) > data_end)
		return 0;
	const __u8 *sha = arp->sha;
	return sha[0] == mac[0] && sha[1] == mac[1] && sha[2] == mac[2] && sha[3] == mac[3] &&
	       sha[4] == mac[4] && sha[5] == mac[5];
}

#endif
