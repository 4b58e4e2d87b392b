// SPDX-License-Identifier: GPL-2.0-or-later
/* The block log: exact lines (sessions and subscriber ids too), losses
 * counted and said, a full disk. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blocklog/blocklog.h"
#include "common/utf8.h"
#include "tests/suites.h"

static struct blocklog_event block_event(void)
{
	struct blocklog_event ev = {
		.kind = BLOCKLOG_BLOCK,
		.action = POLICY_REJECT,
		.dport = 25,
		.ts_ms = 1795829025123LL,	/* 2026-11-28T01:23:45.123Z */
	};

	addr_parse("100.64.3.7", &ev.src);
	addr_parse("203.0.113.9", &ev.dst);
	strcpy(ev.profile, "residential");
	strcpy(ev.prefix, "100.64.0.0/10");
	return ev;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(test_block_line_has_design_fields_in_order)
{
	struct blocklog_event ev = block_event();
	char line[1024];

	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\","
		"\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,"
		"\"action\":\"reject\",\"profile\":\"residential\","
		"\"prefix\":\"100.64.0.0/10\"}\n");
}
END_TEST

START_TEST(test_monitor_block_says_mode_and_ipv6_is_plain)
{
	struct blocklog_event ev = block_event();
	char line[1024];

	ev.monitor = true;
	addr_parse("2001:db8:1::2", &ev.src);
	addr_parse("2001:db8:2::2", &ev.dst);
	strcpy(ev.prefix, "2001:db8:1::/48");
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "\"src\":\"2001:db8:1::2\","
				     "\"dst\":\"2001:db8:2::2\""));
	ck_assert_ptr_nonnull(strstr(line, ",\"mode\":\"monitor\"}\n"));
}
END_TEST

START_TEST(test_strings_are_json_escaped)
{
	struct blocklog_event ev = block_event();
	char line[1024];

	strcpy(ev.profile, "a\"b\\c\n");
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line,
				     "\"profile\":\"a\\\"b\\\\c\\u000a\""));
}
END_TEST

START_TEST(test_subscriber_events_have_design_shapes)
{
	struct blocklog_event ev = block_event();
	char line[1024];

	ev.kind = BLOCKLOG_SUMMARY;
	ev.count = 4512;
	ev.distinct = 1203;
	ev.window_s = 60;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"summary\","
		"\"src\":\"100.64.3.7\",\"blocked\":4512,"
		"\"distinct_destinations\":1203,\"window_s\":60}\n");
	/* What the kernel's quarantine rule blocked: a part of "blocked",
	 * as DESIGN.md shows it. */
	ev.kernel = 3980;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"summary\","
		"\"src\":\"100.64.3.7\",\"blocked\":4512,\"kernel\":3980,"
		"\"distinct_destinations\":1203,\"window_s\":60}\n");
	ev.kernel = 0;
	ev.kind = BLOCKLOG_QUARANTINE;
	ev.count = 812;
	ev.distinct = 377;
	ev.until = 1795832625;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"quarantine\","
		"\"src\":\"100.64.3.7\",\"until\":\"2026-11-28T02:23:45Z\","
		"\"syns\":812,\"distinct_destinations\":377}\n");
	ev.kind = BLOCKLOG_RELEASE;
	ev.reason = BLOCKLOG_RELEASE_MANUAL;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"release\","
		"\"src\":\"100.64.3.7\",\"reason\":\"manual\"}\n");
	ev.reason = BLOCKLOG_RELEASE_EXPIRED;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, ",\"reason\":\"expired\"}\n"));
}
END_TEST

static struct blocklog_event session_event(void)
{
	struct blocklog_event ev = {
		.kind = BLOCKLOG_SESSION,
		.state = BLOCKLOG_SESSION_START,
		.ts_ms = 1795829025123LL,	/* 2026-11-28T01:23:45.123Z */
		.until = 1796191200,		/* 2026-12-02T06:00:00Z */
	};

	addr_parse("100.64.3.7", &ev.src);
	strcpy(ev.subscriber, "cust-88412");
	strcpy(ev.source, "kea");
	return ev;
}

