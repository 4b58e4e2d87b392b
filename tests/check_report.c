// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * blocklog/report.c and the aggregate's sparklines: what portcullis
 * report draws is counted right, in bounded memory, whatever the times.
 */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "blocklog/blocklog.h"
#include "tests/suites.h"

Suite *report_suite(void);

#define T0 1795737600000LL	/* 2026-11-27T00:00:00Z */
#define MIN 60000LL
#define HOUR 3600000LL

static struct blocklog_line line(enum blocklog_kind kind, int64_t ts_ms,
				 const char *src, const char *sub)
{
	struct blocklog_line l = { .kind = kind, .ts_ms = ts_ms,
				   .has_src = true, .dport = 25,
				   .action = POLICY_REJECT };

	ck_assert_int_eq(addr_parse(src, &l.src), 0);
	ck_assert_int_eq(addr_parse("203.0.113.9", &l.dst), 0);
	snprintf(l.profile, sizeof(l.profile), "residential");
	if (sub)
		snprintf(l.subscriber, sizeof(l.subscriber), "%s", sub);
	return l;
}

static void add(struct blocklog_report *r, const struct blocklog_line *l)
{
	ck_assert_int_eq(blocklog_report_add(r, l), 0);
}

static uint64_t series_total(const struct blocklog_report_view *v,
			     unsigned s)
{
	uint64_t t = 0;

	for (size_t i = 0; i < v->nbuckets; i++)
		t += v->buckets[i].syns[s];
	return t;
}

START_TEST(test_series_by_action_minutes_then_hours)
{
	struct blocklog_report *r = blocklog_report_new();
	struct blocklog_report_view v;
	struct blocklog_line l;

	ck_assert_ptr_nonnull(r);
	l = line(BLOCKLOG_BLOCK, T0 + 5, "100.64.0.1", NULL);
	add(r, &l);
	l.action = POLICY_DROP;
	l.ts_ms = T0 + MIN + 1;
	add(r, &l);
	l.monitor = true;
	add(r, &l);
	l = line(BLOCKLOG_SUMMARY, T0 + 3 * MIN, "100.64.0.2", NULL);
	l.count = 100;
	l.kernel = 30;
	add(r, &l);
	ck_assert_int_eq(blocklog_report_view(r, &v), 0);
	ck_assert_int_eq(v.width_ms, MIN);
	ck_assert_uint_eq(v.nbuckets, 3);
	ck_assert_int_eq(v.buckets[0].start_ms, T0);
	ck_assert_int_eq(v.buckets[1].start_ms, T0 + MIN);
	ck_assert_uint_eq(v.buckets[1].syns[BLOCKLOG_S_DROP], 1);
	ck_assert_uint_eq(v.buckets[1].syns[BLOCKLOG_S_MONITOR], 1);
	ck_assert_uint_eq(v.syns[BLOCKLOG_S_REJECT], 1);
	ck_assert_uint_eq(v.syns[BLOCKLOG_S_SUMMARY], 70);
	ck_assert_uint_eq(v.syns[BLOCKLOG_S_KERNEL], 30);
	ck_assert_uint_eq(series_total(&v, BLOCKLOG_S_KERNEL), 30);

	/* Past 12 hours, the minutes go and the hours are drawn: the same
	 * totals. */
	l = line(BLOCKLOG_BLOCK, T0 + 13 * HOUR, "100.64.0.1", NULL);
	add(r, &l);
	ck_assert_int_eq(blocklog_report_view(r, &v), 0);
	ck_assert_int_eq(v.width_ms, HOUR);
	ck_assert_uint_eq(v.nbuckets, 2);
	ck_assert_uint_eq(series_total(&v, BLOCKLOG_S_REJECT), 2);
	ck_assert_uint_eq(series_total(&v, BLOCKLOG_S_SUMMARY), 70);
	ck_assert_int_eq(v.first_ms, T0 + 5);
	ck_assert_int_eq(v.last_ms, T0 + 13 * HOUR);
	blocklog_report_free(r);
}
END_TEST

