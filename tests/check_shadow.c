// SPDX-License-Identifier: GPL-2.0-or-later
/* filter/shadow.c: the candidate's decisions counted by port and
 * direction, its lines, their rate per subscriber and the summaries,
 * what the running rules cannot show it, and its metrics. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filter/shadow.h"
#include "tests/helpers.h"
#include "tests/suites.h"

#define T0 1795829025000LL		/* 2026-11-28T01:23:45.000Z */

#define RUNNING \
	"version: 1\n" \
	"profiles:\n" \
	"  residential: { ports: { 25: reject, 465: accept, 587: accept } }\n" \
	"  business: { ports: { 25: accept, 465: accept, 587: accept } }\n" \
	"subscribers:\n" \
	"  - { prefix: 100.64.0.0/10, profile: residential }\n" \
	"  - { prefix: 2001:db8:1::/48, profile: residential }\n" \
	"  - { prefix: 100.64.0.16/28, profile: business }\n" \
	"log: { per_subscriber: 10/min }\n"

/* The candidate: 587 rejected for one /24, 25 dropped for another, the
 * business /28 gone, port 2525 and a source the running policy lacks. */
#define CANDIDATE \
	"version: 1\n" \
	"profiles:\n" \
	"  residential: { ports: { 25: reject, 465: accept, 587: accept } }\n" \
	"  strict: { ports: { 25: reject, 465: accept, 587: reject } }\n" \
	"  dropper: { ports: { 25: drop, 465: accept, 587: accept } }\n" \
	"  other: { ports: { 2525: reject } }\n" \
	"subscribers:\n" \
	"  - { prefix: 100.64.0.0/10, profile: residential }\n" \
	"  - { prefix: 2001:db8:1::/48, profile: residential }\n" \
	"  - { prefix: 100.64.5.0/24, profile: strict }\n" \
	"  - { prefix: 100.64.6.0/24, profile: dropper }\n" \
	"  - { prefix: 100.96.0.0/11, profile: strict }\n" \
	"  - { prefix: 198.51.100.0/24, profile: other }\n"

struct fx {
	char path[40];
	struct blocklog *bl;
	struct policy *run;
	struct shadow *s;
	char *text;
};

static void fx_open(struct fx *fx, unsigned threads)
{
	struct blocklog_config bc = {
		.producers = threads + 1,
		.ring_slots = 1 << 16,
		.no_writer_thread = true,
	};

	memset(fx, 0, sizeof(*fx));
	tests_tmpfile(fx->path, sizeof(fx->path), "shadow");
	bc.path = fx->path;
	fx->bl = blocklog_open(&bc);
	ck_assert_ptr_nonnull(fx->bl);
	fx->run = tests_policy(RUNNING);
	fx->s = shadow_new(tests_policy(CANDIDATE), fx->run,
			   "/etc/portcullis/candidate.yaml", threads,
			   T0 / 1000);
	ck_assert_ptr_nonnull(fx->s);
}

static void fx_close(struct fx *fx)
{
	shadow_free(fx->s);
	policy_free(fx->run);
	blocklog_close(fx->bl);
	free(fx->text);
	unlink(fx->path);
}

static const char *fx_log(struct fx *fx)
{
	blocklog_drain(fx->bl);
	free(fx->text);
	fx->text = tests_slurp(fx->path, NULL);
	return fx->text;
}

/* One SYN judged by both, as a verdict thread does. */
static void fx_syn(struct fx *fx, unsigned thread, const char *src,
		   const char *dst, uint16_t port, const char *id,
		   int64_t now)
{
	struct policy_flow f = { 0 };
	struct policy_decision rd, sd;

	ck_assert_int_eq(addr_parse(src, &f.src), 0);
	ck_assert_int_eq(addr_parse(dst, &f.dst), 0);
	f.dport = port;
	if (id) {
		f.subscriber = id;
		f.subscriber_len = (uint8_t)strlen(id);
		f.subscriber_key = 0x5eed0000u + f.subscriber_len;
	}
	policy_decide(fx->run, &f, now / 1000, false, &rd);
	policy_decide(fx->s->p, &f, now / 1000, false, &sd);
	shadow_syn(fx->s, thread, fx->run, &f, &rd, &sd, now, fx->bl);
}

