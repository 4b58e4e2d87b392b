// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink/rules: filling the iptables backend's sets, and what they must hold. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/spawn.h"
#include "netlink/rules_kern.h"

static void sets_free(struct set_expect *sets, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(sets[i].elems);
		free(sets[i].ends);
	}
	free(sets);
}

void rules_sets_free(struct rules_kernel *k)
{
	sets_free(k->sets, k->nsets);
	k->sets = NULL;
	k->nsets = 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* What the fallback's sets hold: entries with the ends of their lives. */
uint64_t rules_sets_hash(const struct rules_desc *d)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv(h, &d->nprofiles, sizeof(d->nprofiles));
	/* The aggregates, when a set holds them. */
	for (int v6 = 0; v6 < 2; v6++) {
		const char *const *p = v6 ? d->v6 : d->v4;
		size_t n = v6 ? d->nv6 : d->nv4;

		if (!rules_agg_in_set(d, v6))
			continue;
		h = fnv(h, &n, sizeof(n));
		for (size_t i = 0; i < n; i++)
			h = fnv(h, p[i], strlen(p[i]) + 1);
	}
	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];
		/* One cut to the longest timeout ends later than it says:
		 * it is renewed on time (refill_at), not at every reload. */
		int64_t end = e->e.timeout >= RULES_TIMEOUT_MAX ? -1 :
			      e->e.timeout ? d->now + e->e.timeout : 0;

		h = fnv(h, e->e.addr, sizeof(e->e.addr));
		h = fnv(h, &e->e.len, 1);
		h = fnv(h, &e->e.v6, 1);
		h = fnv(h, &e->depth, sizeof(e->depth));
		h = fnv(h, &e->profile, sizeof(e->profile));
		h = fnv(h, &end, sizeof(end));
	}
	return h;
}

/* When the first element cut to the longest timeout is a day from
 * running out in the kernel (0: none is). */
int64_t rules_refill_time(const struct rules_desc *d)
{
	for (size_t i = 0; i < d->nentries; i++)
		if (d->entries[i].e.timeout >= RULES_TIMEOUT_MAX)
			return d->now + RULES_TIMEOUT_MAX - 86400;
	return 0;
}

