// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The block log's reader (blocklog/, for portcullis log): every line the
 * writer writes reads back as it was meant, malformed lines are refused,
 * the time, prefix and subscriber filters, the per-subscriber numbers,
 * rotated and compressed files, the timeline order; session lines and
 * who held an address at a time.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "blocklog/blocklog.h"
#include "tests/suites.h"

#define TS_MS 1795829025123LL		/* 2026-11-28T01:23:45.123Z */

static struct blocklog_parser *parser;

static void setup(void)
{
	parser = blocklog_parser_new();
	ck_assert_ptr_nonnull(parser);
}

static void teardown(void)
{
	blocklog_parser_free(parser);
	parser = NULL;
}

static int parse(const char *s, struct blocklog_line *l)
{
	return blocklog_line_parse(parser, s, strlen(s), l);
}

static struct blocklog_event event(enum blocklog_kind kind)
{
	struct blocklog_event ev = { .kind = kind, .ts_ms = TS_MS };

	addr_parse("100.64.3.7", &ev.src);
	return ev;
}

/* The writer formats ev; the reader must get it back. */
static void roundtrip(const struct blocklog_event *ev, uint64_t lost,
		      struct blocklog_line *l)
{
	char line[2048];
	int n = blocklog_format(ev, lost, line, sizeof(line));

	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(blocklog_line_parse(parser, line, (size_t)n, l), 0);
	ck_assert_int_eq(l->ts_ms, TS_MS);
	ck_assert_uint_eq(l->lost, lost);
}

static void assert_addr(const struct addr *a, const char *want)
{
	char buf[64];

	ck_assert_str_eq(addr_format(a, buf, sizeof(buf)), want);
}

START_TEST(test_block_line_reads_back_every_field)
{
	struct blocklog_event ev = event(BLOCKLOG_BLOCK);
	struct blocklog_line l;

	ev.action = POLICY_REJECT;
	ev.dport = 25;
	addr_parse("203.0.113.9", &ev.dst);
	strcpy(ev.profile, "residential");
	strcpy(ev.prefix, "100.64.0.0/10");
	roundtrip(&ev, 0, &l);
	ck_assert_int_eq(l.kind, BLOCKLOG_BLOCK);
	ck_assert(l.has_src);
	assert_addr(&l.src, "100.64.3.7");
	assert_addr(&l.dst, "203.0.113.9");
	ck_assert_uint_eq(l.dport, 25);
	ck_assert_int_eq(l.action, POLICY_REJECT);
	ck_assert_str_eq(l.profile, "residential");
	ck_assert_str_eq(l.prefix, "100.64.0.0/10");
	ck_assert(!l.monitor);
}
END_TEST

START_TEST(test_monitor_ipv6_block_with_lost_reads_back)
{
	struct blocklog_event ev = event(BLOCKLOG_BLOCK);
	struct blocklog_line l;

	ev.action = POLICY_DROP;
	ev.dport = 587;
	ev.monitor = true;
	addr_parse("2001:db8:1::2", &ev.src);
	addr_parse("2001:db8:2::2", &ev.dst);
	strcpy(ev.profile, "quar\"antine");	/* escaped by the writer */
	strcpy(ev.prefix, "2001:db8:1::/48");
	roundtrip(&ev, 17, &l);
	assert_addr(&l.src, "2001:db8:1::2");
	assert_addr(&l.dst, "2001:db8:2::2");
	ck_assert_uint_eq(l.dport, 587);
	ck_assert_int_eq(l.action, POLICY_DROP);
	ck_assert(l.monitor);
	ck_assert_str_eq(l.profile, "quar\"antine");
}
END_TEST

START_TEST(test_summary_detection_quarantine_release_read_back)
{
	struct blocklog_event ev = event(BLOCKLOG_SUMMARY);
	struct blocklog_line l;

	ev.count = 4512;
	ev.distinct = 1203;
	ev.window_s = 60;
	roundtrip(&ev, 0, &l);
	ck_assert_int_eq(l.kind, BLOCKLOG_SUMMARY);
	ck_assert_uint_eq(l.count, 4512);
	ck_assert_uint_eq(l.kernel, 0);
	ck_assert_uint_eq(l.distinct, 1203);
	ck_assert_uint_eq(l.window_s, 60);
	ev.kernel = 3980;
	roundtrip(&ev, 0, &l);
	ck_assert_uint_eq(l.count, 4512);
	ck_assert_uint_eq(l.kernel, 3980);
	ev.kernel = 0;
	/* The kernel's part cannot be more than the whole, nor no number. */
	ck_assert_int_eq(parse("{\"ts\":\"2026-11-28T01:23:45.123Z\","
			       "\"event\":\"summary\",\"src\":\"100.64.3.7\","
			       "\"blocked\":10,\"kernel\":11,"
			       "\"distinct_destinations\":1,\"window_s\":60}",
			       &l), -1);
	ck_assert_int_eq(parse("{\"ts\":\"2026-11-28T01:23:45.123Z\","
			       "\"event\":\"summary\",\"src\":\"100.64.3.7\","
			       "\"blocked\":10,\"kernel\":\"4\","
			       "\"distinct_destinations\":1,\"window_s\":60}",
			       &l), -1);

	ev.kind = BLOCKLOG_DETECTION;
	ev.count = 812;
	ev.distinct = 377;
	roundtrip(&ev, 2, &l);
	ck_assert_int_eq(l.kind, BLOCKLOG_DETECTION);
	ck_assert_uint_eq(l.count, 812);
	ck_assert_uint_eq(l.distinct, 377);
	ck_assert_uint_eq(l.window_s, 60);

	ev.kind = BLOCKLOG_QUARANTINE;
	ev.until = 1795832625;
	roundtrip(&ev, 0, &l);
	ck_assert_int_eq(l.kind, BLOCKLOG_QUARANTINE);
	ck_assert_int_eq(l.until, 1795832625);
	ck_assert_uint_eq(l.count, 812);
	ck_assert_uint_eq(l.distinct, 377);

	ev.kind = BLOCKLOG_RELEASE;
	roundtrip(&ev, 5, &l);
	ck_assert_int_eq(l.kind, BLOCKLOG_RELEASE);
	assert_addr(&l.src, "100.64.3.7");
	ck_assert(l.has_reason);
	ck_assert_int_eq(l.reason, BLOCKLOG_RELEASE_EXPIRED);
	ev.reason = BLOCKLOG_RELEASE_MANUAL;
	roundtrip(&ev, 0, &l);
	ck_assert(l.has_reason);
	ck_assert_int_eq(l.reason, BLOCKLOG_RELEASE_MANUAL);
	/* The reason is optional; given, it is one the schema names. */
	ck_assert_int_eq(parse("{\"ts\":\"2026-11-28T01:23:45.123Z\","
			       "\"event\":\"release\",\"src\":\"100.64.3.7\""
			       "}", &l), 0);
	ck_assert(!l.has_reason);
	ck_assert_int_eq(parse("{\"ts\":\"2026-11-28T01:23:45.123Z\","
			       "\"event\":\"release\",\"src\":\"100.64.3.7\","
			       "\"reason\":\"bored\"}", &l), -1);
}
END_TEST

START_TEST(test_except_line_reads_back_without_src)
{
	struct blocklog_event ev = event(BLOCKLOG_EXCEPT);
	struct blocklog_line l;

	ev.op = BLOCKLOG_EXCEPT_ADD;
	strcpy(ev.prefix, "100.64.12.0/28");
	strcpy(ev.profile, "business");
	strcpy(ev.note, "ACME, ticket 4411");
	ev.until = 1795832625;
	roundtrip(&ev, 1, &l);
	ck_assert_int_eq(l.kind, BLOCKLOG_EXCEPT);
	ck_assert(!l.has_src);
	ck_assert_int_eq(l.op, BLOCKLOG_EXCEPT_ADD);
	ck_assert_str_eq(l.prefix, "100.64.12.0/28");
	ck_assert_str_eq(l.profile, "business");
	ck_assert_str_eq(l.note, "ACME, ticket 4411");
	ck_assert_int_eq(l.until, 1795832625);

	ev.op = BLOCKLOG_EXCEPT_DEL;
	ev.until = 0;
	ev.note[0] = '\0';
	roundtrip(&ev, 0, &l);
	ck_assert_int_eq(l.op, BLOCKLOG_EXCEPT_DEL);
	ck_assert_int_eq(l.until, 0);
	ck_assert_str_eq(l.note, "");
}
END_TEST

/* What json-c escapes (short forms, quotes) and what the writer escapes
 * after it (DEL, C1, U+2028) reads back as the bytes given, up to the
 * longest note an exception may have. */
