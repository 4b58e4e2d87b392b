// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * common/duration: one grammar for every duration an operator writes,
 * bounded, with no wrap-around; what it writes, it reads back.
 */
#include <check.h>
#include <stdint.h>

#include "common/duration.h"
#include "tests/suites.h"

Suite *duration_suite(void);

static uint64_t ok(const char *s)
{
	uint64_t v = 12345;

	ck_assert_msg(duration_parse(s, UINT64_MAX, &v) == 0, "%s", s);
	return v;
}

START_TEST(test_units_and_compounds)
{
	ck_assert_uint_eq(ok("90s"), 90);
	ck_assert_uint_eq(ok("30m"), 1800);
	ck_assert_uint_eq(ok("24h"), 86400);
	ck_assert_uint_eq(ok("7d"), 604800);
	ck_assert_uint_eq(ok("2w"), 1209600);
	ck_assert_uint_eq(ok("1h30m"), 5400);
	ck_assert_uint_eq(ok("1d2h3m4s"), 93784);
	ck_assert_uint_eq(ok("0s"), 0);
}
END_TEST

START_TEST(test_what_is_no_duration_is_refused)
{
	static const char *const bad[] = {
		"", "10", "m", "10x", "10 m", " 10m", "+10m", "-10m", "10m ",
		"1.5h", "1h30", "10M", "0x10m", "1h-1m", "\t1h",
	};
	uint64_t v = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(duration_parse(bad[i], UINT64_MAX, &v) == -1,
			      "'%s' accepted", bad[i]);
		ck_assert_uint_eq(v, 7);
	}
}
END_TEST

START_TEST(test_bounds_hold_without_wrapping)
{
	uint64_t v = 0;

	ck_assert_int_eq(duration_parse("1d", 86400, &v), 0);
	ck_assert_uint_eq(v, 86400);
	ck_assert_int_eq(duration_parse("86401s", 86400, &v), -1);
	ck_assert_int_eq(duration_parse("23h60m1s", 86400, &v), -1);
	/* 2^64 / 604800 weeks and more: would wrap to a small number. */
	ck_assert_int_eq(duration_parse("30500568904944w", UINT64_MAX, &v),
			 -1);
	ck_assert_int_eq(duration_parse("99999999999999999999999s",
					UINT64_MAX, &v), -1);
	ck_assert_int_eq(duration_parse("18446744073709551615s", UINT64_MAX,
					&v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert_int_eq(duration_parse("18446744073709551615s1s",
					UINT64_MAX, &v), -1);
}
END_TEST

START_TEST(test_a_leading_zero_is_told_apart)
{
	uint64_t v = 0;

	ck_assert_int_eq(duration_parse("010m", 86400, &v), -2);
	ck_assert_uint_eq(v, 600);
	ck_assert_int_eq(duration_parse("1h05m", 86400, &v), -2);
	ck_assert_uint_eq(v, 3900);
	ck_assert_int_eq(duration_parse("0m", 86400, &v), 0);
}
END_TEST

START_TEST(test_written_as_read)
{
	static const struct {
		uint64_t secs;
		const char *text;
	} cases[] = {
		{ 0, "0s" }, { 59, "59s" }, { 60, "1m" }, { 90, "1m30s" },
		{ 3600, "1h" }, { 5400, "1h30m" }, { 86400, "1d" },
		{ 604800, "7d" }, { 93784, "1d2h3m4s" },
	};
	char buf[64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_str_eq(duration_format(cases[i].secs, buf,
						 sizeof(buf)), cases[i].text);
		ck_assert_uint_eq(ok(buf), cases[i].secs);
	}
	/* Every value a policy may hold comes back as it went out. */
	for (uint64_t s = 0; s <= 2 * 86400; s += 7)
		ck_assert_uint_eq(ok(duration_format(s, buf, sizeof(buf))), s);
	ck_assert_uint_eq(ok(duration_format(UINT64_MAX, buf, sizeof(buf))),
			  UINT64_MAX);
	/* Too small a buffer cuts at a unit, never mid-number. */
	ck_assert_str_eq(duration_format(93784, buf, 6), "1d2h");
}
END_TEST

Suite *duration_suite(void)
{
	Suite *s = suite_create("duration");
	TCase *tc = tcase_create("duration");

	tcase_add_test(tc, test_units_and_compounds);
	tcase_add_test(tc, test_what_is_no_duration_is_refused);
	tcase_add_test(tc, test_bounds_hold_without_wrapping);
	tcase_add_test(tc, test_a_leading_zero_is_told_apart);
	tcase_add_test(tc, test_written_as_read);
	suite_add_tcase(s, tc);
	return s;
}
