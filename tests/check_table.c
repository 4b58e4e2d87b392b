// SPDX-License-Identifier: GPL-2.0-or-later
/* policy/table.c: longest live prefix match, parents, duplicates, origins. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/table.h"
#include "tests/helpers.h"

#define NOW 1800000000

typedef unsigned __int128 u128;

/* ---- small tables written as text ---- */

struct dups {
	uint32_t first[8];
	uint32_t again[8];
	unsigned n;
};

static void dup_record(void *ctx, uint32_t first, uint32_t again)
{
	struct dups *d = ctx;

	if (d->n < 8) {
		d->first[d->n] = first;
		d->again[d->n] = again;
	}
	d->n++;
}

/* Append "addr/len" to in[n]; origin is n. Returns n + 1. */
static size_t put(struct table_input *in, size_t n, const char *prefix,
		  uint16_t profile, uint32_t expires)
{
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", prefix);
	slash = strchr(buf, '/');
	ck_assert_ptr_nonnull(slash);
	*slash = '\0';
	memset(&in[n], 0, sizeof(in[n]));
	ck_assert_int_eq(addr_parse(buf, &in[n].addr), 0);
	in[n].len = (uint8_t)atoi(slash + 1);
	in[n].profile = profile;
	in[n].expires = expires;
	in[n].origin = (uint32_t)n;
	in[n].keep_origin = 1;
	return n + 1;
}

static struct table *build(int family, struct table_input *in, size_t n,
			   struct dups *d)
{
	struct table *t = table_build(family, in, n, d ? dup_record : NULL, d);

	ck_assert_ptr_nonnull(t);
	return t;
}

/* The prefix of entry id as text, or "none" for -1. */
static const char *entry_text(const struct table *t, int32_t id)
{
	static char out[80];
	struct table_entry e;
	char a[64];

	if (id < 0)
		return "none";
	ck_assert_int_eq(table_entry_get(t, id, &e), 0);
	snprintf(out, sizeof(out), "%s/%u",
		 addr_format(&e.addr, a, sizeof(a)), e.len);
	return out;
}

/* The prefix that decides addr at now, as text. */
static const char *match(const struct table *t, const char *addr, int64_t now)
{
	struct addr a;

	ck_assert_int_eq(addr_parse(addr, &a), 0);
	return entry_text(t, table_lookup(t, &a, now));
}

/*
 * table_lookup_many() over a[0..n) at now gives, key by key, what
 * table_lookup_profile() gives, and so does the interleaved walk on a
 * table of any size: it is the same walk.
 */
static void agrees_one_by_one(const struct table *t,
			      const struct addr *a, size_t n,
			      int64_t now, const int32_t *ids,
			      const uint16_t *prof)
{
	for (size_t i = 0; i < n; i++) {
		uint16_t want_prof = 0xffff;
		int32_t want = table_lookup_profile(t, &a[i], now, &want_prof);

		ck_assert_msg(ids[i] == want, "key %zu of %zu: many gave "
			      "entry %d, one gave %d (%s)", i, n, ids[i], want,
			      entry_text(t, want));
		if (want >= 0)
			ck_assert_uint_eq(prof[i], want_prof);
	}
}

static void many_agrees(const struct table *t, const struct addr *a,
			size_t n, int64_t now)
{
	const struct addr **pa = calloc(n + 1, sizeof(*pa));
	uint16_t *prof = calloc(n + 1, sizeof(*prof));
	int32_t *ids = calloc(n + 1, sizeof(*ids));

	ck_assert(pa && prof && ids);
	for (size_t i = 0; i < n; i++)
		pa[i] = &a[i];
	for (int way = 0; way < 2; way++) {
		memset(prof, 0xff, (n + 1) * sizeof(*prof));
		if (way)
			table_lookup_interleaved(t, pa, n, now, ids, prof);
		else
			table_lookup_many(t, pa, n, now, ids, prof);
		agrees_one_by_one(t, a, n, now, ids, prof);
	}
	free(ids);
	free(prof);
	free(pa);
}

