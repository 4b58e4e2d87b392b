// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Subscriber entries on their way into the prefix tables: collected in
 * the order given, checked for prefixes given twice (with where each was
 * first given), then handed to table_build().
 *
 * The duplicate check sorts a compact key array instead of the entries:
 * IPv4 keys are radix sorted (a list may hold ten million), which is
 * stable, so the first of equal keys is the one given first.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "load.h"

#define MAX_ENTRIES (1u << 30)
#define MAX_DUP_ERRORS 100

static int vec_grow(struct entry_vec *v)
{
	size_t cap = v->cap ? 2 * v->cap : 256;
	struct table_input *in;
	struct entry_where *w;

	in = realloc(v->in, cap * sizeof(*in));
	if (!in)
		return -1;
	v->in = in;
	w = realloc(v->where, cap * sizeof(*w));
	if (!w)
		return -1;
	v->where = w;
	v->cap = cap;
	return 0;
}

int entry_add(struct loader *l, bool v4, const struct addr *addr,
	      uint8_t len, uint16_t profile, uint32_t expires, uint32_t meta,
	      uint32_t line, uint32_t col)
{
	struct entry_vec *v = v4 ? &l->v4 : &l->v6;
	struct table_input *e;

	if (l->v4.n + l->v6.n >= MAX_ENTRIES) {
		if (l->v4.n + l->v6.n == MAX_ENTRIES)
			load_error_nopos(l, "more than %u subscriber prefixes",
					 MAX_ENTRIES);
		return -1;
	}
	if (v->n == v->cap && vec_grow(v) < 0) {
		load_oom(l);
		return -1;
	}
	e = &v->in[v->n];
	memset(e, 0, sizeof(*e));
	e->addr = *addr;
	e->len = len;
	e->keep_origin = 1;
	e->profile = profile;
	e->expires = expires;
	e->origin = meta;
	v->where[v->n].line = line;
	v->where[v->n].col = col;
	v->where[v->n].meta = meta;
	v->n++;
	return 0;
}

int64_t file_add(struct loader *l, char *name)
{
	struct policy *p = l->p;

	if (!name) {
		load_oom(l);
		return -1;
	}
	if (p->nfiles == l->capfiles) {
		size_t cap = l->capfiles ? 2 * l->capfiles : 4;
		char **f = realloc(p->files, cap * sizeof(*f));

		if (!f) {
			free(name);
			load_oom(l);
			return -1;
		}
		p->files = f;
		l->capfiles = cap;
	}
	p->files[p->nfiles] = name;
	return (int64_t)p->nfiles++;
}

int64_t meta_add(struct loader *l, char *note, size_t file, uint32_t line,
		 uint32_t aline0, uint32_t acol0)
{
	struct policy *p = l->p;

	if (p->nmeta == l->capmeta) {
		size_t cap = l->capmeta ? 2 * l->capmeta : 16;
		struct entry_meta *m = realloc(p->meta, cap * sizeof(*m));
		struct meta_anchor *a;

		if (!m) {
			free(note);
			load_oom(l);
			return -1;
		}
		p->meta = m;
		a = realloc(l->anchors, cap * sizeof(*a));
		if (!a) {
			free(note);
			load_oom(l);
			return -1;
		}
		l->anchors = a;
		l->capmeta = cap;
	}
	p->meta[p->nmeta].note = note;
	p->meta[p->nmeta].file = p->files[file];
	p->meta[p->nmeta].line = line;
	l->anchors[p->nmeta].line = aline0;
	l->anchors[p->nmeta].col = acol0;
	return (int64_t)p->nmeta++;
}

struct key4 {
	uint64_t key;			/* address << 8 | length */
	uint32_t idx;
};

struct key6 {
	uint64_t hi, lo;		/* the address, host order */
	uint32_t idx;
	uint8_t len;
};

