// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cluster/ under attack: a local change and a remote one racing for the
 * same key, a newer record that arrives expired, the state file after a
 * quarantine queued and released before NATS took either. No server:
 * the watch's and the publisher's bookkeeping are driven through
 * cluster_file() and cluster_published() (cluster/internal.h).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocklog/blocklog.h"
#include "cluster/cluster.h"
#include "cluster/internal.h"
#include "common/strbuf.h"
#include "filter/cluster.h"
#include "filter/daemon.h"
#include "filter/except.h"
#include "filter/generation.h"
#include "stats/stats.h"
#include "tests/helpers.h"
#include "tests/suites.h"

Suite *cluster_review_suite(void);

static struct cluster_record rec(uint8_t kind, uint8_t op, bool sub,
				 const char *subject, const char *gateway)
{
	struct cluster_record r = {
		.kind = kind, .op = op, .by_subscriber = sub,
		.time = 1764600000,
	};

	snprintf(r.subject, sizeof(r.subject), "%s", subject);
	snprintf(r.gateway, sizeof(r.gateway), "%s", gateway);
	if (kind == CLUSTER_EXCEPTION && op == CLUSTER_ADD)
		snprintf(r.profile, sizeof(r.profile), "business");
	return r;
}

static struct cluster *offline(const char *dir)
{
	static const char *const servers[] = { "nats://127.0.0.1:1" };
	struct cluster_config cfg = {
		.servers = servers, .nservers = 1, .gateway = "gw-t",
		.bucket = "b", .state_dir = dir,
	};
	char err[300];
	struct cluster *c = cluster_open(&cfg, err, sizeof(err));

	ck_assert_msg(c, "%s", err);
	return c;
}

static void cleanup(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/cluster.b", dir);
	unlink(path);
	rmdir(dir);
}

/*
 * This gateway's change to a key is stored at revision 7; another
 * gateway's to the same key at 8 reaches the watch before the put's
 * answer does. Every other gateway ends with 8: so must this one.
 */
START_TEST(test_a_remote_record_stored_after_a_local_one_in_flight_wins)
{
	char dir[] = "/tmp/check-cluster-review-XXXXXX";
	struct cluster_record mine = rec(CLUSTER_EXCEPTION, CLUSTER_ADD, true,
					 "cust-1", "gw-t"),
			      theirs = rec(CLUSTER_EXCEPTION, CLUSTER_DEL, true,
					   "cust-1", "gw-a"), got[4];
	char key[CLUSTER_KEY_MAX + 1];
	struct cluster *c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	c = offline(dir);
	ck_assert_int_eq(cluster_record_key(&mine, key, sizeof(key)), 0);
	ck_assert_int_eq(cluster_publish(c, &mine), 0);
	theirs.revision = 8;
	ck_assert(!cluster_file(c, key, &theirs));
	ck_assert_uint_eq(cluster_poll(c, got, 4), 0);
	cluster_published(c, 7);
	ck_assert_uint_eq(cluster_poll(c, got, 4), 1);
	ck_assert_uint_eq(got[0].revision, 8);
	ck_assert_int_eq(got[0].op, CLUSTER_DEL);
	ck_assert_str_eq(got[0].gateway, "gw-a");
	/* Its echo, and the rest, as before. */
	mine.revision = 7;
	ck_assert(!cluster_file(c, key, &mine));
	theirs.revision = 8;
	ck_assert(!cluster_file(c, key, &theirs));

	/* Stored before the local change: the local one wins. */
	ck_assert_int_eq(cluster_publish(c, &mine), 0);
	theirs.revision = 9;
	ck_assert(!cluster_file(c, key, &theirs));
	cluster_published(c, 10);
	ck_assert_uint_eq(cluster_poll(c, got, 4), 0);
	cluster_close(c);
	cleanup(dir);
}
END_TEST

/*
 * A quarantine begun here and released here, both queued; the first is
 * published. A restart before the release is must not bring the
 * quarantine back.
 */