START_TEST(test_session_lines_have_the_contract_shapes)
{
	struct blocklog_event ev = session_event();
	char line[1024];

	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"session\","
		"\"subscriber\":\"cust-88412\",\"src\":\"100.64.3.7\","
		"\"state\":\"start\",\"source\":\"kea\","
		"\"until\":\"2026-12-02T06:00:00Z\"}\n");

	/* A stop of an IPv6 prefix: the prefix made from its address, the
	 * reason; no until even if one is left in the event. */
	ev.state = BLOCKLOG_SESSION_STOP;
	ev.reason = BLOCKLOG_SESSION_MOVED;
	strcpy(ev.subscriber, "cust-9");
	strcpy(ev.source, "radius");
	addr_parse("2001:db8:1:100::", &ev.src);
	addr_parse("2001:db8:1:100::", &ev.prefix_addr);
	ev.prefix_len = 56;
	ev.prefix_set = true;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"session\","
		"\"subscriber\":\"cust-9\",\"src\":\"2001:db8:1:100::\","
		"\"prefix\":\"2001:db8:1:100::/56\",\"state\":\"stop\","
		"\"reason\":\"moved\",\"source\":\"radius\"}\n");

	/* No source, no expiry, a loss said: each field only when set. */
	ev = session_event();
	ev.source[0] = '\0';
	ev.until = 0;
	ck_assert_int_gt(blocklog_format(&ev, 2, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"session\","
		"\"subscriber\":\"cust-88412\",\"src\":\"100.64.3.7\","
		"\"state\":\"start\",\"lost\":2}\n");
	ev.state = BLOCKLOG_SESSION_STOP;
	ev.reason = BLOCKLOG_SESSION_EXPIRED;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"session\","
		"\"subscriber\":\"cust-88412\",\"src\":\"100.64.3.7\","
		"\"state\":\"stop\",\"reason\":\"expired\"}\n");
	ev.reason = BLOCKLOG_SESSION_STOPPED;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, ",\"reason\":\"stopped\"}\n"));
}
END_TEST

/* The subscriber comes after each event's own fields, before "lost". */
START_TEST(test_subscriber_follows_the_fields_of_every_kind)
{
	struct blocklog_event ev = block_event();
	char line[1024];

	strcpy(ev.subscriber, "cust-88412");
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"block\","
		"\"src\":\"100.64.3.7\",\"dst\":\"203.0.113.9\",\"dport\":25,"
		"\"action\":\"reject\",\"profile\":\"residential\","
		"\"prefix\":\"100.64.0.0/10\",\"subscriber\":\"cust-88412\"}\n");
	ev.monitor = true;
	ck_assert_int_gt(blocklog_format(&ev, 3, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, ",\"mode\":\"monitor\","
				     "\"subscriber\":\"cust-88412\","
				     "\"lost\":3}\n"));
	ev.kind = BLOCKLOG_SUMMARY;
	ev.count = 4512;
	ev.kernel = 3980;
	ev.distinct = 1203;
	ev.window_s = 60;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"summary\","
		"\"src\":\"100.64.3.7\",\"blocked\":4512,\"kernel\":3980,"
		"\"distinct_destinations\":1203,\"window_s\":60,"
		"\"subscriber\":\"cust-88412\"}\n");
	ev.kind = BLOCKLOG_DETECTION;
	ev.count = 812;
	ev.distinct = 377;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"detection\","
		"\"src\":\"100.64.3.7\",\"syns\":812,"
		"\"distinct_destinations\":377,\"window_s\":60,"
		"\"subscriber\":\"cust-88412\"}\n");
	ev.kind = BLOCKLOG_QUARANTINE;
	ev.until = 1795832625;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"quarantine\","
		"\"src\":\"100.64.3.7\",\"until\":\"2026-11-28T02:23:45Z\","
		"\"syns\":812,\"distinct_destinations\":377,"
		"\"subscriber\":\"cust-88412\"}\n");
	ev.kind = BLOCKLOG_RELEASE;
	ev.reason = BLOCKLOG_RELEASE_MANUAL;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"release\","
		"\"src\":\"100.64.3.7\",\"reason\":\"manual\","
		"\"subscriber\":\"cust-88412\"}\n");
}
END_TEST

