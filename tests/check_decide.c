// SPDX-License-Identifier: GPL-2.0-or-later
/* policy_decide(): DESIGN.md's decision order on real loaded policies. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/rfc3339.h"
#include "policy/policy.h"
#include "tests/helpers.h"
#include "tests/suites.h"

#define T_2027 1798761600	/* 2027-01-01T00:00:00Z */

/* The policy most tests judge by. */
#define BASE "nested_exceptions.yaml"

static struct policy_decision judge_at(const struct policy *p, const char *src,
				       const char *dst, uint16_t port,
				       int64_t now, bool quarantined)
{
	struct policy_decision d;
	struct policy_flow f = { 0 };

	ck_assert_int_eq(addr_parse(src, &f.src), 0);
	ck_assert_int_eq(addr_parse(dst, &f.dst), 0);
	f.dport = port;
	policy_decide(p, &f, now, quarantined, &d);
	return d;
}

static struct policy_decision judge(const struct policy *p, const char *src,
				    const char *dst, uint16_t port)
{
	return judge_at(p, src, dst, port, T_2027 - 86400, false);
}

static const char *profile_of(const struct policy *p,
			      struct policy_decision d)
{
	return d.profile < 0 ? "(none)" : policy_profile_name(p, d.profile);
}

START_TEST(test_residential_port_25_is_rejected)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_decision d = judge(p, "100.64.3.7", "203.0.113.9", 25);

	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_int_eq(d.verdict, POLICY_REJECT);
	ck_assert_int_eq(d.reason, POLICY_REASON_PORT);
	ck_assert_str_eq(profile_of(p, d), "residential");
	policy_free(p);
}
END_TEST

START_TEST(test_submission_ports_are_accepted)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);

	ck_assert_int_eq(judge(p, "100.64.3.7", "203.0.113.9", 587).verdict,
			 POLICY_ACCEPT);
	ck_assert_int_eq(judge(p, "100.64.3.7", "203.0.113.9", 465).verdict,
			 POLICY_ACCEPT);
	policy_free(p);
}
END_TEST

START_TEST(test_nested_exception_beats_aggregate)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_decision d = judge(p, "100.64.12.7", "203.0.113.9", 25);
	struct policy_entry_info e;

	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_str_eq(profile_of(p, d), "business");
	ck_assert_int_eq(policy_entry_info(p, d.entry, &e), 0);
	ck_assert_str_eq(e.prefix, "100.64.12.0/28");
	ck_assert_str_eq(e.note, "ACME");
	policy_free(p);
}
END_TEST

START_TEST(test_longer_live_prefix_inside_exception_wins)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	/* 100.64.12.8/29 (strict, live before 2027) sits inside the /28. */
	struct policy_decision d = judge(p, "100.64.12.9", "203.0.113.9", 25);

	ck_assert_str_eq(profile_of(p, d), "strict");
	ck_assert_int_eq(d.verdict, POLICY_DROP);
	ck_assert_int_eq(d.reason, POLICY_REASON_DEFAULT);
	policy_free(p);
}
END_TEST

START_TEST(test_expired_exception_falls_back_to_parent)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_decision d;

	d = judge_at(p, "100.64.12.9", "203.0.113.9", 25, T_2027 - 1, false);
	ck_assert_str_eq(profile_of(p, d), "strict");
	/* Expiry is the first second the entry no longer matches. */
	d = judge_at(p, "100.64.12.9", "203.0.113.9", 25, T_2027, false);
	ck_assert_str_eq(profile_of(p, d), "business");
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	policy_free(p);
}
END_TEST

START_TEST(test_equal_length_siblings_stay_apart)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);

	ck_assert_str_eq(profile_of(p, judge(p, "100.64.12.7", "203.0.113.9",
					      25)), "business");
	ck_assert_str_eq(profile_of(p, judge(p, "100.64.12.16", "203.0.113.9",
					      25)), "strict");
	ck_assert_str_eq(profile_of(p, judge(p, "100.64.12.32", "203.0.113.9",
					      25)), "residential");
	policy_free(p);
}
END_TEST

