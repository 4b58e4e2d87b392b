/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter/parse — the packet parser: the bytes NFQUEUE hands over (an IPv4
 * or IPv6 packet, cut at the queue's copy range) into the flow that
 * policy_decide() judges. Reads nothing past len, allocates nothing, keeps
 * no state: safe from any number of threads.
 */
#ifndef PORTCULLIS_PARSE_H
#define PORTCULLIS_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

enum parse_status {
	PARSE_SYN = 0,		/* TCP, SYN set and ACK clear: out is whole */
	PARSE_NOT_SYN,		/* TCP, but not an opening SYN */
	PARSE_NOT_TCP,		/* no TCP header follows the IP headers */
	PARSE_FRAGMENT,		/* a non-first fragment, or a first one
				 * whose TCP header is not in it */
	PARSE_TRUNCATED,	/* the headers go on past len (copy range) */
	PARSE_MALFORMED,	/* the headers contradict themselves */
};

struct parse_syn {
	struct policy_flow flow;	/* src, dst (IPv4 as ::ffff:a.b.c.d), dport */
	uint16_t sport;
	uint8_t family;			/* AF_INET or AF_INET6; 0 if unknown */
	uint8_t tcp_flags;		/* the TCP flags byte (FIN .. CWR) */
	uint16_t l4_offset;		/* where the TCP header starts */
};

/*
 * Parse the IP packet pkt[0 .. len). Returns the status; out is zeroed
 * first and then filled as far as the packet allows: family and addresses
 * for every status but TRUNCATED/MALFORMED before the addresses, ports
 * and flags for SYN and NOT_SYN.
 *
 * An IPv4 total length or IPv6 payload length beyond len is normal (the
 * queue copies only the headers); one that leaves no room for the headers
 * it announces is MALFORMED. The whole TCP header, options included, must
 * be within len, otherwise TRUNCATED.
 */
enum parse_status parse_syn(const uint8_t *pkt, size_t len,
			    struct parse_syn *out);

/* "syn", "not-syn", "not-tcp", "fragment", "truncated", "malformed". */
const char *parse_status_name(enum parse_status s);

#endif
