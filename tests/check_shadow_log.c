// SPDX-License-Identifier: GPL-2.0-or-later
/* The block log's shadow and shadow_summary lines: written, read back,
 * refused when damaged, shown to a person, and never counted as blocks. */
#include <check.h>
#include <string.h>

#include "blocklog/blocklog.h"
#include "tests/helpers.h"
#include "tests/suites.h"

#define TS_MS 1795829025123LL		/* 2026-11-28T01:23:45.123Z */

static struct blocklog_event shadow_event(void)
{
	struct blocklog_event ev = { .kind = BLOCKLOG_SHADOW, .ts_ms = TS_MS,
				     .dport = 587 };

	addr_parse("100.64.3.7", &ev.src);
	addr_parse("203.0.113.9", &ev.dst);
	ev.action = POLICY_ACCEPT;
	ev.shadow_action = POLICY_REJECT;
	strcpy(ev.profile, "residential");
	addr_parse("100.64.0.0", &ev.prefix_addr);
	ev.prefix_len = 10;
	ev.prefix_set = true;
	strcpy(ev.shadow_profile, "strict");
	addr_parse("100.64.3.0", &ev.shadow_prefix_addr);
	ev.shadow_prefix_len = 24;
	ev.shadow_prefix_set = true;
	strcpy(ev.subscriber, "cust-88412");
	return ev;
}

static int parse(const char *text, struct blocklog_line *l)
{
	struct blocklog_parser *p = blocklog_parser_new();
	int r = blocklog_line_parse(p, text, strlen(text), l);

	blocklog_parser_free(p);
	return r;
}

