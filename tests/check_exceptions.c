// SPDX-License-Identifier: GPL-2.0-or-later
/* Live exceptions: how they join the policy, and their state file. */
#include <check.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "blocklog/blocklog.h"
#include "policy/policy.h"
#include "tests/helpers.h"
#include "tests/suites.h"

/* The policy live exceptions join; dir holds each test's state files. */
static const char yaml_path[] = TESTS_FIXTURES
	"/business_28_in_residential.yaml";
static char dir[] = "/tmp/portcullis-except-XXXXXX";

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
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

	addr_parse(src, &f.src);
	addr_parse("203.0.113.9", &f.dst);
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
		addr){ .b = { [10] = 0xff, [11] = 0xff, [12] = 100,
		[13] = 64, [14] = 12, [15] = 5 } }, 1000), &e), 0);
	ck_assert_str_eq(e.note, "hold");
	ck_assert_str_eq(e.file, "live exception");
	/* The file's entry was replaced, not shadowed: past the expiry the
	 * parent decides, and the state file's next rebuild drops it. */
	ck_assert_int_eq(judge(p, "100.64.12.5", 2000), POLICY_REJECT);
	ck_assert_uint_eq(policy_entry_count(p, AF_INET), 2);
	policy_free(p);
	p = tests_policy_file(yaml_path, NULL, 0);
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
	ck_assert_str_eq(errs.msg[0], TESTS_FIXTURES
		"/business_28_in_residential.yaml: live exception "
		"100.64.0.0/16 names profile \"gold\", which the policy does "
		"not define; delete the exception or restore the profile");
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
	ck_assert_uint_eq(errs.count, 2);
	ck_assert_ptr_nonnull(strstr(errs.msg[0], "bad.yaml:1:3: the live "
				     "exception 100.64.0.0/24 needs a "
				     "profile"));
	ck_assert_ptr_nonnull(strstr(errs.msg[1], "bad.yaml:2:3: unknown key "
				     "\"colour\" in a live exception; "
				     "expected one of: prefix, profile, added, "
				     "expires, note"));
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(n, 0);
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

static void write_state(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Load path and assert it fails with exactly the NULL-ended lines, each
 * after "path". */
static void expect_state_errors(const char *path, ...)
{
	struct policy_errors errs = { 0 };
	struct policy_exception *out = (void *)1;
	const char *want;
	char line[1024];
	size_t n = 1, i = 0;
	va_list ap;

	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, &errs), -1);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(n, 0);
	va_start(ap, path);
	while ((want = va_arg(ap, const char *))) {
		snprintf(line, sizeof(line), "%s%s", path, want);
		ck_assert_msg(i < errs.count, "missing error: %s", line);
		ck_assert_str_eq(errs.msg[i], line);
		i++;
	}
	va_end(ap);
	for (; i < errs.count; i++)
		ck_abort_msg("unexpected error: %s", errs.msg[i]);
	policy_errors_free(&errs);
}

/* Rule 4: the subscriber's exception decides wherever its session puts
 * it, until it expires; a source without the subscriber is untouched;
 * quarantine (rule 3) still comes first. */
static struct policy_decision judge_as(const struct policy *p,
				       const char *src, const char *sub,
				       int64_t now, bool quarantined)
{
	struct policy_decision d;
	struct policy_flow f = { .dport = 25 };

	addr_parse(src, &f.src);
	addr_parse("203.0.113.9", &f.dst);
	if (sub) {
		f.subscriber = sub;
		f.subscriber_len = (uint8_t)strlen(sub);
	}
	policy_decide(p, &f, now, quarantined, &d);
	return d;
}