/* A subscriber id may hold " and \ (a RADIUS User-Name may): escaped,
 * the longest one whole, and a buffer too short for it refused. */
START_TEST(test_subscriber_id_is_json_escaped)
{
	struct blocklog_event ev = block_event();
	char line[1024];
	int n;

	strcpy(ev.subscriber, "a\"b\\c d");
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, ",\"subscriber\":\"a\\\"b\\\\c d\"}"
				     "\n"));
	ev = session_event();
	strcpy(ev.subscriber, "\"\\");
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "\"event\":\"session\","
				     "\"subscriber\":\"\\\"\\\\\",\"src\""));
	memset(ev.subscriber, '\\', BLOCKLOG_SUBSCRIBER_MAX);
	ev.subscriber[BLOCKLOG_SUBSCRIBER_MAX] = '\0';
	n = blocklog_format(&ev, 0, line, sizeof(line));
	ck_assert_int_gt(n, 2 * BLOCKLOG_SUBSCRIBER_MAX);
	ck_assert_int_eq(blocklog_format(&ev, 0, line, (size_t)n), -1);
	ck_assert_int_eq(blocklog_format(&ev, 0, line, (size_t)n + 1), n);
}
END_TEST

START_TEST(test_subscriber_id_rule)
{
	char id[BLOCKLOG_SUBSCRIBER_MAX + 2];

	ck_assert(blocklog_subscriber_valid("cust-88412"));
	ck_assert(blocklog_subscriber_valid("a b\"c\\~"));
	ck_assert(blocklog_subscriber_valid("x"));
	ck_assert(!blocklog_subscriber_valid(""));
	ck_assert(!blocklog_subscriber_valid(" x"));
	ck_assert(!blocklog_subscriber_valid("x "));
	ck_assert(!blocklog_subscriber_valid("a\tb"));
	ck_assert(!blocklog_subscriber_valid("a\x7f"));
	ck_assert(!blocklog_subscriber_valid("M\xc3\xbcller"));
	memset(id, 'x', sizeof(id));
	id[BLOCKLOG_SUBSCRIBER_MAX] = '\0';
	ck_assert(blocklog_subscriber_valid(id));
	id[BLOCKLOG_SUBSCRIBER_MAX] = 'x';
	id[BLOCKLOG_SUBSCRIBER_MAX + 1] = '\0';
	ck_assert(!blocklog_subscriber_valid(id));
}
END_TEST

START_TEST(test_prefix_given_as_address_is_written_as_text)
{
	struct blocklog_event ev = block_event();
	char line[1024];

	ev.prefix[0] = '\0';
	addr_parse("100.64.0.0", &ev.prefix_addr);
	ev.prefix_len = 10;
	ev.prefix_set = true;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, ",\"prefix\":\"100.64.0.0/10\"}\n"));
	addr_parse("2001:db8:1::", &ev.prefix_addr);
	ev.prefix_len = 48;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, ",\"prefix\":\"2001:db8:1::/48\"}\n"));
	/* Neither text nor address: an empty prefix, as before. */
	ev.prefix_set = false;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, ",\"prefix\":\"\"}\n"));
}
END_TEST

START_TEST(test_time_is_right_across_seconds_and_days)
{
	struct blocklog_event ev = block_event();
	char line[1024];

	/* The date is kept from one line to the next: each must still be
	 * its own. */
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "\"ts\":\"2026-11-28T01:23:45.123Z\""));
	ev.ts_ms += 1;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "\"ts\":\"2026-11-28T01:23:45.124Z\""));
	ev.ts_ms = 1795910399999LL;	/* the last ms of 28 November */
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "\"ts\":\"2026-11-28T23:59:59.999Z\""));
	ev.ts_ms += 1;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "\"ts\":\"2026-11-29T00:00:00.000Z\""));
	ev.ts_ms = 7;
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_ptr_nonnull(strstr(line, "\"ts\":\"1970-01-01T00:00:00.007Z\""));
}
END_TEST

