/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the files of netlink/rules share: the text sink, names, prefix
 * and element formatting, the entry layers. Internal to netlink/.
 */
#ifndef PORTCULLIS_RULES_INT_H
#define PORTCULLIS_RULES_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/errbuf.h"
#include "netlink/rules.h"

#define RULES_MULTIPORT_MAX	15	/* ports one -m multiport rule takes */
#define RULES_DEPTH_MAX		129	/* an IPv6 /128 under 128 others */
#define RULES_NAME_MAX		32	/* ipset's names, with the NUL */
#define RULES_PREFIX_MAX	(46 + 5)	/* "addr/len" and NUL */
#define RULES_SYN_IPT		"-p tcp --tcp-flags SYN,ACK SYN"
#define RULES_SYN_NFT		"tcp flags & (syn | ack) == syn"
/* The comment on each kernel quarantine rule: the tag, then its port
 * or "other", for reading their counters back. */
#define RULES_KQ_TAG		"portcullis quarantine port "
#define RULES_FALLBACK_TAG	"portcullis fallback since "

/* Where text goes: a FILE, or a buffer filled snprintf-style. */
struct out {
	FILE *f;
	char *buf;
	size_t len;
	size_t pos;		/* bytes of the whole text so far */
	int err;		/* first write error */
};