/* Times a hostile log may hold, far apart and before 1970: memory
 * follows the slots that have lines, and the sparkline grid covers all. */
START_TEST(test_far_times_stay_bounded)
{
	struct blocklog_report *r = blocklog_report_new();
	struct blocklog_report_view v;
	struct blocklog_grid g;
	struct blocklog_line l;
	const struct blocklog_sub *s;
	size_t n;
	static const int64_t at[] = {
		-62135596800000LL,	/* 0001-01-01 */
		T0, 253402300799000LL,	/* 9999-12-31T23:59:59 */
		-1, 0, T0 + 1,
	};

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		l = line(BLOCKLOG_BLOCK, at[i], "100.64.0.1", NULL);
		add(r, &l);
	}
	ck_assert_int_eq(blocklog_report_view(r, &v), 0);
	ck_assert_int_eq(v.width_ms, HOUR);
	ck_assert_uint_eq(v.nbuckets, 5);	/* -1 and 0: two hours */
	ck_assert_int_eq(v.buckets[0].start_ms, -62135596800000LL);
	ck_assert_int_eq(v.buckets[1].start_ms, -HOUR);
	g = blocklog_agg_grid(blocklog_report_agg(r));
	ck_assert_int_le(g.t0_ms, at[0]);
	ck_assert_int_gt(g.t0_ms + BLOCKLOG_SPARK * g.width_ms, at[2]);
	s = blocklog_agg_result(blocklog_report_agg(r), 0, 1, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(s->spark);
	{
		uint64_t t = 0;

		for (unsigned i = 0; i < BLOCKLOG_SPARK; i++)
			t += s->spark[i];
		ck_assert_uint_eq(t, 6);
		ck_assert_uint_ge(s->spark[0], 1);
		ck_assert_uint_ge(s->spark[(at[2] - g.t0_ms) / g.width_ms], 1);
	}
	blocklog_report_free(r);
}
END_TEST

/* The grid grows toward the side a line fell out of; every row's counts
 * stay where they were in time. */
START_TEST(test_sparkline_grows_both_ways)
{
	struct blocklog_agg *a = blocklog_agg_new();
	struct blocklog_line l;
	struct blocklog_grid g;
	const uint32_t *sp;
	uint32_t row;

	ck_assert_int_eq(blocklog_agg_spark(a), 0);
	l = line(BLOCKLOG_BLOCK, T0 + 10 * MIN + 5, "100.64.0.1", "c1");
	ck_assert_int_eq(blocklog_agg_add_row(a, &l, &row), 0);
	ck_assert_uint_eq(row, 0);
	g = blocklog_agg_grid(a);
	ck_assert_int_eq(g.t0_ms, T0 + 10 * MIN);
	ck_assert_int_eq(g.width_ms, MIN);
	sp = blocklog_agg_spark_of(a, 0);
	ck_assert_uint_eq(sp[0], 1);

	/* 40 minutes later: out to the right, the width doubles. */
	l = line(BLOCKLOG_SUMMARY, T0 + 50 * MIN, "100.64.0.2", NULL);
	l.count = 7;
	ck_assert_int_eq(blocklog_agg_add_row(a, &l, &row), 0);
	ck_assert_uint_eq(row, 1);
	g = blocklog_agg_grid(a);
	ck_assert_int_eq(g.t0_ms, T0 + 10 * MIN);
	ck_assert_int_eq(g.width_ms, 2 * MIN);
	ck_assert_uint_eq(blocklog_agg_spark_of(a, 0)[0], 1);
	ck_assert_uint_eq(blocklog_agg_spark_of(a, 1)[20], 7);

	/* Before t0: out to the left; the old slots merge into the right
	 * half. */
	l = line(BLOCKLOG_BLOCK, T0, "100.64.0.1", "c1");
	ck_assert_int_eq(blocklog_agg_add_row(a, &l, &row), 0);
	ck_assert_uint_eq(row, 0);
	g = blocklog_agg_grid(a);
	ck_assert_int_eq(g.width_ms, 4 * MIN);
	ck_assert_int_eq(g.t0_ms, T0 + 10 * MIN - 64 * MIN);
	sp = blocklog_agg_spark_of(a, 0);
	ck_assert_uint_eq(sp[16], 1);		/* T0 + 10 min */
	ck_assert_uint_eq(sp[13], 1);		/* T0: (64 - 10) / 4 */
	ck_assert_uint_eq(blocklog_agg_spark_of(a, 1)[26], 7);
	ck_assert_ptr_null(blocklog_agg_spark_of(a, 2));
	/* Lines that are no block do not count in it; the session line has
	 * no row. */
	l = line(BLOCKLOG_SESSION, T0, "100.64.0.1", "c1");
	ck_assert_int_eq(blocklog_agg_add_row(a, &l, &row), 0);
	ck_assert_uint_eq(row, UINT32_MAX);
	blocklog_agg_free(a);
}
END_TEST