START_TEST(test_addresses_are_written_as_inet_ntop_writes_them)
{
	struct blocklog_event ev = block_event();
	char line[1024], want[INET6_ADDRSTRLEN], *p;
	unsigned seed = 6;

	/* Random addresses, zero groups frequent, so every shape of "::"
	 * and the dotted forms come up. */
	for (int i = 0; i < 100000; i++) {
		for (int k = 0; k < 16; k += 2) {
			unsigned r = (unsigned)rand_r(&seed);

			ev.src.b[k] = r % 3 ? 0 : (uint8_t)(r >> 8);
			ev.src.b[k + 1] = r % 5 ? 0 : (uint8_t)(r >> 16);
		}
		ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
		p = strstr(line, "\"src\":\"") + 7;
		*strchr(p, '"') = '\0';
		if (addr_is_v4(&ev.src))
			inet_ntop(AF_INET, ev.src.b + 12, want, sizeof(want));
		else
			inet_ntop(AF_INET6, ev.src.b, want, sizeof(want));
		ck_assert_str_eq(p, want);
	}
}
END_TEST

static struct blocklog_event except_event(void)
{
	struct blocklog_event ev = {
		.kind = BLOCKLOG_EXCEPT,
		.op = BLOCKLOG_EXCEPT_ADD,
		.ts_ms = 1795829025123LL,
		.until = 1795832625,
	};

	strcpy(ev.prefix, "100.64.12.0/28");
	strcpy(ev.profile, "business");
	strcpy(ev.note, "ACME, ticket 4411");
	return ev;
}

/* a and b hold the same members in the same order, of equal values. */
static void assert_same_json(const char *a, const char *b)
{
	struct json_object *x = json_tokener_parse(a);
	struct json_object *y = json_tokener_parse(b);
	struct json_object_iterator i, j, end_x, end_y;

	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	i = json_object_iter_begin(x);
	j = json_object_iter_begin(y);
	end_x = json_object_iter_end(x);
	end_y = json_object_iter_end(y);
	for (; !json_object_iter_equal(&i, &end_x) &&
	       !json_object_iter_equal(&j, &end_y);
	     json_object_iter_next(&i), json_object_iter_next(&j)) {
		const char *name = json_object_iter_peek_name(&i);
		struct json_object *u = json_object_iter_peek_value(&i);
		struct json_object *v = json_object_iter_peek_value(&j);

		ck_assert_str_eq(name, json_object_iter_peek_name(&j));
		ck_assert_msg(json_object_equal(u, v), "%s differs", name);
	}
	ck_assert(json_object_iter_equal(&i, &end_x));
	ck_assert(json_object_iter_equal(&j, &end_y));
	json_object_put(x);
	json_object_put(y);
}

/*
 * except and fallback lines are built by json-c now; before, by snprintf.
 * The lines below are what the snprintf writer wrote (main at 609d4b4):
 * byte for byte the same, except that json-c escapes \n \t \r \b \f in
 * their short forms where the old writer wrote \u000a …, the same JSON.
 */
