/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel half of netlink/rules: what rules_kernel.c (install, switch,
 * remove), rules_sets.c (ipset), rules_verify.c (checks, the fallback's
 * counters), rules_quarantine.c and rules_tools.c (running the tools)
 * share. Internal to netlink/.
 */
#ifndef PORTCULLIS_RULES_KERN_H
#define PORTCULLIS_RULES_KERN_H

#include <libmnl/libmnl.h>

#include "netlink/rules_int.h"

#define WAIT_ARG	"--wait=5"	/* for the xtables lock (legacy) */
#define VERIFY_SLACK_S	2		/* kernel timeouts are not to the ms */

/* An element as the kernel holds it: when its timeout ends. */
struct qelem {
	struct rules_elem e;
	int64_t until;			/* UNIX seconds; 0: never */
	uint64_t packets;		/* its counter when last read */
	uint16_t port;			/* quarantine: the port-keyed sets'
					 * (C-k4, C-k6); 0: C-q4, C-q6 */
	uint8_t action;			/* ... the kernel's for that port
					 * (0: "other ports") */
};

/* Order of quarantine elements: set (port 0 first), then as
 * rules_elem_cmp. */
int rules_qelem_cmp(const void *a, const void *b);

/* A set as the last fill left it: its elements (sorted, the canary
 * aside), to send only what changed next time, and their ends, to tell
 * how many must still be there at a later time. */
struct set_expect {
	char name[RULES_NAME_MAX];
	bool v6;
	struct qelem *elems;
	size_t nelems;
	size_t maxelem;			/* as it was made */
	bool lost;			/* the check found it changed: what it
					 * holds is unknown, the next fill
					 * makes it anew */
	size_t perm;			/* elements that never time out */
	int64_t *ends;			/* UNIX seconds, ascending */
	size_t nends;
};

struct rules_kernel {
	char chain[RULES_CHAIN_MAX + 1];
	enum rules_backend backend;
	bool legacy;			/* iptables-legacy: no generation */
	bool installed;
	uint64_t sets_hash;		/* content of the last fill */
	bool sets_filled;
	int64_t refill_at;		/* an element cut to the longest
					 * timeout needs renewing (0: none) */
	char *ref[3];			/* our rules as the kernel printed
					 * them: [0] IPv4 (or nft), [1] IPv6,
					 * [2] the iptables backend's kernel
					 * quarantine table (NULL: none) */
	uint32_t genid;
	bool genid_ok;
	struct set_expect *sets;
	size_t nsets;
	struct qelem *q;		/* the quarantine sets, sorted */
	size_t nq;
	bool qknown;			/* the sets hold q and nothing else:
					 * false until the first sync, which
					 * empties them of what an earlier
					 * run left (its quarantines are not
					 * this one's to enforce) */
	/* The kernel quarantine as last installed: each source goes into
	 * C-k4 / C-k6 with each of these ports, whose action is kact. */
	uint16_t *kports;		/* malloc'd */
	uint8_t *kact;
	size_t nkports;
	bool kother;			/* C-q4 / C-q6 count "other ports",
					 * whose action is kother_act */
	bool kother_was;		/* ... or did, since the last read */
	uint8_t kother_act;
};

/* What the filter table of one family holds of ours. */
struct ipt_state {
	char *save;			/* iptables -S output; lines point in */
	char **jumps;			/* "-A FORWARD ... -j C[-FRAG]" */
	size_t njumps;
	char **chains;			/* our chain names */
	size_t nchains;
	char *ours;			/* our lines, in order, for checking */
};


bool rules_is_digits(const char *s);
bool rules_our_set(const char *c, const char *n);
void rules_ipt_state_free(struct ipt_state *st);
int rules_ipt_state_read(struct ipt_state *st, const char *c, int family,
			  char *err, size_t errlen);
int rules_ipt_restore(int family, const char *text, size_t len,
		       char *err, size_t errlen);
