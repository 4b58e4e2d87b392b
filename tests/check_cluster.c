// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cluster/: the shared records' keys and values both ways, the ledger
 * that makes the newest revision win, the state file, and a cluster
 * whose servers never answer (it must still hold its quarantines and
 * keep its changes for later). With real NATS servers: tests/e2e_cluster.sh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "cluster/internal.h"
#include "tests/helpers.h"
#include "tests/suites.h"

Suite *cluster_suite(void);

static struct cluster_record rec(uint8_t kind, uint8_t op, bool sub,
				 const char *subject)
{
	struct cluster_record r = {
		.kind = kind, .op = op, .by_subscriber = sub,
		.time = 1764600000,
	};

	snprintf(r.subject, sizeof(r.subject), "%s", subject);
	snprintf(r.gateway, sizeof(r.gateway), "gw-a");
	if (kind == CLUSTER_EXCEPTION && op == CLUSTER_ADD)
		snprintf(r.profile, sizeof(r.profile), "business");
	return r;
}

START_TEST(test_keys_name_what_they_are_about)
{
	struct cluster_record r = rec(CLUSTER_QUARANTINE, CLUSTER_QUARANTINED,
				      true, "cust-88412"), back;
	char key[CLUSTER_KEY_MAX + 1];
	const char *odd[] = { "user@realm.example", "a b", "x_y", "100:7",
			      "~!\"#$%&'()*+,./:;<=>?[\\]^`{|}" };

	ck_assert_int_eq(cluster_record_key(&r, key, sizeof(key)), 0);
	ck_assert_str_eq(key, "q.sub.cust-88412");
	r = rec(CLUSTER_EXCEPTION, CLUSTER_ADD, false, "100.64.12.0/28");
	ck_assert_int_eq(cluster_record_key(&r, key, sizeof(key)), 0);
	ck_assert_str_eq(key, "x.net.100_2E64_2E12_2E0_2F28");
	r = rec(CLUSTER_EXCEPTION, CLUSTER_ADD, false, "2001:db8::/32");
	ck_assert_int_eq(cluster_record_key(&r, key, sizeof(key)), 0);
	ck_assert_str_eq(key, "x.net.2001_3Adb8_3A_3A_2F32");
	/* Every byte but [A-Za-z0-9-] escaped: NATS subjects split at a
	 * dot and stop at a space; the key reads back as it went. */
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		r = rec(CLUSTER_QUARANTINE, CLUSTER_RELEASED, true, odd[i]);
		ck_assert_int_eq(cluster_record_key(&r, key, sizeof(key)), 0);
		ck_assert_ptr_null(strchr(key + 6, '.'));
		ck_assert_ptr_null(strchr(key, ' '));
		memset(&back, 0, sizeof(back));
		ck_assert_int_eq(cluster_key_parse(key, &back), 0);
		ck_assert_str_eq(back.subject, odd[i]);
		ck_assert(back.by_subscriber);
		ck_assert_int_eq(back.kind, CLUSTER_QUARANTINE);
	}
	/* The longest id fits the longest key. */
	memset(r.subject, 0x7e, CLUSTER_ID_MAX);
	r.subject[CLUSTER_ID_MAX] = '\0';
	ck_assert_int_eq(cluster_record_key(&r, key, sizeof(key)), 0);
	ck_assert_uint_eq(strlen(key), CLUSTER_KEY_MAX);
	ck_assert_int_eq(cluster_record_key(&r, key, sizeof(key) - 1), -1);
	r.subject[0] = '\0';
	ck_assert_int_eq(cluster_record_key(&r, key, sizeof(key)), -1);
	/* What is no key of ours. */
	ck_assert_int_eq(cluster_key_parse("z.sub.a", &back), -1);
	ck_assert_int_eq(cluster_key_parse("q.sub.", &back), -1);
	ck_assert_int_eq(cluster_key_parse("q.sub.a_4", &back), -1);
	ck_assert_int_eq(cluster_key_parse("q.sub.a_00", &back), -1);
	ck_assert_int_eq(cluster_key_parse("q.sub.a.b", &back), -1);
	ck_assert_int_eq(cluster_subject_pattern("cust-1", true, key,
						 sizeof(key)), 0);
	ck_assert_str_eq(key, "*.sub.cust-1");
}
END_TEST