START_TEST(test_except_note_reads_back_byte_for_byte)
{
	static const char note[] = "a\tb\nc\rd\be\ff\x01g\x1f\"q\\ /s \x7f "
				   "\xc2\x85 \xe2\x80\xa8 \xe2\x80\xa9 "
				   "M\xc3\xbcller \xf0\x9f\x98\x80";
	struct blocklog_event ev = event(BLOCKLOG_EXCEPT);
	struct blocklog_line l;

	ev.op = BLOCKLOG_EXCEPT_EXPIRE;
	strcpy(ev.prefix, "2001:db8:1::/48");
	strcpy(ev.profile, "b\"iz\\");
	strcpy(ev.note, note);
	roundtrip(&ev, 3, &l);
	ck_assert_int_eq(l.op, BLOCKLOG_EXCEPT_EXPIRE);
	ck_assert_str_eq(l.prefix, "2001:db8:1::/48");
	ck_assert_str_eq(l.profile, "b\"iz\\");
	ck_assert_str_eq(l.note, note);

	memset(ev.note, '\n', POLICY_NOTE_MAX);
	ev.note[POLICY_NOTE_MAX] = '\0';
	roundtrip(&ev, 0, &l);
	ck_assert_str_eq(l.note, ev.note);
}
END_TEST

/* A line cut inside a surrogate pair leaves nothing behind for the next
 * line (json-c's tokener would: blocklog/line.c). */
START_TEST(test_cut_surrogate_does_not_reach_the_next_line)
{
	static const char cut[] = "{\"ts\":\"2026-11-28T01:23:45.123Z\","
		"\"event\":\"except\",\"op\":\"add\",\"prefix\":"
		"\"100.64.12.0/28\",\"profile\":\"business\","
		"\"note\":\"\\ud83d";
	static const char good[] = "{\"ts\":\"2026-11-28T01:23:45.123Z\","
		"\"event\":\"except\",\"op\":\"add\",\"prefix\":"
		"\"100.64.12.0/28\",\"profile\":\"business\",\"note\":"
		"\"a\\u000db\"}";
	struct blocklog_line l;

	ck_assert_int_eq(parse(cut, &l), -1);
	ck_assert_int_eq(parse(good, &l), 0);
	ck_assert_str_eq(l.note, "a\rb");
}
END_TEST

START_TEST(test_crlf_blanks_and_unknown_fields_are_fine)
{
	struct blocklog_line l;

	ck_assert_int_eq(parse(" {\"ts\":\"2026-11-28T01:23:45Z\",\"event\":"
			       "\"release\",\"src\":\"100.64.3.7\",\"new\":"
			       "[1,{\"x\":2}]}\r", &l), 0);
	ck_assert_int_eq(l.ts_ms, TS_MS - 123);
}
END_TEST

static const char *const malformed[] = {
	"",
	"   ",
	"not json",
	"[1,2]",
	"\"block\"",
	"{}",
	"{\"ts\":",
	/* the block line of DESIGN.md with one thing wrong each */
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"} trailing",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\",}",
	"{\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-13-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"yesterday\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":1795829025,\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"blocked\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.700\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":70000,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":\"25\",\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25.5,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"allow\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"prefix\":\"100.64.0.0/10\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\",\"lost\":-1}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\",\"lost\":\"3\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\",\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":\"reject\",\"profile\":\"residential\",\"prefix\":\"100.64.0.0/10\",\"mode\":1}",
	/* other events with a field missing or wrong */
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"summary\",\"src\":\"100.64.3.7\",\"distinct_destinations\":1,\"window_s\":60}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"summary\",\"src\":\"100.64.3.7\",\"blocked\":-4,\"distinct_destinations\":1,\"window_s\":60}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"detection\",\"src\":\"100.64.3.7\",\"syns\":4,\"distinct_destinations\":1}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"quarantine\",\"src\":\"100.64.3.7\",\"syns\":4,\"distinct_destinations\":1}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"quarantine\",\"src\":\"100.64.3.7\",\"until\":\"soon\",\"syns\":4,\"distinct_destinations\":1}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"release\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"except\",\"op\":\"purge\",\"prefix\":\"100.64.12.0/28\",\"profile\":\"business\"}",
	"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"except\",\"op\":\"add\",\"profile\":\"business\"}",
};

/* What the writer writes is UTF-8 whatever it was given; a string in a
 * line that is not UTF-8 is damage (found by fuzz_blocklog_read). */
START_TEST(test_non_utf8_string_is_malformed_writer_output_is_not)
{
	static const char bad[] = "{\"ts\":\"2026-11-28T01:23:45.123Z\","
		"\"event\":\"block\",\"src\":\"2001:db8:1::2\",\"dst\":"
		"\"2001:db8:2::2\",\"dport\":25,\"action\":\"drop\","
		"\"profile\":\"residential\",\"prefix\":\"\xff\xff~\xff\"}";
	struct blocklog_event ev = event(BLOCKLOG_EXCEPT);
	struct blocklog_line l;

	ck_assert_int_eq(parse(bad, &l), -1);
	ev.op = BLOCKLOG_EXCEPT_ADD;
	strcpy(ev.prefix, "100.64.12.0/28");
	strcpy(ev.profile, "business");
	strcpy(ev.note, "M\xfcller \xc2\x85");	/* Latin-1, then U+0085 */
	roundtrip(&ev, 0, &l);
	ck_assert_str_eq(l.note, "M\xef\xbf\xbdller \xc2\x85");
}
END_TEST

START_TEST(test_gateway_reads_back_and_is_checked)
{
	struct blocklog_event ev = event(BLOCKLOG_RELEASE);
	struct blocklog_line l;

	ev.reason = BLOCKLOG_RELEASE_CLUSTER;
	strcpy(ev.gateway, "gw-north-1.example");
	roundtrip(&ev, 0, &l);
	ck_assert_str_eq(l.gateway, "gw-north-1.example");
	ck_assert(l.has_reason);
	ck_assert_int_eq(l.reason, BLOCKLOG_RELEASE_CLUSTER);
	ev = event(BLOCKLOG_QUARANTINE);
	roundtrip(&ev, 0, &l);
	ck_assert_str_eq(l.gateway, "");
	ck_assert_int_eq(parse("{\"ts\":\"2026-12-02T12:00:00Z\",\"event\":"
			       "\"release\",\"src\":\"100.64.3.7\","
			       "\"gateway\":\"gw a\"}", &l), -1);
	ck_assert_int_eq(parse("{\"ts\":\"2026-12-02T12:00:00Z\",\"event\":"
			       "\"except\",\"op\":\"add\",\"prefix\":"
			       "\"100.64.0.0/24\",\"profile\":\"b\","
			       "\"gateway\":7}", &l), -1);
	ck_assert_int_eq(parse("{\"ts\":\"2026-12-02T12:00:00Z\",\"event\":"
			       "\"except\",\"op\":\"add\",\"prefix\":"
			       "\"100.64.0.0/24\",\"profile\":\"b\","
			       "\"gateway\":\"gw-b\"}", &l), 0);
	ck_assert_str_eq(l.gateway, "gw-b");
}
END_TEST

START_TEST(test_fallback_line_reads_back)
{
	struct blocklog_event ev = event(BLOCKLOG_FALLBACK);
	struct blocklog_line l;
	char text[256];

	ev.since = 1795832000;
	ev.until = 1795832625;
	ev.fb[POLICY_REJECT] = 118;
	ev.fb[POLICY_DROP] = 3;
	ev.fb[POLICY_ACCEPT] = 12;
	roundtrip(&ev, 0, &l);
	ck_assert_int_eq(l.kind, BLOCKLOG_FALLBACK);
	ck_assert(!l.has_src);
	ck_assert_int_eq(l.since, 1795832000);
	ck_assert_int_eq(l.until, 1795832625);
	ck_assert_uint_eq(l.fallback[POLICY_REJECT], 118);
	ck_assert_uint_eq(l.fallback[POLICY_DROP], 3);
	ck_assert_uint_eq(l.fallback[POLICY_ACCEPT], 12);
	blocklog_line_format(&l, text, sizeof(text));
	ck_assert_msg(strstr(text, "no daemon from 2026-11-28T") &&
		      strstr(text, "rejected 118 SYNs, dropped 3, accepted 12"),
		      "%s", text);
}
END_TEST

START_TEST(test_malformed_lines_are_refused)
{
	struct blocklog_line l;

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		ck_assert_msg(parse(malformed[i], &l) == -1,
			      "accepted: %s", malformed[i]);
}
END_TEST

START_TEST(test_nul_in_line_or_string_is_malformed)
{
	static const char line[] = "{\"ts\":\"2026-11-28T01:23:45Z\",\"event\":"
				   "\"release\",\"src\":\"100.64.3.7\"}\0x";
	static const char esc[] = "{\"ts\":\"2026-11-28T01:23:45Z\",\"event\":"
				  "\"release\",\"src\":\"100.64.3.7\\u0000\"}";
	struct blocklog_line l;

	ck_assert_int_eq(blocklog_line_parse(parser, line, sizeof(line) - 3,
					     &l), 0);
	ck_assert_int_eq(blocklog_line_parse(parser, line, sizeof(line) - 1,
					     &l), -1);
	ck_assert_int_eq(parse(esc, &l), -1);
}
END_TEST

