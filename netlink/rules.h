/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netlink/rules — the kernel side: the ruleset that sends subscriber SYNs
 * to the queues, the rules that keep fragments from carrying a SYN past
 * them, and the fallback that applies the last policy to the ports it
 * names while no daemon runs, with the kernel sets behind it (ipset for the
 * iptables backend, nft sets for nft). Their text, and installing,
 * switching, checking and removing them. Generated from a plain
 * description; this module never sees the policy.
 *
 * iptables layout, per family (chain C, default PORTCULLIS):
 *
 *   FORWARD 1. -p tcp --tcp-flags SYN,ACK SYN -j C
 *           2. a fragment (IPv4: TCP with MF or an offset; IPv6: any
 *              packet with a fragment header)                -j C-FRAG
 *   C-FRAG  -s AGGREGATE -j C-FRAGS, one rule per aggregate
 *   C-FRAGS what could carry a SYN past the rules is dropped: IPv4 TCP
 *           first fragments too short for the TCP header (under 80
 *           bytes: 60 of IP header at most, 20 of TCP), fragments at
 *           offset 1 or 2 (they would overwrite the first fragment's TCP
 *           header: RFC 1858); IPv6 fragments that also carry hop-by-hop,
 *           routing, destination-options or AH headers (they can push the
 *           TCP header out of the first fragment), at offset 1 or 2, and
 *           TCP first fragments under 68 bytes. A first fragment that
 *           holds the whole header is a SYN like any other below.
 *   C       1. mark V/M -j REJECT --reject-with tcp-reset
 *           2. -d RELAY -j RETURN, one rule per relay of the family
 *           3. queue mode, with kernel_quarantine and all_ports: a
 *              quarantined source's SYN to the ports the quarantine does
 *              not accept, through C-q4 / C-q6 src (the ports it blocks by
 *              name: the nf_tables table C_kq, ahead of this chain).
 *              Then: SYN to a fail-closed port
 *              (multiport, 15 a rule)
 *              -j C-CLOSED; to a fail-open port -j C-OPEN; with all_ports
 *              any other SYN -j C-CLOSED.
 *              fallback mode, instead: -m comment --comment "portcullis
 *              fallback since UNIXTIME" -j C-FB
 *   C-CLOSED one rule per aggregate: -s P -j NFQUEUE <closed range>
 *   C-OPEN   one rule per aggregate: -s P -j NFQUEUE <open range> --queue-bypass
 *   C-FB    quarantined sources (set C-q4 / C-q6) -j C-QP; the named
 *           ports (all_ports: every port) -j C-FBC. Empty in monitor
 *           mode: everything passes.
 *   C-FBC   the entries, deepest first: -m set --match-set C-F-D-K src
 *           -j C-PK, one rule per family F, depth D and profile K that
 *           has entries; a source in none of them is no live subscriber.
 *   C-PK    profile K: its action for each named port, then its default
 *           (so 465 and 587 pass for a profile that accepts them, and a
 *           profile that blocks one is held there too).
 *   C-QP    the detection profile: its action for each named port, then
 *           its default.
 *
 * C_kq    (nf_tables, table inet C_kq, only with kernel_quarantine) a
 *         forward chain at priority filter - 1, just ahead of iptables':
 *         relays return, then for each port the quarantine blocks a
 *         counted rule looking the source and port up in kq4 / kq6 (each
 *         quarantined source with each such port, its element's counter
 *         that source's blocked SYNs to that port). Removed while the
 *         fallback is in.
 *
 * Depth is the number of entries that enclose an entry, so the deepest
 * set an address is in names its longest matching prefix, and an entry
 * whose element times out (its `expires`) leaves its parent's to decide,
 * as the policy does — with no daemon to say so.
 *
 * Ports are tested before addresses, so a SYN to any other port costs a
 * few rule evaluations whatever the number of aggregates; a queued SYN
 * walks the aggregates of its family once. The nft table is the same in
 * nft's terms: interval sets for the aggregates, verdict maps by depth.
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

#include "common/rules_desc.h"

enum rules_backend {
	RULES_IPTABLES = 0,	/* iptables-restore, ip6tables-restore, ipset */
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
 * ip6tables): "*filter", the chains, the rules in queue mode, "COMMIT".
 * The FORWARD jumps are not part of it (the install adds them), nor are
 * the sets (rules_ipset_write). Returns the bytes written, or -1 with
 * errno (EINVAL and err for a bad description).
 */
int rules_iptables_write(FILE *f, const struct rules_desc *d, int family,
			 char *err, size_t errlen);

/* As rules_iptables_write into buf of len bytes, NUL-terminated, cut if
 * too small; returns the length of the whole text as snprintf does. */
int rules_iptables_format(char *buf, size_t len, const struct rules_desc *d,
			  int family, char *err, size_t errlen);

/*
 * Write `ipset restore` input that creates (if missing), empties and
 * fills the iptables backend's sets: the fallback's entries and the
 * quarantine sets (left empty: the daemon fills them). Returns the bytes
 * written, or -1 with errno.
 */
int rules_ipset_write(FILE *f, const struct rules_desc *d,
		      char *err, size_t errlen);

/*
 * Write an nft script that replaces table inet portcullis whole and
 * atomically (it starts by deleting the table if it exists), in queue
 * mode. Returns the bytes written, or -1 with errno.
 */
int rules_nft_write(FILE *f, const struct rules_desc *d,
		    char *err, size_t errlen);

/* As rules_nft_write into buf; returns the whole text's length. */
int rules_nft_format(char *buf, size_t len, const struct rules_desc *d,
		     char *err, size_t errlen);

/* --- the kernel ------------------------------------------------------ */

/* What this process put in the kernel, to switch, check and sync it. */
struct rules_kernel;

/* For chain (NULL: the default) and backend. Returns NULL with errno. */
struct rules_kernel *rules_kernel_new(const char *chain,
				      enum rules_backend backend);
/* NULL-safe; changes nothing in the kernel. */
void rules_kernel_free(struct rules_kernel *k);

/* What the fallback judged while no daemon ran. */
struct rules_fallback_counts {
	bool active;			/* the fallback rules are in */
	int64_t since;			/* UNIX seconds they went in */
	uint64_t accepted, dropped, rejected;	/* SYNs, both families */
};

/* Read the fallback's state and counters from the kernel (before
 * rules_install resets them). Nothing installed is no error (active
 * false). Returns 0, or -1 with errno and err. */
int rules_fallback_read(struct rules_kernel *k,
			struct rules_fallback_counts *c,
			char *err, size_t errlen);

/*
 * Install d in queue mode, replacing what an earlier run left (its
 * queue or fallback rules, after a crash or a clean stop) in one
 * transaction per family, so no SYN ever meets neither. The sets are
 * filled first (ipset: each in a new set swapped in whole; nft: in the
 * same transaction) and only when their content changed since the last
 * install. Tools run with posix_spawn, never a shell. Returns 0, or -1
 * with errno (EPROTO: a tool ran and failed) and the tool's message in
 * err; what was in the kernel before stays for the family that failed.
 */
int rules_install(struct rules_kernel *k, const struct rules_desc *d,
		  char *err, size_t errlen);

/*
 * Swap the queue rules for the fallback rules of d (as last installed)
 * in one transaction per family, stamped with since (UNIX seconds).
 * Returns 0, or -1 with errno and err.
 */
int rules_to_fallback(struct rules_kernel *k, const struct rules_desc *d,
		      int64_t since, char *err, size_t errlen);

/*
 * Check that what the last install put in is still there: the FORWARD
 * jumps, every chain and rule as the kernel printed them after the
 * install, every set (ipset) still holding the canary element it was
 * made with (so not flushed or destroyed) and, with full, no fewer
 * elements than are still alive. With full false, the rules are read only
 * when the kernel's ruleset generation moved (nf_tables; iptables-legacy
 * is read each time).
 * Returns 0 when intact, 1 when something is missing or changed (what,
 * whatlen: what), -1 when the kernel could not be read (errno, what).
 */
int rules_verify(struct rules_kernel *k, bool full, int64_t now,
		 char *what, size_t whatlen);

/* Whether elements cut to RULES_TIMEOUT_MAX are near running out in the
 * kernel: then the next rules_install (with a description built now)
 * fills the sets again. */
bool rules_refill_due(const struct rules_kernel *k, int64_t now);

/*
 * Make the quarantine sets hold exactly q[0 .. n): each element with its
 * timeout; only the difference from the last call goes to the kernel.
 * Returns 0, or -1 with errno and err (the next call tries again).
 */
int rules_quarantine_sync(struct rules_kernel *k, const struct rules_elem *q,
			  size_t n, int64_t now, char *err, size_t errlen);

/* A quarantined source's SYNs to one port the kernel blocked since the
 * last read. */
struct rules_qcount {
	struct rules_elem e;		/* as rules_quarantine_sync had it */
	uint16_t port;			/* 0: any port the rules do not name */
	uint8_t action;			/* enum rules_action: drop or reject */
	uint64_t packets;
};

/*
 * Read the quarantine sets' element counters over netlink (ipset: an
 * IPSET_CMD_LIST dump a set; nft: NFT_MSG_GETSETELEM; whatever their
 * size, no tool is run). In *out (malloc'd,
 * the caller frees; NULL when *n is 0), each element whose counter moved
 * since the last read or since it was added, with by how much. Returns 0,
 * or -1 with errno and err (nothing is counted twice: the next call reads
 * from where this one could not).
 */
int rules_quarantine_counts(struct rules_kernel *k, struct rules_qcount **out,
			    size_t *n, char *err, size_t errlen);

/*
 * Remove everything the installs made for chain (NULL: the default): the
 * FORWARD jumps, the chains and the sets, or the nft table; nothing
 * else. Nothing installed is no error. Returns 0, or -1 with errno and
 * err; a failed removal leaves the family's rules as they were (one
 * transaction per family).
 */
int rules_remove(const char *chain, enum rules_backend backend,
		 char *err, size_t errlen);

#endif
