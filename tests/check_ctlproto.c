// SPDX-License-Identifier: GPL-2.0-or-later
/* The control socket's framing: whole, partial and hostile requests. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/ctlproto.h"
#include "tests/suites.h"

static int parse(const char *text, char **argv)
{
	static char buf[CTL_REQUEST_MAX];

	memcpy(buf, text, strlen(text));
	return ctlproto_parse(buf, strlen(text), argv);
}

START_TEST(test_request_round_trips)
{
	char *in[] = { "except", "add", "100.64.0.0/24", "--note",
		       "ACME Corp, ticket 4411" };
	char buf[256], *argv[CTL_ARGS_MAX];
	int len = ctlproto_encode(buf, sizeof(buf), 5, in);

	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(ctlproto_parse(buf, (size_t)len, argv), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_str_eq(argv[i], in[i]);
}
END_TEST

START_TEST(test_partial_request_waits_for_more)
{
	char *argv[CTL_ARGS_MAX];

	ck_assert_int_eq(parse("stats\n", argv), 0);
	ck_assert_int_eq(parse("sta", argv), 0);
	ck_assert_int_eq(parse("", argv), 0);
	ck_assert_int_eq(parse("stats\n\n", argv), 1);
	ck_assert_str_eq(argv[0], "stats");
}
END_TEST

START_TEST(test_malformed_requests_are_refused)
{
	char *argv[CTL_ARGS_MAX];
	char nul[] = "sta\0ts\n\n";

	ck_assert_int_eq(parse("\n", argv), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(parse("stats\n\njunk", argv), -1);
	ck_assert_int_eq(ctlproto_parse(nul, sizeof(nul) - 1, argv), -1);
	ck_assert_int_eq(parse("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\no\n"
			       "p\nq\n\n", argv), -1);
}
END_TEST

START_TEST(test_encode_refuses_newlines_empty_and_overflow)
{
	char *nl[] = { "except", "add", "bad\nnote" };
	char *empty[] = { "stats", "" };
	char *ok[] = { "stats" };
	char buf[8];

	ck_assert_int_eq(ctlproto_encode(buf, sizeof(buf), 3, nl), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ctlproto_encode(buf, sizeof(buf), 2, empty), -1);
	ck_assert_int_eq(ctlproto_encode(buf, 6, 1, ok), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(ctlproto_encode(buf, 7, 1, ok), 7);
}
END_TEST

START_TEST(test_sixteen_arguments_are_the_limit)
{
	char *in[CTL_ARGS_MAX], names[CTL_ARGS_MAX][4], buf[256];
	char *argv[CTL_ARGS_MAX];
	int len;

	for (int i = 0; i < CTL_ARGS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "a%d", i);
		in[i] = names[i];
	}
	len = ctlproto_encode(buf, sizeof(buf), CTL_ARGS_MAX, in);
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(ctlproto_parse(buf, (size_t)len, argv), CTL_ARGS_MAX);
	ck_assert_str_eq(argv[CTL_ARGS_MAX - 1], "a15");
	ck_assert_int_eq(ctlproto_encode(buf, sizeof(buf), CTL_ARGS_MAX + 1,
					 in), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(test_empty_argument_or_crlf_is_no_request)
{
	char *argv[CTL_ARGS_MAX];

	/* An empty line ends the request: what follows it is junk. */
	ck_assert_int_eq(parse("except\n\nadd\n\n", argv), -1);
	/* CRLF never makes the empty line; the daemon times the client
	 * out as incomplete, and nothing was cut into arguments. */
	ck_assert_int_eq(parse("stats\r\n\r\n", argv), 0);
}
END_TEST

START_TEST(test_incomplete_request_is_left_untouched)
{
	char buf[] = "except\nadd\n100.64.0.0/24\n";
	char *argv[CTL_ARGS_MAX];

	/* The daemon parses the buffer again as more bytes arrive. */
	ck_assert_int_eq(ctlproto_parse(buf, strlen(buf), argv), 0);
	ck_assert_str_eq(buf, "except\nadd\n100.64.0.0/24\n");
}
END_TEST

START_TEST(test_request_of_the_maximum_size)
{
	static char buf[CTL_REQUEST_MAX], arg[CTL_REQUEST_MAX];
	char *argv[CTL_ARGS_MAX], *in[1] = { arg };

	memset(arg, 'x', CTL_REQUEST_MAX - 3);
	arg[CTL_REQUEST_MAX - 3] = '\0';
	ck_assert_int_eq(ctlproto_encode(buf, sizeof(buf), 1, in),
			 CTL_REQUEST_MAX - 1);
	arg[CTL_REQUEST_MAX - 3] = 'x';
	arg[CTL_REQUEST_MAX - 2] = '\0';
	ck_assert_int_eq(ctlproto_encode(buf, sizeof(buf), 1, in),
			 CTL_REQUEST_MAX);
	ck_assert_int_eq(ctlproto_parse(buf, CTL_REQUEST_MAX, argv), 1);
	ck_assert_uint_eq(strlen(argv[0]), CTL_REQUEST_MAX - 2);
	arg[CTL_REQUEST_MAX - 2] = 'x';
	arg[CTL_REQUEST_MAX - 1] = '\0';
	ck_assert_int_eq(ctlproto_encode(buf, sizeof(buf), 1, in), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
}
END_TEST

Suite *ctlproto_suite(void)
{
	Suite *s = suite_create("ctlproto");
	TCase *tc = tcase_create("ctlproto");

	tcase_add_test(tc, test_request_round_trips);
	tcase_add_test(tc, test_partial_request_waits_for_more);
	tcase_add_test(tc, test_malformed_requests_are_refused);
	tcase_add_test(tc, test_encode_refuses_newlines_empty_and_overflow);
	tcase_add_test(tc, test_sixteen_arguments_are_the_limit);
	tcase_add_test(tc, test_empty_argument_or_crlf_is_no_request);
	tcase_add_test(tc, test_incomplete_request_is_left_untouched);
	tcase_add_test(tc, test_request_of_the_maximum_size);
	suite_add_tcase(s, tc);
	return s;
}
