/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The prefix table for one key width, written once and instantiated by
 * table.c per address family. Before including, define:
 *
 *   KEY_T           an unsigned integer type holding one address
 *   KEY_BITS        its width in bits
 *   KEY_CLZ(x)      leading zero bits of a nonzero key
 *   KEY_FROM(a)     the key of a const struct policy_addr *
 *   KEY_TO(k, a)    store key k into struct policy_addr *a
 *   NAME(x)         the family's prefix for x (x ## 4, x ## 6)
 *
 * table.c also provides struct table_origin and same_prefix(). Every
 * macro is undefined again at the end, so no include guard.
 */

#define KEY_MAX ((KEY_T)~(KEY_T)0)

/* The hot record: 16 bytes for IPv4. The origin lives apart. */
struct NAME(entry) {
	KEY_T key;
	int32_t parent;
	uint32_t expires;
	uint16_t profile;
	uint8_t len;
	uint8_t flags;
};

struct NAME(tab) {
	struct NAME(entry) *e;
	size_t n;
	/* Range i covers [start[i], start[i + 1]) and belongs to owner[i]
	 * (-1: none). Apart, so a binary search touches only starts. */
	KEY_T *start;
	int32_t *owner;
	size_t nranges;
	/* index[s] is the last range starting at or before the first key of
	 * slot s; slot s of key k is (k - base) >> shift. */
	uint32_t *index;
	size_t nslots;
	KEY_T base;
	unsigned shift;
	KEY_T lo, hi;			/* no entry covers keys outside */
	bool expiring;			/* some entry has an expiry */
};

static inline KEY_T NAME(hostmask)(unsigned len)
{
	return len >= KEY_BITS ? 0 : KEY_MAX >> len;
}

static inline KEY_T NAME(end)(const struct NAME(entry) *e)
{
	return e->key | NAME(hostmask)(e->len);
}

/*
 * Append a range starting at start. Starts come in non-decreasing order;
 * a second range at the same start replaces the first (which was empty),
 * and a range with the owner of the one before it is no new range.
 */
static void NAME(emit)(struct NAME(tab) *t, KEY_T start, int32_t owner)
{
	size_t n = t->nranges;

	if (n && t->start[n - 1] == start) {
		if (n >= 2 && t->owner[n - 2] == owner)
			t->nranges--;
		else
			t->owner[n - 1] = owner;
		return;
	}
	if (n && t->owner[n - 1] == owner)
		return;
	t->start[n] = start;
	t->owner[n] = owner;
	t->nranges++;
}

/* Close the innermost open entry: past its end, its parent owns again. */
static void NAME(pop)(struct NAME(tab) *t, const int32_t *stack, unsigned *sp)
{
	KEY_T end = NAME(end)(&t->e[stack[--*sp]]);

	/* Nothing follows the top of the address space. */
	if (end != KEY_MAX)
		NAME(emit)(t, end + 1, *sp ? stack[*sp - 1] : -1);
}

static int NAME(index_build)(struct NAME(tab) *t)
{
	unsigned avail, bits = 8;
	size_t s, r = 0;

	/* Index the bits below the common prefix of all covered keys, so a
	 * table inside one /32 spreads over its slots as well as any. */
	avail = t->lo == t->hi ? 0 : KEY_BITS - KEY_CLZ(t->lo ^ t->hi);
	while (bits < 24 && ((size_t)1 << (bits + 1)) <= t->nranges / 4)
		bits++;
	if (bits > avail)
		bits = avail;
	t->shift = avail - bits;
	t->base = t->lo & ~NAME(hostmask)(KEY_BITS - avail);
	t->nslots = (size_t)1 << bits;
	t->index = malloc((t->nslots + 1) * sizeof(*t->index));
	if (t->index == NULL)
		return -1;
	for (s = 0; s < t->nslots; s++) {
		KEY_T first = t->base + ((KEY_T)s << t->shift);

		while (r + 1 < t->nranges && t->start[r + 1] <= first)
			r++;
		t->index[s] = (uint32_t)r;
	}
	t->index[t->nslots] = (uint32_t)(t->nranges - 1);
	return 0;
}

/*
 * Build t from in[0..n), sorted by (address, length). Reports duplicates
 * to dup and keeps the first; stores (id, origin) of the entries that
 * keep theirs into origins. Returns 0, or -1 when out of memory (t is then
 * left for NAME(free)).
 */
