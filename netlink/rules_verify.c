// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules: checking that what was installed is still there, and
 * reading back what the fallback judged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/spawn.h"
#include "netlink/rules_kern.h"

/* The first line of a not in b (both "\n"-separated), into what. */
static bool first_missing(const char *a, const char *b, const char *where,
			  char *what, size_t whatlen)
{
	for (const char *p = a; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = b;
		bool found = false;

		while (q && *q && !found) {
			const char *qn = strchr(q, '\n');
			size_t ql = qn ? (size_t)(qn - q) : strlen(q);

			found = ql == l && !strncmp(p, q, l);
			q += ql + (qn ? 1 : 0);
		}
		if (!found) {
			errbuf_set(what, whatlen, "%s: %.*s", where, (int)l,
				   p);
			return true;
		}
		p += l + (nl ? 1 : 0);
	}
	return false;
}

/* Where a and b (the same lines, in another order) first part. */
static void first_moved(const char *a, const char *b, const char *fam,
			char *what, size_t whatlen)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	while (i && a[i - 1] != '\n')
		i--;
	errbuf_set(what, whatlen, "%s has its rules out of order from: "
		   "%.*s", fam, (int)strcspn(b + i, "\n"), b + i);
}

/* The iptables backend's kernel quarantine table as installed (its
 * elements aside: the daemon keeps those). Gone or changed: the install
 * puts it back, and the sync refills its sets. */
static int verify_kq_table(struct rules_kernel *k, char *what, size_t whatlen)
{
	char t[RULES_NAME_MAX], *now = NULL;
	bool same;

	if (!k->ref[2])
		return 0;
	rules_kq_table_name(t, sizeof(t), k->chain);
	if (rules_nft_table_listing(t, &now, what, whatlen) < 0) {
		errbuf_set(what, whatlen, "nft: table inet %s is gone", t);
		k->qknown = false;
		return 1;
	}
	same = !strcmp(now, k->ref[2]);
	free(now);
	if (same)
		return 0;
	errbuf_set(what, whatlen, "nft: table inet %s was changed", t);
	k->qknown = false;
	return 1;
}

static int verify_rules(struct rules_kernel *k, char *what, size_t whatlen)
{
	for (int f = 0; f < (k->backend == RULES_NFT ? 1 : 2); f++) {
		char *now = NULL;
		const char *fam = k->backend == RULES_NFT ? "nft" :
				  f ? "ip6tables" : "iptables";
		char where[64];
		bool bad;

		if (k->backend == RULES_NFT) {
			if (rules_nft_listing(k->chain, &now, what, whatlen) < 0) {
				/* No table at all is what a flush does. */
				errbuf_set(what, whatlen, "nft: table inet "
					   RULES_NFT_TABLE " is gone");
				return 1;
			}
		} else {
			struct ipt_state st;

			if (rules_ipt_state_read(&st, k->chain,
					   f ? AF_INET6 : AF_INET, what,
					   whatlen) < 0)
				return -1;
			now = st.ours;
			st.ours = NULL;
			rules_ipt_state_free(&st);
		}
		snprintf(where, sizeof(where), "%s lacks", fam);
		bad = first_missing(k->ref[f], now, where, what, whatlen);
		if (!bad) {
			snprintf(where, sizeof(where), "%s has a rule it did "
				 "not install", fam);
			bad = first_missing(now, k->ref[f], where, what,
					    whatlen);
		}
		/* The same lines in another order (a deeper entry moved
		 * behind a shallower one) or twice decide otherwise too. */
		if (!bad && strcmp(k->ref[f], now)) {
			first_moved(k->ref[f], now, fam, what, whatlen);
			bad = true;
		}
		free(now);
		if (bad)
			return 1;
	}
	return verify_kq_table(k, what, whatlen);
}

