// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The subscriber table of one shard, allocated whole by stats_open():
 *
 *   subs[cap]     48-byte entries, an intrusive LRU list through them;
 *   index[slots]  open addressing with linear probing, slots = cap * 4/3
 *                 (load <= 0.75), each 4 bytes: 8 bits of the key's hash
 *                 (most misses never touch an entry) and the entry + 1;
 *   recs[nrecs]   window records for the subscribers inside a window.
 *
 * Entries never move: a full shard gives the least recently seen
 * subscriber's entry to the newcomer (its index slot is deleted by
 * backward shift, so no tombstones build up). A quarantined subscriber
 * is never evicted: its quarantine would be forgotten.
 *
 * Window records are taken from a free list; when none is free, the
 * least recently used one is taken over (its summary written first), and
 * that is counted: it means `windows` is too small for the traffic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TAG_SHIFT 24
#define SLOT_SUB 0x00ffffffu
#define SHARD_CAP_MAX (SLOT_SUB - 1)

_Static_assert(sizeof(struct sub) == 48, "a subscriber entry is 48 bytes");
_Static_assert(offsetof(struct sub, lru) == 0, "dlist link first");
_Static_assert(offsetof(struct rec, link) == 0, "dlist link first");

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

void stats_key(const struct stats *st, const struct policy_addr *a,
	       uint64_t *key, bool *v6)
{
	if (policy_addr_is_v4(a)) {
		*key = (uint64_t)a->b[12] << 24 | (uint64_t)a->b[13] << 16 |
		       (uint64_t)a->b[14] << 8 | a->b[15];
		*v6 = false;
	} else {
		*key = be64(a->b) & st->v6mask;
		*v6 = true;
	}
}

void stats_key_addr(uint64_t key, bool v6, struct policy_addr *a)
{
	if (!v6) {
		policy_addr_from_v4(a, (uint32_t)key);
		return;
	}
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 8; i++)
		a->b[i] = (uint8_t)(key >> (56 - 8 * i));
}

uint64_t stats_key_hash(const struct stats *st, uint64_t key, bool v6)
{
	return mix64(key ^ st->seed ^ (v6 ? 0x9e3779b97f4a7c15ULL : 0));
}

uint32_t stats_dst_hash(const struct stats *st, const struct policy_addr *a)
{
	uint64_t hi = be64(a->b), lo = be64(a->b + 8);

	return (uint32_t)(mix64(lo ^ mix64(hi ^ ~st->seed)) >> 32);
}

/* The hash's top bits pick the shard, its low 32 the home slot and bits
 * 40..47 the tag, so the three do not correlate. */
struct shard *stats_shard(const struct stats *st, uint64_t h)
{
	return &st->shards[(h >> 58) & (st->nshards - 1)];
}

static uint32_t home(const struct shard *sh, uint64_t h)
{
	return (uint32_t)(((uint64_t)(uint32_t)h * sh->nslots) >> 32);
}

static uint32_t tag(uint64_t h)
{
	return (uint32_t)(h >> 40) & 0xff;
}

static bool sub_is(const struct sub *s, uint64_t key, bool v6)
{
	return s->key == key && !(s->rec & SUB_V6) == !v6;
}