START_TEST(test_except_fallback_lines_are_the_json_they_were)
{
	struct blocklog_event ev = except_event();
	char line[2048];

	ck_assert_int_gt(blocklog_format(&ev, 1, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"except\","
		"\"op\":\"add\",\"prefix\":\"100.64.12.0/28\","
		"\"profile\":\"business\",\"until\":\"2026-11-28T02:23:45Z\","
		"\"note\":\"ACME, ticket 4411\",\"lost\":1}\n");
	ev.op = BLOCKLOG_EXCEPT_DEL;
	ev.until = 0;
	ev.note[0] = '\0';
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"except\","
		"\"op\":\"del\",\"prefix\":\"100.64.12.0/28\","
		"\"profile\":\"business\"}\n");

	ev.op = BLOCKLOG_EXCEPT_EXPIRE;
	ev.until = 1795832625;
	strcpy(ev.prefix, "2001:db8:1::/48");
	strcpy(ev.profile, "b\"iz\\/");
	strcpy(ev.note, "M\xc3\xbcller \xc2\x85 \xe2\x80\xa8 \n\t\r\b\f\x01"
	       "\x1f\"\\ / \x7f \xff\xfe end \xf0\x9f\x98\x80");
	ck_assert_int_gt(blocklog_format(&ev, 7, line, sizeof(line)), 0);
	/* Still UTF-8, no raw control, DEL, C1 or line separator. */
	ck_assert(utf8_valid(line, strlen(line)));
	ck_assert_ptr_null(strpbrk(line, "\x01\x1f\x7f\r\t\b\f"));
	ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1);
	ck_assert_ptr_null(strstr(line, "\xc2\x85"));
	ck_assert_ptr_null(strstr(line, "\xe2\x80\xa8"));
	assert_same_json(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"except\","
		"\"op\":\"expire\",\"prefix\":\"2001:db8:1::/48\","
		"\"profile\":\"b\\\"iz\\\\/\","
		"\"until\":\"2026-11-28T02:23:45Z\","
		"\"note\":\"M\xc3\xbcller \\u0085 \\u2028 \\u000a\\u0009\\u000d"
		"\\u0008\\u000c\\u0001\\u001f\\\"\\\\ / \\u007f \\ufffd\\ufffd "
		"end \xf0\x9f\x98\x80\",\"lost\":7}");

	ev = (struct blocklog_event){
		.kind = BLOCKLOG_FALLBACK,
		.ts_ms = 1795829025123LL,
		.since = 1795832000,
		.until = 1795832625,
		.fb = { [POLICY_REJECT] = 118, [POLICY_DROP] = 3,
			[POLICY_ACCEPT] = 12 },
	};
	ck_assert_int_gt(blocklog_format(&ev, 0, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"fallback\","
		"\"since\":\"2026-11-28T02:13:20Z\","
		"\"until\":\"2026-11-28T02:23:45Z\",\"rejected\":118,"
		"\"dropped\":3,\"accepted\":12}\n");
	ev.fb[POLICY_REJECT] = UINT64_MAX;
	ck_assert_int_gt(blocklog_format(&ev, 2, line, sizeof(line)), 0);
	ck_assert_str_eq(line,
		"{\"ts\":\"2026-11-28T01:23:45.123Z\",\"event\":\"fallback\","
		"\"since\":\"2026-11-28T02:13:20Z\","
		"\"until\":\"2026-11-28T02:23:45Z\","
		"\"rejected\":18446744073709551615,\"dropped\":3,"
		"\"accepted\":12,\"lost\":2}\n");
}
END_TEST

/*
 * An except line whose note is all controls (each six bytes escaped) is
 * longer than the room the writer keeps after a nearly full buffer: it
 * goes out whole after the buffer, not lost. The buffer is 64 KiB
 * (writer.c); the block lines before it leave less room than it needs.
 */
/* Rule 4's exceptions are for a subscriber id: the line names it in
 * place of a prefix, and reads back so. */
START_TEST(test_except_line_for_a_subscriber_names_it)
{
	struct blocklog_event ev = except_event();
	struct blocklog_parser *p = blocklog_parser_new();
	struct blocklog_line l;
	char line[1024];
	int n;

	ev.prefix[0] = '\0';
	strcpy(ev.subscriber, "cust \"88412\"");
	n = blocklog_format(&ev, 0, line, sizeof(line));
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(line, "{\"ts\":\"2026-11-28T01:23:45.123Z\","
			 "\"event\":\"except\",\"op\":\"add\","
			 "\"subscriber\":\"cust \\\"88412\\\"\","
			 "\"profile\":\"business\","
			 "\"until\":\"2026-11-28T02:23:45Z\","
			 "\"note\":\"ACME, ticket 4411\"}\n");
	ck_assert_int_eq(blocklog_line_parse(p, line, (size_t)n - 1, &l), 0);
	ck_assert_str_eq(l.subscriber, "cust \"88412\"");
	ck_assert_str_eq(l.prefix, "");
	/* Neither a prefix nor a subscriber: malformed. */
	{
		static const char bad[] = "{\"ts\":\"2026-11-28T22:03:45.123Z\","
			"\"event\":\"except\",\"op\":\"add\","
			"\"profile\":\"business\"}";

		ck_assert_int_eq(blocklog_line_parse(p, bad, sizeof(bad) - 1,
						     &l), -1);
	}
	blocklog_parser_free(p);
}
END_TEST