START_TEST(test_exception_for_a_subscriber_follows_it)
{
	struct policy_exception ex[2] = {
		{ .subscriber = "cust 1", .profile = "business",
		  .expires = 2000 },
		{ .subscriber = "cust-2", .profile = "residential" },
	};
	struct policy_exception info;
	struct policy_errors errs = { 0 };
	struct policy *p = policy_load_ex(yaml_path, ex, 2, &errs);
	struct policy_decision d;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(policy_subscriber_exception_count(p), 2);
	d = judge_as(p, "100.64.0.5", "cust 1", 1000, false);
	ck_assert_int_eq(d.verdict, POLICY_ACCEPT);
	ck_assert_int_ge(d.subex, 0);
	ck_assert_int_eq(policy_subscriber_exception(p, d.subex, &info), 0);
	ck_assert_str_eq(info.subscriber, "cust 1");
	ck_assert_str_eq(info.profile, "business");
	/* Anywhere it is: another residential address. */
	ck_assert_int_eq(judge_as(p, "100.64.200.9", "cust 1", 1000,
				  false).verdict, POLICY_ACCEPT);
	/* Not another subscriber there, nor a source with no session. */
	ck_assert_int_eq(judge_as(p, "100.64.0.5", "cust 3", 1000,
				  false).verdict, POLICY_REJECT);
	ck_assert_int_eq(judge_as(p, "100.64.0.5", NULL, 1000,
				  false).verdict, POLICY_REJECT);
	/* A residential exception inside the business /28. */
	ck_assert_int_eq(judge_as(p, "100.64.12.3", "cust-2", 1000,
				  false).verdict, POLICY_REJECT);
	/* Expired: the prefix decides again. */
	d = judge_as(p, "100.64.0.5", "cust 1", 2000, false);
	ck_assert_int_eq(d.verdict, POLICY_REJECT);
	ck_assert_int_eq(d.subex, -1);
	/* Not a subscriber prefix at all (rule 2 first). */
	ck_assert_int_eq(judge_as(p, "198.51.100.7", "cust 1", 1000,
				  false).reason, POLICY_REASON_NOT_SUBSCRIBER);
	ck_assert_int_eq(policy_subscriber_exception(p, 2, &info), -1);
	policy_free(p);
}
END_TEST

START_TEST(test_exception_for_a_subscriber_is_checked_and_kept)
{
	struct policy_exception bad = { .subscriber = "cust-1",
					.profile = "gold" }, *out;
	struct policy_exception in[2] = {
		{ .subscriber = "cust \"1\" \\ #x", .profile = "business",
		  .added = 1795829025, .expires = 1795915425, .note = "n" },
		{ .prefix = "100.64.0.0/24", .profile = "business",
		  .added = 1795829025 },
	};
	struct policy_errors errs = { 0 };
	char path[300];
	size_t n;

	ck_assert_ptr_null(policy_load_ex(yaml_path, &bad, 1, &errs));
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_ptr_nonnull(strstr(errs.msg[0], "live exception for "
				     "subscriber cust-1 names profile \"gold\""));
	policy_errors_free(&errs);
	snprintf(path, sizeof(path), "%s/exceptions.yaml", dir);
	ck_assert_int_eq(policy_exceptions_save(path, in, 2), 0);
	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, NULL), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(memcmp(out, in, sizeof(in)), 0);
	free(out);
	/* Both a prefix and a subscriber, or a bad id: refused. */
	write_state(path, "- { prefix: 100.64.0.0/24, subscriber: c, "
		    "profile: business }\n");
	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, &errs), -1);
	ck_assert_ptr_nonnull(strstr(errs.msg[0], "not both"));
	policy_errors_free(&errs);
	write_state(path, "- { subscriber: \" c\", profile: business }\n");
	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, &errs), -1);
	ck_assert_ptr_nonnull(strstr(errs.msg[0], "space"));
	policy_errors_free(&errs);
}
END_TEST

