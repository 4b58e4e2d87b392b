/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel ruleset as plain data: which aggregates and ports go to
 * which queues, the relays that skip them, and the fallback that judges
 * the named ports while no daemon runs. policy/ruleset builds it from a
 * policy; netlink/rules writes it as iptables, ipset and nft text and
 * installs it. Neither side sees the other's headers: this one is the
 * contract between them.
 */
#ifndef PORTCULLIS_RULES_DESC_H
#define PORTCULLIS_RULES_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_CHAIN_DEFAULT	"PORTCULLIS"
#define RULES_NFT_TABLE		"portcullis"	/* table inet portcullis */
#define RULES_CHAIN_MAX		16	/* so every chain and set name fits */
#define RULES_TIMEOUT_MAX	2147483u	/* ipset's longest, seconds */

struct rules_port {
	uint16_t port;
	bool fail_closed;	/* queue without bypass: no daemon, no port */
};

/* What the fallback does with a SYN; numbered as enum policy_action. */
enum rules_action {
	RULES_ACCEPT = 0,
	RULES_DROP,
	RULES_REJECT,
};

/* A profile as the fallback applies it. */
struct rules_profile {
	const char *name;		/* shown in a rule comment when it is
					 * letters, digits, '.', '-', '_' */
	const uint8_t *action;		/* enum rules_action per port of the
					 * description, in its order */
	uint8_t other;			/* every port it does not list */
};

/* A kernel set element: an address or prefix, with its lifetime. */
struct rules_elem {
	uint8_t addr[16];		/* network order; IPv4 in addr[0..3] */
	uint8_t len;			/* prefix length in its family */
	bool v6;
	uint32_t timeout;		/* seconds from now; 0: none. At most
					 * RULES_TIMEOUT_MAX */
};

/* A subscriber entry for the fallback. */
struct rules_entry {
	struct rules_elem e;
	uint16_t depth;			/* entries enclosing it (0: aggregate) */
	uint16_t profile;		/* index into profiles */
};

struct rules_desc {
	const char *chain;		/* NULL: RULES_CHAIN_DEFAULT; letters,
					 * digits, '_', at most RULES_CHAIN_MAX */
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
	bool kernel_quarantine;		/* queue mode too: SYNs from the
					 * quarantine sets to the ports the
					 * quarantine blocks are dropped or
					 * rejected before the queues, each
					 * port's rule and each element
					 * counting them */
	uint32_t reject_mark;		/* packets with mark & mask == value */
	uint32_t reject_mask;		/* are rejected with a TCP reset */

	/* The fallback. */
	bool monitor;			/* it accepts everything */
	const struct rules_profile *profiles;
	size_t nprofiles;
	const struct rules_profile *quarantine;	/* what held sources may
					 * do (decision rule 3, as policy/
					 * decides it); NULL: no quarantine */
	const struct rules_entry *entries;	/* both families */
	size_t nentries;
	int64_t now;			/* UNIX seconds the timeouts count
					 * from (what changed is told from
					 * their ends, not their lengths) */
};

/* A rejected SYN goes back to the kernel (NF_REPEAT) with this mark bit,
 * and the chain's first rule answers it with a TCP reset. */
#define RULES_REJECT_MARK	0x40000000u

#endif