START_TEST(test_time_parse_relative_and_rfc3339)
{
	const int64_t now = 1795829025;
	int64_t ms;

	ck_assert_int_eq(blocklog_time_parse("1h", now, &ms), 0);
	ck_assert_int_eq(ms, (now - 3600) * 1000);
	ck_assert_int_eq(blocklog_time_parse("30m", now, &ms), 0);
	ck_assert_int_eq(ms, (now - 1800) * 1000);
	ck_assert_int_eq(blocklog_time_parse("7d", now, &ms), 0);
	ck_assert_int_eq(ms, (now - 7 * 86400) * 1000);
	ck_assert_int_eq(blocklog_time_parse("1h30m", now, &ms), 0);
	ck_assert_int_eq(ms, (now - 5400) * 1000);
	/* On a command line a leading zero is no octal, as in YAML. */
	ck_assert_int_eq(blocklog_time_parse("05m", now, &ms), 0);
	ck_assert_int_eq(ms, (now - 300) * 1000);
	ck_assert_int_eq(blocklog_time_parse("2026-11-28T01:00:00Z", now, &ms),
			 0);
	ck_assert_int_eq(ms, 1795827600LL * 1000);
	ck_assert_int_eq(blocklog_time_parse("2026-11-28T02:00:00+01:00", now,
					     &ms), 0);
	ck_assert_int_eq(ms, 1795827600LL * 1000);
	ck_assert_int_eq(blocklog_time_parse("", now, &ms), -1);
	ck_assert_int_eq(blocklog_time_parse("1", now, &ms), -1);
	ck_assert_int_eq(blocklog_time_parse("h", now, &ms), -1);
	ck_assert_int_eq(blocklog_time_parse("1y", now, &ms), -1);
	ck_assert_int_eq(blocklog_time_parse("-1h", now, &ms), -1);
	ck_assert_int_eq(blocklog_time_parse("1h ", now, &ms), -1);
	ck_assert_int_eq(blocklog_time_parse("99999999999999999999d", now,
					     &ms), -1);
	ck_assert_int_eq(blocklog_time_parse("2026-11-28", now, &ms), -1);
}
END_TEST

static struct blocklog_line line_at(int64_t ts_ms, const char *src)
{
	struct blocklog_line l = { .kind = BLOCKLOG_BLOCK, .ts_ms = ts_ms,
				   .has_src = true, .dport = 25 };

	ck_assert_int_eq(addr_parse(src, &l.src), 0);
	addr_parse("203.0.113.9", &l.dst);
	return l;
}

START_TEST(test_since_is_inclusive_until_exclusive)
{
	struct blocklog_filter f = { .has_since = true, .since_ms = 1000,
				     .has_until = true, .until_ms = 2000 };
	struct blocklog_line l;

	l = line_at(999, "100.64.3.7");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);
	l = line_at(1000, "100.64.3.7");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	l = line_at(1999, "100.64.3.7");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	l = line_at(2000, "100.64.3.7");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);
}
END_TEST

static int src_match(const char *prefix, const char *src)
{
	struct blocklog_filter f = { 0 };
	struct blocklog_line l = line_at(0, src);
	char err[160];

	ck_assert_int_eq(blocklog_filter_src(&f, prefix, err, sizeof(err)), 0);
	return blocklog_filter_match(&f, &l);
}

START_TEST(test_src_prefix_ipv4_and_ipv6)
{
	struct blocklog_filter f = { 0 };
	struct blocklog_line l = { .kind = BLOCKLOG_EXCEPT };
	char err[160];

	ck_assert_int_eq(src_match("100.64.3.0/24", "100.64.3.7"), 1);
	ck_assert_int_eq(src_match("100.64.3.0/24", "100.64.4.7"), 0);
	ck_assert_int_eq(src_match("100.64.0.0/10", "100.127.255.255"), 1);
	ck_assert_int_eq(src_match("100.64.0.0/10", "100.128.0.0"), 0);
	ck_assert_int_eq(src_match("100.64.3.7", "100.64.3.7"), 1);
	ck_assert_int_eq(src_match("100.64.3.7", "100.64.3.8"), 0);
	ck_assert_int_eq(src_match("0.0.0.0/0", "100.64.3.8"), 1);
	ck_assert_int_eq(src_match("0.0.0.0/0", "2001:db8::1"), 0);
	ck_assert_int_eq(src_match("2001:db8:1::/48", "2001:db8:1:ff::9"), 1);
	ck_assert_int_eq(src_match("2001:db8:1::/48", "2001:db8:2::9"), 0);
	ck_assert_int_eq(src_match("2001:db8:1:2::/63", "2001:db8:1:3::9"), 1);
	ck_assert_int_eq(src_match("2001:db8:1:2::/64", "2001:db8:1:3::9"), 0);
	ck_assert_int_eq(src_match("::/0", "100.64.3.7"), 1);

	ck_assert_int_eq(blocklog_filter_src(&f, "100.64.3.7/24", err,
					     sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "did you mean 100.64.3.0/24"));
	ck_assert_int_eq(blocklog_filter_src(&f, "100.64.3/24", err,
					     sizeof(err)), -1);

	/* An exception's prefix and the filter overlap either way round. */
	ck_assert_int_eq(blocklog_filter_src(&f, "100.64.12.0/24", err,
					     sizeof(err)), 0);
	strcpy(l.prefix, "100.64.12.0/28");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	strcpy(l.prefix, "100.64.0.0/10");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	strcpy(l.prefix, "100.64.13.0/28");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);
}
END_TEST

static void agg_add(struct blocklog_agg *a, const struct blocklog_line *l)
{
	ck_assert_int_eq(blocklog_agg_add(a, l), 0);
}

static void agg_block(struct blocklog_agg *a, int64_t ts, const char *src,
		      const char *dst)
{
	struct blocklog_line l = line_at(ts, src);

	ck_assert_int_eq(addr_parse(dst, &l.dst), 0);
	agg_add(a, &l);
}

