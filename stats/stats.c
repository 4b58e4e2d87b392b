// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The stats object and the SYN path.
 *
 * Threads: several verdict threads (one per NFQUEUE; the kernel spreads
 * one subscriber's SYNs over several queues) call stats_syn(); one
 * housekeeping thread calls stats_tick(); the control socket reads. The
 * subscribers are split into up to 64 shards by hash, each with its own
 * table and lock, taken for one subscriber's update (about 100 ns) and
 * never across I/O or an allocation. With 64 shards two verdict threads
 * meet on a lock only when they judge subscribers of the same shard at
 * the same instant. Per-entry atomics alone would not do: the lookup,
 * insertion and LRU move of a SYN must be one step. Lines are made under
 * the lock and pushed to the block log's per-thread ring after it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/log.h"
#include "internal.h"

#define DEFAULT_CAP (1u << 20)
#define SUBS_PER_SHARD_MIN 4096
#define SHARDS_MAX 64
#define WINDOWS_MIN 64

static const uint16_t default_ports[STATS_PORTS] = { 25, 465, 587 };

void stats_config_from_policy(struct stats_config *cfg,
			      const struct policy *p)
{
	const struct policy_log *lg = policy_log_config(p);

	cfg->detection = *policy_detection(p);
	cfg->max_subscribers = cfg->detection.max_subscribers;
	cfg->ipv6_prefix_len = cfg->detection.ipv6_prefix_len;
	cfg->log_per_subscriber = lg->per_subscriber;
	cfg->log_per_subscriber_s = lg->per_subscriber_s;
}

unsigned stats_log_producers(unsigned threads)
{
	return threads + 1;
}

static int tun_set(struct tun *t, const struct stats_config *cfg)
{
	const struct policy_detection *pd = &cfg->detection;

	if (pd->nports > sizeof(t->det_ports) / sizeof(t->det_ports[0])) {
		errno = EINVAL;
		return -1;
	}
	memset(t, 0, sizeof(*t));
	t->det = pd->enabled && pd->nports && pd->window_s;
	memcpy(t->det_ports, pd->ports, pd->nports * sizeof(pd->ports[0]));
	t->ndet = pd->nports;
	t->window_ms = (int64_t)pd->window_s * 1000;
	t->syns = pd->syns ? pd->syns : 1;
	t->distinct = pd->distinct_destinations;
	t->quarantine = pd->quarantine;
	t->quarantine_ms = (int64_t)pd->quarantine_for_s * 1000;
	t->per_sub = cfg->log_per_subscriber;
	t->rate_ms = (int64_t)cfg->log_per_subscriber_s * 1000;
	return 0;
}

static unsigned auto_shards(size_t cap)
{
	unsigned n = 1;

	while (n < SHARDS_MAX && cap / (n * 2) >= SUBS_PER_SHARD_MIN)
		n *= 2;
	return n;
}

static uint64_t random_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed) &&
	    seed)
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
	       (uint64_t)ts.tv_sec ^ (uintptr_t)&seed;
}

struct stats *stats_open(const struct stats_config *cfg, struct blocklog *bl)
{
	struct stats *st;
	size_t cap, windows;
	unsigned v6len, nshards;
	int err;

