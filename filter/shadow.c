// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The shadow policy's counts, rate and lines (filter/shadow.h). What runs
 * on the verdict path is shadow_syn(): a count when the two policies
 * agree; the rest is here, for the few SYNs where they do not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/hash.h"
#include "filter/shadow.h"

enum { KIND_FREE = 0, KIND_V4, KIND_V6, KIND_ID };

enum blocklog_shadow_dir shadow_dir(enum policy_action a,
				    enum policy_action b)
{
	if (a == POLICY_ACCEPT)
		return BLOCKLOG_SHADOW_BLOCK;
	if (b == POLICY_ACCEPT)
		return BLOCKLOG_SHADOW_PASS;
	return BLOCKLOG_SHADOW_CHANGE;
}

/* The ports of both policies, ascending: the first SHADOW_PORTS are
 * counted apart. */
static void port_slots(struct shadow_state *st, const struct policy *a,
		       const struct policy *b)
{
	static struct policy_port pa[65536], pb[65536];
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	unsigned na, nb, i = 0, j = 0;

	/* Two 256 KiB lists, once per start: static, under a lock, rather
	 * than on the main thread's stack. */
	pthread_mutex_lock(&mu);
	na = policy_ports(a, pa, 65536, NULL);
	nb = policy_ports(b, pb, 65536, NULL);
	st->nports = 0;
	while ((i < na || j < nb) && st->nports < SHADOW_PORTS) {
		uint16_t p;

		if (j >= nb || (i < na && pa[i].port < pb[j].port))
			p = pa[i++].port;
		else if (i >= na || pb[j].port < pa[i].port)
			p = pb[j++].port;
		else
			p = pa[i++].port, j++;
		st->ports[st->nports++] = p;
	}
	pthread_mutex_unlock(&mu);
	memset(st->port_slot, SHADOW_PORTS, sizeof(st->port_slot));
	for (i = 0; i < st->nports; i++)
		st->port_slot[st->ports[i]] = (uint8_t)i;
}

/* a's host bits past the first bits (of 128) set: the prefix's last
 * address. */
static void last_addr(struct addr *a, unsigned bits)
{
	for (unsigned i = bits; i < 128; i++)
		a->b[i / 8] |= (uint8_t)(0x80u >> (i % 8));
}

/* What the candidate decides that the running rules never queue: its
 * ports the running policy does not name, and its aggregates whose ends
 * no running entry holds. Said at start, so that a quiet shadow is not
 * read as agreement. */
static void find_unseen(struct shadow_state *st, const struct policy *cand,
			const struct policy *run)
{
	static struct policy_port pc[65536], pr[65536];
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct strbuf b = { 0 };
	unsigned nc, nr, i, j = 0, ports = 0, ranges = 0;
	bool all_c = false, all_r = false;

	pthread_mutex_lock(&mu);
	nc = policy_ports(cand, pc, 65536, &all_c);
	nr = policy_ports(run, pr, 65536, &all_r);
	for (i = 0; i < nc && !all_r; i++) {
		while (j < nr && pr[j].port < pc[i].port)
			j++;
		if (j < nr && pr[j].port == pc[i].port)
			continue;
		if (ports++ < 8)
			strbuf_printf(&b, "%s%u", ports == 1 ? "port " : ", ",
				      pc[i].port);
	}
	pthread_mutex_unlock(&mu);
	if (ports > 8)
		strbuf_printf(&b, " and %u more ports", ports - 8);
	if (all_c && !all_r)
		strbuf_printf(&b, "%severy port its default blocks",
			      ports ? "; " : "");
	for (int fam = 0; fam < 2; fam++) {
		int af = fam ? AF_INET6 : AF_INET;
		size_t n = policy_aggregates(cand, af, NULL, 0), k;
		int32_t *ids = n ? calloc(n, sizeof(*ids)) : NULL;

		if (!ids)
			continue;
		policy_aggregates(cand, af, ids, n);
		for (k = 0; k < n; k++) {
			struct policy_entry_info info;
			struct policy_flow f = { 0 };
			struct policy_decision d1, d2;
			unsigned len;

			if (policy_entry_prefix(cand, ids[k], &f.src,
						&len) < 0 ||
			    policy_entry_info(cand, ids[k], &info) < 0)
				continue;
			policy_decide(run, &f, 0, false, &d1);
			last_addr(&f.src, addr_is_v4(&f.src) ? len + 96 : len);
			policy_decide(run, &f, 0, false, &d2);
			if (d1.entry >= 0 && d2.entry >= 0)
				continue;
			if (ranges++ < 4)
				strbuf_printf(&b, "%s%s", ranges == 1 ?
					      (b.len ? "; source " : "source ")
					      : ", ", info.prefix);
		}
		free(ids);
	}
	if (ranges > 4)
		strbuf_printf(&b, " and %u more sources", ranges - 4);
	snprintf(st->unseen, sizeof(st->unseen), "%s", b.s ? b.s : "");
	strbuf_free(&b);
}

