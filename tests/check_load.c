// SPDX-License-Identifier: GPL-2.0-or-later
/* policy_load(): YAML → struct policy, and every error it can report. */
#include <check.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "policy/internal.h"

static char tmpdir[64];

static void tmp_setup(void)
{
	strcpy(tmpdir, "/tmp/check_load.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void write_bytes(const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

static struct policy *load(const char *yaml, struct policy_errors *errs)
{
	return policy_load_buffer("policy.yaml", tmpdir[0] ? tmpdir : NULL,
				  yaml, strlen(yaml), errs);
}

/* Load yaml and assert it fails with exactly the NULL-ended lines. */
static void expect_errors(const char *yaml, ...)
{
	struct policy_errors errs = { 0 };
	struct policy *p = load(yaml, &errs);
	const char *want;
	size_t i = 0;
	va_list ap;

	ck_assert_ptr_null(p);
	va_start(ap, yaml);
	while ((want = va_arg(ap, const char *))) {
		ck_assert_msg(i < errs.count, "missing error: %s", want);
		ck_assert_str_eq(errs.msg[i], want);
		i++;
	}
	va_end(ap);
	for (; i < errs.count; i++)
		ck_abort_msg("unexpected error: %s", errs.msg[i]);
	policy_errors_free(&errs);
}

#define PROFILES \
	"version: 1\n" \
	"profiles:\n" \
	"  residential:\n" \
	"    ports: { 25: reject, 465: accept, 587: accept }\n" \
	"  business:\n" \
	"    ports: { 25: accept }\n" \
	"    default: drop\n" \
	"  quarantine:\n" \
	"    ports: { 587: drop, 25: drop, 465: drop }\n"

static const char good[] =
	PROFILES
	"mode: monitor\n"
	"subscribers:\n"
	"  - { prefix: 100.64.0.0/10,      profile: residential }\n"
	"  - { prefix: 2001:db8:1000::/36, profile: residential }\n"
	"  - prefix: 100.64.12.0/28\n"
	"    profile: business\n"
	"    note: ACME Corp, ticket 4411\n"
	"    expires: 2027-03-01T00:00:00Z\n"
	"relays: [2001:db8:25::25, 192.0.2.25, 192.0.2.25]\n"
	"detection:\n"
	"  ports: [25, 2525]\n"
	"  window: 2m\n"
	"  syns: 100\n"
	"  distinct_destinations: 20\n"
	"  action: quarantine\n"
	"  quarantine_for: 1h\n"
	"  profile: quarantine\n"
	"  ipv6_prefix: 56\n"
	"  max_subscribers: 5000\n"
	"log:\n"
	"  blocks: /var/log/portcullis/blocks.jsonl\n"
	"  syslog: true\n"
	"  per_subscriber: 10/min\n";

static const struct entry_meta *meta_of(const struct policy *p,
					const struct table *t, int32_t id)
{
	struct table_entry e;

	ck_assert_int_eq(table_entry_get(t, id, &e), 0);
	ck_assert_uint_ne(e.origin, TABLE_NO_ORIGIN);
	ck_assert_uint_lt(e.origin, p->nmeta);
	return &p->meta[e.origin];
}

START_TEST(test_good_policy_loads_every_section)
{
	struct policy_errors errs = { 0 };
	struct policy *p = load(good, &errs);
	const struct profile *pr;
	char buf[64];

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(errs.count, 0);
	ck_assert_str_eq(p->path, "policy.yaml");
	ck_assert_int_eq(p->mode, POLICY_MODE_MONITOR);

	ck_assert_uint_eq(p->nprofiles, 3);
	pr = &p->profiles[0];
	ck_assert_str_eq(pr->name, "residential");
	ck_assert_uint_eq(pr->nports, 3);
	ck_assert_uint_eq(pr->ports[0], 25);
	ck_assert_uint_eq(pr->actions[0], POLICY_REJECT);
	ck_assert_uint_eq(pr->ports[1], 465);
	ck_assert_uint_eq(pr->actions[1], POLICY_ACCEPT);
	ck_assert_uint_eq(pr->ports[2], 587);
	ck_assert_int_eq(pr->def, POLICY_ACCEPT);
	pr = &p->profiles[1];
	ck_assert_str_eq(pr->name, "business");
	ck_assert_int_eq(pr->def, POLICY_DROP);
	pr = &p->profiles[2];
	ck_assert_str_eq(pr->name, "quarantine");
	ck_assert_uint_eq(pr->ports[0], 25);	/* sorted */
	ck_assert_uint_eq(pr->ports[2], 587);
	ck_assert_uint_eq(pr->actions[2], POLICY_DROP);

	ck_assert_uint_eq(table_count(p->v4), 2);
	ck_assert_uint_eq(table_count(p->v6), 1);

	ck_assert_uint_eq(p->nrelays, 2);
	/* Sorted by their 16 bytes: IPv4-mapped ::ffff:… comes first. */
	ck_assert_str_eq(addr_format(&p->relays[0], buf, sizeof(buf)),
			 "192.0.2.25");
	ck_assert_str_eq(addr_format(&p->relays[1], buf, sizeof(buf)),
			 "2001:db8:25::25");
	ck_assert_int_lt(memcmp(&p->relays[0], &p->relays[1],
				sizeof(p->relays[0])), 0);

	ck_assert(p->detection.enabled);
	ck_assert_uint_eq(p->detection.nports, 2);
	ck_assert_uint_eq(p->detection.ports[0], 25);
	ck_assert_uint_eq(p->detection.ports[1], 2525);
	ck_assert_uint_eq(p->detection.window_s, 120);
	ck_assert_uint_eq(p->detection.syns, 100);
	ck_assert_uint_eq(p->detection.distinct_destinations, 20);
	ck_assert(p->detection.quarantine);
	ck_assert_uint_eq(p->detection.quarantine_for_s, 3600);
	ck_assert_int_eq(p->detection.profile, 2);
	ck_assert_uint_eq(p->detection.ipv6_prefix_len, 56);
	ck_assert_uint_eq(p->detection.max_subscribers, 5000);

	ck_assert_str_eq(p->log.blocks, "/var/log/portcullis/blocks.jsonl");
	ck_assert_ptr_eq(p->log.blocks, p->log_blocks);
	ck_assert(p->log.syslog);
	ck_assert_uint_eq(p->log.per_subscriber, 10);
	ck_assert_uint_eq(p->log.per_subscriber_s, 60);
	policy_free(p);
}
END_TEST

START_TEST(test_yaml_entries_keep_note_expires_and_line)
{
	struct policy *p = load(good, NULL);
	struct table_entry e;
	const struct entry_meta *m;
	int32_t i, found = 0;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < (int32_t)table_count(p->v4); i++) {
		ck_assert_int_eq(table_entry_get(p->v4, i, &e), 0);
		m = meta_of(p, p->v4, i);
		ck_assert_str_eq(m->file, "policy.yaml");
		if (e.len == 28) {
			found++;
			ck_assert_str_eq(m->note, "ACME Corp, ticket 4411");
			ck_assert_uint_eq(m->line, 14);
			ck_assert_uint_eq(e.expires, 1803859200u);
			ck_assert_uint_eq(e.profile, 1);
		} else {
			ck_assert_ptr_null(m->note);
			ck_assert_uint_eq(m->line, 12);
			ck_assert_uint_eq(e.expires, 0);
			ck_assert_uint_eq(e.profile, 0);
		}
	}
	ck_assert_int_eq(found, 1);
	policy_free(p);
}
END_TEST

START_TEST(test_loaded_tables_find_the_longest_live_entry)
{
	struct policy *p = load(good, NULL);
	struct addr a;
	struct table_entry e;
	int32_t id;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(addr_parse("100.64.12.5", &a), 0);
	id = table_lookup(p->v4, &a, 1700000000);
	ck_assert_int_ge(id, 0);
	ck_assert_str_eq(meta_of(p, p->v4, id)->note, "ACME Corp, ticket 4411");
	/* After expiry the /10 decides. */
	id = table_lookup(p->v4, &a, 1803859200);
	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(table_entry_get(p->v4, id, &e), 0);
	ck_assert_uint_eq(e.len, 10);
	ck_assert_uint_eq(e.profile, 0);
	ck_assert_int_eq(addr_parse("2001:db8:1fff::1", &a), 0);
	ck_assert_int_ge(table_lookup(p->v6, &a, 0), 0);
	ck_assert_int_eq(addr_parse("192.0.2.1", &a), 0);
	ck_assert_int_eq(table_lookup(p->v4, &a, 0), -1);
	policy_free(p);
}
END_TEST

START_TEST(test_absent_sections_take_their_defaults)
{
	struct policy *p = load("version: 1\n", NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->mode, POLICY_MODE_ENFORCE);
	ck_assert_uint_eq(p->nprofiles, 0);
	ck_assert_uint_eq(p->nrelays, 0);
	ck_assert_uint_eq(table_count(p->v4), 0);
	ck_assert_uint_eq(table_count(p->v6), 0);
	ck_assert(!p->detection.enabled);
	ck_assert_int_eq(p->detection.profile, -1);
	ck_assert_uint_eq(p->detection.ipv6_prefix_len, 64);
	ck_assert_uint_eq(p->detection.max_subscribers, 1000000);
	ck_assert_ptr_null(p->log.blocks);
	ck_assert(!p->log.syslog);
	ck_assert_uint_eq(p->log.per_subscriber_s, 0);
	policy_free(p);
}
END_TEST

START_TEST(test_detection_defaults_when_keys_absent)
{
	struct policy *p = load("version: 1\ndetection: {}\n", NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert(p->detection.enabled);
	ck_assert_uint_eq(p->detection.nports, 1);
	ck_assert_uint_eq(p->detection.ports[0], 25);
	ck_assert_uint_eq(p->detection.window_s, 60);
	ck_assert_uint_eq(p->detection.syns, 100);
	ck_assert_uint_eq(p->detection.distinct_destinations, 20);
	ck_assert(!p->detection.quarantine);
	ck_assert_uint_eq(p->detection.quarantine_for_s, 3600);
	ck_assert_int_eq(p->detection.profile, -1);
	policy_free(p);
}
END_TEST

START_TEST(test_rates_and_durations_in_every_unit)
{
	struct policy *p = load("version: 1\n"
				"detection: { window: 1d, quarantine_for: 30m }\n"
				"log: { per_subscriber: 5/h }\n", NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->detection.window_s, 86400);
	ck_assert_uint_eq(p->detection.quarantine_for_s, 1800);
	ck_assert_uint_eq(p->log.per_subscriber, 5);
	ck_assert_uint_eq(p->log.per_subscriber_s, 3600);
	policy_free(p);

	/* The grammar every command reads: compounds and weeks too. */
	p = load("version: 1\n"
		 "detection: { window: 1h30m, quarantine_for: 2w }\n", NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->detection.window_s, 5400);
	ck_assert_uint_eq(p->detection.quarantine_for_s, 14 * 86400);
	policy_free(p);
	expect_errors("version: 1\ndetection: { window: 01h05m }\n",
		      "policy.yaml:2:22: window must be a duration from 1s to 1d "
		      "(such as 90s, 30m, 1h30m or 7d) without a leading zero, "
		      "found 01h05m; write 1h5m", NULL);

	p = load("version: 1\nlog: { per_subscriber: 3/s, syslog: no }\n",
		 NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->log.per_subscriber_s, 1);
	policy_free(p);

	p = load("version: 1\nlog: { per_subscriber: 0 }\n", NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->log.per_subscriber, 0);
	ck_assert_uint_eq(p->log.per_subscriber_s, 0);
	policy_free(p);
}
END_TEST

START_TEST(test_bare_address_is_a_host_prefix)
{
	struct policy *p = load(PROFILES
				"subscribers:\n"
				"  - { prefix: 100.64.3.7, profile: business }\n"
				"  - { prefix: '2001:db8::1', profile: business }\n",
				NULL);
	struct table_entry e;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(table_count(p->v4), 1);
	ck_assert_uint_eq(table_count(p->v6), 1);
	ck_assert_int_eq(table_entry_get(p->v6, 0, &e), 0);
	ck_assert_uint_eq(e.len, 128);
	ck_assert_int_eq(table_entry_get(p->v4, 0, &e), 0);
	ck_assert_uint_eq(e.len, 32);
	policy_free(p);
}
END_TEST

START_TEST(test_expires_with_offset_is_stored_as_utc)
{
	struct policy *p = load(PROFILES
				"subscribers:\n"
				"  - prefix: 100.64.12.0/28\n"
				"    profile: business\n"
				"    expires: 2027-03-01T02:30:00+02:30\n", NULL);
	struct table_entry e;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(table_entry_get(p->v4, 0, &e), 0);
	ck_assert_uint_eq(e.expires, 1803859200u);
	policy_free(p);
}
END_TEST

START_TEST(test_list_file_loads_with_comments_and_blank_lines)
{
	struct policy *p;
	const struct entry_meta *m;
	struct table_entry e;
	size_t i;

	write_file("business.list", "# business customers\n"
		   "100.64.12.0/28\n"
		   "\n"
		   "   100.64.13.0/24   # Globex\n"
		   "2001:db8:2000::/48\r\n"
		   "198.51.100.7");
	p = load(PROFILES
		 "subscribers:\n"
		 "  - { file: business.list, profile: business }\n"
		 "  - { prefix: 100.64.0.0/10, profile: residential }\n", NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(table_count(p->v4), 4);
	ck_assert_uint_eq(table_count(p->v6), 1);
	for (i = 0; i < table_count(p->v4); i++) {
		ck_assert_int_eq(table_entry_get(p->v4, (int32_t)i, &e), 0);
		m = meta_of(p, p->v4, (int32_t)i);
		if (e.len == 10) {
			ck_assert_str_eq(m->file, "policy.yaml");
			continue;
		}
		ck_assert_uint_eq(e.profile, 1);
		ck_assert_ptr_null(m->note);
		ck_assert_uint_eq(m->line, 0);
		ck_assert(strstr(m->file, "/business.list"));
		ck_assert(!strncmp(m->file, tmpdir, strlen(tmpdir)));
	}
	m = meta_of(p, p->v6, 0);
	ck_assert(strstr(m->file, "/business.list"));
	/* One meta for the list, one for the YAML entry. */
	ck_assert_uint_eq(p->nmeta, 2);
	policy_free(p);
}
END_TEST

START_TEST(test_unknown_key_is_named_with_the_allowed_ones)
{
	expect_errors("version: 1\nmdoe: monitor\n",
		      "policy.yaml:2:1: unknown key \"mdoe\" in the policy; "
		      "expected one of: version, mode, profiles, subscribers, "
		      "relays, detection, log, cluster", NULL);
	expect_errors("version: 1\ndetection: { sins: 3 }\n",
		      "policy.yaml:2:14: unknown key \"sins\" in detection; "
		      "expected one of: ports, window, syns, "
		      "distinct_destinations, action, quarantine_for, profile, "
		      "ipv6_prefix, max_subscribers", NULL);
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 10.0.0.0/8, profile: business, nte: x }\n",
		      "policy.yaml:11:46: unknown key \"nte\" in subscriber "
		      "entry; expected one of: prefix, file, profile, note, "
		      "expires", NULL);
}
END_TEST

START_TEST(test_wrong_type_says_what_was_expected_and_found)
{
	expect_errors("version: 1\nprofiles: [a]\n",
		      "policy.yaml:2:11: profiles: expected a mapping, found "
		      "a sequence", NULL);
	expect_errors("version: 1\nsubscribers: {a: 1}\n",
		      "policy.yaml:2:14: subscribers: expected a sequence, "
		      "found a mapping", NULL);
	expect_errors("version: 1\nrelays: 192.0.2.1\n",
		      "policy.yaml:2:9: relays: expected a sequence, found "
		      "\"192.0.2.1\"", NULL);
	expect_errors("version: 1\nlog:\n",
		      "policy.yaml:2:5: log: expected a mapping, found nothing",
		      NULL);
	expect_errors("version: 1\ndetection: { syns: [1] }\n",
		      "policy.yaml:2:20: syns: expected a scalar, found a "
		      "sequence", NULL);
}
END_TEST

START_TEST(test_port_outside_range_states_the_bounds)
{
	expect_errors("version: 1\nprofiles:\n  r:\n"
		      "    ports: { 0: drop, 65536: drop, 65535: drop, x: drop }\n",
		      "policy.yaml:4:14: port must be an integer from 1 to "
		      "65535, found 0",
		      "policy.yaml:4:23: port must be an integer from 1 to "
		      "65535, found 65536",
		      "policy.yaml:4:49: port must be an integer from 1 to "
		      "65535, found x", NULL);
	expect_errors("version: 1\ndetection: { ports: [25, 99999] }\n",
		      "policy.yaml:2:26: port must be an integer from 1 to "
		      "65535, found 99999", NULL);
}
END_TEST

START_TEST(test_unknown_action_names_the_three_valid_ones)
{
	expect_errors("version: 1\nprofiles:\n  r:\n    ports: { 25: deny }\n"
		      "    default: allow\n",
		      "policy.yaml:4:18: unknown action \"deny\"; expected "
		      "accept, drop or reject",
		      "policy.yaml:5:14: unknown action \"allow\"; expected "
		      "accept, drop or reject", NULL);
}
END_TEST

START_TEST(test_subscriber_naming_unknown_profile_lists_the_defined)
{
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 10.0.0.0/8, profile: bussiness }\n",
		      "policy.yaml:11:36: unknown profile \"bussiness\"; defined "
		      "profiles: residential, business, quarantine", NULL);
	expect_errors("version: 1\nsubscribers:\n"
		      "  - { prefix: 10.0.0.0/8, profile: x }\n",
		      "policy.yaml:3:36: unknown profile \"x\"; no profiles are "
		      "defined", NULL);
	expect_errors("version: 1\nsubscribers:\n  - { prefix: 10.0.0.0/8 }\n",
		      "policy.yaml:3:5: subscriber entry needs a profile", NULL);
}
END_TEST

