// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules: the kernel quarantine's counters read back. Each element
 * of the sets keyed by source and port (nf_tables, rules_nftcount.c)
 * counts one source's SYNs to one port that the kernel blocked (the rule
 * tests the port before the set, so nothing else moves it), and of the
 * sources' sets (ipset C-q4 / C-q6, nft quarantine4 / quarantine6) its
 * SYNs to any other port when the quarantine blocks those (in queue mode
 * nothing else matches them). One dump a set over netlink gives them
 * all: no tool to run and parse each second, however many subscribers
 * are held.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nfnetlink.h>

#include "common/errbuf.h"
#include "netlink/rules_kern.h"

struct dump {
	bool v6;
	bool ported;			/* a C-k set: source and TCP port */
	struct qelem *v;
	size_t n, cap;
	int err;			/* errno of a failure inside a callback */
};

static int data_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int t = mnl_attr_get_type(a);

	if (t > 0 && t <= IPSET_ATTR_ADT_MAX)
		tb[t] = a;
	return MNL_CB_OK;
}

/* One IPSET_ATTR_DATA: the address, its prefix, its counter. */
static int element(struct dump *dp, const struct nlattr *data)
{
	const struct nlattr *tb[IPSET_ATTR_ADT_MAX + 1] = { 0 }, *ip;
	size_t alen = dp->v6 ? 16 : 4;
	struct qelem s = { .e = { .v6 = dp->v6, .len = dp->v6 ? 128 : 32 } };

	if (mnl_attr_parse_nested(data, data_attr, tb) < 0 ||
	    !tb[IPSET_ATTR_IP])
		return 0;	/* not an element we could have made */
	ip = mnl_attr_get_payload(tb[IPSET_ATTR_IP]);
	if (mnl_attr_get_payload_len(tb[IPSET_ATTR_IP]) < sizeof(*ip) ||
	    !mnl_attr_ok(ip, (int)mnl_attr_get_payload_len(tb[IPSET_ATTR_IP])) ||
	    mnl_attr_get_payload_len(ip) != alen)
		return 0;
	memcpy(s.e.addr, mnl_attr_get_payload(ip), alen);
	if (tb[IPSET_ATTR_CIDR] &&
	    mnl_attr_validate(tb[IPSET_ATTR_CIDR], MNL_TYPE_U8) == 0)
		s.e.len = mnl_attr_get_u8(tb[IPSET_ATTR_CIDR]);
	/* Ours are TCP ports, and each has its counter: anything else
	 * (added by hand) is nobody's, and must not be taken for one of
	 * ours with a count of zero. */
	if (dp->ported) {
		if (!tb[IPSET_ATTR_PORT] || !tb[IPSET_ATTR_PROTO] ||
		    mnl_attr_validate(tb[IPSET_ATTR_PORT], MNL_TYPE_U16) < 0 ||
		    mnl_attr_validate(tb[IPSET_ATTR_PROTO], MNL_TYPE_U8) < 0 ||
		    mnl_attr_get_u8(tb[IPSET_ATTR_PROTO]) != IPPROTO_TCP)
			return 0;
		s.port = ntohs(mnl_attr_get_u16(tb[IPSET_ATTR_PORT]));
	}
	if (!tb[IPSET_ATTR_PACKETS] ||
	    mnl_attr_validate(tb[IPSET_ATTR_PACKETS], MNL_TYPE_U64) < 0)
		return 0;
	s.packets = be64toh(mnl_attr_get_u64(tb[IPSET_ATTR_PACKETS]));
	if (dp->n == dp->cap) {
		size_t cap = dp->cap ? dp->cap * 2 : 256;
		struct qelem *v = realloc(dp->v, cap * sizeof(*v));

		if (!v)
			return -1;
		dp->v = v;
		dp->cap = cap;
	}
	dp->v[dp->n++] = s;
	return 0;
}

static int top_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int t = mnl_attr_get_type(a);

	if (t > 0 && t <= IPSET_ATTR_CMD_MAX)
		tb[t] = a;
	return MNL_CB_OK;
}

static int list_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[IPSET_ATTR_CMD_MAX + 1] = { 0 };
	struct nlattr *a;	/* not const: mnl_attr_for_each_nested casts */
	struct dump *dp = data;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), top_attr, tb) < 0)
		return MNL_CB_ERROR;
	if (!tb[IPSET_ATTR_ADT])
		return MNL_CB_OK;	/* the set's header */
	mnl_attr_for_each_nested(a, tb[IPSET_ATTR_ADT]) {
		if (mnl_attr_get_type(a) != IPSET_ATTR_DATA)
			continue;
		if (element(dp, a) < 0) {
			dp->err = ENOMEM;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_OK;
}

/* Every element of set, with its counter, into dp. */
static int list_set(const char *set, struct dump *dp, char *err,
		    size_t errlen)
{
	struct rules_nl n;
	struct nlmsghdr *nlh;
	int ret = -1;

	if (rules_nl_open(&n) < 0) {
		errbuf_set(err, errlen, "%s: netlink: %s", set,
			   strerror(errno));
		return -1;
	}
	nlh = rules_nl_request(&n, (NFNL_SUBSYS_IPSET << 8) | IPSET_CMD_LIST,
			       NLM_F_DUMP, AF_UNSPEC);
	mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL);
	mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, set);
	if (rules_nl_run(&n, nlh, list_msg, dp) < 0) {
		int e = dp->err ? dp->err : errno;

		errbuf_set(err, errlen, "%s: listing its counters: %s", set,
			   strerror(e));
		errno = e;
		goto out;
	}
	ret = 0;
