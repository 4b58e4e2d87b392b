// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The session table: records in chunks that never move, three indexes
 * (id, IPv4 address, IPv6 prefix) whose slots point at records, and the
 * retire list that keeps what the writer took out alive until no reader
 * can still hold it (identity.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "internal.h"

#define IX_MIN 1024u

static uint64_t be64(const uint8_t *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return __builtin_bswap64(v);
}

static uint64_t v6_mask(unsigned len)
{
	return len >= 64 ? ~0ULL : ~(~0ULL >> len);
}

static uint64_t h4(const struct identity *t, uint32_t v4)
{
	return hash_mix64(v4 ^ t->seed);
}

static uint64_t h6(const struct identity *t, uint64_t key, unsigned len)
{
	return hash_mix64(key ^ t->seed ^ ((uint64_t)len << 57) ^
			  0x6a09e667f3bcc909ULL);
}

static uint64_t rec_v6(const struct irec *r, unsigned w)
{
	return (uint64_t)atomic_load_explicit(&r->v6[w][0],
					      memory_order_relaxed) << 32 |
	       atomic_load_explicit(&r->v6[w][1], memory_order_relaxed);
}

uint64_t identity_id_key(const struct identity *t, const char *id,
			 size_t len)
{
	return ident_hash_bytes(t->seed, (const uint8_t *)id, len);
}

/* ---- indexes -------------------------------------------------------------- */

static struct ix *ix_new(uint32_t n)
{
	struct ix *x = ident_big_alloc(sizeof(*x) + (size_t)n * sizeof(x->slot[0]));

	if (x)
		x->n = n;
	return x;
}

static size_t ix_bytes(const struct ix *x)
{
	return sizeof(*x) + (size_t)x->n * sizeof(x->slot[0]);
}

/* Tag bits of a slot for hash h: IPv4 and id slots keep 8, IPv6 slots
 * 7 and which of the record's prefixes (bit 24). */
static uint32_t tag8(uint64_t h)
{
	return (uint32_t)(h & 0xff) << 24;
}

static uint32_t tag7(uint64_t h, unsigned which)
{
	return (uint32_t)(h & 0x7f) << 25 | (uint32_t)which << 24;
}

static void retire(struct identity *t, uint32_t rec, void *ptr)
{
	struct retired *r;

	if (t->nret == t->capret) {
		size_t cap = t->capret ? t->capret * 2 : 256;
		struct retired *n = realloc(t->ret, cap * sizeof(*n));

		if (!n) {
			/* No room to wait: a reader may still hold it, so it
			 * is kept, never freed, rather than freed early. */
			return;
		}
		t->ret = n;
		t->capret = cap;
	}
	r = &t->ret[t->nret++];
	r->stamp = atomic_fetch_add(&t->epoch, 1) + 1;
	r->rec = rec;
	r->ptr = ptr;
}

/* The hash a live slot value was placed with, from its record. */
static uint64_t slot_hash(const struct identity *t, int which_ix, uint32_t v)
{
	const struct irec *r = rec_at(t, SLOT_REF(v) - 1);

	if (which_ix == 0) {
		const uint8_t *n = ident_name(t, atomic_load(&r->name));

		return ident_hash_bytes(t->seed, n + 1, n[0]);
	}
	if (which_ix == 1)
		return h4(t, atomic_load(&r->v4));
	{
		unsigned w = (v >> 24) & 1;

		return h6(t, rec_v6(r, w), atomic_load(&r->v6len[w]));
	}
}

static _Atomic(struct ix *) *ix_ptr(struct identity *t, int which_ix)
{
	return which_ix == 0 ? &t->ix_id : which_ix == 1 ? &t->ix4 : &t->ix6;
}

static void ix_put(struct ix *x, uint64_t h, uint32_t v)
{
	uint32_t i = ix_pos(x, h);

	for (;;) {
		uint32_t s = atomic_load_explicit(&x->slot[i],
						  memory_order_relaxed);

		if (s == SLOT_EMPTY || s == SLOT_TOMB) {
			if (s == SLOT_TOMB)
				x->tombs--;
			atomic_store_explicit(&x->slot[i], v,
					      memory_order_release);
			x->used++;
			return;
		}
		if (++i == x->n)
			i = 0;
	}
}

/* Make room for one more: a new index, twice the live slots (no
 * tombstones), published whole; the old one retired. */
static int ix_room(struct identity *t, int which_ix)
{
	_Atomic(struct ix *) *pp = ix_ptr(t, which_ix);
	struct ix *x = atomic_load(pp), *n;
	uint32_t want;

	if ((uint64_t)(x->used + x->tombs + 1) * 10 <= (uint64_t)x->n * 7)
		return 0;
	want = x->used + 1 < IX_MIN / 2 ? IX_MIN : (x->used + 1) * 2;
	n = ix_new(want);
	if (!n)
		return -1;
	for (uint32_t i = 0; i < x->n; i++) {
		uint32_t v = atomic_load_explicit(&x->slot[i],
						  memory_order_relaxed);

		if (v != SLOT_EMPTY && v != SLOT_TOMB)
			ix_put(n, slot_hash(t, which_ix, v), v);
	}
	atomic_store_explicit(pp, n, memory_order_release);
	retire(t, NIL, x);
	return 0;
}

static int ix_insert(struct identity *t, int which_ix, uint64_t h,
		     uint32_t v)
{
	if (ix_room(t, which_ix) < 0)
		return -1;
	ix_put(atomic_load(ix_ptr(t, which_ix)), h, v);
	return 0;
}

static void ix_delete(struct identity *t, int which_ix, uint64_t h,
		      uint32_t v)
{
	struct ix *x = atomic_load(ix_ptr(t, which_ix));
	uint32_t i = ix_pos(x, h);

	for (uint32_t k = 0; k < x->n; k++) {
		uint32_t s = atomic_load_explicit(&x->slot[i],
						  memory_order_relaxed);

		if (s == SLOT_EMPTY)
			return;
		if (s == v) {
			atomic_store_explicit(&x->slot[i], SLOT_TOMB,
					      memory_order_release);
			x->used--;
			x->tombs++;
			return;
		}
		if (++i == x->n)
			i = 0;
	}
}

/* ---- finding records (any thread) ---------------------------------------- */

static uint32_t find_v4(const struct identity *t, uint32_t v4)
{
	const struct ix *x = atomic_load_explicit(&t->ix4,
						  memory_order_acquire);
	uint64_t h = h4(t, v4);
	uint32_t i = ix_pos(x, h), tag = tag8(h);

	for (uint32_t k = 0; k < x->n; k++) {
		uint32_t s = atomic_load_explicit(&x->slot[i],
						  memory_order_acquire);

		if (s == SLOT_EMPTY)
			return NIL;
		if (s != SLOT_TOMB && (s & 0xff000000u) == tag) {
			const struct irec *r = rec_at(t, SLOT_REF(s) - 1);

			if (atomic_load_explicit(&r->v4, memory_order_relaxed) ==
			    v4)
				return SLOT_REF(s) - 1;
		}
		if (++i == x->n)
			i = 0;
	}
	return NIL;
}

/* The record holding exactly key/len, and which of its prefixes. */
static uint32_t find_v6(const struct identity *t, uint64_t key, unsigned len,
			unsigned *which)
{
	const struct ix *x = atomic_load_explicit(&t->ix6,
						  memory_order_acquire);
	uint64_t h = h6(t, key, len);
	uint32_t i = ix_pos(x, h), tag = (uint32_t)(h & 0x7f) << 25;

	for (uint32_t k = 0; k < x->n; k++) {
		uint32_t s = atomic_load_explicit(&x->slot[i],
						  memory_order_acquire);

		if (s == SLOT_EMPTY)
			return NIL;
		if (s != SLOT_TOMB && (s & 0xfe000000u) == tag) {
			const struct irec *r = rec_at(t, SLOT_REF(s) - 1);
			unsigned w = (s >> 24) & 1;

			if (atomic_load_explicit(&r->v6len[w],
						 memory_order_relaxed) == len &&
			    rec_v6(r, w) == key) {
				*which = w;
				return SLOT_REF(s) - 1;
			}
		}
		if (++i == x->n)
			i = 0;
	}
	return NIL;
}

/* The record of the longest prefix of at most max bits holding an IPv6
 * address (top 64). */
static uint32_t find_v6_addr(const struct identity *t, uint64_t hi,
			     unsigned max, unsigned *len, unsigned *which)
{
	uint64_t mask = atomic_load_explicit(&t->v6mask, memory_order_relaxed);

	if (max < 64)
		mask &= (1ULL << max) - 1;	/* bit L-1: length L */
	while (mask) {
		unsigned l = 64 - (unsigned)__builtin_clzll(mask);
		uint32_t r = find_v6(t, hi & v6_mask(l), l, which);

		if (r != NIL) {
			*len = l;
			return r;
		}
		mask &= ~(1ULL << (l - 1));
	}
	return NIL;
}

static uint32_t find_id(const struct identity *t, const char *id, size_t len,
			uint64_t h)
{
	const struct ix *x = atomic_load(&t->ix_id);
	uint32_t i = ix_pos(x, h), tag = tag8(h);

	for (uint32_t k = 0; k < x->n; k++) {
		uint32_t s = atomic_load_explicit(&x->slot[i],
						  memory_order_relaxed);

		if (s == SLOT_EMPTY)
			return NIL;
		if (s != SLOT_TOMB && (s & 0xff000000u) == tag) {
			const struct irec *r = rec_at(t, SLOT_REF(s) - 1);
			const uint8_t *n = ident_name(t, atomic_load(&r->name));

			if (n[0] == len && !memcmp(n + 1, id, len))
				return SLOT_REF(s) - 1;
		}
		if (++i == x->n)
			i = 0;
	}
	return NIL;
}

static bool rec_live(const struct irec *r, int64_t now)
{
	uint32_t e = atomic_load_explicit(&r->expires, memory_order_relaxed);

	return atomic_load_explicit(&r->name, memory_order_relaxed) &&
	       (e == 0 || (int64_t)e > now);
}

/* ---- readers ---------------------------------------------------------------- */

uint64_t identity_epoch(const struct identity *t)
{
	return atomic_load(&t->epoch);
}

void identity_prefetch(const struct identity *t, const struct addr *src)
{
	const struct ix *x;
	uint64_t h;

	if (addr_is_v4(src)) {
		x = atomic_load_explicit(&t->ix4, memory_order_acquire);
		if (!x->used)
			return;
		h = h4(t, (uint32_t)be64(src->b + 8));
	} else {
		uint64_t mask = atomic_load_explicit(&t->v6mask,
						     memory_order_relaxed);
		unsigned l;

		if (!mask)
			return;
		l = 64 - (unsigned)__builtin_clzll(mask);
		x = atomic_load_explicit(&t->ix6, memory_order_acquire);
		h = h6(t, be64(src->b) & v6_mask(l), l);
	}
	__builtin_prefetch(&x->slot[ix_pos(x, h)]);
}

int identity_lookup(const struct identity *t, const struct addr *src,
		    int64_t now, struct identity_hit *hit)
{
	uint32_t r;
	const struct irec *rec;
	const uint8_t *n;

	if (addr_is_v4(src)) {
		if (!atomic_load_explicit(&t->ix4, memory_order_acquire)->used)
			return 0;
		r = find_v4(t, (uint32_t)be64(src->b + 8));
	} else {
		unsigned len, which;

		r = find_v6_addr(t, be64(src->b), 64, &len, &which);
	}
	if (r == NIL)
		return 0;
	rec = rec_at(t, r);
	if (!rec_live(rec, now))
		return 0;
	n = ident_name(t, atomic_load_explicit(&rec->name,
					       memory_order_relaxed));
	hit->id = (const char *)n + 1;
	hit->len = n[0];
	hit->key = ident_hash_bytes(t->seed, n + 1, n[0]);
	return 1;
}

/*
 * A burst at once, in stages, each starting the loads the next one
 * needs for every source before it reads any: the index slots, then the
 * records they name, then the ids. A look-up is three dependent cache
 * misses (slot, record, id); one after the other they cost three memory
 * latencies a SYN, overlapped across the burst nearer three a burst.
 * A candidate that turns out wrong (a tag that matched another address:
 * 1 in 256) is looked up again the plain way.
 */
static bool is_v4(const struct addr *a)
{
	uint64_t hi;
	uint32_t mid;

	memcpy(&hi, a->b, 8);
	memcpy(&mid, a->b + 8, 4);
	return hi == 0 && mid == htonl(0xffff);
}

void identity_lookup_many(const struct identity *t,
			  const struct addr *const *src, size_t n,
			  int64_t now, struct identity_hit *hit, bool *found)
{
	const struct ix *x4 = atomic_load_explicit(&t->ix4,
						   memory_order_acquire);
	const struct ix *x6 = atomic_load_explicit(&t->ix6,
						   memory_order_acquire);
	uint64_t mask6 = atomic_load_explicit(&t->v6mask,
					      memory_order_relaxed);
	unsigned l6 = mask6 ? 64 - (unsigned)__builtin_clzll(mask6) : 0;
	uint64_t key[IDENTITY_LOOKUP_MAX], h[IDENTITY_LOOKUP_MAX];
	uint32_t rec[IDENTITY_LOOKUP_MAX];
	uint8_t which[IDENTITY_LOOKUP_MAX];
	bool v4[IDENTITY_LOOKUP_MAX];
	const uint8_t *name[IDENTITY_LOOKUP_MAX];

	if (n > IDENTITY_LOOKUP_MAX) {
		identity_lookup_many(t, src, IDENTITY_LOOKUP_MAX, now, hit,
				     found);
		identity_lookup_many(t, src + IDENTITY_LOOKUP_MAX,
				     n - IDENTITY_LOOKUP_MAX, now,
				     hit + IDENTITY_LOOKUP_MAX,
				     found + IDENTITY_LOOKUP_MAX);
		return;
	}
	/* No session at all (no feed): nothing to hash or probe. */
	if (!x4->used && !l6) {
		memset(found, 0, n * sizeof(*found));
		return;
	}
	/* 1: the slots (IPv6: of the longest prefix length held). */
	for (size_t i = 0; i < n; i++) {
		const struct ix *x;

		found[i] = false;
		rec[i] = NIL;
		v4[i] = is_v4(src[i]);
		if (v4[i]) {
			x = x4;
			key[i] = (uint32_t)be64(src[i]->b + 8);
			h[i] = h4(t, (uint32_t)key[i]);
		} else {
			x = x6;
			key[i] = l6 ? be64(src[i]->b) & v6_mask(l6) : 0;
			h[i] = h6(t, key[i], l6);
		}
		if (x->used)
			__builtin_prefetch(&x->slot[ix_pos(x, h[i])]);
	}
	/* 2: the first slot whose tag matches: its record. */
	for (size_t i = 0; i < n; i++) {
		const struct ix *x = v4[i] ? x4 : x6;
		uint32_t tag = v4[i] ? tag8(h[i]) : (uint32_t)(h[i] & 0x7f) << 25;
		uint32_t tmask = v4[i] ? 0xff000000u : 0xfe000000u;
		uint32_t j = ix_pos(x, h[i]);

		if (!x->used || (!v4[i] && !l6))
			continue;
		for (uint32_t k = 0; k < x->n; k++) {
			uint32_t v = atomic_load_explicit(&x->slot[j],
							  memory_order_acquire);

			if (v == SLOT_EMPTY)
				break;
			if (v != SLOT_TOMB && (v & tmask) == tag) {
				rec[i] = SLOT_REF(v) - 1;
				which[i] = (v >> 24) & 1;
				__builtin_prefetch(rec_at(t, rec[i]));
				break;
			}
			if (++j == x->n)
				j = 0;
		}
	}
	/* 3: the records: still the address's (else the plain way: a tag
	 * that matched another's, a shorter prefix), live? Their ids. */
	for (size_t i = 0; i < n; i++) {
		const struct irec *r = rec[i] == NIL ? NULL : rec_at(t, rec[i]);
		bool ok;

		name[i] = NULL;
		if (v4[i]) {
			ok = r && atomic_load_explicit(&r->v4,
					memory_order_relaxed) == key[i];
			if (!ok && r) {
				uint32_t o = find_v4(t, (uint32_t)key[i]);

				r = o == NIL ? NULL : rec_at(t, o);
			}
		} else if (l6) {
			unsigned w = which[i], len;

			ok = r && atomic_load_explicit(&r->v6len[w],
					memory_order_relaxed) == l6 &&
			     rec_v6(r, w) == key[i];
			if (!ok) {
				uint32_t o = find_v6_addr(t, be64(src[i]->b),
							  r ? 64 : l6 - 1,
							  &len, &w);

				r = o == NIL ? NULL : rec_at(t, o);
			}
		}
		if (!r || !rec_live(r, now))
			continue;
		name[i] = ident_name(t, atomic_load_explicit(
			&r->name, memory_order_relaxed));
		__builtin_prefetch(name[i]);
	}
	/* 4: the ids, and the key the stats count by. */
	for (size_t i = 0; i < n; i++) {
		if (!name[i])
			continue;
		hit[i].id = (const char *)name[i] + 1;
		hit[i].len = name[i][0];
		hit[i].key = ident_hash_bytes(t->seed, name[i] + 1,
					      name[i][0]);
		found[i] = true;
	}
}

/* ---- the writer --------------------------------------------------------------- */

struct identity *identity_open(size_t max, uint64_t seed,
			       identity_note_fn note, void *arg)
{
	struct identity *t;
	uint64_t cap;

	if (max == 0 || max > IDENTITY_LIMIT) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->seed = seed;
	t->max = max;
	t->note = note;
	t->note_arg = arg;
	atomic_init(&t->epoch, 1);
	t->rec_free = NIL;
	/* Retired records wait for the readers: room for them over max. */
	cap = (uint64_t)max + max / 8 + REC_CHUNK;
	if (cap > (uint64_t)REC_CHUNKS * REC_CHUNK - 2)
		cap = (uint64_t)REC_CHUNKS * REC_CHUNK - 2;
	t->rec_cap = (uint32_t)cap;
	t->c.max = max;
	atomic_init(&t->ix_id, ix_new(IX_MIN));
	atomic_init(&t->ix4, ix_new(IX_MIN));
	atomic_init(&t->ix6, ix_new(IX_MIN));
	if (!atomic_load(&t->ix_id) || !atomic_load(&t->ix4) ||
	    !atomic_load(&t->ix6) || ident_names_open(t, t->rec_cap) < 0) {
		identity_close(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

static void rec_release(struct identity *t, uint32_t i)
{
	struct irec *r = rec_at(t, i);

	ident_name_free(t, atomic_load(&r->name));
	atomic_store(&r->name, 0);
	atomic_store(&r->v4, t->rec_free);
	t->rec_free = i;
}

void identity_reclaim(struct identity *t, uint64_t oldest)
{
	size_t k = 0;

	for (size_t i = 0; i < t->nret; i++) {
		struct retired *r = &t->ret[i];

		if (r->stamp > oldest) {
			t->ret[k++] = *r;
			continue;
		}
		if (r->rec != NIL)
			rec_release(t, r->rec);
		else
			free(r->ptr);
	}
	t->nret = k;
}

void identity_close(struct identity *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nret; i++)
		if (t->ret[i].rec == NIL)
			free(t->ret[i].ptr);
	free(t->ret);
	free(atomic_load(&t->ix_id));
	free(atomic_load(&t->ix4));
	free(atomic_load(&t->ix6));
	ident_names_close(t);
	for (uint32_t i = 0; i < t->nchunks; i++)
		free(atomic_load(&t->chunk[i]));
	free(t);
}

static uint32_t rec_alloc(struct identity *t)
{
	uint32_t i;

	if (t->rec_free != NIL) {
		i = t->rec_free;
		t->rec_free = atomic_load(&rec_at(t, i)->v4);
		return i;
	}
	if (t->rec_hw >= t->rec_cap) {
		errno = ENOSPC;
		return NIL;
	}
	if ((t->rec_hw >> REC_CHUNK_BITS) >= t->nchunks) {
		struct irec *c = ident_big_alloc(REC_CHUNK * sizeof(*c));

		if (!c)
			return NIL;
		atomic_store_explicit(&t->chunk[t->nchunks++], c,
				      memory_order_release);
	}
	return t->rec_hw++;
}

static const char *source_name(const struct identity *t, unsigned i)
{
	return i < t->nsources ? t->sources[i] : "";
}

static unsigned source_index(struct identity *t, const char *name)
{
	for (unsigned i = 0; i < t->nsources; i++)
		if (!strcmp(t->sources[i], name))
			return i;
	if (t->nsources == 256)
		return 0;	/* more feeds than anyone runs: unnamed */
	snprintf(t->sources[t->nsources], sizeof(t->sources[0]), "%s", name);
	return t->nsources++;
}

static void note(struct identity *t, enum identity_what what, uint32_t i,
		 const struct identity_addr *a)
{
	const struct irec *r = rec_at(t, i);
	const uint8_t *n = ident_name(t, atomic_load(&r->name));
	char id[IDENTITY_ID_MAX + 1];
	struct identity_change c = {
		.what = what,
		.id = id,
		.key = ident_hash_bytes(t->seed, n + 1, n[0]),
		.source = source_name(t, r->source),
		.expires = atomic_load(&r->expires),
	};

	if (!t->note)
		return;
	memcpy(id, n + 1, n[0]);
	id[n[0]] = '\0';
	if (a)
		c.addr = *a;
	t->note(t->note_arg, &c);
}

static void v4_addr(struct identity_addr *a, uint32_t v4)
{
	addr_from_v4(&a->a, v4);
	a->len = 32;
}

static void v6_addr(struct identity_addr *a, uint64_t key, unsigned len)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 8; i++)
		a->a.b[i] = (uint8_t)(key >> (56 - 8 * i));
	a->len = (uint8_t)len;
}

static void v6count(struct identity *t, unsigned len, int d)
{
	t->v6count[len] += (uint32_t)d;
	if (t->v6count[len])
		atomic_fetch_or(&t->v6mask, 1ULL << (len - 1));
	else
		atomic_fetch_and(&t->v6mask, ~(1ULL << (len - 1)));
}

/* Take record i's IPv4 address out of the index (and the record). */
static void drop_v4(struct identity *t, uint32_t i, enum identity_what what)
{
	struct irec *r = rec_at(t, i);
	uint32_t v4 = atomic_load(&r->v4);
	uint64_t h = h4(t, v4);
	struct identity_addr a;

	if (!v4)
		return;
	ix_delete(t, 1, h, tag8(h) | (i + 1));
	v4_addr(&a, v4);
	if (what != IDENTITY_END)
		note(t, what, i, &a);
	atomic_store(&r->v4, 0);
	t->c.v4--;
}

static void drop_v6(struct identity *t, uint32_t i, unsigned w,
		    enum identity_what what)
{
	struct irec *r = rec_at(t, i);
	unsigned len = atomic_load(&r->v6len[w]);
	uint64_t key = rec_v6(r, w), h;
	struct identity_addr a;

	if (!len)
		return;
	h = h6(t, key, len);
	ix_delete(t, 2, h, tag7(h, w) | (i + 1));
	v6_addr(&a, key, len);
	if (what != IDENTITY_END)
		note(t, what, i, &a);
	atomic_store(&r->v6len[w], 0);
	v6count(t, len, -1);
	t->c.v6--;
}

static bool rec_empty(const struct irec *r)
{
	if (atomic_load(&r->v4))
		return false;
	for (unsigned w = 0; w < IDENTITY_V6_MAX; w++)
		if (atomic_load(&r->v6len[w]))
			return false;
	return true;
}

/* End record i's session: every address out (noted as what), then the
 * record out of the id index and retired. */
static void rec_end(struct identity *t, uint32_t i, enum identity_what what)
{
	struct irec *r = rec_at(t, i);
	const uint8_t *n = ident_name(t, atomic_load(&r->name));
	uint64_t h = ident_hash_bytes(t->seed, n + 1, n[0]);

	drop_v4(t, i, what);
	for (unsigned w = 0; w < IDENTITY_V6_MAX; w++)
		drop_v6(t, i, w, what);
	note(t, IDENTITY_END, i, NULL);
	ix_delete(t, 0, h, tag8(h) | (i + 1));
	/* A reader that found it a moment ago sees it expired. */
	atomic_store(&r->expires, 1);
	r->live = 0;
	t->live--;
	retire(t, i, NULL);
}

/* After one of its addresses moved away: end a session left empty. */
static void rec_end_if_empty(struct identity *t, uint32_t i)
{
	if (rec_empty(rec_at(t, i)))
		rec_end(t, i, IDENTITY_END);
}

static int put_v4(struct identity *t, uint32_t i, uint32_t v4)
{
	uint64_t h = h4(t, v4);
	struct identity_addr a;

	atomic_store(&rec_at(t, i)->v4, v4);
	if (ix_insert(t, 1, h, tag8(h) | (i + 1)) < 0) {
		atomic_store(&rec_at(t, i)->v4, 0);
		return -1;
	}
	t->c.v4++;
	v4_addr(&a, v4);
	note(t, IDENTITY_START, i, &a);
	return 0;
}

static int put_v6(struct identity *t, uint32_t i, unsigned w, uint64_t key,
		  unsigned len)
{
	struct irec *r = rec_at(t, i);
	uint64_t h = h6(t, key, len);
	struct identity_addr a;

	atomic_store(&r->v6[w][0], (uint32_t)(key >> 32));
	atomic_store(&r->v6[w][1], (uint32_t)key);
	atomic_store(&r->v6len[w], (uint8_t)len);
	if (ix_insert(t, 2, h, tag7(h, w) | (i + 1)) < 0) {
		atomic_store(&r->v6len[w], 0);
		return -1;
	}
	v6count(t, len, 1);
	t->c.v6++;
	v6_addr(&a, key, len);
	note(t, IDENTITY_START, i, &a);
	return 0;
}

/* The session's addresses as keys: IPv4 (0 none) and IPv6 top 64 bits. */
struct keys {
	uint32_t v4;
	unsigned nv6;
	uint64_t v6[IDENTITY_V6_MAX];
	unsigned len[IDENTITY_V6_MAX];
};

static int session_keys(const struct identity_session *s, struct keys *k,
			char *why, size_t size)
{
	memset(k, 0, sizeof(*k));
	if (!s->has_v4 && !s->nv6) {
		snprintf(why, size, "a session needs an address");
		return -1;
	}
	if (s->nv6 > IDENTITY_V6_MAX) {
		snprintf(why, size, "a session holds at most %d IPv6 prefixes",
			 IDENTITY_V6_MAX);
		return -1;
	}
	if (s->has_v4) {
		if (!addr_is_v4(&s->v4.a)) {
			snprintf(why, size, "the IPv4 address is not IPv4");
			return -1;
		}
		k->v4 = (uint32_t)be64(s->v4.a.b + 8);
		if (!k->v4) {
			snprintf(why, size, "0.0.0.0 is no subscriber's address");
			return -1;
		}
	}
	for (unsigned w = 0; w < s->nv6; w++) {
		unsigned len = s->v6[w].len;

		if (addr_is_v4(&s->v6[w].a) || len < 1 || len > 64) {
			snprintf(why, size, "an IPv6 prefix of a session is /1 "
				 "to /64");
			return -1;
		}
		k->v6[w] = be64(s->v6[w].a.b) & v6_mask(len);
		k->len[w] = len;
		for (unsigned j = 0; j < w; j++)
			if (k->v6[j] == k->v6[w] && k->len[j] == len) {
				snprintf(why, size, "an IPv6 prefix is given "
					 "twice");
				return -1;
			}
	}
	k->nv6 = s->nv6;
	return 0;
}

/* Whether record i holds exactly k's addresses. */
static bool same_keys(const struct identity *t, uint32_t i,
		      const struct keys *k)
{
	const struct irec *r = rec_at(t, i);
	unsigned have = 0;

	if (atomic_load(&r->v4) != k->v4)
		return false;
	for (unsigned w = 0; w < IDENTITY_V6_MAX; w++)
		if (atomic_load(&r->v6len[w]))
			have++;
	if (have != k->nv6)
		return false;
	for (unsigned j = 0; j < k->nv6; j++) {
		bool found = false;

		for (unsigned w = 0; w < IDENTITY_V6_MAX; w++)
			if (atomic_load(&r->v6len[w]) == k->len[j] &&
			    rec_v6(r, w) == k->v6[j])
				found = true;
		if (!found)
			return false;
	}
	return true;
}

/* Take the addresses of k from whoever else holds them. */
static void take_from_others(struct identity *t, uint32_t self,
			     const struct keys *k)
{
	uint32_t o;
	unsigned w;

	if (k->v4 && (o = find_v4(t, k->v4)) != NIL && o != self) {
		drop_v4(t, o, IDENTITY_MOVE);
		rec_end_if_empty(t, o);
	}
	for (unsigned j = 0; j < k->nv6; j++)
		if ((o = find_v6(t, k->v6[j], k->len[j], &w)) != NIL &&
		    o != self) {
			drop_v6(t, o, w, IDENTITY_MOVE);
			rec_end_if_empty(t, o);
		}
}

/* Give record i exactly k's addresses: those it no longer holds out
 * (stopped), the new ones in. */
static int set_keys(struct identity *t, uint32_t i, const struct keys *k)
{
	struct irec *r = rec_at(t, i);

	if (atomic_load(&r->v4) != k->v4) {
		drop_v4(t, i, IDENTITY_STOP);
		if (k->v4 && put_v4(t, i, k->v4) < 0)
			return -1;
	}
	for (unsigned w = 0; w < IDENTITY_V6_MAX; w++) {
		unsigned len = atomic_load(&r->v6len[w]);
		bool keep = false;

		for (unsigned j = 0; j < k->nv6 && len; j++)
			if (k->len[j] == len && k->v6[j] == rec_v6(r, w))
				keep = true;
		if (len && !keep)
			drop_v6(t, i, w, IDENTITY_STOP);
	}
	for (unsigned j = 0; j < k->nv6; j++) {
		unsigned w, freew = IDENTITY_V6_MAX;
		bool have = false;

		for (w = 0; w < IDENTITY_V6_MAX; w++) {
			unsigned len = atomic_load(&r->v6len[w]);

			if (len == k->len[j] && rec_v6(r, w) == k->v6[j])
				have = true;
			else if (!len && freew == IDENTITY_V6_MAX)
				freew = w;
		}
		if (!have && put_v6(t, i, freew, k->v6[j], k->len[j]) < 0)
			return -1;
	}
	return 0;
}

static int expiry_check(const struct identity_session *s, int64_t now,
			char *why, size_t size)
{
	if (s->expires != 0 && (s->expires <= now || s->expires > UINT32_MAX)) {
		snprintf(why, size, s->expires <= now ?
			 "the session's end is not in the future" :
			 "the session's end is past 2106");
		return -1;
	}
	return 0;
}

/* A feed's name is one word of the state file's lines, "-" standing for
 * none there: anything else would not read back. */
static int source_check(const char *src, char *why, size_t size)
{
	size_t len = strnlen(src, IDENTITY_SOURCE_MAX + 1);
	bool ok = len <= IDENTITY_SOURCE_MAX && strcmp(src, "-");

	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)src[i] > 0x20 && (unsigned char)src[i] < 0x7f;
	if (!ok)
		snprintf(why, size, "a feed's name is up to %d printable ASCII "
			 "characters without spaces, not \"-\"",
			 IDENTITY_SOURCE_MAX);
	return ok ? 0 : -1;
}