START_TEST(test_detection_profile_must_exist)
{
	expect_errors(PROFILES "detection:\n  action: quarantine\n"
		      "  profile: jail\n",
		      "policy.yaml:12:12: unknown detection profile \"jail\"; "
		      "defined profiles: residential, business, quarantine",
		      NULL);
	expect_errors(PROFILES "detection:\n  action: quarantine\n",
		      "policy.yaml:11:3: detection action quarantine needs a "
		      "profile (detection.profile)", NULL);
	expect_errors("version: 1\ndetection: { action: block }\n",
		      "policy.yaml:2:22: unknown detection action \"block\"; "
		      "expected log or quarantine", NULL);
}
END_TEST

START_TEST(test_malformed_prefix_is_quoted)
{
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 100.64.0/10, profile: business }\n"
		      "  - { prefix: 100.64.0.0/33, profile: business }\n"
		      "  - { prefix: '2001:db8::/129', profile: business }\n"
		      "  - { prefix: 100.64.0.0/, profile: business }\n"
		      "  - { prefix: 010.64.0.0/10, profile: business }\n",
		      "policy.yaml:11:15: malformed prefix \"100.64.0/10\": "
		      "expected an IPv4 or IPv6 address, optionally with /LENGTH",
		      "policy.yaml:12:15: malformed prefix \"100.64.0.0/33\": "
		      "the length must be from 0 to 32",
		      "policy.yaml:13:15: malformed prefix \"2001:db8::/129\": "
		      "the length must be from 0 to 128",
		      "policy.yaml:14:15: malformed prefix \"100.64.0.0/\": "
		      "the length must be from 0 to 32",
		      "policy.yaml:15:15: malformed prefix \"010.64.0.0/10\": "
		      "expected an IPv4 or IPv6 address, optionally with /LENGTH",
		      NULL);
}
END_TEST

