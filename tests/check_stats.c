// SPDX-License-Identifier: GPL-2.0-or-later
/* stats/: windows, eviction, rate limit, detection and quarantine, the
 * sketch's error, threads, and no allocation on the SYN path. */
#include <check.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats/internal.h"
#include "stats/stats.h"
#include "tests/helpers.h"
#include "tests/suites.h"

#define T0 1795829025000LL		/* 2026-11-28T01:23:45.000Z */
#define BOUND 0.195			/* distinct.c: 3 standard errors */


/* Whether src's subscriber is quarantined at now, as the daemon's
 * quarantine command sees it. */
static bool quarantined(struct stats *st, const struct addr *src,
			int64_t now)
{
	struct stats_subscriber sub;

	return stats_subscriber_get(st, src, now, &sub) == 0 &&
	       sub.quarantined;
}

/* The policy of the tests that decide by one. */
#define POLICY "quarantine_at_5_syns.yaml"

struct fx {
	char path[40];
	struct blocklog *bl;
	struct stats *st;
	struct policy *p;
	char *text;
};

static struct stats_config base_cfg(void)
{
	struct stats_config cfg = {
		.threads = 1,
		.max_subscribers = 1024,
		.seed = 42,
		.log_per_subscriber = 10,
		.log_per_subscriber_s = 60,
	};

	cfg.detection.enabled = true;
	cfg.detection.ports[0] = 25;
	cfg.detection.nports = 1;
	cfg.detection.window_s = 60;
	cfg.detection.syns = 5;
	cfg.detection.distinct_destinations = 5;
	cfg.detection.quarantine = true;
	cfg.detection.quarantine_for_s = 3600;
	cfg.detection.profile = -1;
	return cfg;
}

/* Takes p; p NULL: decisions are made up by fx_syn(). */
static void fx_open(struct fx *fx, const struct stats_config *cfg,
		    struct policy *p)
{
	struct blocklog_config bc = {
		.producers = stats_log_producers(cfg->threads),
		.ring_slots = 1 << 14,
		.no_writer_thread = true,
	};

	memset(fx, 0, sizeof(*fx));
	tests_tmpfile(fx->path, sizeof(fx->path), "stats");
	bc.path = fx->path;
	fx->bl = blocklog_open(&bc);
	ck_assert_ptr_nonnull(fx->bl);
	fx->p = p;
	fx->st = stats_open(cfg, fx->bl);
	ck_assert_ptr_nonnull(fx->st);
}

static void fx_close(struct fx *fx)
{
	stats_close(fx->st);
	blocklog_close(fx->bl);
	policy_free(fx->p);
	free(fx->text);
	unlink(fx->path);
}

/* Everything written to the log so far. */
static const char *fx_log(struct fx *fx)
{
	blocklog_drain(fx->bl);
	free(fx->text);
	fx->text = tests_slurp(fx->path, NULL);
	return fx->text;
}

static struct policy_flow flow(const char *src, const char *dst,
			       uint16_t port)
{
	struct policy_flow f = { 0 };

	ck_assert_int_eq(addr_parse(src, &f.src), 0);
	ck_assert_int_eq(addr_parse(dst, &f.dst), 0);
	f.dport = port;
	return f;
}

/* One SYN; without a policy, `a` is the decision's action. */
static struct policy_decision fx_syn_on(struct fx *fx, unsigned thread,
					const struct policy_flow *f,
					int64_t now, enum policy_action a)
{
	struct policy_decision d = { a, a, POLICY_REASON_PORT, 0, 0, -1 };

	if (fx->p)
		policy_decide(fx->p, f, now / 1000, false, &d);
	stats_syn(fx->st, thread, fx->p, f, now, &d);
	return d;
}

static struct policy_decision fx_syn(struct fx *fx, const char *src,
				     const char *dst, uint16_t port,
				     int64_t now, enum policy_action a)
{
	struct policy_flow f = flow(src, dst, port);

	return fx_syn_on(fx, 0, &f, now, a);
}

static void dst_n(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "198.51.%u.%u", (i >> 8) & 0xff, i & 0xff);
}

static struct stats_subscriber sub_of(struct fx *fx, const char *src,
				      int64_t now)
{
	struct stats_subscriber s;
	struct addr a;

	ck_assert_int_eq(addr_parse(src, &a), 0);
	ck_assert_int_eq(stats_subscriber_get(fx->st, &a, now, &s), 0);
	return s;
}

static bool tracked(struct fx *fx, const char *src)
{
	struct stats_subscriber s;
	struct addr a;

	ck_assert_int_eq(addr_parse(src, &a), 0);
	return stats_subscriber_get(fx->st, &a, T0, &s) == 0;
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* ---- the sketch ---- */

START_TEST(test_distinct_is_exact_up_to_32)
{
	struct distinct d;
	uint64_t seed = 7;
	uint32_t h[DISTINCT_EXACT];

	stats_distinct_reset(&d);
	for (unsigned i = 0; i < DISTINCT_EXACT; i++) {
		h[i] = (uint32_t)rng_next(&seed);
		stats_distinct_add(&d, h[i]);
		stats_distinct_add(&d, h[i / 2]);	/* seen before */
		ck_assert_uint_eq(stats_distinct_estimate(&d), i + 1);
	}
}
END_TEST

START_TEST(test_sketch_error_within_bound_across_counts)
{
	static const unsigned counts[] = { 33, 50, 100, 300, 640, 1000,
					   5000, 20000, 100000, 1000000 };

	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		for (uint64_t run = 1; run <= 5; run++) {
			uint64_t seed = run * 1000003 + c;
			struct distinct d;
			double err;

			stats_distinct_reset(&d);
			for (unsigned i = 0; i < counts[c]; i++)
				stats_distinct_add(&d,
						   (uint32_t)rng_next(&seed));
			err = ((double)stats_distinct_estimate(&d) -
			       counts[c]) / counts[c];
			ck_assert_msg(err < BOUND && err > -BOUND,
				      "n=%u run %u: error %.3f", counts[c],
				      (unsigned)run, err);
		}
	}
}
END_TEST

/* Through the SYN path: 100,000 random destinations in one window. */
START_TEST(test_sketch_error_on_100000_random_destinations)
{
	enum { N = 100000 };
	uint32_t *dst = malloc(N * sizeof(*dst));
	double worst = 0, sum = 0;

	for (uint64_t run = 1; run <= 5; run++) {
		struct stats_config cfg = base_cfg();
		struct stats_subscriber s;
		struct policy_flow f = flow("100.64.3.7", "0.0.0.0", 25);
		uint64_t seed = run;
		size_t distinct = 1;
		struct fx fx;
		double err;

		cfg.seed = run * 77;
		cfg.detection.syns = 1000000;	/* never detect */
		cfg.detection.window_s = 3600;
		fx_open(&fx, &cfg, NULL);
		for (int i = 0; i < N; i++) {
			dst[i] = (uint32_t)rng_next(&seed);
			addr_from_v4(&f.dst, dst[i]);
			fx_syn_on(&fx, 0, &f, T0 + i / 100, POLICY_ACCEPT);
		}
		qsort(dst, N, sizeof(*dst), cmp_u32);
		for (int i = 1; i < N; i++)
			distinct += dst[i] != dst[i - 1];
		s = sub_of(&fx, "100.64.3.7", T0 + N / 100);
		ck_assert_uint_eq(s.window_syns, N);
		err = ((double)s.window_distinct - distinct) / distinct;
		fprintf(stderr, "sketch run %u: %zu distinct, estimate %u, "
			"error %+.2f%%\n", (unsigned)run, distinct,
			s.window_distinct, err * 100);
		ck_assert_msg(err < BOUND && err > -BOUND, "error %.3f", err);
		worst = err < 0 ? (-err > worst ? -err : worst)
				: (err > worst ? err : worst);
		sum += err < 0 ? -err : err;
		fx_close(&fx);
	}
	/* Five errors of a 6.5% standard error average well under it. */
	ck_assert_msg(sum / 5 < 0.065, "mean error %.3f", sum / 5);
	fprintf(stderr, "sketch: worst %.2f%%, mean %.2f%%\n", worst * 100,
		sum / 5 * 100);
	free(dst);
}
END_TEST