int identity_start(struct identity *t, const struct identity_session *s,
		   int64_t now, char *why, size_t size)
{
	size_t len = strlen(s->id);
	uint64_t h;
	struct keys k;
	uint32_t i;
	struct irec *r;
	uint32_t name;

	if (identity_id_check(s->id, len, why, size) < 0 ||
	    source_check(s->source, why, size) < 0 ||
	    session_keys(s, &k, why, size) < 0 ||
	    expiry_check(s, now, why, size) < 0) {
		errno = EINVAL;
		return -1;
	}
	h = ident_hash_bytes(t->seed, (const uint8_t *)s->id, len);
	i = find_id(t, s->id, len, h);
	if (i != NIL) {
		r = rec_at(t, i);
		atomic_store(&r->expires, (uint32_t)s->expires);
		r->source = (uint8_t)source_index(t, s->source);
		if (same_keys(t, i, &k)) {
			t->c.renewals++;
			return 0;
		}
		take_from_others(t, i, &k);
		if (set_keys(t, i, &k) < 0)
			goto nomem;
		t->c.moves++;
		return 1;
	}
	if (t->live >= t->max) {
		t->c.refused_full++;
		snprintf(why, size, "the session table is full: %zu sessions "
			 "(portcullisd --max-sessions)", t->max);
		errno = ENOSPC;
		return -1;
	}
	if (ix_room(t, 0) < 0 || ix_room(t, 1) < 0 || ix_room(t, 2) < 0)
		goto nomem;
	i = rec_alloc(t);
	if (i == NIL) {
		if (errno == ENOSPC) {
			snprintf(why, size, "no session record is free yet "
				 "(sessions ended a moment ago are still read)");
			return -1;
		}
		goto nomem;
	}
	if (ident_name_alloc(t, s->id, len, &name) < 0) {
		atomic_store(&rec_at(t, i)->v4, t->rec_free);
		t->rec_free = i;
		goto nomem;
	}
	r = rec_at(t, i);
	atomic_store(&r->v4, 0);
	for (unsigned w = 0; w < IDENTITY_V6_MAX; w++)
		atomic_store(&r->v6len[w], 0);
	atomic_store(&r->expires, (uint32_t)s->expires);
	r->source = (uint8_t)source_index(t, s->source);
	r->live = 1;
	atomic_store(&r->name, name);
	t->live++;
	t->c.starts++;
	ix_put(atomic_load(&t->ix_id), h, tag8(h) | (i + 1));
	take_from_others(t, i, &k);
	if (set_keys(t, i, &k) < 0) {
		rec_end(t, i, IDENTITY_STOP);
		goto nomem;
	}
	return 1;
nomem:
	snprintf(why, size, "out of memory");
	errno = ENOMEM;
	return -1;
}

