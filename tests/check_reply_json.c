// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * filter/reply_json: the control socket's --json replies are one line of
 * valid JSON whatever bytes a note or path held, prefixes keep their '/',
 * and a reply json-c could not build whole is "out of memory", never a
 * torn document.
 */
#include <check.h>
#include <json-c/json.h>
#include <string.h>

#include "filter/reply_json.h"
#include "tests/suites.h"

Suite *reply_json_suite(void);

START_TEST(test_a_reply_is_one_line_of_plain_json)
{
	struct json_object *j = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct strbuf b = { 0 };

	reply_json_str(j, "prefix", "2001:db8:1::/48");
	reply_json_str(j, "note", "ticket \"42\"\n\tback\\slash");
	reply_json_str(j, "expires", NULL);
	reply_json_u64(j, "big", UINT64_MAX);
	reply_json_i64(j, "neg", -5);
	reply_json_bool(j, "quarantined", true);
	reply_json_push(arr, json_object_new_int(1));
	reply_json_add(j, "list", arr);
	ck_assert_int_eq(reply_json_write(&b, j), 0);
	ck_assert_str_eq(b.s, "{\"prefix\":\"2001:db8:1::/48\",\"note\":"
			 "\"ticket \\\"42\\\"\\n\\tback\\\\slash\",\"expires\":"
			 "null,\"big\":18446744073709551615,\"neg\":-5,"
			 "\"quarantined\":true,\"list\":[1]}\n");
	strbuf_free(&b);
}
END_TEST

START_TEST(test_bytes_that_are_no_utf8_become_u_fffd)
{
	struct json_object *j = json_object_new_object(), *back;
	struct strbuf b = { 0 };
	struct json_tokener *tok = json_tokener_new();

	/* Latin-1 é, a cut 3-byte sequence, then valid UTF-8 kept. */
	reply_json_str(j, "note", "caf\xe9 \xe2\x82 ok \xc3\xa9");
	ck_assert_int_eq(reply_json_write(&b, j), 0);
	ck_assert_str_eq(b.s, "{\"note\":\"caf\xef\xbf\xbd \xef\xbf\xbd"
			 "\xef\xbf\xbd ok \xc3\xa9\"}\n");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
			       JSON_TOKENER_VALIDATE_UTF8);
	back = json_tokener_parse_ex(tok, b.s, (int)b.len - 1);
	ck_assert_ptr_nonnull(back);
	json_object_put(back);
	json_tokener_free(tok);
	strbuf_free(&b);
}
END_TEST

START_TEST(test_a_part_that_failed_makes_the_reply_an_error)
{
	struct json_object *j = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct strbuf b = { 0 };

	reply_json_str(j, "prefix", "100.64.0.0/10");
	/* What json_object_new_object() returns when memory is out. */
	reply_json_push(arr, NULL);
	reply_json_add(j, "list", arr);
	ck_assert_int_eq(reply_json_write(&b, j), -1);
	ck_assert_str_eq(b.s, "out of memory\n");
	strbuf_free(&b);
	b = (struct strbuf){ 0 };
	ck_assert_int_eq(reply_json_write(&b, NULL), -1);
	ck_assert_str_eq(b.s, "out of memory\n");
	strbuf_free(&b);
	/* Adding to an object that was never made leaks nothing. */
	reply_json_add(NULL, "x", json_object_new_object());
	reply_json_push(NULL, json_object_new_object());
	reply_json_str(NULL, "x", "y");
}
END_TEST

Suite *reply_json_suite(void)
{
	Suite *s = suite_create("reply_json");
	TCase *tc = tcase_create("reply_json");

	tcase_add_test(tc, test_a_reply_is_one_line_of_plain_json);
	tcase_add_test(tc, test_bytes_that_are_no_utf8_become_u_fffd);
	tcase_add_test(tc, test_a_part_that_failed_makes_the_reply_an_error);
	suite_add_tcase(s, tc);
	return s;
}