START_TEST(test_prefix_with_host_bits_names_the_network)
{
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 100.64.3.7/10, profile: business }\n"
		      "  - { prefix: '2001:db8:1234::/36', profile: business }\n",
		      "policy.yaml:11:15: 100.64.3.7/10 has host bits set; did "
		      "you mean 100.64.0.0/10?",
		      "policy.yaml:12:15: 2001:db8:1234::/36 has host bits set; "
		      "did you mean 2001:db8:1000::/36?", NULL);
}
END_TEST

START_TEST(test_same_prefix_twice_names_where_first_given)
{
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 100.64.0.0/10, profile: business }\n"
		      "  - { prefix: '2001:db8::/32', profile: business }\n"
		      "  - { prefix: 100.64.0.0/10, profile: residential }\n"
		      "  - { prefix: '2001:0db8::/32', profile: business }\n",
		      "policy.yaml:13:15: 100.64.0.0/10 is given twice; first "
		      "given at policy.yaml:11",
		      "policy.yaml:14:15: 2001:db8::/32 is given twice; first "
		      "given at policy.yaml:12", NULL);
}
END_TEST

START_TEST(test_same_prefix_in_list_and_yaml_names_both_files)
{
	char e1[512], e2[512];

	write_file("a.list", "100.64.0.0/10\n# x\n  100.64.1.0/24\n");
	snprintf(e1, sizeof(e1), "%s/a.list:3:3: 100.64.1.0/24 is given twice;"
		 " first given at policy.yaml:11", tmpdir);
	snprintf(e2, sizeof(e2), "policy.yaml:13:15: 100.64.0.0/10 is given "
		 "twice; first given at %s/a.list:1", tmpdir);
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 100.64.1.0/24, profile: business }\n"
		      "  - { file: a.list, profile: residential }\n"
		      "  - { prefix: 100.64.0.0/10, profile: residential }\n",
		      e1, e2, NULL);
}
END_TEST

START_TEST(test_bad_expires_shows_the_expected_form)
{
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 10.0.0.0/8, profile: business, "
		      "expires: 2027-03-01 }\n"
		      "  - { prefix: 10.0.0.0/9, profile: business, "
		      "expires: '2027-03-01T00:00:00' }\n"
		      "  - { prefix: 10.0.0.0/10, profile: business, "
		      "expires: 2200-01-01T00:00:00Z }\n",
		      "policy.yaml:11:55: expires must be an RFC 3339 time like "
		      "2027-03-01T00:00:00Z, found 2027-03-01",
		      "policy.yaml:12:55: expires needs a time zone: Z for UTC "
		      "or an offset like +01:00, found 2027-03-01T00:00:00",
		      "policy.yaml:13:56: expires must be from "
		      "1970-01-01T00:00:01Z to 2106-02-07T06:28:15Z, found "
		      "2200-01-01T00:00:00Z", NULL);
}
END_TEST

START_TEST(test_missing_list_file_reports_strerror)
{
	char e1[512];

	snprintf(e1, sizeof(e1), "policy.yaml:11:13: cannot read %s/none.list"
		 ": No such file or directory", tmpdir);
	expect_errors(PROFILES "subscribers:\n"
		      "  - { file: none.list, profile: business }\n", e1, NULL);
}
END_TEST

START_TEST(test_list_file_errors_name_the_list_and_its_line)
{
	char e1[512], e2[512], e3[512];

	write_file("b.list", "100.64.0.0/10\n"
		   "\t100.64.3.7/24\n"
		   "100.64.9.0/24 100.64.10.0/24\n"
		   "garbage # comment\n");
	snprintf(e1, sizeof(e1), "%s/b.list:2:2: 100.64.3.7/24 has host bits "
		 "set; did you mean 100.64.3.0/24?", tmpdir);
	snprintf(e2, sizeof(e2), "%s/b.list:3:15: one prefix a line expected, "
		 "found more after \"100.64.9.0/24\"", tmpdir);
	snprintf(e3, sizeof(e3), "%s/b.list:4:1: malformed prefix \"garbage\": "
		 "expected an IPv4 or IPv6 address, optionally with /LENGTH",
		 tmpdir);
	expect_errors(PROFILES "subscribers:\n"
		      "  - { file: b.list, profile: business }\n"
		      "  - { prefix: 300.0.0.0/8, profile: business }\n",
		      e1, e2, e3,
		      "policy.yaml:12:15: malformed prefix \"300.0.0.0/8\": "
		      "expected an IPv4 or IPv6 address, optionally with /LENGTH",
		      NULL);
}
END_TEST

START_TEST(test_list_file_errors_stop_after_a_hundred)
{
	struct policy_errors errs = { 0 };
	char *list = malloc(200 * 8 + 1), want[512];
	size_t i;

	for (i = 0; i < 200; i++)
		memcpy(list + i * 8, "garbage\n", 8);
	list[200 * 8] = '\0';
	write_file("c.list", list);
	free(list);
	ck_assert_ptr_null(load(PROFILES "subscribers:\n"
				"  - { file: c.list, profile: business }\n",
				&errs));
	ck_assert_uint_eq(errs.count, 101);
	snprintf(want, sizeof(want), "%s/c.list: 100 more errors not shown",
		 tmpdir);
	ck_assert_str_eq(errs.msg[100], want);
	policy_errors_free(&errs);
}
END_TEST

START_TEST(test_empty_document_or_not_a_mapping)
{
	expect_errors("", "policy.yaml:1:1: the policy is empty; expected a "
		      "mapping that starts with version: 1", NULL);
	expect_errors("# only a comment\n", "policy.yaml:1:1: the policy is "
		      "empty; expected a mapping that starts with version: 1",
		      NULL);
	expect_errors("just text\n", "policy.yaml:1:1: the policy: expected a "
		      "mapping, found \"just text\"", NULL);
}
END_TEST

START_TEST(test_version_missing_or_not_1)
{
	expect_errors("mode: enforce\n", "policy.yaml:1:1: version is missing; "
		      "expected version: 1", NULL);
	expect_errors("version: 2\n", "policy.yaml:1:10: version must be 1, "
		      "found 2", NULL);
	expect_errors("version: [1]\n", "policy.yaml:1:10: version must be 1, "
		      "found a sequence", NULL);
}
END_TEST

START_TEST(test_relay_that_is_not_an_address)
{
	expect_errors("version: 1\nrelays: [192.0.2.1, relay.example, "
		      "192.0.2.0/24]\n",
		      "policy.yaml:2:21: relay must be an IPv4 or IPv6 address, "
		      "found \"relay.example\"",
		      "policy.yaml:2:36: relay must be an IPv4 or IPv6 address, "
		      "found \"192.0.2.0/24\"", NULL);
}
END_TEST