int identity_stop_id(struct identity *t, const char *id, int64_t now)
{
	size_t len = strlen(id);
	uint32_t i = find_id(t, id, len,
			     ident_hash_bytes(t->seed, (const uint8_t *)id, len));

	(void)now;
	if (i == NIL) {
		errno = ENOENT;
		return -1;
	}
	rec_end(t, i, IDENTITY_STOP);
	t->c.stops++;
	return 0;
}

/* The record holding a (exactly, or for IPv6 the longest prefix
 * holding its network), and which prefix. */
static uint32_t find_addr(const struct identity *t,
			  const struct identity_addr *a, unsigned *which)
{
	uint64_t hi;
	unsigned len;

	if (addr_is_v4(&a->a))
		return find_v4(t, (uint32_t)be64(a->a.b + 8));
	hi = be64(a->a.b);
	if (a->len && a->len <= 64) {
		uint32_t i = find_v6(t, hi & v6_mask(a->len), a->len, which);

		if (i != NIL)
			return i;
	}
	/* Inside a held prefix means no wider than it: a /48 is not in a /56
	 * that starts where it does. */
	return find_v6_addr(t, hi, a->len && a->len <= 64 ? a->len : 64, &len,
			    which);
}

int identity_stop_addr(struct identity *t, const struct identity_addr *a,
		       int64_t now)
{
	unsigned which = 0;
	uint32_t i = find_addr(t, a, &which);

	(void)now;
	if (i == NIL) {
		errno = ENOENT;
		return -1;
	}
	if (addr_is_v4(&a->a))
		drop_v4(t, i, IDENTITY_STOP);
	else
		drop_v6(t, i, which, IDENTITY_STOP);
	t->c.stops++;
	rec_end_if_empty(t, i);
	return 0;
}