int rules_nft_run(const char *script, size_t len, char *err, size_t errlen);
int rules_ipset_restore(const char *script, size_t len, char *err,
			 size_t errlen);
int rules_ipset_names(char **out, char *err, size_t errlen);
bool rules_name_in(const char *names, const char *name);
int rules_nft_listing(const char *chain, char **out, char *err,
		       size_t errlen);
/* nft -t list table inet TABLE, counters' figures left out. */
int rules_nft_table_listing(const char *table, char **out, char *err,
			    size_t errlen);
/* Delete table inet TABLE if it is there. */
int rules_nft_table_delete(const char *table, char *err, size_t errlen);
void rules_sets_free(struct rules_kernel *k);
/* Note the kernel quarantine of d (as it is about to be installed) in
 * k. Returns 0, or -1 with errno ENOMEM (k as it was). */
int rules_kq_note(struct rules_kernel *k, const struct rules_desc *d);
uint64_t rules_sets_hash(const struct rules_desc *d);
int64_t rules_refill_time(const struct rules_desc *d);
bool rules_refill_due(const struct rules_kernel *k, int64_t now);
size_t rules_expect_alive(const struct set_expect *s, int64_t t);
int rules_ipset_fill(struct rules_kernel *k, const struct rules_desc *d,
		      char *err, size_t errlen);
int rules_ipset_prune(struct rules_kernel *k, const struct rules_desc *d,
		       char *err, size_t errlen);

/* One netfilter netlink exchange at a time on a socket of its own. */
struct rules_nl {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	char *buf;			/* requests and replies */
	size_t size;
};
/* Returns 0, or -1 with errno. */
int rules_nl_open(struct rules_nl *n);
void rules_nl_close(struct rules_nl *n);	/* NULL-safe members */
/* A request of type with flags (NLM_F_REQUEST added) and its nfgenmsg
 * for family, in n's buffer, with the next sequence number. */
struct nlmsghdr *rules_nl_request(struct rules_nl *n, uint16_t type,
				  uint16_t flags, uint8_t family);
/* Send nlh and run cb over the replies to the dump's end or the ack.
 * Returns MNL_CB_STOP, or -1 with errno (the kernel's, or cb's). */
int rules_nl_run(struct rules_nl *n, const struct nlmsghdr *nlh,
		 mnl_cb_t cb, void *data);

/* Quarantine set qs as nf_tables names it: table (inet) and set, for the
 * sets of either backend that are nft's (RULES_NAME_MAX bytes each). */
void rules_qset_nft(const struct rules_kernel *k, unsigned qs, char *table,
		    char *set);

/* nft (rules_nftcount.c): every element of set (of table inet table)
 * with its counter into *v (malloc'd, *n of them): address, prefix
 * length (IPv6: from the range's ends), port when ported. Returns 0, or
 * -1 with errno and err. */
int rules_nft_set_counts(const char *table, const char *set, bool v6,
			 bool ported, struct qelem **v, size_t *n, char *err,
			 size_t errlen);

/* As rules_nft_set_counts, for the elements want[0 .. nwant) only (in
 * their order; one missing is left out): gets in batches, each element
 * looked up, where a dump costs nf_tables n^2 (it walks the set again
 * from its start for each message). */
int rules_nft_set_get(const char *table, const char *set, bool v6,
		      bool ported, const struct qelem *want, size_t nwant,
		      struct qelem **v, size_t *n, char *err, size_t errlen);

/* The canaries (rules_canary.c): the element each of our sets holds,
 * as ipset's text, and asking the kernel whether a set still has it. */
struct rules_canary;
/* Returns 0, or -1 with errno. */
int rules_canary_open(struct rules_canary **c);
void rules_canary_close(struct rules_canary *c);
/* 1: set holds its canary; 0: it does not (flushed, destroyed); -1 with
 * errno: the kernel could not be asked. */
int rules_canary_test(struct rules_canary *c, const char *set, bool v6);

#endif