START_TEST(test_few_destinations_are_counted_exactly)
{
	struct stats_config cfg = base_cfg();
	char dst[32];
	struct fx fx;

	cfg.detection.syns = 1000000;
	fx_open(&fx, &cfg, NULL);
	for (unsigned i = 0; i < 30; i++) {
		dst_n(dst, sizeof(dst), i % 17);
		fx_syn(&fx, "100.64.3.7", dst, 25, T0 + i, POLICY_ACCEPT);
	}
	ck_assert_uint_eq(sub_of(&fx, "100.64.3.7", T0 + 30).window_distinct,
			  17);
	ck_assert_uint_eq(sub_of(&fx, "100.64.3.7", T0 + 30).window_syns, 30);
	fx_close(&fx);
}
END_TEST

/* ---- windows ---- */

START_TEST(test_syn_at_window_end_opens_the_next_window)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	char dst[32];
	struct fx fx;

	cfg.detection.quarantine = false;	/* action: log */
	fx_open(&fx, &cfg, NULL);
	/* Four SYNs in [T0, T0 + 60 s), the fifth exactly at its end. */
	for (unsigned i = 0; i < 4; i++) {
		dst_n(dst, sizeof(dst), i);
		fx_syn(&fx, "100.64.3.7", dst, 25, T0 + i * 19999,
		       POLICY_REJECT);
	}
	fx_syn(&fx, "100.64.3.7", "198.51.0.9", 25, T0 + 60000,
	       POLICY_REJECT);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.detections, 0);
	ck_assert_uint_eq(sub_of(&fx, "100.64.3.7", T0 + 60000).window_syns,
			  1);

	/* The same run a millisecond sooner is one window: detected. */
	for (unsigned i = 0; i < 4; i++) {
		dst_n(dst, sizeof(dst), i);
		fx_syn(&fx, "100.64.3.8", dst, 25, T0 + i * 19999,
		       POLICY_REJECT);
	}
	fx_syn(&fx, "100.64.3.8", "198.51.0.9", 25, T0 + 59999,
	       POLICY_REJECT);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.detections, 1);
	ck_assert_uint_eq(c.quarantines, 0);
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"detection\""),
			 1);
	ck_assert_ptr_nonnull(strstr(fx.text,
		"{\"ts\":\"2026-11-28T01:24:44.999Z\",\"event\":\"detection\","
		"\"src\":\"100.64.3.8\",\"syns\":5,\"distinct_destinations\":5,"
		"\"window_s\":60}\n"));
	fx_close(&fx);
}
END_TEST

START_TEST(test_detection_needs_both_thresholds)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	char dst[32];
	struct fx fx;

	cfg.detection.quarantine = false;
	fx_open(&fx, &cfg, NULL);
	/* Many SYNs, four destinations: a busy mail server, not a run. */
	for (unsigned i = 0; i < 50; i++) {
		dst_n(dst, sizeof(dst), i % 4);
		fx_syn(&fx, "100.64.3.7", dst, 25, T0 + i, POLICY_ACCEPT);
	}
	/* Detection ports only: 587 to many hosts is no spam run. */
	for (unsigned i = 0; i < 50; i++) {
		dst_n(dst, sizeof(dst), i);
		fx_syn(&fx, "100.64.3.8", dst, 587, T0 + i, POLICY_ACCEPT);
	}
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.detections, 0);
	fx_close(&fx);
}
END_TEST

/* ---- eviction ---- */

/* A 587 SYN at second `sec` from T0. */
static void seen(struct fx *fx, const char *src, int sec)
{
	fx_syn(fx, src, "198.51.0.1", 587, T0 + sec * 1000LL, POLICY_ACCEPT);
}

START_TEST(test_full_table_evicts_least_recently_seen)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	struct fx fx;

	cfg.max_subscribers = 4;
	fx_open(&fx, &cfg, NULL);
	/* Recency counts to the second, as last_seen does. */
	seen(&fx, "100.64.0.1", 0);
	seen(&fx, "100.64.0.2", 1);
	seen(&fx, "100.64.0.3", 2);
	seen(&fx, "100.64.0.4", 3);
	seen(&fx, "100.64.0.1", 4);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.tracked, 4);
	ck_assert_uint_eq(c.evictions, 0);

	/* .2 is now the least recently seen: it goes first, then .3. */
	seen(&fx, "100.64.0.5", 5);
	ck_assert(!tracked(&fx, "100.64.0.2"));
	ck_assert(tracked(&fx, "100.64.0.1"));
	ck_assert(tracked(&fx, "100.64.0.3"));
	seen(&fx, "100.64.0.6", 6);
	ck_assert(!tracked(&fx, "100.64.0.3"));
	ck_assert(tracked(&fx, "100.64.0.4"));
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.tracked, 4);
	ck_assert_uint_eq(c.capacity, 4);
	ck_assert_uint_eq(c.evictions, 2);

	/* An evicted subscriber comes back new. */
	seen(&fx, "100.64.0.2", 7);
	ck_assert_uint_eq(sub_of(&fx, "100.64.0.2", T0 + 7000).syns, 1);
	ck_assert_uint_eq(sub_of(&fx, "100.64.0.2", T0 + 7000).first_seen,
			  (T0 + 7000) / 1000);
	fx_close(&fx);
}
END_TEST

START_TEST(test_eviction_in_a_big_table_keeps_the_index_whole)
{
	struct stats_config cfg = base_cfg();
	struct policy_flow f = flow("100.64.0.0", "198.51.0.1", 587);
	struct stats_counters c;
	struct fx fx;

	cfg.max_subscribers = 5000;
	cfg.shards = 1;
	fx_open(&fx, &cfg, NULL);
	/* 20,000 subscribers through 5,000 places, then the last 5,000
	 * must all be found (backward-shift deletion lost none). */
	for (uint32_t i = 0; i < 20000; i++) {
		addr_from_v4(&f.src, 0x64400000 + i);
		fx_syn_on(&fx, 0, &f, T0 + i, POLICY_ACCEPT);
	}
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.evictions, 15000);
	ck_assert_uint_eq(c.tracked, 5000);
	for (uint32_t i = 0; i < 20000; i++) {
		struct stats_subscriber s;

		addr_from_v4(&f.src, 0x64400000 + i);
		ck_assert_int_eq(stats_subscriber_get(fx.st, &f.src, T0, &s),
				 i < 15000 ? -1 : 0);
	}
	fx_close(&fx);
}
END_TEST

START_TEST(test_quarantined_subscriber_is_not_evicted)
{
	struct stats_config cfg = base_cfg();
	struct addr a;
	char dst[32], src[32];
	struct fx fx;

	cfg.max_subscribers = 4;
	fx_open(&fx, &cfg, NULL);
	for (unsigned i = 0; i < 5; i++) {
		dst_n(dst, sizeof(dst), i);
		fx_syn(&fx, "100.64.0.1", dst, 25, T0, POLICY_REJECT);
	}
	addr_parse("100.64.0.1", &a);
	ck_assert(quarantined(fx.st, &a, T0));
	for (unsigned i = 2; i < 40; i++) {
		snprintf(src, sizeof(src), "100.64.0.%u", i);
		fx_syn(&fx, src, "198.51.0.1", 587, T0 + i, POLICY_ACCEPT);
	}
	ck_assert(quarantined(fx.st, &a, T0 + 40));
	fx_close(&fx);
}
END_TEST

/* A spoofed source's one SYN to 25 (a window record, never a suspect):
 * source 10.0.0.0 + n. */
static void spoofed(struct fx *fx, uint32_t n, int64_t now)
{
	struct policy_flow f = flow("10.0.0.0", "198.51.100.1", 25);

	addr_from_v4(&f.src, 0x0a000000u + n);
	fx_syn_on(fx, 0, &f, now, POLICY_ACCEPT);
}

