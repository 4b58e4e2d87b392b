// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink/rules: filling the iptables backend's sets, and what they must hold. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/spawn.h"
#include "netlink/rules_kern.h"

void rules_sets_free(struct rules_kernel *k)
{
	for (size_t i = 0; i < k->nsets; i++)
		free(k->sets[i].ends);
	free(k->sets);
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

/* Record what set (v6, depth, profile) was filled with. */
static int expect_set(struct rules_kernel *k, const struct rules_desc *d,
		      const char *name, bool v6, unsigned depth, size_t profile)
{
	struct set_expect *s, *ns;

	ns = realloc(k->sets, (k->nsets + 1) * sizeof(*k->sets));
	if (!ns)
		return -1;
	k->sets = ns;
	s = &k->sets[k->nsets];
	memset(s, 0, sizeof(*s));
	s->perm = 1;	/* the canary */
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->v6 = v6;
	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];

		if (e->e.v6 != v6 || e->depth != depth || e->profile != profile)
			continue;
		if (!e->e.timeout) {
			s->perm += e->e.len ? 1 : 2;
			continue;
		}
		if (!(s->nends % 1024)) {
			int64_t *ne = realloc(s->ends, (s->nends + 1024) *
					      sizeof(*ne));

			if (!ne) {
				free(s->ends);
				return -1;
			}
			s->ends = ne;
		}
		s->ends[s->nends++] = d->now + e->e.timeout;
		if (!e->e.len)
			s->perm++;	/* its other half; close enough */
	}
	if (s->nends)
		qsort(s->ends, s->nends, sizeof(*s->ends), cmp_i64);
	k->nsets++;
	return 0;
}

/* Record the aggregate set of a family: its aggregates and canary. */
static int expect_agg(struct rules_kernel *k, const struct rules_desc *d,
		      const char *name, bool v6)
{
	struct set_expect *ns = realloc(k->sets, (k->nsets + 1) *
					sizeof(*k->sets));
	const char *const *p = v6 ? d->v6 : d->v4;
	size_t n = v6 ? d->nv6 : d->nv4;

	if (!ns)
		return -1;
	k->sets = ns;
	memset(&ns[k->nsets], 0, sizeof(*ns));
	snprintf(ns[k->nsets].name, sizeof(ns[k->nsets].name), "%s", name);
	ns[k->nsets].v6 = v6;
	ns[k->nsets].perm = 1 + n;
	for (size_t i = 0; i < n; i++) {
		const char *len = strrchr(p[i], '/');

		if (len && !strcmp(len, "/0"))
			ns[k->nsets].perm++;	/* a /0 is two /1 */
	}
	k->nsets++;
	return 0;
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

/*
 * Fill the iptables backend's sets: each entry set in a new set "-T",
 * swapped in whole, so a SYN never meets a half-filled one; the
 * quarantine sets only created (the daemon keeps them).
 */
int rules_ipset_fill(struct rules_kernel *k, const struct rules_desc *d,
		      char *err, size_t errlen)
{
	char *names = NULL, name[RULES_NAME_MAX], tmp[RULES_NAME_MAX + 8];
	struct rules_layers l = { 0 };
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	k->sets_filled = false;
	if (rules_ipset_names(&names, err, errlen) < 0)
		return -1;
	if (text_open(&t, &o) < 0)
		goto oom;
	rules_sets_free(k);
	for (int v6 = 0; v6 < 2; v6++) {
		rules_qset_name(name, sizeof(name), k->chain, v6);
		if (!rules_name_in(names, name)) {
			outf(&o, "create ");
			rules_ipset_create(&o, name, v6, true, 0);
		}
		/* Also into one someone emptied (-exist: no harm if there). */
		outf(&o, "add %s %s\n", name, rules_canary_text(v6));
		if (rules_agg_in_set(d, v6)) {
			rules_aset_name(name, sizeof(name), k->chain, v6);
			snprintf(tmp, sizeof(tmp), "%s-T", name);
			if (rules_name_in(names, tmp))
				outf(&o, "destroy %s\n", tmp);
			outf(&o, "create ");
			rules_ipset_create(&o, tmp, v6, false,
					   v6 ? d->nv6 : d->nv4);
			rules_ipset_agg_adds(&o, d, tmp, v6);
			if (rules_name_in(names, name))
				outf(&o, "swap %s %s\ndestroy %s\n", tmp,
				     name, tmp);
			else
				outf(&o, "rename %s %s\n", tmp, name);
			if (expect_agg(k, d, name, v6) < 0)
				goto oom;
		}
		if (rules_layers_get(d, v6, &l) < 0)
			goto oom;
		for (unsigned dp = 0; dp < l.depths; dp++)
			for (size_t kp = 0; kp < d->nprofiles; kp++) {
				if (!rules_layer_has(&l, dp, kp))
					continue;
				rules_set_name(name, sizeof(name), k->chain, v6,
					       dp, (unsigned)kp);
				snprintf(tmp, sizeof(tmp), "%s-T", name);
				if (rules_name_in(names, tmp))
					outf(&o, "destroy %s\n", tmp);
				outf(&o, "create ");
				rules_ipset_create(&o, tmp, v6, false,
						   rules_ipset_count(d, v6, dp,
								     kp));
				rules_ipset_adds(&o, d, tmp, v6, dp, kp);
				if (rules_name_in(names, name))
					outf(&o, "swap %s %s\ndestroy %s\n",
					     tmp, name, tmp);
				else
					outf(&o, "rename %s %s\n", tmp, name);
				if (expect_set(k, d, name, v6, dp, kp) < 0)
					goto oom;
			}
		rules_layers_free(&l);
	}
	if (text_close(&t, &o) < 0)
		goto oom;
	if (t.len && rules_ipset_restore(t.s, t.len, err, errlen) < 0)
		goto out;
	k->sets_hash = rules_sets_hash(d);
	k->sets_filled = true;
	k->refill_at = rules_refill_time(d);
	ret = 0;
	goto out;
oom:
	errbuf_set(err, errlen, "the sets' text: out of memory");
	errno = ENOMEM;
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
		if (d && (!strcmp(p + strlen(k->chain), "-q4") ||
			  !strcmp(p + strlen(k->chain), "-q6")))
			keep = true;
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
