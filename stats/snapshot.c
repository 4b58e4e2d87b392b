// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Read-side views for the control socket and metrics: one subscriber,
 * the quarantined ones, the top blocked, the totals. Each takes shard
 * locks briefly; the walk of stats_top() lets go of the lock every
 * WALK_STEP entries so verdict threads are not held up behind it.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define WALK_STEP 4096

static void fill(const struct stats *st, const struct shard *sh, uint32_t si,
		 int64_t now, struct stats_subscriber *out)
{
	const struct sub *s = &sh->subs[si];
	const struct rec *r = stats_sub_rec(sh, si);

	memset(out, 0, sizeof(*out));
	out->ipv6 = (s->rec & SUB_KIND) == SUB_V6;
	stats_key_addr(s->key, s->rec & SUB_KIND, &out->addr);
	out->prefix_len = out->ipv6 ? st->v6len : 32;
	if ((s->rec & SUB_KIND) == SUB_ID) {
		/* Known by its session: the id is the record's, if it has
		 * one; the caller names it otherwise (identity/). */
		out->by_subscriber = true;
		out->subscriber_key = s->key;
		out->prefix_len = 0;
		if (r) {
			out->addr = r->last;
			out->ipv6 = !addr_is_v4(&r->last);
			memcpy(out->subscriber, r->id, sizeof(out->subscriber));
		}
	}
	for (int i = 0; i < STATS_PORTS; i++)
		out->ports[i] = st->ports[i];
	for (int i = 0; i <= STATS_PORTS; i++) {
		out->syns_port[i] = s->syns[i];
		out->syns += s->syns[i];
	}
	out->blocked = s->blocked;
	out->accepted = out->syns > out->blocked ? out->syns - out->blocked
						 : 0;
	out->first_seen = s->first_s;
	out->last_seen = s->last_s;
	if (!r)
		return;
	if ((r->flags & REC_DET) && now < r->det_start + st->tun.window_ms) {
		out->window_syns = r->det_syns;
		out->window_distinct = stats_distinct_estimate(&r->det);
	}
	if ((r->flags & REC_QUAR) && now < r->until) {
		out->quarantined = true;
		out->until_ms = r->until;
		out->quarantine_syns = r->q_syns;
		out->quarantine_distinct = r->q_distinct;
		out->quarantine_kernel = r->q_kernel;
	}
}

static int get_key(struct stats *st, uint64_t key, uint32_t kind,
		   int64_t now, struct stats_subscriber *out)
{
	uint64_t h;
	struct shard *sh;
	uint32_t si;

	h = stats_key_hash(st, key, kind);
	sh = stats_shard(st, h);
	pthread_mutex_lock(&sh->lock);
	si = stats_sub_find(st, sh, key, kind, h);
	if (si != NIL)
		fill(st, sh, si, now, out);
	pthread_mutex_unlock(&sh->lock);
	if (si == NIL) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int stats_subscriber_get(struct stats *st, const struct addr *src,
			 int64_t now, struct stats_subscriber *out)
{
	uint64_t key;
	uint32_t kind;

	stats_key(st, src, &key, &kind);
	return get_key(st, key, kind, now, out);
}

int stats_subscriber_get_id(struct stats *st, uint64_t key, int64_t now,
			    struct stats_subscriber *out)
{
	return get_key(st, key, SUB_ID, now, out);
}

/*
 * Keep out[0 .. *n-1] (at most max) ordered by before(): a candidate
 * enters when there is room or it goes before the last. Only a
 * candidate that enters is filled in, under the caller's lock.
 */
typedef bool (*before_fn)(const struct stats_subscriber *a,
			  const struct stats_subscriber *b);

static void keep(struct stats_subscriber *out, size_t *n, size_t max,
		 const struct stats_subscriber *cand, before_fn before)
{
	size_t i;

	if (!max || (*n == max && !before(cand, &out[max - 1])))
		return;
	i = *n < max ? (*n)++ : max - 1;
	while (i > 0 && before(cand, &out[i - 1])) {
		out[i] = out[i - 1];
		i--;
	}
	out[i] = *cand;
}

static bool sooner(const struct stats_subscriber *a,
		   const struct stats_subscriber *b)
{
	return a->until_ms < b->until_ms;
}

size_t stats_quarantined_list(struct stats *st, int64_t now,
			      struct stats_subscriber *out, size_t max)
{
	struct stats_subscriber cand;
	size_t total = 0, n = 0;

	for (unsigned i = 0; i < st->nshards; i++) {
		struct shard *sh = &st->shards[i];

		pthread_mutex_lock(&sh->lock);
		for (uint32_t ri = sh->quar.head; ri != NIL;
		     ri = sh->recs[ri].link.next) {
			if (now >= sh->recs[ri].until)
				continue;
			total++;
			fill(st, sh, sh->recs[ri].owner, now, &cand);
			keep(out, &n, max, &cand, sooner);
		}
		pthread_mutex_unlock(&sh->lock);
	}
	return total;
}

static bool more_blocked(const struct stats_subscriber *a,
			 const struct stats_subscriber *b)
{
	return a->blocked > b->blocked ||
	       (a->blocked == b->blocked && a->syns > b->syns);
}

size_t stats_top(struct stats *st, int64_t now, struct stats_subscriber *out,
		 size_t max)
{
	struct stats_subscriber cand;
	size_t n = 0;

	for (unsigned i = 0; i < st->nshards && max; i++) {
		struct shard *sh = &st->shards[i];

		for (uint32_t from = 0;; from += WALK_STEP) {
			uint32_t to;

			pthread_mutex_lock(&sh->lock);
			to = sh->nsubs - from > WALK_STEP ? from + WALK_STEP
							  : sh->nsubs;
			for (uint32_t si = from; si < to; si++) {
				const struct sub *s = &sh->subs[si];

				if (!s->blocked)
					continue;
				/* Most are out at a glance; fill the rest. */
				if (n == max && s->blocked < out[n - 1].blocked)
					continue;
				fill(st, sh, si, now, &cand);
				keep(out, &n, max, &cand, more_blocked);
			}
			pthread_mutex_unlock(&sh->lock);
			if (to >= sh->nsubs)
				break;
		}
	}
	return n;
}

void stats_counters(struct stats *st, struct stats_counters *c)
{
	memset(c, 0, sizeof(*c));
	c->capacity = st->cap;
	c->windows_capacity = st->windows;
	c->memory = st->memory;
	for (unsigned i = 0; i < st->nshards; i++) {
		struct shard *sh = &st->shards[i];
		const struct shard_counters *k = &sh->c;

		pthread_mutex_lock(&sh->lock);
		c->syns += k->syns;
		for (int a = 0; a < 3; a++)
			c->by_action[a] += k->by_action[a];
		c->tracked += sh->nsubs;
		c->evictions += k->evictions;
		c->evictions_suspect += k->evictions_suspect;
		c->quarantined += sh->quar.n;
		c->detections += k->detections;
		c->quarantines += k->quarantines;
		c->releases_expired += k->releases_expired;
		c->releases_manual += k->releases_manual;
		c->block_lines += k->block_lines;
		c->lines_suppressed += k->lines_suppressed;
		c->kernel += k->kernel;
		c->summaries += k->summaries;
		c->windows_used += sh->active.n + sh->quar.n;
		c->windows_stolen += k->windows_stolen;
		c->windows_stolen_suspect += k->windows_stolen_suspect;
		c->windows_missed += k->windows_missed;
		c->untracked += k->untracked;
		pthread_mutex_unlock(&sh->lock);
	}
}