struct shadow *shadow_new(struct policy *p, const struct policy *running,
			  const char *path, unsigned nthreads, int64_t now)
{
	const struct policy_log *lc = policy_log_config(running);
	struct shadow *s = calloc(1, sizeof(*s));
	struct shadow_state *st = calloc(1, sizeof(*st));

	if (!s || !st || !nthreads)
		goto fail;
	st->counts = aligned_alloc(64, sizeof(*st->counts) * nthreads);
	st->shards = aligned_alloc(64, sizeof(*st->shards) *
				   SHADOW_RATE_SHARDS);
	if (!st->counts || !st->shards)
		goto fail;
	memset(st->counts, 0, sizeof(*st->counts) * nthreads);
	memset(st->shards, 0, sizeof(*st->shards) * SHADOW_RATE_SHARDS);
	for (unsigned i = 0; i < SHADOW_RATE_SHARDS; i++)
		pthread_mutex_init(&st->shards[i].lock, NULL);
	snprintf(st->path, sizeof(st->path), "%s", path);
	st->started = st->loaded = now;
	st->nthreads = nthreads;
	st->per_sub = lc->per_subscriber;
	st->rate_ms = (int64_t)lc->per_subscriber_s * 1000;
	if (getrandom(&st->seed, sizeof(st->seed), GRND_NONBLOCK) !=
	    sizeof(st->seed))
		st->seed = (uint64_t)now * 0x9e3779b97f4a7c15ULL;
	{
		struct stat sb;

		if (stat(path, &sb) == 0) {
			st->dev = sb.st_dev;
			st->ino = sb.st_ino;
			st->size = sb.st_size;
			st->mtime = sb.st_mtim;
		}
	}
	port_slots(st, running, p);
	find_unseen(st, p, running);
	s->p = p;
	s->st = st;
	return s;
fail:
	if (st) {
		free(st->counts);
		free(st->shards);
	}
	free(st);
	free(s);
	errno = ENOMEM;
	return NULL;
}

bool shadow_file_changed(const struct shadow_state *st)
{
	struct stat sb;

	return stat(st->path, &sb) < 0 || sb.st_dev != st->dev ||
	       sb.st_ino != st->ino || sb.st_size != st->size ||
	       sb.st_mtim.tv_sec != st->mtime.tv_sec ||
	       sb.st_mtim.tv_nsec != st->mtime.tv_nsec;
}

struct shadow *shadow_renew(const struct shadow *s, struct policy *p)
{
	struct shadow *n = calloc(1, sizeof(*n));

	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	n->p = p;
	n->st = s->st;
	return n;
}

void shadow_free_policy(struct shadow *s)
{
	if (!s)
		return;
	policy_free(s->p);
	free(s);
}

void shadow_free(struct shadow *s)
{
	if (!s)
		return;
	if (s->st) {
		for (unsigned i = 0; s->st->shards &&
		     i < SHADOW_RATE_SHARDS; i++)
			pthread_mutex_destroy(&s->st->shards[i].lock);
		free(s->st->shards);
		free(s->st->counts);
		free(s->st);
	}
	shadow_free_policy(s);
}

/* f's subscriber as stats counts it: its session's id, an IPv4 address,
 * an IPv6 /64. */
static void rate_key(const struct policy_flow *f, uint64_t *key,
		     uint8_t *kind)
{
	const uint8_t *b = f->src.b;

	if (f->subscriber_len) {
		*key = f->subscriber_key;
		*kind = KIND_ID;
	} else if (addr_is_v4(&f->src)) {
		*key = (uint64_t)b[12] << 24 | (uint64_t)b[13] << 16 |
		       (uint64_t)b[14] << 8 | b[15];
		*kind = KIND_V4;
	} else {
		*key = 0;
		for (int i = 0; i < 8; i++)
			*key = *key << 8 | b[i];
		*kind = KIND_V6;
	}
}

