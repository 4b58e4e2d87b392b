// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Per-subscriber counts over a block log, for portcullis log --top.
 *
 * A subscriber is its subscriber id when its lines name one (its
 * addresses move: two of them are one row), else its address. Rows live
 * in a dense array found through an open-addressing index (linear
 * probing); the ids are kept once each, in chunks that never move.
 * Distinct destinations are exact, counted in one set of (subscriber,
 * destination) pairs for the whole log, so memory
 * follows the pairs seen instead of a per-subscriber set's fixed cost:
 * an IPv4 pair is one 64-bit word (subscriber << 32 | address), 8 bytes a
 * slot at most three quarters full; an IPv6 pair is 16 bytes, the
 * destination kept as a 64-bit hash of its 128 bits (two of one
 * subscriber's destinations merge with odds of about n²/2^65: 1 in 36
 * million for a million IPv6 destinations).
 * Summary lines add to blocked only: they carry a count of lines not
 * written, not the destinations.
 *
 * Sparklines, when asked for (the report's), are BLOCKLOG_SPARK counts a
 * row on one grid for all: when a line falls outside it, the grid's width
 * doubles toward that side and every row's counts merge in pairs, so the
 * grid always covers the lines counted, at most about 60 doublings over
 * any span the parser accepts, and a row costs 128 bytes more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklog/blocklog.h"
#include "common/hash.h"

#define MIN_SLOTS 1024
#define ID_CHUNK (64 * 1024)

/* A chunk of subscriber ids, NUL-terminated one after another. */
struct ids {
	struct ids *next;
	size_t used;
	char text[ID_CHUNK];
};

/* An IPv6 pair; sub is the subscriber index + 1, 0 for an empty slot. */
struct pair6 {
	uint64_t dst;
	uint32_t sub;
};

struct blocklog_agg {
	struct blocklog_sub *subs;
	size_t nsubs, subs_cap;
	uint32_t *index;		/* subscriber index + 1; 0: empty */
	size_t index_slots;		/* a power of two */
	uint64_t *pairs4;		/* (index + 1) << 32 | IPv4; 0: empty */
	size_t npairs4, slots4;		/* a power of two */
	struct pair6 *pairs6;
	size_t npairs6, slots6;		/* a power of two */
	struct blocklog_sub *result;	/* sorted copy for the caller */
	size_t nresult;
	struct ids *ids;		/* the newest chunk first */
	uint32_t (*spark)[BLOCKLOG_SPARK];	/* subs_cap of them, or NULL */
	struct blocklog_grid grid;
};

static void addr_words(const struct addr *a, uint64_t *hi,
		       uint64_t *lo)
{
	memcpy(hi, a->b, 8);
	memcpy(lo, a->b + 8, 8);
}

static uint64_t addr_hash(const struct addr *a)
{
	uint64_t hi, lo;

	addr_words(a, &hi, &lo);
	return hash_mix64(hi ^ hash_mix64(lo + 0x9e3779b97f4a7c15ULL));
}

/* FNV-1a, mixed: ids are short, and few next to the lines. */
static uint64_t id_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return hash_mix64(h);
}

/* The row of an id, or of an address (id NULL). */
static uint64_t row_hash(const char *id, const struct addr *a)
{
	return id ? id_hash(id) : addr_hash(a);
}

static bool row_is(const struct blocklog_sub *s, const char *id,
		   const struct addr *a)
{
	if (id || s->subscriber)
		return id && s->subscriber && !strcmp(id, s->subscriber);
	return !memcmp(s->addr.b, a->b, sizeof(a->b));
}

/* A lasting copy of id. NULL with errno ENOMEM. */
static const char *id_keep(struct blocklog_agg *a, const char *id)
{
	size_t n = strlen(id) + 1;
	struct ids *c = a->ids;
	char *p;

	if (!c || ID_CHUNK - c->used < n) {
		c = malloc(sizeof(*c));
		if (!c)
			return NULL;
		c->next = a->ids;
		c->used = 0;
		a->ids = c;
	}
	p = c->text + c->used;
	memcpy(p, id, n);
	c->used += n;
	return p;
}

