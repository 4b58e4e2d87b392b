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
 * is never evicted: its quarantine would be forgotten. One half-way to
 * detection is evicted only when the few least recent are all such
 * (victim()).
 *
 * Window records are taken from a free list; when none is free, the
 * least recently used one is taken over (its summary written first), and
 * that is counted: it means `windows` is too small for the traffic. Like
 * eviction, taking over prefers a record whose owner is not half-way to
 * detection (steal_victim()).
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

#define TAG_SHIFT 24
#define SLOT_SUB 0x00ffffffu
#define SHARD_CAP_MAX (SLOT_SUB - 1)

_Static_assert(sizeof(struct sub) == 48, "a subscriber entry is 48 bytes");
_Static_assert(offsetof(struct sub, lru) == 0, "dlist link first");
_Static_assert(offsetof(struct rec, link) == 0, "dlist link first");

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

void stats_sub_prefetch(const struct shard *sh, uint64_t h)
{
	__builtin_prefetch(&sh->index[home(sh, h)]);
}

static uint32_t tag(uint64_t h)
{
	return (uint32_t)(h >> 40) & 0xff;
}

static bool sub_is(const struct sub *s, uint64_t key, uint32_t kind)
{
	return s->key == key && (s->rec & SUB_KIND) == kind;
}

#define HUGE_FROM (2u << 20)

/*
 * Big arrays are mapped and asked for transparent huge pages: a SYN
 * touches random places in hundreds of megabytes, and with 4 KiB pages
 * each of them would also miss the TLB.
 *
 * And they are faulted in now, not by the verdict threads: the first SYN
 * to touch a page waited for the kernel to clear it (2 MiB for a huge
 * page, hundreds of microseconds), and until every page was touched that
 * was the largest cost per SYN (3.6 of 10 us over the first 30,000
 * subscribers under perf). Memory for the cap is taken at the start, as
 * it would be under load anyway.
 */
static void *big_alloc(size_t n, size_t size)
{
	size_t len, page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	if (!n)
		n = 1;
	len = n * size;
	if (len < HUGE_FROM)
		return calloc(n, size);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return p;
#endif
	/* Kernels before 5.14: a write to each page does the same. */
	for (size_t off = 0; off < len; off += page)
		((volatile char *)p)[off] = 0;
	return p;
}

static void big_free(void *p, size_t n, size_t size)
{
	if (!p)
		return;
	if (!n)
		n = 1;
	if (n * size < HUGE_FROM)
		free(p);
	else
		munmap(p, n * size);
}

/*
 * Shards are filled by a hash, so at exactly `cap` subscribers some hold
 * more than cap / shards. Each gets 4 standard deviations of room over
 * its share (1.3% at 1M subscribers); st->tracked keeps the total at the
 * cap, and a shard evicts when it or the total is full.
 */
static uint32_t shard_room(size_t share, unsigned nshards)
{
	return nshards > 1 ? (uint32_t)(4.0 * sqrt((double)share)) + 1 : 0;
}