START_TEST(test_quarantines_end_as_the_lines_say)
{
	struct blocklog_report *r = blocklog_report_new();
	struct blocklog_report_view v;
	struct blocklog_line l;

	l = line(BLOCKLOG_DETECTION, T0, "100.64.0.1", "c1");
	l.window_s = 60;
	add(r, &l);
	l = line(BLOCKLOG_QUARANTINE, T0 + 1, "100.64.0.1", "c1");
	l.count = 812;
	l.distinct = 377;
	l.until = T0 / 1000 + 3600;
	snprintf(l.gateway, sizeof(l.gateway), "gw-north-1");
	add(r, &l);
	/* Another subscriber's release ends nothing of c1's. */
	l = line(BLOCKLOG_RELEASE, T0 + 2, "100.64.0.2", "c2");
	l.has_reason = true;
	l.reason = BLOCKLOG_RELEASE_MANUAL;
	add(r, &l);
	/* c1's own, from another address: by its id. */
	l = line(BLOCKLOG_RELEASE, T0 + 3, "100.64.0.9", "c1");
	l.has_reason = true;
	l.reason = BLOCKLOG_RELEASE_CLUSTER;
	snprintf(l.gateway, sizeof(l.gateway), "gw-south-2");
	add(r, &l);
	/* A second release ends no more. */
	l.ts_ms = T0 + 4;
	l.reason = BLOCKLOG_RELEASE_MANUAL;
	add(r, &l);
	/* An address quarantined, never released. */
	l = line(BLOCKLOG_QUARANTINE, T0 + 5, "100.64.0.7", NULL);
	l.until = T0 / 1000 + 60;
	add(r, &l);
	ck_assert_int_eq(blocklog_report_view(r, &v), 0);
	ck_assert_uint_eq(v.quarantines_total, 2);
	ck_assert_uint_eq(v.nquarantines, 2);
	ck_assert_uint_eq(v.quarantines[0].syns, 812);
	ck_assert_uint_eq(v.quarantines[0].distinct, 377);
	ck_assert_uint_eq(v.quarantines[0].window_s, 60);
	ck_assert_str_eq(v.quarantines[0].gateway, "gw-north-1");
	ck_assert(v.quarantines[0].released);
	ck_assert_int_eq(v.quarantines[0].release_ms, T0 + 3);
	ck_assert_int_eq(v.quarantines[0].reason, BLOCKLOG_RELEASE_CLUSTER);
	ck_assert_str_eq(v.quarantines[0].release_gateway, "gw-south-2");
	ck_assert(!v.quarantines[1].released);
	ck_assert_uint_eq(v.quarantines[1].window_s, 0);
	ck_assert_uint_eq(v.nbuckets, 1);
	ck_assert_uint_eq(v.buckets[0].quarantines, 2);
	ck_assert_uint_eq(v.buckets[0].releases, 3);
	blocklog_report_free(r);
}
END_TEST

/* The rings keep the latest; a release of a quarantine the ring no
 * longer holds touches none it does. */