static uint64_t pair_hash(uint64_t dst, uint32_t sub)
{
	return hash_mix64(dst ^
			  hash_mix64((uint64_t)sub * 0x9e3779b97f4a7c15ULL));
}

struct blocklog_agg *blocklog_agg_new(void)
{
	struct blocklog_agg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->index_slots = a->slots4 = a->slots6 = MIN_SLOTS;
	a->index = calloc(a->index_slots, sizeof(*a->index));
	a->pairs4 = calloc(a->slots4, sizeof(*a->pairs4));
	a->pairs6 = calloc(a->slots6, sizeof(*a->pairs6));
	if (!a->index || !a->pairs4 || !a->pairs6) {
		blocklog_agg_free(a);
		errno = ENOMEM;
		return NULL;
	}
	return a;
}

void blocklog_agg_free(struct blocklog_agg *a)
{
	if (!a)
		return;
	free(a->subs);
	free(a->index);
	free(a->pairs4);
	free(a->pairs6);
	free(a->result);
	free(a->spark);
	while (a->ids) {
		struct ids *next = a->ids->next;

		free(a->ids);
		a->ids = next;
	}
	free(a);
}

size_t blocklog_agg_count(const struct blocklog_agg *a)
{
	return a->nsubs;
}

static int index_grow(struct blocklog_agg *a)
{
	size_t slots = a->index_slots * 2, mask = slots - 1;
	uint32_t *idx = calloc(slots, sizeof(*idx));

	if (!idx)
		return -1;
	for (size_t i = 0; i < a->nsubs; i++) {
		const struct blocklog_sub *sub = &a->subs[i];
		size_t s = row_hash(sub->subscriber, &sub->addr) & mask;

		while (idx[s])
			s = (s + 1) & mask;
		idx[s] = (uint32_t)i + 1;
	}
	free(a->index);
	a->index = idx;
	a->index_slots = slots;
	return 0;
}

/* Room for twice the rows (and their sparklines). */
static int subs_grow(struct blocklog_agg *a)
{
	size_t cap = a->subs_cap ? a->subs_cap * 2 : 1024;
	struct blocklog_sub *n = realloc(a->subs, cap * sizeof(*n));

	if (!n)
		return -1;
	a->subs = n;
	if (a->spark) {
		void *sp = realloc(a->spark, cap * sizeof(*a->spark));

		if (!sp)
			return -1;
		a->spark = sp;
	}
	a->subs_cap = cap;
	return 0;
}

int blocklog_agg_spark(struct blocklog_agg *a)
{
	size_t cap = a->subs_cap ? a->subs_cap : 1024;

	if (a->spark)
		return 0;
	a->spark = calloc(cap, sizeof(*a->spark));
	if (!a->spark) {
		errno = ENOMEM;
		return -1;
	}
	if (!a->subs_cap) {
		struct blocklog_sub *n = malloc(cap * sizeof(*n));

		if (!n) {
			free(a->spark);
			a->spark = NULL;
			errno = ENOMEM;
			return -1;
		}
		a->subs = n;
		a->subs_cap = cap;
	}
	return 0;
}

struct blocklog_grid blocklog_agg_grid(const struct blocklog_agg *a)
{
	return a->grid;
}

const struct blocklog_sub *blocklog_agg_row(const struct blocklog_agg *a,
					    uint32_t row)
{
	return row < a->nsubs ? &a->subs[row] : NULL;
}

const uint32_t *blocklog_agg_spark_of(const struct blocklog_agg *a,
				      uint32_t row)
{
	return a->spark && row < a->nsubs ? a->spark[row] : NULL;
}

static uint32_t sat_add(uint32_t x, uint64_t y)
{
	return y >= UINT32_MAX - x ? UINT32_MAX : x + (uint32_t)y;
}

/* x + y, UINT64_MAX past it: a summary's count may be as large as the
 * parser takes, and a subscriber's total must not wrap to a small one
 * (ranked last). */
