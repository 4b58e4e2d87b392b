// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The figures of portcullis report, counted in one pass over the lines:
 * the per-subscriber aggregate (agg.c, with sparklines), blocked SYNs over
 * time, by port and by profile, the quarantines and how each ended, the
 * fallback periods.
 *
 * The time series is kept twice, per minute and per hour, each slot found
 * through an open-addressing index on its start: the minutes only while
 * the lines span at most 12 hours (then they are dropped, and the hours
 * drawn), so memory stays at most 722 minute slots plus a slot per hour
 * that has lines, whatever times a hostile log holds. Quarantines and
 * fallbacks keep the latest ones in rings; ports are one array of 65,536.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blocklog/blocklog.h"
#include "common/hash.h"

#define MINUTE_MS 60000LL
#define HOUR_MS 3600000LL
#define MINUTES_SPAN (12LL * 60)	/* the most minutes drawn */
#define SERIES_MIN_SLOTS 256

/* Slots of one width, found by their start. */
struct series {
	int64_t width_ms;
	struct blocklog_bucket *b;	/* dense */
	size_t n, cap;
	uint32_t *index;		/* b index + 1; 0: empty */
	size_t slots;			/* a power of two */
	int64_t lo, hi;			/* the earliest and latest starts */
	bool dead;			/* too wide a span: not kept */
};

/* What the report knows of a row of the aggregate. */
struct row_info {
	uint64_t quarantine;		/* its latest quarantine's number + 1;
					 * 0: none */
	uint32_t window_s;		/* its latest detection's window */
};

struct blocklog_report {
	struct blocklog_agg *agg;
	struct series minutes, hours;
	struct blocklog_port_count *ports;	/* 65,536, by port */
	struct blocklog_port_count *port_view;
	struct blocklog_profile_count *profiles;
	size_t nprofiles;
	struct blocklog_profile_count *profile_view;
	struct row_info *rows;
	size_t rows_cap;
	struct blocklog_report_quarantine *quar;	/* a ring */
	uint64_t nquar;				/* quarantines seen */
	struct blocklog_report_quarantine *quar_view;
	struct blocklog_report_fallback *fb;	/* a ring */
	uint64_t nfb;
	struct blocklog_report_fallback *fb_view;
	struct blocklog_bucket *bucket_view;
	int64_t first_ms, last_ms;
	uint64_t lines;
	uint64_t by_kind[BLOCKLOG_KINDS];
	uint64_t syns[BLOCKLOG_S_N];
};

/* x + y, UINT64_MAX past it: a summary's count may be as large as the
 * parser takes, and a total of them must not wrap to a small one. */
static uint64_t sat_add64(uint64_t x, uint64_t y)
{
	return y > UINT64_MAX - x ? UINT64_MAX : x + y;
}

static void series_free(struct series *s)
{
	free(s->b);
	free(s->index);
	s->b = NULL;
	s->index = NULL;
	s->n = s->cap = s->slots = 0;
}

static uint64_t start_hash(int64_t start)
{
	return hash_mix64((uint64_t)start * 0x9e3779b97f4a7c15ULL);
}

static int series_reindex(struct series *s, size_t slots)
{
	size_t mask = slots - 1;
	uint32_t *idx = calloc(slots, sizeof(*idx));

	if (!idx)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		size_t k = start_hash(s->b[i].start_ms) & mask;

		while (idx[k])
			k = (k + 1) & mask;
		idx[k] = (uint32_t)i + 1;
	}
	free(s->index);
	s->index = idx;
	s->slots = slots;
	return 0;
}

/* The slot of s that ts_ms falls in, added if new; NULL: not kept (s is
 * dead), or with errno ENOMEM. */
static struct blocklog_bucket *series_get(struct series *s, int64_t ts_ms)
{
	int64_t start = ts_ms - ((ts_ms % s->width_ms) + s->width_ms) %
			s->width_ms;
	size_t mask, k;
	struct blocklog_bucket *b;