size_t identity_expire(struct identity *t, int64_t now)
{
	size_t n = 0;

	for (uint32_t i = 0; i < t->rec_hw; i++) {
		struct irec *r = rec_at(t, i);
		uint32_t e;

		if (!r->live)
			continue;
		e = atomic_load_explicit(&r->expires, memory_order_relaxed);
		if (e && (int64_t)e <= now) {
			rec_end(t, i, IDENTITY_EXPIRE);
			t->c.expiries++;
			n++;
		}
	}
	return n;
}

static void describe(const struct identity *t, uint32_t i,
		     struct identity_session *out)
{
	const struct irec *r = rec_at(t, i);
	const uint8_t *n = ident_name(t, atomic_load(&r->name));
	uint32_t v4 = atomic_load(&r->v4);

	memset(out, 0, sizeof(*out));
	memcpy(out->id, n + 1, n[0]);
	snprintf(out->source, sizeof(out->source), "%s",
		 source_name(t, r->source));
	out->expires = atomic_load(&r->expires);
	if (v4) {
		out->has_v4 = true;
		v4_addr(&out->v4, v4);
	}
	for (unsigned w = 0; w < IDENTITY_V6_MAX; w++) {
		unsigned len = atomic_load(&r->v6len[w]);

		if (len)
			v6_addr(&out->v6[out->nv6++], rec_v6(r, w), len);
	}
}