static unsigned slot_of(const struct shadow_state *st, uint16_t port)
{
	return st->port_slot[port];
}

START_TEST(test_dir)
{
	ck_assert_int_eq(shadow_dir(POLICY_ACCEPT, POLICY_REJECT),
			 BLOCKLOG_SHADOW_BLOCK);
	ck_assert_int_eq(shadow_dir(POLICY_ACCEPT, POLICY_DROP),
			 BLOCKLOG_SHADOW_BLOCK);
	ck_assert_int_eq(shadow_dir(POLICY_REJECT, POLICY_ACCEPT),
			 BLOCKLOG_SHADOW_PASS);
	ck_assert_int_eq(shadow_dir(POLICY_DROP, POLICY_ACCEPT),
			 BLOCKLOG_SHADOW_PASS);
	ck_assert_int_eq(shadow_dir(POLICY_REJECT, POLICY_DROP),
			 BLOCKLOG_SHADOW_CHANGE);
	ck_assert_int_eq(shadow_dir(POLICY_DROP, POLICY_REJECT),
			 BLOCKLOG_SHADOW_CHANGE);
}
END_TEST

/* Where the two agree: counted as judged, nothing else. Where they do
 * not: a line naming both decisions, counted by port and direction. */
START_TEST(test_lines)
{
	struct shadow_sum sum;
	const char *log;
	struct fx fx;

	fx_open(&fx, 1);
	fx_syn(&fx, 0, "100.64.9.9", "203.0.113.9", 587, NULL, T0);
	fx_syn(&fx, 0, "100.64.9.9", "203.0.113.9", 25, NULL, T0);
	fx_syn(&fx, 0, "2001:db8:1::7", "2001:db8:2::1", 25, NULL, T0);
	ck_assert_str_eq(fx_log(&fx), "");
	fx_syn(&fx, 0, "100.64.5.7", "203.0.113.9", 587, "cust-88412",
	       T0 + 1);
	fx_syn(&fx, 0, "100.64.6.7", "203.0.113.10", 25, NULL, T0 + 2);
	fx_syn(&fx, 0, "100.64.0.17", "203.0.113.11", 25, NULL, T0 + 3);
	log = fx_log(&fx);
	ck_assert_str_eq(log,
		"{\"ts\":\"2026-11-28T01:23:45.001Z\",\"event\":\"shadow\","
		"\"src\":\"100.64.5.7\",\"dst\":\"203.0.113.9\",\"dport\":587,"
		"\"action\":\"accept\",\"profile\":\"residential\","
		"\"prefix\":\"100.64.0.0/10\",\"shadow_action\":\"reject\","
		"\"shadow_profile\":\"strict\","
		"\"shadow_prefix\":\"100.64.5.0/24\","
		"\"subscriber\":\"cust-88412\"}\n"
		"{\"ts\":\"2026-11-28T01:23:45.002Z\",\"event\":\"shadow\","
		"\"src\":\"100.64.6.7\",\"dst\":\"203.0.113.10\",\"dport\":25,"
		"\"action\":\"reject\",\"profile\":\"residential\","
		"\"prefix\":\"100.64.0.0/10\",\"shadow_action\":\"drop\","
		"\"shadow_profile\":\"dropper\","
		"\"shadow_prefix\":\"100.64.6.0/24\"}\n"
		"{\"ts\":\"2026-11-28T01:23:45.003Z\",\"event\":\"shadow\","
		"\"src\":\"100.64.0.17\",\"dst\":\"203.0.113.11\",\"dport\":25,"
		"\"action\":\"accept\",\"profile\":\"business\","
		"\"prefix\":\"100.64.0.16/28\",\"shadow_action\":\"reject\","
		"\"shadow_profile\":\"residential\","
		"\"shadow_prefix\":\"100.64.0.0/10\"}\n");
	shadow_sum(fx.s->st, &sum);
	ck_assert_uint_eq(sum.judged, 6);
	ck_assert_uint_eq(sum.dir[BLOCKLOG_SHADOW_BLOCK], 2);
	ck_assert_uint_eq(sum.dir[BLOCKLOG_SHADOW_PASS], 0);
	ck_assert_uint_eq(sum.dir[BLOCKLOG_SHADOW_CHANGE], 1);
	ck_assert_uint_eq(sum.by_port[BLOCKLOG_SHADOW_BLOCK]
			  [slot_of(fx.s->st, 587)], 1);
	ck_assert_uint_eq(sum.by_port[BLOCKLOG_SHADOW_BLOCK]
			  [slot_of(fx.s->st, 25)], 1);
	ck_assert_uint_eq(sum.by_port[BLOCKLOG_SHADOW_CHANGE]
			  [slot_of(fx.s->st, 25)], 1);
	ck_assert_uint_eq(sum.lines, 3);
	ck_assert_uint_eq(sum.held, 0);
	fx_close(&fx);
}
END_TEST