int stats_shard_init(struct stats *st, struct shard *sh, uint32_t cap,
		     uint32_t nrecs)
{
	pthread_mutexattr_t ma;
	int err;

	if (cap > SHARD_CAP_MAX || nrecs >= SUB_REC) {
		errno = EINVAL;
		return -1;
	}
	memset(sh, 0, sizeof(*sh));
	sh->cap = cap;
	sh->nslots = (uint32_t)(((uint64_t)cap * 4 + 2) / 3) + 1;
	sh->nrecs = nrecs;
	sh->subs = calloc(cap ? cap : 1, sizeof(*sh->subs));
	sh->index = calloc(sh->nslots, sizeof(*sh->index));
	sh->recs = calloc(nrecs ? nrecs : 1, sizeof(*sh->recs));
	if (!sh->subs || !sh->index || !sh->recs) {
		stats_shard_free(sh);
		errno = ENOMEM;
		return -1;
	}
	st->memory += (size_t)cap * sizeof(*sh->subs) +
		      (size_t)sh->nslots * sizeof(*sh->index) +
		      (size_t)nrecs * sizeof(*sh->recs);
	dl_init(&sh->lru);
	dl_init(&sh->active);
	dl_init(&sh->quar);
	sh->rec_free = NIL;
	for (uint32_t i = nrecs; i-- > 0;) {
		sh->recs[i].owner = NIL;
		sh->recs[i].link.next = sh->rec_free;
		sh->rec_free = i;
	}
	/*
	 * A mutex, not a spinlock: there may be more verdict threads than
	 * cores, and a spinner burning the slice of a preempted holder
	 * costs milliseconds. The adaptive kind spins briefly first, which
	 * is all a held-for-100-ns lock needs.
	 */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	err = pthread_mutex_init(&sh->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	if (err) {
		stats_shard_free(sh);
		errno = err;
		return -1;
	}
	return 0;
}

void stats_shard_free(struct shard *sh)
{
	free(sh->subs);
	free(sh->index);
	free(sh->recs);
	sh->subs = NULL;
	sh->index = NULL;
	sh->recs = NULL;
}

/* Slot of key, or of the empty slot where it would go. */
static uint32_t probe(const struct shard *sh, uint64_t key, bool v6,
		      uint64_t h, bool *found)
{
	uint32_t i = home(sh, h), t = tag(h);

	for (;;) {
		uint32_t s = sh->index[i];

		if (!s) {
			*found = false;
			return i;
		}
		if (s >> TAG_SHIFT == t &&
		    sub_is(&sh->subs[(s & SLOT_SUB) - 1], key, v6)) {
			*found = true;
			return i;
		}
		if (++i == sh->nslots)
			i = 0;
	}
}

uint32_t stats_sub_find(const struct stats *st, const struct shard *sh,
			uint64_t key, bool v6, uint64_t h)
{
	bool found;
	uint32_t i;

	(void)st;
	i = probe(sh, key, v6, h, &found);
	return found ? (sh->index[i] & SLOT_SUB) - 1 : NIL;
}

/* Delete slot i; later slots of the run move back to where a probe from
 * their home would find them. */
static void slot_delete(const struct stats *st, struct shard *sh, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		const struct sub *s;
		uint32_t k;

		if (++j == sh->nslots)
			j = 0;
		if (!sh->index[j])
			break;
		s = &sh->subs[(sh->index[j] & SLOT_SUB) - 1];
		k = home(sh, stats_key_hash(st, s->key, s->rec & SUB_V6));
		/* The entry at j stays when its home lies in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		sh->index[i] = sh->index[j];
		i = j;
	}
	sh->index[i] = 0;
}

struct rec *stats_sub_rec(const struct shard *sh, uint32_t si)
{
	uint32_t r = sh->subs[si].rec & SUB_REC;

	return r ? &sh->recs[r - 1] : NULL;
}

static bool sub_quarantined(const struct shard *sh, uint32_t si)
{
	const struct rec *r = stats_sub_rec(sh, si);

	return r && (r->flags & REC_QUAR);
}

/* The least recently seen subscriber not quarantined; NIL if none. */
static uint32_t victim(struct shard *sh)
{
	for (uint32_t n = sh->lru.n; n-- > 0;) {
		uint32_t si = sh->lru.tail;

		if (!sub_quarantined(sh, si))
			return si;
		dl_to_head(&sh->lru, sh->subs, sizeof(*sh->subs), si);
	}
	return NIL;
}

static void evict(struct stats *st, struct shard *sh, uint32_t si,
		  int64_t now, struct evbuf *eb)
{
	struct sub *s = &sh->subs[si];
	struct rec *r = stats_sub_rec(sh, si);
	bool found;
	uint32_t i;

	if (r) {
		stats_rec_flush(st, sh, r, now, eb);
		stats_rec_put(sh, r);
	}
	i = probe(sh, s->key, s->rec & SUB_V6,
		  stats_key_hash(st, s->key, s->rec & SUB_V6), &found);
	if (found)
		slot_delete(st, sh, i);
	dl_unlink(&sh->lru, sh->subs, sizeof(*sh->subs), si);
	sh->c.evictions++;
}

uint32_t stats_sub_get(struct stats *st, struct shard *sh, uint64_t key,
		       bool v6, uint64_t h, int64_t now, struct evbuf *eb)
{
	struct sub *s;
	bool found;
	uint32_t i = probe(sh, key, v6, h, &found), si;

	if (found) {
		si = (sh->index[i] & SLOT_SUB) - 1;
		dl_to_head(&sh->lru, sh->subs, sizeof(*sh->subs), si);
		return si;
	}
	if (sh->nsubs < sh->cap) {
		si = sh->nsubs++;
	} else {
		si = victim(sh);
		if (si == NIL)
			return NIL;
		evict(st, sh, si, now, eb);
		/* The deletion may have moved the run this probe ended in. */
		i = probe(sh, key, v6, h, &found);
	}
	s = &sh->subs[si];
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->rec = v6 ? SUB_V6 : 0;
	s->first_s = s->last_s = unix_s(now);
	sh->index[i] = tag(h) << TAG_SHIFT | (si + 1);
	dl_push_head(&sh->lru, sh->subs, sizeof(*sh->subs), si);
	return si;
}

static void rec_attach(struct shard *sh, uint32_t si, struct rec *r)
{
	memset((char *)r + sizeof(r->link), 0, sizeof(*r) - sizeof(r->link));
	r->owner = si;
	stats_distinct_reset(&r->det);
	stats_distinct_reset(&r->sup);
	sh->subs[si].rec = (sh->subs[si].rec & SUB_V6) |
			   ((uint32_t)(r - sh->recs) + 1);
	dl_push_head(&sh->active, sh->recs, sizeof(*sh->recs),
		     (uint32_t)(r - sh->recs));
}

struct rec *stats_rec_get(struct stats *st, struct shard *sh, uint32_t si,
			  int64_t now, struct evbuf *eb)
{
	struct rec *r = stats_sub_rec(sh, si);
	uint32_t ri;

	if (r) {
		if (!(r->flags & REC_QUAR))
			dl_to_head(&sh->active, sh->recs, sizeof(*sh->recs),
				   (uint32_t)(r - sh->recs));
		return r;
	}
	if (sh->rec_free != NIL) {
		ri = sh->rec_free;
		sh->rec_free = sh->recs[ri].link.next;
		r = &sh->recs[ri];
		r->link.prev = r->link.next = NIL;
		rec_attach(sh, si, r);
		return r;
	}
	if (sh->active.tail == NIL) {
		/* Every record holds a quarantine. */
		sh->c.windows_missed++;
		return NULL;
	}
	r = &sh->recs[sh->active.tail];
	if (!stats_rec_roll(st, sh, r, now, eb)) {
		stats_rec_flush(st, sh, r, now, eb);
		sh->c.windows_stolen++;
	}
	stats_rec_put(sh, r);
	r = &sh->recs[sh->rec_free];
	sh->rec_free = r->link.next;
	r->link.prev = r->link.next = NIL;
	rec_attach(sh, si, r);
	return r;
}

void stats_rec_put(struct shard *sh, struct rec *r)
{
	uint32_t ri = (uint32_t)(r - sh->recs);

	dl_unlink(r->flags & REC_QUAR ? &sh->quar : &sh->active, sh->recs,
		  sizeof(*sh->recs), ri);
	if (r->owner != NIL)
		sh->subs[r->owner].rec &= SUB_V6;
	r->owner = NIL;
	r->flags = 0;
	r->link.next = sh->rec_free;
	sh->rec_free = ri;
}