/* "Name: X" ... "Number of entries: N" of every set (ipset list -t). */
static int verify_sets(struct rules_kernel *k, int64_t now, char *what,
		       size_t whatlen)
{
	char *argv[] = { "ipset", "list", "-t", NULL };
	char *s, *name = NULL;
	bool *seen;
	int ret = 0;

	if (spawn_run(argv, NULL, 0, &s, what, whatlen) < 0)
		return -1;
	seen = calloc(k->nsets + RULES_IPSET_QSETS, sizeof(*seen));
	if (!seen) {
		free(s);
		errno = ENOMEM;
		return -1;
	}
	for (char *p = s, *nl; *p && !ret; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(p, "Name: ", 6)) {
			name = p + 6;
			continue;
		}
		if (!name || strncmp(p, "Number of entries: ", 19))
			continue;
		for (size_t i = 0; i < k->nsets; i++) {
			size_t have = strtoull(p + 19, NULL, 10);
			size_t want = rules_expect_alive(&k->sets[i],
						   now + VERIFY_SLACK_S);

			if (strcmp(k->sets[i].name, name))
				continue;
			seen[i] = true;
			if (have < want) {
				errbuf_set(what, whatlen, "set %s holds %zu "
					   "elements, %zu expected", name,
					   have, want);
				k->sets_filled = false;
				k->sets[i].lost = true;
				ret = 1;
			}
		}
		for (unsigned qs = 0; qs < RULES_IPSET_QSETS; qs++) {
			char q[RULES_NAME_MAX];
			size_t have = strtoull(p + 19, NULL, 10), want = 1;

			rules_qset_at(q, sizeof(q), k->chain, qs);
			if (strcmp(q, name))
				continue;
			seen[k->nsets + qs] = true;
			for (size_t i = 0; i < k->nq; i++)
				want += k->q[i].e.v6 == rules_qset_v6(qs) &&
					!k->q[i].port &&
					k->q[i].until > now + VERIFY_SLACK_S;
			if (have < want) {
				errbuf_set(what, whatlen, "set %s holds %zu "
					   "elements, %zu expected", name,
					   have, want);
				/* The next sync empties and fills them
				 * (after a read of what they still
				 * count). */
				k->qknown = false;
				ret = 1;
			}
		}
		name = NULL;
	}
	for (size_t i = 0; i < k->nsets + RULES_IPSET_QSETS && !ret; i++) {
		char q[RULES_NAME_MAX];

		if (seen[i])
			continue;
		if (i < k->nsets)
			snprintf(q, sizeof(q), "%s", k->sets[i].name);
		else
			rules_qset_at(q, sizeof(q), k->chain,
				      (unsigned)(i - k->nsets));
		errbuf_set(what, whatlen, "set %s is gone", q);
		k->sets_filled = false;
		if (i < k->nsets)
			k->sets[i].lost = true;
		else
			k->qknown = false;
		ret = 1;
	}
	free(seen);
	free(s);
	return ret;
}