START_TEST(test_host_route_32_and_128)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);

	ck_assert_str_eq(profile_of(p, judge(p, "100.64.99.7", "203.0.113.9",
					      25)), "business");
	ck_assert_str_eq(profile_of(p, judge(p, "100.64.99.6", "203.0.113.9",
					      25)), "residential");
	ck_assert_str_eq(profile_of(p, judge(p, "2001:db8:1000::25",
					      "2001:db8:2::1", 25)),
			 "business");
	ck_assert_str_eq(profile_of(p, judge(p, "2001:db8:1000::26",
					      "2001:db8:2::1", 25)),
			 "residential");
	policy_free(p);
}
END_TEST

START_TEST(test_relay_is_accepted_before_anything)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_decision d = judge(p, "100.64.3.7", "192.0.2.25", 25);

	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_int_eq(d.reason, POLICY_REASON_RELAY);
	d = judge_at(p, "100.64.3.7", "192.0.2.25", 25, T_2027, true);
	ck_assert_int_eq(d.reason, POLICY_REASON_RELAY);
	d = judge(p, "2001:db8:1000::1", "2001:db8:25::25", 25);
	ck_assert_int_eq(d.reason, POLICY_REASON_RELAY);
	policy_free(p);
}
END_TEST

START_TEST(test_non_subscriber_passes)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_decision d = judge(p, "198.51.100.7", "203.0.113.9", 25);

	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_int_eq(d.reason, POLICY_REASON_NOT_SUBSCRIBER);
	ck_assert_int_eq(d.entry, -1);
	ck_assert_int_eq(d.profile, -1);
	/* Quarantine only applies to subscribers (decision step 2 first). */
	d = judge_at(p, "198.51.100.7", "203.0.113.9", 25, 0, true);
	ck_assert_int_eq(d.reason, POLICY_REASON_NOT_SUBSCRIBER);
	d = judge(p, "2001:db8:2::7", "2001:db8:3::1", 25);
	ck_assert_int_eq(d.reason, POLICY_REASON_NOT_SUBSCRIBER);
	policy_free(p);
}
END_TEST

START_TEST(test_unlisted_port_takes_profile_default_then_accept)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_decision d;

	d = judge(p, "100.64.3.7", "203.0.113.9", 443);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_int_eq(d.reason, POLICY_REASON_DEFAULT);
	d = judge(p, "100.64.12.20", "203.0.113.9", 443);
	ck_assert_int_eq(d.verdict, POLICY_DROP);
	ck_assert_int_eq(d.reason, POLICY_REASON_DEFAULT);
	d = judge(p, "100.64.12.20", "203.0.113.9", 80);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_int_eq(d.reason, POLICY_REASON_PORT);
	policy_free(p);
}
END_TEST

START_TEST(test_quarantine_applies_detection_profile_to_all_mail_ports)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_decision d;

	d = judge_at(p, "100.64.3.7", "203.0.113.9", 587, 0, true);
	ck_assert_int_eq(d.verdict, POLICY_DROP);
	ck_assert_int_eq(d.reason, POLICY_REASON_QUARANTINE);
	ck_assert_str_eq(profile_of(p, d), "quarantine");
	/* A business subscriber, allowed 25, is held too. */
	d = judge_at(p, "100.64.12.7", "203.0.113.9", 25, 0, true);
	ck_assert_int_eq(d.verdict, POLICY_DROP);
	/* Ports the quarantine profile does not list: its default. */
	d = judge_at(p, "100.64.3.7", "203.0.113.9", 443, 0, true);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	policy_free(p);
}
END_TEST

START_TEST(test_monitor_mode_logs_the_action_but_accepts)
{
	struct policy *p = tests_fixture_policy(BASE, "mode: monitor\n");
	struct policy_decision d;

	ck_assert_int_eq(policy_mode(p), POLICY_MODE_MONITOR);
	d = judge(p, "100.64.3.7", "203.0.113.9", 25);
	ck_assert_int_eq(d.action, POLICY_REJECT);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	policy_free(p);
}
END_TEST

START_TEST(test_v4_mapped_v6_source_is_judged_as_ipv4)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_decision d;

	d = judge(p, "::ffff:100.64.3.7", "::ffff:203.0.113.9", 25);
	ck_assert_int_eq(d.verdict, POLICY_REJECT);
	ck_assert_str_eq(profile_of(p, d), "residential");
	d = judge(p, "::ffff:100.64.3.7", "::ffff:192.0.2.25", 25);
	ck_assert_int_eq(d.reason, POLICY_REASON_RELAY);
	policy_free(p);
}
END_TEST