	cap = cfg->max_subscribers ? cfg->max_subscribers :
	      cfg->detection.max_subscribers ? cfg->detection.max_subscribers :
	      DEFAULT_CAP;
	v6len = cfg->ipv6_prefix_len ? cfg->ipv6_prefix_len :
		cfg->detection.ipv6_prefix_len ?
		cfg->detection.ipv6_prefix_len : 64;
	if (v6len > 64) {
		/* Nobody delegates less than a /64 (RFC 6177), and a host's
		 * privacy addresses change within one; the entry's key has
		 * room for 64 bits. */
		log_warnx("stats: IPv6 subscribers are counted per /64, "
			  "not /%u", v6len);
		v6len = 64;
	}
	nshards = cfg->shards ? cfg->shards : auto_shards(cap);
	windows = cfg->windows ? cfg->windows : cap / 64;
	if (!cfg->windows && windows < WINDOWS_MIN)
		windows = WINDOWS_MIN;
	if (windows > cap)
		windows = cap;
	if (windows < nshards)
		windows = nshards;
	if (!cfg->threads || !v6len || nshards > SHARDS_MAX ||
	    (nshards & (nshards - 1)) || cap < nshards ||
	    (bl && blocklog_producers(bl) <
		   stats_log_producers(cfg->threads))) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	if (tun_set(&st->tun, cfg) < 0)
		goto fail_st;
	for (int i = 0; i < STATS_PORTS; i++)
		st->ports[i] = cfg->ports[i] ? cfg->ports[i]
					     : default_ports[i];
	st->threads = cfg->threads;
	st->v6len = v6len;
	st->v6mask = ~0ULL << (64 - v6len);
	st->seed = cfg->seed ? cfg->seed : random_seed();
	st->bl = bl;
	st->on_quarantine = cfg->on_quarantine;
	st->hook_ctx = cfg->hook_ctx;
	st->cap = cap;
	st->windows = windows;
	st->nshards = nshards;
	st->house_ev = calloc(EVBUF_HOUSE, sizeof(*st->house_ev));
	st->shards = aligned_alloc(64, nshards * sizeof(*st->shards));
	if (!st->house_ev || !st->shards) {
		errno = ENOMEM;
		goto fail_st;
	}
	err = pthread_mutex_init(&st->house, NULL);
	if (err) {
		errno = err;
		goto fail_st;
	}
	st->memory = sizeof(*st) + nshards * sizeof(*st->shards) +
		     EVBUF_HOUSE * sizeof(*st->house_ev);
	if (stats_tables_init(st) < 0) {
		err = errno;
		stats_tables_free(st);
		pthread_mutex_destroy(&st->house);
		errno = err;
		goto fail_st;
	}
	return st;
fail_st:
	err = errno;
	free(st->shards);
	free(st->house_ev);
	free(st);
	errno = err;
	return NULL;
}

int stats_configure(struct stats *st, const struct stats_config *cfg)
{
	struct tun t;

	if (tun_set(&t, cfg) < 0)
		return -1;
	/* Every shard lock, in order: a SYN sees the old or the new whole. */
	for (unsigned i = 0; i < st->nshards; i++)
		pthread_mutex_lock(&st->shards[i].lock);
	st->tun = t;
	for (unsigned i = st->nshards; i-- > 0;)
		pthread_mutex_unlock(&st->shards[i].lock);
	return 0;
}

void stats_close(struct stats *st)
{
	if (!st)
		return;
	stats_tables_free(st);
	pthread_mutex_destroy(&st->house);
	free(st->shards);
	free(st->house_ev);
	free(st);
}

unsigned stats_port_slot(const struct stats *st, uint16_t port)
{
	for (unsigned i = 0; i < STATS_PORTS; i++)
		if (st->ports[i] == port)
			return i;
	return STATS_PORT_OTHER;
}

void stats_push(struct stats *st, unsigned producer, const struct evbuf *eb)
{
	for (unsigned i = 0; i < eb->n; i++) {
		const struct blocklog_event *ev = &eb->ev[i];

		if (ev->kind == BLOCKLOG_QUARANTINE && !ev->gateway[0] &&
		    st->on_quarantine)
			st->on_quarantine(st->hook_ctx, ev);
		if (st->bl)
			blocklog_push(st->bl, producer, ev);
	}
}

