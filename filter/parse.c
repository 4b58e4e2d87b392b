// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "filter/parse.h"

#define IPV4_HDR_MIN	20
#define IPV6_HDR_LEN	40
#define TCP_HDR_MIN	20
#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_ACK	0x10

/* IPv6 next-header values the walk steps over. */
#define NH_HOPOPTS	0
#define NH_TCP		6
#define NH_ROUTING	43
#define NH_FRAGMENT	44
#define NH_AH		51
#define NH_DSTOPTS	60

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Does [off, off + need) fit? claimed is where the packet says it ends,
 * len where the copy we were given ends. A header past claimed is a lie —
 * unless this is a first fragment, where it goes on in the next one.
 */
static enum parse_status need(size_t off, size_t need_len, size_t claimed,
			      size_t len, bool first_fragment)
{
	if (off + need_len > claimed)
		return first_fragment ? PARSE_FRAGMENT : PARSE_MALFORMED;
	if (off + need_len > len)
		return PARSE_TRUNCATED;
	return PARSE_SYN;	/* meaning: it fits */
}

static enum parse_status parse_tcp(const uint8_t *pkt, size_t len,
				   size_t claimed, size_t off,
				   bool first_fragment, struct parse_syn *out)
{
	enum parse_status st;
	const uint8_t *tcp;
	unsigned doff;

	st = need(off, TCP_HDR_MIN, claimed, len, first_fragment);
	if (st != PARSE_SYN)
		return st;
	tcp = pkt + off;
	doff = tcp[12] >> 4;
	if (doff < 5)
		return PARSE_MALFORMED;
	st = need(off, doff * 4u, claimed, len, first_fragment);
	if (st != PARSE_SYN)
		return st;

	out->sport = be16(tcp);
	out->flow.dport = be16(tcp + 2);
	out->tcp_flags = tcp[13];
	out->l4_offset = (uint16_t)off;
	if ((tcp[13] & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
		return PARSE_SYN;
	return PARSE_NOT_SYN;
}

static enum parse_status parse_v4(const uint8_t *pkt, size_t len,
				  struct parse_syn *out)
{
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
	size_t tot;
	uint16_t frag;

	if (ihl < IPV4_HDR_MIN)
		return PARSE_MALFORMED;
	if (len < IPV4_HDR_MIN)
		return PARSE_TRUNCATED;
	tot = be16(pkt + 2);
	if (tot < ihl)
		return PARSE_MALFORMED;
	if (len < ihl)
		return PARSE_TRUNCATED;

	out->family = AF_INET;
	out->flow.src.b[10] = out->flow.src.b[11] = 0xff;
	out->flow.dst.b[10] = out->flow.dst.b[11] = 0xff;
	memcpy(&out->flow.src.b[12], pkt + 12, 4);
	memcpy(&out->flow.dst.b[12], pkt + 16, 4);

	frag = be16(pkt + 6);
	if (frag & 0x1fff)
		return PARSE_FRAGMENT;
	if (pkt[9] != IPPROTO_TCP)
		return PARSE_NOT_TCP;
	return parse_tcp(pkt, len, tot, ihl, frag & 0x2000, out);
}

static enum parse_status parse_v6(const uint8_t *pkt, size_t len,
				  struct parse_syn *out)
{
	bool first_fragment = false;
	enum parse_status st;
	size_t claimed, off, hl;
	uint16_t plen, fo;
	uint8_t nh;

	if (len < IPV6_HDR_LEN)
		return PARSE_TRUNCATED;
	plen = be16(pkt + 4);
	nh = pkt[6];
	/* Payload length 0 behind a hop-by-hop header may be a jumbogram:
	 * then only the copy bounds the walk. */
	if (plen == 0 && nh == NH_HOPOPTS)
		claimed = SIZE_MAX;
	else
		claimed = IPV6_HDR_LEN + (size_t)plen;

	out->family = AF_INET6;
	memcpy(out->flow.src.b, pkt + 8, 16);
	memcpy(out->flow.dst.b, pkt + 24, 16);

	off = IPV6_HDR_LEN;
	for (;;) {
		switch (nh) {
		case NH_TCP:
			return parse_tcp(pkt, len, claimed, off,
					 first_fragment, out);
		case NH_HOPOPTS:
		case NH_ROUTING:
		case NH_DSTOPTS:
		case NH_AH:
			/* RFC 8200: hop-by-hop only right after the header. */
			if (nh == NH_HOPOPTS && off != IPV6_HDR_LEN)
				return PARSE_MALFORMED;
			st = need(off, 2, claimed, len, first_fragment);
			if (st != PARSE_SYN)
				return st;
			if (nh == NH_AH)
				hl = ((size_t)pkt[off + 1] + 2) * 4;
			else
				hl = ((size_t)pkt[off + 1] + 1) * 8;
			st = need(off, hl, claimed, len, first_fragment);
			if (st != PARSE_SYN)
				return st;
			nh = pkt[off];
			off += hl;
			break;
		case NH_FRAGMENT:
			st = need(off, 8, claimed, len, first_fragment);
			if (st != PARSE_SYN)
				return st;
			fo = be16(pkt + off + 2);
			if (fo & 0xfff8)
				return PARSE_FRAGMENT;
			/* Offset 0 with M clear is an atomic fragment: whole. */
			first_fragment = fo & 1;
			nh = pkt[off];
			off += 8;
			break;
		default:
			return PARSE_NOT_TCP;
		}
	}
}

enum parse_status parse_syn(const uint8_t *pkt, size_t len,
			    struct parse_syn *out)
{
	memset(out, 0, sizeof(*out));
	if (len < 1)
		return PARSE_TRUNCATED;
	switch (pkt[0] >> 4) {
	case 4:
		return parse_v4(pkt, len, out);
	case 6:
		return parse_v6(pkt, len, out);
	default:
		return PARSE_MALFORMED;
	}
}

const char *parse_status_name(enum parse_status s)
{
	switch (s) {
	case PARSE_SYN:		return "syn";
	case PARSE_NOT_SYN:	return "not-syn";
	case PARSE_NOT_TCP:	return "not-tcp";
	case PARSE_FRAGMENT:	return "fragment";
	case PARSE_TRUNCATED:	return "truncated";
	case PARSE_MALFORMED:	return "malformed";
	}
	return "unknown";
}
