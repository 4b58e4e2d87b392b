/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The layout shared by the files of stats/ only. */
#ifndef PORTCULLIS_STATS_INTERNAL_H
#define PORTCULLIS_STATS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

#define NIL UINT32_MAX

/*
 * Distinct destinations (distinct.c): the first DISTINCT_EXACT 32-bit
 * destination hashes are kept as they are (exact); the next distinct one
 * turns the same bytes into a HyperLogLog of DISTINCT_M 4-bit registers.
 * The HLL sum and zero count are kept as registers change, so an estimate
 * costs O(1), not a pass over the registers.
 */
#define DISTINCT_M 256
#define DISTINCT_EXACT 32
#define DISTINCT_DENSE 0xff

struct distinct {
	uint8_t n;			/* exact hashes held, or DENSE */
	uint16_t zeros;			/* dense: registers still 0 */
	uint32_t sum;			/* dense: sum of 2^(15 - reg) */
	union {
		uint32_t h[DISTINCT_EXACT];
		uint8_t reg[DISTINCT_M / 2];
	} u;
};

void stats_distinct_reset(struct distinct *d);
void stats_distinct_add(struct distinct *d, uint32_t h);
uint32_t stats_distinct_estimate(const struct distinct *d);

/* Intrusive lists of array indices (links at offset 0 of the element). */
struct dlink {
	uint32_t prev, next;
};

struct dlist {
	uint32_t head, tail, n;
};

static inline struct dlink *dl_at(void *base, size_t stride, uint32_t i)
{
	return (struct dlink *)((char *)base + stride * i);
}

static inline void dl_init(struct dlist *l)
{
	l->head = l->tail = NIL;
	l->n = 0;
}

static inline void dl_unlink(struct dlist *l, void *base, size_t stride,
			     uint32_t i)
{
	struct dlink *e = dl_at(base, stride, i);

	if (e->prev != NIL)
		dl_at(base, stride, e->prev)->next = e->next;
	else
		l->head = e->next;
	if (e->next != NIL)
		dl_at(base, stride, e->next)->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NIL;
	l->n--;
}

static inline void dl_push_head(struct dlist *l, void *base, size_t stride,
				uint32_t i)
{
	struct dlink *e = dl_at(base, stride, i);

	e->prev = NIL;
	e->next = l->head;
	if (l->head != NIL)
		dl_at(base, stride, l->head)->prev = i;
	else
		l->tail = i;
	l->head = i;
	l->n++;
}

static inline void dl_to_head(struct dlist *l, void *base, size_t stride,
			      uint32_t i)
{
	if (l->head == i)
		return;
	dl_unlink(l, base, stride, i);
	dl_push_head(l, base, stride, i);
}

/*
 * One tracked subscriber: 48 bytes. Accepted SYNs are syns - blocked, so
 * they cost nothing. Counters saturate instead of wrapping. Everything
 * that only matters inside a window lives in a struct rec, held by the
 * few subscribers that are in one.
 */
#define SUB_V6 0x80000000u		/* in rec: the key is an IPv6 prefix */
#define SUB_ID 0x40000000u		/* ... a subscriber id's key */
#define SUB_KIND (SUB_V6 | SUB_ID)	/* neither: an IPv4 address */
#define SUB_REC 0x3fffffffu		/* in rec: window record + 1, 0 none */

struct sub {
	struct dlink lru;		/* head: most recently seen */
	uint64_t key;			/* IPv4 (host order) or IPv6 prefix */
	uint32_t first_s, last_s;	/* UNIX seconds */
	uint32_t syns[STATS_PORTS + 1];
	uint32_t blocked;
	uint32_t rec;
};

enum {
	REC_DET = 1 << 0,		/* detection window open */
	REC_FIRED = 1 << 1,		/* ... and it has detected */
	REC_RATE = 1 << 2,		/* block-log rate window open */
	REC_QUAR = 1 << 3,		/* quarantined until `until` */
	REC_HALF = 1 << 4,		/* detection window half-way */
};

