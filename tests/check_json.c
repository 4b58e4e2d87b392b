// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * common/json: every string the daemon writes as JSON (block lines, the
 * control socket's --json replies) is valid JSON whatever bytes it held,
 * and text that was valid UTF-8 comes back as it was.
 */
#include <check.h>
#include <json-c/json.h>
#include <string.h>

#include "common/strbuf.h"
#include "tests/suites.h"

Suite *json_suite(void);

/* s written by strbuf_json, parsed back by json-c; NULL if invalid. */
static char *round_trip(const char *s)
{
	struct strbuf b = { 0 };
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	char *back = NULL;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	strbuf_json(&b, s);
	ck_assert(!b.oom);
	o = json_tokener_parse_ex(tok, b.s, (int)b.len);
	if (o && json_object_is_type(o, json_type_string))
		back = strdup(json_object_get_string(o));
	json_object_put(o);
	json_tokener_free(tok);
	strbuf_free(&b);
	return back;
}

START_TEST(test_every_byte_makes_valid_json)
{
	char s[4];

	for (int c = 1; c < 256; c++) {
		char *back;

		s[0] = 'M';
		s[1] = (char)c;
		s[2] = 'x';
		s[3] = '\0';
		back = round_trip(s);
		ck_assert_msg(back != NULL, "byte 0x%02x: invalid JSON", c);
		free(back);
	}
}
END_TEST

START_TEST(test_latin1_and_controls_are_replaced_utf8_kept)
{
	char *back;

	/* "Müller" in ISO-8859-1: the lone 0xfc is no UTF-8. */
	back = round_trip("M\xfcller");
	ck_assert_str_eq(back, "M\xef\xbf\xbdller");	/* U+FFFD */
	free(back);
	back = round_trip("M\xc3\xbcller \xe2\x9c\x93 \"q\" \\");
	ck_assert_str_eq(back, "M\xc3\xbcller \xe2\x9c\x93 \"q\" \\");
	free(back);
	/* U+0080 (C1) and U+2028 are escaped, and come back as themselves. */
	back = round_trip("a\xc2\x80" "b\xe2\x80\xa8" "c\t");
	ck_assert_str_eq(back, "a\xc2\x80" "b\xe2\x80\xa8" "c\t");
	free(back);
	/* Overlong, surrogate and cut sequences are no UTF-8 either. */
	back = round_trip("\xc0\xaf\xed\xa0\x80\xe2\x9c");
	ck_assert_ptr_nonnull(back);
	ck_assert_ptr_null(strstr(back, "\xc0"));
	free(back);
}
END_TEST

Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, test_every_byte_makes_valid_json);
	tcase_add_test(tc, test_latin1_and_controls_are_replaced_utf8_kept);
	suite_add_tcase(s, tc);
	return s;
}