START_TEST(test_numeric_keys_state_their_bounds)
{
	expect_errors("version: 1\ndetection:\n  syns: 0\n"
		      "  distinct_destinations: 1000001\n"
		      "  ipv6_prefix: 0\n  max_subscribers: -1\n"
		      "  window: 2d\n  quarantine_for: 5w\n",
		      "policy.yaml:3:9: syns must be an integer from 1 to "
		      "1000000, found 0",
		      "policy.yaml:4:26: distinct_destinations must be an "
		      "integer from 1 to 1000000, found 1000001",
		      "policy.yaml:5:16: ipv6_prefix must be an integer from 1 "
		      "to 64, found 0",
		      "policy.yaml:6:20: max_subscribers must be an integer "
		      "from 1 to 100000000, found -1",
		      "policy.yaml:7:11: window must be a duration from 1s to 1d "
		      "(such as 90s, 30m, 1h30m or 7d), found 2d",
		      "policy.yaml:8:19: quarantine_for must be a duration from "
		      "1s to 30d (such as 90s, 30m, 1h30m or 7d), found 5w", NULL);
	expect_errors("version: 1\nlog: { per_subscriber: 10/day }\n",
		      "policy.yaml:2:24: per_subscriber must be a rate like "
		      "10/min (N/s, N/min or N/h, N from 0 to 1000000; 0 for "
		      "unlimited), found 10/day", NULL);
}
END_TEST

START_TEST(test_duplicate_keys_name_the_first)
{
	expect_errors("version: 1\nlog: {}\nlog: {}\n"
		      "profiles:\n  a: {}\n  a: {}\n"
		      "  b: { ports: { 25: drop, 25: accept } }\n",
		      "policy.yaml:3:1: duplicate key \"log\" in the policy; "
		      "first given at line 2, column 1",
		      "policy.yaml:6:3: duplicate key \"a\" in profiles; first "
		      "given at line 5, column 3",
		      "policy.yaml:7:27: duplicate key \"25\" in "
		      "profiles.b.ports; first given at line 7, column 17",
		      NULL);
}
END_TEST

START_TEST(test_yaml_syntax_error_has_its_position)
{
	expect_errors("version: 1\nprofiles:\n  r:\n    ports: { 25: drop\n"
		      "  b: {}\n",
		      "policy.yaml:5:4: YAML syntax error: did not find expected "
		      "',' or '}' (while parsing a flow mapping that starts at "
		      "line 4)", NULL);
	expect_errors("version: 1\n\tmode: enforce\n",
		      "policy.yaml:2:1: YAML syntax error: found a tab "
		      "character that violates indentation (while scanning a "
		      "plain scalar that starts at line 1)", NULL);
	expect_errors("version: 1\n---\nversion: 1\n",
		      "policy.yaml:3:1: a second YAML document; a policy is "
		      "one document", NULL);
}
END_TEST

START_TEST(test_entry_needs_exactly_one_of_prefix_and_file)
{
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 10.0.0.0/8, file: x.list, profile: business }\n"
		      "  - { profile: business }\n",
		      "policy.yaml:11:5: subscriber entry needs exactly one of "
		      "prefix and file, found both",
		      "policy.yaml:12:5: subscriber entry needs exactly one of "
		      "prefix and file, found neither", NULL);
}
END_TEST

START_TEST(test_all_errors_of_a_document_are_reported_in_order)
{
	expect_errors("version: 1\n"
		      "mode: enforcing\n"
		      "subscribers:\n"
		      "  - { prefix: 100.64.0.1/10, profile: residential }\n"
		      "profiles:\n"
		      "  residential:\n"
		      "    ports: { 0: reject, 465: acept }\n"
		      "    defualt: accept\n"
		      "relays: [300.1.2.3]\n",
		      "policy.yaml:2:7: unknown mode \"enforcing\"; expected "
		      "enforce or monitor",
		      "policy.yaml:4:15: 100.64.0.1/10 has host bits set; did "
		      "you mean 100.64.0.0/10?",
		      "policy.yaml:7:14: port must be an integer from 1 to "
		      "65535, found 0",
		      "policy.yaml:7:30: unknown action \"acept\"; expected "
		      "accept, drop or reject",
		      "policy.yaml:8:5: unknown key \"defualt\" in profile "
		      "\"residential\"; expected one of: ports, default",
		      "policy.yaml:9:10: relay must be an IPv4 or IPv6 address, "
		      "found \"300.1.2.3\"", NULL);
}
END_TEST

START_TEST(test_errors_are_appended_and_null_errs_is_fine)
{
	struct policy_errors errs = { 0 };

	ck_assert_ptr_null(load("version: 2\n", NULL));
	ck_assert_ptr_null(load("version: 2\n", &errs));
	ck_assert_ptr_null(load("version: 3\n", &errs));
	ck_assert_uint_eq(errs.count, 2);
	ck_assert_str_eq(errs.msg[1], "policy.yaml:1:10: version must be 1, "
			 "found 3");
	policy_errors_free(&errs);
	ck_assert_uint_eq(errs.count, 0);
	policy_errors_free(&errs);
	policy_errors_free(NULL);
	policy_free(NULL);
}
END_TEST

START_TEST(test_policy_load_reads_lists_next_to_the_policy)
{
	char path[256];
	struct policy *p;

	write_file("p.yaml", PROFILES "subscribers:\n"
		   "  - { file: d.list, profile: business }\n");
	write_file("d.list", "100.64.12.0/28\n");
	snprintf(path, sizeof(path), "%s/p.yaml", tmpdir);
	p = policy_load(path, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->path, path);
	ck_assert_uint_eq(table_count(p->v4), 1);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_load_of_a_missing_file_says_why)
{
	struct policy_errors errs = { 0 };

	ck_assert_ptr_null(policy_load("/nonexistent/policy.yaml", &errs));
	ck_assert_uint_eq(errs.count, 1);
	ck_assert_str_eq(errs.msg[0], "/nonexistent/policy.yaml: cannot read: "
			 "No such file or directory");
	policy_errors_free(&errs);
}
END_TEST

START_TEST(test_aliases_are_refused_where_used)
{
	expect_errors("version: 1\nprofiles:\n"
		      "  residential: &res { ports: { 25: reject } }\n"
		      "  home: *res\n",
		      "policy.yaml:3:16: YAML anchor &res: anchors and aliases "
		      "are not supported; remove the anchor",
		      "policy.yaml:4:9: YAML alias *res: anchors and aliases are "
		      "not supported; write the value out in full", NULL);
}
END_TEST

START_TEST(test_alias_bomb_is_refused_at_once)
{
	/* Ten levels of ten: 10^10 "lol"s if anything expanded them. */
	char *yaml = malloc(8192), *p = yaml;
	struct policy_errors errs = { 0 };

	ck_assert_ptr_nonnull(yaml);
	p += sprintf(p, "version: 1\nl0: &l0 [lol, lol, lol, lol, lol, lol, "
		     "lol, lol, lol, lol]\n");
	for (int i = 1; i <= 10; i++) {
		p += sprintf(p, "l%d: &l%d [", i, i);
		for (int k = 0; k < 10; k++)
			p += sprintf(p, "%s*l%d", k ? ", " : "", i - 1);
		p += sprintf(p, "]\n");
	}
	p += sprintf(p, "relays: [*l10, *l10, *l10]\n");
	ck_assert_ptr_null(policy_load_buffer("bomb.yaml", NULL, yaml,
					      strlen(yaml), &errs));
	/* Ten named (the anchors &l0, &l1, then aliases), then one line
	 * for the other 9 anchors and 95 aliases. */
	ck_assert_uint_eq(errs.count, 11);
	ck_assert_str_eq(errs.msg[0], "bomb.yaml:2:5: YAML anchor &l0: anchors "
			 "and aliases are not supported; remove the anchor");
	ck_assert_str_eq(errs.msg[2], "bomb.yaml:3:10: YAML alias *l0: anchors "
			 "and aliases are not supported; write the value out "
			 "in full");
	ck_assert_str_eq(errs.msg[10], "bomb.yaml: 104 more anchors and "
			 "aliases not shown");
	policy_errors_free(&errs);
	free(yaml);
}
END_TEST

START_TEST(test_asterisk_in_text_is_no_alias)
{
	struct policy *p = load(PROFILES "subscribers:\n"
				"  - { prefix: 10.0.0.0/8, profile: business, "
				"note: \"*important* customer\" }\n", NULL);

	ck_assert_ptr_nonnull(p);
	policy_free(p);
}
END_TEST

START_TEST(test_nul_inside_a_value_is_refused)
{
	expect_errors("version: 1\nrelays: [\"192.0.2.1\\0junk\"]\n",
		      "policy.yaml:2:10: expected text without NUL characters, "
		      "found \\0 after \"192.0.2.1\"", NULL);
}
END_TEST

START_TEST(test_control_characters_in_messages_are_escaped)
{
	expect_errors("version: 1\nmode: \"en\\tforce\\nnow\\e\"\n",
		      "policy.yaml:2:7: unknown mode \"en\\tforce\\nnow\\x1b\"; "
		      "expected enforce or monitor", NULL);
}
END_TEST

