// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules: the kernel quarantine's nf_tables counters read back
 * (either backend's sets keyed by source and port, the nft backend's
 * sources' sets). One NFT_MSG_GETSETELEM dump of a set gives every
 * element with its counter expression: no nft to run and parse each
 * second.
 *
 * Keys are the set's registers: an IPv4 address (4 bytes), with a port
 * (a 4-byte register, the port's 2 bytes first) for the sets keyed by
 * source and port. IPv6 sources are ranges (flags interval): the element
 * carries its first and last key, whose common leading bits are the
 * prefix length.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netlink/rules_kern.h"

struct nft_dump {
	bool v6, ported;
	struct qelem *v;
	size_t n, cap;
	int err;
};

struct tb {
	const struct nlattr **a;
	int max;
};

static int put_attr(const struct nlattr *a, void *data)
{
	struct tb *tb = data;
	int t = mnl_attr_get_type(a);

	if (t > 0 && t <= tb->max)
		tb->a[t] = a;
	return MNL_CB_OK;
}

static int nested(const struct nlattr *a, const struct nlattr **out, int max)
{
	struct tb tb = { out, max };

	memset(out, 0, sizeof(*out) * (size_t)(max + 1));
	return mnl_attr_parse_nested(a, put_attr, &tb);
}

/* NFTA_DATA_VALUE of a key attribute: its bytes, or NULL. */
static const uint8_t *key_value(const struct nlattr *key, size_t *len)
{
	const struct nlattr *d[NFTA_DATA_MAX + 1];

	if (!key || nested(key, d, NFTA_DATA_MAX) < 0 || !d[NFTA_DATA_VALUE])
		return NULL;
	*len = mnl_attr_get_payload_len(d[NFTA_DATA_VALUE]);
	return mnl_attr_get_payload(d[NFTA_DATA_VALUE]);
}

/* A counter expression's packets into *packets; false if it is none. */
static bool counter_of(const struct nlattr *expr, uint64_t *packets)
{
	const struct nlattr *e[NFTA_EXPR_MAX + 1], *c[NFTA_COUNTER_MAX + 1];

	if (nested(expr, e, NFTA_EXPR_MAX) < 0 || !e[NFTA_EXPR_NAME] ||
	    !e[NFTA_EXPR_DATA] ||
	    strcmp(mnl_attr_get_str(e[NFTA_EXPR_NAME]), "counter") ||
	    nested(e[NFTA_EXPR_DATA], c, NFTA_COUNTER_MAX) < 0 ||
	    !c[NFTA_COUNTER_PACKETS] ||
	    mnl_attr_validate(c[NFTA_COUNTER_PACKETS], MNL_TYPE_U64) < 0)
		return false;
	*packets = be64toh(mnl_attr_get_u64(c[NFTA_COUNTER_PACKETS]));
	return true;
}

/* The leading bits a and b (16 bytes each) share. */
static uint8_t common_bits(const uint8_t *a, const uint8_t *b)
{
	unsigned n = 0;

	while (n < 128 && !((a[n / 8] ^ b[n / 8]) & (0x80 >> (n % 8))))
		n++;
	return (uint8_t)n;
}

static int element(struct nft_dump *dp, const struct nlattr *el)
{
	const struct nlattr *a[NFTA_SET_ELEM_MAX + 1];
	size_t alen = dp->v6 ? 16 : 4, want = alen + (dp->ported ? 4 : 0);
	struct qelem s = { .e = { .v6 = dp->v6, .len = dp->v6 ? 128 : 32 } };
	const uint8_t *k, *end;
	size_t klen, elen;
	bool counted = false;

	if (nested(el, a, NFTA_SET_ELEM_MAX) < 0)
		return 0;
	if (a[NFTA_SET_ELEM_FLAGS] &&
	    mnl_attr_validate(a[NFTA_SET_ELEM_FLAGS], MNL_TYPE_U32) == 0 &&
	    (ntohl(mnl_attr_get_u32(a[NFTA_SET_ELEM_FLAGS])) &
	     NFT_SET_ELEM_INTERVAL_END))
		return 0;	/* the end of a range, counted at its start */
	k = key_value(a[NFTA_SET_ELEM_KEY], &klen);
	if (!k || klen != want)
		return 0;	/* not an element we could have made */
	memcpy(s.e.addr, k, alen);
	if (dp->ported)
		s.port = (uint16_t)(k[alen] << 8 | k[alen + 1]);
	if (dp->v6) {
		end = key_value(a[NFTA_SET_ELEM_KEY_END], &elen);
		if (end && elen == want)
			s.e.len = common_bits(k, end);
	}
	if (a[NFTA_SET_ELEM_EXPR]) {
		counted = counter_of(a[NFTA_SET_ELEM_EXPR], &s.packets);
	} else if (a[NFTA_SET_ELEM_EXPRESSIONS]) {
		struct nlattr *x;	/* mnl_attr_for_each_nested casts */

		mnl_attr_for_each_nested(x, a[NFTA_SET_ELEM_EXPRESSIONS])
			if (!counted)
				counted = counter_of(x, &s.packets);
	}
	if (!counted)
		return 0;
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

static int elems_msg(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *a[NFTA_SET_ELEM_LIST_MAX + 1] = { 0 };
	struct tb tb = { a, NFTA_SET_ELEM_LIST_MAX };
	struct nft_dump *dp = data;
	struct nlattr *el;	/* mnl_attr_for_each_nested casts */

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), put_attr, &tb) < 0)
		return MNL_CB_ERROR;
	if (!a[NFTA_SET_ELEM_LIST_ELEMENTS])
		return MNL_CB_OK;
	mnl_attr_for_each_nested(el, a[NFTA_SET_ELEM_LIST_ELEMENTS]) {
		if (mnl_attr_get_type(el) != NFTA_LIST_ELEM)
			continue;
		if (element(dp, el) < 0) {
			dp->err = ENOMEM;
			return MNL_CB_ERROR;
		}
	}
	return MNL_CB_OK;
}