	if (s->dead)
		return NULL;
	if (!s->index && series_reindex(s, SERIES_MIN_SLOTS) < 0)
		return NULL;
	mask = s->slots - 1;
	for (k = start_hash(start) & mask; s->index[k]; k = (k + 1) & mask)
		if (s->b[s->index[k] - 1].start_ms == start)
			return &s->b[s->index[k] - 1];
	if (s->n >= UINT32_MAX - 1) {
		errno = ENOMEM;
		return NULL;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 128;
		void *nb = realloc(s->b, cap * sizeof(*s->b));

		if (!nb)
			return NULL;
		s->b = nb;
		s->cap = cap;
	}
	if ((s->n + 1) * 2 > s->slots) {
		if (series_reindex(s, s->slots * 2) < 0)
			return NULL;
		mask = s->slots - 1;
		for (k = start_hash(start) & mask; s->index[k];
		     k = (k + 1) & mask)
			;
	}
	s->index[k] = (uint32_t)s->n + 1;
	b = &s->b[s->n++];
	memset(b, 0, sizeof(*b));
	b->start_ms = start;
	if (s->n == 1 || start < s->lo)
		s->lo = start;
	if (s->n == 1 || start > s->hi)
		s->hi = start;
	return b;
}

struct blocklog_report *blocklog_report_new(void)
{
	struct blocklog_report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->minutes.width_ms = MINUTE_MS;
	r->hours.width_ms = HOUR_MS;
	r->first_ms = INT64_MAX;
	r->last_ms = INT64_MIN;
	r->agg = blocklog_agg_new();
	r->ports = calloc(65536, sizeof(*r->ports));
	r->profiles = calloc(BLOCKLOG_REPORT_PROFILES, sizeof(*r->profiles));
	r->quar = calloc(BLOCKLOG_REPORT_QUARANTINES, sizeof(*r->quar));
	r->fb = calloc(BLOCKLOG_REPORT_FALLBACKS, sizeof(*r->fb));
	if (!r->agg || !r->ports || !r->profiles || !r->quar || !r->fb ||
	    blocklog_agg_spark(r->agg) < 0) {
		blocklog_report_free(r);
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned p = 0; p < 65536; p++)
		r->ports[p].port = (uint16_t)p;
	return r;
}

void blocklog_report_free(struct blocklog_report *r)
{
	if (!r)
		return;
	blocklog_agg_free(r->agg);
	series_free(&r->minutes);
	series_free(&r->hours);
	free(r->ports);
	free(r->port_view);
	free(r->profiles);
	free(r->profile_view);
	free(r->rows);
	free(r->quar);
	free(r->quar_view);
	free(r->fb);
	free(r->fb_view);
	free(r->bucket_view);
	free(r);
}

struct blocklog_agg *blocklog_report_agg(struct blocklog_report *r)
{
	return r->agg;
}

/* The report's record of row, room made for it. NULL with errno ENOMEM. */
static struct row_info *row_info(struct blocklog_report *r, uint32_t row)
{
	if (row >= r->rows_cap) {
		size_t cap = r->rows_cap ? r->rows_cap : 1024;
		struct row_info *n;

		while (cap <= row)
			cap *= 2;
		n = realloc(r->rows, cap * sizeof(*n));
		if (!n)
			return NULL;
		memset(n + r->rows_cap, 0, (cap - r->rows_cap) * sizeof(*n));
		r->rows = n;
		r->rows_cap = cap;
	}
	return &r->rows[row];
}

/* Add to both series' slot of ts_ms: syns to series (BLOCKLOG_S_N:
 * none), a quarantine, a release. */