START_TEST(test_bom_and_crlf_are_read_as_text)
{
	static const char yaml[] = "\xef\xbb\xbfversion: 1\r\nmode: monitor\r\n"
				   "profiles: { b: { ports: { 25: accept } } }"
				   "\r\nsubscribers:\r\n"
				   "  - { file: w.list, profile: b }\r\n";
	struct policy_errors errs = { 0 };
	struct policy *p;
	char want[512];

	/* A Windows export: byte order mark, CRLF, a blank CRLF line. */
	write_file("w.list", "\xef\xbb\xbf# CRM\r\n100.64.12.0/28\r\n\r\n"
		   "2001:db8:1020::/48 # ACME\r\n");
	p = policy_load_buffer("policy.yaml", tmpdir, yaml, strlen(yaml),
			       &errs);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->mode, POLICY_MODE_MONITOR);
	ck_assert_uint_eq(table_count(p->v4), 1);
	ck_assert_uint_eq(table_count(p->v6), 1);
	policy_free(p);
	/* Errors count lines and columns as if neither were there. */
	write_file("w.list", "\xef\xbb\xbf" "100.64.12.7/28\r\n");
	snprintf(want, sizeof(want), "%s/w.list:1:1: 100.64.12.7/28 has host "
		 "bits set; did you mean 100.64.12.0/28?", tmpdir);
	expect_errors("\xef\xbb\xbfversion: 2\r\nprofiles: { b: {} }\r\n"
		      "subscribers: [ { file: w.list, profile: b } ]\r\n",
		      "policy.yaml:1:10: version must be 1, found 2", want,
		      NULL);
}
END_TEST

START_TEST(test_list_line_with_nul_is_malformed)
{
	static const char list[] = "100.64.12.0/28\n2001:db8::\0/48\n";
	char want[512];

	write_bytes("n.list", list, sizeof(list) - 1);
	snprintf(want, sizeof(want), "%s/n.list:2:1: malformed prefix "
		 "\"2001:db8::\\0/48\": expected an IPv4 or IPv6 address, "
		 "optionally with /LENGTH", tmpdir);
	expect_errors(PROFILES "subscribers:\n"
		      "  - { file: n.list, profile: business }\n", want, NULL);
}
END_TEST

START_TEST(test_list_that_is_no_regular_file_is_refused)
{
	char fifo[256], want[512];

	/* A FIFO would block the open, /dev/zero fill the memory. */
	snprintf(fifo, sizeof(fifo), "%s/f.list", tmpdir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	snprintf(want, sizeof(want), "policy.yaml:11:13: cannot read %s: not "
		 "a regular file", fifo);
	expect_errors(PROFILES "subscribers:\n"
		      "  - { file: f.list, profile: business }\n"
		      "  - { file: /dev/zero, profile: business }\n", want,
		      "policy.yaml:12:13: cannot read /dev/zero: not a regular "
		      "file", NULL);
}
END_TEST

START_TEST(test_syntax_errors_say_what_was_likely_meant)
{
	expect_errors("version: 1\nprofiles:\n\tr: {}\n",
		      "policy.yaml:3:1: YAML syntax error: found character that "
		      "cannot start any token (while scanning for the next "
		      "token that starts at line 3); YAML indents with spaces, "
		      "not tabs", NULL);
	expect_errors("version: 1\nrelays: [::1]\n",
		      "policy.yaml:2:10: YAML syntax error: did not find "
		      "expected node content (while parsing a flow node that "
		      "starts at line 2); quote a value that starts with ':', "
		      "like \"::/0\"", NULL);
	expect_errors("version: 1\n# caf\xe9\n",
		      "policy.yaml:2:6: YAML syntax error: incomplete UTF-8 "
		      "octet sequence; a policy is UTF-8 text", NULL);
}
END_TEST

START_TEST(test_prefix_messages_explain_mapped_prefixes_and_zones)
{
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: \"::ffff:100.64.0.0/10\", profile: business }\n"
		      "  - { prefix: \"::ffff:100.64.0.0/106\", profile: business }\n"
		      "  - { prefix: \"fe80::1%eth0\", profile: business }\n",
		      "policy.yaml:11:15: ::ffff:100.64.0.0/10 is an IPv4-mapped "
		      "IPv6 address with a length below 96; write the IPv4 "
		      "prefix 100.64.0.0/10 instead",
		      "policy.yaml:12:15: ::ffff:100.64.0.0/106 is an IPv4-mapped "
		      "IPv6 prefix; write the IPv4 prefix 100.64.0.0/10 instead",
		      "policy.yaml:13:15: malformed prefix \"fe80::1%eth0\": "
		      "expected an IPv4 or IPv6 address, optionally with "
		      "/LENGTH; a zone index (%) has no place in a prefix", NULL);
}
END_TEST

START_TEST(test_expires_messages_name_the_mistake)
{
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 10.0.0.0/8, profile: business, "
		      "expires: 2027-02-29T00:00:00Z }\n"
		      "  - { prefix: 10.0.0.0/9, profile: business, "
		      "expires: 2027-03-01 12:00:00Z }\n"
		      "  - { prefix: 10.0.0.0/10, profile: business, "
		      "expires: 2027-03-01T25:00:00+01:00 }\n"
		      "  - { prefix: 10.0.0.0/11, profile: business, "
		      "expires: 1 }\n",
		      "policy.yaml:11:55: expires must be a date and time that "
		      "exist, found 2027-02-29T00:00:00Z",
		      "policy.yaml:12:55: expires needs a T between the date and "
		      "the time, found 2027-03-01 12:00:00Z",
		      "policy.yaml:13:56: expires must be a date and time that "
		      "exist, found 2027-03-01T25:00:00+01:00",
		      "policy.yaml:14:56: expires must be an RFC 3339 time like "
		      "2027-03-01T00:00:00Z, found 1", NULL);
}
END_TEST

START_TEST(test_anchor_without_alias_is_refused)
{
	expect_errors("version: 1\nprofiles:\n"
		      "  residential: &res { ports: { 25: reject } }\n"
		      "  business: { ports: &p { 25: accept } }\n",
		      "policy.yaml:3:16: YAML anchor &res: anchors and aliases "
		      "are not supported; remove the anchor",
		      "policy.yaml:4:22: YAML anchor &p: anchors and aliases are "
		      "not supported; remove the anchor", NULL);
}
END_TEST

START_TEST(test_tags_are_refused_with_their_position)
{
	expect_errors("version: !!python/object:os.system 1\n",
		      "policy.yaml:1:10: YAML tag !!python/object:os.system: "
		      "tags are not supported; write the plain value without it",
		      NULL);
	expect_errors("version: 1\nmode: !!str enforce\n"
		      "profiles: !local { b: { ports: { 25: accept } } }\n"
		      "relays: &r !!seq [192.0.2.25]\n"
		      "log: { syslog: !<tag:yaml.org,2002:bool> true }\n",
		      "policy.yaml:2:7: YAML tag !!str: tags are not supported; "
		      "write the plain value without it",
		      "policy.yaml:3:11: YAML tag !local: tags are not supported; "
		      "write the plain value without it",
		      "policy.yaml:4:9: YAML anchor &r: anchors and aliases are "
		      "not supported; remove the anchor",
		      "policy.yaml:4:12: YAML tag !!seq: tags are not supported; "
		      "write the plain value without it",
		      "policy.yaml:5:16: YAML tag !!bool: tags are not supported; "
		      "write the plain value without it", NULL);
	/* Columns count characters, after a byte order mark too. */
	expect_errors("\xef\xbb\xbfversion: 1\n"
		      "mode: { \xc3\xa9t\xc3\xa9: &a\n   !!str x }\n",
		      "policy.yaml:2:7: mode: expected a scalar, found a mapping",
		      "policy.yaml:2:14: YAML anchor &a: anchors and "
		      "aliases are not supported; remove the anchor",
		      "policy.yaml:3:4: YAML tag !!str: tags are not supported; "
		      "write the plain value without it", NULL);
	/* The walk goes on: other errors are still found. */
	expect_errors("version: !!int 2\n",
		      "policy.yaml:1:10: YAML tag !!int: tags are not supported; "
		      "write the plain value without it",
		      "policy.yaml:1:10: version must be 1, found 2", NULL);
}
END_TEST

START_TEST(test_exclamation_mark_in_text_is_no_tag)
{
	struct policy *p = load(PROFILES "subscribers:\n"
				"  - { prefix: 10.0.0.0/8, profile: business, "
				"note: Urgent! & more }\n", NULL);

	ck_assert_ptr_nonnull(p);
	policy_free(p);
}
END_TEST

