// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the kernel's quarantine rule blocked, counted in: the daemon reads
 * the kernel's counters once a second and hands the differences here, to
 * be counted as stats_syn() counts a blocked SYN (subscriber, port,
 * action) and said in the subscriber's summary. From the housekeeping
 * thread, on its block-log ring.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void count_one(struct stats *st, const struct stats_kernel_count *c,
		      int64_t now, struct evbuf *eb)
{
	uint64_t key, h;
	struct shard *sh;
	struct sub *s;
	struct rec *r;
	uint32_t si, n = sat_add(0, c->packets);
	unsigned slot;
	uint32_t kind;

	if (c->subscriber) {
		key = c->subscriber_key;
		kind = SUB_ID;
	} else {
		stats_key(st, &c->src, &key, &kind);
	}
	h = stats_key_hash(st, key, kind);
	sh = stats_shard(st, h);
	slot = c->dport ? stats_port_slot(st, c->dport) : STATS_PORT_OTHER;
	pthread_mutex_lock(&sh->lock);
	sh->c.syns += c->packets;
	sh->c.by_action[c->action] += c->packets;
	sh->c.kernel += c->packets;
	si = stats_sub_get(st, sh, key, kind, h, now, eb);
	if (si == NIL) {
		sh->c.untracked += c->packets;
		r = NULL;
	} else {
		s = &sh->subs[si];
		s->last_s = unix_s(now);
		s->syns[slot] = sat_add(s->syns[slot], c->packets);
		s->blocked = sat_add(s->blocked, c->packets);
		r = stats_sub_rec(sh, si);
		if (r)
			stats_rec_roll(st, sh, r, now, eb);
		else
			r = stats_rec_get(st, sh, si, now, eb);
	}
	if (r && c->subscriber) {
		r->last = c->src;
		if (!r->id[0])
			snprintf(r->id, sizeof(r->id), "%.*s",
				 (int)c->subscriber_len, c->subscriber);
	}
	if (r) {
		stats_rec_kernel(st, sh, r, now, n, eb);
	} else if (eb->n < eb->max) {
		/* No record to hold them: a summary of their own, so that
		 * they are still said. */
		struct blocklog_event *ev = &eb->ev[eb->n++];

		memset(ev, 0, sizeof(*ev));
		ev->kind = BLOCKLOG_SUMMARY;
		ev->ts_ms = now;
		stats_key_addr(key, kind, &ev->src);
		if (c->subscriber) {
			ev->src = c->src;
			snprintf(ev->subscriber, sizeof(ev->subscriber),
				 "%.*s", (int)c->subscriber_len,
				 c->subscriber);
		}
		ev->count = n;
		ev->kernel = n;
		ev->window_s = 1;
		sh->c.summaries++;
	}
	pthread_mutex_unlock(&sh->lock);
}

void stats_kernel(struct stats *st, const struct stats_kernel_count *c,
		  size_t n, int64_t now)
{
	struct evbuf eb = { 0, EVBUF_HOUSE, st->house_ev };

	pthread_mutex_lock(&st->house);
	for (size_t i = 0; i < n; i++) {
		if (!c[i].packets || c[i].action == POLICY_ACCEPT)
			continue;
		count_one(st, &c[i], now, &eb);
		if (eb.n + EVBUF_SYN > eb.max) {
			stats_push(st, st->threads, &eb);
			eb.n = 0;
		}
	}
	stats_push(st, st->threads, &eb);
	pthread_mutex_unlock(&st->house);
}