START_TEST(test_note_check_says_what_and_where)
{
	char why[192], big[POLICY_NOTE_MAX + 2];

	ck_assert_int_eq(policy_note_check("ACME \"mail\", ticket #4411", 25,
					   why, sizeof(why)), 0);
	ck_assert_int_eq(policy_note_check("M\xc3\xbcller \xe2\x9c\x93 "
					   "\xf0\x9f\x98\x80", 16, why,
					   sizeof(why)), 0);
	ck_assert_int_eq(policy_note_check("", 0, why, sizeof(why)), 0);
	ck_assert_int_eq(policy_note_check("M\xfcller", 7, why, sizeof(why)),
			 -1);
	ck_assert_str_eq(why, "expected UTF-8 text, found the byte 0xfc at "
			 "byte 2, which is no UTF-8 (Latin-1 or another legacy "
			 "encoding?)");
	ck_assert_int_eq(policy_note_check("ab\xc2\x80", 4, why, sizeof(why)),
			 -1);
	ck_assert_str_eq(why, "expected text without control characters, "
			 "found U+0080 at byte 3");
	ck_assert_int_eq(policy_note_check("a\tb", 3, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "expected text without control characters, "
			 "found U+0009 (tab) at byte 2");
	ck_assert_int_eq(policy_note_check("del\x7f", 4, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "expected text without control characters, "
			 "found U+007F (DEL) at byte 4");
	ck_assert_int_eq(policy_note_check("a\0b", 3, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "expected text without control characters, "
			 "found U+0000 (NUL) at byte 2");
	ck_assert_int_eq(policy_note_check("\xc2\x9f", 2, why, sizeof(why)),
			 -1);
	/* Overlong, surrogate, beyond U+10FFFF, cut short. */
	ck_assert_int_eq(policy_note_check("\xc0\xaf", 2, why, sizeof(why)),
			 -1);
	ck_assert_int_eq(policy_note_check("\xe0\x80\xaf", 3, why,
					   sizeof(why)), -1);
	ck_assert_int_eq(policy_note_check("\xed\xa0\x80", 3, why,
					   sizeof(why)), -1);
	ck_assert_int_eq(policy_note_check("\xf4\x90\x80\x80", 4, why,
					   sizeof(why)), -1);
	ck_assert_int_eq(policy_note_check("ok \xe2\x9c", 5, why, sizeof(why)),
			 -1);
	ck_assert_str_eq(why, "expected UTF-8 text, found the byte 0xe2 at "
			 "byte 4, which is no UTF-8 (Latin-1 or another legacy "
			 "encoding?)");
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(policy_note_check(big, POLICY_NOTE_MAX, why,
					   sizeof(why)), 0);
	ck_assert_int_eq(policy_note_check(big, POLICY_NOTE_MAX + 1, why,
					   sizeof(why)), -1);
	ck_assert_str_eq(why, "expected at most 199 bytes, found 200");
}
END_TEST

/* Append code point c as UTF-8; returns the new length. */
static size_t put_utf8(char *s, size_t n, unsigned c)
{
	if (c < 0x80) {
		s[n++] = (char)c;
	} else if (c < 0x800) {
		s[n++] = (char)(0xc0 | c >> 6);
		s[n++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		s[n++] = (char)(0xe0 | c >> 12);
		s[n++] = (char)(0x80 | (c >> 6 & 0x3f));
		s[n++] = (char)(0x80 | (c & 0x3f));
	} else {
		s[n++] = (char)(0xf0 | c >> 18);
		s[n++] = (char)(0x80 | (c >> 12 & 0x3f));
		s[n++] = (char)(0x80 | (c >> 6 & 0x3f));
		s[n++] = (char)(0x80 | (c & 0x3f));
	}
	return n;
}

/* The note scalars of a state file, in order, as libyaml reads them. */
static size_t yaml_notes(const char *path, char notes[][POLICY_NOTE_MAX + 1],
			 size_t max)
{
	yaml_parser_t ps;
	yaml_document_t doc;
	yaml_node_t *root;
	size_t k = 0;
	FILE *f = fopen(path, "r");

	ck_assert_ptr_nonnull(f);
	ck_assert(yaml_parser_initialize(&ps));
	yaml_parser_set_input_file(&ps, f);
	ck_assert_msg(yaml_parser_load(&ps, &doc), "%s is no YAML: %s", path,
		      ps.problem);
	root = yaml_document_get_root_node(&doc);
	ck_assert_int_eq(root->type, YAML_SEQUENCE_NODE);
	for (yaml_node_item_t *it = root->data.sequence.items.start;
	     it < root->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(&doc, *it);

		for (yaml_node_pair_t *pr = m->data.mapping.pairs.start;
		     pr < m->data.mapping.pairs.top; pr++) {
			yaml_node_t *kn = yaml_document_get_node(&doc, pr->key);
			yaml_node_t *vn = yaml_document_get_node(&doc,
								 pr->value);

			if (strcmp((char *)kn->data.scalar.value, "note"))
				continue;
			ck_assert_uint_lt(k, max);
			ck_assert_uint_le(vn->data.scalar.length,
					  POLICY_NOTE_MAX);
			memset(notes[k], 0, sizeof(notes[k]));
			memcpy(notes[k], vn->data.scalar.value,
			       vn->data.scalar.length);
			k++;
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&ps);
	fclose(f);
	return k;
}

START_TEST(test_state_writer_round_trips_every_character)
{
	static const unsigned extra[] = { 0x2028, 0x2029, 0xfeff, 0xfffd,
					  0xfffe, 0xffff, 0x10000, 0x10ffff,
					  '"', '\\', '#', ':', ' ' };
	struct policy_exception in[8] = { 0 };
	char got[8][POLICY_NOTE_MAX + 1], path[300];
	size_t nin = 0, len = 0;
	unsigned c = 1;

	/* U+0001 .. U+00FF, then what YAML holds as breaks or no printable
	 * character, in notes of at most POLICY_NOTE_MAX bytes. */
	while (c <= 0xff + sizeof(extra) / sizeof(extra[0])) {
		unsigned cp = c <= 0xff ? c : extra[c - 0x100];

		if (len + 4 > POLICY_NOTE_MAX) {
			nin++;
			len = 0;
		}
		if (!len) {
			snprintf(in[nin].prefix, sizeof(in[nin].prefix),
				 "100.64.%zu.0/24", nin);
			strcpy(in[nin].profile, "business");
		}
		len = put_utf8(in[nin].note, len, cp);
		c++;
	}
	nin++;
	ck_assert_uint_le(nin, 8);
	snprintf(path, sizeof(path), "%s/exceptions.yaml", dir);
	ck_assert_int_eq(policy_exceptions_save(path, in, nin), 0);
	ck_assert_uint_eq(yaml_notes(path, got, 8), nin);
	for (size_t i = 0; i < nin; i++)
		ck_assert_int_eq(memcmp(got[i], in[i].note, sizeof(got[i])), 0);
}
END_TEST

START_TEST(test_state_writer_makes_yaml_of_any_bytes)
{
	struct policy_exception in[2] = {
		{ .prefix = "100.64.0.0/24", .profile = "business" },
		{ .prefix = "100.64.1.0/24", .profile = "business" },
	};
	char got[2][POLICY_NOTE_MAX + 1], want[2][POLICY_NOTE_MAX * 3 + 1];
	char path[300];

	/* Bytes 0x01 .. 0xff, no UTF-8 from 0x80 on: each of those reads
	 * back as U+FFFD, the rest as written. */
	memset(want, 0, sizeof(want));
	for (unsigned b = 1; b <= 0xff; b++) {
		unsigned i = b <= 0x7f ? 0 : 1;
		size_t at = strlen(in[i].note), w = strlen(want[i]);

		if (b >= 0x80 && at >= 60)
			continue;	/* 3 bytes each in the reading */
		in[i].note[at] = (char)b;
		w = put_utf8(want[i], w, b < 0x80 ? b : 0xfffd);
		want[i][w] = '\0';
	}
	snprintf(path, sizeof(path), "%s/exceptions.yaml", dir);
	ck_assert_int_eq(policy_exceptions_save(path, in, 2), 0);
	ck_assert_uint_eq(yaml_notes(path, got, 2), 2);
	ck_assert_str_eq(got[0], want[0]);
	ck_assert_str_eq(got[1], want[1]);
}
END_TEST

/* The except line for note, parsed by json-c; its "note" into out. */
static void json_note(const char *note, char *out, size_t size)
{
	struct blocklog_event ev = { .kind = BLOCKLOG_EXCEPT,
				     .op = BLOCKLOG_EXCEPT_ADD,
				     .ts_ms = 1795829025000,
				     .prefix = "100.64.0.0/24",
				     .profile = "business" };
	struct json_object *o, *v;
	char line[4096];
	int n;

	snprintf(ev.note, sizeof(ev.note), "%s", note);
	n = blocklog_format(&ev, 0, line, sizeof(line));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(line[n - 1], '\n');
	line[n - 1] = '\0';
	ck_assert_ptr_null(strchr(line, '\n'));
	o = json_tokener_parse(line);
	ck_assert_msg(o != NULL, "not JSON: %s", line);
	ck_assert(json_object_object_get_ex(o, "note", &v));
	snprintf(out, size, "%s", json_object_get_string(v));
	json_object_put(o);
}

START_TEST(test_block_log_note_is_json_for_any_bytes)
{
	char note[POLICY_NOTE_MAX + 1], want[POLICY_NOTE_MAX * 3 + 1];
	char got[POLICY_NOTE_MAX * 3 + 1];
	size_t w;

	/* Every byte 0x01 .. 0xff, in two notes. */
	for (unsigned from = 1; from <= 0xff; from += POLICY_NOTE_MAX) {
		size_t k = 0;

		w = 0;
		for (unsigned b = from; b <= 0xff && k < POLICY_NOTE_MAX; b++) {
			note[k++] = (char)b;
			w = put_utf8(want, w, b < 0x80 ? b : 0xfffd);
		}
		note[k] = '\0';
		want[w] = '\0';
		json_note(note, got, sizeof(got));
		ck_assert_str_eq(got, want);
	}
	/* Text that is UTF-8 comes back as it was, C1 and U+2028 too. */
	w = 0;
	for (unsigned c = 0x80; c < 0xc0; c++)
		w = put_utf8(note, w, c);
	w = put_utf8(note, w, 0x2028);
	w = put_utf8(note, w, 0x1f600);
	note[w] = '\0';
	json_note(note, got, sizeof(got));
	ck_assert_str_eq(got, note);
	json_note("M\xfcller", got, sizeof(got));
	ck_assert_str_eq(got, "M\xef\xbf\xbdller");
}
END_TEST

START_TEST(test_block_line_profile_is_json_for_any_bytes)
{
	struct blocklog_event ev = { .kind = BLOCKLOG_BLOCK,
				     .action = POLICY_REJECT, .dport = 25,
				     .ts_ms = 1795829025000,
				     .profile = "r\xfc\x01\x7f\xc2\x85\"\\",
				     .prefix = "\xff\xfe" };
	struct json_object *o, *v;
	char line[4096];
	int n;

	addr_parse("100.64.3.7", &ev.src);
	addr_parse("203.0.113.9", &ev.dst);
	n = blocklog_format(&ev, 0, line, sizeof(line));
	ck_assert_int_gt(n, 0);
	line[n - 1] = '\0';
	o = json_tokener_parse(line);
	ck_assert_msg(o != NULL, "not JSON: %s", line);
	ck_assert(json_object_object_get_ex(o, "profile", &v));
	ck_assert_str_eq(json_object_get_string(v),
			 "r\xef\xbf\xbd\x01\x7f\xc2\x85\"\\");
	ck_assert(json_object_object_get_ex(o, "prefix", &v));
	ck_assert_str_eq(json_object_get_string(v),
			 "\xef\xbf\xbd\xef\xbf\xbd");
	json_object_put(o);
}
END_TEST

START_TEST(test_bad_note_in_state_file_is_refused_naming_the_entry)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/exceptions.yaml", dir);
	write_state(path, "- prefix: \"100.64.0.0/24\"\n"
		    "  profile: \"business\"\n"
		    "  note: \"M\xfcller\"\n");
	expect_state_errors(path, ":3:11: YAML syntax error: invalid leading "
			    "UTF-8 octet; the state file is UTF-8 text", NULL);
	write_state(path, "- prefix: \"100.64.0.0/24\"\n"
		    "  profile: \"business\"\n"
		    "  note: \"M\\xFCller\\x85\"\n"
		    "- note: \"tab\\there\"\n"
		    "  profile: \"business\"\n"
		    "  prefix: \"100.64.1.0/24\"\n"
		    "- prefix: \"100.64.2.0/24\"\n"
		    "  profile: \"business\"\n"
		    "  note: \"\\0\"\n");
	expect_state_errors(path, ":3:9: note of the live exception "
			    "100.64.0.0/24: expected text without control "
			    "characters, found U+0085 (next line) at byte 8; "
			    "correct the note or delete the entry",
			    ":4:9: note of the live exception 100.64.1.0/24: "
			    "expected text without control characters, found "
			    "U+0009 (tab) at byte 4; correct the note or delete "
			    "the entry",
			    ":9:9: note of the live exception 100.64.2.0/24: "
			    "expected text without control characters, found "
			    "U+0000 (NUL) at byte 1; correct the note or delete "
			    "the entry", NULL);
}
END_TEST

START_TEST(test_state_file_errors_have_one_position_and_one_path)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/exceptions.yaml", dir);
	write_state(path, "- prefix: 100.64.0.0/24\n  profile: [x\n");
	expect_state_errors(path, ":3:1: YAML syntax error: did not find "
			    "expected ',' or ']' (while parsing a flow sequence "
			    "that starts at line 2)", NULL);
	write_state(path, "prefix: 100.64.0.0/24\n");
	expect_state_errors(path, ":1:1: expected a sequence of live "
			    "exceptions, found a mapping", NULL);
	write_state(path, "- { prefix: [100.64.0.0/24], profile: business }\n");
	expect_state_errors(path, ":1:13: prefix: expected a scalar, found a "
			    "sequence", NULL);
	write_state(path, "- prefix: 100.64.0.7/24\n  profile: business\n"
		    "  added: yesterday\n"
		    "- [1]\n"
		    "- prefix: \"::ffff:0:0/96\"\n  profile: business\n"
		    "  expires: 2027-02-30T00:00:00Z\n"
		    "  prefix: 10.0.0.0/8\n");
	expect_state_errors(path, ":1:11: 100.64.0.7/24 has host bits set; "
			    "did you mean 100.64.0.0/24?",
			    ":3:10: added of the live exception at line 1: "
			    "expected an RFC 3339 time like "
			    "2027-03-01T00:00:00Z, found \"yesterday\"",
			    ":4:3: a live exception: expected a mapping, found "
			    "a sequence",
			    ":5:11: ::ffff:0:0/96 is an IPv4-mapped IPv6 "
			    "prefix; write the IPv4 prefix 0.0.0.0/0 instead",
			    ":7:12: expires of the live exception at line 5: "
			    "expected an RFC 3339 time like "
			    "2027-03-01T00:00:00Z, found "
			    "\"2027-02-30T00:00:00Z\"",
			    ":8:3: duplicate key \"prefix\" in a live "
			    "exception; first given at line 5, column 3", NULL);
}
END_TEST

START_TEST(test_fifo_or_link_as_state_file_is_refused_at_once)
{
	char path[300], target[300], msg[400];
	struct policy_errors errs = { 0 };
	struct policy_exception *out;
	size_t n;

	/* Opened for reading, a FIFO with no writer would block: the test's
	 * timeout is what catches that. */
	snprintf(path, sizeof(path), "%s/exceptions.yaml", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, &errs), -1);
	ck_assert_uint_eq(errs.count, 1);
	snprintf(msg, sizeof(msg), "%s: cannot read: a FIFO; the state file "
		 "must be a regular file", path);
	ck_assert_str_eq(errs.msg[0], msg);
	policy_errors_free(&errs);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	expect_state_errors(path, ": cannot read: a directory; the state file "
			    "must be a regular file", NULL);
	ck_assert_int_eq(rmdir(path), 0);
	snprintf(target, sizeof(target), "%s/elsewhere.yaml", dir);
	write_state(target, "[]\n");
	ck_assert_int_eq(symlink(target, path), 0);
	expect_state_errors(path, ": cannot read: a symbolic link; the state "
			    "file must be a regular file", NULL);
}
END_TEST

START_TEST(test_state_writer_follows_no_planted_link)
{
	struct policy_exception in = { .prefix = "100.64.0.0/24",
				       .profile = "business",
				       .note = "kept" }, *out;
	char path[300], tmp[310], victim[300], buf[64];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/exceptions.yaml", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	write_state(victim, "untouched\n");
	ck_assert_int_eq(symlink(victim, tmp), 0);
	ck_assert_int_eq(policy_exceptions_save(path, &in, 1), 0);
	f = fopen(victim, "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_str_eq(buf, "untouched\n");
	ck_assert_int_eq(policy_exceptions_load(path, &out, &n, NULL), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(out[0].note, "kept");
	free(out);
	/* A stale temporary file from a crash is no obstacle either. */
	write_state(tmp, "half a file");
	ck_assert_int_eq(policy_exceptions_save(path, &in, 1), 0);
	ck_assert_int_eq(access(tmp, F_OK), -1);
}
END_TEST

START_TEST(test_exception_to_a_profile_past_index_32767)
{
	const unsigned np = 65535;
	size_t cap = (size_t)np * 48 + 512, used = 0;
	char *yaml = malloc(cap), path[300];
	struct policy_exception ex[2] = {
		{ .prefix = "100.64.12.0/28", .profile = "p65534" },
		{ .prefix = "100.64.13.0/28", .profile = "p40000" },
	};
	struct policy_errors errs = { 0 };
	struct policy *p;
	FILE *f;

	ck_assert_ptr_nonnull(yaml);
	used += (size_t)snprintf(yaml, cap, "version: 1\nprofiles:\n");
	for (unsigned i = 0; i < np; i++)
		used += (size_t)snprintf(yaml + used, cap - used,
					 "  p%u: { ports: { 25: %s } }\n", i,
					 i == np - 1 ? "accept" : "reject");
	used += (size_t)snprintf(yaml + used, cap - used, "subscribers:\n"
				 "  - { prefix: 100.64.0.0/10, profile: p0 }\n");
	snprintf(path, sizeof(path), "%s/many.yaml", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(yaml, 1, used, f), used);
	fclose(f);
	free(yaml);
	p = policy_load_ex(path, ex, 2, &errs);
	ck_assert_msg(p != NULL, "%s", errs.count ? errs.msg[0] : "?");
	ck_assert_int_eq(judge(p, "100.64.12.5", 0), POLICY_ACCEPT);
	ck_assert_int_eq(judge(p, "100.64.13.5", 0), POLICY_REJECT);
	ck_assert_int_eq(judge(p, "100.64.14.5", 0), POLICY_REJECT);
	ck_assert_str_eq(policy_profile_name(p, 65534), "p65534");
	policy_free(p);
}
END_TEST

Suite *exceptions_suite(void)
{
	Suite *s = suite_create("exceptions");
	TCase *tc = tcase_create("exceptions");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_exception_beats_file_entry_of_same_prefix);
	tcase_add_test(tc, test_exception_for_a_subscriber_follows_it);
	tcase_add_test(tc, test_exception_for_a_subscriber_is_checked_and_kept);
	tcase_add_test(tc, test_longest_prefix_still_wins_over_exception);
	tcase_add_test(tc, test_exception_with_unknown_profile_fails_the_load);
	tcase_add_test(tc, test_state_file_round_trips_awkward_notes);
	tcase_add_test(tc,
		test_missing_state_file_is_empty_and_broken_one_is_an_error);
	tcase_add_test(tc, test_prefix_normalize_says_what_is_wrong);
	tcase_add_test(tc, test_note_check_says_what_and_where);
	tcase_add_test(tc, test_state_writer_round_trips_every_character);
	tcase_add_test(tc, test_state_writer_makes_yaml_of_any_bytes);
	tcase_add_test(tc, test_block_log_note_is_json_for_any_bytes);
	tcase_add_test(tc, test_block_line_profile_is_json_for_any_bytes);
	tcase_add_test(tc,
		test_bad_note_in_state_file_is_refused_naming_the_entry);
	tcase_add_test(tc, test_state_file_errors_have_one_position_and_one_path);
	tcase_add_test(tc, test_fifo_or_link_as_state_file_is_refused_at_once);
	tcase_add_test(tc, test_state_writer_follows_no_planted_link);
	tcase_add_test(tc, test_exception_to_a_profile_past_index_32767);
	suite_add_tcase(s, tc);
	return s;
}