START_TEST(test_values_read_back_as_written)
{
	struct cluster_record in[4], out;
	char buf[2048], key[CLUSTER_KEY_MAX + 1], why[160];

	in[0] = rec(CLUSTER_EXCEPTION, CLUSTER_ADD, true, "cust-1");
	snprintf(in[0].note, sizeof(in[0].note), "ticket 4411, \"ACME\" é");
	in[0].until = 1767225600;
	in[1] = rec(CLUSTER_EXCEPTION, CLUSTER_DEL, false, "100.64.0.0/29");
	in[2] = rec(CLUSTER_QUARANTINE, CLUSTER_QUARANTINED, true, "c@r");
	in[2].until = 1764603600;
	in[2].syns = 812;
	in[2].distinct = 377;
	in[3] = rec(CLUSTER_QUARANTINE, CLUSTER_RELEASED, false,
		    "2001:db8:1::");
	for (int i = 0; i < 4; i++) {
		int n = cluster_record_encode(&in[i], buf, sizeof(buf));

		ck_assert_int_gt(n, 0);
		ck_assert_uint_eq(strlen(buf), (size_t)n);
		ck_assert_ptr_null(strchr(buf, '\n'));
		ck_assert_int_eq(cluster_record_key(&in[i], key, sizeof(key)),
				 0);
		ck_assert_msg(cluster_record_decode(buf, (size_t)n, key, &out,
						    why, sizeof(why)) == 0,
			      "%s: %s", buf, why);
		ck_assert_int_eq(out.kind, in[i].kind);
		ck_assert_int_eq(out.op, in[i].op);
		ck_assert_int_eq(out.by_subscriber, in[i].by_subscriber);
		ck_assert_str_eq(out.subject, in[i].subject);
		ck_assert_str_eq(out.profile, in[i].profile);
		ck_assert_str_eq(out.note, in[i].note);
		ck_assert_str_eq(out.gateway, "gw-a");
		ck_assert_int_eq(out.until, in[i].until);
		ck_assert_int_eq(out.time, in[i].time);
		ck_assert_uint_eq(out.syns, in[i].syns);
		ck_assert_uint_eq(out.distinct, in[i].distinct);
	}
	/* Too small a buffer: no half record. */
	ck_assert_int_eq(cluster_record_encode(&in[0], buf, 20), -1);
}
END_TEST

static void refused(const char *value, const char *key, const char *want)
{
	struct cluster_record r;
	char why[160] = "";

	ck_assert_msg(cluster_record_decode(value, strlen(value), key, &r, why,
					    sizeof(why)) == -1, "%s", value);
	ck_assert_msg(strstr(why, want), "%s: %s, not %s", value, why, want);
}

START_TEST(test_a_hostile_value_is_refused)
{
	static char big[5000];
	struct cluster_record r;
	char why[160];
	const char *ok = "{\"v\":1,\"kind\":\"quarantine\",\"op\":\"release\","
			 "\"subscriber\":\"c1\",\"gateway\":\"gw-b\","
			 "\"time\":\"2026-12-01T00:00:00Z\"}";

	ck_assert_int_eq(cluster_record_decode(ok, strlen(ok), "q.sub.c1", &r,
					       why, sizeof(why)), 0);
	/* Written under another key: a record about c1 cannot change c2. */
	refused(ok, "q.sub.c2", "its key should be q.sub.c1");
	refused(ok, "x.sub.c1", "its key should be");
	refused("{\"v\":2}", NULL, "not version 1");
	refused("[1]", NULL, "not a JSON object");
	refused("{\"v\":1", NULL, "not one JSON object");
	refused("{\"v\":1} {}", NULL, "not one JSON object");
	refused("{\"v\":1,\"kind\":\"exception\",\"op\":\"release\"}", NULL,
		"no such record");
	refused("{\"v\":1,\"kind\":\"quarantine\",\"op\":\"add\"}", NULL,
		"no such record");
	refused("{\"v\":1,\"kind\":\"exception\",\"op\":\"add\","
		"\"subscriber\":\"c1\",\"gateway\":\"gw\","
		"\"time\":\"2026-12-01T00:00:00Z\"}", NULL, "without a profile");
	refused("{\"v\":1,\"kind\":\"quarantine\",\"op\":\"release\","
		"\"subscriber\":\"c1\",\"gateway\":\"gw b\","
		"\"time\":\"2026-12-01T00:00:00Z\"}", NULL, "gateway");
	refused("{\"v\":1,\"kind\":\"quarantine\",\"op\":\"release\","
		"\"subscriber\":\"c\\u00001\",\"gateway\":\"gw\","
		"\"time\":\"2026-12-01T00:00:00Z\"}", NULL, "NUL");
	refused("{\"v\":1,\"kind\":\"quarantine\",\"op\":\"release\","
		"\"subscriber\":\"\",\"gateway\":\"gw\","
		"\"time\":\"2026-12-01T00:00:00Z\"}", NULL, "empty");
	refused("{\"v\":1,\"kind\":\"quarantine\",\"op\":\"release\","
		"\"subscriber\":\"c1\",\"gateway\":\"gw\","
		"\"time\":\"yesterday\"}", NULL, "RFC 3339");
	refused("{\"v\":1,\"kind\":\"quarantine\",\"op\":\"quarantine\","
		"\"subscriber\":\"c1\",\"gateway\":\"gw\",\"syns\":-1,"
		"\"time\":\"2026-12-01T00:00:00Z\"}", NULL, "32-bit");
	refused("{\"v\":1,\"kind\":\"quarantine\",\"op\":\"quarantine\","
		"\"subscriber\":7,\"gateway\":\"gw\"}", NULL, "not a string");
	memset(big, ' ', sizeof(big) - 1);
	refused(big, NULL, "longer than 4096");
	{
		char note[400];

		snprintf(note, sizeof(note), "{\"v\":1,\"kind\":\"exception\","
			 "\"op\":\"add\",\"prefix\":\"100.64.0.0/24\","
			 "\"profile\":\"b\",\"note\":\"%0250d\"}", 7);
		refused(note, NULL, "longer than 199");
	}
}
END_TEST

