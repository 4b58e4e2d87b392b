// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Windows, spam-run detection, quarantine and the block-log rate, on one
 * subscriber's window record, under its shard's lock.
 *
 * Windows are fixed and aligned per subscriber, not sliding: the
 * detection window opens with the subscriber's first SYN to a detection
 * port and covers [open, open + window) in ms; the first such SYN at or
 * after its end opens the next. The block-log window does the same with
 * the first blocked SYN and log.per_subscriber's period. A sliding window
 * would need a timestamp per SYN; a fixed one needs one counter, and a
 * spam run (hundreds of SYNs a minute, for minutes) crosses the
 * thresholds in one fixed window as surely as in a sliding one.
 *
 * A window counts what it counts (detection: every SYN to a detection
 * port, accepted or not, so business subscribers whose port 25 is open
 * are caught as well as residential ones) and detects at most once.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

bool stats_is_det_port(const struct stats *st, uint16_t port)
{
	for (unsigned i = 0; i < st->tun.ndet; i++)
		if (st->tun.det_ports[i] == port)
			return true;
	return false;
}

/*
 * The eviction searches ask this of records at the cold end of their
 * lists, where each one read is a cache miss: flags and det_start are in
 * the record's first 24 bytes, which the search reads anyway, the
 * distinct count 60 bytes in and beyond. So half-way is noted as the
 * window counts (stats_detect()), not worked out here.
 */
bool stats_rec_suspect(const struct stats *st, const struct rec *r,
		       int64_t now)
{
	return st->tun.det &&
	       (r->flags & (REC_DET | REC_HALF)) == (REC_DET | REC_HALF) &&
	       now < r->det_start + st->tun.window_ms;
}

/*
 * Either half counts: a spammer that floods few hosts fills the SYN
 * threshold first, one that sprays many hosts the distinct one. The
 * estimate is O(1) (distinct.c), taken only until the window is half-way
 * and only when the SYNs alone do not decide.
 */
static bool half_way(const struct tun *t, const struct rec *r)
{
	if ((uint64_t)r->det_syns * 2 >= t->syns)
		return true;
	return t->distinct &&
	       (uint64_t)stats_distinct_estimate(&r->det) * 2 >= t->distinct;
}

static struct blocklog_event *ev_new(struct evbuf *eb, const struct shard *sh,
				     const struct rec *r, uint8_t kind,
				     int64_t ts)
{
	const struct sub *s = &sh->subs[r->owner];
	struct blocklog_event *ev;

	/* Callers stay within max; never overrun if one does not. */
	if (eb->n >= eb->max)
		return NULL;
	ev = &eb->ev[eb->n++];
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->ts_ms = ts;
	stats_key_addr(s->key, s->rec & SUB_KIND, &ev->src);
	if ((s->rec & SUB_KIND) == SUB_ID) {
		ev->src = r->last;
		snprintf(ev->subscriber, sizeof(ev->subscriber), "%s", r->id);
	}
	return ev;
}

/* The summary of the lines the rate window held back, if any; ts and
 * window_s say which stretch it covers. */
static void summary(struct stats *st, struct shard *sh, struct rec *r,
		    int64_t ts, uint32_t window_s, struct evbuf *eb)
{
	struct blocklog_event *ev;

	r->flags &= ~REC_RATE;
	if (!r->suppressed)
		return;
	ev = ev_new(eb, sh, r, BLOCKLOG_SUMMARY, ts);
	if (ev) {
		ev->count = r->suppressed;
		ev->kernel = r->kernel;
		ev->distinct = stats_distinct_estimate(&r->sup);
		ev->window_s = window_s;
	}
	sh->c.summaries++;
	r->suppressed = 0;
	r->kernel = 0;
	(void)st;
}

void stats_release_rec(struct stats *st, struct shard *sh, struct rec *r,
		       int64_t ts, bool manual, struct evbuf *eb)
{
	uint32_t ri = (uint32_t)(r - sh->recs);
	struct blocklog_event *ev;

	(void)st;
	dl_unlink(&sh->quar, sh->recs, sizeof(*sh->recs), ri);
	r->flags &= ~REC_QUAR;
	dl_push_head(&sh->active, sh->recs, sizeof(*sh->recs), ri);
	ev = ev_new(eb, sh, r, BLOCKLOG_RELEASE, ts);
	if (ev)
		ev->reason = manual ? BLOCKLOG_RELEASE_MANUAL
				    : BLOCKLOG_RELEASE_EXPIRED;
	/* Released early: a new run is a new detection, not the tail of
	 * the window that caught the last one. */
	if (manual) {
		r->flags &= ~(REC_DET | REC_FIRED | REC_HALF);
		sh->c.releases_manual++;
	} else {
		sh->c.releases_expired++;
	}
}

void stats_rec_rate_roll(struct stats *st, struct shard *sh, struct rec *r,
			 int64_t now, struct evbuf *eb)
{
	const struct tun *t = &st->tun;

	if ((r->flags & REC_RATE) &&
	    (!t->rate_ms || now >= r->rate_start + t->rate_ms))
		summary(st, sh, r, r->rate_start + t->rate_ms,
			(uint32_t)(t->rate_ms / 1000), eb);
}