/* Prefixes fit (at most 43 bytes); a long profile name is cut. */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void block_line(struct stats *st, unsigned thread,
		       const struct policy *p, const struct policy_flow *f,
		       int64_t now, const struct policy_decision *d)
{
	struct blocklog_event ev;
	const char *name;
	unsigned len;

	if (!st->bl)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = BLOCKLOG_BLOCK;
	ev.action = (uint8_t)d->action;
	ev.dport = f->dport;
	ev.ts_ms = now;
	ev.src = f->src;
	ev.dst = f->dst;
	if (f->subscriber_len) {
		memcpy(ev.subscriber, f->subscriber, f->subscriber_len);
		ev.subscriber[f->subscriber_len] = '\0';
	}
	if (p) {
		ev.monitor = policy_mode(p) == POLICY_MODE_MONITOR;
		name = policy_profile_name(p, d->profile);
		if (name)
			copy_str(ev.profile, sizeof(ev.profile), name);
		/* The writer thread makes the text: inet_ntop and
		 * snprintf here cost more than the rest of the verdict. */
		if (policy_entry_prefix(p, d->entry, &ev.prefix_addr,
					&len) == 0) {
			ev.prefix_len = (uint8_t)len;
			ev.prefix_set = true;
		}
	}
	blocklog_push(st->bl, thread, &ev);
}

void stats_prefetch(const struct stats *st, const struct policy_flow *f)
{
	uint64_t key, h;
	uint32_t kind;

	stats_key_flow(st, f, &key, &kind);
	h = stats_key_hash(st, key, kind);
	stats_sub_prefetch(stats_shard(st, h), h);
}

void stats_syn(struct stats *st, unsigned thread, const struct policy *p,
	       const struct policy_flow *f, int64_t now,
	       struct policy_decision *d)
{
	struct blocklog_event evs[EVBUF_SYN];
	struct evbuf eb = { 0, EVBUF_SYN, evs };
	uint64_t key, h;
	uint32_t dh, si;
	struct shard *sh;
	struct sub *s;
	struct rec *r;
	uint32_t kind;
	bool line = false;

	if (d->entry < 0)
		return;
	stats_key_flow(st, f, &key, &kind);
	h = stats_key_hash(st, key, kind);
	sh = stats_shard(st, h);
	stats_sub_prefetch(sh, h);
	dh = stats_dst_hash(st, &f->dst);

	pthread_mutex_lock(&sh->lock);
	sh->c.syns++;
	si = stats_sub_get(st, sh, key, kind, h, now, &eb);
	if (si == NIL) {
		/* Every entry of the shard holds a quarantine. */
		sh->c.untracked++;
		sh->c.by_action[d->action]++;
		line = d->action != POLICY_ACCEPT;
		goto unlock;
	}
	s = &sh->subs[si];
	s->last_s = unix_s(now);
	s->syns[stats_port_slot(st, f->dport)] =
		sat_inc(s->syns[stats_port_slot(st, f->dport)]);
	r = stats_sub_rec(sh, si);
	/* An idle record stays for this SYN to reuse; stats_tick() gives
	 * it back otherwise. */
	if (r)
		stats_rec_roll(st, sh, r, now, &eb);
	if (st->tun.det && stats_is_det_port(st, f->dport)) {
		r = stats_rec_get(st, sh, si, now, &eb);
		if (r && kind == SUB_ID)
			stats_rec_note(r, f);
		if (r)
			stats_detect(st, sh, r, now, dh, &eb);
	}
	/* Learnt here, on the verdict path: rule 3 is policy's to apply. */
	if (p && r && (r->flags & REC_QUAR))
		policy_decide_quarantined(p, f, d);
	sh->c.by_action[d->action]++;
	if (d->action != POLICY_ACCEPT) {
		s->blocked = sat_inc(s->blocked);
		if (st->tun.rate_ms)
			r = stats_rec_get(st, sh, si, now, &eb);
		if (r && kind == SUB_ID)
			stats_rec_note(r, f);
		/* No record to count in: a line rather than silence. */
		line = !r || stats_rate_allows(st, sh, r, now, dh);
	}
unlock:
	if (line)
		sh->c.block_lines++;
	pthread_mutex_unlock(&sh->lock);

	stats_push(st, thread, &eb);
	if (line)
		block_line(st, thread, p, f, now, d);
}

