// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy_diff: every kind of change between two policies is named, with
 * the file and line of each side, and the ranges whose decision moves
 * are exactly those, as the fewest prefixes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/suites.h"

Suite *diff_suite(void);

#define NOW 1796000000		/* 2026-11-30 */
#define MAX_ITEMS 64

static char dir[64];

struct got {
	size_t n;
	struct policy_diff_item it[MAX_ITEMS];
	char text[MAX_ITEMS][160];	/* ranges: "PREFIX PORT OLD NEW" */
};

static int collect(void *ctx, const struct policy_diff_item *it)
{
	struct got *g = ctx;

	ck_assert_uint_lt(g->n, MAX_ITEMS);
	g->it[g->n] = *it;
	if (it->kind == POLICY_DIFF_RANGE)
		snprintf(g->text[g->n], sizeof(g->text[0]), "%s %d %s %s",
			 it->name, it->port,
			 policy_action_name(it->old_action),
			 policy_action_name(it->new_action));
	g->n++;
	return 0;
}

static struct policy *load(const char *name, const char *yaml)
{
	struct policy_errors errs = { 0 };
	struct policy *p = policy_load_buffer(name, dir, yaml, strlen(yaml),
					      &errs);

	ck_assert_msg(p, "%s: %s", name, errs.count ? errs.msg[0] : "?");
	policy_errors_free(&errs);
	return p;
}

#define HEAD \
	"version: 1\n" \
	"profiles:\n" \
	"  residential: { ports: { 25: reject, 587: accept } }\n" \
	"  business: { ports: { 25: accept, 587: accept } }\n"

/* The changes from a to b (both YAML), into g; their number. */
static long diff(const char *a, const char *b, struct got *g)
{
	struct policy *pa = load("old.yaml", a), *pb = load("new.yaml", b);
	long n;

	memset(g, 0, sizeof(*g));
	n = policy_diff(pa, pb, NOW, collect, g);
	ck_assert_int_eq(n, (long)g->n);
	/* The policies' strings are gone after this: only what was
	 * copied is compared. */
	for (size_t i = 0; i < g->n; i++) {
		g->it[i].old_e.file = g->it[i].old_e.note = NULL;
		g->it[i].new_e.file = g->it[i].new_e.note = NULL;
		g->it[i].old_e.profile = g->it[i].new_e.profile = NULL;
	}
	policy_free(pa);
	policy_free(pb);
	return n;
}

static size_t count(const struct got *g, enum policy_diff_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < g->n; i++)
		n += g->it[i].kind == k;
	return n;
}

static const struct policy_diff_item *find(const struct got *g,
					   enum policy_diff_kind k)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->it[i].kind == k)
			return &g->it[i];
	ck_abort_msg("no change of kind %d", k);
	return NULL;
}

static bool has_range(const struct got *g, const char *text)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->it[i].kind == POLICY_DIFF_RANGE &&
		    !strcmp(g->text[i], text))
			return true;
	return false;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/portcullis-diff-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_list(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_the_same_policy_changes_nothing)
{
	static const char y[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: residential }\n"
		"  - { prefix: 2001:db8:1::/48, profile: residential }\n"
		"relays: [192.0.2.25]\n";
	struct got g;

	ck_assert_int_eq(diff(y, y, &g), 0);
}
END_TEST

/* A business entry removed: the entry with its old line, and its range
 * back to the residential decision on 25 only. */
START_TEST(test_entry_removed_moves_its_range)
{
	static const char a[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: residential }\n"
		"  - { prefix: 100.64.12.0/28, profile: business, note: ACME }\n";
	static const char b[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: residential }\n";
	struct got g;
	const struct policy_diff_item *e;

	ck_assert_int_eq(diff(a, b, &g), 2);
	e = find(&g, POLICY_DIFF_ENTRY_REMOVED);
	ck_assert_str_eq(e->name, "100.64.12.0/28");
	ck_assert(e->has_old && !e->has_new);
	ck_assert_uint_eq(e->old_e.line, 7);
	ck_assert(has_range(&g, "100.64.12.0/28 25 accept reject"));
	e = find(&g, POLICY_DIFF_RANGE);
	ck_assert_msg(strstr(e->why, "was 100.64.12.0/28 (business, old "
			     "old.yaml:7)") &&
		      strstr(e->why, "now decided by 100.64.0.0/10"),
		      "%s", e->why);
}
END_TEST

/* An entry added where none was: a range that was no subscriber's. */
START_TEST(test_entry_added_outside_any)
{
	static const char a[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/16, profile: residential }\n";
	static const char b[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/16, profile: residential }\n"
		"  - { prefix: 100.65.0.0/16, profile: residential }\n"
		"  - { prefix: 2001:db8:2::/48, profile: residential }\n";
	struct got g;

	ck_assert_int_eq(diff(a, b, &g), 4);
	ck_assert_uint_eq(count(&g, POLICY_DIFF_ENTRY_ADDED), 2);
	ck_assert(has_range(&g, "100.65.0.0/16 25 accept reject"));
	ck_assert(has_range(&g, "2001:db8:2::/48 25 accept reject"));
	ck_assert(strstr(find(&g, POLICY_DIFF_RANGE)->why,
			 "entry 100.65.0.0/16 added, new new.yaml:7"));
}
END_TEST