bool rules_refill_due(const struct rules_kernel *k, int64_t now)
{
	return k->installed && k->refill_at && now >= k->refill_at;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Grow *v (n used) by one qelem; NULL with ENOMEM. */
static struct qelem *more(struct qelem **v, size_t *n)
{
	struct qelem *nv;

	if (!(*n % 1024)) {
		nv = realloc(*v, (*n + 1024) * sizeof(**v));
		if (!nv)
			return NULL;
		*v = nv;
	}
	return &(*v)[(*n)++];
}

/* e, or with len 0 its two halves (hash:net takes no /0), into *v. */
static int put(struct qelem **v, size_t *n, const struct rules_elem *e,
	       int64_t until)
{
	struct qelem *q;

	for (int half = 0; half < (e->len ? 1 : 2); half++) {
		if (!(q = more(v, n)))
			return -1;
		q->e = *e;
		q->until = until;
		if (!e->len) {
			memset(q->e.addr, 0, sizeof(q->e.addr));
			q->e.addr[0] = half ? 0x80 : 0;
			q->e.len = 1;
		}
		q->e.timeout = 0;
	}
	return 0;
}

/*
 * What a set is to hold, sorted: the aggregates of a family (agg), or the
 * entries of (v6, depth, profile), each with when its timeout ends.
 */
static int collect(const struct rules_desc *d, bool v6, bool agg,
		   unsigned depth, size_t profile, struct qelem **out,
		   size_t *n)
{
	struct rules_elem e;

	*out = NULL;
	*n = 0;
	if (agg) {
		const char *const *p = v6 ? d->v6 : d->v4;
		size_t np = v6 ? d->nv6 : d->nv4;

		for (size_t i = 0; i < np; i++)
			if (rules_elem_parse(p[i], v6, &e) < 0 ||
			    put(out, n, &e, 0) < 0)
				goto fail;
	} else {
		for (size_t i = 0; i < d->nentries; i++) {
			const struct rules_entry *re = &d->entries[i];

			if (re->e.v6 != v6 || re->depth != depth ||
			    re->profile != profile)
				continue;
			if (put(out, n, &re->e, re->e.timeout ?
				d->now + re->e.timeout : 0) < 0)
				goto fail;
		}
	}
	if (*n)
		qsort(*out, *n, sizeof(**out), rules_elem_cmp);
	return 0;
fail:
	free(*out);
	*out = NULL;
	return -1;
}

static void add_line(struct out *o, const char *name, const struct qelem *q,
		     int64_t now)
{
	char buf[RULES_PREFIX_MAX];

	/* "timeout 0" said, so a re-add (-exist) of a timed element makes
	 * it lasting again. */
	outf(o, "add %s %s timeout %lld\n", name,
	     rules_elem_format(&q->e, buf, sizeof(buf)), q->until ?
	     (long long)(q->until > now ? q->until - now : 1) : 0LL);
}

/* The set made anew in its "-T" twin and swapped in whole. */
static void full(struct out *o, const char *names, const char *name,
		 bool v6, const struct qelem *w, size_t n, int64_t now)
{
	char tmp[RULES_NAME_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s-T", name);
	if (rules_name_in(names, tmp))
		outf(o, "destroy %s\n", tmp);
	outf(o, "create ");
	rules_ipset_create(o, tmp, v6, RULES_SET_NET, n + 1);
	outf(o, "add %s %s\n", tmp, rules_canary_text(v6));
	for (size_t i = 0; i < n; i++)
		add_line(o, tmp, &w[i], now);
	if (rules_name_in(names, name))
		outf(o, "swap %s %s\ndestroy %s\n", tmp, name, tmp);
	else
		outf(o, "rename %s %s\n", tmp, name);
}

/* Only what changed since the set held old: new or moved elements are
 * added first (in both for a moment, the deeper set decides), then the
 * gone ones deleted. Each element changes atomically in the kernel. */
static void diff(struct out *o, const char *name, bool v6,
		 const struct qelem *old, size_t nold, const struct qelem *w,
		 size_t n, int64_t now)
{
	char buf[RULES_PREFIX_MAX];
	size_t i, j;

	/* Also into a set someone emptied (-exist: no harm if there). */
	outf(o, "add %s %s\n", name, rules_canary_text(v6));
	for (i = j = 0; i < n; i++) {
		while (j < nold && rules_elem_cmp(&old[j].e, &w[i].e) < 0)
			j++;
		if (j < nold && !rules_elem_cmp(&old[j].e, &w[i].e) &&
		    (old[j].until == w[i].until ||
		     (old[j].until && w[i].until &&
		      old[j].until - w[i].until <= 1 &&
		      w[i].until - old[j].until <= 1)))
			continue;
		add_line(o, name, &w[i], now);
	}
	for (i = j = 0; j < nold; j++) {
		while (i < n && rules_elem_cmp(&w[i].e, &old[j].e) < 0)
			i++;
		if (i < n && !rules_elem_cmp(&w[i].e, &old[j].e))
			continue;
		outf(o, "del %s %s\n", name,
		     rules_elem_format(&old[j].e, buf, sizeof(buf)));
	}
}

/* The set as filled: its elements (ownership taken), and what the
 * check must find in it (the canary counted). */
static int record(struct set_expect **sets, size_t *nsets, const char *name,
		  bool v6, struct qelem *w, size_t n)
{
	struct set_expect *ns = realloc(*sets, (*nsets + 1) * sizeof(**sets));
	struct set_expect *s;

	if (!ns) {
		free(w);
		return -1;
	}
	*sets = ns;
	s = &ns[*nsets];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->v6 = v6;
	s->elems = w;
	s->nelems = n;
	s->perm = 1;
	for (size_t i = 0; i < n; i++)
		if (!w[i].until)
			s->perm++;
	s->nends = n + 1 - s->perm;
	if (s->nends) {
		s->ends = malloc(s->nends * sizeof(*s->ends));
		if (!s->ends)
			return -1;
		for (size_t i = 0, k = 0; i < n; i++)
			if (w[i].until)
				s->ends[k++] = w[i].until;
		qsort(s->ends, s->nends, sizeof(*s->ends), cmp_i64);
	}
	(*nsets)++;
	return 0;
}

static const struct set_expect *find(const struct set_expect *sets, size_t n,
				     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sets[i].name, name))
			return sets[i].lost ? NULL : &sets[i];
	return NULL;
}

/* How many of s's elements live past t. */
size_t rules_expect_alive(const struct set_expect *s, int64_t t)
{
	size_t lo = 0, hi = s->nends;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->ends[mid] > t)
			hi = mid;
		else
			lo = mid + 1;
	}
	return s->perm + (s->nends - lo);
}

/* Whether quarantine set name exists with room for fewer elements than
 * RULES_QSET_MAXELEM (ipset cannot grow a set's maxelem). */
static bool qset_small(const char *name)
{
	char set[RULES_NAME_MAX], *out = NULL;
	char *argv[] = { "ipset", "list", "-t", set, NULL };
	const char *m;
	bool small = false;

	snprintf(set, sizeof(set), "%s", name);
	if (spawn_run(argv, NULL, 0, &out, NULL, 0) == 0) {
		m = strstr(out, " maxelem ");
		small = m && strtoull(m + 9, NULL, 10) < RULES_QSET_MAXELEM;
	}
	free(out);
	return small;
}

/*
 * Fill the iptables backend's sets. A set this process filled before and
 * the kernel still holds gets only what changed (an exception added to a
 * million entries is a few lines, not a million); any other is made anew
 * in a "-T" twin and swapped in whole, so a SYN never meets it half
 * filled. The quarantine sets are only created (the daemon keeps them).
 */