static uint64_t sat_add64(uint64_t x, uint64_t y)
{
	return y > UINT64_MAX - x ? UINT64_MAX : x + y;
}

/* Merge every row's slots in pairs into one half of them; the other half
 * starts empty (left: the new slots are before the old). */
static void spark_fold(struct blocklog_agg *a, bool left)
{
	const unsigned half = BLOCKLOG_SPARK / 2;

	for (size_t r = 0; r < a->nsubs; r++) {
		uint32_t *s = a->spark[r], m[BLOCKLOG_SPARK / 2];

		for (unsigned i = 0; i < half; i++)
			m[i] = sat_add(s[2 * i], s[2 * i + 1]);
		memset(s, 0, sizeof(a->spark[r]));
		memcpy(s + (left ? half : 0), m, sizeof(m));
	}
	if (left)
		a->grid.t0_ms -= BLOCKLOG_SPARK * a->grid.width_ms;
	a->grid.width_ms *= 2;
}

/* Count n blocked SYNs at ts_ms in row id's sparkline. */
static void spark_add(struct blocklog_agg *a, uint32_t id, int64_t ts_ms,
		      uint64_t n)
{
	struct blocklog_grid *g = &a->grid;
	int64_t slot;

	if (!g->width_ms) {
		g->width_ms = 60000;
		g->t0_ms = ts_ms - (ts_ms % 60000 + 60000) % 60000;
	}
	while (ts_ms < g->t0_ms)
		spark_fold(a, true);
	while ((ts_ms - g->t0_ms) / g->width_ms >= BLOCKLOG_SPARK)
		spark_fold(a, false);
	slot = (ts_ms - g->t0_ms) / g->width_ms;
	a->spark[id][slot] = sat_add(a->spark[id][slot], n);
}

/* The row of subscriber id name, or (name NULL) of address key, added
 * if new. NULL with errno ENOMEM. */
static struct blocklog_sub *sub_get(struct blocklog_agg *a, const char *name,
				    const struct addr *key,
				    uint32_t *id)
{
	uint64_t h = row_hash(name, key);
	size_t mask = a->index_slots - 1, s = h & mask;
	struct blocklog_sub *sub;
	const char *kept = NULL;

	for (; a->index[s]; s = (s + 1) & mask) {
		sub = &a->subs[a->index[s] - 1];
		if (row_is(sub, name, key)) {
			*id = a->index[s] - 1;
			return sub;
		}
	}
	if (a->nsubs >= UINT32_MAX - 1) {
		errno = ENOMEM;
		return NULL;
	}
	if (a->nsubs == a->subs_cap && subs_grow(a) < 0)
		return NULL;
	/* Keep the index at most half full: probes stay short. */
	if ((a->nsubs + 1) * 2 > a->index_slots) {
		if (index_grow(a) < 0)
			return NULL;
		mask = a->index_slots - 1;
		for (s = h & mask; a->index[s]; s = (s + 1) & mask)
			;
	}
	if (name) {
		kept = id_keep(a, name);
		if (!kept)
			return NULL;
	}
	*id = (uint32_t)a->nsubs;
	a->index[s] = *id + 1;
	sub = &a->subs[a->nsubs++];
	memset(sub, 0, sizeof(*sub));
	sub->subscriber = kept;
	sub->row = *id;
	if (a->spark)
		memset(a->spark[*id], 0, sizeof(a->spark[*id]));
	sub->addr = *key;
	sub->first_ms = INT64_MAX;
	sub->last_ms = INT64_MIN;
	return sub;
}

/* Three quarters full at most: 8 bytes a slot is 11 to 21 an IPv4 pair. */
static bool too_full(size_t n, size_t slots)
{
	return (n + 1) * 4 > slots * 3;
}

static int grow4(struct blocklog_agg *a)
{
	size_t slots = a->slots4 * 2, mask = slots - 1;
	uint64_t *p = calloc(slots, sizeof(*p));

	if (!p)
		return -1;
	for (size_t i = 0; i < a->slots4; i++) {
		uint64_t k = a->pairs4[i];
		size_t s;

		if (!k)
			continue;
		for (s = hash_mix64(k) & mask; p[s]; s = (s + 1) & mask)
			;
		p[s] = k;
	}
	free(a->pairs4);
	a->pairs4 = p;
	a->slots4 = slots;
	return 0;
}