/* Many gateways: a change names the gateway that made it — the event's
 * own, else this gateway's (settable at a reload); block lines never. */
START_TEST(test_changes_name_their_gateway)
{
	char path[] = "/tmp/portcullis-blocklog-XXXXXX";
	struct blocklog_config cfg = { .producers = 1, .ring_slots = 64,
				       .no_writer_thread = true,
				       .gateway = "gw-self" };
	struct blocklog_event q = { .kind = BLOCKLOG_QUARANTINE,
				    .ts_ms = 1795829025123LL },
		r = q, blk = block_event(), exc = except_event();
	struct blocklog *bl;
	char *text;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	addr_parse("100.64.3.7", &q.src);
	r.kind = BLOCKLOG_RELEASE;
	r.reason = BLOCKLOG_RELEASE_CLUSTER;
	r.src = q.src;
	strcpy(r.gateway, "gw-a");
	cfg.path = path;
	bl = blocklog_open(&cfg);
	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(blocklog_push(bl, 0, &q), 0);
	ck_assert_int_eq(blocklog_push(bl, 0, &r), 0);
	ck_assert_int_eq(blocklog_push(bl, 0, &blk), 0);
	ck_assert_int_eq(blocklog_push(bl, 0, &exc), 0);
	ck_assert_uint_eq(blocklog_drain(bl), 4);
	/* The name as the writer finds it when it writes the line. */
	blocklog_set_gateway(bl, "gw-renamed");
	ck_assert_int_eq(blocklog_push(bl, 0, &q), 0);
	ck_assert_uint_eq(blocklog_drain(bl), 1);
	blocklog_set_gateway(bl, "not a name");
	ck_assert_int_eq(blocklog_push(bl, 0, &q), 0);
	ck_assert_uint_eq(blocklog_drain(bl), 1);
	blocklog_close(bl);
	text = slurp(path);
	ck_assert_msg(strstr(text, "\"distinct_destinations\":0,\"gateway\":"
			     "\"gw-self\"}\n"), "%s", text);
	ck_assert_msg(strstr(text, "\"reason\":\"cluster\",\"gateway\":"
			     "\"gw-a\"}\n"), "%s", text);
	ck_assert_msg(strstr(text, "\"gateway\":\"gw-renamed\"}"), "%s", text);
	/* One quarantine line without: the bad name is no name. */
	ck_assert_int_eq(strstr(strstr(text, "gw-renamed"), "\"gateway\"") ==
			 NULL, 1);
	{
		/* The block line names none; the except line this one. */
		char *blkl = strstr(text, "\"event\":\"block\"");
		char *end = strchr(blkl, '\n');

		*end = '\0';
		ck_assert_ptr_null(strstr(blkl, "gateway"));
		ck_assert_msg(strstr(end + 1, "\"gateway\":\"gw-self\""), "%s",
			      end + 1);
	}
	free(text);
	unlink(path);
}
END_TEST

START_TEST(test_long_except_line_after_full_buffer_is_written)
{
	char path[] = "/tmp/portcullis-blocklog-XXXXXX";
	struct blocklog_config cfg = { .producers = 1, .ring_slots = 1024,
				       .no_writer_thread = true };
	struct blocklog_event blk = block_event(), exc = except_event();
	struct blocklog_counters c;
	struct blocklog *bl;
	char line[2048], *text, *last;
	int fd = mkstemp(path), blk_len, exc_len, k;

	ck_assert_int_ge(fd, 0);
	close(fd);
	memset(exc.note, '\x01', sizeof(exc.note) - 1);
	exc.note[sizeof(exc.note) - 1] = '\0';
	blk_len = blocklog_format(&blk, 0, line, sizeof(line));
	exc_len = blocklog_format(&exc, 0, line, sizeof(line));
	ck_assert_int_gt(blk_len, 0);
	ck_assert_int_gt(exc_len, 1024);
	/* No flush before it (the writer keeps 1 KiB), too little room. */
	k = (64 * 1024 - 1024) / blk_len;
	ck_assert_int_lt(64 * 1024 - k * blk_len, exc_len + 1);
	cfg.path = path;
	bl = blocklog_open(&cfg);
	ck_assert_ptr_nonnull(bl);
	for (int i = 0; i < k; i++)
		ck_assert_int_eq(blocklog_push(bl, 0, &blk), 0);
	ck_assert_int_eq(blocklog_push(bl, 0, &exc), 0);
	ck_assert_uint_eq(blocklog_drain(bl), (size_t)k + 1);
	blocklog_counters(bl, &c);
	ck_assert_uint_eq(c.written, (uint64_t)k + 1);
	ck_assert_uint_eq(c.lost_io, 0);
	blocklog_close(bl);
	text = slurp(path);
	ck_assert_uint_eq(strlen(text), (size_t)k * blk_len + exc_len);
	last = text + (size_t)k * blk_len;
	ck_assert_int_eq(strncmp(last, line, (size_t)exc_len), 0);
	free(text);
	unlink(path);
}
END_TEST