/* `syns` SYNs from src to 25, spread over `hosts` hosts, at now. */
static void sends(struct fx *fx, const char *src, unsigned syns,
		  unsigned hosts, int64_t now)
{
	char dst[32];

	for (unsigned i = 0; i < syns; i++) {
		dst_n(dst, sizeof(dst), i % hosts);
		fx_syn(fx, src, dst, 25, now, POLICY_REJECT);
	}
}

START_TEST(test_spammer_in_a_spoofed_flood_is_quarantined)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	struct addr a;
	const int64_t now = T0 + 500;
	char dst[32];
	uint32_t n = 0;
	struct fx fx;

	/* Issue 12. 64 places, one shard, a window record each: only
	 * eviction can lose the spammer's window. */
	cfg.max_subscribers = 64;
	fx_open(&fx, &cfg, NULL);
	while (n < 64)
		spoofed(&fx, n++, now);
	/*
	 * 160 SYNs to as many hosts, 20 new spoofed sources after each, all
	 * in one second (a flood is fast), so the spammer is never moved up
	 * the LRU (it moves once a second). Any entry is evicted 64 new
	 * subscribers after its first SYN, when the spammer has sent 4 SYNs:
	 * evicting the least recent, it never reaches the 5 of either
	 * threshold. It is half-way (3 SYNs, 3 hosts) after 40.
	 */
	for (unsigned i = 0; i < 160; i++) {
		dst_n(dst, sizeof(dst), i);
		fx_syn(&fx, "100.64.3.7", dst, 25, now, POLICY_REJECT);
		for (unsigned j = 0; j < 20; j++)
			spoofed(&fx, n++, now);
	}
	addr_parse("100.64.3.7", &a);
	ck_assert(quarantined(fx.st, &a, now));
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.quarantines, 1);
	/* Every spoofed source and the spammer once through 64 places. */
	ck_assert_uint_eq(c.evictions, n + 1 - 64);
	ck_assert_uint_eq(c.evictions_suspect, 0);
	ck_assert_uint_eq(sub_of(&fx, "100.64.3.7", now).syns, 160);
	fx_close(&fx);
}
END_TEST

START_TEST(test_suspect_is_evicted_only_when_every_candidate_is_one)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	char src[32];
	uint32_t n = 0;
	struct fx fx;

	cfg.max_subscribers = 2 * EVICT_LOOK;
	fx_open(&fx, &cfg, NULL);
	/* The least recent: one suspect too few to fill the candidates
	 * (3 SYNs to 3 hosts: half of 5 and 5, not detected). */
	for (unsigned i = 0; i < EVICT_LOOK - 1; i++) {
		snprintf(src, sizeof(src), "100.64.0.%u", i);
		sends(&fx, src, 3, 3, T0);
	}
	while (n < 100)
		spoofed(&fx, n++, T0);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.evictions, 100 - (cfg.max_subscribers -
					      (EVICT_LOOK - 1)));
	ck_assert_uint_eq(c.evictions_suspect, 0);
	for (unsigned i = 0; i < EVICT_LOOK - 1; i++) {
		snprintf(src, sizeof(src), "100.64.0.%u", i);
		ck_assert(tracked(&fx, src));
	}

	/* One more suspect; once every spoofed source older than it is
	 * gone, the EVICT_LOOK least recent are suspects, and the least
	 * recent of them goes, counted. */
	snprintf(src, sizeof(src), "100.64.0.%u", EVICT_LOOK - 1);
	sends(&fx, src, 3, 3, T0);
	for (unsigned i = 0; i < cfg.max_subscribers - EVICT_LOOK; i++)
		spoofed(&fx, n++, T0);
	ck_assert(tracked(&fx, "100.64.0.0"));
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.evictions_suspect, 0);
	spoofed(&fx, n++, T0);
	ck_assert(!tracked(&fx, "100.64.0.0"));
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.evictions_suspect, 1);

	/* The candidates hold a spoofed source again: it goes. */
	for (unsigned i = 0; i < 50; i++)
		spoofed(&fx, n++, T0);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.evictions_suspect, 1);
	ck_assert_uint_eq(c.evictions, n + EVICT_LOOK - cfg.max_subscribers);
	for (unsigned i = 1; i < EVICT_LOOK; i++) {
		snprintf(src, sizeof(src), "100.64.0.%u", i);
		ck_assert(tracked(&fx, src));
	}

	/* Their windows over, they are the least recent like any other. */
	spoofed(&fx, n++, T0 + 60000);
	ck_assert(!tracked(&fx, "100.64.0.1"));
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.evictions_suspect, 1);
	fx_close(&fx);
}
END_TEST

/* Whether a subscriber that sent `syns` SYNs over `hosts` hosts at T0
 * outlives a newer one (one 587 SYN at T0) when a third comes at `at`,
 * with 2 places and thresholds syns_thr and distinct_thr. */
static bool outlives_newer(unsigned syns_thr, unsigned distinct_thr,
			   unsigned syns, unsigned hosts, int64_t at)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	struct fx fx;
	bool kept;

	cfg.max_subscribers = 2;
	cfg.detection.syns = syns_thr;
	cfg.detection.distinct_destinations = distinct_thr;
	fx_open(&fx, &cfg, NULL);
	sends(&fx, "100.64.0.1", syns, hosts, T0);
	seen(&fx, "100.64.0.2", 0);
	fx_syn(&fx, "100.64.0.3", "198.51.0.1", 587, at, POLICY_ACCEPT);
	kept = tracked(&fx, "100.64.0.1");
	ck_assert(tracked(&fx, "100.64.0.3"));
	ck_assert(tracked(&fx, "100.64.0.2") == !kept);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.detections, 0);
	ck_assert_uint_eq(c.evictions, 1);
	ck_assert_uint_eq(c.evictions_suspect, 0);
	fx_close(&fx);
	return kept;
}

START_TEST(test_half_of_either_threshold_makes_a_suspect)
{
	/* Half the SYNs, to one host. */
	ck_assert(outlives_newer(10, 100, 5, 1, T0));
	ck_assert(!outlives_newer(10, 100, 4, 4, T0));
	/* Half the hosts, with few SYNs. */
	ck_assert(outlives_newer(100, 10, 5, 5, T0));
	ck_assert(!outlives_newer(100, 10, 49, 4, T0));
	/* Only while the window lasts. */
	ck_assert(outlives_newer(5, 5, 3, 3, T0 + 59999));
	ck_assert(!outlives_newer(5, 5, 3, 3, T0 + 60000));
}
END_TEST

/* ---- block lines and their rate ---- */

START_TEST(test_rate_limit_then_one_summary_with_its_numbers)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	const char *log;
	char dst[32];
	struct fx fx;

	cfg.detection.enabled = false;
	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	/* 25 blocked SYNs in one minute to 12 hosts: 10 lines, 15 held. */
	for (unsigned i = 0; i < 25; i++) {
		dst_n(dst, sizeof(dst), i < 10 ? i : 10 + i % 2);
		fx_syn(&fx, "100.64.3.7", dst, 25, T0 + i * 1000, 0);
	}
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"block\""), 10);
	ck_assert_int_eq(tests_count(fx.text, "\"event\":\"summary\""), 0);
	ck_assert_ptr_nonnull(strstr(fx.text,
		"{\"ts\":\"2026-11-28T01:23:45.000Z\",\"event\":\"block\","
		"\"src\":\"100.64.3.7\",\"dst\":\"198.51.0.0\",\"dport\":25,"
		"\"action\":\"reject\",\"profile\":\"residential\","
		"\"prefix\":\"100.64.0.0/10\"}\n"));

	stats_tick(fx.st, T0 + 59999);
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"summary\""), 0);
	stats_tick(fx.st, T0 + 60000);
	log = fx_log(&fx);
	ck_assert_int_eq(tests_count(log, "\"event\":\"summary\""), 1);
	ck_assert_ptr_nonnull(strstr(log,
		"{\"ts\":\"2026-11-28T01:24:45.000Z\",\"event\":\"summary\","
		"\"src\":\"100.64.3.7\",\"blocked\":15,"
		"\"distinct_destinations\":2,\"window_s\":60}\n"));
	stats_tick(fx.st, T0 + 61000);
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"summary\""), 1);

	/* The next window logs again. */
	fx_syn(&fx, "100.64.3.7", "198.51.0.1", 25, T0 + 70000, 0);
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"block\""), 11);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.block_lines, 11);
	ck_assert_uint_eq(c.lines_suppressed, 15);
	ck_assert_uint_eq(c.summaries, 1);
	ck_assert_uint_eq(c.by_action[POLICY_REJECT], 26);
	ck_assert_uint_eq(sub_of(&fx, "100.64.3.7", T0 + 70000).blocked, 26);
	fx_close(&fx);
}
END_TEST

