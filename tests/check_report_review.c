// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A review of blocklog/report.c and the aggregate's sparklines, as an
 * attacker writes the log: counts as large as the parser takes, times as
 * far apart, and the sparkline grid checked slot by slot against where
 * each line falls.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklog/blocklog.h"
#include "tests/suites.h"

Suite *report_review_suite(void);

#define T0 1795737600000LL	/* 2026-11-27T00:00:00Z */
#define MIN 60000LL

static struct blocklog_line line(enum blocklog_kind kind, int64_t ts_ms,
				 const char *src)
{
	struct blocklog_line l = { .kind = kind, .ts_ms = ts_ms,
				   .has_src = true, .dport = 25,
				   .action = POLICY_REJECT };

	ck_assert_int_eq(addr_parse(src, &l.src), 0);
	ck_assert_int_eq(addr_parse("203.0.113.9", &l.dst), 0);
	snprintf(l.profile, sizeof(l.profile), "residential");
	return l;
}

/* The parser takes a summary's "blocked" up to UINT64_MAX: two of them
 * (or one and a block line) must not wrap the report's totals, its time
 * series or the subscriber's count to a small number. */
START_TEST(test_huge_summaries_saturate_not_wrap)
{
	struct blocklog_report *r = blocklog_report_new();
	struct blocklog_report_view v;
	struct blocklog_line l;
	const struct blocklog_sub *s;
	size_t n;

	ck_assert_ptr_nonnull(r);
	l = line(BLOCKLOG_BLOCK, T0, "100.64.0.1");
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	l = line(BLOCKLOG_SUMMARY, T0 + 1, "100.64.0.1");
	l.count = UINT64_MAX;
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	l.kernel = UINT64_MAX;
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	ck_assert_int_eq(blocklog_report_view(r, &v), 0);
	ck_assert_uint_eq(v.syns[BLOCKLOG_S_SUMMARY], UINT64_MAX);
	ck_assert_uint_eq(v.syns[BLOCKLOG_S_KERNEL], UINT64_MAX);
	ck_assert_uint_eq(v.nbuckets, 1);
	ck_assert_uint_eq(v.buckets[0].syns[BLOCKLOG_S_SUMMARY], UINT64_MAX);
	ck_assert_uint_eq(v.buckets[0].syns[BLOCKLOG_S_KERNEL], UINT64_MAX);
	s = blocklog_agg_result(blocklog_report_agg(r), 0, 10, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(s[0].blocked, UINT64_MAX);
	ck_assert_uint_eq(s[0].summarized, UINT64_MAX);
	ck_assert_uint_eq(s[0].kernel, UINT64_MAX);
	blocklog_report_free(r);
}
END_TEST

static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Lines at random times, left and right of the first, some far: after
 * every 97th line, each row's sparkline equals the counts of its lines
 * put into the grid's slots by (ts - t0) / width, and the grid covers
 * all. */
START_TEST(test_sparkline_folds_match_the_lines)
{
	enum { LINES = 3000, ROWS = 5 };
	static const int64_t spans[] = { MIN, 60 * MIN, 86400000LL,
					 400LL * 86400000LL,
					 3000LL * 365 * 86400000LL };
	int64_t *at = calloc(LINES, sizeof(*at));
	unsigned *row_of = calloc(LINES, sizeof(*row_of));
	uint64_t *cnt = calloc(LINES, sizeof(*cnt));
	struct blocklog_report *r = blocklog_report_new();
	struct blocklog_agg *agg;
	const char *srcs[ROWS] = { "100.64.0.1", "100.64.0.2", "100.64.0.3",
				   "2001:db8::1", "100.64.0.5" };
	uint32_t rows[ROWS];

	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(at);
	agg = blocklog_report_agg(r);
	for (int i = 0; i < LINES; i++) {
		int64_t sp = spans[(i / 300) % 5];
		struct blocklog_line l;
		struct blocklog_grid g;
		uint32_t want[ROWS][BLOCKLOG_SPARK];

		at[i] = T0 + (int64_t)(rnd() % (uint64_t)(2 * sp)) - sp;
		row_of[i] = (unsigned)(rnd() % ROWS);
		if (rnd() % 4) {
			l = line(BLOCKLOG_BLOCK, at[i], srcs[row_of[i]]);
			cnt[i] = 1;
		} else {
			l = line(BLOCKLOG_SUMMARY, at[i], srcs[row_of[i]]);
			l.count = cnt[i] = rnd() % 1000;
		}
		ck_assert_int_eq(blocklog_report_add(r, &l), 0);
		g = blocklog_agg_grid(agg);
		ck_assert_int_gt(g.width_ms, 0);
		/* Every 97th line and the last: checking after each would be
		 * quadratic (minutes under valgrind). */
		if (i % 97 && i != LINES - 1)
			continue;
		memset(want, 0, sizeof(want));
		for (int k = 0; k <= i; k++) {
			int64_t slot = (at[k] - g.t0_ms) / g.width_ms;

			if (at[k] < g.t0_ms || slot >= BLOCKLOG_SPARK)
				ck_abort_msg("line %d at %lld: off the grid "
					     "%lld + 32 x %lld", k,
					     (long long)at[k],
					     (long long)g.t0_ms,
					     (long long)g.width_ms);
			want[row_of[k]][slot] += (uint32_t)cnt[k];
		}
		/* The rows in order of first appearance. */
		for (unsigned j = 0; j < ROWS; j++)
			rows[j] = UINT32_MAX;
		for (uint32_t id = 0; id < blocklog_agg_count(agg); id++) {
			const struct blocklog_sub *s = blocklog_agg_row(agg, id);

			for (unsigned j = 0; j < ROWS; j++) {
				struct addr a;

				ck_assert_int_eq(addr_parse(srcs[j], &a), 0);
				if (!addr_is_v4(&a))
					memset(a.b + 8, 0, 8);
				if (!memcmp(a.b, s->addr.b, sizeof(a.b)))
					rows[j] = id;
			}
		}
		for (unsigned j = 0; j < ROWS; j++) {
			const uint32_t *sp_of;

			if (rows[j] == UINT32_MAX)
				continue;
			sp_of = blocklog_agg_spark_of(agg, rows[j]);
			ck_assert_ptr_nonnull(sp_of);
			for (unsigned k = 0; k < BLOCKLOG_SPARK; k++)
				ck_assert_msg(sp_of[k] == want[j][k],
					      "line %d row %u slot %u: %u, "
					      "want %u", i, j, k, sp_of[k],
					      want[j][k]);
		}
	}
	blocklog_report_free(r);
	free(at);
	free(row_of);
	free(cnt);
}
END_TEST

/* A quarantine line while the subscriber is quarantined is the daemon
 * extending it (stats.c writes one when a peer's until changes): the
 * earlier one ends there, not "in force" nor "at its until", and the
 * release after ends the latest. */
START_TEST(test_extended_quarantine_ends_the_earlier)
{
	struct blocklog_report *r = blocklog_report_new();
	struct blocklog_report_view v;
	struct blocklog_line l;

	ck_assert_ptr_nonnull(r);
	l = line(BLOCKLOG_QUARANTINE, T0, "100.64.0.1");
	l.until = T0 / 1000 + 3600;
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	l.ts_ms = T0 + MIN;
	l.until = T0 / 1000 + 7200;
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	l = line(BLOCKLOG_RELEASE, T0 + 2 * MIN, "100.64.0.1");
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	ck_assert_int_eq(blocklog_report_view(r, &v), 0);
	ck_assert_uint_eq(v.nquarantines, 2);
	ck_assert(v.quarantines[0].superseded);
	ck_assert(!v.quarantines[0].released);
	ck_assert_int_eq(v.quarantines[0].release_ms, T0 + MIN);
	ck_assert(!v.quarantines[1].superseded);
	ck_assert(v.quarantines[1].released);
	ck_assert_int_eq(v.quarantines[1].release_ms, T0 + 2 * MIN);

	/* After one's until, with no release line read, a new quarantine
	 * is no extension: the earlier ended at its until. */
	l = line(BLOCKLOG_QUARANTINE, T0 + 3 * MIN, "100.64.0.2");
	l.until = T0 / 1000 + 240;
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	l.ts_ms = T0 + 5 * MIN;
	l.until = T0 / 1000 + 3600;
	ck_assert_int_eq(blocklog_report_add(r, &l), 0);
	ck_assert_int_eq(blocklog_report_view(r, &v), 0);
	ck_assert_uint_eq(v.nquarantines, 4);
	ck_assert(!v.quarantines[2].superseded);
	ck_assert(!v.quarantines[2].released);
	blocklog_report_free(r);
}
END_TEST

Suite *report_review_suite(void)
{
	Suite *s = suite_create("report_review");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_huge_summaries_saturate_not_wrap);
	tcase_add_test(tc, test_sparkline_folds_match_the_lines);
	tcase_add_test(tc, test_extended_quarantine_ends_the_earlier);
	suite_add_tcase(s, tc);
	return s;
}