static int key6_cmp(const void *a, const void *b)
{
	const struct key6 *x = a, *y = b;

	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void dup_report(struct loader *l, const struct entry_vec *v, bool v4,
		       size_t first, size_t again, size_t *nreported)
{
	const struct entry_where *w1 = &v->where[first], *w2 = &v->where[again];
	const struct entry_meta *m1 = &l->p->meta[w1->meta];
	const struct entry_meta *m2 = &l->p->meta[w2->meta];
	const struct meta_anchor *a = &l->anchors[w2->meta];
	const struct table_input *e = &v->in[again];
	char buf[64];

	if (++*nreported > MAX_DUP_ERRORS)
		return;
	load_error_in(l, a->line, a->col, m2->file, w2->line, w2->col,
		      "%s is given twice; first given at %s:%u",
		      prefix_format(&e->addr, e->len, v4, buf, sizeof(buf)),
		      m1->file, w1->line);
}

/* Returns the number of duplicates, or -1 when out of memory. */
static ssize_t dups4(struct loader *l, size_t *nreported)
{
	const struct entry_vec *v = &l->v4;
	struct key4 *k, *tmp, *sorted;
	size_t i, n = v->n;
	ssize_t ndup = 0;
	unsigned swaps = 0, pass;

	if (n < 2)
		return 0;
	k = malloc(n * sizeof(*k));
	tmp = malloc(n * sizeof(*tmp));
	if (!k || !tmp) {
		free(k);
		free(tmp);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *b = &v->in[i].addr.b[12];

		k[i].key = (uint64_t)b[0] << 32 | (uint64_t)b[1] << 24 |
			   (uint64_t)b[2] << 16 | (uint64_t)b[3] << 8 |
			   v->in[i].len;
		k[i].idx = (uint32_t)i;
	}
	/* LSD radix sort, one byte a pass, skipping bytes all keys share;
	 * stable, so equal keys stay in the order given. */
	sorted = k;
	for (pass = 0; pass < 5; pass++) {
		size_t count[256] = { 0 }, pos[256], sum = 0;
		unsigned shift = pass * 8, b;
		struct key4 *src = swaps & 1 ? tmp : k;
		struct key4 *dst = swaps & 1 ? k : tmp;

		for (i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xff]++;
		for (b = 0; b < 256; b++) {
			if (count[b] == n)
				break;
			pos[b] = sum;
			sum += count[b];
		}
		if (b < 256)
			continue;
		for (i = 0; i < n; i++)
			dst[pos[(src[i].key >> shift) & 0xff]++] = src[i];
		swaps++;
		sorted = dst;
	}
	for (i = 1; i < n; i++) {
		size_t j = i;

		while (j < n && sorted[j].key == sorted[i - 1].key) {
			dup_report(l, v, true, sorted[i - 1].idx,
				   sorted[j].idx, nreported);
			ndup++;
			j++;
		}
		i = j;
	}
	free(k);
	free(tmp);
	return ndup;
}

static ssize_t dups6(struct loader *l, size_t *nreported)
{
	const struct entry_vec *v = &l->v6;
	size_t i, n = v->n;
	ssize_t ndup = 0;
	struct key6 *k;

	if (n < 2)
		return 0;
	k = malloc(n * sizeof(*k));
	if (!k)
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t hi, lo;

		memcpy(&hi, v->in[i].addr.b, 8);
		memcpy(&lo, v->in[i].addr.b + 8, 8);
		k[i].hi = be64toh(hi);
		k[i].lo = be64toh(lo);
		k[i].len = v->in[i].len;
		k[i].idx = (uint32_t)i;
	}
	qsort(k, n, sizeof(*k), key6_cmp);
	for (i = 1; i < n; i++) {
		size_t j = i;

		while (j < n && k[j].len == k[i - 1].len &&
		       k[j].hi == k[i - 1].hi && k[j].lo == k[i - 1].lo) {
			dup_report(l, v, false, k[i - 1].idx, k[j].idx,
				   nreported);
			ndup++;
			j++;
		}
		i = j;
	}
	free(k);
	return ndup;
}

int entries_finish(struct loader *l)
{
	size_t nreported = 0;
	ssize_t d4, d6;

	d4 = dups4(l, &nreported);
	d6 = dups6(l, &nreported);
	if (d4 < 0 || d6 < 0) {
		load_oom(l);
		return -1;
	}
	if (nreported > MAX_DUP_ERRORS)
		load_error_raw(l, UINT32_MAX, 0, 0,
			       "%s: %zu more prefixes are given twice",
			       l->name, nreported - MAX_DUP_ERRORS);
	if (d4 + d6 > 0 || l->nerrs || l->oom)
		return -1;

	l->p->v4 = table_build(AF_INET, l->v4.in, l->v4.n, NULL, NULL);
	if (!l->p->v4) {
		load_oom(l);
		return -1;
	}
	l->p->v6 = table_build(AF_INET6, l->v6.in, l->v6.n, NULL, NULL);
	if (!l->p->v6) {
		load_oom(l);
		return -1;
	}
	return 0;
}

void entries_free(struct loader *l)
{
	free(l->v4.in);
	free(l->v4.where);
	free(l->v6.in);
	free(l->v6.where);
	memset(&l->v4, 0, sizeof(l->v4));
	memset(&l->v6, 0, sizeof(l->v6));
	free(l->anchors);
	l->anchors = NULL;
}