START_TEST(test_zero_length_prefix_covers_everything)
{
	static const char yaml[] =
		"version: 1\n"
		"profiles: { residential: { ports: { 25: reject } } }\n"
		"subscribers:\n"
		"  - { prefix: 0.0.0.0/0, profile: residential }\n"
		"  - { prefix: '::/0', profile: residential }\n";
	struct policy *p = tests_policy(yaml);

	ck_assert_int_eq(judge(p, "0.0.0.0", "203.0.113.9", 25).verdict,
			 POLICY_REJECT);
	ck_assert_int_eq(judge(p, "255.255.255.255", "203.0.113.9",
			       25).verdict, POLICY_REJECT);
	ck_assert_int_eq(judge(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
			       "2001:db8::1", 25).verdict, POLICY_REJECT);
	policy_free(p);
}
END_TEST

START_TEST(test_aggregates_are_the_outermost_entries)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_entry_info e;
	int32_t ids[8];

	ck_assert_uint_eq(policy_aggregates(p, AF_INET, ids, 8), 1);
	ck_assert_int_eq(policy_entry_info(p, ids[0], &e), 0);
	ck_assert_str_eq(e.prefix, "100.64.0.0/10");
	ck_assert_uint_eq(policy_aggregates(p, AF_INET6, ids, 8), 1);
	ck_assert_int_eq(policy_entry_info(p, ids[0], &e), 0);
	ck_assert_str_eq(e.prefix, "2001:db8:1000::/36");
	ck_assert_uint_eq(policy_expiring(p, T_2027 - 3 * 86400, 7 * 86400,
					  ids, 8), 1);
	ck_assert_int_eq(policy_entry_info(p, ids[0], &e), 0);
	ck_assert_str_eq(e.prefix, "100.64.12.8/29");
	ck_assert_int_eq(e.expires, T_2027);
	policy_free(p);
}
END_TEST

START_TEST(test_ports_blocked_by_a_subscriber_profile_fail_closed)
{
	static const char yaml[] =
		"version: 1\n"
		"profiles:\n"
		"  residential: { ports: { 25: reject, 465: accept, 587: accept } }\n"
		"  quarantine: { ports: { 25: drop, 465: drop, 587: drop, 2525: drop } }\n"
		"subscribers: [ { prefix: 100.64.0.0/10, profile: residential } ]\n"
		"detection: { ports: [25, 26], window: 60s, syns: 100,\n"
		"  distinct_destinations: 20, action: quarantine,\n"
		"  quarantine_for: 1h, profile: quarantine }\n";
	struct policy *p = tests_policy(yaml);
	struct policy_port ports[8];
	bool all;

	ck_assert_uint_eq(policy_ports(p, ports, 8, &all), 5);
	ck_assert(!all);
	ck_assert_uint_eq(ports[0].port, 25);
	ck_assert(ports[0].fail_closed);
	ck_assert_uint_eq(ports[1].port, 26);
	ck_assert(!ports[1].fail_closed);
	ck_assert_uint_eq(ports[2].port, 465);
	ck_assert(!ports[2].fail_closed);
	ck_assert_uint_eq(ports[3].port, 587);
	ck_assert(!ports[3].fail_closed);
	/* Only the quarantine profile blocks 2525: it fails open. */
	ck_assert_uint_eq(ports[4].port, 2525);
	ck_assert(!ports[4].fail_closed);
	policy_free(p);
}
END_TEST

START_TEST(test_blocking_default_queues_every_port)
{
	struct policy *p = tests_fixture_policy(BASE, NULL);
	struct policy_port ports[8];
	bool all;

	policy_ports(p, ports, 8, &all);
	ck_assert(all);	/* profile strict: default drop */
	policy_free(p);
}
END_TEST

/*
 * policy_decide_many() on a burst mixing every kind of flow (relay, both
 * families, exceptions alive and expired, non-subscribers, each port)
 * decides each exactly as policy_decide() does, in both modes.
 */
