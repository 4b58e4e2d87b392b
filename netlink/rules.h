/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netlink/rules — the kernel ruleset that sends subscriber SYNs to the
 * queues: its text for iptables-restore, ip6tables-restore and nft, and
 * installing and removing it. Generated from a plain description; this
 * module never sees the policy.
 *
 * iptables layout (chain C, default PORTCULLIS):
 *
 *   FORWARD  -I 1: -p tcp --tcp-flags SYN,ACK SYN -j C    (rules_install)
 *   C        1. -p tcp -m mark --mark V/M -j REJECT --reject-with tcp-reset
 *            1b. -d RELAY -j RETURN, one rule per relay of the family
 *            2. SYN to a fail-closed port (multiport, 15 a rule) -j C-CLOSED
 *            3. SYN to a fail-open port                          -j C-OPEN
 *            4. with all_ports: any other SYN                    -j C-CLOSED
 *   C-CLOSED one rule per aggregate: -s P -j NFQUEUE <closed range>
 *   C-OPEN   one rule per aggregate: -s P -j NFQUEUE <open range> --queue-bypass
 *
 * Ports are tested before addresses, so a SYN to any other port costs a
 * few rule evaluations whatever the number of aggregates; a queued SYN
 * walks the aggregates of its family once (linear: fine for hundreds,
 * no ipset needed). The nft table uses interval sets instead.
 *
 * "SYN" is SYN set and ACK clear everywhere (--tcp-flags SYN,ACK SYN,
 * nft tcp flags & (syn | ack) == syn), as filter/parse counts it.
 */
#ifndef PORTCULLIS_RULES_H
#define PORTCULLIS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define RULES_CHAIN_DEFAULT	"PORTCULLIS"
#define RULES_NFT_TABLE		"portcullis"	/* table inet portcullis */

struct rules_port {
	uint16_t port;
	bool fail_closed;	/* queue without bypass: no daemon, no port */
};

struct rules_desc {
	const char *chain;		/* NULL: RULES_CHAIN_DEFAULT; letters,
					 * digits, '_', at most 21 bytes */
	const char *const *v4;		/* IPv4 aggregates, "a.b.c.d/len" */
	size_t nv4;
	const char *const *v6;		/* IPv6 aggregates, "x:y::/len" */
	size_t nv6;
	/* Relays: SYNs to them return before any queue rule, so the ISP's
	 * own relays stay reachable even with no daemon. */
	const char *const *relays4;	/* IPv4 addresses */
	size_t nrelays4;
	const char *const *relays6;	/* IPv6 addresses */
	size_t nrelays6;
	const struct rules_port *ports;	/* each port once */
	size_t nports;
	bool all_ports;			/* also queue SYNs to every other
					 * port, fail-closed (a profile whose
					 * default blocks) */
	uint16_t closed_first;		/* fail-closed queues, balanced */
	uint16_t closed_last;
	uint16_t open_first;		/* fail-open queues, balanced; must */
	uint16_t open_last;		/* not overlap the fail-closed ones */
	uint32_t reject_mark;		/* packets with mark & mask == value */
	uint32_t reject_mask;		/* are rejected with a TCP reset */
};

enum rules_backend {
	RULES_IPTABLES = 0,	/* iptables-restore + ip6tables-restore */
	RULES_NFT,		/* nft -f - */
};

/*
 * Validate d. Returns 0, or -1 with errno EINVAL and what is wrong in err
 * (errlen bytes, may be 0). Prefixes with host bits set are accepted and
 * written masked.
 */
int rules_check(const struct rules_desc *d, char *err, size_t errlen);

/*
 * Write iptables-restore input for family (AF_INET: iptables, AF_INET6:
 * ip6tables): "*filter", the chains, the rules, "COMMIT". The FORWARD
 * jump is not part of it (rules_install adds it). Returns the bytes
 * written, or -1 with errno (EINVAL and err for a bad description).
 */
int rules_iptables_write(FILE *f, const struct rules_desc *d, int family,
			 char *err, size_t errlen);

/* As rules_iptables_write into buf of len bytes, NUL-terminated, cut if
 * too small; returns the length of the whole text as snprintf does. */
int rules_iptables_format(char *buf, size_t len, const struct rules_desc *d,
			  int family, char *err, size_t errlen);

/*
 * Write an nft script that replaces table inet portcullis whole and
 * atomically (it starts by deleting the table if it exists): sets of the
 * aggregates and ports, one chain hooked at forward, priority filter.
 * Returns the bytes written, or -1 with errno.
 */
int rules_nft_write(FILE *f, const struct rules_desc *d,
		    char *err, size_t errlen);

/* As rules_nft_write into buf; returns the whole text's length. */
int rules_nft_format(char *buf, size_t len, const struct rules_desc *d,
		     char *err, size_t errlen);

/*
 * Install the ruleset, replacing one left by an earlier run (after a
 * crash): iptables: per family one iptables-restore --noflush transaction
 * that (re)creates the chains, deletes any FORWARD rule jumping to the
 * chain, and inserts the jump as FORWARD's first rule. nft: nft -f -.
 * Tools are run with posix_spawn, never a shell. Returns 0, or -1 with
 * errno (EPROTO: the tool ran and failed) and the tool's message in err. For iptables the IPv4 ruleset may
 * be in place when the IPv6 one fails.
 */
int rules_install(const struct rules_desc *d, enum rules_backend backend,
		  char *err, size_t errlen);

/*
 * Remove what rules_install made for chain (NULL: the default): the
 * FORWARD jumps to it and its chains, or the nft table; nothing else.
 * Nothing installed is no error. Returns 0, or -1 with errno and err;
 * a failed removal changes nothing (one transaction per family).
 */
int rules_remove(const char *chain, enum rules_backend backend,
		 char *err, size_t errlen);

#endif