/* 10 lines a minute per subscriber (the running policy's log: rate), the
 * rest in one summary when the window ends; others keep their own. */
START_TEST(test_rate)
{
	struct shadow_sum sum;
	struct fx fx;

	fx_open(&fx, 1);
	for (int i = 0; i < 13; i++)
		fx_syn(&fx, 0, "100.64.5.7", "203.0.113.9", 587, NULL,
		       T0 + i);
	fx_syn(&fx, 0, "100.64.6.7", "203.0.113.9", 25, NULL, T0 + 20);
	ck_assert_uint_eq(tests_count(fx_log(&fx), "\"event\":\"shadow\""),
			  11);
	shadow_tick(fx.s, T0 + 59999, fx.bl, 1, false);
	ck_assert_uint_eq(tests_count(fx_log(&fx), "shadow_summary"), 0);
	shadow_tick(fx.s, T0 + 60000, fx.bl, 1, false);
	ck_assert_ptr_nonnull(strstr(fx_log(&fx),
		"{\"ts\":\"2026-11-28T01:24:45.000Z\",\"event\":"
		"\"shadow_summary\",\"src\":\"100.64.5.7\",\"would_block\":3,"
		"\"would_pass\":0,\"would_change\":0,\"window_s\":60}\n"));
	ck_assert_uint_eq(tests_count(fx.text, "shadow_summary"), 1);
	/* A new window: lines again. */
	fx_syn(&fx, 0, "100.64.5.7", "203.0.113.9", 587, NULL, T0 + 60001);
	ck_assert_uint_eq(tests_count(fx_log(&fx), "\"event\":\"shadow\""),
			  12);
	shadow_sum(fx.s->st, &sum);
	ck_assert_uint_eq(sum.lines, 12);
	ck_assert_uint_eq(sum.held, 3);
	ck_assert_uint_eq(sum.summaries, 1);
	fx_close(&fx);
}
END_TEST

/* A window that ended is said by the subscriber's next disagreement too,
 * and a stop says every open one. By subscriber id: its addresses share
 * one budget, the summary names it. */
START_TEST(test_rate_id)
{
	struct fx fx;

	fx_open(&fx, 1);
	for (int i = 0; i < 12; i++)
		fx_syn(&fx, 0, i % 2 ? "100.64.5.7" : "100.64.5.8",
		       "203.0.113.9", 587, "cust-1", T0 + i);
	fx_syn(&fx, 0, "100.64.5.9", "203.0.113.9", 587, "cust-1",
	       T0 + 61000);
	fx_log(&fx);
	ck_assert_uint_eq(tests_count(fx.text, "\"event\":\"shadow\""), 11);
	ck_assert_ptr_nonnull(strstr(fx.text,
		"\"event\":\"shadow_summary\",\"src\":\"100.64.5.7\","
		"\"would_block\":2,\"would_pass\":0,\"would_change\":0,"
		"\"window_s\":60,\"subscriber\":\"cust-1\"}"));
	for (int i = 0; i < 11; i++)
		fx_syn(&fx, 0, "100.64.5.9", "203.0.113.9", 587, "cust-1",
		       T0 + 61001 + i);
	shadow_tick(fx.s, T0 + 62000, fx.bl, 1, true);
	ck_assert_ptr_nonnull(strstr(fx_log(&fx),
		"\"ts\":\"2026-11-28T01:24:47.000Z\",\"event\":"
		"\"shadow_summary\",\"src\":\"100.64.5.9\",\"would_block\":2"));
	fx_close(&fx);
}
END_TEST