static int series_add(struct blocklog_report *r, int64_t ts_ms,
		      unsigned series, uint64_t syns, bool quarantine,
		      bool release)
{
	struct series *all[2] = { &r->minutes, &r->hours };

	for (unsigned i = 0; i < 2; i++) {
		struct blocklog_bucket *b = series_get(all[i], ts_ms);

		if (!b) {
			if (all[i]->dead)
				continue;
			return -1;
		}
		if (series < BLOCKLOG_S_N)
			b->syns[series] = sat_add64(b->syns[series], syns);
		b->quarantines += quarantine;
		b->releases += release;
	}
	/* Past 12 hours of minutes, a minute chart would be too dense. */
	if (!r->minutes.dead &&
	    (r->minutes.hi - r->minutes.lo) / MINUTE_MS > MINUTES_SPAN) {
		series_free(&r->minutes);
		r->minutes.dead = true;
	}
	return 0;
}

static int add_block(struct blocklog_report *r, const struct blocklog_line *l)
{
	unsigned what = l->monitor ? 2 : l->action == POLICY_DROP ? 1 : 0;
	static const unsigned series[] = { BLOCKLOG_S_REJECT, BLOCKLOG_S_DROP,
					   BLOCKLOG_S_MONITOR };
	struct blocklog_profile_count *pc = NULL;

	r->ports[l->dport].n[what]++;
	for (size_t i = 0; i < r->nprofiles; i++) {
		if (!r->profiles[i].others &&
		    !strcmp(r->profiles[i].name, l->profile)) {
			pc = &r->profiles[i];
			break;
		}
	}
	if (!pc) {
		/* The last slot is for every profile past the bound. */
		if (r->nprofiles < BLOCKLOG_REPORT_PROFILES - 1) {
			pc = &r->profiles[r->nprofiles++];
			memcpy(pc->name, l->profile, sizeof(pc->name));
			pc->name[sizeof(pc->name) - 1] = '\0';
		} else {
			pc = &r->profiles[BLOCKLOG_REPORT_PROFILES - 1];
			pc->name[0] = '\0';
			pc->others = true;
			r->nprofiles = BLOCKLOG_REPORT_PROFILES;
		}
	}
	pc->n[what]++;
	r->syns[series[what]]++;
	return series_add(r, l->ts_ms, series[what], 1, false, false);
}

static int add_summary(struct blocklog_report *r,
		       const struct blocklog_line *l)
{
	uint64_t kernel = l->kernel < l->count ? l->kernel : l->count;

	r->syns[BLOCKLOG_S_SUMMARY] = sat_add64(r->syns[BLOCKLOG_S_SUMMARY],
						l->count - kernel);
	r->syns[BLOCKLOG_S_KERNEL] = sat_add64(r->syns[BLOCKLOG_S_KERNEL],
					       kernel);
	if (series_add(r, l->ts_ms, BLOCKLOG_S_SUMMARY, l->count - kernel,
		       false, false) < 0)
		return -1;
	return series_add(r, l->ts_ms, BLOCKLOG_S_KERNEL, kernel, false,
			  false);
}

/* The subscriber's latest quarantine if the ring still holds it, else
 * NULL. */
static struct blocklog_report_quarantine *
latest_quarantine(struct blocklog_report *r, const struct row_info *ri)
{
	uint64_t n = ri->quarantine;

	if (!n || n + BLOCKLOG_REPORT_QUARANTINES <= r->nquar)
		return NULL;
	return &r->quar[(n - 1) % BLOCKLOG_REPORT_QUARANTINES];
}

static int add_quarantine(struct blocklog_report *r, struct row_info *ri,
			  const struct blocklog_line *l, uint32_t row)
{
	struct blocklog_report_quarantine *q = latest_quarantine(r, ri);

	/* A quarantine line while one is in force (not released, before
	 * its until) is the daemon extending it (a peer's new until): the
	 * earlier one ends here, and the release that follows ends this
	 * one. */
	if (q && !q->released && !q->superseded && l->ts_ms >= q->ts_ms &&
	    l->ts_ms < q->until * 1000) {
		q->superseded = true;
		q->release_ms = l->ts_ms;
	}
	q = &r->quar[r->nquar % BLOCKLOG_REPORT_QUARANTINES];
	memset(q, 0, sizeof(*q));
	q->ts_ms = l->ts_ms;
	q->until = l->until;
	q->syns = l->count;
	q->distinct = l->distinct;
	q->window_s = ri->window_s;
	q->row = row;
	memcpy(q->gateway, l->gateway, sizeof(q->gateway));
	ri->quarantine = ++r->nquar;
	return series_add(r, l->ts_ms, BLOCKLOG_S_N, 0, true, false);
}

