// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Who held an address at a time (portcullis log --src A --at T), from the
 * session lines: a start line begins a session, its stop line ends it.
 *
 * Only the session lines that cover the address are kept (memory follows
 * one address's sessions, not the log), then replayed in time order,
 * since files may be named in any order and the writer drains its rings
 * one after another. What the lines leave out is read as the daemon
 * meant it: renewals are not written, so a start again for the same
 * subscriber and address, without a stop between, is the same session
 * after a daemon restart; another subscriber's start without a stop
 * before it ends the session (its stop line was lost); a stop with no
 * start before it (rotated away) was held since before the log begins.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blocklog/blocklog.h"

struct ev {
	int64_t ts_ms;
	size_t seq;			/* order added: equal times keep it */
	struct addr src;
	unsigned src_len;
	bool stop;
	enum blocklog_session_end end;
	int64_t until;
	char subscriber[BLOCKLOG_SUBSCRIBER_MAX + 1];
	char source[32];
};

struct blocklog_held {
	struct addr addr;
	unsigned len;			/* of the 128 bits */
	int64_t at_ms;
	struct ev *evs;
	size_t n, cap;
};

struct blocklog_held *blocklog_held_new(const struct addr *a, unsigned len,
					int64_t at_ms)
{
	struct blocklog_held *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->addr = *a;
	h->len = len > 128 ? 128 : len;
	h->at_ms = at_ms;
	return h;
}

void blocklog_held_free(struct blocklog_held *h)
{
	if (!h)
		return;
	free(h->evs);
	free(h);
}

/* Whether the session's src/len (len in its family's bits) contains the
 * query's prefix. */
static bool covers(const struct blocklog_held *h, const struct addr *src,
		   unsigned len)
{
	unsigned bits = len + (addr_is_v4(src) ? 96 : 0), bytes, rest;

	if (bits > h->len)
		return false;
	bytes = bits / 8;
	rest = bits % 8;
	if (memcmp(src->b, h->addr.b, bytes))
		return false;
	return !rest ||
	       !((src->b[bytes] ^ h->addr.b[bytes]) & (0xff00 >> rest));
}

int blocklog_held_add(struct blocklog_held *h, const struct blocklog_line *l)
{
	struct ev *e;

	if (l->kind != BLOCKLOG_SESSION || !covers(h, &l->src, l->src_len))
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;

		e = realloc(h->evs, cap * sizeof(*e));
		if (!e)
			return -1;
		h->evs = e;
		h->cap = cap;
	}
	e = &h->evs[h->n];
	memset(e, 0, sizeof(*e));
	e->ts_ms = l->ts_ms;
	e->seq = h->n++;
	e->src = l->src;
	e->src_len = l->src_len;
	e->stop = l->state == BLOCKLOG_SESSION_STOP;
	e->end = l->end;
	e->until = e->stop ? 0 : l->until;
	memcpy(e->subscriber, l->subscriber, sizeof(e->subscriber));
	memcpy(e->source, l->source, sizeof(e->source));
	return 0;
}

static int cmp_ev(const void *x, const void *y)
{
	const struct ev *a = x, *b = y;

	if (a->ts_ms != b->ts_ms)
		return a->ts_ms < b->ts_ms ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The same session: the same subscriber on the same address or prefix. */
static bool same(const struct blocklog_holding *s, const struct ev *e)
{
	return s->src_len == e->src_len &&
	       !memcmp(s->src.b, e->src.b, sizeof(e->src.b)) &&
	       !strcmp(s->subscriber, e->subscriber);
}

static void begin(struct blocklog_holding *s, const struct ev *e)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->subscriber, e->subscriber, sizeof(s->subscriber));
	memcpy(s->source, e->source, sizeof(s->source));
	s->src = e->src;
	s->src_len = e->src_len;
	s->since_ms = e->ts_ms;
	s->expires = e->until;
}

/* A start line again for s: the daemon restarted, s goes on. */
static void renew(struct blocklog_holding *s, const struct ev *e)
{
	s->restarts++;
	s->expires = e->until;
	if (e->source[0])
		memcpy(s->source, e->source, sizeof(s->source));
}

/* Apply e to the session on (*on): whether e ended it. */
static bool step(struct blocklog_holding *s, bool *on, const struct ev *e)
{
	if (!*on) {
		if (!e->stop) {
			begin(s, e);
			*on = true;
		}
		return false;
	}
	if (same(s, e)) {
		if (!e->stop) {
			renew(s, e);
			return false;
		}
		s->ended = true;
		s->end = e->end;
	} else if (!e->stop) {
		s->ended = true;
		s->taken_over = true;
	} else {
		/* Another session's stop (nested prefixes, or its start
		 * rotated away): not this one's business. */
		return false;
	}
	s->end_ms = e->ts_ms;
	*on = false;
	return true;
}

/* The session on at the query's time (evs[*i] the first line after it)
 * runs to its end, or to the end of the log. */
static void run_out(const struct blocklog_held *h, size_t i,
		    struct blocklog_holding *s)
{
	bool on = true;

	for (; i < h->n && on; i++)
		step(s, &on, &h->evs[i]);
}

/* None held it at the query's time: what the first line after it says.
 * A stop first, for a session not just ended, means one was held since
 * before the oldest line read. */
static bool held_before_log(const struct blocklog_held *h, size_t i,
			    struct blocklog_held_result *out)
{
	const struct ev *e = &h->evs[i];
	struct blocklog_holding *s = &out->holder;

	if (!e->stop || (out->has_prev && same(&out->prev, e) &&
			 !out->prev.taken_over))
		return false;
	begin(s, e);
	s->since_ms = INT64_MIN;
	s->expires = 0;
	s->ended = true;
	s->end = e->end;
	s->end_ms = e->ts_ms;
	return true;
}

static void next_start(const struct blocklog_held *h, size_t i,
		       struct blocklog_held_result *out)
{
	for (; i < h->n; i++) {
		if (h->evs[i].stop)
			continue;
		out->has_next = true;
		memcpy(out->next_subscriber, h->evs[i].subscriber,
		       sizeof(out->next_subscriber));
		out->next_ms = h->evs[i].ts_ms;
		return;
	}
}

int blocklog_held_result(struct blocklog_held *h,
			 struct blocklog_held_result *out)
{
	struct blocklog_holding cur;
	bool on = false;
	size_t i;

	memset(out, 0, sizeof(*out));
	memset(&cur, 0, sizeof(cur));
	out->lines = h->n;
	if (h->n)
		qsort(h->evs, h->n, sizeof(*h->evs), cmp_ev);
	/* A start at T holds at T, a stop at T no longer does. */
	for (i = 0; i < h->n && h->evs[i].ts_ms <= h->at_ms; i++) {
		if (step(&cur, &on, &h->evs[i])) {
			out->prev = cur;
			out->has_prev = true;
			/* A take-over's start begins the next session. */
			if (!h->evs[i].stop)
				step(&cur, &on, &h->evs[i]);
		}
	}
	if (on) {
		run_out(h, i, &cur);
		out->holder = cur;
		out->held = true;
		return 1;
	}
	if (i < h->n && held_before_log(h, i, out)) {
		out->held = true;
		return 1;
	}
	next_start(h, i, out);
	return 0;
}