START_TEST(test_nested_prefixes_longest_wins)
{
	struct table_input in[8];
	struct table *t;
	size_t n = 0;

	n = put(in, n, "10.1.2.0/24", 3, 0);
	n = put(in, n, "10.0.0.0/8", 1, 0);
	n = put(in, n, "10.1.0.0/16", 2, 0);
	n = put(in, n, "10.1.2.128/25", 4, 0);
	t = build(AF_INET, in, n, NULL);
	ck_assert_uint_eq(table_count(t), 4);
	ck_assert_str_eq(match(t, "10.9.9.9", NOW), "10.0.0.0/8");
	ck_assert_str_eq(match(t, "10.1.0.0", NOW), "10.1.0.0/16");
	ck_assert_str_eq(match(t, "10.1.2.0", NOW), "10.1.2.0/24");
	ck_assert_str_eq(match(t, "10.1.2.127", NOW), "10.1.2.0/24");
	ck_assert_str_eq(match(t, "10.1.2.128", NOW), "10.1.2.128/25");
	ck_assert_str_eq(match(t, "10.1.2.255", NOW), "10.1.2.128/25");
	ck_assert_str_eq(match(t, "10.1.3.0", NOW), "10.1.0.0/16");
	ck_assert_str_eq(match(t, "10.1.255.255", NOW), "10.1.0.0/16");
	ck_assert_str_eq(match(t, "10.2.0.0", NOW), "10.0.0.0/8");
	ck_assert_str_eq(match(t, "10.255.255.255", NOW), "10.0.0.0/8");
	ck_assert_str_eq(match(t, "9.255.255.255", NOW), "none");
	ck_assert_str_eq(match(t, "11.0.0.0", NOW), "none");
	table_free(t);

	n = 0;
	n = put(in, n, "2001:db8:1000::/36", 1, 0);
	n = put(in, n, "2001:db8:1000:5::/64", 2, 0);
	n = put(in, n, "2001:db8::/32", 0, 0);
	t = build(AF_INET6, in, n, NULL);
	ck_assert_str_eq(match(t, "2001:db8:1000:5::1", NOW), "2001:db8:1000:5::/64");
	ck_assert_str_eq(match(t, "2001:db8:1000:6::1", NOW), "2001:db8:1000::/36");
	ck_assert_str_eq(match(t, "2001:db8:2000::", NOW), "2001:db8::/32");
	ck_assert_str_eq(match(t, "2001:db9::", NOW), "none");
	table_free(t);
}
END_TEST

START_TEST(test_equal_length_siblings_do_not_leak)
{
	struct table_input in[8];
	struct table *t;
	size_t n = 0;

	n = put(in, n, "192.0.2.0/26", 1, 0);
	n = put(in, n, "192.0.2.128/26", 3, 0);
	n = put(in, n, "192.0.2.64/26", 2, 0);
	t = build(AF_INET, in, n, NULL);
	ck_assert_str_eq(match(t, "192.0.2.63", NOW), "192.0.2.0/26");
	ck_assert_str_eq(match(t, "192.0.2.64", NOW), "192.0.2.64/26");
	ck_assert_str_eq(match(t, "192.0.2.127", NOW), "192.0.2.64/26");
	ck_assert_str_eq(match(t, "192.0.2.128", NOW), "192.0.2.128/26");
	ck_assert_str_eq(match(t, "192.0.2.191", NOW), "192.0.2.128/26");
	ck_assert_str_eq(match(t, "192.0.2.192", NOW), "none");
	ck_assert_str_eq(match(t, "192.0.1.255", NOW), "none");
	table_free(t);
}
END_TEST