bool stats_rec_roll(struct stats *st, struct shard *sh, struct rec *r,
		    int64_t now, struct evbuf *eb)
{
	const struct tun *t = &st->tun;

	if ((r->flags & REC_QUAR) && now >= r->until)
		stats_release_rec(st, sh, r, r->until, false, eb);
	stats_rec_rate_roll(st, sh, r, now, eb);
	if ((r->flags & REC_DET) &&
	    (!t->det || now >= r->det_start + t->window_ms))
		r->flags &= ~(REC_DET | REC_FIRED | REC_HALF);
	return !(r->flags & (REC_DET | REC_RATE | REC_QUAR));
}

void stats_rec_flush(struct stats *st, struct shard *sh, struct rec *r,
		     int64_t now, struct evbuf *eb)
{
	int64_t span = now - r->rate_start;

	if (r->flags & REC_RATE)
		summary(st, sh, r, now, span > 1000 ? (uint32_t)((span + 999)
							/ 1000) : 1, eb);
}

void stats_detect(struct stats *st, struct shard *sh, struct rec *r,
		  int64_t now, uint32_t dh, struct evbuf *eb)
{
	const struct tun *t = &st->tun;
	struct blocklog_event *ev;
	uint32_t distinct;

	if (!(r->flags & REC_DET)) {
		r->flags = (r->flags | REC_DET) & ~(REC_FIRED | REC_HALF);
		r->det_start = now;
		r->det_syns = 0;
		stats_distinct_reset(&r->det);
	}
	r->det_syns = sat_inc(r->det_syns);
	stats_distinct_add(&r->det, dh);
	if (!(r->flags & REC_HALF) && half_way(t, r))
		r->flags |= REC_HALF;
	if ((r->flags & REC_FIRED) || r->det_syns < t->syns)
		return;
	distinct = stats_distinct_estimate(&r->det);
	if (distinct < t->distinct)
		return;
	r->flags |= REC_FIRED;
	/* Still spamming while quarantined: nothing new to say. */
	if (r->flags & REC_QUAR)
		return;
	sh->c.detections++;
	if (!t->quarantine) {
		ev = ev_new(eb, sh, r, BLOCKLOG_DETECTION, now);
		if (ev) {
			ev->count = r->det_syns;
			ev->distinct = distinct;
			ev->window_s = (uint32_t)(t->window_ms / 1000);
		}
		return;
	}
	sh->c.quarantines++;
	r->flags |= REC_QUAR;
	r->until = now + t->quarantine_ms;
	r->q_syns = r->det_syns;
	r->q_distinct = distinct;
	r->q_kernel = 0;
	dl_unlink(&sh->active, sh->recs, sizeof(*sh->recs),
		  (uint32_t)(r - sh->recs));
	dl_push_head(&sh->quar, sh->recs, sizeof(*sh->recs),
		     (uint32_t)(r - sh->recs));
	ev = ev_new(eb, sh, r, BLOCKLOG_QUARANTINE, now);
	if (ev) {
		ev->count = r->det_syns;
		ev->distinct = distinct;
		ev->until = r->until / 1000;
		ev->window_s = (uint32_t)(t->window_ms / 1000);
	}
}

static void rate_open(struct rec *r, int64_t now)
{
	if (r->flags & REC_RATE)
		return;
	r->flags |= REC_RATE;
	r->rate_start = now;
	r->rate_blocked = 0;
	r->suppressed = 0;
	r->kernel = 0;
	stats_distinct_reset(&r->sup);
}

/*
 * The kernel's blocks have no line of their own (it saw no destination to
 * name): they join the subscriber's summary, as blocked and as kernel,
 * and use up its line budget as blocks the daemon judged would. With no
 * rate, the summary is written now.
 */
void stats_rec_kernel(struct stats *st, struct shard *sh, struct rec *r,
		      int64_t now, uint32_t n, struct evbuf *eb)
{
	rate_open(r, now);
	r->rate_blocked = sat_add(r->rate_blocked, n);
	r->suppressed = sat_add(r->suppressed, n);
	r->kernel = sat_add(r->kernel, n);
	if (r->flags & REC_QUAR)
		r->q_kernel = sat_add(r->q_kernel, n);
	if (!st->tun.rate_ms)
		summary(st, sh, r, now, 1, eb);
}

bool stats_rate_allows(struct stats *st, struct shard *sh, struct rec *r,
		       int64_t now, uint32_t dh)
{
	const struct tun *t = &st->tun;

	if (!t->rate_ms)
		return true;
	rate_open(r, now);
	r->rate_blocked = sat_inc(r->rate_blocked);
	if (r->rate_blocked <= t->per_sub)
		return true;
	r->suppressed = sat_inc(r->suppressed);
	stats_distinct_add(&r->sup, dh);
	sh->c.lines_suppressed++;
	return false;
}