out:
	rules_nl_close(&n);
	return ret;
}

/*
 * nft: set qs of table inet portcullis into dp. The sources' IPv6 set is
 * a plain interval set, whose elements do not carry their end: they take
 * the prefix length the daemon's IPv6 elements all have.
 */
static int nft_list(const struct rules_kernel *k, unsigned qs,
		    struct dump *dp, char *err, size_t errlen)
{
	char table[RULES_NAME_MAX], set[RULES_NAME_MAX];
	struct qelem *want;
	size_t n, m = 0;
	int r;

	rules_qset_nft(k, qs, table, set);
	if (!dp->ported) {
		if (rules_nft_set_counts(table, set, dp->v6, false, &dp->v,
					 &n, err, errlen) < 0)
			return -1;
		goto got;
	}
	/* The big ones: each of ours looked up, not the set walked. */
	want = calloc(k->nq ? k->nq : 1, sizeof(*want));
	if (!want) {
		errbuf_set(err, errlen, "quarantine counters: out of memory");
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < k->nq; i++)
		if (k->q[i].port && k->q[i].e.v6 == dp->v6)
			want[m++] = k->q[i];
	r = rules_nft_set_get(table, set, dp->v6, true, want, m, &dp->v, &n,
			      err, errlen);
	free(want);
	if (r < 0)
		return -1;
got:
	dp->n = dp->cap = n;
	if (dp->v6 && !dp->ported)
		for (size_t i = 0; i < k->nq; i++)
			if (k->q[i].e.v6) {
				for (size_t j = 0; j < n; j++)
					dp->v[j].e.len = k->q[i].e.len;
				break;
			}
	return 0;
}

int rules_quarantine_counts(struct rules_kernel *k, struct rules_qcount **out,
			    size_t *n, char *err, size_t errlen)
{
	struct dump dp[RULES_QSETS] = {
		{ .v6 = false }, { .v6 = true },
		{ .v6 = false, .ported = true }, { .v6 = true, .ported = true },
	};
	struct rules_qcount *res = NULL;
	char name[RULES_NAME_MAX];
	size_t nres = 0;
	bool ported = false;
	int ret = -1;

	*out = NULL;
	*n = 0;
	if (errlen)
		err[0] = '\0';
	if (!k->nq)
		return 0;
	/* Every set that holds elements of ours with a count to read:
	 * after a reload the elements of a port no longer blocked are
	 * there until the next sync, with what the old rule counted. */
	for (size_t i = 0; i < k->nq; i++)
		ported |= k->q[i].port != 0;
	for (unsigned qs = 0; qs < RULES_QSETS; qs++) {
		if (rules_qset_ported(qs) ? !ported :
		    !k->kother && !k->kother_was)
			continue;
		if (k->backend == RULES_NFT || rules_qset_ported(qs)) {
			if (nft_list(k, qs, &dp[qs], err, errlen) < 0)
				goto out;
		} else {
			rules_qset_at(name, sizeof(name), k->chain, qs);
			if (list_set(name, &dp[qs], err, errlen) < 0)
				goto out;
		}
		if (dp[qs].n)	/* qsort takes no NULL, even for none */
			qsort(dp[qs].v, dp[qs].n, sizeof(*dp[qs].v),
			      rules_qelem_cmp);
	}
	res = calloc(k->nq, sizeof(*res));
	if (!res) {
		errbuf_set(err, errlen, "quarantine counters: out of memory");
		errno = ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < k->nq; i++) {
		struct qelem *q = &k->q[i];
		const struct dump *d = &dp[(q->port ? 2 : 0) + q->e.v6];
		const struct qelem *s;

		s = d->n ? bsearch(q, d->v, d->n, sizeof(*d->v),
				   rules_qelem_cmp) : NULL;
		if (!s)
			continue;	/* timed out, not in yet, not read */
		/* Fewer than last time: the element was made anew. */
		if (s->packets < q->packets)
			q->packets = 0;
		if (s->packets == q->packets)
			continue;
		res[nres].e = q->e;
		res[nres].port = q->port;
		res[nres].action = q->action;
		res[nres++].packets = s->packets - q->packets;
		q->packets = s->packets;
	}
	if (nres) {
		*out = res;
		res = NULL;
	}
	*n = nres;
	k->kother_was = false;
	ret = 0;
out:
	free(res);
	for (unsigned qs = 0; qs < RULES_QSETS; qs++)
		free(dp[qs].v);
	return ret;
}