START_TEST(test_summary_is_written_by_the_next_syn_without_a_tick)
{
	struct stats_config cfg = base_cfg();
	const char *log;
	struct fx fx;

	cfg.detection.enabled = false;
	cfg.log_per_subscriber = 1;
	fx_open(&fx, &cfg, NULL);
	for (unsigned i = 0; i < 4; i++)
		fx_syn(&fx, "100.64.3.7", "198.51.0.1", 25, T0 + i,
		       POLICY_DROP);
	fx_syn(&fx, "100.64.3.7", "198.51.0.1", 25, T0 + 60000, POLICY_DROP);
	log = fx_log(&fx);
	ck_assert_int_eq(tests_count(log, "\"event\":\"block\""), 2);
	ck_assert_ptr_nonnull(strstr(log,
		"{\"ts\":\"2026-11-28T01:24:45.000Z\",\"event\":\"summary\","
		"\"src\":\"100.64.3.7\",\"blocked\":3,"
		"\"distinct_destinations\":1,\"window_s\":60}\n"));
	fx_close(&fx);
}
END_TEST

START_TEST(test_quarantined_spammer_is_summarised_on_time)
{
	struct stats_config cfg = base_cfg();
	struct addr a;
	char dst[32];
	struct fx fx;

	cfg.log_per_subscriber = 2;
	fx_open(&fx, &cfg, NULL);
	/* Enough to be quarantined; all but two lines held back. */
	for (unsigned i = 0; i < 8; i++) {
		dst_n(dst, sizeof(dst), i);
		fx_syn(&fx, "100.64.3.7", dst, 25, T0 + i, POLICY_REJECT);
	}
	addr_parse("100.64.3.7", &a);
	ck_assert(quarantined(fx.st, &a, T0 + 8));
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"summary\""), 0);
	/* The tick that ends the rate window writes it, though the
	 * subscriber is still held. */
	stats_tick(fx.st, T0 + 60000);
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"summary\""), 1);
	ck_assert(quarantined(fx.st, &a, T0 + 60000));
	fx_close(&fx);
}
END_TEST

START_TEST(test_accepted_syns_write_no_lines)
{
	struct stats_config cfg = base_cfg();
	struct stats_subscriber s;
	struct fx fx;

	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	fx_syn(&fx, "100.64.3.7", "198.51.0.1", 587, T0, 0);
	fx_syn(&fx, "100.64.3.7", "198.51.0.1", 465, T0, 0);
	fx_syn(&fx, "100.64.12.1", "198.51.0.1", 25, T0, 0);
	ck_assert_str_eq(fx_log(&fx), "");
	s = sub_of(&fx, "100.64.3.7", T0);
	ck_assert_uint_eq(s.syns, 2);
	ck_assert_uint_eq(s.accepted, 2);
	ck_assert_uint_eq(s.syns_port[1], 1);
	ck_assert_uint_eq(s.syns_port[2], 1);
	ck_assert_uint_eq(s.ports[1], 465);
	fx_close(&fx);
}
END_TEST

/* ---- quarantine ---- */

static void spam_run(struct fx *fx, const char *src, int64_t at, int n)
{
	char dst[32];

	for (int i = 0; i < n; i++) {
		dst_n(dst, sizeof(dst), (unsigned)i);
		fx_syn(fx, src, dst, 25, at + i, 0);
	}
}

START_TEST(test_quarantined_business_gets_detection_profile_on_587)
{
	struct stats_config cfg = base_cfg();
	struct policy_decision d;
	struct stats_subscriber list[4];
	const char *log;
	struct fx fx;

	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	stats_config_from_policy(&cfg, fx.p);
	ck_assert_int_eq(stats_configure(fx.st, &cfg), 0);

	/* Business: port 25 is open, until the run crosses both lines. */
	d = fx_syn(&fx, "100.64.12.1", "198.51.0.100", 25, T0, 0);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	spam_run(&fx, "100.64.12.1", T0 + 1, 4);
	d = fx_syn(&fx, "100.64.12.1", "198.51.0.200", 587, T0 + 10, 0);
	ck_assert_int_eq(d.action, POLICY_DROP);
	ck_assert_int_eq(d.verdict, POLICY_DROP);
	ck_assert_int_eq(d.reason, POLICY_REASON_QUARANTINE);
	ck_assert_str_eq(policy_profile_name(fx.p, d.profile), "quarantine");
	d = fx_syn(&fx, "100.64.12.1", "198.51.0.200", 465, T0 + 11, 0);
	ck_assert_int_eq(d.verdict, POLICY_DROP);

	log = fx_log(&fx);
	ck_assert_int_eq(tests_count(log, "\"event\":\"quarantine\""), 1);
	ck_assert_ptr_nonnull(strstr(log,
		"{\"ts\":\"2026-11-28T01:23:45.004Z\",\"event\":\"quarantine\","
		"\"src\":\"100.64.12.1\",\"until\":\"2026-11-28T02:23:45Z\","
		"\"syns\":5,\"distinct_destinations\":5}\n"));
	/* The SYN that crossed the line is already the quarantine's. */
	ck_assert_ptr_nonnull(strstr(log,
		"\"event\":\"block\",\"src\":\"100.64.12.1\","
		"\"dst\":\"198.51.0.3\",\"dport\":25,\"action\":\"drop\","
		"\"profile\":\"quarantine\",\"prefix\":\"100.64.12.0/28\"}\n"));
	ck_assert_ptr_nonnull(strstr(log, "\"dport\":587,\"action\":\"drop\","
				     "\"profile\":\"quarantine\""));

	ck_assert_uint_eq(stats_quarantined_list(fx.st, T0 + 20, list, 4), 1);
	ck_assert_int_eq(addr_is_v4(&list[0].addr), 1);
	ck_assert(list[0].quarantined);
	ck_assert_int_eq(list[0].until_ms, T0 + 4 + 3600000);
	ck_assert_uint_eq(list[0].quarantine_syns, 5);
	ck_assert_uint_eq(list[0].quarantine_distinct, 5);
	fx_close(&fx);
}
END_TEST

/* A subscriber with a session is counted by its id's key: its run,
 * started on one address and finished on another, is one run; its
 * quarantine holds the new address and releases by key; the lines name
 * it; the address it left is free for whoever holds it next. */
static struct policy_decision fx_syn_as(struct fx *fx, const char *src,
					const char *dst, uint16_t port,
					int64_t now, const char *sub)
{
	struct policy_flow f = flow(src, dst, port);

	f.subscriber = sub;
	f.subscriber_len = (uint8_t)strlen(sub);
	f.subscriber_key = 0x5eed0000u + (uint64_t)sub[strlen(sub) - 1];
	return fx_syn_on(fx, 0, &f, now, 0);
}