int stats_tables_init(struct stats *st)
{
	size_t nsubs = 0, nslots = 0, share = st->cap / st->nshards + 1;
	uint32_t room = shard_room(share, st->nshards);
	pthread_mutexattr_t ma;
	unsigned i;
	int err;

	for (i = 0; i < st->nshards; i++) {
		struct shard *sh = &st->shards[i];
		size_t cap = st->cap / st->nshards +
			     (i < st->cap % st->nshards);

		memset(sh, 0, sizeof(*sh));
		cap += room;
		if (cap > st->cap)
			cap = st->cap;
		if (cap > SHARD_CAP_MAX || st->windows >= SUB_REC) {
			errno = EINVAL;
			return -1;
		}
		sh->cap = (uint32_t)cap;
		sh->nslots = (uint32_t)((cap * 4 + 2) / 3) + 1;
		sh->nrecs = (uint32_t)(st->windows / st->nshards +
				       (i < st->windows % st->nshards));
		nsubs += sh->cap;
		nslots += sh->nslots;
	}
	st->all_subs = big_alloc(nsubs, sizeof(*st->all_subs));
	st->all_index = big_alloc(nslots, sizeof(*st->all_index));
	st->all_recs = big_alloc(st->windows, sizeof(*st->all_recs));
	st->nall_subs = nsubs;
	st->nall_slots = nslots;
	if (!st->all_subs || !st->all_index || !st->all_recs) {
		errno = ENOMEM;
		return -1;
	}
	st->memory += nsubs * sizeof(*st->all_subs) +
		      nslots * sizeof(*st->all_index) +
		      st->windows * sizeof(*st->all_recs);

	/*
	 * A mutex, not a spinlock: there may be more verdict threads than
	 * cores, and a spinner burning the slice of a preempted holder
	 * costs milliseconds. The adaptive kind spins briefly first, which
	 * is all a held-for-100-ns lock needs.
	 */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	nsubs = nslots = 0;
	for (i = 0; i < st->nshards; i++) {
		struct shard *sh = &st->shards[i];
		size_t rec0 = i * (st->windows / st->nshards) +
			      (i < st->windows % st->nshards ? i
				: st->windows % st->nshards);

		sh->subs = st->all_subs + nsubs;
		sh->index = st->all_index + nslots;
		sh->recs = st->all_recs + rec0;
		nsubs += sh->cap;
		nslots += sh->nslots;
		dl_init(&sh->lru);
		dl_init(&sh->active);
		dl_init(&sh->quar);
		sh->rec_free = NIL;
		for (uint32_t r = sh->nrecs; r-- > 0;) {
			sh->recs[r].owner = NIL;
			sh->recs[r].link.next = sh->rec_free;
			sh->rec_free = r;
		}
		err = pthread_mutex_init(&sh->lock, &ma);
		if (err) {
			while (i-- > 0)
				pthread_mutex_destroy(&st->shards[i].lock);
			pthread_mutexattr_destroy(&ma);
			errno = err;
			return -1;
		}
		st->nlocks = i + 1;
	}
	pthread_mutexattr_destroy(&ma);
	return 0;
}

void stats_tables_free(struct stats *st)
{
	for (unsigned i = 0; i < st->nlocks; i++)
		pthread_mutex_destroy(&st->shards[i].lock);
	st->nlocks = 0;
	big_free(st->all_subs, st->nall_subs, sizeof(*st->all_subs));
	big_free(st->all_index, st->nall_slots, sizeof(*st->all_index));
	big_free(st->all_recs, st->windows, sizeof(*st->all_recs));
	st->all_subs = NULL;
	st->all_index = NULL;
	st->all_recs = NULL;
}

/* Slot of key, or of the empty slot where it would go. */
static uint32_t probe(const struct shard *sh, uint64_t key, uint32_t kind,
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
		    sub_is(&sh->subs[(s & SLOT_SUB) - 1], key, kind)) {
			*found = true;
			return i;
		}
		if (++i == sh->nslots)
			i = 0;
	}
}

