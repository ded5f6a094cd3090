/* SPDX-License-Identifier: Apache-2.0 */
/* Packet parsing: Ethernet, IPv4 (with fragments), IPv6 (with extension headers), TCP, UDP,
 * SCTP, ICMP, ICMPv6. The result is one flat tuple the rest of the program works on. */
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
#include "maps.h"

/* ICMP and ICMPv6 share this start (linux/icmp.h drags in libc headers). */
struct icmp_echo_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

#define PARSE_PASS 1  /* not IP: ARP and neighbour discovery pass untouched */

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#define IPV6_EXT_MAX 6
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF

struct packet {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__be16 policy_port;  /* the port policy keys on: dport, or the ICMP type */
	__u8 family;
	__u8 protocol;
	__u8 tcp_flags;      /* FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128 */
	__u8 icmp_reply;     /* an ICMP echo reply: its tuple is already reversed */
	__u8 pad[2];
	__u32 length;
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* Parses ports (or ICMP type and id) at l4; returns 0 or a negative drop reason. */
static __always_inline int parse_l4(struct packet *p, void *l4, void *data_end)
{
	switch (p->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > data_end)
			return -PORIN_DROP_CT_INVALID_HDR;
		p->sport = tcp->source;
		p->dport = tcp->dest;
		p->policy_port = tcp->dest;
		p->tcp_flags = ((__u8 *)tcp)[13];
		return 0;
	}
	case IPPROTO_UDP:
	case IPPROTO_SCTP: {
		/* UDP and SCTP both start with source and destination port */
		__be16 *ports = l4;
		if ((void *)(ports + 2) > data_end)
			return -PORIN_DROP_CT_INVALID_HDR;
		p->sport = ports[0];
		p->dport = ports[1];
		p->policy_port = ports[1];
		return 0;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		struct icmp_echo_hdr *icmp = l4;
		if ((void *)(icmp + 1) > data_end)
			return -PORIN_DROP_CT_INVALID_HDR;
		__u8 type = icmp->type;
		p->policy_port = bpf_htons(type);
		/* echo request/reply are tracked by their identifier, like ports */
		if ((p->protocol == IPPROTO_ICMP && type == ICMP_ECHO) ||
		    (p->protocol == IPPROTO_ICMPV6 && type == ICMPV6_ECHO_REQUEST)) {
			p->sport = icmp->id;
		} else if ((p->protocol == IPPROTO_ICMP && type == ICMP_ECHOREPLY) ||
			   (p->protocol == IPPROTO_ICMPV6 && type == ICMPV6_ECHO_REPLY)) {
			p->dport = icmp->id;
			p->icmp_reply = 1;
		} else if (p->protocol == IPPROTO_ICMPV6 && type >= 133 && type <= 137) {
			return PARSE_PASS; /* router/neighbour discovery: the link needs it */
		}
		return 0;
	}
	default:
		return 0; /* other protocols: policy by protocol, port 0 */
	}
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
	p->family = PORIN_FAMILY_IPV4;
	p->protocol = ip->protocol;
	__builtin_memcpy(p->saddr, &ip->saddr, 4);
	__builtin_memcpy(p->daddr, &ip->daddr, 4);

	__u16 frag = bpf_ntohs(ip->frag_off);
	struct porin_frag_key fk = {
		.saddr = ip->saddr, .daddr = ip->daddr, .id = ip->id, .protocol = ip->protocol,
	};
	if (frag & IP_OFFSET) {
		/* A later fragment has no L4 header: it takes the ports of its first fragment,
		 * so it meets exactly the verdict the first one met. No first fragment: drop. */
		struct porin_frag_value *fv = bpf_map_lookup_elem(&porin_frag, &fk);
		if (!fv)
			return -PORIN_DROP_FRAG_NOT_FOUND;
		p->sport = fv->sport;
		p->dport = fv->dport;
		p->policy_port = fv->dport;
		return 0;
	}
	void *l4 = (void *)ip + ihl * 4;
	int rc = parse_l4(p, l4, data_end);
	if (rc == 0 && (frag & IP_MF)) {
		struct porin_frag_value fv = { .sport = p->sport, .dport = p->dport };
		bpf_map_update_elem(&porin_frag, &fk, &fv, BPF_ANY);
	}
	return rc;
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, struct packet *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	if ((void *)(ip6 + 1) > data_end)
		return -PORIN_DROP_INVALID_PACKET;
	p->family = PORIN_FAMILY_IPV6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);

	__u8 next = ip6->nexthdr;
	void *cursor = ip6 + 1;
#pragma unroll
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		switch (next) {
		case 0:   /* hop-by-hop */
		case 43:  /* routing */
		case 60: { /* destination options */
			__u8 *ext = cursor;
			if ((void *)(ext + 2) > data_end)
				return -PORIN_DROP_INVALID_EXTHDR;
			next = ext[0];
			cursor += (ext[1] + 1) * 8;
			break;
		}
		case 51: { /* authentication header: length in 4-byte units, minus 2 */
			__u8 *ext = cursor;
			if ((void *)(ext + 2) > data_end)
				return -PORIN_DROP_INVALID_EXTHDR;
			next = ext[0];
			cursor += (ext[1] + 2) * 4;
			break;
		}
		case 44: { /* fragment: only the first fragment carries L4 */
			__u8 *ext = cursor;
			if ((void *)(ext + 8) > data_end)
				return -PORIN_DROP_INVALID_EXTHDR;
			__u16 off = ((__u16)ext[2] << 8 | ext[3]) & 0xFFF8;
			if (off)
				return -PORIN_DROP_FRAG_NOSUPPORT;
			next = ext[0];
			cursor += 8;
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
	p->protocol = next;
	return parse_l4(p, cursor, data_end);
}

/* 0 = an IP packet parsed into p; PARSE_PASS = let it through; negative = drop reason. */
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
	case bpf_htons(ETH_P_ARP):
		return PARSE_PASS;
	default:
		return -PORIN_DROP_UNSUPPORTED_L3;
	}
}

#endif