START_TEST(test_shadow_line_round_trip)
{
	struct blocklog_event ev = shadow_event();
	struct blocklog_line l;
	char buf[1024];

	ck_assert_int_gt(blocklog_format(&ev, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"shadow\","
		"\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":587,"
		"\"action\":\"accept\",\"profile\":\"residential\","
		"\"prefix\":\"100.64.0.0/10\",\"shadow_action\":\"reject\","
		"\"shadow_profile\":\"strict\",\"shadow_prefix\":"
		"\"100.64.3.0/24\",\"subscriber\":\"cust-88412\"}\n");
	ck_assert_int_eq(parse(buf, &l), 0);
	ck_assert_int_eq(l.kind, BLOCKLOG_SHADOW);
	ck_assert_int_eq(l.ts_ms, TS_MS);
	ck_assert_int_eq(l.dport, 587);
	ck_assert_int_eq(l.action, POLICY_ACCEPT);
	ck_assert_int_eq(l.shadow_action, POLICY_REJECT);
	ck_assert_str_eq(l.profile, "residential");
	ck_assert_str_eq(l.prefix, "100.64.0.0/10");
	ck_assert_str_eq(l.shadow_profile, "strict");
	ck_assert_str_eq(l.shadow_prefix, "100.64.3.0/24");
	ck_assert_str_eq(l.subscriber, "cust-88412");

	/* No entry on one side (a source only the candidate names), IPv6,
	 * lines lost before it. */
	ev.profile[0] = '\0';
	ev.prefix_set = false;
	ev.subscriber[0] = '\0';
	addr_parse("2001:db8:1::7", &ev.src);
	addr_parse("2001:db8:2::1", &ev.dst);
	addr_parse("2001:db8:1::", &ev.shadow_prefix_addr);
	ev.shadow_prefix_len = 48;
	ck_assert_int_gt(blocklog_format(&ev, 3, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"shadow\","
		"\"src\":\"2001:db8:1::7\",\"dst\":\"2001:db8:2::1\","
		"\"dport\":587,\"action\":\"accept\",\"shadow_action\":"
		"\"reject\",\"shadow_profile\":\"strict\",\"shadow_prefix\":"
		"\"2001:db8:1::/48\",\"lost\":3}\n");
	ck_assert_int_eq(parse(buf, &l), 0);
	ck_assert_str_eq(l.profile, "");
	ck_assert_str_eq(l.prefix, "");
	ck_assert_uint_eq(l.lost, 3);
}
END_TEST

START_TEST(test_shadow_summary_round_trip)
{
	struct blocklog_event ev = { .kind = BLOCKLOG_SHADOW_SUMMARY,
				     .ts_ms = TS_MS, .window_s = 60,
				     .shadow = { 12, 0, 1 } };
	struct blocklog_line l;
	char buf[512];

	addr_parse("100.64.3.7", &ev.src);
	strcpy(ev.subscriber, "cust-88412");
	ck_assert_int_gt(blocklog_format(&ev, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":"
		"\"shadow_summary\",\"src\":\"100.64.3.7\",\"would_block\":12,"
		"\"would_pass\":0,\"would_change\":1,\"window_s\":60,"
		"\"subscriber\":\"cust-88412\"}\n");
	ck_assert_int_eq(parse(buf, &l), 0);
	ck_assert_int_eq(l.kind, BLOCKLOG_SHADOW_SUMMARY);
	ck_assert_uint_eq(l.shadow[BLOCKLOG_SHADOW_BLOCK], 12);
	ck_assert_uint_eq(l.shadow[BLOCKLOG_SHADOW_PASS], 0);
	ck_assert_uint_eq(l.shadow[BLOCKLOG_SHADOW_CHANGE], 1);
	ck_assert_uint_eq(l.window_s, 60);
	ck_assert_str_eq(l.subscriber, "cust-88412");
}
END_TEST

#define SH(rest) "{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"shadow\"," \
	"\"src\":\"100.64.3.7\"," rest "}"
#define SUM(rest) "{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":" \
	"\"shadow_summary\",\"src\":\"100.64.3.7\"," rest "}"

START_TEST(test_damaged_lines_are_malformed)
{
	static const char *const bad[] = {
		SH("\"dst\":\"203.0.113.9\",\"dport\":587,\"action\":\"accept\","
		   "\"shadow_action\":\"maybe\""),
		SH("\"dst\":\"203.0.113.9\",\"dport\":70000,\"action\":"
		   "\"accept\",\"shadow_action\":\"reject\""),
		SH("\"dst\":\"203.0.113.9\",\"dport\":587,\"action\":"
		   "\"accept\""),
		SH("\"dst\":\"203.0.113.9\",\"dport\":587,\"shadow_action\":"
		   "\"reject\""),
		SH("\"dport\":587,\"action\":\"accept\",\"shadow_action\":"
		   "\"reject\""),
		SH("\"dst\":\"203.0.113.9\",\"dport\":587,\"action\":\"accept\","
		   "\"shadow_action\":\"reject\",\"shadow_profile\":\"\xff\""),
		SH("\"dst\":\"203.0.113.9\",\"dport\":587,\"action\":\"accept\","
		   "\"shadow_action\":\"reject\",\"shadow_prefix\":5"),
		SH("\"dst\":\"203.0.113.9\",\"dport\":587,\"action\":\"accept\","
		   "\"shadow_action\":\"reject\",\"subscriber\":\" x\""),
		SUM("\"would_block\":-1,\"would_pass\":0,\"would_change\":0,"
		    "\"window_s\":60"),
		SUM("\"would_block\":1,\"would_change\":0,\"window_s\":60"),
		SUM("\"would_block\":1,\"would_pass\":0,\"would_change\":0"),
		SUM("\"would_block\":1,\"would_pass\":0,\"would_change\":0,"
		    "\"window_s\":4294967296"),
		SUM("\"would_block\":\"1\",\"would_pass\":0,\"would_change\":0,"
		    "\"window_s\":60"),
	};
	struct blocklog_line l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &l) < 0, "read: %s", bad[i]);
	ck_assert_int_eq(parse(SH("\"dst\":\"203.0.113.9\",\"dport\":587,"
				  "\"action\":\"accept\",\"shadow_action\":"
				  "\"reject\""), &l), 0);
}
END_TEST

START_TEST(test_lines_for_people)
{
	struct blocklog_event ev = shadow_event();
	struct blocklog_line l;
	char buf[1024], text[512];

	blocklog_format(&ev, 0, buf, sizeof(buf));
	ck_assert_int_eq(parse(buf, &l), 0);
	ck_assert_str_eq(blocklog_line_format(&l, text, sizeof(text)),
		"2026-11-28T01:23:45.123Z  shadow      100.64.3.7 → "
		"203.0.113.9:587  accept (residential 100.64.0.0/10), shadow "
		"reject (strict 100.64.3.0/24)  subscriber cust-88412");
	ck_assert_int_eq(parse(SH("\"dst\":\"2001:db8:2::1\",\"dport\":25,"
				  "\"action\":\"reject\",\"profile\":\"r\","
				  "\"shadow_action\":\"accept\""), &l), 0);
	ck_assert_str_eq(blocklog_line_format(&l, text, sizeof(text)),
		"2026-11-28T01:23:45.123Z  shadow      100.64.3.7 → "
		"[2001:db8:2::1]:25  reject (r), shadow accept (none)");
	ck_assert_int_eq(parse(SUM("\"would_block\":12,\"would_pass\":0,"
				   "\"would_change\":1,\"window_s\":60"), &l),
			 0);
	ck_assert_str_eq(blocklog_line_format(&l, text, sizeof(text)),
		"2026-11-28T01:23:45.123Z  shadow_summary  100.64.3.7  13 more "
		"disagreements in 60s (not logged one by one): 12 would block, "
		"0 would pass, 1 would change");
}
END_TEST

/* log --top counts blocks: shadow lines make no row and count nothing. */
START_TEST(test_not_blocks)
{
	struct blocklog_agg *a = blocklog_agg_new();
	struct blocklog_line l;

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(parse(SH("\"dst\":\"203.0.113.9\",\"dport\":587,"
				  "\"action\":\"accept\",\"shadow_action\":"
				  "\"reject\""), &l), 0);
	ck_assert_int_eq(blocklog_agg_add(a, &l), 0);
	ck_assert_int_eq(parse(SUM("\"would_block\":12,\"would_pass\":0,"
				   "\"would_change\":1,\"window_s\":60"), &l),
			 0);
	ck_assert_int_eq(blocklog_agg_add(a, &l), 0);
	ck_assert_uint_eq(blocklog_agg_count(a), 0);
	blocklog_agg_free(a);
}
END_TEST

/* --src and --subscriber select them as they select block lines. */
START_TEST(test_filters)
{
	struct blocklog_filter f = { 0 };
	struct blocklog_line l;
	char err[128];

	ck_assert_int_eq(blocklog_filter_src(&f, "100.64.3.0/24", err,
					     sizeof(err)), 0);
	ck_assert_int_eq(parse(SUM("\"would_block\":1,\"would_pass\":0,"
				   "\"would_change\":0,\"window_s\":60"), &l),
			 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(blocklog_filter_subscriber(&f, "cust-1", err,
						    sizeof(err)), 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);
	ck_assert_int_eq(parse(SH("\"dst\":\"203.0.113.9\",\"dport\":587,"
				  "\"action\":\"accept\",\"shadow_action\":"
				  "\"reject\",\"subscriber\":\"cust-1\""), &l),
			 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
}
END_TEST

Suite *shadow_log_suite(void)
{
	Suite *s = suite_create("shadow_log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_shadow_line_round_trip);
	tcase_add_test(tc, test_shadow_summary_round_trip);
	tcase_add_test(tc, test_damaged_lines_are_malformed);
	tcase_add_test(tc, test_lines_for_people);
	tcase_add_test(tc, test_not_blocks);
	tcase_add_test(tc, test_filters);
	suite_add_tcase(s, tc);
	return s;
}