void stats_tick(struct stats *st, int64_t now)
{
	struct evbuf eb = { 0, EVBUF_HOUSE, st->house_ev };

	pthread_mutex_lock(&st->house);
	for (unsigned i = 0; i < st->nshards; i++) {
		struct shard *sh = &st->shards[i];
		bool more;

		do {
			uint32_t ri, next;

			more = false;
			eb.n = 0;
			pthread_mutex_lock(&sh->lock);
			for (ri = sh->quar.head; ri != NIL; ri = next) {
				next = sh->recs[ri].link.next;
				/* A quarantined spammer's held-back lines are
				 * summarised on time too. */
				stats_rec_rate_roll(st, sh, &sh->recs[ri], now,
						    &eb);
				if (now >= sh->recs[ri].until)
					stats_release_rec(st, sh,
							  &sh->recs[ri],
							  sh->recs[ri].until,
							  false, &eb);
				if (eb.n + 2 > eb.max) {
					more = true;
					break;
				}
			}
			for (ri = more ? NIL : sh->active.head; ri != NIL;
			     ri = next) {
				next = sh->recs[ri].link.next;
				if (stats_rec_roll(st, sh, &sh->recs[ri], now,
						   &eb))
					stats_rec_put(sh, &sh->recs[ri]);
				if (eb.n + 2 > eb.max) {
					more = true;
					break;
				}
			}
			pthread_mutex_unlock(&sh->lock);
			stats_push(st, st->threads, &eb);
		} while (more);
	}
	pthread_mutex_unlock(&st->house);
}

/* At a stop the writer still runs: wait for it (a bounded time) rather
 * than lose what only a summary says. */
static void push_waiting(struct stats *st, struct evbuf *eb, int *waited_ms)
{
	const struct timespec ms = { 0, 1000000 };

	while (st->bl && *waited_ms < 2000 &&
	       blocklog_room(st->bl, st->threads) < eb->n) {
		nanosleep(&ms, NULL);
		++*waited_ms;
	}
	stats_push(st, st->threads, eb);
	eb->n = 0;
}

void stats_flush(struct stats *st, int64_t now)
{
	struct evbuf eb = { 0, EVBUF_HOUSE, st->house_ev };
	int waited = 0;

	pthread_mutex_lock(&st->house);
	for (unsigned i = 0; i < st->nshards; i++) {
		struct shard *sh = &st->shards[i];

		pthread_mutex_lock(&sh->lock);
		for (int l = 0; l < 2; l++)
			for (uint32_t ri = (l ? sh->quar : sh->active).head;
			     ri != NIL; ri = sh->recs[ri].link.next) {
				stats_rec_flush(st, sh, &sh->recs[ri], now,
						&eb);
				if (eb.n + 1 >= eb.max)
					push_waiting(st, &eb, &waited);
			}
		pthread_mutex_unlock(&sh->lock);
	}
	push_waiting(st, &eb, &waited);
	pthread_mutex_unlock(&st->house);
}


static void imposed_key(const struct stats *st, const struct stats_imposed *q,
			uint64_t *key, uint32_t *kind)
{
	if (q->by_subscriber) {
		*key = q->key;
		*kind = SUB_ID;
	} else {
		stats_key(st, &q->addr, key, kind);
	}
}

/* The line of an imposed change: who, from where. */
static void imposed_line(struct blocklog_event *ev, const struct rec *r,
			 const struct stats_imposed *q)
{
	if (q->by_subscriber) {
		static const struct addr none;

		snprintf(ev->subscriber, sizeof(ev->subscriber), "%s",
			 q->id ? q->id : "");
		ev->src = memcmp(&r->last, &none, sizeof(none)) ? r->last :
								  q->addr;
	}
	snprintf(ev->gateway, sizeof(ev->gateway), "%s",
		 q->gateway && q->gateway[0] ? q->gateway : "?");
}

/* End key's quarantine by hand: here (q NULL), or as another gateway
 * said (q: the release line names it, reason cluster). */