START_TEST(test_rings_keep_the_latest)
{
	struct blocklog_report *r = blocklog_report_new();
	struct blocklog_report_view v;
	struct blocklog_line l;
	char src[32];
	const unsigned nq = BLOCKLOG_REPORT_QUARANTINES + 10;

	l = line(BLOCKLOG_QUARANTINE, T0, "100.64.0.1", "first");
	l.until = T0 / 1000 + 60;
	add(r, &l);
	for (unsigned i = 1; i < nq; i++) {
		snprintf(src, sizeof(src), "100.65.%u.%u", i / 250, i % 250 + 1);
		l = line(BLOCKLOG_QUARANTINE, T0 + i, src, NULL);
		l.until = T0 / 1000 + 60;
		add(r, &l);
	}
	l = line(BLOCKLOG_RELEASE, T0 + nq, "100.64.0.1", "first");
	add(r, &l);
	for (unsigned i = 0; i < BLOCKLOG_REPORT_FALLBACKS + 3; i++) {
		struct blocklog_line f = { .kind = BLOCKLOG_FALLBACK,
					   .ts_ms = T0 + i, .since = 1,
					   .until = 2 };

		add(r, &f);
	}
	ck_assert_int_eq(blocklog_report_view(r, &v), 0);
	ck_assert_uint_eq(v.quarantines_total, nq);
	ck_assert_uint_eq(v.nquarantines, BLOCKLOG_REPORT_QUARANTINES);
	ck_assert_int_eq(v.quarantines[0].ts_ms, T0 + 10);
	for (size_t i = 0; i < v.nquarantines; i++)
		ck_assert(!v.quarantines[i].released);
	ck_assert_uint_eq(v.fallbacks_total, BLOCKLOG_REPORT_FALLBACKS + 3);
	ck_assert_uint_eq(v.nfallbacks, BLOCKLOG_REPORT_FALLBACKS);
	ck_assert_int_eq(v.fallbacks[0].ts_ms, T0 + 3);
	ck_assert_int_eq(v.fallbacks[v.nfallbacks - 1].ts_ms,
			 T0 + BLOCKLOG_REPORT_FALLBACKS + 2);
	blocklog_report_free(r);
}
END_TEST

START_TEST(test_ports_and_profiles_bounded)
{
	struct blocklog_report *r = blocklog_report_new();
	struct blocklog_report_view v;
	struct blocklog_line l = line(BLOCKLOG_BLOCK, T0, "100.64.0.1", NULL);
	uint64_t n = 0;

	for (unsigned i = 0; i < BLOCKLOG_REPORT_PROFILES + 20; i++) {
		snprintf(l.profile, sizeof(l.profile), "p%03u", i);
		l.dport = (uint16_t)(i % 3 == 0 ? 587 : 25);
		add(r, &l);
	}
	l.dport = 65535;
	add(r, &l);
	ck_assert_int_eq(blocklog_report_view(r, &v), 0);
	ck_assert_uint_eq(v.nports, 3);
	for (size_t i = 1; i < v.nprofiles; i++)
		ck_assert(!v.profiles[i].others);
	ck_assert_uint_eq(v.ports[0].port, 25);
	ck_assert_uint_eq(v.ports[1].port, 587);
	ck_assert_uint_eq(v.ports[2].port, 65535);
	ck_assert_uint_eq(v.nprofiles, BLOCKLOG_REPORT_PROFILES);
	/* The last: every profile past the bound, together; a profile
	 * named "" is not it. */
	ck_assert(v.profiles[0].others);
	ck_assert_str_eq(v.profiles[0].name, "");
	ck_assert_uint_eq(v.profiles[0].n[0], 22);
	for (size_t i = 0; i < v.nprofiles; i++)
		n += v.profiles[i].n[0];
	ck_assert_uint_eq(n, BLOCKLOG_REPORT_PROFILES + 21);
	blocklog_report_free(r);
}
END_TEST

Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, test_series_by_action_minutes_then_hours);
	tcase_add_test(tc, test_far_times_stay_bounded);
	tcase_add_test(tc, test_sparkline_grows_both_ways);
	tcase_add_test(tc, test_quarantines_end_as_the_lines_say);
	tcase_add_test(tc, test_rings_keep_the_latest);
	tcase_add_test(tc, test_ports_and_profiles_bounded);
	suite_add_tcase(s, tc);
	return s;
}