START_TEST(test_top_counts_blocks_summaries_and_exact_destinations)
{
	struct blocklog_agg *a = blocklog_agg_new();
	struct blocklog_line l;
	const struct blocklog_sub *s;
	char name[80];
	size_t n;

	agg_block(a, 5000, "100.64.3.7", "203.0.113.9");
	agg_block(a, 3000, "100.64.3.7", "203.0.113.9");	/* again */
	agg_block(a, 4000, "100.64.3.7", "203.0.113.10");
	l = line_at(9000, "100.64.3.7");
	l.kind = BLOCKLOG_SUMMARY;
	l.count = 40;
	l.kernel = 30;
	l.distinct = 12;
	agg_add(a, &l);
	/* The same destination from another subscriber is new for it. */
	agg_block(a, 1000, "100.64.3.8", "203.0.113.9");
	/* IPv6: one subscriber per /64, as the daemon counts them. */
	agg_block(a, 2000, "2001:db8:1:2::5", "2001:db8:2::1");
	agg_block(a, 2500, "2001:db8:1:2::6", "2001:db8:2::2");
	agg_block(a, 2600, "2001:db8:1:2::6", "2001:db8:2::1");
	agg_block(a, 2700, "2001:db8:1:3::6", "2001:db8:2::1");
	l = (struct blocklog_line){ .kind = BLOCKLOG_EXCEPT, .ts_ms = 1 };
	agg_add(a, &l);		/* no src: not a subscriber */

	s = blocklog_agg_result(a, 0, SIZE_MAX, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(blocklog_sub_name(&s[0], name, sizeof(name)),
			 "100.64.3.7");
	ck_assert_uint_eq(s[0].blocked, 43);
	ck_assert_uint_eq(s[0].block_lines, 3);
	ck_assert_uint_eq(s[0].summarized, 40);
	ck_assert_uint_eq(s[0].kernel, 30);
	ck_assert_uint_eq(s[0].distinct, 2);
	ck_assert_int_eq(s[0].first_ms, 3000);
	ck_assert_int_eq(s[0].last_ms, 9000);
	ck_assert_str_eq(blocklog_sub_name(&s[1], name, sizeof(name)),
			 "2001:db8:1:2::/64");
	ck_assert_uint_eq(s[1].blocked, 3);
	ck_assert_uint_eq(s[1].distinct, 2);
	ck_assert_int_eq(s[1].first_ms, 2000);
	ck_assert_int_eq(s[1].last_ms, 2600);
	/* Equal blocked and destinations: in address order. */
	ck_assert_str_eq(blocklog_sub_name(&s[2], name, sizeof(name)),
			 "100.64.3.8");
	ck_assert_uint_eq(s[2].blocked, 1);
	ck_assert_str_eq(blocklog_sub_name(&s[3], name, sizeof(name)),
			 "2001:db8:1:3::/64");

	/* --top 2: the same first two, the count still of all. */
	s = blocklog_agg_result(a, 0, 2, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(blocklog_agg_count(a), 4);
	ck_assert_uint_eq(s[0].blocked, 43);
	ck_assert_uint_eq(s[1].blocked, 3);
	blocklog_agg_free(a);
}
END_TEST

static bool quarantined_after(const int64_t *quar, size_t nq,
			      const int64_t *rel, size_t nr, int64_t until,
			      int64_t at)
{
	struct blocklog_agg *a = blocklog_agg_new();
	struct blocklog_line l = line_at(0, "100.64.3.7");
	const struct blocklog_sub *s;
	size_t n;
	bool q;

	l.kind = BLOCKLOG_QUARANTINE;
	l.until = until;
	for (size_t i = 0; i < nq; i++) {
		l.ts_ms = quar[i];
		agg_add(a, &l);
	}
	l.kind = BLOCKLOG_RELEASE;
	for (size_t i = 0; i < nr; i++) {
		l.ts_ms = rel[i];
		agg_add(a, &l);
	}
	s = blocklog_agg_result(a, at, SIZE_MAX, &n);
	ck_assert_uint_eq(n, 1);
	q = s[0].quarantined;
	blocklog_agg_free(a);
	return q;
}

START_TEST(test_quarantined_means_no_later_release_and_not_expired)
{
	const int64_t q1[] = { 1000 }, q2[] = { 1000, 5000 };
	const int64_t r1[] = { 3000 };

	ck_assert(quarantined_after(q1, 1, NULL, 0, 100, 50));
	ck_assert(!quarantined_after(q1, 1, r1, 1, 100, 50));
	/* Released, then quarantined again. */
	ck_assert(quarantined_after(q2, 2, r1, 1, 100, 50));
	/* Its until passed before the end of the period read. */
	ck_assert(!quarantined_after(q1, 1, NULL, 0, 100, 100));
	ck_assert(!quarantined_after(NULL, 0, r1, 1, 100, 50));
}
END_TEST

START_TEST(test_top_distinct_is_exact_through_growth)
{
	struct blocklog_agg *a = blocklog_agg_new();
	const struct blocklog_sub *s;
	size_t n;

	/* 100,000 destinations for one subscriber, each twice, and 3,000
	 * subscribers with 3 each: every table grows many times. */
	for (int rep = 0; rep < 2; rep++) {
		for (uint32_t i = 0; i < 100000; i++) {
			struct blocklog_line l = line_at(i, "100.64.3.7");

			addr_from_v4(&l.dst, 0xcb000000u + i);
			agg_add(a, &l);
		}
		for (uint32_t i = 0; i < 3000 * 3; i++) {
			struct blocklog_line l = line_at(i, "100.64.3.7");

			addr_from_v4(&l.src, 0x64800000u + i / 3);
			addr_from_v4(&l.dst, 0xcb000000u + i % 3);
			agg_add(a, &l);
		}
	}
	for (uint32_t i = 0; i < 50000; i++) {
		struct blocklog_line l = line_at(i, "2001:db8:1::1");

		ck_assert_int_eq(addr_parse("2001:db8:2::", &l.dst), 0);
		memcpy(l.dst.b + 12, &i, 4);
		agg_add(a, &l);
	}
	s = blocklog_agg_result(a, 0, SIZE_MAX, &n);
	ck_assert_uint_eq(n, 3002);
	ck_assert_uint_eq(s[0].blocked, 200000);
	ck_assert_uint_eq(s[0].distinct, 100000);
	ck_assert_uint_eq(s[1].distinct, 50000);
	for (size_t i = 2; i < n; i++) {
		ck_assert_uint_eq(s[i].blocked, 6);
		ck_assert_uint_eq(s[i].distinct, 3);
	}
	blocklog_agg_free(a);
}
END_TEST

/* ---- subscriber ids and session lines ------------------------------------ */

#define T0 "2026-12-01T06:00:00.000Z"
#define SESSION(ts, sub, src, rest) "{\"ts\":\"" ts "\",\"event\":" \
	"\"session\",\"subscriber\":\"" sub "\",\"src\":\"" src "\"," rest "}"
#define BLOCK_OF(sub) "{\"ts\":\"" T0 "\",\"event\":\"block\",\"src\":" \
	"\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,\"action\":" \
	"\"reject\",\"profile\":\"residential\",\"prefix\":" \
	"\"100.64.0.0/10\",\"subscriber\":" sub "}"

static struct blocklog_event session_event(enum blocklog_session_state st)
{
	struct blocklog_event ev = event(BLOCKLOG_SESSION);

	ev.state = (uint8_t)st;
	strcpy(ev.subscriber, "cust-88412");
	strcpy(ev.source, "kea");
	return ev;
}

START_TEST(test_session_lines_read_back)
{
	struct blocklog_event ev = session_event(BLOCKLOG_SESSION_START);
	struct blocklog_line l;

	ev.until = 1796191200;
	roundtrip(&ev, 0, &l);
	ck_assert_int_eq(l.kind, BLOCKLOG_SESSION);
	ck_assert(l.has_src);
	assert_addr(&l.src, "100.64.3.7");
	ck_assert_uint_eq(l.src_len, 32);
	ck_assert_str_eq(l.prefix, "");
	ck_assert_int_eq(l.state, BLOCKLOG_SESSION_START);
	ck_assert_str_eq(l.subscriber, "cust-88412");
	ck_assert_str_eq(l.source, "kea");
	ck_assert_int_eq(l.until, 1796191200);

	ev.state = BLOCKLOG_SESSION_STOP;
	ev.reason = BLOCKLOG_SESSION_MOVED;
	strcpy(ev.subscriber, "cust-9");
	ev.source[0] = '\0';
	addr_parse("2001:db8:1:100::", &ev.src);
	ev.prefix_addr = ev.src;
	ev.prefix_len = 56;
	ev.prefix_set = true;
	roundtrip(&ev, 4, &l);
	ck_assert_int_eq(l.state, BLOCKLOG_SESSION_STOP);
	ck_assert_int_eq(l.end, BLOCKLOG_SESSION_MOVED);
	ck_assert(!l.has_reason);
	assert_addr(&l.src, "2001:db8:1:100::");
	ck_assert_uint_eq(l.src_len, 56);
	ck_assert_str_eq(l.prefix, "2001:db8:1:100::/56");
	ck_assert_str_eq(l.subscriber, "cust-9");
	ck_assert_str_eq(l.source, "");
	ck_assert_int_eq(l.until, 0);

	ev.reason = BLOCKLOG_SESSION_EXPIRED;
	ev.prefix_set = false;
	roundtrip(&ev, 0, &l);
	ck_assert_int_eq(l.end, BLOCKLOG_SESSION_EXPIRED);
	ck_assert_uint_eq(l.src_len, 128);
	/* Not the writer's, so ignored: a start's reason, a stop's until. */
	ck_assert_int_eq(parse(SESSION(T0, "c", "100.64.3.7",
				       "\"state\":\"start\",\"reason\":\"x\""),
			       &l), 0);
	ck_assert_int_eq(parse(SESSION(T0, "c", "100.64.3.7",
				       "\"state\":\"stop\",\"reason\":"
				       "\"stopped\",\"until\":\"never\""),
			       &l), 0);
	ck_assert_int_eq(l.until, 0);
}
END_TEST

/* Ids with " and \, the longest one, on every kind that names one. */
START_TEST(test_subscriber_reads_back_on_every_kind)
{
	static const enum blocklog_kind kinds[] = {
		BLOCKLOG_BLOCK, BLOCKLOG_SUMMARY, BLOCKLOG_QUARANTINE,
		BLOCKLOG_RELEASE, BLOCKLOG_DETECTION, BLOCKLOG_SESSION,
	};
	struct blocklog_event ev;
	struct blocklog_line l;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		ev = event(kinds[i]);
		addr_parse("203.0.113.9", &ev.dst);
		strcpy(ev.subscriber, "a\"b\\c d~");
		roundtrip(&ev, 1, &l);
		ck_assert_int_eq(l.kind, kinds[i]);
		ck_assert_str_eq(l.subscriber, "a\"b\\c d~");
		memset(ev.subscriber, '"', BLOCKLOG_SUBSCRIBER_MAX);
		ev.subscriber[BLOCKLOG_SUBSCRIBER_MAX] = '\0';
		roundtrip(&ev, 0, &l);
		ck_assert_str_eq(l.subscriber, ev.subscriber);
	}
}
END_TEST

/* The lines of before sessions read as they did: no subscriber. */
START_TEST(test_lines_without_subscriber_read_as_before)
{
	struct blocklog_line l;

	ck_assert_int_eq(parse("{\"ts\":\"" T0 "\",\"event\":\"block\",\"src\":"
			       "\"100.64.3.7\",\"dst\":\"203.0.113.9\","
			       "\"dport\":25,\"action\":\"reject\",\"profile\":"
			       "\"residential\",\"prefix\":\"100.64.0.0/10\"}",
			       &l), 0);
	ck_assert_str_eq(l.subscriber, "");
	ck_assert_str_eq(l.prefix, "100.64.0.0/10");
	ck_assert_uint_eq(l.src_len, 0);
	ck_assert_int_eq(parse("{\"ts\":\"" T0 "\",\"event\":\"release\","
			       "\"src\":\"100.64.3.7\"}", &l), 0);
	ck_assert_str_eq(l.subscriber, "");
	/* An except line's subscriber (rule 4's exceptions) is checked
	 * like any other. */
	ck_assert_int_eq(parse("{\"ts\":\"" T0 "\",\"event\":\"except\",\"op\":"
			       "\"add\",\"prefix\":\"100.64.12.0/28\","
			       "\"profile\":\"business\",\"subscriber\":1}",
			       &l), -1);
}
END_TEST

static const char *const bad_subscriber[] = {
	BLOCK_OF("\"\""),
	BLOCK_OF("\"" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		 "x" "\""),			/* 129 */
	BLOCK_OF("\"a\\u0001b\""),
	BLOCK_OF("\"a\\tb\""),
	BLOCK_OF("\"a\\u007f\""),
	BLOCK_OF("\"M\xc3\xbcller\""),
	BLOCK_OF("\"M\\u00fcller\""),
	BLOCK_OF("\" lead\""),
	BLOCK_OF("\"trail \""),
	BLOCK_OF("\"a\\u0000b\""),
	BLOCK_OF("88412"),
	BLOCK_OF("null"),
	/* session lines: a subscriber, a state and a stop's reason needed */
	"{\"ts\":\"" T0 "\",\"event\":\"session\",\"src\":\"100.64.3.7\","
	"\"state\":\"start\"}",
	SESSION(T0, "", "100.64.3.7", "\"state\":\"start\""),
	SESSION(T0, "a\\u001bb", "100.64.3.7", "\"state\":\"start\""),
	SESSION(T0, "c", "100.64.3.7", "\"source\":\"kea\""),
	SESSION(T0, "c", "100.64.3.7", "\"state\":\"renew\""),
	SESSION(T0, "c", "100.64.3.7", "\"state\":\"stop\""),
	SESSION(T0, "c", "100.64.3.7", "\"state\":\"stop\",\"reason\":\"manual\""),
	SESSION(T0, "c", "100.64.3.7", "\"state\":\"start\",\"until\":\"soon\""),
	SESSION(T0, "c", "100.64.3.7", "\"state\":\"start\",\"source\":7"),
	SESSION(T0, "c", "100.64.3.7", "\"state\":\"start\",\"source\":"
		"\"0123456789012345678901234567890123\""),
	"{\"ts\":\"" T0 "\",\"event\":\"session\",\"subscriber\":\"c\","
	"\"state\":\"start\"}",
	/* a prefix that is not src's own */
	SESSION(T0, "c", "2001:db8:1:100::", "\"prefix\":\"2001:db8:1:200::/56\","
		"\"state\":\"start\""),
	SESSION(T0, "c", "2001:db8:1:100::5", "\"prefix\":\"2001:db8:1:100::/56\","
		"\"state\":\"start\""),
	SESSION(T0, "c", "2001:db8:1:100::", "\"prefix\":\"2001:db8:1:100::5/56\","
		"\"state\":\"start\""),
	SESSION(T0, "c", "100.64.3.7", "\"prefix\":\"2001:db8:1:100::/56\","
		"\"state\":\"start\""),
	SESSION(T0, "c", "2001:db8:1:100::", "\"prefix\":\"banana\","
		"\"state\":\"start\""),
};

START_TEST(test_bad_subscribers_and_sessions_are_malformed)
{
	struct blocklog_line l;
	char id[BLOCKLOG_SUBSCRIBER_MAX + 1], line[512];

	for (size_t i = 0; i < sizeof(bad_subscriber) / sizeof(*bad_subscriber);
	     i++)
		ck_assert_msg(parse(bad_subscriber[i], &l) == -1,
			      "accepted: %s", bad_subscriber[i]);
	/* 128 characters are an id; and the good forms of the above. */
	memset(id, 'x', BLOCKLOG_SUBSCRIBER_MAX);
	id[BLOCKLOG_SUBSCRIBER_MAX] = '\0';
	snprintf(line, sizeof(line), BLOCK_OF("\"%s\""), id);
	ck_assert_int_eq(parse(line, &l), 0);
	ck_assert_str_eq(l.subscriber, id);
	ck_assert_int_eq(parse(BLOCK_OF("\"a\\u0020b\""), &l), 0);
	ck_assert_str_eq(l.subscriber, "a b");
	ck_assert_int_eq(parse(SESSION(T0, "c", "100.64.3.0", "\"prefix\":"
				       "\"100.64.3.0/24\",\"state\":\"start\""),
			       &l), 0);
	ck_assert_uint_eq(l.src_len, 24);
}
END_TEST

START_TEST(test_subscriber_filter)
{
	struct blocklog_filter f = { 0 };
	struct blocklog_line l = line_at(0, "100.64.3.7");
	char err[160];

	ck_assert_int_eq(blocklog_filter_subscriber(&f, "cust-9", err,
						    sizeof(err)), 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);
	strcpy(l.subscriber, "cust-9");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	strcpy(l.subscriber, "cust-99");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);
	l.kind = BLOCKLOG_SESSION;
	l.src_len = 32;
	strcpy(l.subscriber, "cust-9");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	/* With --src too: both must hold. */
	ck_assert_int_eq(blocklog_filter_src(&f, "100.64.4.0/24", err,
					     sizeof(err)), 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);
	l = (struct blocklog_line){ .kind = BLOCKLOG_EXCEPT };
	strcpy(l.prefix, "100.64.4.0/28");
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);

	ck_assert_int_eq(blocklog_filter_subscriber(&f, "", err, sizeof(err)),
			 -1);
	ck_assert_int_eq(blocklog_filter_subscriber(&f, "a\x01", err,
						    sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "'a?' is no subscriber id"));
}
END_TEST