static int release_key(struct stats *st, uint64_t key, uint32_t kind,
		       int64_t now, const struct stats_imposed *q)
{
	struct evbuf eb = { 0, EVBUF_HOUSE, st->house_ev };
	uint64_t h;
	struct shard *sh;
	struct rec *r;
	uint32_t si;
	int ret = -1;

	h = stats_key_hash(st, key, kind);
	sh = stats_shard(st, h);
	pthread_mutex_lock(&st->house);
	pthread_mutex_lock(&sh->lock);
	si = stats_sub_find(st, sh, key, kind, h);
	r = si == NIL ? NULL : stats_sub_rec(sh, si);
	/* An expired quarantine is released as expired, not by hand. */
	if (r && stats_rec_roll(st, sh, r, now, &eb)) {
		stats_rec_put(sh, r);
	} else if (r && (r->flags & REC_QUAR)) {
		unsigned at = eb.n;

		stats_release_rec(st, sh, r, now, true, &eb);
		if (q && eb.n > at) {
			eb.ev[at].reason = BLOCKLOG_RELEASE_CLUSTER;
			imposed_line(&eb.ev[at], r, q);
		}
		ret = 0;
	}
	pthread_mutex_unlock(&sh->lock);
	stats_push(st, st->threads, &eb);
	pthread_mutex_unlock(&st->house);
	if (ret < 0)
		errno = ENOENT;
	return ret;
}

int stats_quarantine_impose(struct stats *st, const struct stats_imposed *q,
			    int64_t now)
{
	struct evbuf eb = { 0, EVBUF_HOUSE, st->house_ev };
	uint64_t key, h;
	uint32_t kind, si;
	struct shard *sh;
	struct rec *r = NULL;
	int ret = -1;

	imposed_key(st, q, &key, &kind);
	h = stats_key_hash(st, key, kind);
	sh = stats_shard(st, h);
	pthread_mutex_lock(&st->house);
	pthread_mutex_lock(&sh->lock);
	si = stats_sub_get(st, sh, key, kind, h, now, &eb);
	if (si != NIL) {
		r = stats_sub_rec(sh, si);
		if (r)
			stats_rec_roll(st, sh, r, now, &eb);
		r = stats_rec_get(st, sh, si, now, &eb);
	}
	if (r) {
		struct blocklog_event *ev;
		uint32_t ri = (uint32_t)(r - sh->recs);
		bool was = r->flags & REC_QUAR;

		if (q->by_subscriber && !r->id[0] && q->id)
			snprintf(r->id, sizeof(r->id), "%s", q->id);
		if (!was) {
			dl_unlink(&sh->active, sh->recs, sizeof(*sh->recs), ri);
			dl_push_head(&sh->quar, sh->recs, sizeof(*sh->recs),
				     ri);
			r->flags |= REC_QUAR;
			r->q_kernel = 0;
			sh->c.quarantines++;
		}
		if (!was || r->until != q->until_ms) {
			r->until = q->until_ms;
			r->q_syns = q->syns;
			r->q_distinct = q->distinct;
			ev = eb.n < eb.max ? &eb.ev[eb.n++] : NULL;
			if (ev) {
				memset(ev, 0, sizeof(*ev));
				ev->kind = BLOCKLOG_QUARANTINE;
				ev->ts_ms = now;
				stats_key_addr(key, kind, &ev->src);
				ev->count = q->syns;
				ev->distinct = q->distinct;
				ev->until = q->until_ms / 1000;
				ev->window_s = (uint32_t)(st->tun.window_ms /
							  1000);
				imposed_line(ev, r, q);
			}
		}
		ret = 0;
	}
	pthread_mutex_unlock(&sh->lock);
	stats_push(st, st->threads, &eb);
	pthread_mutex_unlock(&st->house);
	if (ret < 0)
		errno = ENOSPC;
	return ret;
}

int stats_release_imposed(struct stats *st, const struct stats_imposed *q,
			  int64_t now)
{
	uint64_t key;
	uint32_t kind;

	imposed_key(st, q, &key, &kind);
	return release_key(st, key, kind, now, q);
}

int stats_release(struct stats *st, const struct addr *src, int64_t now)
{
	uint64_t key;
	uint32_t kind;

	stats_key(st, src, &key, &kind);
	return release_key(st, key, kind, now, NULL);
}

int stats_release_id(struct stats *st, uint64_t key, int64_t now)
{
	return release_key(st, key, SUB_ID, now, NULL);
}