struct rec {
	struct dlink link;		/* shard's active, quar or free list */
	uint32_t owner;			/* sub index */
	uint32_t flags;
	int64_t det_start;		/* ms */
	int64_t rate_start;
	int64_t until;
	uint32_t det_syns;		/* SYNs to detection ports */
	uint32_t rate_blocked;		/* blocked SYNs in the rate window */
	uint32_t suppressed;		/* ... of them without a line */
	uint32_t kernel;		/* ... of those, the kernel's own
					 * (stats_kernel()) */
	uint32_t q_syns, q_distinct;	/* the window that quarantined */
	uint32_t q_kernel;		/* the kernel blocked since */
	struct distinct det;		/* detection-port destinations */
	struct distinct sup;		/* destinations of suppressed lines */
	/* A subscriber known by its session (SUB_ID): its id and the
	 * address of its latest SYN, for the lines the record writes. */
	struct addr last;
	char id[POLICY_SUBSCRIBER_MAX + 1];
};

struct shard_counters {
	uint64_t syns;
	uint64_t by_action[3];
	uint64_t evictions;
	uint64_t evictions_suspect;	/* ... of them, suspects */
	uint64_t detections;
	uint64_t quarantines;
	uint64_t releases_expired;
	uint64_t releases_manual;
	uint64_t block_lines;
	uint64_t lines_suppressed;
	uint64_t kernel;
	uint64_t summaries;
	uint64_t windows_stolen;
	uint64_t windows_stolen_suspect;	/* ... of them, suspects' */
	uint64_t windows_missed;
	uint64_t untracked;
};

/*
 * A shard: its own lock, table, LRU and window records. A subscriber
 * lives in the shard its hash names, so one lock covers everything a SYN
 * touches.
 */
struct shard {
	pthread_mutex_t lock;
	struct sub *subs;
	uint32_t nsubs, cap;		/* subs[0 .. nsubs-1] are in use */
	uint32_t *index;		/* tag << 24 | sub + 1; 0 empty */
	uint32_t nslots;
	struct rec *recs;
	uint32_t nrecs;
	uint32_t rec_free;		/* through link.next */
	struct dlist lru;		/* subs */
	struct dlist active;		/* recs not quarantined, head: recent */
	struct dlist quar;		/* recs quarantined */
	struct shard_counters c;
} __attribute__((aligned(64)));

/* Settings that a reload may change; read and written under the locks. */
struct tun {
	bool det;
	uint16_t det_ports[64];
	unsigned ndet;
	int64_t window_ms;
	uint32_t syns;
	uint32_t distinct;
	bool quarantine;
	int64_t quarantine_ms;
	uint32_t per_sub;
	int64_t rate_ms;		/* 0: no limit */
};

struct stats {
	struct tun tun;
	uint16_t ports[STATS_PORTS];
	unsigned threads;
	unsigned v6len;
	uint64_t v6mask;
	uint64_t seed;
	struct blocklog *bl;
	/* Told of each quarantine this gateway's detection begins. */
	void (*on_quarantine)(void *ctx, const struct blocklog_event *ev);
	void *hook_ctx;
	pthread_mutex_t house;		/* tick and release: one producer */
	struct blocklog_event *house_ev;	/* EVBUF_HOUSE, under house */
	size_t cap, windows, memory;
	atomic_size_t tracked;		/* entries in use, all shards */
	unsigned nshards, nlocks;
	struct shard *shards;
	struct sub *all_subs;		/* carved into the shards */
	uint32_t *all_index;
	struct rec *all_recs;
	size_t nall_subs, nall_slots;
};

/*
 * A full shard looks at most this many of its least recently seen
 * subscribers (quarantined ones aside) for one without live suspicion
 * (stats_rec_suspect()) to evict, and as many of its least recently used
 * window records for one to take over; when all of them are suspects',
 * the least recent goes. Bounded so that a table full of suspects costs a
 * SYN a few entries, not a walk.
 */
#define EVICT_LOOK 8

/* Events made under a shard lock, pushed after it is let go. One SYN
 * makes at most 5 (summary at eviction, release, summary, detection,
 * block). */