START_TEST(test_decide_many_matches_decide_one_by_one)
{
	static const char *const srcs[] = {
		"100.64.0.9", "100.64.12.3", "100.64.12.9", "100.64.12.17",
		"100.64.99.7", "192.0.2.77", "2001:db8:1000::25",
		"2001:db8:1000::26", "2001:db8:3::7", "::ffff:100.64.12.3",
	};
	static const char *const dsts[] = {
		"203.0.113.9", "192.0.2.25", "2001:db8:25::25", "2001:db8:2::1",
	};
	static const uint16_t ports[] = { 25, 80, 465, 587, 2525 };
	enum { N = 150 };
	struct policy_flow flows[N] = { 0 };
	struct policy_decision many[N], one;
	const struct policy_flow *fp[N];
	struct policy_decision *dp[N];

	for (int mode = 0; mode < 2; mode++) {
		const char *more = mode ? "mode: monitor\n" : NULL;
		struct policy *p = tests_fixture_policy(BASE, more);

		for (size_t i = 0; i < N; i++) {
			ck_assert_int_eq(addr_parse(srcs[i % 10],
						    &flows[i].src), 0);
			ck_assert_int_eq(addr_parse(dsts[i / 10 % 4],
						    &flows[i].dst), 0);
			flows[i].dport = ports[i / 3 % 5];
			fp[i] = &flows[i];
			dp[i] = &many[i];
		}
		/* Before and after the /29's expiry, one burst each. */
		for (int64_t now = T_2027 - 1; now <= T_2027; now++) {
			memset(many, 0xa5, sizeof(many));
			policy_decide_many(p, fp, N, now, dp);
			for (size_t i = 0; i < N; i++) {
				policy_decide(p, &flows[i], now, false, &one);
				ck_assert_msg(memcmp(&one, &many[i],
						     sizeof(one)) == 0,
					      "flow %zu (%s, port %u) at %lld "
					      "decided otherwise", i,
					      srcs[i % 10], flows[i].dport,
					      (long long)now);
			}
		}
		policy_free(p);
	}
}
END_TEST

START_TEST(test_time_parse_and_format_round_trip)
{
	int64_t t;
	char buf[32];

	ck_assert_int_eq(rfc3339_parse("2027-01-01T00:00:00Z", &t), 0);
	ck_assert_int_eq(t, T_2027);
	ck_assert_str_eq(rfc3339_format(t, buf, sizeof(buf)),
			 "2027-01-01T00:00:00Z");
	ck_assert_int_eq(rfc3339_parse("2027-01-01T02:00:00+02:00", &t),
			 0);
	ck_assert_int_eq(t, T_2027);
	ck_assert_int_eq(rfc3339_parse("2024-02-29T12:00:00.5Z", &t), 0);
	ck_assert_int_eq(rfc3339_parse("2025-02-29T12:00:00Z", &t), -1);
	ck_assert_int_eq(rfc3339_parse("2027-01-01", &t), -1);
	ck_assert_int_eq(rfc3339_parse("2027-13-01T00:00:00Z", &t), -1);
	ck_assert_int_eq(rfc3339_parse("2027-01-01T00:00:00Zjunk", &t),
			 -1);
}
END_TEST

Suite *decide_suite(void)
{
	Suite *s = suite_create("decide");
	TCase *tc = tcase_create("decide");

	tcase_add_test(tc, test_residential_port_25_is_rejected);
	tcase_add_test(tc, test_submission_ports_are_accepted);
	tcase_add_test(tc, test_nested_exception_beats_aggregate);
	tcase_add_test(tc, test_longer_live_prefix_inside_exception_wins);
	tcase_add_test(tc, test_expired_exception_falls_back_to_parent);
	tcase_add_test(tc, test_equal_length_siblings_stay_apart);
	tcase_add_test(tc, test_host_route_32_and_128);
	tcase_add_test(tc, test_relay_is_accepted_before_anything);
	tcase_add_test(tc, test_non_subscriber_passes);
	tcase_add_test(tc, test_unlisted_port_takes_profile_default_then_accept);
	tcase_add_test(tc,
		       test_quarantine_applies_detection_profile_to_all_mail_ports);
	tcase_add_test(tc, test_monitor_mode_logs_the_action_but_accepts);
	tcase_add_test(tc, test_v4_mapped_v6_source_is_judged_as_ipv4);
	tcase_add_test(tc, test_zero_length_prefix_covers_everything);
	tcase_add_test(tc, test_aggregates_are_the_outermost_entries);
	tcase_add_test(tc, test_ports_blocked_by_a_subscriber_profile_fail_closed);
	tcase_add_test(tc, test_blocking_default_queues_every_port);
	tcase_add_test(tc, test_decide_many_matches_decide_one_by_one);
	tcase_add_test(tc, test_time_parse_and_format_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