START_TEST(test_a_release_still_queued_is_not_undone_by_its_quarantine)
{
	char dir[] = "/tmp/check-cluster-review-XXXXXX", path[128], err[300];
	struct cluster_record q = rec(CLUSTER_QUARANTINE, CLUSTER_QUARANTINED,
				      true, "cust-2", "gw-t");
	struct cluster_state s;
	struct cluster *c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cluster.b", dir);
	c = offline(dir);
	q.until = time(NULL) + 3600;
	ck_assert_int_eq(cluster_publish(c, &q), 0);
	q.op = CLUSTER_RELEASED;
	q.until = 0;
	ck_assert_int_eq(cluster_publish(c, &q), 0);
	cluster_published(c, 5);
	cluster_close(c);
	ck_assert_int_eq(cluster_state_load(path, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.nqueued, 1);
	ck_assert_uint_eq(s.nquarantines, 0);
	cluster_state_free(&s);
	cleanup(dir);
}
END_TEST

/*
 * Gateway A adds an exception for ever (revision 5), then replaces it
 * with one of an hour (6). A gateway away for two hours gets 6 expired:
 * it must not keep 5's for ever.
 */
START_TEST(test_a_newer_record_that_expired_still_ends_the_older_one)
{
	char dir[] = "/tmp/check-cluster-review-XXXXXX";
	struct cluster_record x = rec(CLUSTER_EXCEPTION, CLUSTER_ADD, false,
				      "100.64.0.0/24", "gw-a"),
			      q = rec(CLUSTER_QUARANTINE, CLUSTER_QUARANTINED,
				      true, "cust-3", "gw-a"), got[4];
	char key[CLUSTER_KEY_MAX + 1], qkey[CLUSTER_KEY_MAX + 1];
	struct cluster *c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	c = offline(dir);
	ck_assert_int_eq(cluster_record_key(&x, key, sizeof(key)), 0);
	x.revision = 5;
	ck_assert(cluster_file(c, key, &x));
	ck_assert_uint_eq(cluster_poll(c, got, 4), 1);
	x.revision = 6;
	x.until = time(NULL) - 3600;
	cluster_file(c, key, &x);
	ck_assert_uint_eq(cluster_poll(c, got, 4), 1);
	ck_assert_int_eq(got[0].op, CLUSTER_DEL);
	ck_assert_str_eq(got[0].subject, "100.64.0.0/24");
	ck_assert_uint_eq(got[0].revision, 6);

	/* A quarantine alike: a renewal that ended ends it. */
	ck_assert_int_eq(cluster_record_key(&q, qkey, sizeof(qkey)), 0);
	q.revision = 7;
	q.until = time(NULL) + 86400;
	ck_assert(cluster_file(c, qkey, &q));
	q.revision = 8;
	q.until = time(NULL) - 60;
	cluster_file(c, qkey, &q);
	ck_assert_uint_eq(cluster_poll(c, got, 4), 2);
	ck_assert_int_eq(got[1].op, CLUSTER_RELEASED);
	ck_assert_uint_eq(got[1].revision, 8);
	cluster_close(c);
	cleanup(dir);
}
END_TEST

/*
 * Another gateway's exception names a profile this policy does not
 * have (a fleet whose policies differ, or a hostile writer): it is not
 * applied, the rest of its batch is, and this policy is not loaded
 * again for it (each load reads the policy file and its lists whole,
 * on the main thread; a failed one counts as a failed reload).
 */
START_TEST(test_an_exception_of_a_profile_this_policy_lacks_costs_no_load)
{
	static struct daemon d;
	char dir[] = "/tmp/check-cluster-review-XXXXXX", path[160];
	struct blocklog_config bc = { .producers = 2, .ring_slots = 64,
				      .no_writer_thread = true };
	struct except_change ch[3];
	struct strbuf errs = { 0 };
	struct policy *p;

	memset(&d, 0, sizeof(d));
	memset(ch, 0, sizeof(ch));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	pthread_mutex_init(&d.generation_lock, NULL);
	d.opts.policy_path = "tests/fixtures/example_without_expiry.yaml";
	d.opts.state_dir = dir;
	d.blocklog = blocklog_open(&bc);
	ck_assert_ptr_nonnull(d.blocklog);
	p = daemon_load(d.opts.policy_path, NULL, 0, &errs);
	ck_assert_msg(p, "%s", errs.s ? errs.s : "");
	ck_assert_int_eq(daemon_swap(&d, p), 0);
	{
		struct stats_config sc = { 0 };

		stats_config_from_policy(&sc, p);
		sc.threads = 1;
		d.stats = stats_open(&sc, d.blocklog);
		ck_assert_ptr_nonnull(d.stats);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(ch[i].e.prefix, sizeof(ch[i].e.prefix),
			 "100.64.%d.0/24", i + 1);
		snprintf(ch[i].e.profile, sizeof(ch[i].e.profile), "%s",
			 i == 1 ? "nosuch" : "business");
		snprintf(ch[i].gateway, sizeof(ch[i].gateway), "gw-a");
	}
	except_apply(&d, ch, 3);
	ck_assert_uint_eq(d.nex, 2);
	ck_assert_str_eq(d.ex[0].prefix, "100.64.1.0/24");
	ck_assert_str_eq(d.ex[1].prefix, "100.64.3.0/24");
	ck_assert_uint_eq(atomic_load(&d.load_failures), 0);
	ck_assert_uint_eq(atomic_load(&d.loads), 1);

	stats_close(d.stats);
	generation_free(atomic_load(&d.generation));
	free(d.ex);
	blocklog_close(d.blocklog);
	pthread_mutex_destroy(&d.generation_lock);
	strbuf_free(&errs);
	snprintf(path, sizeof(path), "%s/exceptions.yaml", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

/*
 * A quarantine without an end (a hostile or broken writer): stats would
 * hold it until 0, that is release it at the next tick with a release
 * line dated 1970. Detection always gives one: the value is refused.
 */
START_TEST(test_a_quarantine_without_an_end_is_refused)
{
	static const char v[] = "{\"v\":1,\"kind\":\"quarantine\","
		"\"op\":\"quarantine\",\"subscriber\":\"cust-4\","
		"\"gateway\":\"gw-a\",\"time\":\"2026-12-01T00:00:00Z\"}";
	struct cluster_record r;
	char why[160] = "";

	ck_assert_int_eq(cluster_record_decode(v, strlen(v), "q.sub.cust-4",
					       &r, why, sizeof(why)), -1);
	ck_assert_msg(strstr(why, "until"), "%s", why);
}
END_TEST

/*
 * One subject, one key: "_39" is how no gateway writes '9', so a key
 * spelling it so (a delete marker anyone with write access to the
 * bucket can leave) is not that subject's (its ledger entry, its newest
 * revision, would be another's). Found by fuzz_cluster_record.
 */
START_TEST(test_a_key_escaping_what_needs_no_escape_is_none_of_ours)
{
	struct cluster_record r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(cluster_key_parse("x.sub.a_39b", &r), -1);
	ck_assert_int_eq(cluster_key_parse("q.sub._2D", &r), -1);
	ck_assert_int_eq(cluster_key_parse("x.sub.a_2Eb", &r), 0);
	ck_assert_str_eq(r.subject, "a.b");
	ck_assert_int_eq(cluster_key_parse("x.sub._C3_A9", &r), 0);
}
END_TEST

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A gateway new to a large bucket reads it whole into the inbox; the
 * main thread takes it 512 at a time. Each take must not move the rest
 * (the lock is held meanwhile: the watch and the verdict threads'
 * quarantines wait on it): taking all is linear, not quadratic.
 */
START_TEST(test_taking_a_large_inbox_is_linear)
{
	enum { N = 200000 };
	char dir[] = "/tmp/check-cluster-review-XXXXXX";
	char key[CLUSTER_KEY_MAX + 1];
	static struct cluster_record got[512];
	struct cluster_record x = rec(CLUSTER_EXCEPTION, CLUSTER_ADD, true,
				      "", "gw-a");
	struct cluster *c;
	size_t n, total = 0;
	double t0, took;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	c = offline(dir);
	for (int i = 0; i < N; i++) {
		snprintf(x.subject, sizeof(x.subject), "cust-%d", i);
		x.revision = (uint64_t)i + 1;
		ck_assert_int_eq(cluster_record_key(&x, key, sizeof(key)), 0);
		ck_assert(cluster_file(c, key, &x));
	}
	t0 = mono_s();
	while ((n = cluster_poll(c, got, 512)))
		total += n;
	took = mono_s() - t0;
	ck_assert_uint_eq(total, N);
	ck_assert_msg(took < 1.0, "taking %d records took %.2f s", N, took);
	cluster_close(c);
	cleanup(dir);
}
END_TEST

/*
 * A bucket made anew (its last revision below the one seen): the watch
 * reads it from its start, so every key's revision is forgotten; but a
 * change queued here still waits and must still win over what is read
 * meanwhile, and the quarantines held here stay held.
 */
START_TEST(test_a_bucket_made_anew_keeps_what_waits_here)
{
	struct ledger l = { 0 };
	struct cluster_record q = rec(CLUSTER_QUARANTINE, CLUSTER_QUARANTINED,
				      true, "cust-5", "gw-t");

	q.until = time(NULL) + 3600;
	ck_assert(ledger_take(&l, "q.sub.cust-5", 90));
	ledger_note(&l, "q.sub.cust-5", &q);
	ledger_pending(&l, "x.sub.cust-6", 1, 0);
	ck_assert(ledger_take(&l, "x.sub.cust-7", 95));
	ledger_forget_revisions(&l);
	ck_assert(ledger_take(&l, "x.sub.cust-7", 2));
	ck_assert(!ledger_take(&l, "x.sub.cust-6", 3));
	ck_assert_uint_eq(l.live, 1);
	ledger_free(&l);
}
END_TEST

/*
 * Another gateway's exception for a prefix not written as this one
 * writes it ("100.64.3.7" for 100.64.3.7/32): refused, with a line that
 * says why, not the canonical form alone.
 */
START_TEST(test_a_prefix_not_normalised_is_refused_saying_why)
{
	static struct daemon d;
	char dir[] = "/tmp/check-cluster-review-XXXXXX", out[] =
		"/tmp/check-cluster-review-log-XXXXXX";
	struct cluster_record x = rec(CLUSTER_EXCEPTION, CLUSTER_ADD, false,
				      "100.64.3.7", "gw-a");
	char key[CLUSTER_KEY_MAX + 1], *text;
	struct strbuf errs = { 0 };
	int fd, saved;

	memset(&d, 0, sizeof(d));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	pthread_mutex_init(&d.generation_lock, NULL);
	pthread_mutex_init(&d.cluster_lock, NULL);
	d.opts.policy_path = "tests/fixtures/example_without_expiry.yaml";
	d.opts.state_dir = dir;
	ck_assert_int_eq(daemon_swap(&d, daemon_load(d.opts.policy_path, NULL,
						     0, &errs)), 0);
	d.cluster = offline(dir);
	ck_assert_int_eq(cluster_record_key(&x, key, sizeof(key)), 0);
	x.revision = 3;
	ck_assert(cluster_file(d.cluster, key, &x));

	fd = mkstemp(out);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	shared_apply(&d);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	text = tests_slurp(out, NULL);
	ck_assert_msg(strstr(text, "100.64.3.7/32") &&
		      strstr(text, "not written as"), "%s", text);
	ck_assert_uint_eq(d.nex, 0);
	free(text);
	unlink(out);

	shared_close(&d);
	generation_free(atomic_load(&d.generation));
	strbuf_free(&errs);
	cleanup(dir);
}
END_TEST

Suite *cluster_review_suite(void)
{
	Suite *s = suite_create("cluster_review");
	TCase *tc = tcase_create("cluster_review");

	tcase_add_test(tc,
		test_a_remote_record_stored_after_a_local_one_in_flight_wins);
	tcase_add_test(tc,
		test_a_release_still_queued_is_not_undone_by_its_quarantine);
	tcase_add_test(tc,
		test_a_newer_record_that_expired_still_ends_the_older_one);
	tcase_add_test(tc,
		test_an_exception_of_a_profile_this_policy_lacks_costs_no_load);
	tcase_add_test(tc, test_a_quarantine_without_an_end_is_refused);
	tcase_add_test(tc,
		test_a_key_escaping_what_needs_no_escape_is_none_of_ours);
	tcase_add_test(tc, test_taking_a_large_inbox_is_linear);
	tcase_add_test(tc, test_a_bucket_made_anew_keeps_what_waits_here);
	tcase_add_test(tc, test_a_prefix_not_normalised_is_refused_saying_why);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