/* A profile's port changed: the profile, and every range of its entries
 * but the one another profile decides, as the fewest prefixes. */
START_TEST(test_profile_port_change_fewest_prefixes)
{
	static const char a[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/24, profile: residential }\n"
		"  - { prefix: 100.64.0.0/26, profile: business }\n";
	static const char b[] =
		"version: 1\n"
		"profiles:\n"
		"  residential: { ports: { 25: reject, 587: reject } }\n"
		"  business: { ports: { 25: accept, 587: accept } }\n"
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/24, profile: residential }\n"
		"  - { prefix: 100.64.0.0/26, profile: business }\n";
	struct got g;
	const struct policy_diff_item *p;

	ck_assert_int_eq(diff(a, b, &g), 3);
	p = find(&g, POLICY_DIFF_PROFILE_PORT);
	ck_assert_str_eq(p->name, "residential");
	ck_assert_int_eq(p->port, 587);
	ck_assert_int_eq(p->old_action, POLICY_ACCEPT);
	ck_assert_int_eq(p->new_action, POLICY_REJECT);
	/* 100.64.0.64 - 100.64.0.255: a /26 and a /25, nothing smaller. */
	ck_assert(has_range(&g, "100.64.0.64/26 587 accept reject"));
	ck_assert(has_range(&g, "100.64.0.128/25 587 accept reject"));
	ck_assert_str_eq(find(&g, POLICY_DIFF_RANGE)->why,
			 "profile residential changed");
}
END_TEST

/* The expiry moved, the note changed: one changed entry, no range (the
 * entry decides as before now). */
START_TEST(test_entry_expiry_moved)
{
	static const char a[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: residential }\n"
		"  - prefix: 100.64.0.16/28\n"
		"    profile: business\n"
		"    note: ticket 4411\n"
		"    expires: 2027-03-01T00:00:00Z\n";
	static const char b[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: residential }\n"
		"  - prefix: 100.64.0.16/28\n"
		"    profile: business\n"
		"    note: ticket 4411\n"
		"    expires: 2027-04-01T00:00:00Z\n";
	struct got g;
	const struct policy_diff_item *e;

	ck_assert_int_eq(diff(a, b, &g), 1);
	e = find(&g, POLICY_DIFF_ENTRY_CHANGED);
	ck_assert_str_eq(e->name, "100.64.0.16/28");
	ck_assert_int_eq(e->old_e.expires, 1803859200);
	ck_assert_int_eq(e->new_e.expires, 1806537600);
	ck_assert_uint_eq(e->old_e.line, 7);
	ck_assert_uint_eq(e->new_e.line, 7);
}
END_TEST

/* An entry expired before now decides nothing: removing it moves no
 * range, though the entry is named. */
START_TEST(test_expired_entry_removed_moves_nothing)
{
	static const char a[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: residential }\n"
		"  - { prefix: 100.64.0.32/28, profile: business, "
		"expires: 2026-06-01T00:00:00Z }\n";
	static const char b[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: residential }\n";
	struct got g;

	ck_assert_int_eq(diff(a, b, &g), 1);
	ck_assert_uint_eq(count(&g, POLICY_DIFF_ENTRY_REMOVED), 1);
}
END_TEST

/* A file: list that lost lines: those entries, named by the list. */
START_TEST(test_list_lost_lines)
{
	static const char a[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: residential }\n"
		"  - { file: old.list, profile: business }\n";
	static const char b[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: residential }\n"
		"  - { file: new.list, profile: business }\n";
	struct got g;

	write_list("old.list", "100.64.5.0/24\n100.64.6.0/24\n"
		   "100.64.7.0/24 # Tailspin\n");
	write_list("new.list", "100.64.5.0/24\n");
	ck_assert_int_eq(diff(a, b, &g), 4);
	ck_assert_uint_eq(count(&g, POLICY_DIFF_ENTRY_REMOVED), 2);
	/* Adjacent, both gone to residential: runs of their own (each its
	 * entry), never one range for two reasons. */
	ck_assert(has_range(&g, "100.64.6.0/24 25 accept reject"));
	ck_assert(has_range(&g, "100.64.7.0/24 25 accept reject"));
}
END_TEST