START_TEST(test_short_buffer_is_refused)
{
	struct blocklog_event ev = block_event();
	char line[40];

	ck_assert_int_eq(blocklog_format(&ev, 0, line, sizeof(line)), -1);
}
END_TEST

START_TEST(test_full_ring_counts_loss_and_next_line_says_it)
{
	char path[] = "/tmp/portcullis-blocklog-XXXXXX";
	struct blocklog_config cfg = { .producers = 1, .ring_slots = 4,
				       .no_writer_thread = true };
	struct blocklog_event ev = block_event();
	struct blocklog_counters c;
	struct blocklog *bl;
	char *text;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	cfg.path = path;
	bl = blocklog_open(&cfg);
	ck_assert_ptr_nonnull(bl);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(blocklog_push(bl, 0, &ev), 0);
	ck_assert_int_eq(blocklog_push(bl, 0, &ev), -1);
	ck_assert_int_eq(blocklog_push(bl, 0, &ev), -1);
	ck_assert_uint_eq(blocklog_drain(bl), 4);
	ck_assert_int_eq(blocklog_push(bl, 0, &ev), 0);
	ck_assert_uint_eq(blocklog_drain(bl), 1);
	blocklog_counters(bl, &c);
	ck_assert_uint_eq(c.written, 5);
	ck_assert_uint_eq(c.lost_full, 2);
	blocklog_close(bl);
	text = slurp(path);
	/* The first line after the loss carries it, once. */
	ck_assert_ptr_nonnull(strstr(text, ",\"lost\":2}\n"));
	ck_assert_ptr_null(strstr(strstr(text, ",\"lost\":2}\n") + 12,
				  "\"lost\""));
	free(text);
	unlink(path);
}
END_TEST

/* A producer number past the rings is refused and counted, never taken
 * modulo onto another thread's single-producer ring. */
START_TEST(test_unknown_producer_is_refused_not_wrapped)
{
	struct blocklog_config cfg = { .path = NULL, .syslog = true,
				       .producers = 2, .ring_slots = 4,
				       .no_writer_thread = true };
	struct blocklog_event ev = block_event();
	struct blocklog_counters c;
	struct blocklog *bl = blocklog_open(&cfg);

	ck_assert_ptr_nonnull(bl);
	errno = 0;
	ck_assert_int_eq(blocklog_push(bl, 2, &ev), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(blocklog_push(bl, 7, &ev), -1);
	/* Rings 0 and 1 stay empty and usable. */
	ck_assert_uint_eq(blocklog_drain(bl), 0);
	ck_assert_int_eq(blocklog_push(bl, 0, &ev), 0);
	ck_assert_int_eq(blocklog_push(bl, 1, &ev), 0);
	ck_assert_uint_eq(blocklog_drain(bl), 2);
	blocklog_counters(bl, &c);
	ck_assert_uint_eq(c.lost_full, 2);
	blocklog_close(bl);
}
END_TEST

START_TEST(test_full_disk_costs_lines_not_pushes)
{
	struct blocklog_config cfg = { .path = "/dev/full", .producers = 2,
				       .ring_slots = 8,
				       .no_writer_thread = true };
	struct blocklog_event ev = block_event();
	struct blocklog_counters c;
	struct blocklog *bl = blocklog_open(&cfg);

	ck_assert_ptr_nonnull(bl);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(blocklog_push(bl, 0, &ev), 0);
		ck_assert_int_eq(blocklog_push(bl, 1, &ev), 0);
	}
	ck_assert_uint_eq(blocklog_drain(bl), 6);
	blocklog_counters(bl, &c);
	ck_assert_uint_eq(c.written, 0);
	ck_assert_uint_eq(c.lost_io, 6);
	blocklog_close(bl);
}
END_TEST