START_TEST(test_subscriber_is_counted_by_its_id_across_addresses)
{
	struct stats_config cfg = base_cfg();
	struct stats_subscriber list[4], s;
	struct policy_decision d;
	struct stats_counters c;
	const char *log;
	struct fx fx;
	char dst[32];

	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	stats_config_from_policy(&cfg, fx.p);
	cfg.detection.syns = 5;
	cfg.detection.distinct_destinations = 5;
	ck_assert_int_eq(stats_configure(fx.st, &cfg), 0);
	for (unsigned i = 0; i < 3; i++) {
		dst_n(dst, sizeof(dst), i);
		fx_syn_as(&fx, "100.64.3.7", dst, 25, T0 + i, "cust-1");
	}
	/* Re-addressed mid-run: the same window. */
	for (unsigned i = 3; i < 5; i++) {
		dst_n(dst, sizeof(dst), i);
		fx_syn_as(&fx, "100.64.9.9", dst, 25, T0 + i, "cust-1");
	}
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.tracked, 1);
	ck_assert_uint_eq(c.quarantines, 1);
	d = fx_syn_as(&fx, "100.64.200.1", "198.51.0.200", 587, T0 + 10,
		      "cust-1");
	ck_assert_int_eq(d.reason, POLICY_REASON_QUARANTINE);
	/* The addresses it held, with another subscriber or none. */
	d = fx_syn_as(&fx, "100.64.3.7", "198.51.0.200", 587, T0 + 11,
		      "cust-2");
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	d = fx_syn(&fx, "100.64.9.9", "198.51.0.200", 587, T0 + 12, 0);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_uint_eq(stats_quarantined_list(fx.st, T0 + 20, list, 4), 1);
	ck_assert(list[0].by_subscriber);
	ck_assert_str_eq(list[0].subscriber, "cust-1");
	ck_assert_uint_eq(list[0].subscriber_key, 0x5eed0000u + '1');
	log = fx_log(&fx);
	ck_assert_ptr_nonnull(strstr(log, "\"event\":\"quarantine\","
		"\"src\":\"100.64.9.9\""));
	ck_assert_ptr_nonnull(strstr(log, "\"subscriber\":\"cust-1\"}\n"));
	ck_assert_int_eq(stats_subscriber_get_id(fx.st, 0x5eed0000u + '1',
						 T0 + 20, &s), 0);
	ck_assert(s.quarantined);
	ck_assert_int_eq(stats_release_id(fx.st, 0x5eed0000u + '1', T0 + 30),
			 0);
	ck_assert_int_eq(stats_release_id(fx.st, 0x5eed0000u + '1', T0 + 31),
			 -1);
	log = fx_log(&fx);
	ck_assert_ptr_nonnull(strstr(log, "\"event\":\"release\","
		"\"src\":\"100.64.200.1\",\"reason\":\"manual\","
		"\"subscriber\":\"cust-1\"}"));
	fx_close(&fx);
}
END_TEST

START_TEST(test_quarantined_residential_and_monitor_mode)
{
	struct stats_config cfg = base_cfg();
	struct policy_decision d;
	struct fx fx;

	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	spam_run(&fx, "100.64.3.7", T0, 5);
	d = fx_syn(&fx, "100.64.3.7", "198.51.0.200", 587, T0 + 10, 0);
	ck_assert_int_eq(d.verdict, POLICY_DROP);
	ck_assert_int_eq(d.reason, POLICY_REASON_QUARANTINE);
	fx_close(&fx);

	/* Monitor: decided and logged as it would be, verdict accept. */
	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, "mode: monitor\n"));
	spam_run(&fx, "100.64.3.7", T0, 5);
	d = fx_syn(&fx, "100.64.3.7", "198.51.0.200", 587, T0 + 10, 0);
	ck_assert_int_eq(d.action, POLICY_DROP);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_ptr_nonnull(strstr(fx_log(&fx),
		"\"dport\":587,\"action\":\"drop\",\"profile\":\"quarantine\","
		"\"prefix\":\"100.64.0.0/10\",\"mode\":\"monitor\"}\n"));
	fx_close(&fx);
}
END_TEST

START_TEST(test_quarantine_expires_with_a_release_line)
{
	struct stats_config cfg = base_cfg();
	struct policy_decision d;
	struct stats_counters c;
	struct addr a;
	struct fx fx;

	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	spam_run(&fx, "100.64.12.1", T0, 5);
	addr_parse("100.64.12.1", &a);
	stats_tick(fx.st, T0 + 4 + 3600000 - 1);
	ck_assert(quarantined(fx.st, &a, T0 + 4 + 3600000 - 1));
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"release\""), 0);
	stats_tick(fx.st, T0 + 4 + 3600000);
	ck_assert(!quarantined(fx.st, &a, T0 + 4 + 3600000));
	ck_assert_ptr_nonnull(strstr(fx_log(&fx),
		"{\"ts\":\"2026-11-28T02:23:45.004Z\",\"event\":\"release\","
		"\"src\":\"100.64.12.1\",\"reason\":\"expired\"}\n"));
	d = fx_syn(&fx, "100.64.12.1", "198.51.0.200", 587, T0 + 3700000, 0);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_int_eq(d.reason, POLICY_REASON_DEFAULT);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.quarantined, 0);
	ck_assert_uint_eq(c.releases_expired, 1);
	ck_assert_uint_eq(c.quarantines, 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_expiry_without_a_tick_is_noticed_by_the_next_syn)
{
	struct stats_config cfg = base_cfg();
	struct policy_decision d;
	struct fx fx;

	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	spam_run(&fx, "100.64.12.1", T0, 5);
	d = fx_syn(&fx, "100.64.12.1", "198.51.0.200", 587, T0 + 3600004, 0);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"reason\":\"expired\""), 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_manual_release_ends_quarantine_with_a_line)
{
	struct stats_config cfg = base_cfg();
	struct policy_decision d;
	struct stats_counters c;
	struct addr a;
	struct fx fx;

	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	spam_run(&fx, "100.64.12.1", T0, 5);
	addr_parse("100.64.12.1", &a);
	ck_assert_int_eq(stats_release(fx.st, &a, T0 + 30000), 0);
	ck_assert_ptr_nonnull(strstr(fx_log(&fx),
		"{\"ts\":\"2026-11-28T01:24:15.000Z\",\"event\":\"release\","
		"\"src\":\"100.64.12.1\",\"reason\":\"manual\"}\n"));
	d = fx_syn(&fx, "100.64.12.1", "198.51.0.200", 587, T0 + 30001, 0);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	/* A new window opens with the next SYN: one is no run. */
	d = fx_syn(&fx, "100.64.12.1", "198.51.0.201", 25, T0 + 30002, 0);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert(!quarantined(fx.st, &a, T0 + 30002));

	errno = 0;
	ck_assert_int_eq(stats_release(fx.st, &a, T0 + 30003), -1);
	ck_assert_int_eq(errno, ENOENT);
	addr_parse("100.64.9.9", &a);
	ck_assert_int_eq(stats_release(fx.st, &a, T0 + 30003), -1);
	ck_assert_int_eq(errno, ENOENT);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.releases_manual, 1);

	/* At it again at once, in the minute that caught it before: the
	 * release ended that window, so this run is caught too. */
	spam_run(&fx, "100.64.12.1", T0 + 40000, 5);
	addr_parse("100.64.12.1", &a);
	ck_assert(quarantined(fx.st, &a, T0 + 40005));
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.quarantines, 2);
	fx_close(&fx);
}
END_TEST

/* What the kernel blocked, as the daemon reads it back. */
static void kernel_count(struct fx *fx, const char *src, uint16_t port,
			 enum policy_action a, uint64_t n, int64_t now)
{
	struct stats_kernel_count c = { .dport = port, .action = (uint8_t)a,
					.packets = n };

	ck_assert_int_eq(addr_parse(src, &c.src), 0);
	stats_kernel(fx->st, &c, 1, now);
}

/*
 * The kernel's blocks of a quarantined source count as the daemon's
 * would (SYNs, port, blocked, action) and are said in its summary, as
 * blocked and as kernel: block lines plus summaries still add up to
 * every blocked SYN. Detection does not see them.
 */