int rules_nft_set_counts(const char *table, const char *set, bool v6,
			 bool ported, struct qelem **v, size_t *n, char *err,
			 size_t errlen)
{
	struct nft_dump dp = { .v6 = v6, .ported = ported };
	struct rules_nl nl;
	struct nlmsghdr *nlh;
	int ret = -1;

	*v = NULL;
	*n = 0;
	if (rules_nl_open(&nl) < 0) {
		errbuf_set(err, errlen, "nft set %s: netlink: %s", set,
			   strerror(errno));
		return -1;
	}
	nlh = rules_nl_request(&nl, (NFNL_SUBSYS_NFTABLES << 8) |
			       NFT_MSG_GETSETELEM, NLM_F_DUMP, NFPROTO_INET);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	if (rules_nl_run(&nl, nlh, elems_msg, &dp) < 0) {
		int e = dp.err ? dp.err : errno;

		errbuf_set(err, errlen, "nft set %s: listing its counters: %s",
			   set, strerror(e));
		errno = e;
		goto out;
	}
	*v = dp.v;
	*n = dp.n;
	dp.v = NULL;
	ret = 0;
out:
	rules_nl_close(&nl);
	free(dp.v);
	return ret;
}

/* Element e's key (and, for IPv6, its range's last key) as the set's
 * registers hold them; returns the key's length. */
static size_t key_of(const struct qelem *e, bool ported, uint8_t *key,
		     uint8_t *end)
{
	size_t alen = e->e.v6 ? 16 : 4, len = alen + (ported ? 4 : 0);

	memset(key, 0, len);
	memcpy(key, e->e.addr, alen);
	if (ported) {
		key[alen] = (uint8_t)(e->port >> 8);
		key[alen + 1] = (uint8_t)e->port;
	}
	memcpy(end, key, len);
	for (unsigned b = e->e.len; e->e.v6 && b < 128; b++)
		end[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	return len;
}

/* Elements a get asks for: their replies (one message each) must fit the
 * socket's default receive buffer. */
#define GET_BATCH 64

int rules_nft_set_get(const char *table, const char *set, bool v6,
		      bool ported, const struct qelem *want, size_t nwant,
		      struct qelem **v, size_t *n, char *err, size_t errlen)
{
	struct nft_dump dp = { .v6 = v6, .ported = ported };
	struct rules_nl nl;
	size_t at = 0;
	int ret = -1;

	*v = NULL;
	*n = 0;
	if (rules_nl_open(&nl) < 0) {
		errbuf_set(err, errlen, "nft set %s: netlink: %s", set,
			   strerror(errno));
		return -1;
	}
	while (at < nwant) {
		size_t batch = nwant - at < GET_BATCH ? nwant - at : GET_BATCH;
		size_t before = dp.n;
		struct nlmsghdr *nlh;
		struct nlattr *list;

		nlh = rules_nl_request(&nl, (NFNL_SUBSYS_NFTABLES << 8) |
				       NFT_MSG_GETSETELEM, NLM_F_ACK,
				       NFPROTO_INET);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
		mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
		list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
		for (size_t i = 0; i < batch; i++) {
			uint8_t key[20], end[20];
			size_t klen = key_of(&want[at + i], ported, key, end);
			struct nlattr *el, *k;

			el = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
			k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
			mnl_attr_put(nlh, NFTA_DATA_VALUE, klen, key);
			mnl_attr_nest_end(nlh, k);
			if (v6) {
				k = mnl_attr_nest_start(nlh,
							NFTA_SET_ELEM_KEY_END);
				mnl_attr_put(nlh, NFTA_DATA_VALUE, klen, end);
				mnl_attr_nest_end(nlh, k);
			}
			mnl_attr_nest_end(nlh, el);
		}
		mnl_attr_nest_end(nlh, list);
		/* One message an element, then the ack, or the error of
		 * the first that is not there. */
		if (rules_nl_run(&nl, nlh, elems_msg, &dp) < 0) {
			int e = dp.err ? dp.err : errno;

			if (e == ENOENT) {
				/* Timed out (or taken) since the last sync:
				 * the rest of the batch is asked again. */
				at += dp.n - before + 1;
				continue;
			}
			errbuf_set(err, errlen, "nft set %s: reading its "
				   "counters: %s", set, strerror(e));
			errno = e;
			goto out;
		}
		at += batch;
	}
	*v = dp.v;
	*n = dp.n;
	dp.v = NULL;
	ret = 0;
out:
	rules_nl_close(&nl);
	free(dp.v);
	return ret;
}