START_TEST(test_utf16_policy_is_refused_utf8_bom_is_fine)
{
	static const char le[] = "\xff\xfev\0e\0r\0s\0i\0o\0n\0:\0 \0001\0\n\0";
	static const char be[] = "\xfe\xff\0v\0e\0r\0s\0i\0o\0n\0:\0 \0001\0\n";
	static const char bare[] = "v\0e\0r\0s\0i\0o\0n\0:\0 \0001\0\n\0";
	struct policy_errors errs = { 0 };
	struct policy *p;

	ck_assert_ptr_null(policy_load_buffer("p.yaml", NULL, le,
					      sizeof(le) - 1, &errs));
	ck_assert_ptr_null(policy_load_buffer("p.yaml", NULL, be,
					      sizeof(be) - 1, &errs));
	ck_assert_ptr_null(policy_load_buffer("p.yaml", NULL, bare,
					      sizeof(bare) - 1, &errs));
	ck_assert_uint_eq(errs.count, 3);
	ck_assert_str_eq(errs.msg[0], "p.yaml:1:1: expected UTF-8 text, found "
			 "UTF-16 (little-endian, byte order mark FF FE); save "
			 "the policy as UTF-8");
	ck_assert_str_eq(errs.msg[1], "p.yaml:1:1: expected UTF-8 text, found "
			 "UTF-16 (big-endian, byte order mark FE FF); save the "
			 "policy as UTF-8");
	ck_assert_str_eq(errs.msg[2], "p.yaml:1:1: expected UTF-8 text, found "
			 "UTF-16 (a NUL byte beside each ASCII character); save "
			 "the policy as UTF-8");
	policy_errors_free(&errs);
	p = load("\xef\xbb\xbfversion: 1\n", NULL);
	ck_assert_ptr_nonnull(p);
	policy_free(p);
}
END_TEST

START_TEST(test_utf16_list_is_refused)
{
	static const char list[] = "\xff\xfe" "1\0" "0\0" ".\0" "0\0" ".\0"
				   "0\0" ".\0" "0\0" "/\0" "8\0";
	char want[512];

	write_bytes("u.list", list, sizeof(list) - 1);
	snprintf(want, sizeof(want), "%s/u.list:1:1: expected UTF-8 text, "
		 "found UTF-16 (little-endian, byte order mark FF FE); save "
		 "the list as UTF-8", tmpdir);
	expect_errors(PROFILES "subscribers:\n"
		      "  - { file: u.list, profile: business }\n", want, NULL);
}
END_TEST

START_TEST(test_integers_with_leading_zeros_are_refused_everywhere)
{
	expect_errors("version: 1\nprofiles:\n"
		      "  b: { ports: { 025: drop, 0587: accept, 09: drop } }\n"
		      "detection:\n  ports: [025]\n  syns: 0100\n"
		      "  distinct_destinations: 020\n  ipv6_prefix: 064\n"
		      "  max_subscribers: 01000\n  window: 060s\n"
		      "  quarantine_for: 01h\n"
		      "log: { per_subscriber: 010/min }\n",
		      "policy.yaml:3:17: port must be an integer from 1 to 65535 "
		      "without a leading zero, found 025 (YAML 1.1 tools read 025 "
		      "as octal, 21); write 25",
		      "policy.yaml:3:28: port must be an integer from 1 to 65535 "
		      "without a leading zero, found 0587; write 587",
		      "policy.yaml:3:42: port must be an integer from 1 to 65535 "
		      "without a leading zero, found 09; write 9",
		      "policy.yaml:5:11: port must be an integer from 1 to 65535 "
		      "without a leading zero, found 025 (YAML 1.1 tools read 025 "
		      "as octal, 21); write 25",
		      "policy.yaml:6:9: syns must be an integer from 1 to 1000000 "
		      "without a leading zero, found 0100 (YAML 1.1 tools read "
		      "0100 as octal, 64); write 100",
		      "policy.yaml:7:26: distinct_destinations must be an integer "
		      "from 1 to 1000000 without a leading zero, found 020 (YAML "
		      "1.1 tools read 020 as octal, 16); write 20",
		      "policy.yaml:8:16: ipv6_prefix must be an integer from 1 to "
		      "64 without a leading zero, found 064 (YAML 1.1 tools read "
		      "064 as octal, 52); write 64",
		      "policy.yaml:9:20: max_subscribers must be an integer from "
		      "1 to 100000000 without a leading zero, found 01000 (YAML "
		      "1.1 tools read 01000 as octal, 512); write 1000",
		      "policy.yaml:10:11: window must be a duration from 1s to 1d "
		      "(such as 90s, 30m, 1h30m or 7d) without a leading zero, "
		      "found 060s; write 60s",
		      "policy.yaml:11:19: quarantine_for must be a duration from "
		      "1s to 30d (such as 90s, 30m, 1h30m or 7d) without a leading "
		      "zero, found 01h; write 1h",
		      "policy.yaml:12:24: per_subscriber must be a rate like "
		      "10/min without a leading zero, found 010/min; write 10/min",
		      NULL);
	/* Zero alone is a number; out of bounds stays a bounds error. */
	expect_errors("version: 01\nprofiles: { b: { ports: { 00: drop, "
		      "070000: drop } } }\n",
		      "policy.yaml:1:10: version must be 1 without a leading "
		      "zero, found 01; write 1",
		      "policy.yaml:2:27: port must be an integer from 1 to "
		      "65535, found 00",
		      "policy.yaml:2:37: port must be an integer from 1 to "
		      "65535, found 070000", NULL);
}
END_TEST

START_TEST(test_zero_alone_is_no_leading_zero)
{
	struct policy *p = load("version: 1\nlog: { per_subscriber: 0 }\n"
				"profiles: { b: { ports: { 10: drop } } }\n",
				NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->profiles[0].ports[0], 10);
	policy_free(p);
}
END_TEST

START_TEST(test_prefix_length_with_leading_zero_is_refused)
{
	char want1[512], want[512], out[160];

	write_file("z.list", "100.64.0.0/010\n2001:db8::/032\n0.0.0.0/0\n");
	snprintf(want1, sizeof(want1), "%s/z.list:1:1: malformed prefix "
		 "\"100.64.0.0/010\": expected a length without a leading zero "
		 "(YAML 1.1 tools read 010 as octal, 8); write 100.64.0.0/10",
		 tmpdir);
	snprintf(want, sizeof(want), "%s/z.list:2:1: malformed prefix "
		 "\"2001:db8::/032\": expected a length without a leading zero "
		 "(YAML 1.1 tools read 032 as octal, 26); write 2001:db8::/32",
		 tmpdir);
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: 100.64.0.0/010, profile: business }\n"
		      "  - { prefix: 100.65.0.0/016, profile: business }\n"
		      "  - { prefix: 100.66.0.0/09, profile: business }\n"
		      "  - { file: z.list, profile: residential }\n",
		      "policy.yaml:11:15: malformed prefix \"100.64.0.0/010\": "
		      "expected a length without a leading zero (YAML 1.1 tools "
		      "read 010 as octal, 8); write 100.64.0.0/10",
		      "policy.yaml:12:15: malformed prefix \"100.65.0.0/016\": "
		      "expected a length without a leading zero (YAML 1.1 tools "
		      "read 016 as octal, 14); write 100.65.0.0/16",
		      "policy.yaml:13:15: malformed prefix \"100.66.0.0/09\": "
		      "expected a length without a leading zero; write "
		      "100.66.0.0/9", want1, want, NULL);
	ck_assert_int_eq(policy_prefix_normalize("100.64.0.0/010", out,
						 sizeof(out)), -1);
	ck_assert_str_eq(out, "malformed prefix \"100.64.0.0/010\": expected a "
			 "length without a leading zero (YAML 1.1 tools read "
			 "010 as octal, 8); write 100.64.0.0/10");
}
END_TEST