START_TEST(test_kernel_blocks_are_counted_and_summarised)
{
	struct stats_config cfg = base_cfg();
	struct stats_subscriber sub;
	struct stats_counters c;
	const char *log;
	struct addr a;
	struct fx fx;

	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	spam_run(&fx, "100.64.3.7", T0, 5);
	addr_parse("100.64.3.7", &a);
	ck_assert(quarantined(fx.st, &a, T0 + 5));
	kernel_count(&fx, "100.64.3.7", 25, POLICY_DROP, 3000, T0 + 1000);
	kernel_count(&fx, "100.64.3.7", 25, POLICY_DROP, 980, T0 + 2000);
	kernel_count(&fx, "100.64.3.7", 0, POLICY_REJECT, 20, T0 + 2000);
	sub = sub_of(&fx, "100.64.3.7", T0 + 2000);
	ck_assert_uint_eq(sub.syns, 4005);
	ck_assert_uint_eq(sub.syns_port[0], 3985);
	ck_assert_uint_eq(sub.syns_port[STATS_PORT_OTHER], 20);
	ck_assert_uint_eq(sub.blocked, 4005);
	ck_assert_uint_eq(sub.quarantine_kernel, 4000);
	ck_assert_uint_eq(sub.quarantine_syns, 5);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.kernel, 4000);
	ck_assert_uint_eq(c.syns, 4005);
	/* The run: 4 rejected, the fifth (which caught it) dropped. */
	ck_assert_uint_eq(c.by_action[POLICY_DROP], 3981);
	ck_assert_uint_eq(c.by_action[POLICY_REJECT], 24);
	ck_assert_uint_eq(c.detections, 1);
	/* Nothing yet: the summary closes the rate window. */
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"summary\""), 0);
	stats_tick(fx.st, T0 + 60000);
	log = fx_log(&fx);
	ck_assert_int_eq(tests_count(log, "\"event\":\"block\""), 5);
	ck_assert_ptr_nonnull(strstr(log,
		"{\"ts\":\"2026-11-28T01:24:45.000Z\",\"event\":\"summary\","
		"\"src\":\"100.64.3.7\",\"blocked\":4000,\"kernel\":4000,"
		"\"distinct_destinations\":0,\"window_s\":60}\n"));
	/* A count read just after the release is still the subscriber's. */
	ck_assert_int_eq(stats_release(fx.st, &a, T0 + 61000), 0);
	kernel_count(&fx, "100.64.3.7", 25, POLICY_DROP, 7, T0 + 61500);
	stats_tick(fx.st, T0 + 121500);
	ck_assert_ptr_nonnull(strstr(fx_log(&fx),
		"\"src\":\"100.64.3.7\",\"blocked\":7,\"kernel\":7,"));
	ck_assert_uint_eq(sub_of(&fx, "100.64.3.7", T0 + 121500).blocked,
			  4012);
	fx_close(&fx);
}
END_TEST

/* A stop says what the open windows held back, the kernel's too. */
START_TEST(test_flush_writes_the_open_windows_summaries)
{
	struct stats_config cfg = base_cfg();
	struct fx fx;

	cfg.detection.enabled = false;
	cfg.log_per_subscriber = 1;
	fx_open(&fx, &cfg, NULL);
	for (unsigned i = 0; i < 4; i++)
		fx_syn(&fx, "100.64.3.7", "198.51.0.1", 25, T0 + i,
		       POLICY_DROP);
	kernel_count(&fx, "100.64.3.7", 25, POLICY_DROP, 50, T0 + 10);
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"summary\""), 0);
	stats_flush(fx.st, T0 + 20000);
	ck_assert_ptr_nonnull(strstr(fx_log(&fx),
		"{\"ts\":\"2026-11-28T01:24:05.000Z\",\"event\":\"summary\","
		"\"src\":\"100.64.3.7\",\"blocked\":53,\"kernel\":50,"
		"\"distinct_destinations\":1,\"window_s\":20}\n"));
	/* Nothing left to say. */
	stats_flush(fx.st, T0 + 21000);
	ck_assert_int_eq(tests_count(fx_log(&fx), "\"event\":\"summary\""), 1);
	fx_close(&fx);
}
END_TEST

/* With no rate on block lines, the kernel's count is said at once; an
 * IPv6 prefix is its subscriber. */
START_TEST(test_kernel_blocks_without_a_rate_are_said_at_once)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	struct fx fx;

	cfg.log_per_subscriber = 0;
	cfg.log_per_subscriber_s = 0;
	fx_open(&fx, &cfg, NULL);
	kernel_count(&fx, "2001:db8:1000:1::", 25, POLICY_DROP, 12, T0);
	kernel_count(&fx, "2001:db8:1000:1::", 25, POLICY_ACCEPT, 5, T0);
	kernel_count(&fx, "2001:db8:1000:1::", 25, POLICY_DROP, 0, T0);
	ck_assert_msg(strstr(fx_log(&fx),
		"\"event\":\"summary\",\"src\":\"2001:db8:1000:1::\","
		"\"blocked\":12,\"kernel\":12,\"distinct_destinations\":0,"
		"\"window_s\":1}\n"), "%s", fx.text);
	ck_assert_uint_eq(sub_of(&fx, "2001:db8:1000:1::9", T0).blocked, 12);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.kernel, 12);
	ck_assert_uint_eq(c.summaries, 1);
	fx_close(&fx);
}
END_TEST

/* ---- IPv6 ---- */

START_TEST(test_ipv6_addresses_of_one_64_are_one_subscriber)
{
	struct stats_config cfg = base_cfg();
	struct stats_subscriber s;
	struct stats_counters c;
	struct addr a;
	char buf[64];
	struct fx fx;

	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	fx_syn(&fx, "2001:db8:1000:1::1", "2001:db8:2::1", 25, T0, 0);
	fx_syn(&fx, "2001:db8:1000:1:aaaa::2", "2001:db8:2::2", 25, T0 + 1,
	       0);
	fx_syn(&fx, "2001:db8:1000:2::1", "2001:db8:2::3", 25, T0 + 2, 0);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.tracked, 2);
	s = sub_of(&fx, "2001:db8:1000:1:ffff::", T0 + 2);
	ck_assert(s.ipv6);
	ck_assert_uint_eq(s.prefix_len, 64);
	ck_assert_uint_eq(s.syns, 2);
	ck_assert_uint_eq(s.blocked, 2);
	ck_assert_uint_eq(s.window_distinct, 2);
	ck_assert_str_eq(addr_format(&s.addr, buf, sizeof(buf)),
			 "2001:db8:1000:1::");
	/* A run spread over one /64's addresses is one subscriber's. */
	for (unsigned i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "2001:db8:1000:1::%x", 100 + i);
		fx_syn(&fx, buf, i ? "2001:db8:3::1" : "2001:db8:3::2", 25,
		       T0 + 10 + i, 0);
	}
	fx_syn(&fx, "2001:db8:1000:1::99", "2001:db8:3::3", 25, T0 + 20, 0);
	addr_parse("2001:db8:1000:1::", &a);
	ck_assert(quarantined(fx.st, &a, T0 + 20));
	ck_assert_ptr_nonnull(strstr(fx_log(&fx),
				     "\"event\":\"quarantine\","
				     "\"src\":\"2001:db8:1000:1::\""));
	fx_close(&fx);
}
END_TEST

START_TEST(test_ipv6_prefix_length_is_configurable)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	struct fx fx;

	cfg.ipv6_prefix_len = 56;
	fx_open(&fx, &cfg, NULL);
	fx_syn(&fx, "2001:db8:1000:1::1", "2001:db8:2::1", 587, T0, 0);
	fx_syn(&fx, "2001:db8:1000:ff::1", "2001:db8:2::1", 587, T0, 0);
	fx_syn(&fx, "2001:db8:1000:100::1", "2001:db8:2::1", 587, T0, 0);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.tracked, 2);
	ck_assert_uint_eq(sub_of(&fx, "2001:db8:1000:1::", T0).prefix_len, 56);
	fx_close(&fx);

	/* An IPv4 address and the IPv6 prefix with the same bits differ. */
	cfg.ipv6_prefix_len = 64;
	fx_open(&fx, &cfg, NULL);
	fx_syn(&fx, "100.64.3.7", "198.51.0.1", 587, T0, 0);
	fx_syn(&fx, "0:0:6440:307::1", "198.51.0.1", 587, T0, 0);
	fx_syn(&fx, "0:0:6440:307::2", "198.51.0.1", 587, T0, 0);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.tracked, 2);
	fx_close(&fx);
}
END_TEST