int identity_get(const struct identity *t, const char *id, int64_t now,
		 struct identity_session *out)
{
	size_t len = strlen(id);
	uint32_t i = find_id(t, id, len,
			     ident_hash_bytes(t->seed, (const uint8_t *)id, len));

	if (i == NIL || !rec_live(rec_at(t, i), now)) {
		errno = ENOENT;
		return -1;
	}
	describe(t, i, out);
	return 0;
}

int identity_find(const struct identity *t, const struct identity_addr *a,
		  int64_t now, struct identity_session *out)
{
	unsigned which;
	uint32_t i = find_addr(t, a, &which);

	if (i == NIL || !rec_live(rec_at(t, i), now)) {
		errno = ENOENT;
		return -1;
	}
	describe(t, i, out);
	return 0;
}

int identity_nested(const struct identity *t, const struct identity_addr *a,
		    uint64_t self_key, int64_t now, size_t *budget)
{
	uint64_t mask = atomic_load(&t->v6mask), hi;
	unsigned len = a->len;

	if (addr_is_v4(&a->a) || len >= 64)
		return 0;
	hi = be64(a->a.b) & v6_mask(len);
	mask &= ~((1ULL << len) - 1);	/* lengths over len: bit L-1 */
	while (mask) {
		unsigned l = 1 + (unsigned)__builtin_ctzll(mask);
		uint64_t n;

		mask &= mask - 1;
		if (l - len > 32 || (n = 1ULL << (l - len)) > *budget)
			return -1;
		*budget -= n;
		for (uint64_t i = 0; i < n; i++) {
			unsigned w;
			uint32_t r = find_v6(t, hi | i << (64 - l), l, &w);
			const struct irec *rec;
			const uint8_t *nm;

			if (r == NIL)
				continue;
			rec = rec_at(t, r);
			if (!rec_live(rec, now))
				continue;
			nm = ident_name(t, atomic_load(&rec->name));
			if (ident_hash_bytes(t->seed, nm + 1, nm[0]) != self_key)
				return 1;
		}
	}
	return 0;
}