/* --src and a session's prefix: they overlap either way round. */
START_TEST(test_src_filter_and_session_prefixes)
{
	struct blocklog_filter f = { 0 };
	struct blocklog_line l;
	char err[160];

	ck_assert_int_eq(parse(SESSION(T0, "c", "2001:db8:1:100::", "\"prefix\":"
				       "\"2001:db8:1:100::/56\",\"state\":"
				       "\"start\""), &l), 0);
	ck_assert_int_eq(blocklog_filter_src(&f, "2001:db8:1:1ff::5", err,
					     sizeof(err)), 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	ck_assert_int_eq(blocklog_filter_src(&f, "2001:db8::/32", err,
					     sizeof(err)), 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	ck_assert_int_eq(blocklog_filter_src(&f, "2001:db8:1:200::5", err,
					     sizeof(err)), 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);
	ck_assert_int_eq(parse(SESSION(T0, "c", "100.64.3.7",
				       "\"state\":\"start\""), &l), 0);
	ck_assert_int_eq(blocklog_filter_src(&f, "100.64.3.7", err,
					     sizeof(err)), 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 1);
	ck_assert_int_eq(blocklog_filter_src(&f, "100.64.3.8", err,
					     sizeof(err)), 0);
	ck_assert_int_eq(blocklog_filter_match(&f, &l), 0);
}
END_TEST

static void agg_sub(struct blocklog_agg *a, int64_t ts, const char *src,
		    const char *dst, const char *sub)
{
	struct blocklog_line l = line_at(ts, src);

	ck_assert_int_eq(addr_parse(dst, &l.dst), 0);
	strcpy(l.subscriber, sub);
	agg_add(a, &l);
}

START_TEST(test_top_counts_a_subscriber_over_its_addresses)
{
	struct blocklog_agg *a = blocklog_agg_new();
	struct blocklog_line l;
	const struct blocklog_sub *s;
	char name[200];
	size_t n;

	agg_sub(a, 1000, "100.64.3.7", "203.0.113.9", "cust-88412");
	agg_sub(a, 2000, "100.64.9.1", "203.0.113.9", "cust-88412");
	agg_sub(a, 3000, "2001:db8:1:2::5", "203.0.113.10", "cust-88412");
	agg_sub(a, 1500, "100.64.3.7", "203.0.113.11", "cust-9");
	/* Before its session, or without one: the address's row. */
	agg_block(a, 500, "100.64.3.7", "203.0.113.9");
	agg_block(a, 600, "2001:db8:1:2::6", "203.0.113.9");
	l = line_at(4000, "100.64.9.1");
	l.kind = BLOCKLOG_QUARANTINE;
	l.until = 99;
	strcpy(l.subscriber, "cust-88412");
	agg_add(a, &l);
	/* Session lines are no row: every subscriber would be one. */
	l = line_at(4500, "100.64.200.1");
	l.kind = BLOCKLOG_SESSION;
	strcpy(l.subscriber, "cust-1");
	agg_add(a, &l);

	s = blocklog_agg_result(a, 50, SIZE_MAX, &n);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(blocklog_agg_count(a), 4);
	ck_assert_str_eq(s[0].subscriber, "cust-88412");
	ck_assert_str_eq(blocklog_sub_name(&s[0], name, sizeof(name)),
			 "cust-88412");
	ck_assert_uint_eq(s[0].blocked, 3);
	ck_assert_uint_eq(s[0].distinct, 2);
	ck_assert_int_eq(s[0].first_ms, 1000);
	ck_assert_int_eq(s[0].last_ms, 4000);
	ck_assert(s[0].quarantined);
	assert_addr(&s[0].addr, "100.64.9.1");	/* its latest line's */
	/* Equal counts: ids first, then addresses, each in order. */
	ck_assert_str_eq(s[1].subscriber, "cust-9");
	ck_assert_ptr_null(s[2].subscriber);
	ck_assert_str_eq(blocklog_sub_name(&s[2], name, sizeof(name)),
			 "100.64.3.7");
	ck_assert_uint_eq(s[2].blocked, 1);
	ck_assert_str_eq(blocklog_sub_name(&s[3], name, sizeof(name)),
			 "2001:db8:1:2::/64");
	blocklog_agg_free(a);
}
END_TEST

START_TEST(test_top_many_subscribers_through_growth)
{
	struct blocklog_agg *a = blocklog_agg_new();
	const struct blocklog_sub *s;
	char id[BLOCKLOG_SUBSCRIBER_MAX + 1];
	size_t n;

	/* Long ids, many of them: chunks and index grow, ids stay put. */
	for (int rep = 0; rep < 2; rep++) {
		for (int i = 0; i < 5000; i++) {
			struct blocklog_line l = line_at(i, "100.64.3.7");

			snprintf(id, sizeof(id), "%0120d", i);
			strcpy(l.subscriber, id);
			addr_from_v4(&l.src, 0x64400000u + (uint32_t)rep);
			agg_add(a, &l);
		}
	}
	s = blocklog_agg_result(a, 0, SIZE_MAX, &n);
	ck_assert_uint_eq(n, 5000);
	for (size_t i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%0120zu", i);
		ck_assert_str_eq(s[i].subscriber, id);
		ck_assert_uint_eq(s[i].blocked, 2);
		ck_assert_uint_eq(s[i].distinct, 1);
	}
	blocklog_agg_free(a);
}
END_TEST

START_TEST(test_session_and_subscriber_format_for_people)
{
	struct blocklog_line l = line_at(TS_MS, "100.64.3.7");
	char buf[512];

	l.action = POLICY_REJECT;
	strcpy(l.profile, "residential");
	strcpy(l.prefix, "100.64.0.0/10");
	strcpy(l.subscriber, "cust-88412");
	ck_assert_str_eq(blocklog_line_format(&l, buf, sizeof(buf)),
		"2026-11-28T01:23:45.123Z  block       100.64.3.7 → "
		"203.0.113.9:25  reject  residential  100.64.0.0/10  "
		"subscriber cust-88412");
	ck_assert_int_eq(parse(SESSION(T0, "cust-88412", "100.64.3.7",
				       "\"state\":\"start\",\"source\":\"kea\","
				       "\"until\":\"2026-12-02T06:00:00Z\""),
			       &l), 0);
	ck_assert_str_eq(blocklog_line_format(&l, buf, sizeof(buf)),
		T0 "  session     100.64.3.7  start  cust-88412  from kea  "
		"expires 2026-12-02T06:00:00Z");
	ck_assert_int_eq(parse(SESSION(T0, "cust-9", "2001:db8:1:100::",
				       "\"prefix\":\"2001:db8:1:100::/56\","
				       "\"state\":\"stop\",\"reason\":\"moved\","
				       "\"source\":\"radius\",\"lost\":2"), &l),
			 0);
	ck_assert_str_eq(blocklog_line_format(&l, buf, sizeof(buf)),
		T0 "  session     2001:db8:1:100::/56  stop (moved)  cust-9  "
		"from radius  [2 lines lost before this]");
}
END_TEST

/* ---- who held an address at a time --------------------------------------- */

#define H(min) "2026-12-01T06:" #min ":00.000Z"
#define AT(min) (1796104800000LL + (min) * 60000LL)	/* H(min) */

struct held_case {
	struct blocklog_held *h;
	struct blocklog_held_result r;
};

/* The query: --src src --at H(min). */
static void held_open(struct held_case *c, const char *src, int min)
{
	struct blocklog_filter f = { 0 };
	char err[160];

	ck_assert_int_eq(blocklog_filter_src(&f, src, err, sizeof(err)), 0);
	c->h = blocklog_held_new(&f.src, f.src_len, AT(min));
	ck_assert_ptr_nonnull(c->h);
}

static void held_line(struct held_case *c, const char *text)
{
	struct blocklog_line l;

	ck_assert_msg(parse(text, &l) == 0, "%s", text);
	ck_assert_int_eq(blocklog_held_add(c->h, &l), 0);
}

/* The answer for the lines given, at minute min. */
static int held_at(const char *src, int min, const char *const *lines,
		   size_t n, struct blocklog_held_result *r)
{
	struct held_case c;
	int got;

	held_open(&c, src, min);
	for (size_t i = 0; i < n; i++)
		held_line(&c, lines[i]);
	got = blocklog_held_result(c.h, r);
	blocklog_held_free(c.h);
	return got;
}

#define START4(min, sub, rest) SESSION(H(min), sub, "100.64.3.7", \
	"\"state\":\"start\"" rest)
#define STOP4(min, sub, why) SESSION(H(min), sub, "100.64.3.7", \
	"\"state\":\"stop\",\"reason\":\"" why "\"")