/* ---- window records ---- */

START_TEST(test_window_records_are_reused_and_stealing_is_counted)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	const char *log;
	struct fx fx;

	cfg.windows = 2;
	cfg.log_per_subscriber = 1;
	cfg.detection.syns = 100;
	fx_open(&fx, &cfg, NULL);
	fx_syn(&fx, "100.64.0.1", "198.51.0.1", 25, T0, POLICY_REJECT);
	fx_syn(&fx, "100.64.0.1", "198.51.0.2", 25, T0 + 1, POLICY_REJECT);
	fx_syn(&fx, "100.64.0.2", "198.51.0.1", 25, T0 + 2, POLICY_REJECT);
	/* Both records live; .3 takes .1's, whose summary goes first. */
	fx_syn(&fx, "100.64.0.3", "198.51.0.1", 25, T0 + 3, POLICY_REJECT);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.windows_stolen, 1);
	ck_assert_uint_eq(c.windows_used, 2);
	log = fx_log(&fx);
	ck_assert_ptr_nonnull(strstr(log,
		"{\"ts\":\"2026-11-28T01:23:45.003Z\",\"event\":\"summary\","
		"\"src\":\"100.64.0.1\",\"blocked\":1,"
		"\"distinct_destinations\":1,\"window_s\":1}\n"));
	/* Ended windows give their record back at the tick. */
	stats_tick(fx.st, T0 + 60003);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.windows_used, 0);
	fx_syn(&fx, "100.64.0.4", "198.51.0.1", 25, T0 + 60004,
	       POLICY_REJECT);
	fx_syn(&fx, "100.64.0.5", "198.51.0.1", 25, T0 + 60005,
	       POLICY_REJECT);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.windows_stolen, 1);
	fx_close(&fx);
}
END_TEST

START_TEST(test_bursty_spammer_keeps_its_window_through_a_flood)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	struct addr a;
	const int64_t now = T0 + 500;
	char dst[32];
	uint32_t n = 0;
	struct fx fx;

	/* Room for everyone (no eviction), 16 window records. */
	cfg.max_subscribers = 256;
	cfg.windows = 16;
	fx_open(&fx, &cfg, NULL);
	/*
	 * Bursts of 3 SYNs to new hosts, 40 new spoofed sources, each with
	 * a window, after each: taking the least recently used record, the
	 * spammer's is taken in every pause and no window sees more than 3
	 * of its SYNs. 3 of 5 is half-way.
	 */
	for (unsigned i = 0; i < 5; i++) {
		for (unsigned j = 0; j < 3; j++) {
			dst_n(dst, sizeof(dst), 3 * i + j);
			fx_syn(&fx, "100.64.3.7", dst, 25, now, POLICY_REJECT);
		}
		for (unsigned j = 0; j < 40; j++)
			spoofed(&fx, n++, now);
	}
	addr_parse("100.64.3.7", &a);
	ck_assert(quarantined(fx.st, &a, now));
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.quarantines, 1);
	ck_assert_uint_eq(c.evictions, 0);
	/* The spoofed sources' records, but for the 15 first free. */
	ck_assert_uint_eq(c.windows_stolen, n - 15);
	ck_assert_uint_eq(c.windows_stolen_suspect, 0);
	fx_close(&fx);
}
END_TEST

START_TEST(test_suspect_window_is_taken_when_every_candidate_is_one)
{
	struct stats_config cfg = base_cfg();
	struct stats_counters c;
	char src[32];
	uint32_t n = 0;
	struct fx fx;

	cfg.max_subscribers = 256;
	cfg.windows = 2 * EVICT_LOOK;
	fx_open(&fx, &cfg, NULL);
	for (unsigned i = 0; i < EVICT_LOOK - 1; i++) {
		snprintf(src, sizeof(src), "100.64.0.%u", i);
		sends(&fx, src, 3, 3, T0);
	}
	while (n < 100)
		spoofed(&fx, n++, T0);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.windows_stolen, 100 - (cfg.windows -
						   (EVICT_LOOK - 1)));
	ck_assert_uint_eq(c.windows_stolen_suspect, 0);
	for (unsigned i = 0; i < EVICT_LOOK - 1; i++) {
		snprintf(src, sizeof(src), "100.64.0.%u", i);
		ck_assert_uint_eq(sub_of(&fx, src, T0).window_syns, 3);
	}

	/* One more suspect; once the spoofed windows older than its are
	 * taken, the EVICT_LOOK least recent are suspects', and the least
	 * recent of them is taken, counted. */
	snprintf(src, sizeof(src), "100.64.0.%u", EVICT_LOOK - 1);
	sends(&fx, src, 3, 3, T0);
	for (unsigned i = 0; i < cfg.windows - EVICT_LOOK; i++)
		spoofed(&fx, n++, T0);
	ck_assert_uint_eq(sub_of(&fx, "100.64.0.0", T0).window_syns, 3);
	spoofed(&fx, n++, T0);
	ck_assert_uint_eq(sub_of(&fx, "100.64.0.0", T0).window_syns, 0);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.windows_stolen_suspect, 1);

	for (unsigned i = 0; i < 50; i++)
		spoofed(&fx, n++, T0);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.windows_stolen_suspect, 1);
	ck_assert_uint_eq(c.windows_stolen, n + EVICT_LOOK - cfg.windows);
	ck_assert_uint_eq(c.evictions, 0);
	for (unsigned i = 1; i < EVICT_LOOK; i++) {
		snprintf(src, sizeof(src), "100.64.0.%u", i);
		ck_assert_uint_eq(sub_of(&fx, src, T0).window_syns, 3);
	}
	fx_close(&fx);
}
END_TEST

/* ---- read side ---- */

START_TEST(test_top_orders_by_blocked)
{
	struct stats_config cfg = base_cfg();
	struct stats_subscriber top[3];
	char buf[64];
	struct fx fx;

	cfg.detection.enabled = false;
	fx_open(&fx, &cfg, NULL);
	for (unsigned i = 1; i <= 5; i++) {
		char src[32];

		snprintf(src, sizeof(src), "100.64.0.%u", i);
		for (unsigned k = 0; k < i * 3; k++)
			fx_syn(&fx, src, "198.51.0.1", 25, T0 + k,
			       k % 3 ? POLICY_REJECT : POLICY_ACCEPT);
	}
	fx_syn(&fx, "100.64.0.9", "198.51.0.1", 587, T0, POLICY_ACCEPT);
	ck_assert_uint_eq(stats_top(fx.st, T0, top, 3), 3);
	ck_assert_str_eq(addr_format(&top[0].addr, buf, sizeof(buf)),
			 "100.64.0.5");
	ck_assert_uint_eq(top[0].blocked, 10);
	ck_assert_uint_eq(top[0].accepted, 5);
	ck_assert_uint_eq(top[0].syns_port[0], 15);
	ck_assert_str_eq(addr_format(&top[2].addr, buf, sizeof(buf)),
			 "100.64.0.3");
	ck_assert_uint_eq(stats_top(fx.st, T0, top, 0), 0);
	fx_close(&fx);
}
END_TEST

/* ---- threads and memory ---- */

struct hammer {
	struct fx *fx;
	unsigned thread;
};

enum { HAMMER_SUBS = 97, HAMMER_SYNS = 200000 };

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct policy_flow f = flow("100.64.0.0", "198.51.0.0", 25);

	for (unsigned i = 0; i < HAMMER_SYNS; i++) {
		addr_from_v4(&f.src, 0x64400000 + i % HAMMER_SUBS);
		addr_from_v4(&f.dst, 0xc6330000 + i % 1000);
		f.dport = i & 1 ? 587 : 25;
		fx_syn_on(h->fx, h->thread, &f, T0 + i / 64,
			  i & 1 ? POLICY_ACCEPT : POLICY_REJECT);
	}
	return NULL;
}