/* A release ends the subscriber's latest quarantine, if the ring still
 * holds it and it is not ended yet. */
static int add_release(struct blocklog_report *r, const struct row_info *ri,
		       const struct blocklog_line *l)
{
	struct blocklog_report_quarantine *q = latest_quarantine(r, ri);

	if (q && !q->released && l->ts_ms >= q->ts_ms) {
		q->released = true;
		q->release_ms = l->ts_ms;
		q->has_reason = l->has_reason;
		q->reason = l->reason;
		memcpy(q->release_gateway, l->gateway,
		       sizeof(q->release_gateway));
	}
	return series_add(r, l->ts_ms, BLOCKLOG_S_N, 0, false, true);
}

static void add_fallback(struct blocklog_report *r,
			 const struct blocklog_line *l)
{
	struct blocklog_report_fallback *f =
		&r->fb[r->nfb++ % BLOCKLOG_REPORT_FALLBACKS];

	f->ts_ms = l->ts_ms;
	f->since = l->since;
	f->until = l->until;
	memcpy(f->syns, l->fallback, sizeof(f->syns));
}

int blocklog_report_add(struct blocklog_report *r,
			const struct blocklog_line *l)
{
	struct row_info *ri = NULL;
	uint32_t row;

	if (blocklog_agg_add_row(r->agg, l, &row) < 0)
		return -1;
	if (row != UINT32_MAX && !(ri = row_info(r, row)))
		return -1;
	r->lines++;
	if ((unsigned)l->kind < BLOCKLOG_KINDS)
		r->by_kind[l->kind]++;
	if (l->ts_ms < r->first_ms)
		r->first_ms = l->ts_ms;
	if (l->ts_ms > r->last_ms)
		r->last_ms = l->ts_ms;
	switch (l->kind) {
	case BLOCKLOG_BLOCK:
		return add_block(r, l);
	case BLOCKLOG_SUMMARY:
		return add_summary(r, l);
	case BLOCKLOG_DETECTION:
		if (ri)
			ri->window_s = l->window_s;
		return 0;
	case BLOCKLOG_QUARANTINE:
		return ri ? add_quarantine(r, ri, l, row) : 0;
	case BLOCKLOG_RELEASE:
		return ri ? add_release(r, ri, l) : 0;
	case BLOCKLOG_FALLBACK:
		add_fallback(r, l);
		return 0;
	default:
		return 0;
	}
}

static uint64_t total3(const uint64_t n[3])
{
	return n[0] + n[1] + n[2];
}

static int cmp_port(const void *x, const void *y)
{
	const struct blocklog_port_count *a = x, *b = y;
	uint64_t ta = total3(a->n), tb = total3(b->n);

	if (ta != tb)
		return ta > tb ? -1 : 1;
	return a->port < b->port ? -1 : a->port > b->port;
}