#define N(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(test_held_start_without_stop_is_still_held)
{
	static const char *const lines[] = {
		START4(10, "cust-1", ",\"source\":\"kea\",\"until\":"
		       "\"2026-12-01T06:20:00Z\""),
		/* Other addresses' sessions are not kept. */
		SESSION(H(11), "cust-2", "100.64.3.8", "\"state\":\"start\""),
	};
	struct blocklog_held_result r;

	ck_assert_int_eq(held_at("100.64.3.7", 30, lines, N(lines), &r), 1);
	ck_assert_uint_eq(r.lines, 1);
	ck_assert_str_eq(r.holder.subscriber, "cust-1");
	ck_assert_str_eq(r.holder.source, "kea");
	ck_assert_int_eq(r.holder.since_ms, AT(10));
	ck_assert(!r.holder.ended);
	/* Past its written expiry: renewals are not written, no stop came. */
	ck_assert_int_eq(r.holder.expires * 1000, AT(20));
	ck_assert_uint_eq(r.holder.src_len, 32);
	/* A start at T holds at T; before it, none. */
	ck_assert_int_eq(held_at("100.64.3.7", 10, lines, N(lines), &r), 1);
	ck_assert_int_eq(held_at("100.64.3.7", 9, lines, N(lines), &r), 0);
	ck_assert(!r.has_prev);
	ck_assert(r.has_next);
	ck_assert_str_eq(r.next_subscriber, "cust-1");
	ck_assert_int_eq(r.next_ms, AT(10));
	ck_assert_int_eq(held_at("100.64.3.8", 30, lines, 1, &r), 0);
	ck_assert_uint_eq(r.lines, 0);
}
END_TEST

START_TEST(test_held_moved_to_another_subscriber)
{
	static const char *const lines[] = {
		START4(10, "cust-1", ""),
		STOP4(20, "cust-1", "moved"),
		START4(20, "cust-2", ",\"source\":\"radius\""),
	};
	struct blocklog_held_result r;

	ck_assert_int_eq(held_at("100.64.3.7", 15, lines, N(lines), &r), 1);
	ck_assert_str_eq(r.holder.subscriber, "cust-1");
	ck_assert(r.holder.ended && !r.holder.taken_over);
	ck_assert_int_eq(r.holder.end, BLOCKLOG_SESSION_MOVED);
	ck_assert_int_eq(r.holder.end_ms, AT(20));
	/* At the stop's own time, the next holder. */
	ck_assert_int_eq(held_at("100.64.3.7", 20, lines, N(lines), &r), 1);
	ck_assert_str_eq(r.holder.subscriber, "cust-2");
	ck_assert_str_eq(r.holder.source, "radius");
	ck_assert_int_eq(r.holder.since_ms, AT(20));
	ck_assert(!r.holder.ended);
	ck_assert_uint_eq(r.lines, 3);
}
END_TEST

START_TEST(test_held_expired_then_none_then_another)
{
	static const char *const lines[] = {
		START4(10, "cust-1", ""),
		STOP4(20, "cust-1", "expired"),
		START4(40, "cust-3", ""),
	};
	struct blocklog_held_result r;

	ck_assert_int_eq(held_at("100.64.3.7", 30, lines, N(lines), &r), 0);
	ck_assert(r.has_prev);
	ck_assert_str_eq(r.prev.subscriber, "cust-1");
	ck_assert_int_eq(r.prev.end, BLOCKLOG_SESSION_EXPIRED);
	ck_assert_int_eq(r.prev.end_ms, AT(20));
	ck_assert(r.has_next);
	ck_assert_str_eq(r.next_subscriber, "cust-3");
	ck_assert_int_eq(r.next_ms, AT(40));
	ck_assert_int_eq(held_at("100.64.3.7", 50, lines, N(lines), &r), 1);
	ck_assert_str_eq(r.holder.subscriber, "cust-3");
}
END_TEST

/* A start after a start for the same subscriber and address: the daemon
 * restarted, the session goes on from the first. */