START_TEST(test_two_threads_count_exactly)
{
	struct stats_config cfg = base_cfg();
	struct hammer h[2];
	pthread_t t[2];
	struct stats_counters c;
	struct fx fx;

	cfg.threads = 2;
	cfg.max_subscribers = 1 << 16;	/* several shards */
	cfg.detection.syns = 1u << 30;
	fx_open(&fx, &cfg, NULL);
	for (unsigned i = 0; i < 2; i++) {
		h[i].fx = &fx;
		h[i].thread = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer_main,
						&h[i]), 0);
	}
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	stats_counters(fx.st, &c);
	ck_assert_uint_eq(c.syns, 2 * HAMMER_SYNS);
	ck_assert_uint_eq(c.by_action[POLICY_REJECT], HAMMER_SYNS);
	ck_assert_uint_eq(c.by_action[POLICY_ACCEPT], HAMMER_SYNS);
	ck_assert_uint_eq(c.tracked, HAMMER_SUBS);
	ck_assert_uint_eq(c.block_lines + c.lines_suppressed, HAMMER_SYNS);
	for (unsigned i = 0; i < HAMMER_SUBS; i++) {
		struct stats_subscriber s;
		struct addr a;
		unsigned per = HAMMER_SYNS / HAMMER_SUBS +
			       (i < HAMMER_SYNS % HAMMER_SUBS);

		addr_from_v4(&a, 0x64400000 + i);
		ck_assert_int_eq(stats_subscriber_get(fx.st, &a, T0, &s), 0);
		ck_assert_uint_eq(s.syns, 2 * per);
		ck_assert_uint_eq(s.syns_port[0] + s.syns_port[2], 2 * per);
		ck_assert_uint_eq(s.blocked, s.syns_port[0]);
	}
	fx_close(&fx);
}
END_TEST

START_TEST(test_syn_path_does_not_grow_the_heap)
{
	struct stats_config cfg = base_cfg();
	struct policy_flow f = flow("100.64.0.0", "198.51.0.0", 25);
	struct stats_counters c;
	struct mallinfo2 before, after;
	struct fx fx;

	cfg.max_subscribers = 4096;	/* full: evictions too */
	fx_open(&fx, &cfg, tests_fixture_policy(POLICY, NULL));
	/* Warm up whatever the C library sets up on first use. */
	fx_syn_on(&fx, 0, &f, T0, 0);
	stats_tick(fx.st, T0);
	before = mallinfo2();
	for (uint32_t i = 0; i < 100000; i++) {
		/* Half from 16 spammers, half from 6,000 passing by. */
		addr_from_v4(&f.src, 0x64400000 + (i & 1 ? i % 16 :
					    16 + (i / 2 * 7919) % 6000));
		addr_from_v4(&f.dst, 0xc6330000 + i % 5000);
		f.dport = i % 3 ? 25 : 587;
		fx_syn_on(&fx, 0, &f, T0 + i, 0);
	}
	after = mallinfo2();
	ck_assert_uint_eq(after.uordblks, before.uordblks);
	ck_assert_uint_eq(after.hblkhd, before.hblkhd);
	stats_counters(fx.st, &c);
	ck_assert_uint_gt(c.evictions, 0);
	ck_assert_uint_gt(c.quarantines, 0);
	fx_close(&fx);
}
END_TEST

START_TEST(test_open_refuses_a_log_without_a_housekeeping_ring)
{
	struct stats_config cfg = base_cfg();
	struct blocklog_config bc = { .producers = 1,
				      .no_writer_thread = true };
	struct blocklog *bl = blocklog_open(&bc);

	ck_assert_ptr_nonnull(bl);
	errno = 0;
	ck_assert_ptr_null(stats_open(&cfg, bl));
	ck_assert_int_eq(errno, EINVAL);
	cfg.threads = 0;
	ck_assert_ptr_null(stats_open(&cfg, NULL));
	cfg.threads = 1;
	cfg.shards = 3;
	ck_assert_ptr_null(stats_open(&cfg, NULL));
	blocklog_close(bl);
}
END_TEST

START_TEST(test_config_from_policy_takes_detection_and_log)
{
	struct stats_config cfg = { .threads = 1 };
	struct policy *p = tests_fixture_policy(POLICY, NULL);

	stats_config_from_policy(&cfg, p);
	ck_assert(cfg.detection.enabled);
	ck_assert_uint_eq(cfg.detection.syns, 5);
	ck_assert_uint_eq(cfg.ipv6_prefix_len, 64);
	ck_assert_uint_eq(cfg.max_subscribers, 1000000);
	ck_assert_uint_eq(cfg.log_per_subscriber, 10);
	ck_assert_uint_eq(cfg.log_per_subscriber_s, 60);
	policy_free(p);
}
END_TEST

Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_distinct_is_exact_up_to_32);
	tcase_add_test(tc, test_sketch_error_within_bound_across_counts);
	tcase_add_test(tc, test_sketch_error_on_100000_random_destinations);
	tcase_add_test(tc, test_few_destinations_are_counted_exactly);
	tcase_add_test(tc, test_syn_at_window_end_opens_the_next_window);
	tcase_add_test(tc, test_detection_needs_both_thresholds);
	tcase_add_test(tc, test_subscriber_is_counted_by_its_id_across_addresses);
	tcase_add_test(tc, test_full_table_evicts_least_recently_seen);
	tcase_add_test(tc, test_eviction_in_a_big_table_keeps_the_index_whole);
	tcase_add_test(tc, test_quarantined_subscriber_is_not_evicted);
	tcase_add_test(tc, test_spammer_in_a_spoofed_flood_is_quarantined);
	tcase_add_test(tc,
		       test_suspect_is_evicted_only_when_every_candidate_is_one);
	tcase_add_test(tc, test_half_of_either_threshold_makes_a_suspect);
	tcase_add_test(tc, test_rate_limit_then_one_summary_with_its_numbers);
	tcase_add_test(tc,
		       test_summary_is_written_by_the_next_syn_without_a_tick);
	tcase_add_test(tc, test_quarantined_spammer_is_summarised_on_time);
	tcase_add_test(tc, test_accepted_syns_write_no_lines);
	tcase_add_test(tc,
		       test_quarantined_business_gets_detection_profile_on_587);
	tcase_add_test(tc, test_quarantined_residential_and_monitor_mode);
	tcase_add_test(tc, test_quarantine_expires_with_a_release_line);
	tcase_add_test(tc,
		       test_expiry_without_a_tick_is_noticed_by_the_next_syn);
	tcase_add_test(tc, test_manual_release_ends_quarantine_with_a_line);
	tcase_add_test(tc, test_kernel_blocks_are_counted_and_summarised);
	tcase_add_test(tc, test_kernel_blocks_without_a_rate_are_said_at_once);
	tcase_add_test(tc, test_flush_writes_the_open_windows_summaries);
	tcase_add_test(tc, test_ipv6_addresses_of_one_64_are_one_subscriber);
	tcase_add_test(tc, test_ipv6_prefix_length_is_configurable);
	tcase_add_test(tc,
		       test_window_records_are_reused_and_stealing_is_counted);
	tcase_add_test(tc,
		       test_bursty_spammer_keeps_its_window_through_a_flood);
	tcase_add_test(tc,
		       test_suspect_window_is_taken_when_every_candidate_is_one);
	tcase_add_test(tc, test_top_orders_by_blocked);
	tcase_add_test(tc, test_two_threads_count_exactly);
	tcase_add_test(tc, test_syn_path_does_not_grow_the_heap);
	tcase_add_test(tc, test_open_refuses_a_log_without_a_housekeeping_ring);
	tcase_add_test(tc, test_config_from_policy_takes_detection_and_log);
	suite_add_tcase(s, tc);
	return s;
}