/* Add (sub, IPv4 dst). Returns 1 if new, 0 if seen, -1 ENOMEM. */
static int add4(struct blocklog_agg *a, uint32_t id, uint32_t dst)
{
	uint64_t k = (uint64_t)(id + 1) << 32 | dst;
	size_t mask = a->slots4 - 1, s = hash_mix64(k) & mask;

	for (; a->pairs4[s]; s = (s + 1) & mask)
		if (a->pairs4[s] == k)
			return 0;
	if (too_full(a->npairs4, a->slots4)) {
		if (grow4(a) < 0)
			return -1;
		mask = a->slots4 - 1;
		for (s = hash_mix64(k) & mask; a->pairs4[s]; s = (s + 1) & mask)
			;
	}
	a->pairs4[s] = k;
	a->npairs4++;
	return 1;
}

static int grow6(struct blocklog_agg *a)
{
	size_t slots = a->slots6 * 2, mask = slots - 1;
	struct pair6 *p = calloc(slots, sizeof(*p));

	if (!p)
		return -1;
	for (size_t i = 0; i < a->slots6; i++) {
		const struct pair6 *o = &a->pairs6[i];
		size_t s;

		if (!o->sub)
			continue;
		for (s = pair_hash(o->dst, o->sub) & mask; p[s].sub;
		     s = (s + 1) & mask)
			;
		p[s] = *o;
	}
	free(a->pairs6);
	a->pairs6 = p;
	a->slots6 = slots;
	return 0;
}

/* Add (sub, IPv6 dst). Returns 1 if new, 0 if seen, -1 ENOMEM. */
static int add6(struct blocklog_agg *a, uint32_t id,
		const struct addr *addr)
{
	uint32_t sub = id + 1;
	uint64_t dst = addr_hash(addr);
	size_t mask = a->slots6 - 1, s = pair_hash(dst, sub) & mask;

	for (; a->pairs6[s].sub; s = (s + 1) & mask)
		if (a->pairs6[s].sub == sub && a->pairs6[s].dst == dst)
			return 0;
	if (too_full(a->npairs6, a->slots6)) {
		if (grow6(a) < 0)
			return -1;
		mask = a->slots6 - 1;
		for (s = pair_hash(dst, sub) & mask; a->pairs6[s].sub;
		     s = (s + 1) & mask)
			;
	}
	a->pairs6[s].dst = dst;
	a->pairs6[s].sub = sub;
	a->npairs6++;
	return 1;
}

static int pair_add(struct blocklog_agg *a, uint32_t id,
		    const struct addr *dst)
{
	uint32_t v4;

	if (!addr_is_v4(dst))
		return add6(a, id, dst);
	memcpy(&v4, dst->b + 12, 4);
	return add4(a, id, v4);
}

int blocklog_agg_add(struct blocklog_agg *a, const struct blocklog_line *l)
{
	uint32_t row;

	return blocklog_agg_add_row(a, l, &row);
}

