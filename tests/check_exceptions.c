// SPDX-License-Identifier: GPL-2.0-or-later
/* Live exceptions: how they join the policy, and their state file. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/suites.h"

static char dir[] = "/tmp/portcullis-except-XXXXXX";
static char yaml_path[256];

static void setup(void)
{
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(yaml_path, sizeof(yaml_path), "%s/policy.yaml", dir);
	f = fopen(yaml_path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("version: 1\n"
	      "profiles:\n"
	      "  residential: { ports: { 25: reject } }\n"
	      "  business: { ports: { 25: accept } }\n"
	      "subscribers:\n"
	      "  - { prefix: 100.64.0.0/10, profile: residential }\n"
	      "  - { prefix: 100.64.12.0/28, profile: business }\n", f);
	fclose(f);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	strcpy(dir, "/tmp/portcullis-except-XXXXXX");
}

static enum policy_action judge(const struct policy *p, const char *src,
				int64_t now)
{
	struct policy_decision d;
	struct policy_flow f = { .dport = 25 };

	policy_addr_parse(src, &f.src);
	policy_addr_parse("203.0.113.9", &f.dst);
	policy_decide(p, &f, now, false, &d);
	return d.verdict;
}

START_TEST(test_exception_beats_file_entry_of_same_prefix)
{
	struct policy_exception ex = { .prefix = "100.64.12.0/28",
				       .profile = "residential",
				       .expires = 2000, .note = "hold" };
	struct policy_errors errs = { 0 };
	struct policy_entry_info e;
	struct policy *p = policy_load_ex(yaml_path, &ex, 1, &errs);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(judge(p, "100.64.12.5", 1000), POLICY_REJECT);
	ck_assert_int_eq(policy_entry_info(p, policy_lookup(p, &(struct
		policy_addr){ .b = { [10] = 0xff, [11] = 0xff, [12] = 100,
		[13] = 64, [14] = 12, [15] = 5 } }, 1000), &e), 0);
	ck_assert_str_eq(e.note, "hold");
	ck_assert_str_eq(e.file, "live exception");
	/* The file's entry was replaced, not shadowed: past the expiry the
	 * parent decides, and the state file's next rebuild drops it. */
	ck_assert_int_eq(judge(p, "100.64.12.5", 2000), POLICY_REJECT);
	ck_assert_uint_eq(policy_entry_count(p, AF_INET), 2);
	policy_free(p);
	p = policy_load_ex(yaml_path, NULL, 0, &errs);
	ck_assert_int_eq(judge(p, "100.64.12.5", 1000), POLICY_ACCEPT);
	policy_free(p);
}
END_TEST

START_TEST(test_longest_prefix_still_wins_over_exception)
{
	struct policy_exception ex = { .prefix = "100.64.0.0/16",
				       .profile = "business" };
	struct policy *p = policy_load_ex(yaml_path, &ex, 1, NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(judge(p, "100.64.3.3", 0), POLICY_ACCEPT);
	ck_assert_int_eq(judge(p, "100.65.3.3", 0), POLICY_REJECT);
	policy_free(p);
}
END_TEST

START_TEST(test_exception_with_unknown_profile_fails_the_load)
{
	struct policy_exception ex = { .prefix = "100.64.0.0/16",
				       .profile = "gold" };
	struct policy_errors errs = { 0 };

	ck_assert_ptr_null(policy_load_ex(yaml_path, &ex, 1, &errs));
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_ptr_nonnull(strstr(errs.msg[0], "/policy.yaml: live "
		"exception 100.64.0.0/16 names profile \"gold\", which the "
		"policy does not define; delete the exception or restore "
		"the profile"));
	policy_errors_free(&errs);
}
END_TEST

START_TEST(test_state_file_round_trips_awkward_notes)
{
	struct policy_exception in[2] = {
		{ .prefix = "100.64.0.0/24", .profile = "business",
		  .added = 1795829025, .expires = 1795915425,
		  .note = "ACME \"mail\" \\ ticket: 4411 # not a comment" },
		{ .prefix = "2001:db8:1::/48", .profile = "residential",
		  .added = 1795829025 },
	}, *out;
	char path[300];
	size_t n;

	snprintf(path, sizeof(path), "%s/exceptions.yaml", dir);
	ck_assert_int_eq(policy_exceptions_save(path, in, 2), 0);
	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, NULL), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(memcmp(out, in, sizeof(in)), 0);
	free(out);
	ck_assert_int_eq(policy_exceptions_save(path, in, 0), 0);
	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, NULL), 0);
	ck_assert_uint_eq(n, 0);
	free(out);
}
END_TEST

START_TEST(test_missing_state_file_is_empty_and_broken_one_is_an_error)
{
	struct policy_errors errs = { 0 };
	struct policy_exception *out;
	char path[300];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/none.yaml", dir);
	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, &errs), 0);
	ck_assert_uint_eq(n, 0);
	snprintf(path, sizeof(path), "%s/bad.yaml", dir);
	f = fopen(path, "w");
	fputs("- prefix: 100.64.0.0/24\n  colour: blue\n", f);
	fclose(f);
	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, &errs), -1);
	ck_assert_uint_ge(errs.count, 1);
	ck_assert_ptr_nonnull(strstr(errs.msg[0], "bad.yaml:2:3: unexpected "
				     "\"colour\""));
	policy_errors_free(&errs);
}
END_TEST

START_TEST(test_prefix_normalize_says_what_is_wrong)
{
	char out[64];

	ck_assert_int_eq(policy_prefix_normalize("100.64.0.0/10", out,
						 sizeof(out)), 0);
	ck_assert_str_eq(out, "100.64.0.0/10");
	ck_assert_int_eq(policy_prefix_normalize("2001:DB8::/32", out,
						 sizeof(out)), 0);
	ck_assert_str_eq(out, "2001:db8::/32");
	ck_assert_int_eq(policy_prefix_normalize("100.64.0.7", out,
						 sizeof(out)), 0);
	ck_assert_str_eq(out, "100.64.0.7/32");
	ck_assert_int_eq(policy_prefix_normalize("100.64.0.7/24", out,
						 sizeof(out)), -1);
	ck_assert_str_eq(out, "100.64.0.7/24 has host bits set; did you mean "
			 "100.64.0.0/24?");
	ck_assert_int_eq(policy_prefix_normalize("banana", out, sizeof(out)),
			 -1);
}
END_TEST

Suite *exceptions_suite(void)
{
	Suite *s = suite_create("exceptions");
	TCase *tc = tcase_create("exceptions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exception_beats_file_entry_of_same_prefix);
	tcase_add_test(tc, test_longest_prefix_still_wins_over_exception);
	tcase_add_test(tc, test_exception_with_unknown_profile_fails_the_load);
	tcase_add_test(tc, test_state_file_round_trips_awkward_notes);
	tcase_add_test(tc,
		test_missing_state_file_is_empty_and_broken_one_is_an_error);
	tcase_add_test(tc, test_prefix_normalize_says_what_is_wrong);
	suite_add_tcase(s, tc);
	return s;
}