START_TEST(test_the_newest_revision_wins)
{
	struct ledger l = { 0 };

	/* In order: each applies. */
	ck_assert(ledger_take(&l, "q.sub.a", 5));
	ck_assert(ledger_take(&l, "q.sub.a", 7));
	/* Older than the last seen of its key: not. Another key's: yes. */
	ck_assert(!ledger_take(&l, "q.sub.a", 6));
	ck_assert(!ledger_take(&l, "q.sub.a", 7));
	ck_assert(ledger_take(&l, "q.sub.b", 6));
	/* A local change waits: the bucket's record meanwhile is older
	 * than what it will become, and so is its own echo. */
	ledger_pending(&l, "q.sub.a", 1, 0);
	ck_assert(!ledger_take(&l, "q.sub.a", 9));
	ledger_pending(&l, "q.sub.a", -1, 10);
	ck_assert(!ledger_take(&l, "q.sub.a", 10));
	ck_assert(ledger_take(&l, "q.sub.a", 11));
	/* A change that was dropped leaves nothing waiting. */
	ledger_pending(&l, "x.sub.c", 1, 0);
	ledger_pending(&l, "x.sub.c", 1, 0);
	ledger_pending(&l, "x.sub.c", -1, 0);
	ck_assert(!ledger_take(&l, "x.sub.c", 20));
	ledger_pending(&l, "x.sub.c", -1, 0);
	ck_assert(ledger_take(&l, "x.sub.c", 21));
	/* Many keys: the table grows and keeps them all. */
	for (int i = 0; i < 5000; i++) {
		char k[32];

		snprintf(k, sizeof(k), "q.sub.k%d", i);
		ck_assert(ledger_take(&l, k, 100 + (uint64_t)i));
	}
	for (int i = 0; i < 5000; i++) {
		char k[32];

		snprintf(k, sizeof(k), "q.sub.k%d", i);
		ck_assert(!ledger_take(&l, k, 100 + (uint64_t)i));
	}
	ck_assert(!ledger_take(&l, "q.sub.a", 11));
	ledger_free(&l);
}
END_TEST

START_TEST(test_live_quarantines_are_kept_until_they_end)
{
	struct ledger l = { 0 };
	struct cluster_record q = rec(CLUSTER_QUARANTINE, CLUSTER_QUARANTINED,
				      true, "a");

	q.until = 1000;
	ledger_note(&l, "q.sub.a", &q);
	q.until = 2000;
	ledger_note(&l, "q.sub.b", &q);
	ledger_note(&l, "q.sub.b", &q);
	ck_assert_uint_eq(l.live, 2);
	ledger_expire(&l, 1000);
	ck_assert_uint_eq(l.live, 1);
	q.op = CLUSTER_RELEASED;
	ledger_note(&l, "q.sub.b", &q);
	ck_assert_uint_eq(l.live, 0);
	ledger_free(&l);
}
END_TEST