static uint64_t held_sum(const struct shadow_rate *r)
{
	uint64_t n = 0;

	for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
		n += r->held[d];
	return n;
}

/* r's summary line into ev, at ts. */
static void summary_of(const struct shadow_state *st,
		       const struct shadow_rate *r, int64_t ts,
		       struct blocklog_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = BLOCKLOG_SHADOW_SUMMARY;
	ev->ts_ms = ts;
	ev->src = r->last;
	ev->window_s = (uint32_t)(st->rate_ms / 1000);
	for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
		ev->shadow[d] = r->held[d];
	memcpy(ev->subscriber, r->id, sizeof(ev->subscriber));
}

/*
 * Whether f's disagreement gets a line of its own: the first per_sub of
 * its subscriber's window do. *sum is set (with ev) when a window's
 * summary must be written first: the subscriber's window ended, or its
 * slot was taken over from another's.
 */
static bool rate_allows(struct shadow_state *st, const struct policy_flow *f,
			enum blocklog_shadow_dir dir, int64_t now,
			struct blocklog_event *ev, bool *sum)
{
	struct shadow_shard *sh;
	struct shadow_rate *r = NULL, *old = NULL;
	uint64_t key, h;
	uint8_t kind;
	unsigned base;
	bool allow;

	*sum = false;
	if (!st->rate_ms)
		return true;
	rate_key(f, &key, &kind);
	h = hash_mix64(key ^ st->seed ^ (uint64_t)kind << 56);
	sh = &st->shards[h >> 60 & (SHADOW_RATE_SHARDS - 1)];
	base = (unsigned)h & (SHADOW_RATE_SLOTS - 1);
	pthread_mutex_lock(&sh->lock);
	for (unsigned i = 0; i < SHADOW_RATE_PROBE; i++) {
		struct shadow_rate *c =
			&sh->slot[(base + i) & (SHADOW_RATE_SLOTS - 1)];

		if (c->kind == kind && c->key == key) {
			r = c;
			break;
		}
		if (!c->kind) {
			if (!old || old->kind)
				old = c;
		} else if (!old || (old->kind && c->start_ms < old->start_ms)) {
			old = c;
		}
	}
	if (r && now - r->start_ms >= st->rate_ms) {
		/* Its window ended: said, and a new one. */
		if (held_sum(r)) {
			summary_of(st, r, r->start_ms + st->rate_ms, ev);
			*sum = true;
		}
		memset(r->held, 0, sizeof(r->held));
		r->lines = 0;
		r->start_ms = now;
	} else if (!r) {
		r = old;
		if (r->kind && held_sum(r)) {
			/* Every slot it may have is in use: the oldest
			 * window ends early, said. */
			summary_of(st, r, now, ev);
			*sum = true;
			atomic_fetch_add(&st->evicted, 1);
		}
		memset(r, 0, sizeof(*r));
		r->kind = kind;
		r->key = key;
		r->start_ms = now;
	}
	r->last = f->src;
	if (kind == KIND_ID && !r->id[0]) {
		memcpy(r->id, f->subscriber, f->subscriber_len);
		r->id[f->subscriber_len] = '\0';
	}
	if (r->lines < UINT32_MAX)
		r->lines++;
	allow = r->lines <= st->per_sub;
	if (!allow && r->held[dir] < UINT32_MAX)
		r->held[dir]++;
	pthread_mutex_unlock(&sh->lock);
	if (*sum)
		atomic_fetch_add(&st->summaries, 1);
	return allow;
}

