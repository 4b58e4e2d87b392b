/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The prefix table for one key width, written once and instantiated by
 * table.c per address family. Before including, define:
 *
 *   KEY_T           an unsigned integer type holding one address
 *   KEY_BITS        its width in bits
 *   KEY_CLZ(x)      leading zero bits of a nonzero key
 *   KEY_FROM(a)     the key of a const struct addr *
 *   KEY_TO(k, a)    store key k into struct addr *a
 *   NAME(x)         the family's prefix for x (x ## 4, x ## 6)
 *
 * table.c also provides struct table_origin, same_prefix() and the
 * constants OWNER_EXPIRES, SLOT_CHILD, LEAF_RANGES, SLOT_RANGES,
 * ROOT_RANGES, MANY_CHUNK and MANY_MIN_RANGES, the lookup phases LK_* and prefetch_span().
 * Every macro above is undefined again at the end, so no include guard.
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

/*
 * One radix node: it tells apart the ranges first .. last, whose starts
 * after first lie in [lo, base + (2^bits << shift)). Slot j covers keys
 * from base + (j << shift); slot[off + j] is the last range starting at
 * or before that key, or SLOT_CHILD | a node for a slot that holds more
 * than LEAF_RANGES ranges. slot[off + 2^bits] is last. Each node indexes
 * the bits below the common prefix of its own ranges, so clustered
 * tables (all of IPv6 in a few /32s, pools inside them) spread at every
 * level.
 */
struct NAME(node) {
	KEY_T base;
	KEY_T lo;
	uint32_t first, last;
	uint32_t off;
	uint8_t shift, bits;
};