int blocklog_agg_add_row(struct blocklog_agg *a, const struct blocklog_line *l,
			 uint32_t *row)
{
	struct addr key;
	struct blocklog_sub *sub;
	uint32_t id;
	int r;

	*row = UINT32_MAX;
	/* Session lines say who holds what, not what was blocked: every
	 * subscriber of the ISP would be a row. Shadow lines say what a
	 * candidate would have done: nothing was blocked by them. */
	if (!l->has_src || l->kind == BLOCKLOG_SESSION ||
	    l->kind == BLOCKLOG_SHADOW || l->kind == BLOCKLOG_SHADOW_SUMMARY)
		return 0;
	key = l->src;
	/* The daemon counts an IPv6 subscriber by its /64. */
	if (!l->subscriber[0] && !addr_is_v4(&key))
		memset(key.b + 8, 0, 8);
	sub = sub_get(a, l->subscriber[0] ? l->subscriber : NULL, &key, &id);
	if (!sub)
		return -1;
	*row = id;
	if (l->ts_ms < sub->first_ms)
		sub->first_ms = l->ts_ms;
	if (l->ts_ms >= sub->last_ms) {
		sub->last_ms = l->ts_ms;
		if (sub->subscriber)
			sub->addr = key;
	}
	switch (l->kind) {
	case BLOCKLOG_BLOCK:
		r = pair_add(a, id, &l->dst);
		if (r < 0)
			return -1;
		sub->distinct += (uint64_t)r;
		sub->blocked = sat_add64(sub->blocked, 1);
		sub->block_lines++;
		sub->monitor_lines += l->monitor;
		if (a->spark)
			spark_add(a, id, l->ts_ms, 1);
		break;
	case BLOCKLOG_SUMMARY:
		sub->blocked = sat_add64(sub->blocked, l->count);
		sub->summarized = sat_add64(sub->summarized, l->count);
		sub->kernel = sat_add64(sub->kernel, l->kernel);
		if (a->spark && l->count)
			spark_add(a, id, l->ts_ms, l->count);
		break;
	case BLOCKLOG_DETECTION:
		sub->detections++;
		break;
	case BLOCKLOG_QUARANTINE:
		sub->quarantines++;
		/* At equal times the later line wins. */
		if (l->ts_ms >= sub->quarantine_ms) {
			sub->quarantine_ms = l->ts_ms;
			sub->quarantine_until = l->until;
		}
		break;
	case BLOCKLOG_RELEASE:
		sub->releases++;
		if (l->ts_ms >= sub->release_ms)
			sub->release_ms = l->ts_ms;
		break;
	default:
		break;
	}
	return 0;
}

static int cmp_sub(const void *x, const void *y)
{
	const struct blocklog_sub *a = *(const struct blocklog_sub *const *)x;
	const struct blocklog_sub *b = *(const struct blocklog_sub *const *)y;

	if (a->blocked != b->blocked)
		return a->blocked > b->blocked ? -1 : 1;
	if (a->distinct != b->distinct)
		return a->distinct > b->distinct ? -1 : 1;
	if (a->subscriber && b->subscriber)
		return strcmp(a->subscriber, b->subscriber);
	if (a->subscriber || b->subscriber)
		return a->subscriber ? -1 : 1;
	return memcmp(a->addr.b, b->addr.b, sizeof(a->addr.b));
}

const struct blocklog_sub *blocklog_agg_result(struct blocklog_agg *a,
					       int64_t at_s, size_t limit,
					       size_t *n)
{
	struct blocklog_sub **order;

	*n = 0;
	free(a->result);
	a->result = NULL;
	a->nresult = 0;
	if (!a->nsubs || !limit)
		return NULL;
	if (limit > a->nsubs)
		limit = a->nsubs;
	/* Sort pointers, copy the first limit: not every row twice. */
	order = malloc(a->nsubs * sizeof(*order));
	a->result = malloc(limit * sizeof(*a->result));
	if (!order || !a->result) {
		free(order);
		free(a->result);
		a->result = NULL;
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < a->nsubs; i++) {
		struct blocklog_sub *s = &a->subs[i];

		s->quarantined = s->quarantines &&
				 s->quarantine_ms > s->release_ms &&
				 s->quarantine_until > at_s;
		s->spark = a->spark ? a->spark[i] : NULL;
		order[i] = s;
	}
	qsort(order, a->nsubs, sizeof(*order), cmp_sub);
	for (size_t i = 0; i < limit; i++)
		a->result[i] = *order[i];
	free(order);
	a->nresult = limit;
	*n = limit;
	return a->result;
}

const char *blocklog_sub_name(const struct blocklog_sub *s, char *buf,
			      size_t len)
{
	char a[64];

	if (s->subscriber) {
		snprintf(buf, len, "%s", s->subscriber);
		return buf;
	}
	addr_format(&s->addr, a, sizeof(a));
	if (addr_is_v4(&s->addr))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/64", a);
	return buf;
}