void outf(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The bytes written, or -1 with errno (write error, over INT_MAX). */
int out_finish(struct out *o);

/* Text built in memory (open_memstream). */
struct text {
	char *s;
	size_t len;
	FILE *f;
};
int text_open(struct text *t, struct out *o);
int text_close(struct text *t, struct out *o);
void text_free(struct text *t);


const char *rules_chain(const struct rules_desc *d);
int rules_chain_check(const char *c, char *err, size_t errlen);

/* "addr[/len]" of family in canonical text, host bits cleared, into out
 * (RULES_PREFIX_MAX). Returns 0, or -1 if malformed. */
int rules_prefix_canon(const char *s, int family, char *out, size_t outlen);

/* Order of elements: family, address, length (qsort, bsearch). */
int rules_elem_cmp(const void *a, const void *b);
/* "addr[/len]" of a family into e (no timeout). Returns 0, or -1. */
int rules_elem_parse(const char *s, bool v6, struct rules_elem *e);

/* e as "addr/len" into buf (RULES_PREFIX_MAX). */
const char *rules_elem_format(const struct rules_elem *e, char *buf,
			      size_t len);

/* Set names: C-4-D-K (entries), C-q4 / C-q6 (quarantine), C-a4 / C-a6
 * (aggregates, when there are many). */
void rules_set_name(char *buf, size_t len, const char *chain, bool v6,
		    unsigned depth, unsigned profile);
void rules_qset_name(char *buf, size_t len, const char *chain, bool v6);

/*
 * The quarantine sets the daemon keeps, by index: 0, 1 hold the
 * quarantined sources (the fallback's; in queue mode only the kernel
 * quarantine's rule for "any other port" matches them): ipset C-q4 /
 * C-q6, nft quarantine4 / quarantine6. 2, 3 hold each quarantined source
 * with each port the quarantine blocks, so that an element's counter is
 * one subscriber's SYNs to one port: native nf_tables sets with either
 * backend (iptables: kq4 / kq6 of table inet C_kq; nft: kquarantine4 /
 * kquarantine6).
 */
#define RULES_QSETS		4
#define RULES_IPSET_QSETS	2	/* of them, the iptables backend's
					 * ipsets */
void rules_qset_at(char *buf, size_t len, const char *chain, unsigned i);
static inline bool rules_qset_v6(unsigned i)
{
	return i & 1;
}
static inline bool rules_qset_ported(unsigned i)
{
	return i >= 2;
}
void rules_aset_name(char *buf, size_t len, const char *chain, bool v6);

/* Aggregates beyond this many a family are matched through a set (one
 * lookup a SYN) instead of one rule each (a walk of them all). */
#define RULES_AGG_RULES_MAX	64
bool rules_agg_in_set(const struct rules_desc *d, bool v6);

/* Which (depth, profile) pairs have entries, per family. */
struct rules_layers {
	unsigned depths;	/* deepest depth + 1 */
	size_t nprofiles;
	uint8_t *has;		/* [depth * nprofiles + profile] */
};
int rules_layers_get(const struct rules_desc *d, bool v6,
		     struct rules_layers *l);
bool rules_layer_has(const struct rules_layers *l, unsigned depth,
		     size_t profile);
void rules_layers_free(struct rules_layers *l);

/* Whether a profile name may appear in a comment as it is. */
bool rules_name_plain(const char *s);

/* Ports of one class from index *i on, sep between, at most max of them;
 * returns how many were written. */
size_t rules_port_list(struct out *o, const struct rules_desc *d,
		       bool closed, size_t *i, size_t max, const char *sep);
size_t rules_port_count(const struct rules_desc *d, bool closed);

/*
 * The iptables backend's kernel quarantine is native nf_tables: table
 * inet C_kq, a forward chain just ahead of iptables' (priority filter - 1)
 * with the relays' return and a counted rule a blocked port, looking the
 * source and port up in kq4 / kq6 (a native set lookup costs a SYN about
 * what a plain DROP rule does; ipset's match through iptables-nft's
 * compatibility layer cost a fifth of the flood rate). The "other ports"
 * rule stays in C, with C-q4 / C-q6.
 */
void rules_kq_table_name(char *buf, size_t len, const char *chain);
/* Whether d has a kernel quarantine to put in. */
bool rules_kq_wanted(const struct rules_desc *d);
/* nft -f text that makes the table as d wants it (or deletes it). */
void rules_nft_kq_table(struct out *o, const struct rules_desc *d);

/* iptables text pieces the install writes into its own transactions. */
void rules_ipt_chains(struct out *o, const struct rules_desc *d);
void rules_ipt_main(struct out *o, const struct rules_desc *d, int family,
		    bool fallback, int64_t since);
void rules_ipt_rest(struct out *o, const struct rules_desc *d, int family);
/* The FORWARD jumps, as inserted (-I FORWARD n ...). */
void rules_ipt_jumps(struct out *o, const char *chain, int family);

/* The element each of our ipset sets holds to show it was not emptied
 * (rules_canary.c), as ipset's text. */
const char *rules_canary_text(bool v6);

/* ipset: the most elements a quarantine set may take. */
#define RULES_QSET_MAXELEM	(1u << 26)
/* ipset: the most elements a set made for this many may take. */
size_t rules_ipset_maxelem(size_t elements);
/* What a set holds: prefixes (entries, aggregates), or quarantined
 * sources (IPv4 addresses, IPv6 prefixes; counted). */
enum rules_set_kind {
	RULES_SET_NET = 0,
	RULES_SET_SOURCES,
};

/* ipset: the create line of a set (without the command word). */
void rules_ipset_create(struct out *o, const char *name, bool v6,
			enum rules_set_kind kind, size_t elements);
/* "add NAME ELEM [timeout N]" lines for every element of set (v6, depth,
 * profile); an IPv4 or IPv6 /0 becomes two /1 (hash:net takes no /0). */
void rules_ipset_adds(struct out *o, const struct rules_desc *d,
		      const char *name, bool v6, unsigned depth,
		      size_t profile);
/* The same for the aggregate set of a family (rules_agg_in_set). */
void rules_ipset_agg_adds(struct out *o, const struct rules_desc *d,
			  const char *name, bool v6);

/* Elements the set (v6, depth, profile) gets. */
size_t rules_ipset_count(const struct rules_desc *d, bool v6, unsigned depth,
			 size_t profile);

/* nft: the forward chain's rules, in either mode. */
void rules_nft_forward(struct out *o, const struct rules_desc *d,
		       bool fallback, int64_t since);

/* The nf_tables ruleset generation. Returns 0, or -1 with errno. */
int rules_nft_genid(uint32_t *id);

#endif