/* More subscribers than the rate table holds: slots are taken over, and
 * what they held is said first; every disagreement is a line or in a
 * summary, none lost. */
START_TEST(test_rate_full)
{
	unsigned subs = tests_under_valgrind() ? 3000 : 40000;
	struct blocklog_parser *bp = blocklog_parser_new();
	uint64_t lines = 0, held = 0;
	struct shadow_sum sum;
	struct fx fx;
	char *line, *save;

	fx_open(&fx, 1);
	for (unsigned i = 0; i < subs; i++) {
		char src[32];

		/* 100.96.0.0/11 rejects 587 in the candidate only. */
		snprintf(src, sizeof(src), "100.%u.%u.%u", 96 + (i >> 16),
			 (i >> 8) & 255, i & 255);
		for (int k = 0; k < 12; k++)
			fx_syn(&fx, 0, src, "203.0.113.9", 587, NULL,
			       T0 + i);
		if (i % 1000 == 999)
			fx_log(&fx);	/* the ring never fills */
	}
	shadow_tick(fx.s, T0 + subs + 1, fx.bl, 1, true);
	fx_log(&fx);
	for (line = strtok_r(fx.text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct blocklog_line l;

		ck_assert_int_eq(blocklog_line_parse(bp, line, strlen(line),
						     &l), 0);
		if (l.kind == BLOCKLOG_SHADOW)
			lines++;
		else
			held += l.shadow[0] + l.shadow[1] + l.shadow[2];
	}
	shadow_sum(fx.s->st, &sum);
	ck_assert_uint_eq(sum.lines, lines);
	ck_assert_uint_eq(sum.held, held);
	ck_assert_uint_eq(sum.dir[0] + sum.dir[1] + sum.dir[2],
			  lines + held);
	ck_assert_uint_eq(lines + held, 12ull * subs);
	if (!tests_under_valgrind())
		ck_assert_uint_gt(atomic_load(&fx.s->st->evicted), 0);
	blocklog_parser_free(bp);
	fx_close(&fx);
}
END_TEST

struct thread_arg {
	struct fx *fx;
	unsigned thread;
};

static void *hammer(void *arg)
{
	struct thread_arg *a = arg;

	for (int i = 0; i < 2000; i++)
		fx_syn(a->fx, a->thread, "100.64.5.7", "203.0.113.9", 587,
		       NULL, T0 + i * 100);
	return NULL;
}

/* Two verdict threads, one subscriber: one budget, counts whole. */
START_TEST(test_threads)
{
	struct thread_arg a[2];
	pthread_t t[2];
	struct shadow_sum sum;
	struct fx fx;

	fx_open(&fx, 2);
	for (unsigned i = 0; i < 2; i++) {
		a[i] = (struct thread_arg){ &fx, i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &a[i]),
				 0);
	}
	for (unsigned i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	shadow_sum(fx.s->st, &sum);
	ck_assert_uint_eq(sum.judged, 4000);
	ck_assert_uint_eq(sum.dir[BLOCKLOG_SHADOW_BLOCK], 4000);
	ck_assert_uint_eq(sum.lines + sum.held, 4000);
	/* 200 s of SYNs: at most 10 lines in each of 4 minutes, give or
	 * take the window's start. */
	ck_assert_uint_le(sum.lines, 50);
	ck_assert_uint_ge(sum.lines, 30);
	fx_close(&fx);
}
END_TEST

/* What the running rules do not queue is named at start. */
START_TEST(test_unseen)
{
	struct fx fx;

	fx_open(&fx, 1);
	ck_assert_str_eq(fx.s->st->unseen,
			 "port 2525; source 198.51.100.0/24");
	fx_close(&fx);
}
END_TEST

/* The metrics: every port of either policy from the start, at 0; after
 * a stop the counts stay (counters never go back). */
START_TEST(test_metrics)
{
	struct shadow_totals tot = { 0 };
	struct strbuf o = { 0 };
	struct fx fx;

	fx_open(&fx, 1);
	shadow_metrics(fx.s->st, &tot, &o);
	ck_assert_ptr_nonnull(strstr(o.s, "portcullis_shadow_running 1\n"));
	ck_assert_ptr_nonnull(strstr(o.s,
		"portcullis_shadow_disagreements_total{port=\"587\","
		"direction=\"would_block\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(o.s,
		"portcullis_shadow_disagreements_total{port=\"2525\","
		"direction=\"would_pass\"} 0\n"));
	strbuf_free(&o);
	fx_syn(&fx, 0, "100.64.5.7", "203.0.113.9", 587, NULL, T0);
	fx_syn(&fx, 0, "100.64.6.7", "203.0.113.9", 25, NULL, T0);
	ck_assert_int_eq(shadow_fold(fx.s->st, &tot), 0);
	shadow_metrics(NULL, &tot, &o);
	ck_assert_ptr_nonnull(strstr(o.s, "portcullis_shadow_running 0\n"));
	ck_assert_ptr_nonnull(strstr(o.s,
		"portcullis_shadow_judged_total 2\n"));
	ck_assert_ptr_nonnull(strstr(o.s,
		"portcullis_shadow_disagreements_total{port=\"587\","
		"direction=\"would_block\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(o.s,
		"portcullis_shadow_disagreements_total{port=\"25\","
		"direction=\"would_change\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(o.s,
		"portcullis_shadow_lines_total{as=\"line\"} 2\n"));
	strbuf_free(&o);
	/* A running one beside the totals: one series each, summed. */
	shadow_metrics(fx.s->st, &tot, &o);
	ck_assert_ptr_nonnull(strstr(o.s,
		"portcullis_shadow_disagreements_total{port=\"587\","
		"direction=\"would_block\"} 2\n"));
	ck_assert_uint_eq(tests_count(o.s, "{port=\"587\",direction="
				      "\"would_block\"}"), 1);
	strbuf_free(&o);
	shadow_totals_free(&tot);
	fx_close(&fx);
}
END_TEST

/* A renewed policy (new live exceptions) keeps the state. */
START_TEST(test_renew)
{
	struct shadow_sum sum;
	struct shadow *n;
	struct fx fx;

	fx_open(&fx, 1);
	fx_syn(&fx, 0, "100.64.5.7", "203.0.113.9", 587, NULL, T0);
	n = shadow_renew(fx.s, tests_policy(CANDIDATE));
	ck_assert_ptr_nonnull(n);
	shadow_free_policy(fx.s);
	fx.s = n;
	fx_syn(&fx, 0, "100.64.5.7", "203.0.113.9", 587, NULL, T0 + 1);
	shadow_sum(fx.s->st, &sum);
	ck_assert_uint_eq(sum.judged, 2);
	ck_assert_uint_eq(sum.lines, 2);
	fx_close(&fx);
}
END_TEST

/* An edited candidate is not loaded again under the same name. */
START_TEST(test_file_changed)
{
	struct policy *run = tests_policy(RUNNING);
	struct tests_dir dir;
	const char *path;
	struct shadow *s;

	tests_dir_open(&dir, "shadowfile");
	path = tests_dir_put(&dir, "candidate.yaml", CANDIDATE);
	s = shadow_new(tests_policy(CANDIDATE), run, path, 1, T0 / 1000);
	ck_assert_ptr_nonnull(s);
	ck_assert(!shadow_file_changed(s->st));
	tests_dir_put(&dir, "candidate.yaml", CANDIDATE "# edited\n");
	ck_assert(shadow_file_changed(s->st));
	tests_dir_close(&dir);
	ck_assert(shadow_file_changed(s->st));
	shadow_free(s);
	policy_free(run);
}
END_TEST

Suite *shadow_suite(void)
{
	Suite *s = suite_create("shadow");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_dir);
	tcase_add_test(tc, test_lines);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_rate_id);
	tcase_add_test(tc, test_rate_full);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_unseen);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_renew);
	tcase_add_test(tc, test_file_changed);
	suite_add_tcase(s, tc);
	return s;
}