START_TEST(test_held_start_again_is_a_restart_not_a_new_session)
{
	static const char *const lines[] = {
		START4(10, "cust-1", ",\"until\":\"2026-12-01T07:00:00Z\""),
		START4(30, "cust-1", ",\"source\":\"cli\",\"until\":"
		       "\"2026-12-01T08:00:00Z\""),
		STOP4(50, "cust-1", "stopped"),
	};
	struct blocklog_held_result r;

	ck_assert_int_eq(held_at("100.64.3.7", 20, lines, N(lines), &r), 1);
	ck_assert_int_eq(r.holder.since_ms, AT(10));
	ck_assert_uint_eq(r.holder.restarts, 1);
	ck_assert_str_eq(r.holder.source, "cli");
	ck_assert_int_eq(r.holder.expires, 1796112000);
	ck_assert(r.holder.ended);
	ck_assert_int_eq(r.holder.end, BLOCKLOG_SESSION_STOPPED);
	ck_assert_int_eq(r.holder.end_ms, AT(50));
	ck_assert_int_eq(held_at("100.64.3.7", 40, lines, N(lines), &r), 1);
	ck_assert_int_eq(r.holder.since_ms, AT(10));
}
END_TEST

/* Another subscriber's start without a stop before it (a lost line): the
 * first session ended there. A stop whose start was rotated away: held
 * since before the log. */
START_TEST(test_held_lost_stop_and_rotated_start)
{
	static const char *const taken[] = {
		START4(10, "cust-1", ""),
		START4(20, "cust-2", ""),
		STOP4(25, "cust-1", "moved"),	/* late: not cust-2's */
	};
	static const char *const orphan[] = {
		STOP4(20, "cust-1", "stopped"),
		START4(30, "cust-2", ""),
	};
	struct blocklog_held_result r;

	ck_assert_int_eq(held_at("100.64.3.7", 15, taken, N(taken), &r), 1);
	ck_assert_str_eq(r.holder.subscriber, "cust-1");
	ck_assert(r.holder.ended && r.holder.taken_over);
	ck_assert_int_eq(r.holder.end_ms, AT(20));
	ck_assert_int_eq(held_at("100.64.3.7", 27, taken, N(taken), &r), 1);
	ck_assert_str_eq(r.holder.subscriber, "cust-2");
	ck_assert(!r.holder.ended);

	ck_assert_int_eq(held_at("100.64.3.7", 10, orphan, N(orphan), &r), 1);
	ck_assert_str_eq(r.holder.subscriber, "cust-1");
	ck_assert_int_eq(r.holder.since_ms, INT64_MIN);
	ck_assert_int_eq(r.holder.end_ms, AT(20));
	ck_assert_int_eq(held_at("100.64.3.7", 25, orphan, N(orphan), &r), 0);
	ck_assert(!r.has_prev);
	ck_assert_str_eq(r.next_subscriber, "cust-2");
}
END_TEST

/* An IPv6 address is held by the prefix holding it; lines in any order. */
START_TEST(test_held_ipv6_prefix_and_any_order)
{
	static const char *const lines[] = {
		SESSION(H(40), "cust-9", "2001:db8:1:100::", "\"prefix\":"
			"\"2001:db8:1:100::/56\",\"state\":\"stop\","
			"\"reason\":\"moved\",\"source\":\"radius\""),
		SESSION(H(10), "cust-9", "2001:db8:1:100::", "\"prefix\":"
			"\"2001:db8:1:100::/56\",\"state\":\"start\","
			"\"source\":\"radius\""),
		SESSION(H(10), "cust-7", "2001:db8:1:200::", "\"prefix\":"
			"\"2001:db8:1:200::/56\",\"state\":\"start\""),
	};
	struct blocklog_held_result r;

	ck_assert_int_eq(held_at("2001:db8:1:1ff::5", 20, lines, N(lines), &r),
			 1);
	ck_assert_uint_eq(r.lines, 2);
	ck_assert_str_eq(r.holder.subscriber, "cust-9");
	assert_addr(&r.holder.src, "2001:db8:1:100::");
	ck_assert_uint_eq(r.holder.src_len, 56);
	ck_assert_int_eq(r.holder.end_ms, AT(40));
	/* The prefix itself, or a part of it; not a wider one. */
	ck_assert_int_eq(held_at("2001:db8:1:100::/56", 20, lines, N(lines),
				 &r), 1);
	ck_assert_int_eq(held_at("2001:db8:1:140::/58", 20, lines, N(lines),
				 &r), 1);
	ck_assert_int_eq(held_at("2001:db8:1::/48", 20, lines, N(lines), &r),
			 0);
	ck_assert_uint_eq(r.lines, 0);
	ck_assert_int_eq(held_at("2001:db8:1:2ff::1", 20, lines, N(lines), &r),
			 1);
	ck_assert_str_eq(r.holder.subscriber, "cust-7");
}
END_TEST

static char tmpdir[64];

static void tmp_setup(void)
{
	setup();
	strcpy(tmpdir, "/tmp/portcullis-blocklog-read-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	teardown();
}

static void write_file(const char *name, const char *text, bool gz)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (gz) {
		gzFile g = gzopen(path, "wb");

		ck_assert_ptr_nonnull(g);
		ck_assert_int_eq(gzwrite(g, text, (unsigned)strlen(text)),
				 (int)strlen(text));
		ck_assert_int_eq(gzclose(g), Z_OK);
	} else {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs(text, f);
		fclose(f);
	}
}

#define RELEASE(sec) "{\"ts\":\"2026-11-28T01:23:" #sec ".000Z\"," \
	"\"event\":\"release\",\"src\":\"100.64.3.7\"}"

/* Read path; count lines, lines that parse, malformed ones. */
static int scan(const char *name, size_t *good, size_t *bad)
{
	struct blocklog_reader *r;
	struct blocklog_line l;
	const char *line;
	char path[128];
	size_t len;
	bool too_long;
	int got;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	r = blocklog_reader_open(path);
	ck_assert_ptr_nonnull(r);
	*good = *bad = 0;
	while ((got = blocklog_reader_next(r, &line, &len, &too_long)) > 0) {
		if (too_long || blocklog_line_parse(parser, line, len, &l) < 0)
			(*bad)++;
		else
			(*good)++;
	}
	blocklog_reader_close(r);
	return got;
}

START_TEST(test_plain_and_gzip_lines_malformed_counted)
{
	size_t good, bad, big = 70 * 1024;
	char *text = malloc(big + 1024);

	strcpy(text, RELEASE(01) "\n" "garbage\n" RELEASE(02) "\n\n{\"ts\":");
	write_file("plain", text, false);
	ck_assert_int_eq(scan("plain", &good, &bad), 0);
	ck_assert_uint_eq(good, 2);
	ck_assert_uint_eq(bad, 3);	/* garbage, empty, the cut last line */

	write_file("packed.gz", text, true);
	ck_assert_int_eq(scan("packed.gz", &good, &bad), 0);
	ck_assert_uint_eq(good, 2);
	ck_assert_uint_eq(bad, 3);

	/* A line too long to hold is one malformed line, not a stop. */
	strcpy(text, RELEASE(01) "\n{\"ts\":\"");
	memset(text + strlen(text), 'x', big);
	strcpy(text + strlen(RELEASE(01)) + 8 + big, "\"}\n" RELEASE(03)
	       "\n");
	write_file("long", text, false);
	ck_assert_int_eq(scan("long", &good, &bad), 0);
	ck_assert_uint_eq(good, 2);
	ck_assert_uint_eq(bad, 1);
	/* ... also when it runs to the end of the file. */
	text[strlen(RELEASE(01)) + 8 + big] = '\0';
	write_file("long_end", text, false);
	ck_assert_int_eq(scan("long_end", &good, &bad), 0);
	ck_assert_uint_eq(good, 1);
	ck_assert_uint_eq(bad, 1);
	free(text);
}
END_TEST