START_TEST(test_mode_relays_detection_defaults)
{
	static const char a[] = HEAD
		"subscribers:\n"
		"  - { prefix: 2001:db8:1::/48, profile: residential }\n"
		"relays: [192.0.2.25, 2001:db8:25::25]\n"
		"detection: { ports: [25], window: 60s, syns: 100, "
		"distinct_destinations: 20, action: log }\n";
	static const char b[] =
		"version: 1\n"
		"mode: monitor\n"
		"profiles:\n"
		"  residential: { ports: { 25: reject, 587: accept }, "
		"default: drop }\n"
		"  business: { ports: { 25: accept, 587: accept } }\n"
		"subscribers:\n"
		"  - { prefix: 2001:db8:1::/48, profile: residential }\n"
		"relays: [192.0.2.26, 2001:db8:25::25]\n"
		"detection: { ports: [25], window: 60s, syns: 200, "
		"distinct_destinations: 20, action: log }\n";
	struct got g;
	const struct policy_diff_item *e;

	ck_assert_int_eq(diff(a, b, &g), 6);
	e = find(&g, POLICY_DIFF_MODE);
	ck_assert_str_eq(e->old_text, "enforce");
	ck_assert_str_eq(e->new_text, "monitor");
	ck_assert_str_eq(find(&g, POLICY_DIFF_RELAY_REMOVED)->name,
			 "192.0.2.25");
	ck_assert_str_eq(find(&g, POLICY_DIFF_RELAY_ADDED)->name,
			 "192.0.2.26");
	e = find(&g, POLICY_DIFF_DETECTION);
	ck_assert_str_eq(e->name, "syns");
	ck_assert_str_eq(e->old_text, "100");
	ck_assert_str_eq(e->new_text, "200");
	e = find(&g, POLICY_DIFF_PROFILE_PORT);
	ck_assert_int_eq(e->port, -1);
	ck_assert_int_eq(e->new_action, POLICY_DROP);
	/* The other ports of the /48: accept → drop. */
	ck_assert(has_range(&g, "2001:db8:1::/48 -1 accept drop"));
}
END_TEST

/* A profile removed and one added, entries moved to it. */
START_TEST(test_profile_renamed)
{
	static const char a[] = HEAD
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/24, profile: business }\n";
	static const char b[] =
		"version: 1\n"
		"profiles:\n"
		"  residential: { ports: { 25: reject, 587: accept } }\n"
		"  corporate: { ports: { 25: accept, 587: accept } }\n"
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/24, profile: corporate }\n";
	struct got g;

	/* Removed, added, the entry's profile: same decisions, no range. */
	ck_assert_int_eq(diff(a, b, &g), 3);
	ck_assert_str_eq(find(&g, POLICY_DIFF_PROFILE_REMOVED)->name,
			 "business");
	ck_assert_str_eq(find(&g, POLICY_DIFF_PROFILE_ADDED)->name,
			 "corporate");
	ck_assert_uint_eq(count(&g, POLICY_DIFF_ENTRY_CHANGED), 1);
	ck_assert_uint_eq(count(&g, POLICY_DIFF_RANGE), 0);
}
END_TEST

/* A profile that names more than a thousand ports: the last one's
 * change is seen (the reviewer's: 1,024 were, silently). */
START_TEST(test_many_ports_all_compared)
{
	static char a[40000], b[40000];
	size_t n;
	struct got g;

	for (int k = 0; k < 2; k++) {
		char *y = k ? b : a;

		n = (size_t)snprintf(y, sizeof(a), "version: 1\nprofiles:\n"
				     "  r:\n    ports: {");
		for (int port = 1; port < 1100; port++)
			n += (size_t)snprintf(y + n, sizeof(a) - n, "%s %d: %s",
					      port > 1 ? "," : "", port,
					      port == 1099 && k ? "accept" :
					      "reject");
		snprintf(y + n, sizeof(a) - n, " }\nsubscribers:\n"
			 "  - { prefix: 100.64.0.0/24, profile: r }\n");
	}
	ck_assert_int_eq(diff(a, b, &g), 2);
	ck_assert_int_eq(find(&g, POLICY_DIFF_PROFILE_PORT)->port, 1099);
	ck_assert(has_range(&g, "100.64.0.0/24 1099 reject accept"));
}
END_TEST

Suite *diff_suite(void)
{
	Suite *s = suite_create("diff");
	TCase *tc = tcase_create("diff");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_the_same_policy_changes_nothing);
	tcase_add_test(tc, test_entry_removed_moves_its_range);
	tcase_add_test(tc, test_entry_added_outside_any);
	tcase_add_test(tc, test_profile_port_change_fewest_prefixes);
	tcase_add_test(tc, test_entry_expiry_moved);
	tcase_add_test(tc, test_expired_entry_removed_moves_nothing);
	tcase_add_test(tc, test_list_lost_lines);
	tcase_add_test(tc, test_mode_relays_detection_defaults);
	tcase_add_test(tc, test_profile_renamed);
	tcase_add_test(tc, test_many_ports_all_compared);
	suite_add_tcase(s, tc);
	return s;
}