uint32_t stats_sub_find(const struct stats *st, const struct shard *sh,
			uint64_t key, uint32_t kind, uint64_t h)
{
	bool found;
	uint32_t i;

	(void)st;
	i = probe(sh, key, kind, h, &found);
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
		k = home(sh, stats_key_hash(st, s->key, s->rec & SUB_KIND));
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

/*
 * The subscriber to evict, NIL if every one is quarantined; *suspect says
 * whether it is on its way to detection. The least recently seen that is
 * neither quarantined nor a suspect, among the EVICT_LOOK least recent
 * that are not quarantined; when all of those are suspects, the least
 * recent of them. Otherwise a spammer hiding in a flood of spoofed
 * sources would be forgotten, its window with it, before it reaches the
 * thresholds.
 *
 * Quarantined subscribers go to the head, so that the next search does
 * not meet them again before the list has turned over; suspects stay
 * where they are, so that recency stays true and the least recent
 * suspect is the one that goes. A suspect whose window ends is an
 * ordinary subscriber again.
 */
static uint32_t victim(const struct stats *st, struct shard *sh, int64_t now,
		       bool *suspect)
{
	uint32_t si = sh->lru.tail, first = NIL, looked = 0;

	for (uint32_t n = sh->lru.n; n-- > 0 && si != NIL;) {
		uint32_t prev = sh->subs[si].lru.prev;
		const struct rec *r = stats_sub_rec(sh, si);

		if (r && (r->flags & REC_QUAR)) {
			dl_to_head(&sh->lru, sh->subs, sizeof(*sh->subs), si);
		} else if (!r || !stats_rec_suspect(st, r, now)) {
			*suspect = false;
			return si;
		} else {
			if (first == NIL)
				first = si;
			if (++looked == EVICT_LOOK)
				break;
		}
		si = prev;
	}
	*suspect = first != NIL;
	return first;
}

static void evict(struct stats *st, struct shard *sh, uint32_t si,
		  bool suspect, int64_t now, struct evbuf *eb)
{
	struct sub *s = &sh->subs[si];
	struct rec *r = stats_sub_rec(sh, si);
	bool found;
	uint32_t i;

	if (r) {
		stats_rec_flush(st, sh, r, now, eb);
		stats_rec_put(sh, r);
	}
	i = probe(sh, s->key, s->rec & SUB_KIND,
		  stats_key_hash(st, s->key, s->rec & SUB_KIND), &found);
	if (found)
		slot_delete(st, sh, i);
	dl_unlink(&sh->lru, sh->subs, sizeof(*sh->subs), si);
	sh->c.evictions++;
	if (suspect)
		sh->c.evictions_suspect++;
}

uint32_t stats_sub_get(struct stats *st, struct shard *sh, uint64_t key,
		       uint32_t kind, uint64_t h, int64_t now, struct evbuf *eb)
{
	struct sub *s;
	bool found, suspect;
	uint32_t i = probe(sh, key, kind, h, &found), si;

	if (found) {
		si = (sh->index[i] & SLOT_SUB) - 1;
		/* LRU to the second, like last_seen: a burst of SYNs moves
		 * its subscriber once (memcached's bump interval), sparing
		 * the list neighbours' cache misses on every SYN. */
		if (sh->subs[si].last_s != unix_s(now))
			dl_to_head(&sh->lru, sh->subs, sizeof(*sh->subs), si);
		return si;
	}
	if (sh->nsubs < sh->cap && atomic_fetch_add_explicit(&st->tracked, 1,
				memory_order_relaxed) < st->cap) {
		si = sh->nsubs++;
	} else {
		if (sh->nsubs < sh->cap)
			atomic_fetch_sub_explicit(&st->tracked, 1,
						  memory_order_relaxed);
		si = victim(st, sh, now, &suspect);
		if (si == NIL)
			return NIL;
		evict(st, sh, si, suspect, now, eb);
		/* The deletion may have moved the run this probe ended in. */
		i = probe(sh, key, kind, h, &found);
	}
	s = &sh->subs[si];
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->rec = kind;
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
	sh->subs[si].rec = (sh->subs[si].rec & SUB_KIND) |
			   ((uint32_t)(r - sh->recs) + 1);
	dl_push_head(&sh->active, sh->recs, sizeof(*sh->recs),
		     (uint32_t)(r - sh->recs));
}

/*
 * The window record to take over when none is free (the active list is
 * not empty): the least recently used whose owner is not a suspect, among
 * the EVICT_LOOK least recent; when all of those are suspects, the least
 * recent of them (*suspect). The same flood that evicts subscribers takes
 * records, and there are far fewer records than entries: losing its
 * window loses a spammer its count as surely as eviction does.
 */
static struct rec *steal_victim(const struct stats *st, struct shard *sh,
				int64_t now, bool *suspect)
{
	uint32_t ri = sh->active.tail;

	for (unsigned looked = 0; ri != NIL && looked < EVICT_LOOK;
	     looked++) {
		if (!stats_rec_suspect(st, &sh->recs[ri], now)) {
			*suspect = false;
			return &sh->recs[ri];
		}
		ri = sh->recs[ri].link.prev;
	}
	*suspect = true;
	return &sh->recs[sh->active.tail];
}

struct rec *stats_rec_get(struct stats *st, struct shard *sh, uint32_t si,
			  int64_t now, struct evbuf *eb)
{
	struct rec *r = stats_sub_rec(sh, si);
	bool suspect;
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
	r = steal_victim(st, sh, now, &suspect);
	if (!stats_rec_roll(st, sh, r, now, eb)) {
		stats_rec_flush(st, sh, r, now, eb);
		sh->c.windows_stolen++;
		if (suspect)
			sh->c.windows_stolen_suspect++;
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
		sh->subs[r->owner].rec &= SUB_KIND;
	r->owner = NIL;
	r->flags = 0;
	r->link.next = sh->rec_free;
	sh->rec_free = ri;
}