START_TEST(test_v4_mapped_prefixes_are_refused)
{
	char want[512], out[160];

	write_file("m.list", "::ffff:192.0.2.0/120\n");
	snprintf(want, sizeof(want), "%s/m.list:1:1: ::ffff:192.0.2.0/120 is "
		 "an IPv4-mapped IPv6 prefix; write the IPv4 prefix "
		 "192.0.2.0/24 instead", tmpdir);
	expect_errors(PROFILES "subscribers:\n"
		      "  - { prefix: \"::ffff:0:0/96\", profile: business }\n"
		      "  - { prefix: \"::ffff:0:0/95\", profile: business }\n"
		      "  - { prefix: \"::ffff:0:0/80\", profile: business }\n"
		      "  - { prefix: \"::FFFF:6440:0/106\", profile: business }\n"
		      "  - { prefix: \"::ffff:100.64.3.7/106\", profile: business }\n"
		      "  - { prefix: \"::ffff:100.64.3.7\", profile: business }\n"
		      "  - { prefix: \"0:0:0:0:0:ffff:100.64.3.7/128\", "
		      "profile: business }\n"
		      "  - { file: m.list, profile: residential }\n",
		      "policy.yaml:11:15: ::ffff:0:0/96 is an IPv4-mapped IPv6 "
		      "prefix; write the IPv4 prefix 0.0.0.0/0 instead",
		      "policy.yaml:12:15: ::ffff:0:0/95 is an IPv4-mapped IPv6 "
		      "address with a length below 96, which reaches outside "
		      "IPv4; write an IPv4 prefix instead (0.0.0.0/0 for all of "
		      "IPv4)",
		      "policy.yaml:13:15: ::ffff:0:0/80 is an IPv4-mapped IPv6 "
		      "address with a length below 96, which reaches outside "
		      "IPv4; write an IPv4 prefix instead (0.0.0.0/0 for all of "
		      "IPv4)",
		      "policy.yaml:14:15: ::FFFF:6440:0/106 is an IPv4-mapped "
		      "IPv6 prefix; write the IPv4 prefix 100.64.0.0/10 instead",
		      "policy.yaml:15:15: ::ffff:100.64.3.7/106 is an IPv4-mapped "
		      "IPv6 prefix; write the IPv4 prefix 100.64.0.0/10 instead",
		      "policy.yaml:16:15: ::ffff:100.64.3.7 is an IPv4-mapped "
		      "IPv6 address; write the IPv4 address 100.64.3.7 instead",
		      "policy.yaml:17:15: 0:0:0:0:0:ffff:100.64.3.7/128 is an "
		      "IPv4-mapped IPv6 prefix; write the IPv4 prefix "
		      "100.64.3.7/32 instead", want, NULL);
	/* The same words for `except add`. */
	ck_assert_int_eq(policy_prefix_normalize("::ffff:0:0/96", out,
						 sizeof(out)), -1);
	ck_assert_str_eq(out, "::ffff:0:0/96 is an IPv4-mapped IPv6 prefix; "
			 "write the IPv4 prefix 0.0.0.0/0 instead");
	/* IPv6 prefixes around the mapped range are IPv6 as before. */
	ck_assert_int_eq(policy_prefix_normalize("::/80", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "::/80");
	ck_assert_int_eq(policy_prefix_normalize("::fffe:0:0/96", out,
						 sizeof(out)), 0);
}
END_TEST

START_TEST(test_syslog_facility_by_name)
{
	struct policy *p = load("version: 1\n", NULL);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->log.syslog_facility, LOG_MAIL);
	policy_free(p);
	p = load("version: 1\nlog: { syslog: true, syslog_facility: local3 }\n",
		 NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->log.syslog_facility, LOG_LOCAL3);
	policy_free(p);
	p = load("version: 1\nlog: { syslog_facility: authpriv }\n", NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->log.syslog_facility, LOG_AUTHPRIV);
	policy_free(p);
	expect_errors("version: 1\nlog:\n  syslog_facility: LOCAL0\n"
		      "  syslog_facility: mail\n",
		      "policy.yaml:3:20: unknown syslog_facility \"LOCAL0\"; "
		      "expected one of: kern, user, mail, daemon, auth, syslog, "
		      "lpr, news, uucp, cron, authpriv, ftp, local0, local1, "
		      "local2, local3, local4, local5, local6, local7",
		      "policy.yaml:4:3: duplicate key \"syslog_facility\" in "
		      "log; first given at line 3, column 3", NULL);
	expect_errors("version: 1\nlog: { syslog_facility: [mail] }\n",
		      "policy.yaml:2:25: log.syslog_facility: expected a scalar, "
		      "found a sequence", NULL);
}
END_TEST

START_TEST(test_most_profiles_allowed_load_and_repeats_are_found)
{
	const unsigned n = 65535;
	size_t cap = (size_t)n * 48 + 256, used = 0;
	char *yaml = malloc(cap);
	struct policy_errors errs = { 0 };
	struct policy *p;

	ck_assert_ptr_nonnull(yaml);
	used += (size_t)snprintf(yaml, cap, "version: 1\nprofiles:\n");
	for (unsigned i = 0; i < n; i++)
		used += (size_t)snprintf(yaml + used, cap - used,
					 "  p%u: { ports: { 25: %s } }\n", i,
					 i == n - 1 ? "accept" : "drop");
	used += (size_t)snprintf(yaml + used, cap - used, "subscribers:\n"
				 "  - { prefix: 10.0.0.0/8, profile: p%u }\n",
				 n - 1);
	p = policy_load_buffer("many.yaml", NULL, yaml, used, &errs);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nprofiles, n);
	ck_assert_str_eq(p->profiles[n - 1].name, "p65534");
	policy_free(p);
	/* The same name thrice: each repeat names the first. */
	expect_errors("version: 1\nprofiles:\n  b: {}\n  a: {}\n  b: {}\n"
		      "  \"\": {}\n  b: {}\n",
		      "policy.yaml:5:3: duplicate key \"b\" in profiles; first "
		      "given at line 3, column 3",
		      "policy.yaml:6:3: a profile needs a name",
		      "policy.yaml:7:3: duplicate key \"b\" in profiles; first "
		      "given at line 3, column 3", NULL);
	free(yaml);
}
END_TEST

/* Lines of path, or NULL-ended empty list if it cannot be read. */
static char **read_lines(const char *path, size_t *n)
{
	char **lines = NULL, *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f = fopen(path, "r");

	*n = 0;
	ck_assert_msg(f != NULL, "cannot open %s", path);
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[len - 1] = '\0';
		lines = realloc(lines, (*n + 1) * sizeof(*lines));
		lines[(*n)++] = strdup(line);
	}
	free(line);
	fclose(f);
	return lines;
}

/* Every dir/NAME.yaml fails with exactly the lines of dir/NAME.expect.
 * Returns how many were checked. */
static unsigned check_bad_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned checked = 0;

	ck_assert_msg(d != NULL, "run from the repository root");
	while ((e = readdir(d))) {
		struct policy_errors errs = { 0 };
		char yaml[512], expect[512];
		size_t len = strlen(e->d_name), n, i;
		char **want;

		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		snprintf(yaml, sizeof(yaml), "%s/%s", dir, e->d_name);
		snprintf(expect, sizeof(expect), "%s/%.*s.expect", dir,
			 (int)(len - 5), e->d_name);
		want = read_lines(expect, &n);
		ck_assert_msg(policy_load(yaml, &errs) == NULL, "%s loaded",
			      yaml);
		for (i = 0; i < n && i < errs.count; i++)
			ck_assert_str_eq(errs.msg[i], want[i]);
		ck_assert_msg(errs.count == n, "%s: %zu errors, expected %zu",
			      yaml, errs.count, n);
		ck_assert_uint_gt(n, 0);
		for (i = 0; i < n; i++)
			free(want[i]);
		free(want);
		policy_errors_free(&errs);
		checked++;
	}
	closedir(d);
	return checked;
}

#define BAD_POLICIES "tests/bad-policies"

START_TEST(test_bad_policies_give_the_expected_errors)
{
	/* The whole corpus: a policy lost on the way fails the test. */
	ck_assert_uint_ge(check_bad_dir(BAD_POLICIES), 143);
}
END_TEST

/* An .expect or .list whose NAME.yaml was renamed or removed would never
 * be run again, and nothing else would notice. */
START_TEST(test_every_bad_policy_file_belongs_to_a_policy)
{
	DIR *d = opendir(BAD_POLICIES);
	struct dirent *e;
	unsigned others = 0;

	ck_assert_msg(d != NULL, "run from the repository root");
	while ((e = readdir(d))) {
		const char *dot = strrchr(e->d_name, '.');
		char yaml[512];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		ck_assert_msg(dot && (!strcmp(dot, ".yaml") ||
				      !strcmp(dot, ".expect") ||
				      !strcmp(dot, ".list")),
			      BAD_POLICIES "/%s: expected NAME.yaml, "
			      "NAME.expect or NAME.list", e->d_name);
		if (!strcmp(dot, ".yaml"))
			continue;
		snprintf(yaml, sizeof(yaml), BAD_POLICIES "/%.*s.yaml",
			 (int)(dot - e->d_name), e->d_name);
		ck_assert_msg(stat(yaml, &st) == 0, BAD_POLICIES "/%s: no %s "
			      "to go with it", e->d_name, yaml);
		others++;
	}
	closedir(d);
	ck_assert_uint_ge(others, 143);
}
END_TEST

#define CLUSTER_BASE "version: 1\nprofiles:\n  r:\n    ports: { 25: reject }\n" \
	"subscribers:\n  - { prefix: 100.64.0.0/10, profile: r }\n"