#define EVBUF_SYN 6
#define EVBUF_HOUSE 256

struct evbuf {
	unsigned n, max;
	struct blocklog_event *ev;
};

/* stats.c: the port slot of a SYN's counter; events out to the block
 * log from producer. */
unsigned stats_port_slot(const struct stats *st, uint16_t port);
void stats_push(struct stats *st, unsigned producer, const struct evbuf *eb);

/* subscribers.c: keys, the table, LRU and window records. */
void stats_key(const struct stats *st, const struct addr *a,
	       uint64_t *key, uint32_t *kind);
uint64_t stats_key_hash(const struct stats *st, uint64_t key, uint32_t kind);
/* The flow's subscriber: its session's id when it has one, else its
 * address (as stats_key). */
void stats_key_flow(const struct stats *st, const struct policy_flow *f,
		    uint64_t *key, uint32_t *kind);
/* Note f's subscriber id and address in r (a SUB_ID subscriber's). */
void stats_rec_note(struct rec *r, const struct policy_flow *f);
void stats_key_addr(uint64_t key, uint32_t kind, struct addr *a);
uint32_t stats_dst_hash(const struct stats *st, const struct addr *a);
struct shard *stats_shard(const struct stats *st, uint64_t h);
/* Start loading h's index slot; the table itself does not change under
 * the caller, only its contents, so this needs no lock. */
void stats_sub_prefetch(const struct shard *sh, uint64_t h);
int stats_tables_init(struct stats *st);
void stats_tables_free(struct stats *st);
uint32_t stats_sub_find(const struct stats *st, const struct shard *sh,
			uint64_t key, uint32_t kind, uint64_t h);
uint32_t stats_sub_get(struct stats *st, struct shard *sh, uint64_t key,
		       uint32_t kind, uint64_t h, int64_t now, struct evbuf *eb);
struct rec *stats_sub_rec(const struct shard *sh, uint32_t si);
struct rec *stats_rec_get(struct stats *st, struct shard *sh, uint32_t si,
			  int64_t now, struct evbuf *eb);
void stats_rec_put(struct shard *sh, struct rec *r);

/* detect.c: windows, detection, quarantine, the block-log rate. */
/* Write r's summary if its rate window has ended. */
void stats_rec_rate_roll(struct stats *st, struct shard *sh, struct rec *r,
			 int64_t now, struct evbuf *eb);
bool stats_rec_roll(struct stats *st, struct shard *sh, struct rec *r,
		    int64_t now, struct evbuf *eb);
void stats_rec_flush(struct stats *st, struct shard *sh, struct rec *r,
		     int64_t now, struct evbuf *eb);
void stats_detect(struct stats *st, struct shard *sh, struct rec *r,
		  int64_t now, uint32_t dh, struct evbuf *eb);
bool stats_rate_allows(struct stats *st, struct shard *sh, struct rec *r,
		       int64_t now, uint32_t dh);
/* n SYNs the kernel blocked: into r's next summary (at once when the
 * block log has no rate). */
void stats_rec_kernel(struct stats *st, struct shard *sh, struct rec *r,
		      int64_t now, uint32_t n, struct evbuf *eb);
void stats_release_rec(struct stats *st, struct shard *sh, struct rec *r,
		       int64_t ts, bool manual, struct evbuf *eb);
bool stats_is_det_port(const struct stats *st, uint16_t port);
/* Whether r's detection window is open at now and has reached half of
 * either threshold (as they were then): a subscriber on its way to
 * detection. Reads only the record's first bytes. */
bool stats_rec_suspect(const struct stats *st, const struct rec *r,
		       int64_t now);

static inline uint32_t sat_inc(uint32_t v)
{
	return v == UINT32_MAX ? v : v + 1;
}

static inline uint32_t sat_add(uint32_t v, uint64_t n)
{
	return n >= (uint64_t)(UINT32_MAX - v) ? UINT32_MAX
					       : v + (uint32_t)n;
}

static inline uint32_t unix_s(int64_t now_ms)
{
	int64_t s = now_ms / 1000;

	return s < 0 ? 0 : s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

#endif