START_TEST(test_truncated_gzip_is_a_read_error_after_its_lines)
{
	char path[128], cut[128];
	size_t good, bad;
	struct stat st;
	char text[4096] = "";

	for (int i = 0; i < 40; i++)
		strcat(text, RELEASE(09) "\n");
	write_file("whole.gz", text, true);
	snprintf(path, sizeof(path), "%s/whole.gz", tmpdir);
	snprintf(cut, sizeof(cut), "%s/cut.gz", tmpdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(link(path, cut), 0);
	ck_assert_int_eq(truncate(cut, st.st_size - 12), 0);
	/* The lines before the cut are read, the cut one is malformed. */
	ck_assert_int_eq(scan("cut.gz", &good, &bad), -1);
	ck_assert_uint_ge(good, 1);
	ck_assert_uint_le(good + bad, 40);
}
END_TEST

START_TEST(test_rotations_are_found_oldest_first)
{
	struct blocklog_files f = { 0 };
	static const char *const want[] = {
		"blocks.jsonl.10.gz", "blocks.jsonl.2.gz", "blocks.jsonl.1",
		"blocks.jsonl",
	};
	char path[128];

	write_file("blocks.jsonl", "", false);
	write_file("blocks.jsonl.1", "", false);
	write_file("blocks.jsonl.2.gz", "", true);
	write_file("blocks.jsonl.10.gz", "", true);
	write_file("blocks.jsonl.old", "", false);
	write_file("blocks.jsonlx", "", false);
	write_file("notes.txt", "", false);
	snprintf(path, sizeof(path), "%s/blocks.jsonl", tmpdir);

	ck_assert_int_eq(blocklog_files_expand(path, true, &f), 0);
	ck_assert_uint_eq(f.count, 4);
	for (size_t i = 0; i < 4; i++)
		ck_assert_str_eq(strrchr(f.path[i], '/') + 1, want[i]);
	blocklog_files_free(&f);

	/* A folder: the same, for each log in it. */
	ck_assert_int_eq(blocklog_files_expand(tmpdir, false, &f), 0);
	ck_assert_uint_eq(f.count, 4);
	ck_assert_str_eq(strrchr(f.path[3], '/') + 1, "blocks.jsonl");
	blocklog_files_free(&f);

	/* A file named alone is read alone. */
	ck_assert_int_eq(blocklog_files_expand(path, false, &f), 0);
	ck_assert_uint_eq(f.count, 1);
	blocklog_files_free(&f);

	snprintf(path, sizeof(path), "%s/none.jsonl", tmpdir);
	ck_assert_int_eq(blocklog_files_expand(path, true, &f), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(f.count, 0);
}
END_TEST

/* --at reads rotations as the rest of portcullis log: the start in an
 * old gzip rotation, the stop in the live file. */
START_TEST(test_held_across_a_gzip_rotation)
{
	struct blocklog_files f = { 0 };
	struct blocklog_held_result r;
	struct blocklog_held *h;
	struct blocklog_line l;
	struct addr a;
	char path[128];

	write_file("blocks.jsonl.2.gz",
		   START4(10, "cust-1", ",\"source\":\"kea\"") "\n"
		   BLOCK_OF("\"cust-1\"") "\n", true);
	write_file("blocks.jsonl.1", START4(20, "cust-1", "") "\n", false);
	write_file("blocks.jsonl", STOP4(30, "cust-1", "moved") "\n"
		   START4(30, "cust-2", "") "\n", false);
	snprintf(path, sizeof(path), "%s/blocks.jsonl", tmpdir);
	ck_assert_int_eq(blocklog_files_expand(path, true, &f), 0);
	ck_assert_uint_eq(f.count, 3);
	addr_parse("100.64.3.7", &a);
	h = blocklog_held_new(&a, 128, AT(25));
	ck_assert_ptr_nonnull(h);
	for (size_t i = 0; i < f.count; i++) {
		struct blocklog_reader *rd = blocklog_reader_open(f.path[i]);
		const char *line;
		size_t len;
		bool too_long;

		ck_assert_ptr_nonnull(rd);
		while (blocklog_reader_next(rd, &line, &len, &too_long) > 0) {
			ck_assert_int_eq(blocklog_line_parse(parser, line, len,
							     &l), 0);
			ck_assert_int_eq(blocklog_held_add(h, &l), 0);
		}
		blocklog_reader_close(rd);
	}
	ck_assert_int_eq(blocklog_held_result(h, &r), 1);
	ck_assert_uint_eq(r.lines, 4);
	ck_assert_str_eq(r.holder.subscriber, "cust-1");
	ck_assert_str_eq(r.holder.source, "kea");
	ck_assert_int_eq(r.holder.since_ms, AT(10));
	ck_assert_uint_eq(r.holder.restarts, 1);
	ck_assert_int_eq(r.holder.end, BLOCKLOG_SESSION_MOVED);
	ck_assert_int_eq(r.holder.end_ms, AT(30));
	blocklog_held_free(h);
	blocklog_files_free(&f);
}
END_TEST

START_TEST(test_timeline_in_time_order_ties_as_read)
{
	struct blocklog_timeline *t = blocklog_timeline_new();
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_int_eq(blocklog_timeline_add(t, 30, "c", 1), 0);
	ck_assert_int_eq(blocklog_timeline_add(t, 10, "a1", 2), 0);
	ck_assert_int_eq(blocklog_timeline_add(t, 20, "b", 1), 0);
	ck_assert_int_eq(blocklog_timeline_add(t, 10, "a2", 2), 0);
	ck_assert_uint_eq(blocklog_timeline_print(t, f), 4);
	fclose(f);
	ck_assert_str_eq(buf, "a1\na2\nb\nc\n");
	free(buf);
	blocklog_timeline_free(t);
}
END_TEST

START_TEST(test_line_format_for_people)
{
	struct blocklog_line l = line_at(TS_MS, "100.64.3.7");
	char buf[512];

	l.action = POLICY_REJECT;
	strcpy(l.profile, "residential");
	strcpy(l.prefix, "100.64.0.0/10");
	ck_assert_str_eq(blocklog_line_format(&l, buf, sizeof(buf)),
		"2026-11-28T01:23:45.123Z  block       100.64.3.7 → "
		"203.0.113.9:25  reject  residential  100.64.0.0/10");
	l.kind = BLOCKLOG_QUARANTINE;
	l.until = 1795832625;
	l.count = 812;
	l.distinct = 377;
	l.lost = 4;
	ck_assert_str_eq(blocklog_line_format(&l, buf, sizeof(buf)),
		"2026-11-28T01:23:45.123Z  quarantine  100.64.3.7  "
		"quarantined until 2026-11-28T02:23:45Z (812 SYNs to 377 "
		"destinations)  [4 lines lost before this]");
}
END_TEST

Suite *blocklog_read_suite(void)
{
	Suite *s = suite_create("blocklog_read");
	TCase *tc = tcase_create("blocklog_read");
	TCase *files = tcase_create("blocklog_files");
	TCase *sessions = tcase_create("blocklog_sessions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_block_line_reads_back_every_field);
	tcase_add_test(tc, test_monitor_ipv6_block_with_lost_reads_back);
	tcase_add_test(tc, test_summary_detection_quarantine_release_read_back);
	tcase_add_test(tc, test_except_line_reads_back_without_src);
	tcase_add_test(tc, test_except_note_reads_back_byte_for_byte);
	tcase_add_test(tc, test_cut_surrogate_does_not_reach_the_next_line);
	tcase_add_test(tc, test_crlf_blanks_and_unknown_fields_are_fine);
	tcase_add_test(tc, test_malformed_lines_are_refused);
	tcase_add_test(tc, test_non_utf8_string_is_malformed_writer_output_is_not);
	tcase_add_test(tc, test_fallback_line_reads_back);
	tcase_add_test(tc, test_gateway_reads_back_and_is_checked);
	tcase_add_test(tc, test_nul_in_line_or_string_is_malformed);
	tcase_add_test(tc, test_time_parse_relative_and_rfc3339);
	tcase_add_test(tc, test_since_is_inclusive_until_exclusive);
	tcase_add_test(tc, test_src_prefix_ipv4_and_ipv6);
	tcase_add_test(tc, test_top_counts_blocks_summaries_and_exact_destinations);
	tcase_add_test(tc, test_quarantined_means_no_later_release_and_not_expired);
	tcase_add_test(tc, test_top_distinct_is_exact_through_growth);
	tcase_add_test(tc, test_timeline_in_time_order_ties_as_read);
	tcase_add_test(tc, test_line_format_for_people);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(files, tmp_setup, tmp_teardown);
	tcase_add_test(files, test_plain_and_gzip_lines_malformed_counted);
	tcase_add_test(files, test_truncated_gzip_is_a_read_error_after_its_lines);
	tcase_add_test(files, test_rotations_are_found_oldest_first);
	tcase_add_test(files, test_held_across_a_gzip_rotation);
	suite_add_tcase(s, files);

	tcase_add_checked_fixture(sessions, setup, teardown);
	tcase_add_test(sessions, test_session_lines_read_back);
	tcase_add_test(sessions, test_subscriber_reads_back_on_every_kind);
	tcase_add_test(sessions, test_lines_without_subscriber_read_as_before);
	tcase_add_test(sessions, test_bad_subscribers_and_sessions_are_malformed);
	tcase_add_test(sessions, test_subscriber_filter);
	tcase_add_test(sessions, test_src_filter_and_session_prefixes);
	tcase_add_test(sessions, test_top_counts_a_subscriber_over_its_addresses);
	tcase_add_test(sessions, test_top_many_subscribers_through_growth);
	tcase_add_test(sessions, test_session_and_subscriber_format_for_people);
	tcase_add_test(sessions, test_held_start_without_stop_is_still_held);
	tcase_add_test(sessions, test_held_moved_to_another_subscriber);
	tcase_add_test(sessions, test_held_expired_then_none_then_another);
	tcase_add_test(sessions, test_held_start_again_is_a_restart_not_a_new_session);
	tcase_add_test(sessions, test_held_lost_stop_and_rotated_start);
	tcase_add_test(sessions, test_held_ipv6_prefix_and_any_order);
	suite_add_tcase(s, sessions);
	return s;
}