struct NAME(tab) {
	struct NAME(entry) *e;
	size_t n;
	/* Range i covers [start[i], start[i + 1]) and belongs to owner[i]
	 * (-1: none; OWNER_EXPIRES set when that entry has an expiry).
	 * Apart, so a binary search touches only starts. */
	KEY_T *start;
	int32_t *owner;
	/* The owner's profile per range, so a decision reads no entry;
	 * NULL when some profile index does not fit a byte. */
	uint8_t *rprof;
	size_t nranges;
	/* A tree of radix nodes over the ranges: node 0 is the root. */
	struct NAME(node) *node;
	size_t nnodes, capnodes;
	uint32_t *slot;
	size_t nslots, capslots;
	KEY_T lo, hi;			/* no entry covers keys outside */
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

/* A range's owner: the entry id, flagged when the lookup must look at
 * the entry for its expiry (most have none). */
static inline int32_t NAME(owner)(const struct NAME(tab) *t, int32_t id)
{
	return t->e[id].expires ? id | OWNER_EXPIRES : id;
}

/* Close the innermost open entry: past its end, its parent owns again. */
static void NAME(pop)(struct NAME(tab) *t, const int32_t *stack, unsigned *sp)
{
	KEY_T end = NAME(end)(&t->e[stack[--*sp]]);

	/* Nothing follows the top of the address space. */
	if (end != KEY_MAX)
		NAME(emit)(t, end + 1, *sp ? NAME(owner)(t, stack[*sp - 1]) : -1);
}

/* Add the node for ranges first .. last (more than LEAF_RANGES of them),
 * with at least 2^minbits slots. Returns its id, or -1 out of memory. */
static int32_t NAME(node_build)(struct NAME(tab) *t, uint32_t first,
				uint32_t last, unsigned minbits, size_t per_slot)
{
	KEY_T lo = t->start[first + 1], hi = t->start[last];
	unsigned avail = KEY_BITS - KEY_CLZ(lo ^ hi), bits = minbits;
	size_t j, nslots, off, r = first;
	struct NAME(node) *nd;
	int32_t id;
	void *p;

	while (bits < 24 &&
	       ((size_t)1 << (bits + 1)) <= (last - first) / per_slot)
		bits++;
	if (bits > avail)
		bits = avail;
	nslots = (size_t)1 << bits;
	if (t->nnodes == t->capnodes) {
		t->capnodes = t->capnodes ? 2 * t->capnodes : 64;
		if ((p = realloc(t->node, t->capnodes * sizeof(*t->node))) == NULL)
			return -1;
		t->node = p;
	}
	if (t->nslots + nslots + 1 > t->capslots) {
		t->capslots = 2 * (t->nslots + nslots + 1);
		if ((p = realloc(t->slot, t->capslots * sizeof(*t->slot))) == NULL)
			return -1;
		t->slot = p;
	}
	id = (int32_t)t->nnodes++;
	off = t->nslots;
	t->nslots += nslots + 1;
	nd = &t->node[id];
	nd->shift = (uint8_t)(avail - bits);
	nd->bits = (uint8_t)bits;
	nd->base = lo & ~NAME(hostmask)(KEY_BITS - avail);
	nd->lo = lo;
	nd->first = first;
	nd->last = last;
	nd->off = (uint32_t)off;
	for (j = 0; j < nslots; j++) {
		KEY_T key = nd->base + ((KEY_T)j << nd->shift);

		while (r < last && t->start[r + 1] <= key)
			r++;
		t->slot[off + j] = (uint32_t)r;
	}
	t->slot[off + nslots] = last;

	for (j = 0; j < nslots; j++) {
		uint32_t a = t->slot[off + j], b = t->slot[off + j + 1];
		KEY_T next = t->node[id].base + ((KEY_T)(j + 1) << t->node[id].shift);
		int32_t child;

		/* A range starting at the next slot's first key is not in
		 * this slot: without it a child is strictly narrower. */
		if (j + 1 < nslots && t->start[b] == next)
			b--;
		if (b - a <= LEAF_RANGES)
			continue;
		if ((child = NAME(node_build)(t, a, b, 1, SLOT_RANGES)) < 0)
			return -1;
		t->slot[off + j] = SLOT_CHILD | (uint32_t)child;
	}
	return id;
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
		NAME(emit)(t, key, NAME(owner)(t, (int32_t)t->n));
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
	t->rprof = malloc(t->nranges);
	for (size_t r = 0; t->rprof && r < t->nranges; r++) {
		int32_t o = t->owner[r];
		uint16_t pr = o < 0 ? 0 : t->e[o & ~OWNER_EXPIRES].profile;

		if (pr > UINT8_MAX) {
			free(t->rprof);
			t->rprof = NULL;
			break;
		}
		t->rprof[r] = (uint8_t)pr;
	}
	if (t->nranges - 1 > LEAF_RANGES &&
	    NAME(node_build)(t, 0, (uint32_t)(t->nranges - 1), 8, ROOT_RANGES) < 0)
		return -1;
	if (t->nnodes &&
	    (p = realloc(t->node, t->nnodes * sizeof(*t->node))) != NULL)
		t->node = p;
	if (t->nslots &&
	    (p = realloc(t->slot, t->nslots * sizeof(*t->slot))) != NULL)
		t->slot = p;
	return 0;
}

/* The lookup's end, once the range is known to be one of lo .. hi: the
 * one holding key, its owner alive at now and the owner's profile. */
static inline int32_t NAME(settle)(const struct NAME(tab) *t, KEY_T key,
				   uint32_t lo, uint32_t hi, int64_t now,
				   uint16_t *profile)
{
	uint32_t mid;
	int32_t id;

	while (lo < hi) {
		mid = lo + ((hi - lo + 1) >> 1);
		if (t->start[mid] <= key)
			lo = mid;
		else
			hi = mid - 1;
	}
	id = t->owner[lo];
	if (id < 0)
		return -1;
	if (!(id & OWNER_EXPIRES)) {
		*profile = t->rprof ? t->rprof[lo] : t->e[id].profile;
		return id;
	}
	/* An expired owner: the innermost enclosing entry still alive. */
	id &= ~OWNER_EXPIRES;
	while (id >= 0 && t->e[id].expires &&
	       (int64_t)t->e[id].expires <= now)
		id = t->e[id].parent;
	if (id >= 0)
		*profile = t->e[id].profile;
	return id;
}

/*
 * A lookup in steps, so that many can run side by side: each step reads
 * what the one before prefetched and prefetches what the next reads. One
 * lookup alone is a chain of dependent cache misses (slot, node, starts,
 * owner); a burst of them interleaved waits for all its misses at once.
 */
struct NAME(cursor) {
	KEY_T key;
	const struct NAME(node) *nd;
	const uint32_t *sp;
	uint32_t lo, hi;
	int32_t id;
	uint16_t profile;
	uint8_t ph;
};

/* The range is known to be one of lo .. hi: load their starts, and the
 * owners and profiles the search will pick from. */
static inline void NAME(search_begin)(const struct NAME(tab) *t,
				      struct NAME(cursor) *c)
{
	size_t n = c->hi - c->lo + 1;

	prefetch_span(&t->start[c->lo], n * sizeof(*t->start));
	prefetch_span(&t->owner[c->lo], n * sizeof(*t->owner));
	if (t->rprof)
		prefetch_span(&t->rprof[c->lo], n);
	c->ph = LK_SEARCH;
}

static inline void NAME(cursor_init)(const struct NAME(tab) *t,
				     struct NAME(cursor) *c, KEY_T key)
{
	c->key = key;
	c->id = -1;
	c->nd = NULL;
	c->sp = NULL;
	if (t->n == 0 || key < t->lo || key > t->hi) {
		c->ph = LK_DONE;
		return;
	}
	c->lo = 0;
	c->hi = (uint32_t)t->nranges - 1;
	if (t->nnodes) {
		c->nd = t->node;
		c->ph = LK_NODE;
	} else {
		NAME(search_begin)(t, c);
	}
}

static inline void NAME(prefetch_node)(const struct NAME(node) *nd)
{
	prefetch_span(nd, sizeof(*nd));
}

/* One step; c->ph is LK_DONE once c->id (and c->profile) are known. */
static inline void NAME(step)(const struct NAME(tab) *t,
			      struct NAME(cursor) *c, int64_t now)
{
	const struct NAME(node) *nd = c->nd;
	uint32_t v, w;
	KEY_T j;