int identity_each(const struct identity *t, int64_t now,
		  int (*fn)(void *arg, const struct identity_session *s),
		  void *arg)
{
	struct identity_session s;

	for (uint32_t i = 0; i < t->rec_hw; i++) {
		const struct irec *r = rec_at(t, i);
		int ret;

		if (!r->live || !rec_live(r, now))
			continue;
		describe(t, i, &s);
		ret = fn(arg, &s);
		if (ret)
			return ret;
	}
	return 0;
}

void identity_counters(const struct identity *t, struct identity_counters *c)
{
	*c = t->c;
	c->sessions = t->live;
	c->memory = sizeof(*t) + (size_t)t->nchunks * REC_CHUNK *
				 sizeof(struct irec) +
		    ix_bytes(atomic_load(&t->ix_id)) +
		    ix_bytes(atomic_load(&t->ix4)) +
		    ix_bytes(atomic_load(&t->ix6)) + ident_names_memory(t) +
		    t->capret * sizeof(*t->ret);
	for (size_t i = 0; i < t->nret; i++)
		if (t->ret[i].rec == NIL)
			c->memory += ix_bytes(t->ret[i].ptr);
}

int identity_id_of(const struct identity *t, uint64_t key, char *out,
		   size_t size)
{
	const struct ix *x = atomic_load(&t->ix_id);
	uint32_t i = ix_pos(x, key), tag = tag8(key);

	for (uint32_t k = 0; k < x->n; k++) {
		uint32_t s = atomic_load_explicit(&x->slot[i],
						  memory_order_relaxed);

		if (s == SLOT_EMPTY)
			break;
		if (s != SLOT_TOMB && (s & 0xff000000u) == tag) {
			const struct irec *r = rec_at(t, SLOT_REF(s) - 1);
			const uint8_t *n = ident_name(t, atomic_load(&r->name));

			if (ident_hash_bytes(t->seed, n + 1, n[0]) == key) {
				snprintf(out, size, "%.*s", (int)n[0],
					 (const char *)n + 1);
				return 0;
			}
		}
		if (++i == x->n)
			i = 0;
	}
	errno = ENOENT;
	return -1;
}