START_TEST(test_unwritable_path_costs_lines_not_the_start)
{
	struct blocklog_config cfg = {
		.path = "/nonexistent-portcullis-dir/blocks.jsonl",
		.producers = 1,
		.no_writer_thread = true,
	};
	struct blocklog_event ev = block_event();
	struct blocklog_counters c;
	struct blocklog *bl = blocklog_open(&cfg);

	ck_assert_ptr_nonnull(bl);
	ck_assert_int_eq(blocklog_push(bl, 0, &ev), 0);
	ck_assert_int_eq(blocklog_push(bl, 0, &ev), 0);
	ck_assert_uint_eq(blocklog_drain(bl), 2);
	blocklog_counters(bl, &c);
	ck_assert_uint_eq(c.written, 0);
	ck_assert_uint_eq(c.lost_io, 2);
	blocklog_close(bl);
}
END_TEST

START_TEST(test_writer_thread_writes_every_line_at_close)
{
	char path[] = "/tmp/portcullis-blocklog-XXXXXX";
	struct blocklog_config cfg = { .producers = 2, .ring_slots = 1024 };
	struct blocklog_event ev = block_event();
	struct blocklog *bl;
	char *text, *p;
	int fd = mkstemp(path), lines = 0;

	ck_assert_int_ge(fd, 0);
	close(fd);
	cfg.path = path;
	bl = blocklog_open(&cfg);
	ck_assert_ptr_nonnull(bl);
	for (int i = 0; i < 500; i++) {
		ck_assert_int_eq(blocklog_push(bl, 0, &ev), 0);
		ck_assert_int_eq(blocklog_push(bl, 1, &ev), 0);
	}
	blocklog_close(bl);
	text = slurp(path);
	for (p = text; (p = strchr(p, '\n')); p++)
		lines++;
	ck_assert_int_eq(lines, 1000);
	free(text);
	unlink(path);
}
END_TEST

Suite *blocklog_suite(void)
{
	Suite *s = suite_create("blocklog");
	TCase *tc = tcase_create("blocklog");

	tcase_add_test(tc, test_block_line_has_design_fields_in_order);
	tcase_add_test(tc, test_except_line_for_a_subscriber_names_it);
	tcase_add_test(tc, test_monitor_block_says_mode_and_ipv6_is_plain);
	tcase_add_test(tc, test_strings_are_json_escaped);
	tcase_add_test(tc, test_subscriber_events_have_design_shapes);
	tcase_add_test(tc, test_session_lines_have_the_contract_shapes);
	tcase_add_test(tc, test_subscriber_follows_the_fields_of_every_kind);
	tcase_add_test(tc, test_subscriber_id_is_json_escaped);
	tcase_add_test(tc, test_subscriber_id_rule);
	tcase_add_test(tc, test_short_buffer_is_refused);
	tcase_add_test(tc, test_except_fallback_lines_are_the_json_they_were);
	tcase_add_test(tc, test_long_except_line_after_full_buffer_is_written);
	tcase_add_test(tc, test_prefix_given_as_address_is_written_as_text);
	tcase_add_test(tc, test_addresses_are_written_as_inet_ntop_writes_them);
	tcase_add_test(tc, test_time_is_right_across_seconds_and_days);
	tcase_add_test(tc, test_full_ring_counts_loss_and_next_line_says_it);
	tcase_add_test(tc, test_full_disk_costs_lines_not_pushes);
	tcase_add_test(tc, test_unknown_producer_is_refused_not_wrapped);
	tcase_add_test(tc, test_unwritable_path_costs_lines_not_the_start);
	tcase_add_test(tc, test_writer_thread_writes_every_line_at_close);
	tcase_add_test(tc, test_changes_name_their_gateway);
	suite_add_tcase(s, tc);
	return s;
}