/* Every set of ours still holds its canary: one netlink message each. */
static int verify_canaries(struct rules_kernel *k, char *what, size_t whatlen)
{
	struct rules_canary *c;
	char q[RULES_NAME_MAX];
	int ret = 0, r;

	if (rules_canary_open(&c) < 0) {
		errbuf_set(what, whatlen, "ipset: netlink: %s",
			   strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < k->nsets + RULES_IPSET_QSETS && !ret; i++) {
		bool v6;

		if (i < k->nsets) {
			snprintf(q, sizeof(q), "%s", k->sets[i].name);
			v6 = k->sets[i].v6;
		} else {
			unsigned qs = (unsigned)(i - k->nsets);

			v6 = rules_qset_v6(qs);
			rules_qset_at(q, sizeof(q), k->chain, qs);
		}
		r = rules_canary_test(c, q, v6);
		if (r < 0) {
			errbuf_set(what, whatlen, "ipset: asking for set "
				   "%s: %s", q, strerror(errno));
			ret = -1;
		} else if (r == 0) {
			errbuf_set(what, whatlen, "set %s was emptied or "
				   "removed", q);
			k->sets_filled = false;
			if (i < k->nsets)
				k->sets[i].lost = true;
			if (i >= k->nsets)
				k->qknown = false;	/* filled anew */
			ret = 1;
		}
	}
	rules_canary_close(c);
	return ret;
}

int rules_verify(struct rules_kernel *k, bool full, int64_t now,
		 char *what, size_t whatlen)
{
	uint32_t gen;
	bool gen_ok;
	int r;

	if (whatlen)
		what[0] = '\0';
	if (!k->installed)
		return 0;
	gen_ok = rules_nft_genid(&gen) == 0;
	if (full || k->legacy || !gen_ok || !k->genid_ok || gen != k->genid) {
		r = verify_rules(k, what, whatlen);
		if (r)
			return r;
		k->genid = gen;
		k->genid_ok = gen_ok;
	}
	if (k->backend != RULES_IPTABLES)
		return 0;
	/* Each second, the canaries (a flushed or destroyed set); on a full
	 * check also the counts (one element taken out by hand), which
	 * costs a walk of every element. */
	r = verify_canaries(k, what, whatlen);
	if (r || !full)
		return r;
	return verify_sets(k, now, what, whatlen);
}

/* --- the fallback's counters ---------------------------------------- */

static void count_line(const char *line, uint64_t pk,
		       struct rules_fallback_counts *c)
{
	if (strstr(line, " -j ACCEPT") || strstr(line, " accept"))
		c->accepted += pk;
	else if (strstr(line, " -j DROP") || strstr(line, " drop"))
		c->dropped += pk;
	else if (strstr(line, " -j REJECT") || strstr(line, " reject"))
		c->rejected += pk;
}

static void since_of(const char *line, struct rules_fallback_counts *c)
{
	const char *s = strstr(line, RULES_FALLBACK_TAG);
	long long t;

	if (!s)
		return;
	t = strtoll(s + strlen(RULES_FALLBACK_TAG), NULL, 10);
	if (!c->active || t < c->since)
		c->since = t;
	c->active = true;
}

static int ipt_fallback_read(struct rules_kernel *k, int family,
			     struct rules_fallback_counts *c, char *err,
			     size_t errlen)
{
	char *argv[] = { family == AF_INET ? "iptables-save"
					   : "ip6tables-save",
			 "-c", "-t", "filter", NULL };
	char *s, pk[64], qp[64];
	size_t pl, ml, ql;

	if (spawn_run(argv, NULL, 0, &s, err, errlen) < 0)
		return -1;
	pl = (size_t)snprintf(pk, sizeof(pk), "-A %s-P", k->chain);
	ml = strlen(k->chain);
	ql = (size_t)snprintf(qp, sizeof(qp), "-A %s-QP ", k->chain);
	for (char *p = s, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
		unsigned long long n = 0, b = 0;
		char *rule;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (sscanf(p, "[%llu:%llu]", &n, &b) != 2)
			continue;
		rule = strchr(p, ']');
		if (!rule || rule[1] != ' ')
			continue;
		rule += 2;
		if (!strncmp(rule, "-A ", 3) && !strncmp(rule + 3, k->chain, ml)
		    && rule[3 + ml] == ' ') {
			since_of(rule, c);
			continue;
		}
		if ((!strncmp(rule, pk, pl) && rule[pl] >= '0' &&
		     rule[pl] <= '9') || !strncmp(rule, qp, ql))
			count_line(rule, n, c);
	}
	free(s);
	return 0;
}

static int nft_fallback_read(struct rules_kernel *k,
			     struct rules_fallback_counts *c, char *err,
			     size_t errlen)
{
	char *argv[] = { "nft", "-t", "list", "table", "inet",
			 RULES_NFT_TABLE, NULL };
	char *s, cur[64] = "";

	if (spawn_run(argv, NULL, 0, &s, err, errlen) < 0)
		return 0;	/* no table: nothing ran */
	for (char *p = s, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
		const char *cp;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		p += strspn(p, "\t ");
		if (sscanf(p, "chain %63s {", cur) == 1)
			continue;
		if (!strcmp(cur, k->chain)) {
			since_of(p, c);
			continue;
		}
		if (strcmp(cur, "qp") && !(cur[0] == 'p' && rules_is_digits(cur + 1)))
			continue;
		cp = strstr(p, "counter packets ");
		if (cp)
			count_line(p, strtoull(cp + 16, NULL, 10), c);
	}
	free(s);
	return 0;
}

int rules_fallback_read(struct rules_kernel *k,
			struct rules_fallback_counts *c,
			char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (errlen)
		err[0] = '\0';
	if (k->backend == RULES_NFT)
		return nft_fallback_read(k, c, err, errlen);
	if (ipt_fallback_read(k, AF_INET, c, err, errlen) < 0 ||
	    ipt_fallback_read(k, AF_INET6, c, err, errlen) < 0)
		return -1;
	return 0;
}