int rules_ipset_fill(struct rules_kernel *k, const struct rules_desc *d,
		      char *err, size_t errlen)
{
	char *names = NULL, name[RULES_NAME_MAX];
	struct set_expect *sets = NULL, *old = k->sets;
	size_t nsets = 0, nold = k->nsets;
	struct rules_layers l = { 0 };
	struct text t = { 0 };
	struct qelem *w;
	struct out o;
	size_t n, max;
	int ret = -1;

	k->sets_filled = false;
	if (rules_ipset_names(&names, err, errlen) < 0)
		return -1;
	if (text_open(&t, &o) < 0)
		goto oom;
	for (unsigned i = 0; i < RULES_IPSET_QSETS; i++) {
		bool v6 = rules_qset_v6(i);
		enum rules_set_kind kind = RULES_SET_SOURCES;

		rules_qset_at(name, sizeof(name), k->chain, i);
		if (!rules_name_in(names, name)) {
			outf(&o, "create ");
			rules_ipset_create(&o, name, v6, kind, 0);
		} else if (qset_small(name)) {
			/* Made by an older version, for 65,536: a twin of
			 * the full size swapped in (the rules name it), the
			 * next sync fills it. */
			outf(&o, "create %s-T", name);
			rules_ipset_create(&o, "", v6, kind, 0);
			outf(&o, "swap %s %s-T\ndestroy %s-T\n", name, name,
			     name);
			k->qknown = false;
		}
		/* Also into one someone emptied (-exist: no harm if there). */
		outf(&o, "add %s %s\n", name, rules_canary_text(v6));
	}
	for (int v6 = 0; v6 < 2; v6++) {
		if (rules_layers_get(d, v6, &l) < 0)
			goto oom;
		/* depth -1: the aggregates' set, when there are many. */
		for (int dp = -1; dp < (int)l.depths; dp++)
			for (size_t kp = 0; kp < (dp < 0 ? 1 : d->nprofiles);
			     kp++) {
				const struct set_expect *was;

				if (dp < 0 ? !rules_agg_in_set(d, v6) :
				    !rules_layer_has(&l, (unsigned)dp, kp))
					continue;
				if (dp < 0)
					rules_aset_name(name, sizeof(name),
							k->chain, v6);
				else
					rules_set_name(name, sizeof(name),
						       k->chain, v6,
						       (unsigned)dp,
						       (unsigned)kp);
				if (collect(d, v6, dp < 0, dp < 0 ? 0 :
					    (unsigned)dp, kp, &w, &n) < 0)
					goto oom;
				was = find(old, nold, name);
				/* A set made for fewer cannot take more than
				 * its maxelem: then it is made anew. */
				if (was && rules_name_in(names, name) &&
				    n + 1 <= was->maxelem) {
					diff(&o, name, v6, was->elems,
					     was->nelems, w, n, d->now);
					max = was->maxelem;
				} else {
					full(&o, names, name, v6, w, n, d->now);
					max = rules_ipset_maxelem(n + 1);
				}
				if (record(&sets, &nsets, name, v6, w, n) < 0)
					goto oom;
				sets[nsets - 1].maxelem = max;
			}
		rules_layers_free(&l);
	}
	if (text_close(&t, &o) < 0)
		goto oom;
	if (t.len && rules_ipset_restore(t.s, t.len, err, errlen) < 0) {
		/* What the kernel holds is not known: all anew next time. */
		sets_free(sets, nsets);
		rules_sets_free(k);
		goto out;
	}
	sets_free(old, nold);
	k->sets = sets;
	k->nsets = nsets;
	k->sets_hash = rules_sets_hash(d);
	k->sets_filled = true;
	k->refill_at = rules_refill_time(d);
	ret = 0;
	goto out;
oom:
	errbuf_set(err, errlen, "the sets' text: out of memory");
	errno = ENOMEM;
	sets_free(sets, nsets);
out:
	rules_layers_free(&l);
	text_free(&t);
	free(names);
	return ret;
}

/* Destroy our sets that d no longer has (stale) or all of them. */
int rules_ipset_prune(struct rules_kernel *k, const struct rules_desc *d,
		       char *err, size_t errlen)
{
	char *names = NULL;
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	if (rules_ipset_names(&names, err, errlen) < 0)
		return -1;
	if (text_open(&t, &o) < 0)
		goto out;
	for (char *p = names, *nl; p && *p; p = nl ? nl + 1 : p + strlen(p)) {
		bool keep = false;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (!rules_our_set(k->chain, p))
			continue;
		for (size_t i = 0; d && i < k->nsets && !keep; i++)
			keep = !strcmp(k->sets[i].name, p);
		for (unsigned i = 0; d && i < RULES_IPSET_QSETS && !keep;
		     i++) {
			char q[RULES_NAME_MAX];

			rules_qset_at(q, sizeof(q), k->chain, i);
			keep = !strcmp(q, p);
		}
		if (!keep)
			outf(&o, "destroy %s\n", p);
	}
	if (text_close(&t, &o) < 0)
		goto out;
	ret = t.len ? rules_ipset_restore(t.s, t.len, err, errlen) : 0;
out:
	text_free(&t);
	free(names);
	return ret;
}