static void copy_name(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

void shadow_differs(struct shadow *s, unsigned thread,
		    const struct policy *running, const struct policy_flow *f,
		    const struct policy_decision *rd,
		    const struct policy_decision *sd, int64_t now_ms,
		    struct blocklog *bl)
{
	struct shadow_state *st = s->st;
	struct shadow_counts *c = &st->counts[thread];
	enum blocklog_shadow_dir dir = shadow_dir(rd->action, sd->action);
	struct blocklog_event ev;
	unsigned len;
	bool sum;

	shadow_count_bump(&c->v[dir][st->port_slot[f->dport]]);
	if (!rate_allows(st, f, dir, now_ms, &ev, &sum)) {
		shadow_count_bump(&c->held);
		if (sum && bl)
			blocklog_push(bl, thread, &ev);
		return;
	}
	if (sum && bl)
		blocklog_push(bl, thread, &ev);
	shadow_count_bump(&c->lines);
	if (!bl)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = BLOCKLOG_SHADOW;
	ev.ts_ms = now_ms;
	ev.src = f->src;
	ev.dst = f->dst;
	ev.dport = f->dport;
	ev.action = (uint8_t)rd->action;
	ev.shadow_action = (uint8_t)sd->action;
	if (rd->profile >= 0)
		copy_name(ev.profile, sizeof(ev.profile),
			  policy_profile_name(running, rd->profile));
	if (sd->profile >= 0)
		copy_name(ev.shadow_profile, sizeof(ev.shadow_profile),
			  policy_profile_name(s->p, sd->profile));
	/* The writer makes the prefixes' text, off the verdict path. */
	if (rd->entry >= 0 &&
	    policy_entry_prefix(running, rd->entry, &ev.prefix_addr,
				&len) == 0) {
		ev.prefix_len = (uint8_t)len;
		ev.prefix_set = true;
	}
	if (sd->entry >= 0 &&
	    policy_entry_prefix(s->p, sd->entry, &ev.shadow_prefix_addr,
				&len) == 0) {
		ev.shadow_prefix_len = (uint8_t)len;
		ev.shadow_prefix_set = true;
	}
	if (f->subscriber_len) {
		memcpy(ev.subscriber, f->subscriber, f->subscriber_len);
		ev.subscriber[f->subscriber_len] = '\0';
	}
	blocklog_push(bl, thread, &ev);
}

void shadow_tick(struct shadow *s, int64_t now_ms, struct blocklog *bl,
		 unsigned producer, bool all)
{
	struct shadow_state *st = s->st;

	if (!st->rate_ms)
		return;
	for (unsigned i = 0; i < SHADOW_RATE_SHARDS; i++) {
		struct shadow_shard *sh = &st->shards[i];
		struct blocklog_event ev[16];
		unsigned j = 0;

		while (j < SHADOW_RATE_SLOTS) {
			unsigned n = 0;

			pthread_mutex_lock(&sh->lock);
			/* A short hold: verdict threads that disagree
			 * take this lock too. */
			for (unsigned stop = j + 64;
			     j < SHADOW_RATE_SLOTS && j < stop && n < 16; j++) {
				struct shadow_rate *r = &sh->slot[j];
				int64_t end = r->start_ms + st->rate_ms;

				if (!r->kind || (!all && now_ms < end))
					continue;
				if (held_sum(r))
					summary_of(st, r, all && now_ms < end ?
						   now_ms : end, &ev[n++]);
				memset(r, 0, sizeof(*r));
			}
			pthread_mutex_unlock(&sh->lock);
			for (unsigned k = 0; k < n; k++) {
				atomic_fetch_add(&st->summaries, 1);
				if (bl)
					blocklog_push(bl, producer, &ev[k]);
			}
		}
	}
}

void shadow_sum(const struct shadow_state *st, struct shadow_sum *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned t = 0; t < st->nthreads; t++) {
		const struct shadow_counts *c = &st->counts[t];

		out->judged += atomic_load_explicit(&c->judged,
						    memory_order_relaxed);
		out->lines += atomic_load_explicit(&c->lines,
						   memory_order_relaxed);
		out->held += atomic_load_explicit(&c->held,
						  memory_order_relaxed);
		for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
			for (unsigned p = 0; p <= SHADOW_PORTS; p++) {
				uint64_t v = atomic_load_explicit(
					&c->v[d][p], memory_order_relaxed);

				out->by_port[d][p] += v;
				out->dir[d] += v;
			}
	}
	out->summaries = atomic_load(&st->summaries);
}

/* The total of (dir, port) in t, made at 0 if missing; NULL: no memory. */
static struct shadow_total *total_of(struct shadow_totals *t, uint8_t dir,
				     uint16_t port)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->t[i].dir == dir && t->t[i].port == port)
			return &t->t[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct shadow_total *n = realloc(t->t, cap * sizeof(*n));

		if (!n)
			return NULL;
		t->t = n;
		t->cap = cap;
	}
	t->t[t->n] = (struct shadow_total){ .dir = dir, .port = port };
	return &t->t[t->n++];
}