START_TEST(test_cluster_section)
{
	struct policy_errors errs = { 0 };
	const struct policy_cluster *c;
	struct policy *p;
	char host[256] = "", yaml[4096], want[300];
	size_t used;

	/* None: not enabled, and never NULL. */
	p = load(CLUSTER_BASE, &errs);
	ck_assert_ptr_nonnull(p);
	ck_assert(!policy_cluster(p)->enabled);
	policy_free(p);

	p = load(CLUSTER_BASE "cluster:\n  nats: [nats://192.0.2.10:4222, "
		 "nats://192.0.2.11, 'tls://[2001:db8::12]:4222', "
		 "tls://nats-3.example.net:4443]\n  gateway: gw-north_1.a\n"
		 "  bucket: pc_prod-1\n  credentials: nats.creds\n", &errs);
	ck_assert_msg(p, "%s", errs.count ? errs.msg[0] : "");
	c = policy_cluster(p);
	ck_assert(c->enabled);
	ck_assert_uint_eq(c->nservers, 4);
	ck_assert_str_eq(c->servers[0], "nats://192.0.2.10:4222");
	ck_assert_str_eq(c->servers[2], "tls://[2001:db8::12]:4222");
	ck_assert_str_eq(c->gateway, "gw-north_1.a");
	ck_assert_str_eq(c->bucket, "pc_prod-1");
	/* Relative to the policy's folder, as file: lists are. */
	snprintf(want, sizeof(want), "%s/nats.creds", tmpdir);
	ck_assert_str_eq(c->credentials, tmpdir[0] ? want : "nats.creds");
	policy_free(p);
	/* The CA of tls:// servers, resolved the same way. */
	p = load(CLUSTER_BASE "cluster:\n  nats: [tls://192.0.2.10]\n"
		 "  ca: /etc/portcullis/isp-ca.pem\n", &errs);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(policy_cluster(p)->ca, "/etc/portcullis/isp-ca.pem");
	policy_free(p);
	expect_errors(CLUSTER_BASE "cluster:\n  nats: [tls://192.0.2.10]\n"
		      "  ca: ''\n", "policy.yaml:9:7: cluster.ca: expected the "
		      "path of a PEM CA bundle, found nothing", NULL);

	/* Defaults: the bucket's name, the host's name; one server as a
	 * string; an absolute credentials path stays. */
	p = load(CLUSTER_BASE "cluster:\n  nats: nats://192.0.2.10\n"
		 "  credentials: /etc/portcullis/nats.creds\n", &errs);
	ck_assert_ptr_null(policy_cluster(p)->ca);
	ck_assert_ptr_nonnull(p);
	c = policy_cluster(p);
	ck_assert_uint_eq(c->nservers, 1);
	ck_assert_str_eq(c->bucket, "portcullis");
	ck_assert_str_eq(c->credentials, "/etc/portcullis/nats.creds");
	gethostname(host, sizeof(host) - 1);
	host[strcspn(host, " ")] = '\0';
	if (host[0] && strlen(host) <= 63 &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._-") == strlen(host))
		ck_assert_str_eq(c->gateway, host);
	ck_assert_ptr_null(c->credentials[0] ? NULL : c->credentials);
	policy_free(p);

	/* At most 16 servers. */
	used = (size_t)snprintf(yaml, sizeof(yaml), CLUSTER_BASE
				"cluster:\n  nats:\n");
	for (int i = 0; i < 17; i++)
		used += (size_t)snprintf(yaml + used, sizeof(yaml) - used,
					 "    - nats://192.0.2.%d:4222\n", i + 1);
	expect_errors(yaml, "policy.yaml:9:5: cluster.nats must list from 1 "
		      "to 16 NATS servers, found 17", NULL);
	expect_errors(CLUSTER_BASE "cluster:\n  nats: [nats://:4222, "
		      "nats://192.0.2.1:42x, 'nats://[]:1', nats://a_b]\n",
		      "policy.yaml:8:10: cluster.nats: no host, found "
		      "\"nats://:4222\"",
		      "policy.yaml:8:24: cluster.nats: the port must be 1 to "
		      "65535, found \"nats://192.0.2.1:42x\"",
		      "policy.yaml:8:46: cluster.nats: an IPv6 host goes in "
		      "brackets: [2001:db8::1], found \"nats://[]:1\"",
		      "policy.yaml:8:61: cluster.nats: a host name is letters, "
		      "digits, '-' and '.', found \"nats://a_b\"", NULL);
	used = (size_t)snprintf(yaml, sizeof(yaml), CLUSTER_BASE
				"cluster:\n  nats: nats://192.0.2.1\n"
				"  gateway: %064d\n", 7);
	expect_errors(yaml, "policy.yaml:9:12: cluster.gateway must be 1 to "
		      "63 letters, digits, '.', '_' or '-', found "
		      "\"0000000000000000000000000000000000000000000000000000"
		      "00000000...\"", NULL);
	(void)used;
}
END_TEST

Suite *load_suite(void);

Suite *load_suite(void)
{
	Suite *s = suite_create("load");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_good_policy_loads_every_section);
	tcase_add_test(tc, test_yaml_entries_keep_note_expires_and_line);
	tcase_add_test(tc, test_loaded_tables_find_the_longest_live_entry);
	tcase_add_test(tc, test_absent_sections_take_their_defaults);
	tcase_add_test(tc, test_detection_defaults_when_keys_absent);
	tcase_add_test(tc, test_rates_and_durations_in_every_unit);
	tcase_add_test(tc, test_bare_address_is_a_host_prefix);
	tcase_add_test(tc, test_expires_with_offset_is_stored_as_utc);
	tcase_add_test(tc, test_list_file_loads_with_comments_and_blank_lines);
	tcase_add_test(tc, test_unknown_key_is_named_with_the_allowed_ones);
	tcase_add_test(tc, test_wrong_type_says_what_was_expected_and_found);
	tcase_add_test(tc, test_port_outside_range_states_the_bounds);
	tcase_add_test(tc, test_unknown_action_names_the_three_valid_ones);
	tcase_add_test(tc, test_subscriber_naming_unknown_profile_lists_the_defined);
	tcase_add_test(tc, test_detection_profile_must_exist);
	tcase_add_test(tc, test_malformed_prefix_is_quoted);
	tcase_add_test(tc, test_prefix_with_host_bits_names_the_network);
	tcase_add_test(tc, test_same_prefix_twice_names_where_first_given);
	tcase_add_test(tc, test_same_prefix_in_list_and_yaml_names_both_files);
	tcase_add_test(tc, test_bad_expires_shows_the_expected_form);
	tcase_add_test(tc, test_missing_list_file_reports_strerror);
	tcase_add_test(tc, test_list_file_errors_name_the_list_and_its_line);
	tcase_add_test(tc, test_list_file_errors_stop_after_a_hundred);
	tcase_add_test(tc, test_empty_document_or_not_a_mapping);
	tcase_add_test(tc, test_version_missing_or_not_1);
	tcase_add_test(tc, test_relay_that_is_not_an_address);
	tcase_add_test(tc, test_numeric_keys_state_their_bounds);
	tcase_add_test(tc, test_duplicate_keys_name_the_first);
	tcase_add_test(tc, test_yaml_syntax_error_has_its_position);
	tcase_add_test(tc, test_entry_needs_exactly_one_of_prefix_and_file);
	tcase_add_test(tc, test_all_errors_of_a_document_are_reported_in_order);
	tcase_add_test(tc, test_errors_are_appended_and_null_errs_is_fine);
	tcase_add_test(tc, test_policy_load_reads_lists_next_to_the_policy);
	tcase_add_test(tc, test_policy_load_of_a_missing_file_says_why);
	tcase_add_test(tc, test_bad_policies_give_the_expected_errors);
	tcase_add_test(tc, test_every_bad_policy_file_belongs_to_a_policy);
	tcase_add_test(tc, test_aliases_are_refused_where_used);
	tcase_add_test(tc, test_alias_bomb_is_refused_at_once);
	tcase_add_test(tc, test_asterisk_in_text_is_no_alias);
	tcase_add_test(tc, test_nul_inside_a_value_is_refused);
	tcase_add_test(tc, test_control_characters_in_messages_are_escaped);
	tcase_add_test(tc, test_bom_and_crlf_are_read_as_text);
	tcase_add_test(tc, test_list_line_with_nul_is_malformed);
	tcase_add_test(tc, test_list_that_is_no_regular_file_is_refused);
	tcase_add_test(tc, test_syntax_errors_say_what_was_likely_meant);
	tcase_add_test(tc, test_prefix_messages_explain_mapped_prefixes_and_zones);
	tcase_add_test(tc, test_expires_messages_name_the_mistake);
	tcase_add_test(tc, test_anchor_without_alias_is_refused);
	tcase_add_test(tc, test_tags_are_refused_with_their_position);
	tcase_add_test(tc, test_exclamation_mark_in_text_is_no_tag);
	tcase_add_test(tc, test_utf16_policy_is_refused_utf8_bom_is_fine);
	tcase_add_test(tc, test_utf16_list_is_refused);
	tcase_add_test(tc,
		test_integers_with_leading_zeros_are_refused_everywhere);
	tcase_add_test(tc, test_zero_alone_is_no_leading_zero);
	tcase_add_test(tc, test_prefix_length_with_leading_zero_is_refused);
	tcase_add_test(tc, test_v4_mapped_prefixes_are_refused);
	tcase_add_test(tc, test_syslog_facility_by_name);
	tcase_add_test(tc, test_cluster_section);
	tcase_add_test(tc,
		test_most_profiles_allowed_load_and_repeats_are_found);
	suite_add_tcase(s, tc);
	return s;
}