START_TEST(test_the_state_reads_back)
{
	char dir[] = "/tmp/check-cluster-XXXXXX", path[128];
	struct cluster_state s = { 0 }, t;
	struct cluster_record q[2];
	char err[300];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cluster.b", dir);
	/* No file: an empty state, no error. */
	ck_assert_int_eq(cluster_state_load(path, &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.revision, 0);
	q[0] = rec(CLUSTER_QUARANTINE, CLUSTER_QUARANTINED, true, "c 1");
	q[0].until = 1864600000;
	q[1] = rec(CLUSTER_EXCEPTION, CLUSTER_ADD, false, "100.64.0.0/24");
	s.revision = 123456789012ULL;
	s.quarantines = &q[0];
	s.nquarantines = 1;
	s.queued = &q[1];
	s.nqueued = 1;
	ck_assert_int_eq(cluster_state_save(path, &s), 0);
	ck_assert_int_eq(cluster_state_load(path, &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.revision, 123456789012ULL);
	ck_assert_uint_eq(t.nquarantines, 1);
	ck_assert_str_eq(t.quarantines[0].subject, "c 1");
	ck_assert_int_eq(t.quarantines[0].until, 1864600000);
	ck_assert_uint_eq(t.nqueued, 1);
	ck_assert_str_eq(t.queued[0].subject, "100.64.0.0/24");
	cluster_state_free(&t);

	/* A damaged file is said, with its line. */
	f = fopen(path, "a");
	fputs("live {\"v\":1}\n", f);
	fclose(f);
	ck_assert_int_eq(cluster_state_load(path, &t, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, ":4: "), "%s", err);
	f = fopen(path, "w");
	fputs("something else\n", f);
	fclose(f);
	ck_assert_int_eq(cluster_state_load(path, &t, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not a portcullis cluster state"), "%s", err);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* A server that refuses (loopback, port 1): the cluster is never up. */
static struct cluster *offline(const char *dir, unsigned queue_max)
{
	static const char *const servers[] = { "nats://127.0.0.1:1" };
	struct cluster_config cfg = {
		.servers = servers, .nservers = 1, .gateway = "gw-t",
		.bucket = "b", .state_dir = dir, .queue_max = queue_max,
	};
	char err[300];
	struct cluster *c = cluster_open(&cfg, err, sizeof(err));

	ck_assert_msg(c, "%s", err);
	ck_assert(cluster_same(c, &cfg));
	cfg.gateway = "gw-u";
	ck_assert(!cluster_same(c, &cfg));
	return c;
}

START_TEST(test_without_servers_it_holds_and_queues)
{
	char dir[] = "/tmp/check-cluster-XXXXXX", path[128];
	struct cluster_record q = rec(CLUSTER_QUARANTINE, CLUSTER_QUARANTINED,
				      true, "cust-9"), got[4];
	struct cluster_state s = { 0 };
	struct cluster_status st;
	struct cluster *c;
	char err[300];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cluster.b", dir);
	q.until = time(NULL) + 3600;
	s.revision = 41;
	s.quarantines = &q;
	s.nquarantines = 1;
	ck_assert_int_eq(cluster_state_save(path, &s), 0);

	c = offline(dir, 2);
	/* The state's quarantine is the first thing given, NATS or not. */
	ck_assert_uint_eq(cluster_poll(c, got, 4), 1);
	ck_assert_str_eq(got[0].subject, "cust-9");
	ck_assert_uint_eq(cluster_poll(c, got, 4), 0);
	/* Local changes queue, bounded, the overflow counted. */
	ck_assert_int_eq(cluster_publish(c, &q), 0);
	q.op = CLUSTER_RELEASED;
	ck_assert_int_eq(cluster_publish(c, &q), 0);
	ck_assert_int_eq(cluster_publish(c, &q), -1);
	cluster_status(c, &st);
	ck_assert(!st.connected);
	ck_assert_uint_eq(st.queued, 2);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.revision, 41);
	ck_assert_int_eq(cluster_history(c, NULL, 10, 100, NULL, NULL, err,
					 sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not connected"), "%s", err);
	cluster_close(c);

	/* A restart keeps what was not published yet. */
	c = offline(dir, 0);
	cluster_status(c, &st);
	ck_assert_uint_eq(st.queued, 2);
	ck_assert_uint_eq(st.revision, 41);
	cluster_close(c);
	ck_assert_int_eq(cluster_state_load(path, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.nqueued, 2);
	ck_assert_str_eq(s.queued[0].gateway, "gw-t");
	ck_assert_int_eq(s.queued[1].op, CLUSTER_RELEASED);
	/* Released here: a restart before NATS answers does not bring the
	 * quarantine back. */
	ck_assert_uint_eq(s.nquarantines, 0);
	cluster_state_free(&s);
	unlink(path);
	rmdir(dir);
}
END_TEST

Suite *cluster_suite(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("cluster");

	tcase_add_test(tc, test_keys_name_what_they_are_about);
	tcase_add_test(tc, test_values_read_back_as_written);
	tcase_add_test(tc, test_a_hostile_value_is_refused);
	tcase_add_test(tc, test_the_newest_revision_wins);
	tcase_add_test(tc, test_live_quarantines_are_kept_until_they_end);
	tcase_add_test(tc, test_the_state_reads_back);
	tcase_add_test(tc, test_without_servers_it_holds_and_queues);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