START_TEST(test_zero_length_prefix_covers_whole_family)
{
	struct table_input in[8];
	struct table *t;
	size_t n = 0;

	n = put(in, n, "0.0.0.0/0", 1, 0);
	n = put(in, n, "100.64.0.0/10", 2, 0);
	t = build(AF_INET, in, n, NULL);
	ck_assert_str_eq(match(t, "0.0.0.0", NOW), "0.0.0.0/0");
	ck_assert_str_eq(match(t, "255.255.255.255", NOW), "0.0.0.0/0");
	ck_assert_str_eq(match(t, "100.64.0.1", NOW), "100.64.0.0/10");
	ck_assert_str_eq(match(t, "100.128.0.0", NOW), "0.0.0.0/0");
	table_free(t);

	n = 0;
	n = put(in, n, "::/0", 1, 0);
	n = put(in, n, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 2, 0);
	t = build(AF_INET6, in, n, NULL);
	ck_assert_str_eq(match(t, "::", NOW), "::/0");
	ck_assert_str_eq(match(t, "2001:db8::1", NOW), "::/0");
	ck_assert_str_eq(match(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", NOW), "::/0");
	ck_assert_str_eq(match(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NOW),
			 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	table_free(t);

	n = 0;
	n = put(in, n, "0.0.0.0/0", 1, 0);
	t = build(AF_INET, in, n, NULL);
	ck_assert_str_eq(match(t, "128.0.0.0", NOW), "0.0.0.0/0");
	table_free(t);
}
END_TEST

START_TEST(test_host_prefixes_match_only_their_address)
{
	struct table_input in[8];
	struct table *t;
	size_t n = 0;

	n = put(in, n, "198.51.100.7/32", 1, 0);
	n = put(in, n, "198.51.100.0/24", 2, 0);
	t = build(AF_INET, in, n, NULL);
	ck_assert_str_eq(match(t, "198.51.100.7", NOW), "198.51.100.7/32");
	ck_assert_str_eq(match(t, "198.51.100.6", NOW), "198.51.100.0/24");
	ck_assert_str_eq(match(t, "198.51.100.8", NOW), "198.51.100.0/24");
	table_free(t);

	n = 0;
	n = put(in, n, "2001:db8::7/128", 1, 0);
	n = put(in, n, "2001:db8::/64", 2, 0);
	n = put(in, n, "2001:db8:0:1::/128", 3, 0);
	t = build(AF_INET6, in, n, NULL);
	ck_assert_str_eq(match(t, "2001:db8::7", NOW), "2001:db8::7/128");
	ck_assert_str_eq(match(t, "2001:db8::6", NOW), "2001:db8::/64");
	ck_assert_str_eq(match(t, "2001:db8::8", NOW), "2001:db8::/64");
	ck_assert_str_eq(match(t, "2001:db8:0:1::", NOW), "2001:db8:0:1::/128");
	ck_assert_str_eq(match(t, "2001:db8:0:1::1", NOW), "none");
	table_free(t);
}
END_TEST

START_TEST(test_hosts_at_top_and_bottom_of_space)
{
	struct table_input in[8];
	struct table *t;
	size_t n = 0;

	n = put(in, n, "255.255.255.255/32", 1, 0);
	n = put(in, n, "0.0.0.0/32", 2, 0);
	n = put(in, n, "255.255.255.0/24", 3, 0);
	n = put(in, n, "0.0.0.0/24", 4, 0);
	t = build(AF_INET, in, n, NULL);
	ck_assert_str_eq(match(t, "255.255.255.255", NOW), "255.255.255.255/32");
	ck_assert_str_eq(match(t, "255.255.255.254", NOW), "255.255.255.0/24");
	ck_assert_str_eq(match(t, "255.255.254.255", NOW), "none");
	ck_assert_str_eq(match(t, "0.0.0.0", NOW), "0.0.0.0/32");
	ck_assert_str_eq(match(t, "0.0.0.1", NOW), "0.0.0.0/24");
	ck_assert_str_eq(match(t, "0.0.1.0", NOW), "none");
	table_free(t);

	/* Alone, with nothing around them. */
	n = 0;
	n = put(in, n, "255.255.255.255/32", 1, 0);
	t = build(AF_INET, in, n, NULL);
	ck_assert_str_eq(match(t, "255.255.255.255", NOW), "255.255.255.255/32");
	ck_assert_str_eq(match(t, "255.255.255.254", NOW), "none");
	ck_assert_str_eq(match(t, "0.0.0.0", NOW), "none");
	table_free(t);

	n = 0;
	n = put(in, n, "::/128", 1, 0);
	n = put(in, n, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 2, 0);
	t = build(AF_INET6, in, n, NULL);
	ck_assert_str_eq(match(t, "::", NOW), "::/128");
	ck_assert_str_eq(match(t, "::1", NOW), "none");
	ck_assert_str_eq(match(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NOW),
			 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	ck_assert_str_eq(match(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", NOW), "none");
	ck_assert_str_eq(match(t, "8000::", NOW), "none");
	table_free(t);
}
END_TEST

START_TEST(test_expired_exception_falls_back_to_parent)
{
	struct table_input in[8];
	struct table *t;
	size_t n = 0;

	n = put(in, n, "100.64.0.0/10", 1, 0);
	n = put(in, n, "100.64.12.0/24", 2, NOW + 100);
	n = put(in, n, "100.64.12.0/28", 3, NOW - 100);
	t = build(AF_INET, in, n, NULL);
	/* The /28 expired before now: the /24 decides, not the /10. */
	ck_assert_str_eq(match(t, "100.64.12.1", NOW), "100.64.12.0/24");
	ck_assert_str_eq(match(t, "100.64.12.1", NOW - 101), "100.64.12.0/28");
	/* Both exceptions expired: the aggregate decides. */
	ck_assert_str_eq(match(t, "100.64.12.1", NOW + 100), "100.64.0.0/10");
	ck_assert_str_eq(match(t, "100.64.12.200", NOW + 1000), "100.64.0.0/10");
	table_free(t);
}
END_TEST

START_TEST(test_expired_entry_without_live_parent_matches_nothing)
{
	struct table_input in[8];
	struct table *t;
	size_t n = 0;

	n = put(in, n, "2001:db8::/32", 1, NOW - 1);
	n = put(in, n, "2001:db8:1::/48", 2, NOW + 10);
	t = build(AF_INET6, in, n, NULL);
	ck_assert_str_eq(match(t, "2001:db8:1::1", NOW), "2001:db8:1::/48");
	ck_assert_str_eq(match(t, "2001:db8:2::1", NOW), "none");
	ck_assert_str_eq(match(t, "2001:db8:1::1", NOW + 10), "none");
	table_free(t);
}
END_TEST

START_TEST(test_expiry_exactly_at_now_counts_as_expired)
{
	struct table_input in[8];
	struct table *t;
	size_t n = 0;

	n = put(in, n, "10.0.0.0/8", 1, 0);
	n = put(in, n, "10.1.0.0/16", 2, NOW);
	t = build(AF_INET, in, n, NULL);
	ck_assert_str_eq(match(t, "10.1.0.1", NOW - 1), "10.1.0.0/16");
	ck_assert_str_eq(match(t, "10.1.0.1", NOW), "10.0.0.0/8");
	table_free(t);
}
END_TEST

START_TEST(test_duplicates_reported_with_both_origins_and_first_kept)
{
	struct table_input in[8];
	struct dups d = { .n = 0 };
	struct table_entry e;
	struct addr a;
	struct table *t;
	size_t n = 0;

	n = put(in, n, "10.0.0.0/8", 1, 0);		/* 0 */
	n = put(in, n, "10.1.0.0/16", 7, 0);		/* 1 */
	n = put(in, n, "10.0.0.0/16", 2, 0);		/* 2: not a dup of 0 */
	n = put(in, n, "10.1.0.0/16", 8, 0);		/* 3: dup of 1 */
	n = put(in, n, "10.1.0.0/16", 9, 0);		/* 4: dup of 1 */
	t = build(AF_INET, in, n, &d);
	ck_assert_uint_eq(table_count(t), 3);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.first[0], 1);
	ck_assert_uint_eq(d.again[0], 3);
	ck_assert_uint_eq(d.first[1], 1);
	ck_assert_uint_eq(d.again[1], 4);
	ck_assert_int_eq(addr_parse("10.1.2.3", &a), 0);
	ck_assert_int_eq(table_entry_get(t, table_lookup(t, &a, NOW), &e), 0);
	ck_assert_uint_eq(e.profile, 7);
	ck_assert_uint_eq(e.origin, 1);
	table_free(t);
}
END_TEST

START_TEST(test_entry_get_returns_parent_and_origin)
{
	struct table_input in[8];
	struct table_entry e, p;
	struct addr a;
	struct table *t;
	int32_t id;
	size_t n = 0;

	n = put(in, n, "100.64.0.0/10", 1, 0);
	n = put(in, n, "100.64.12.0/28", 2, NOW + 5);
	n = put(in, n, "100.65.0.0/16", 3, 0);
	in[2].keep_origin = 0;
	t = build(AF_INET, in, n, NULL);

	ck_assert_int_eq(addr_parse("100.64.12.3", &a), 0);
	id = table_lookup(t, &a, NOW);
	ck_assert_int_eq(table_entry_get(t, id, &e), 0);
	ck_assert_str_eq(entry_text(t, id), "100.64.12.0/28");
	ck_assert_uint_eq(e.len, 28);
	ck_assert_uint_eq(e.profile, 2);
	ck_assert_uint_eq(e.expires, NOW + 5);
	ck_assert_uint_eq(e.origin, 1);
	ck_assert_str_eq(entry_text(t, e.parent), "100.64.0.0/10");
	ck_assert_int_eq(table_entry_get(t, e.parent, &p), 0);
	ck_assert_int_eq(p.parent, -1);
	ck_assert_uint_eq(p.origin, 0);
	ck_assert_uint_eq(p.expires, 0);

	ck_assert_int_eq(addr_parse("100.65.1.1", &a), 0);
	ck_assert_int_eq(table_entry_get(t, table_lookup(t, &a, NOW), &e), 0);
	ck_assert_uint_eq(e.origin, TABLE_NO_ORIGIN);
	ck_assert_str_eq(entry_text(t, e.parent), "100.64.0.0/10");

	ck_assert_int_eq(table_entry_get(t, -1, &e), -1);
	ck_assert_int_eq(table_entry_get(t, 3, &e), -1);
	table_free(t);
}
END_TEST

START_TEST(test_empty_table_matches_nothing)
{
	struct addr a;
	struct table_entry e;
	struct table *t;

	t = build(AF_INET, NULL, 0, NULL);
	ck_assert_uint_eq(table_count(t), 0);
	ck_assert_int_eq(addr_parse("0.0.0.0", &a), 0);
	ck_assert_int_eq(table_lookup(t, &a, NOW), -1);
	ck_assert_int_eq(table_entry_get(t, 0, &e), -1);
	ck_assert_uint_gt(table_memory(t), 0);
	table_free(t);

	t = build(AF_INET6, NULL, 0, NULL);
	ck_assert_int_eq(addr_parse("::", &a), 0);
	ck_assert_int_eq(table_lookup(t, &a, NOW), -1);
	table_free(t);
	table_free(NULL);
}
END_TEST

/* The interleaved lookups on the small cases: no entry, no node (a few
 * ranges only), no key. */
START_TEST(test_many_on_empty_and_small_tables)
{
	static const char *const keys4[] = {
		"0.0.0.0", "10.0.0.1", "10.1.2.3", "10.1.2.200", "10.255.0.0",
		"11.0.0.0", "255.255.255.255", "9.255.255.255",
	};
	static const char *const keys6[] = {
		"::", "2001:db8::1", "2001:db8:0:1::5", "2001:db8:ffff::",
		"2001:db9::", "ffff::",
	};
	struct addr a4[8], a6[6];
	struct table_input in[4];
	struct table *t;
	size_t i, n;

	for (i = 0; i < 8; i++)
		ck_assert_int_eq(addr_parse(keys4[i], &a4[i]), 0);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(addr_parse(keys6[i], &a6[i]), 0);

	t = build(AF_INET, NULL, 0, NULL);
	many_agrees(t, a4, 8, NOW);
	many_agrees(t, a4, 0, NOW);
	table_free(t);

	n = put(in, 0, "10.0.0.0/8", 1, 0);
	n = put(in, n, "10.1.2.0/25", 2, NOW);	/* expired at NOW */
	n = put(in, n, "10.1.2.128/25", 3, 0);
	t = build(AF_INET, in, n, NULL);
	many_agrees(t, a4, 8, NOW);
	many_agrees(t, a4, 8, NOW - 1);
	table_free(t);

	t = build(AF_INET6, NULL, 0, NULL);
	many_agrees(t, a6, 6, NOW);
	table_free(t);
	n = put(in, 0, "2001:db8::/32", 1, 0);
	n = put(in, n, "2001:db8:0:1::/64", 4, NOW);
	t = build(AF_INET6, in, n, NULL);
	many_agrees(t, a6, 6, NOW);
	many_agrees(t, a6, 6, NOW - 1);
	table_free(t);
}
END_TEST

START_TEST(test_host_bits_are_ignored_and_bad_lengths_refused)
{
	struct table_input in[8];
	struct dups d = { .n = 0 };
	struct table *t;
	size_t n = 0;

	n = put(in, n, "10.0.0.0/8", 1, 0);
	n = put(in, n, "10.9.9.9/8", 2, 0);
	t = build(AF_INET, in, n, &d);
	ck_assert_uint_eq(table_count(t), 1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(match(t, "10.200.0.0", NOW), "10.0.0.0/8");
	table_free(t);

	n = 0;
	n = put(in, n, "10.0.0.0/33", 1, 0);
	ck_assert_ptr_null(table_build(AF_INET, in, n, NULL, NULL));
	n = 0;
	n = put(in, n, "2001:db8::/32", 1, 0);
	ck_assert_ptr_null(table_build(AF_INET, in, n, NULL, NULL));
}
END_TEST

/* ---- randomized cross-check against a reference written here ---- */

#define RANDOM_PREFIXES 100000
#define RANDOM_LOOKUPS 100000
#define LINEAR_LOOKUPS 10000
#define CLUSTERS 8

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64: fixed seed, same run every time. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u128 rng128(void)
{
	return (u128)rng() << 64 | rng();
}

struct ref {
	u128 key;
	u128 mask;
	uint32_t expires;
	uint32_t order;			/* position in the input */
	uint16_t profile;
	uint8_t len;
};

static u128 mask_of(unsigned len, unsigned bits)
{
	u128 all = bits == 128 ? ~(u128)0 : ((u128)1 << bits) - 1;

	return len == 0 ? 0 : (all << (bits - len)) & all;
}

static void addr_of(u128 key, unsigned bits, struct addr *a)
{
	int i;

	if (bits == 32) {
		addr_from_v4(a, (uint32_t)key);
		return;
	}
	for (i = 15; i >= 0; i--, key >>= 8)
		a->b[i] = (uint8_t)key;
}

static u128 key_of(const struct addr *a, unsigned bits)
{
	u128 k = 0;
	unsigned i;

	for (i = bits == 32 ? 12 : 0; i < 16; i++)
		k = k << 8 | a->b[i];
	return k;
}

static int ref_cmp(const void *x, const void *y)
{
	const struct ref *a = x, *b = y;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static bool ref_live(const struct ref *r, int64_t now)
{
	return r->expires == 0 || (int64_t)r->expires > now;
}

/* Unique prefixes (first given kept) sorted by (len, key); by_len[l] is
 * where length l starts. */
struct refset {
	struct ref *r;
	size_t n;
	size_t by_len[130];
	unsigned bits;
};

/* Reference 1: every prefix, one after the other. */
static ssize_t ref_linear(const struct refset *s, u128 key, int64_t now)
{
	ssize_t best = -1;
	size_t i;

	for (i = 0; i < s->n; i++)
		if ((key & s->r[i].mask) == s->r[i].key && ref_live(&s->r[i], now) &&
		    (best < 0 || s->r[i].len > s->r[best].len))
			best = (ssize_t)i;
	return best;
}


/* Reference 2: each length from the longest down, by exact match. */
static ssize_t ref_by_length(const struct refset *s, u128 key, int64_t now)
{
	int len;

	for (len = (int)s->bits; len >= 0; len--) {
		size_t lo = s->by_len[len], hi = s->by_len[len + 1];
		u128 k = key & mask_of((unsigned)len, s->bits);

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (s->r[mid].key < k)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < s->by_len[len + 1] && s->r[lo].key == k &&
		    ref_live(&s->r[lo], now))
			return (ssize_t)lo;
	}
	return -1;
}

static unsigned random_len(unsigned bits, unsigned cluster_len)
{
	unsigned x = (unsigned)(rng() % 100);

	if (x < 2)
		return (unsigned)(rng() % cluster_len);
	if (bits == 32)
		return cluster_len + (unsigned)(rng() % (33 - cluster_len));
	if (x < 80)
		return cluster_len + (unsigned)(rng() % (65 - cluster_len));
	if (x < 90)
		return 128;
	return 65 + (unsigned)(rng() % 63);
}

struct dup_check {
	size_t n;
	bool ordered;
};

static void dup_count(void *ctx, uint32_t first, uint32_t again)
{
	struct dup_check *c = ctx;

	c->n++;
	if (first >= again)
		c->ordered = false;
}

static void cross_check(int family, uint64_t seed)
{
	struct addr pa;
	uint8_t plen;
	unsigned bits = family == AF_INET ? 32 : 128;
	unsigned cluster_len = family == AF_INET ? 12 : 40;
	struct dup_check dc = { 0, true };
	struct table_input *in;
	u128 clusters[CLUSTERS];
	struct refset s;
	struct table *t;
	size_t i, j, w;

	rng_state = seed;
	for (i = 0; i < CLUSTERS; i++) {
		clusters[i] = rng128() & mask_of(cluster_len, bits);
		/* Most IPv6 clusters inside one /32, as an ISP's would be. */
		if (bits == 128 && i < CLUSTERS - 2)
			clusters[i] = ((u128)0x20010db8 << 96) |
				      (clusters[i] & ~mask_of(32, 128));
	}
	in = calloc(RANDOM_PREFIXES, sizeof(*in));
	s.r = calloc(RANDOM_PREFIXES, sizeof(*s.r));
	s.bits = bits;
	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(s.r);
	for (i = 0; i < RANDOM_PREFIXES; i++) {
		struct ref *r = &s.r[i];

		r->len = (uint8_t)random_len(bits, cluster_len);
		r->mask = mask_of(r->len, bits);
		r->key = (clusters[rng() % CLUSTERS] |
			  (rng128() & ~mask_of(cluster_len, bits))) & r->mask;
		if (bits == 32)
			r->key &= 0xffffffff;
		r->expires = rng() % 4 == 0 ? NOW - 10 + (uint32_t)(rng() % 21) : 0;
		r->profile = (uint16_t)rng();
		r->order = (uint32_t)i;
		addr_of(r->key, bits, &in[i].addr);
		in[i].len = r->len;
		in[i].profile = r->profile;
		in[i].expires = r->expires;
		in[i].origin = (uint32_t)i;
		in[i].keep_origin = rng() % 2;
	}

	/* The edges of the space, inside a table large enough for a tree. */
	s.r[0].len = (uint8_t)bits;
	s.r[0].key = 0;
	s.r[1].len = (uint8_t)bits;
	s.r[1].key = mask_of(bits, bits);
	s.r[2].len = (uint8_t)(bits - 8);
	s.r[2].key = mask_of(bits - 8, bits);
	for (i = 0; i < 3; i++) {
		s.r[i].mask = mask_of(s.r[i].len, bits);
		addr_of(s.r[i].key, bits, &in[i].addr);
		in[i].len = s.r[i].len;
	}

	t = table_build(family, in, RANDOM_PREFIXES, dup_count, &dc);
	ck_assert_ptr_nonnull(t);

	qsort(s.r, RANDOM_PREFIXES, sizeof(*s.r), ref_cmp);
	for (i = 0, w = 0; i < RANDOM_PREFIXES; i++)
		if (w == 0 || s.r[i].len != s.r[w - 1].len ||
		    s.r[i].key != s.r[w - 1].key)
			s.r[w++] = s.r[i];
	s.n = w;
	for (i = 0, j = 0; i <= bits + 1; i++) {
		while (j < s.n && s.r[j].len < i)
			j++;
		s.by_len[i] = j;
	}
	ck_assert_uint_eq(table_count(t), s.n);
	ck_assert_uint_eq(dc.n, RANDOM_PREFIXES - s.n);
	ck_assert_msg(dc.ordered, "dup called with first not given first");
	/* The clusters make the prefixes nest, and the lengths repeat. */
	ck_assert_uint_gt(dc.n, 1000);

	/* Under valgrind a tenth: its point there is memory, not volume. */
	for (i = 0; i < RANDOM_LOOKUPS / (tests_under_valgrind() ? 10 : 1);
	     i++) {
		int64_t now = NOW - 12 + (int64_t)(rng() % 25);
		uint64_t how = rng() % 10;
		struct addr a;
		struct table_entry e;
		ssize_t want;
		int32_t got;
		u128 key;

		if (i < 4) {
			key = i % 2 ? mask_of(bits, bits) : 0;
		} else if (how < 5) {
			const struct ref *r = &s.r[rng() % s.n];

			key = r->key | (rng128() & ~r->mask);
		} else if (how < 8) {
			key = clusters[rng() % CLUSTERS] |
			      (rng128() & ~mask_of(cluster_len, bits));
		} else {
			key = rng128();
		}
		if (bits == 32)
			key &= 0xffffffff;
		addr_of(key, bits, &a);

		want = ref_by_length(&s, key, now);
		if (i < LINEAR_LOOKUPS / (tests_under_valgrind() ? 10 : 1))
			ck_assert_int_eq(want, ref_linear(&s, key, now));
		got = table_lookup(t, &a, now);
		if (want < 0) {
			ck_assert_msg(got == -1, "lookup %zu: want none, got %s",
				      i, entry_text(t, got));
			continue;
		}
		ck_assert_msg(got >= 0, "lookup %zu: want a match, got none", i);
		ck_assert_int_eq(table_entry_get(t, got, &e), 0);
		ck_assert_uint_eq(e.len, s.r[want].len);
		ck_assert_msg(key_of(&e.addr, bits) == s.r[want].key,
			      "lookup %zu: wrong prefix %s", i, entry_text(t, got));
		ck_assert_uint_eq(e.profile, s.r[want].profile);
		ck_assert_uint_eq(e.expires, s.r[want].expires);
		ck_assert(e.origin == TABLE_NO_ORIGIN ||
			  e.origin == s.r[want].order);
		/* The block line's shortcut names the same prefix. */
		ck_assert_int_eq(table_entry_prefix(t, got, &pa, &plen), 0);
		ck_assert_uint_eq(plen, e.len);
		ck_assert(memcmp(&pa, &e.addr, sizeof(pa)) == 0);
	}
	ck_assert_int_eq(table_entry_prefix(t, (int32_t)table_count(t), &pa,
					    &plen), -1);

	/* The same keys as a burst would bring them, interleaved. */
	{
		struct addr *burst = calloc(4096, sizeof(*burst));

		ck_assert_ptr_nonnull(burst);
		for (i = 0; i < 4096; i++) {
			const struct ref *r = &s.r[rng() % s.n];
			u128 key = i % 3 ? r->key | (rng128() & ~r->mask)
					 : rng128();

			if (bits == 32)
				key &= 0xffffffff;
			addr_of(key, bits, &burst[i]);
		}
		for (i = 0; i < 4096; i += 256)
			many_agrees(t, burst + i, 256 - i / 64,
				    NOW - 12 + (int64_t)(i % 25));
		free(burst);
	}

	/* Parents: the longest strictly enclosing prefix, for a sample. */
	for (i = 0; i < 2000; i++) {
		int32_t id = (int32_t)(rng() % s.n);
		struct table_entry e, p;
		ssize_t want;
		u128 key;

		ck_assert_int_eq(table_entry_get(t, id, &e), 0);
		key = key_of(&e.addr, bits);
		if (e.len == 0) {
			ck_assert_int_eq(e.parent, -1);
			continue;
		}
		/* Lookup of the entry's own key among shorter prefixes only. */
		want = -1;
		for (j = 0; j < s.by_len[e.len]; j++)
			if ((key & s.r[j].mask) == s.r[j].key &&
			    (want < 0 || s.r[j].len > s.r[want].len))
				want = (ssize_t)j;
		if (want < 0) {
			ck_assert_int_eq(e.parent, -1);
			continue;
		}
		ck_assert_int_ge(e.parent, 0);
		ck_assert_int_eq(table_entry_get(t, e.parent, &p), 0);
		ck_assert_uint_eq(p.len, s.r[want].len);
		ck_assert(key_of(&p.addr, bits) == s.r[want].key);
	}

	table_free(t);
	free(s.r);
	free(in);
}

/*
 * Every one of 65,536 consecutive keys (from, stepping by 2^step) against
 * the linear scan, on a table dense enough to grow child nodes: an
 * aggregate, a shorter-lived exception at its start, many small prefixes
 * right after, and prefixes far away so the root spans the space.
 */
static void sweep(int family, const char *from, unsigned step)
{
	unsigned bits = family == AF_INET ? 32 : 128;
	struct table_input in[200];
	struct addr a, *keys;
	struct refset s;
	struct table *t;
	char buf[80], host[64];
	size_t n = 0, i;
	u128 base;

	ck_assert_int_eq(addr_parse(from, &a), 0);
	base = key_of(&a, bits);
	n = put(in, n, family == AF_INET ? "10.0.0.0/8" : "2001:db8::/32", 1, 0);
	n = put(in, n, family == AF_INET ? "10.0.0.0/20" : "2001:db8::/52", 2, 0);
	for (i = 0; i < 60; i++) {
		addr_of(base + ((u128)(2 * i + 2) << step), bits, &a);
		snprintf(buf, sizeof(buf), "%s/%u",
			 addr_format(&a, host, sizeof(host)), bits - step);
		n = put(in, n, buf, (uint16_t)(10 + i), i % 3 ? 0 : NOW);
	}
	for (i = 0; i < 60; i++) {
		snprintf(buf, sizeof(buf), family == AF_INET ? "192.168.%zu.0/24"
				: "2a00:%zx::/32", i);
		n = put(in, n, buf, 3, 0);
	}
	t = build(family, in, n, NULL);

	s.bits = bits;
	s.n = n;
	s.r = calloc(n, sizeof(*s.r));
	ck_assert_ptr_nonnull(s.r);
	for (i = 0; i < n; i++) {
		s.r[i].len = in[i].len;
		s.r[i].mask = mask_of(in[i].len, bits);
		s.r[i].key = key_of(&in[i].addr, bits);
		s.r[i].expires = in[i].expires;
		s.r[i].profile = in[i].profile;
	}
	keys = calloc(65536, sizeof(*keys));
	ck_assert_ptr_nonnull(keys);
	for (i = 0; i < 65536; i++) {
		u128 key = base + ((u128)i << step);
		ssize_t want = ref_linear(&s, key, NOW);
		struct table_entry e;
		int32_t got;

		addr_of(key, bits, &a);
		keys[i] = a;
		got = table_lookup(t, &a, NOW);
		ck_assert_int_eq(table_entry_get(t, got, &e), 0);
		ck_assert_msg(e.len == s.r[want].len &&
			      key_of(&e.addr, bits) == s.r[want].key,
			      "key %zu: got %s", i, entry_text(t, got));
	}
	/* In and out of the exception's life, in bursts of every size. */
	for (i = 0; i < 65536; i += 1 + i % 97)
		many_agrees(t, keys + i, 65536 - i < 1 + i % 97 ? 65536 - i
							: 1 + i % 97,
			    i % 2 ? NOW : NOW - 1);
	free(keys);
	free(s.r);
	table_free(t);
}

START_TEST(test_every_key_of_a_dense_region_matches_linear_scan)
{
	sweep(AF_INET, "10.0.0.0", 0);
	sweep(AF_INET6, "2001:db8::", 64);
}
END_TEST

START_TEST(test_random_ipv4_matches_reference_scan)
{
	cross_check(AF_INET, 0x7461626c65303034ULL);
}
END_TEST

START_TEST(test_random_ipv6_matches_reference_scan)
{
	cross_check(AF_INET6, 0x7461626c65303036ULL);
}
END_TEST

Suite *table_suite(void);
Suite *table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("lookup");
	TCase *tr = tcase_create("random");

	tcase_add_test(tc, test_nested_prefixes_longest_wins);
	tcase_add_test(tc, test_equal_length_siblings_do_not_leak);
	tcase_add_test(tc, test_zero_length_prefix_covers_whole_family);
	tcase_add_test(tc, test_host_prefixes_match_only_their_address);
	tcase_add_test(tc, test_hosts_at_top_and_bottom_of_space);
	tcase_add_test(tc, test_expired_exception_falls_back_to_parent);
	tcase_add_test(tc, test_expired_entry_without_live_parent_matches_nothing);
	tcase_add_test(tc, test_expiry_exactly_at_now_counts_as_expired);
	tcase_add_test(tc, test_duplicates_reported_with_both_origins_and_first_kept);
	tcase_add_test(tc, test_entry_get_returns_parent_and_origin);
	tcase_add_test(tc, test_empty_table_matches_nothing);
	tcase_add_test(tc, test_many_on_empty_and_small_tables);
	tcase_add_test(tc, test_host_bits_are_ignored_and_bad_lengths_refused);
	suite_add_tcase(s, tc);

	tcase_set_timeout(tr, 60);
	tcase_add_test(tr, test_every_key_of_a_dense_region_matches_linear_scan);
	tcase_add_test(tr, test_random_ipv4_matches_reference_scan);
	tcase_add_test(tr, test_random_ipv6_matches_reference_scan);
	suite_add_tcase(s, tr);
	return s;
}