static int NAME(build)(struct NAME(tab) *t, const struct table_input *in,
		       size_t n, table_dup_fn dup, void *ctx,
		       struct table_origin *origins, size_t *norigins)
{
	int32_t stack[KEY_BITS + 1];
	unsigned sp = 0;
	size_t i, kept = 0;
	void *p;

	t->e = malloc((n ? n : 1) * sizeof(*t->e));
	/* Each entry opens one range and closes one, plus the one at 0. */
	t->start = malloc((2 * n + 1) * sizeof(*t->start));
	t->owner = malloc((2 * n + 1) * sizeof(*t->owner));
	if (t->e == NULL || t->start == NULL || t->owner == NULL)
		return -1;

	NAME(emit)(t, 0, -1);
	for (i = 0; i < n; i++) {
		struct NAME(entry) *e;
		KEY_T key;

		if (i && same_prefix(&in[kept], &in[i])) {
			if (dup)
				dup(ctx, in[kept].origin, in[i].origin);
			continue;
		}
		kept = i;
		key = KEY_FROM(&in[i].addr);
		/* Prefixes nest or are disjoint, and in comes sorted: an open
		 * entry that reaches key encloses it. */
		while (sp && NAME(end)(&t->e[stack[sp - 1]]) < key)
			NAME(pop)(t, stack, &sp);

		e = &t->e[t->n];
		e->key = key;
		e->len = in[i].len;
		e->profile = in[i].profile;
		e->expires = in[i].expires;
		e->flags = in[i].keep_origin ? 1 : 0;
		e->parent = sp ? stack[sp - 1] : -1;
		if (in[i].expires)
			t->expiring = true;
		if (in[i].keep_origin) {
			origins[*norigins].id = (uint32_t)t->n;
			origins[*norigins].origin = in[i].origin;
			++*norigins;
		}
		if (t->n == 0)
			t->lo = key;
		/* Roots come in address order: the last one ends highest. */
		if (sp == 0)
			t->hi = NAME(end)(e);
		NAME(emit)(t, key, (int32_t)t->n);
		stack[sp++] = (int32_t)t->n++;
	}
	while (sp)
		NAME(pop)(t, stack, &sp);

	/* Shrinking cannot fail in practice; if it does, keep the larger. */
	if ((p = realloc(t->e, (t->n ? t->n : 1) * sizeof(*t->e))) != NULL)
		t->e = p;
	if ((p = realloc(t->start, t->nranges * sizeof(*t->start))) != NULL)
		t->start = p;
	if ((p = realloc(t->owner, t->nranges * sizeof(*t->owner))) != NULL)
		t->owner = p;
	return t->n ? NAME(index_build)(t) : 0;
}

static inline int32_t NAME(lookup)(const struct NAME(tab) *t, KEY_T key,
				   int64_t now)
{
	const struct NAME(entry) *e = t->e;
	uint32_t lo, hi, mid;
	size_t slot;
	int32_t id;

	if (t->n == 0 || key < t->lo || key > t->hi)
		return -1;
	slot = (size_t)((key - t->base) >> t->shift);
	lo = t->index[slot];
	hi = t->index[slot + 1];
	while (lo < hi) {
		mid = lo + ((hi - lo + 1) >> 1);
		if (t->start[mid] <= key)
			lo = mid;
		else
			hi = mid - 1;
	}
	id = t->owner[lo];
	if (t->expiring)
		while (id >= 0 && e[id].expires &&
		       (int64_t)e[id].expires <= now)
			id = e[id].parent;
	return id;
}

/* Fill all of out but origin; returns whether the entry kept its origin. */
static bool NAME(get)(const struct NAME(tab) *t, int32_t id,
		      struct table_entry *out)
{
	const struct NAME(entry) *e = &t->e[id];

	KEY_TO(e->key, &out->addr);
	out->len = e->len;
	out->profile = e->profile;
	out->expires = e->expires;
	out->parent = e->parent;
	return e->flags & 1;
}

static size_t NAME(memory)(const struct NAME(tab) *t)
{
	return t->n * sizeof(*t->e) +
	       t->nranges * (sizeof(*t->start) + sizeof(*t->owner)) +
	       (t->index ? (t->nslots + 1) * sizeof(*t->index) : 0);
}

static void NAME(free)(struct NAME(tab) *t)
{
	free(t->e);
	free(t->start);
	free(t->owner);
	free(t->index);
}

#undef KEY_MAX
#undef KEY_T
#undef KEY_BITS
#undef KEY_CLZ
#undef KEY_FROM
#undef KEY_TO
#undef NAME