/* Slot p's port number, 0 for other. */
static uint16_t slot_port(const struct shadow_state *st, unsigned p)
{
	return p < st->nports ? st->ports[p] : 0;
}

int shadow_fold(const struct shadow_state *st, struct shadow_totals *t)
{
	struct shadow_sum s;

	shadow_sum(st, &s);
	t->judged += s.judged;
	t->lines += s.lines;
	t->held += s.held;
	t->summaries += s.summaries;
	for (uint8_t d = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
		for (unsigned p = 0; p <= SHADOW_PORTS; p++) {
			struct shadow_total *e;

			if (!s.by_port[d][p] || (p >= st->nports &&
						 p != SHADOW_PORTS))
				continue;
			e = total_of(t, d, slot_port(st, p));
			if (!e) {
				errno = ENOMEM;
				return -1;
			}
			e->n += s.by_port[d][p];
		}
	return 0;
}

void shadow_totals_free(struct shadow_totals *t)
{
	free(t->t);
	memset(t, 0, sizeof(*t));
}

static void port_label(struct strbuf *o, uint16_t port)
{
	if (port)
		strbuf_printf(o, "\"%u\"", port);
	else
		strbuf_printf(o, "\"other\"");
}

void shadow_metrics(const struct shadow_state *st,
		    const struct shadow_totals *t, struct strbuf *o)
{
	struct shadow_sum s = { 0 };

	if (st)
		shadow_sum(st, &s);
	strbuf_printf(o, "# HELP portcullis_shadow_running Whether a shadow "
		      "policy decides beside the running one (portcullis "
		      "shadow start).\n# TYPE portcullis_shadow_running "
		      "gauge\nportcullis_shadow_running %d\n", st ? 1 : 0);
	strbuf_printf(o, "# HELP portcullis_shadow_judged_total SYNs a shadow "
		      "policy decided beside the running one.\n# TYPE "
		      "portcullis_shadow_judged_total counter\n"
		      "portcullis_shadow_judged_total %llu\n",
		      (unsigned long long)(s.judged + t->judged));
	strbuf_printf(o, "# HELP portcullis_shadow_disagreements_total SYNs "
		      "a shadow policy decided otherwise than the running "
		      "one, by port (other: past the first 16 either names) "
		      "and direction (would_block: the running policy "
		      "accepts; would_pass: the shadow accepts; "
		      "would_change: drop against reject).\n# TYPE "
		      "portcullis_shadow_disagreements_total counter\n");
	/* The running shadow's ports from the start, at 0; what ended ones
	 * counted added in by port. */
	for (unsigned p = 0; st && p <= SHADOW_PORTS; p++) {
		if (p >= st->nports && p != SHADOW_PORTS)
			continue;
		for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++) {
			uint64_t n = s.by_port[d][p];

			for (size_t i = 0; i < t->n; i++)
				if (t->t[i].dir == d &&
				    t->t[i].port == slot_port(st, p))
					n += t->t[i].n;
			strbuf_printf(o, "portcullis_shadow_disagreements_total"
				      "{port=");
			port_label(o, slot_port(st, p));
			strbuf_printf(o, ",direction=\"%s\"} %llu\n",
				      blocklog_shadow_dir_name(d),
				      (unsigned long long)n);
		}
	}
	for (size_t i = 0; i < t->n; i++) {
		bool shown = false;

		for (unsigned p = 0; st && p <= SHADOW_PORTS && !shown; p++)
			shown = (p < st->nports || p == SHADOW_PORTS) &&
				slot_port(st, p) == t->t[i].port;
		if (shown)
			continue;
		strbuf_printf(o, "portcullis_shadow_disagreements_total{port=");
		port_label(o, t->t[i].port);
		strbuf_printf(o, ",direction=\"%s\"} %llu\n",
			      blocklog_shadow_dir_name(t->t[i].dir),
			      (unsigned long long)t->t[i].n);
	}
	strbuf_printf(o, "# HELP portcullis_shadow_lines_total Shadow "
		      "disagreements by how the block log has them: a line "
		      "of their own, or counted in a shadow_summary line.\n"
		      "# TYPE portcullis_shadow_lines_total counter\n"
		      "portcullis_shadow_lines_total{as=\"line\"} %llu\n"
		      "portcullis_shadow_lines_total{as=\"summary\"} %llu\n",
		      (unsigned long long)(s.lines + t->lines),
		      (unsigned long long)(s.held + t->held));
}