static int cmp_profile(const void *x, const void *y)
{
	const struct blocklog_profile_count *a = x, *b = y;
	uint64_t ta = total3(a->n), tb = total3(b->n);

	if (ta != tb)
		return ta > tb ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int cmp_bucket(const void *x, const void *y)
{
	const struct blocklog_bucket *a = x, *b = y;

	return a->start_ms < b->start_ms ? -1 : a->start_ms > b->start_ms;
}

static int cmp_quarantine(const void *x, const void *y)
{
	const struct blocklog_report_quarantine *a = x, *b = y;

	return a->ts_ms < b->ts_ms ? -1 : a->ts_ms > b->ts_ms;
}

static int cmp_fallback(const void *x, const void *y)
{
	const struct blocklog_report_fallback *a = x, *b = y;

	return a->ts_ms < b->ts_ms ? -1 : a->ts_ms > b->ts_ms;
}

/* A sorted copy of the last n of a ring of cap items of size sz, of
 * which total were ever written. NULL with *out 0 when empty. */
static void *ring_view(const void *ring, size_t sz, size_t cap,
		       uint64_t total, size_t *out,
		       int (*cmp)(const void *, const void *))
{
	size_t n = total < cap ? (size_t)total : cap;
	void *v;

	*out = 0;
	if (!n)
		return NULL;
	v = malloc(n * sz);
	if (!v)
		return NULL;
	memcpy(v, ring, n * sz);
	qsort(v, n, sz, cmp);
	*out = n;
	return v;
}

static int view_series(struct blocklog_report *r,
		       struct blocklog_report_view *v)
{
	const struct series *s = r->minutes.dead ? &r->hours : &r->minutes;

	free(r->bucket_view);
	r->bucket_view = NULL;
	v->width_ms = s->width_ms;
	if (!s->n)
		return 0;
	r->bucket_view = malloc(s->n * sizeof(*r->bucket_view));
	if (!r->bucket_view)
		return -1;
	memcpy(r->bucket_view, s->b, s->n * sizeof(*s->b));
	qsort(r->bucket_view, s->n, sizeof(*s->b), cmp_bucket);
	v->buckets = r->bucket_view;
	v->nbuckets = s->n;
	return 0;
}

static int view_ports(struct blocklog_report *r,
		      struct blocklog_report_view *v)
{
	size_t n = 0;

	free(r->port_view);
	r->port_view = NULL;
	for (unsigned p = 0; p < 65536; p++)
		n += total3(r->ports[p].n) != 0;
	if (!n)
		return 0;
	r->port_view = malloc(n * sizeof(*r->port_view));
	if (!r->port_view)
		return -1;
	n = 0;
	for (unsigned p = 0; p < 65536; p++)
		if (total3(r->ports[p].n))
			r->port_view[n++] = r->ports[p];
	qsort(r->port_view, n, sizeof(*r->port_view), cmp_port);
	v->ports = r->port_view;
	v->nports = n;
	return 0;
}

int blocklog_report_view(struct blocklog_report *r,
			 struct blocklog_report_view *v)
{
	memset(v, 0, sizeof(*v));
	v->first_ms = r->first_ms;
	v->last_ms = r->last_ms;
	v->lines = r->lines;
	memcpy(v->by_kind, r->by_kind, sizeof(v->by_kind));
	memcpy(v->syns, r->syns, sizeof(v->syns));
	v->quarantines_total = r->nquar;
	v->fallbacks_total = r->nfb;
	if (view_series(r, v) < 0 || view_ports(r, v) < 0)
		goto nomem;
	free(r->profile_view);
	r->profile_view = NULL;
	if (r->nprofiles) {
		r->profile_view = malloc(r->nprofiles *
					 sizeof(*r->profile_view));
		if (!r->profile_view)
			goto nomem;
		memcpy(r->profile_view, r->profiles,
		       r->nprofiles * sizeof(*r->profiles));
		qsort(r->profile_view, r->nprofiles, sizeof(*r->profiles),
		      cmp_profile);
		v->profiles = r->profile_view;
		v->nprofiles = r->nprofiles;
	}
	free(r->quar_view);
	r->quar_view = ring_view(r->quar, sizeof(*r->quar),
				 BLOCKLOG_REPORT_QUARANTINES, r->nquar,
				 &v->nquarantines, cmp_quarantine);
	if (r->nquar && !r->quar_view)
		goto nomem;
	v->quarantines = r->quar_view;
	free(r->fb_view);
	r->fb_view = ring_view(r->fb, sizeof(*r->fb),
			       BLOCKLOG_REPORT_FALLBACKS, r->nfb,
			       &v->nfallbacks, cmp_fallback);
	if (r->nfb && !r->fb_view)
		goto nomem;
	v->fallbacks = r->fb_view;
	return 0;
nomem:
	errno = ENOMEM;
	return -1;
}