	switch (c->ph) {
	case LK_NODE:
		if (c->key < nd->lo) {
			c->lo = c->hi = nd->first;
			NAME(search_begin)(t, c);
			return;
		}
		j = (c->key - nd->base) >> nd->shift;
		if (j >> nd->bits) {
			c->lo = c->hi = nd->last;
			NAME(search_begin)(t, c);
			return;
		}
		c->sp = &t->slot[nd->off + (size_t)j];
		prefetch_span(c->sp, 2 * sizeof(*c->sp));
		c->ph = LK_SLOT;
		return;
	case LK_SLOT:
		v = c->sp[0];
		if (v & SLOT_CHILD) {
			c->nd = &t->node[v & ~SLOT_CHILD];
			NAME(prefetch_node)(c->nd);
			c->ph = LK_NODE;
			return;
		}
		w = c->sp[1];
		c->lo = v;
		if (w & SLOT_CHILD) {
			/* The ranges end where the next slot's node starts. */
			c->nd = &t->node[w & ~SLOT_CHILD];
			NAME(prefetch_node)(c->nd);
			c->ph = LK_HI;
			return;
		}
		c->hi = w;
		NAME(search_begin)(t, c);
		return;
	case LK_HI:
		c->hi = nd->first;
		NAME(search_begin)(t, c);
		return;
	case LK_SEARCH:
		break;
	default:
		return;
	}
	c->ph = LK_DONE;
	c->id = NAME(settle)(t, c->key, c->lo, c->hi, now, &c->profile);
}

/*
 * One lookup alone: the same walk as the steps above, as a plain loop
 * (bench_policy, 1M prefixes: 77 ns against 116 through the steps, whose
 * switch the branch predictor cannot follow).
 */
static inline int32_t NAME(lookup)(const struct NAME(tab) *t, KEY_T key,
				   int64_t now, uint16_t *profile)
{
	const struct NAME(node) *nd;
	uint32_t lo = 0, hi, v, w;
	KEY_T j;

	if (t->n == 0 || key < t->lo || key > t->hi)
		return -1;
	hi = (uint32_t)t->nranges - 1;
	for (nd = t->nnodes ? t->node : NULL; nd; ) {
		if (key < nd->lo) {
			lo = hi = nd->first;
			break;
		}
		j = (key - nd->base) >> nd->shift;
		if (j >> nd->bits) {
			lo = hi = nd->last;
			break;
		}
		v = t->slot[nd->off + (size_t)j];
		if (v & SLOT_CHILD) {
			nd = &t->node[v & ~SLOT_CHILD];
			continue;
		}
		w = t->slot[nd->off + (size_t)j + 1];
		lo = v;
		hi = w & SLOT_CHILD ? t->node[w & ~SLOT_CHILD].first : w;
		break;
	}
	/* The owner's lines load while the starts are searched. */
	__builtin_prefetch(&t->owner[lo]);
	if (t->rprof)
		__builtin_prefetch(&t->rprof[lo]);
	return NAME(settle)(t, key, lo, hi, now, profile);
}

/*
 * The lookups of n addresses, interleaved MANY_CHUNK at a time: each
 * round takes every unfinished one a step further.
 */
static void NAME(lookup_many)(const struct NAME(tab) *t,
			      const struct addr *const *a, size_t n,
			      int64_t now, int32_t *ids, uint16_t *profiles,
			      bool always)
{
	struct NAME(cursor) c[MANY_CHUNK];
	size_t base, m, i, left;

	if (t->nranges <= MANY_MIN_RANGES && !always) {
		/* A table the cache holds: nothing to overlap, and the
		 * plain loop is cheaper than the steps. */
		for (i = 0; i < n; i++)
			ids[i] = NAME(lookup)(t, KEY_FROM(a[i]), now,
					      &profiles[i]);
		return;
	}
	for (base = 0; base < n; base += m) {
		m = n - base < MANY_CHUNK ? n - base : MANY_CHUNK;
		for (left = 0, i = 0; i < m; i++) {
			NAME(cursor_init)(t, &c[i], KEY_FROM(a[base + i]));
			left += c[i].ph != LK_DONE;
		}
		while (left)
			for (i = 0; i < m; i++) {
				if (c[i].ph == LK_DONE)
					continue;
				NAME(step)(t, &c[i], now);
				left -= c[i].ph == LK_DONE;
			}
		for (i = 0; i < m; i++) {
			ids[base + i] = c[i].id;
			if (c[i].id >= 0)
				profiles[base + i] = c[i].profile;
		}
	}
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
	       (t->rprof ? t->nranges : 0) +
	       t->nnodes * sizeof(*t->node) + t->nslots * sizeof(*t->slot);
}

static void NAME(free)(struct NAME(tab) *t)
{
	free(t->e);
	free(t->start);
	free(t->owner);
	free(t->rprof);
	free(t->node);
	free(t->slot);
}

#undef KEY_MAX
#undef KEY_T
#undef KEY_BITS
#undef KEY_CLZ
#undef KEY_FROM
#undef KEY_TO
#undef NAME
