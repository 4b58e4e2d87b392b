// SPDX-License-Identifier: GPL-2.0-or-later
/* identity/: sessions — look-ups, renewals, moves, stops, expiry, checks,
 * the bound, retirement, readers racing the writer, the state file. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "identity/identity.h"
#include "tests/helpers.h"
#include "tests/suites.h"

#define NOW 1800000000LL

/* ---- what the writer's note function heard ---- */

#define NOTES_MAX 64

struct notes {
	unsigned n;
	enum identity_what what[NOTES_MAX];
	char id[NOTES_MAX][IDENTITY_ID_MAX + 1];
	char addr[NOTES_MAX][64];
};

static void note_record(void *arg, const struct identity_change *c)
{
	struct notes *ns = arg;

	if (ns->n < NOTES_MAX) {
		snprintf(ns->id[ns->n], sizeof(ns->id[0]), "%s", c->id);
		if (c->what == IDENTITY_END)
			snprintf(ns->addr[ns->n], sizeof(ns->addr[0]), "-");
		else
			identity_addr_format(&c->addr, ns->addr[ns->n],
					     sizeof(ns->addr[0]));
		ns->what[ns->n] = c->what;
	}
	ns->n++;
}

/* Whether a note what/id/addr ("-" for END) was heard. */
static bool heard(const struct notes *ns, enum identity_what what,
		  const char *id, const char *addr)
{
	for (unsigned i = 0; i < ns->n && i < NOTES_MAX; i++)
		if (ns->what[i] == what && !strcmp(ns->id[i], id) &&
		    !strcmp(ns->addr[i], addr))
			return true;
	return false;
}

static unsigned heard_what(const struct notes *ns, enum identity_what what)
{
	unsigned k = 0;

	for (unsigned i = 0; i < ns->n && i < NOTES_MAX; i++)
		k += ns->what[i] == what;
	return k;
}

/* ---- sessions written as text ---- */

static struct identity_addr ia(const char *s)
{
	struct identity_addr a;
	char why[200];

	ck_assert_msg(identity_addr_parse(s, &a, why, sizeof(why)) == 0,
		      "%s: %s", s, why);
	return a;
}

/* A session of id holding addrs ("100.64.0.1,2001:db8::/56"), until
 * expires. */
static struct identity_session sess(const char *id, int64_t expires,
				    const char *addrs)
{
	struct identity_session s;
	char buf[512], *save = NULL;

	memset(&s, 0, sizeof(s));
	snprintf(s.id, sizeof(s.id), "%s", id);
	s.expires = expires;
	snprintf(buf, sizeof(buf), "%s", addrs);
	for (char *p = strtok_r(buf, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		struct identity_addr a = ia(p);

		if (addr_is_v4(&a.a)) {
			s.has_v4 = true;
			s.v4 = a;
		} else {
			ck_assert_uint_lt(s.nv6, IDENTITY_V6_MAX);
			s.v6[s.nv6++] = a;
		}
	}
	return s;
}

/* identity_start of sess(id, expires, addrs): its return. */
static int start(struct identity *t, const char *id, int64_t expires,
		 const char *addrs, int64_t now)
{
	struct identity_session s = sess(id, expires, addrs);
	char why[200] = "";
	int r = identity_start(t, &s, now, why, sizeof(why));

	ck_assert_msg(r >= 0, "start %s %s: %s", id, addrs, why);
	return r;
}

/* Who holds source address s at now: the id, or "" for none. */
static const char *who(const struct identity *t, const char *s, int64_t now)
{
	static char out[IDENTITY_ID_MAX + 1];
	struct identity_hit h;
	struct addr a;

	ck_assert_int_eq(addr_parse(s, &a), 0);
	identity_prefetch(t, &a);
	if (!identity_lookup(t, &a, now, &h))
		return "";
	ck_assert_uint_eq(h.key, identity_id_key(t, h.id, h.len));
	memcpy(out, h.id, h.len);
	out[h.len] = '\0';
	return out;
}

static struct identity *open_table(size_t max, struct notes *ns)
{
	struct identity *t = identity_open(max, 0x1234567890abcdefULL,
					   ns ? note_record : NULL, ns);

	ck_assert_ptr_nonnull(t);
	return t;
}

/* ---- look-ups ---- */

/* The burst look-up answers as the plain one does, source by source:
 * IPv4 and IPv6 mixed, nested prefixes (/48 of one, /56 and /64 of
 * others inside it), misses, expired sessions, and more than one call's
 * worth of sources. */
START_TEST(test_lookup_many_answers_as_lookup_does)
{
	enum { N = 3000, SRC = 150 };
	struct identity *t = open_table(N * 2, NULL);
	struct addr a[SRC];
	const struct addr *p[SRC];
	struct identity_hit h[SRC];
	bool found[SRC];
	uint64_t x = 88172645463325252ULL;
	char id[32], addrs[128];

	/* An empty table (no feed): nobody, whatever found held before. */
	for (unsigned k = 0; k < SRC; k++) {
		addr_from_v4(&a[k], 0x64400000u + k);
		p[k] = &a[k];
		found[k] = true;
	}
	identity_lookup_many(t, p, SRC, 1000, h, found);
	for (unsigned k = 0; k < SRC; k++)
		ck_assert(!found[k]);
	for (unsigned i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "s%u", i);
		if (i % 3 == 0)
			snprintf(addrs, sizeof(addrs), "100.64.%u.%u", i >> 8,
				 i & 0xff);
		else if (i % 3 == 1)
			snprintf(addrs, sizeof(addrs), "100.65.%u.%u,"
				 "2001:db8:%x:%x00::/56", i >> 8, i & 0xff,
				 i >> 4, i & 0xf);
		else
			snprintf(addrs, sizeof(addrs), "2001:db8:%x:%x01::/64",
				 (i - 1) >> 4, (i - 1) & 0xf);
		start(t, id, i % 7 == 0 ? 1500 : 0, addrs, 1000);
	}
	start(t, "wide", 0, "2001:db8::/40", 1000);
	for (int round = 0; round < 20; round++) {
		for (unsigned k = 0; k < SRC; k++) {
			char s[64];
			unsigned r;

			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			r = (unsigned)(x % (N + 500));
			if (x & 1)
				snprintf(s, sizeof(s), "100.%u.%u.%u",
					 64 + (unsigned)(x >> 8) % 2, r >> 8,
					 r & 0xff);
			else
				snprintf(s, sizeof(s), "2001:db8:%x:%x%02x::%x",
					 r >> 4, r & 0xf,
					 (unsigned)(x >> 16) % 3,
					 (unsigned)(x >> 24) & 0xffff);
			ck_assert_int_eq(addr_parse(s, &a[k]), 0);
			p[k] = &a[k];
		}
		identity_lookup_many(t, p, SRC, 1000 + round * 50, h, found);
		for (unsigned k = 0; k < SRC; k++) {
			struct identity_hit one;
			int r = identity_lookup(t, &a[k], 1000 + round * 50,
						&one);
			char s[64];

			addr_format(&a[k], s, sizeof(s));
			ck_assert_msg(found[k] == (r == 1), "%s: many %d, "
				      "one %d", s, found[k], r);
			if (r == 1) {
				ck_assert_uint_eq(h[k].len, one.len);
				ck_assert_int_eq(memcmp(h[k].id, one.id,
							one.len), 0);
				ck_assert_uint_eq(h[k].key, one.key);
			}
		}
	}
	identity_close(t);
}
END_TEST

START_TEST(test_ipv4_address_looks_up_its_subscriber)
{
	struct identity *t = open_table(100, NULL);

	ck_assert_int_eq(start(t, "cust-88412", NOW + 3600, "100.64.3.7", NOW), 1);
	ck_assert_str_eq(who(t, "100.64.3.7", NOW), "cust-88412");
	ck_assert_str_eq(who(t, "100.64.3.8", NOW), "");
	ck_assert_str_eq(who(t, "2001:db8::1", NOW), "");
	identity_close(t);
}
END_TEST

START_TEST(test_ipv6_longest_prefix_wins_a_64_inside_a_56)
{
	struct identity *t = open_table(100, NULL);

	start(t, "A", 0, "2001:db8:1:100::/56", NOW);
	start(t, "B", 0, "2001:db8:1:1a0::/64", NOW);
	ck_assert_str_eq(who(t, "2001:db8:1:100::1", NOW), "A");
	ck_assert_str_eq(who(t, "2001:db8:1:1ff:ffff:ffff:ffff:ffff", NOW), "A");
	ck_assert_str_eq(who(t, "2001:db8:1:1a0::1", NOW), "B");
	ck_assert_str_eq(who(t, "2001:db8:1:1a0:ffff::1", NOW), "B");
	ck_assert_str_eq(who(t, "2001:db8:1:1a1::1", NOW), "A");
	/* Outside the /56: nobody. */
	ck_assert_str_eq(who(t, "2001:db8:1:200::1", NOW), "");
	ck_assert_str_eq(who(t, "2001:db8:1:ff::1", NOW), "");
	/* A /64 on its own. */
	start(t, "C", 0, "2001:db8:2::/64", NOW);
	ck_assert_str_eq(who(t, "2001:db8:2::abcd", NOW), "C");
	ck_assert_str_eq(who(t, "2001:db8:2:1::abcd", NOW), "");
	identity_close(t);
}
END_TEST

/* The kernel's quarantine set must not hold a prefix another
 * subscriber holds a part of: identity_nested says so. */
START_TEST(test_nested_finds_another_subscribers_prefix_inside)
{
	struct identity *t = open_table(100, NULL);
	struct identity_addr a56 = ia("2001:db8:1:100::/56");
	struct identity_addr a48 = ia("2001:db8:7::/48");
	uint64_t ka = identity_id_key(t, "A", 1);
	uint64_t kc = identity_id_key(t, "C", 1);
	size_t budget = 1000000;

	start(t, "A", 0, "2001:db8:1:100::/56,2001:db8:9::/64", NOW);
	start(t, "C", 0, "2001:db8:7::/48,2001:db8:7:5::/64", NOW);
	/* C's own /64 inside its /48: nothing of another's. */
	ck_assert_int_eq(identity_nested(t, &a48, kc, NOW, &budget), 0);
	ck_assert_int_eq(identity_nested(t, &a56, ka, NOW, &budget), 0);
	start(t, "B", 0, "2001:db8:1:1a0::/64", NOW);
	ck_assert_int_eq(identity_nested(t, &a56, ka, NOW, &budget), 1);
	/* Its own /64 is not nested in anything. */
	{
		struct identity_addr b = ia("2001:db8:1:1a0::/64");

		ck_assert_int_eq(identity_nested(t, &b, ka, NOW, &budget), 0);
	}
	/* Out of probes: not known. */
	budget = 10;
	ck_assert_int_eq(identity_nested(t, &a56, ka, NOW, &budget), -1);
	budget = 1000000;
	ck_assert_int_eq(identity_stop_id(t, "B", NOW), 0);
	ck_assert_int_eq(identity_nested(t, &a56, ka, NOW, &budget), 0);
	identity_close(t);
}
END_TEST

START_TEST(test_ipv4_source_without_sessions_is_no_hit)
{
	struct identity *t = open_table(100, NULL);

	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "");
	ck_assert_str_eq(who(t, "2001:db8::1", NOW), "");
	/* IPv6 sessions only: an IPv4 source still finds nothing. */
	start(t, "A", 0, "2001:db8::/56", NOW);
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "");
	ck_assert_str_eq(who(t, "0.0.0.0", NOW), "");
	identity_close(t);
}
END_TEST

START_TEST(test_ipv4_mapped_source_is_the_ipv4_address)
{
	struct identity *t = open_table(100, NULL);
	struct identity_addr a;
	char why[200], buf[64];

	/* ::ffff:a.b.c.d is how every room holds IPv4: the same address. */
	ck_assert_int_eq(identity_addr_parse("::ffff:100.64.3.7", &a, why,
					     sizeof(why)), 0);
	ck_assert(addr_is_v4(&a.a));
	ck_assert_uint_eq(a.len, 32);
	ck_assert_str_eq(identity_addr_format(&a, buf, sizeof(buf)),
			 "100.64.3.7");
	ck_assert_int_eq(identity_addr_parse("::ffff:100.64.3.0/120", &a, why,
					     sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "not a prefix"));

	start(t, "A", 0, "::ffff:100.64.3.7", NOW);
	ck_assert_str_eq(who(t, "100.64.3.7", NOW), "A");
	ck_assert_str_eq(who(t, "::ffff:100.64.3.7", NOW), "A");
	/* Not the IPv4-compatible or NAT64 forms: those are IPv6. */
	ck_assert_str_eq(who(t, "::100.64.3.7", NOW), "");
	ck_assert_str_eq(who(t, "64:ff9b::100.64.3.7", NOW), "");
	identity_close(t);
}
END_TEST

/* ---- renewals and changes ---- */

START_TEST(test_renewal_returns_0_and_notes_nothing)
{
	struct notes ns = { 0 };
	struct identity *t = open_table(100, &ns);
	struct identity_session got;
	struct identity_counters c;

	ck_assert_int_eq(start(t, "A", NOW + 100,
			       "100.64.0.1,2001:db8:1:100::/56,2001:db8:2::/64",
			       NOW), 1);
	ck_assert_uint_eq(heard_what(&ns, IDENTITY_START), 3);
	ck_assert(heard(&ns, IDENTITY_START, "A", "100.64.0.1"));
	ck_assert(heard(&ns, IDENTITY_START, "A", "2001:db8:1:100::/56"));
	ns.n = 0;
	/* The same addresses (the IPv6 ones in the other order), later. */
	ck_assert_int_eq(start(t, "A", NOW + 200,
			       "2001:db8:2::/64,100.64.0.1,2001:db8:1:100::/56",
			       NOW + 50), 0);
	ck_assert_uint_eq(ns.n, 0);
	ck_assert_int_eq(identity_get(t, "A", NOW + 150, &got), 0);
	ck_assert_int_eq(got.expires, NOW + 200);
	ck_assert_str_eq(who(t, "100.64.0.1", NOW + 150), "A");
	identity_counters(t, &c);
	ck_assert_uint_eq(c.starts, 1);
	ck_assert_uint_eq(c.renewals, 1);
	ck_assert_uint_eq(c.sessions, 1);
	identity_close(t);
}
END_TEST

START_TEST(test_start_with_other_addresses_stops_the_old_ones)
{
	struct notes ns = { 0 };
	struct identity *t = open_table(100, &ns);
	struct identity_session got;

	start(t, "A", 0, "100.64.0.1,2001:db8:1:100::/56", NOW);
	ns.n = 0;
	ck_assert_int_eq(start(t, "A", 0, "100.64.0.2,2001:db8:1:100::/56",
			       NOW), 1);
	ck_assert(heard(&ns, IDENTITY_STOP, "A", "100.64.0.1"));
	ck_assert(heard(&ns, IDENTITY_START, "A", "100.64.0.2"));
	ck_assert_uint_eq(ns.n, 2);	/* the kept prefix: nothing */
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "");
	ck_assert_str_eq(who(t, "100.64.0.2", NOW), "A");
	ck_assert_str_eq(who(t, "2001:db8:1:100::1", NOW), "A");

	/* Dropping the IPv4 address, swapping the prefix. */
	ns.n = 0;
	ck_assert_int_eq(start(t, "A", 0, "2001:db8:1:200::/56", NOW), 1);
	ck_assert(heard(&ns, IDENTITY_STOP, "A", "100.64.0.2"));
	ck_assert(heard(&ns, IDENTITY_STOP, "A", "2001:db8:1:100::/56"));
	ck_assert(heard(&ns, IDENTITY_START, "A", "2001:db8:1:200::/56"));
	ck_assert_uint_eq(heard_what(&ns, IDENTITY_END), 0);
	ck_assert_str_eq(who(t, "100.64.0.2", NOW), "");
	ck_assert_str_eq(who(t, "2001:db8:1:100::1", NOW), "");
	ck_assert_str_eq(who(t, "2001:db8:1:2ff::1", NOW), "A");
	ck_assert_int_eq(identity_get(t, "A", NOW, &got), 0);
	ck_assert(!got.has_v4);
	ck_assert_uint_eq(got.nv6, 1);
	identity_close(t);
}
END_TEST

/* ---- moves ---- */

START_TEST(test_start_for_a_held_address_moves_it_and_ends_the_other)
{
	struct notes ns = { 0 };
	struct identity *t = open_table(100, &ns);
	struct identity_session got;
	struct identity_counters c;

	start(t, "B", 0, "100.64.0.1", NOW);
	ns.n = 0;
	ck_assert_int_eq(start(t, "A", 0, "100.64.0.1", NOW), 1);
	ck_assert(heard(&ns, IDENTITY_MOVE, "B", "100.64.0.1"));
	ck_assert(heard(&ns, IDENTITY_END, "B", "-"));
	ck_assert(heard(&ns, IDENTITY_START, "A", "100.64.0.1"));
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "A");
	ck_assert_int_eq(identity_get(t, "B", NOW, &got), -1);
	ck_assert_int_eq(errno, ENOENT);
	identity_counters(t, &c);
	ck_assert_uint_eq(c.sessions, 1);
	ck_assert_uint_eq(c.v4, 1);

	/* An IPv6 prefix moves the same way. */
	start(t, "C", 0, "2001:db8:5::/56", NOW);
	ns.n = 0;
	start(t, "A", 0, "100.64.0.1,2001:db8:5::/56", NOW);
	ck_assert(heard(&ns, IDENTITY_MOVE, "C", "2001:db8:5::/56"));
	ck_assert(heard(&ns, IDENTITY_END, "C", "-"));
	ck_assert_str_eq(who(t, "2001:db8:5::1", NOW), "A");
	identity_close(t);
}
END_TEST

START_TEST(test_moved_address_leaves_the_other_its_ipv6_prefix)
{
	struct notes ns = { 0 };
	struct identity *t = open_table(100, &ns);
	struct identity_session got;

	start(t, "B", 0, "100.64.0.1,2001:db8:1:100::/56", NOW);
	ns.n = 0;
	start(t, "A", 0, "100.64.0.1", NOW);
	ck_assert(heard(&ns, IDENTITY_MOVE, "B", "100.64.0.1"));
	ck_assert_uint_eq(heard_what(&ns, IDENTITY_END), 0);
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "A");
	ck_assert_str_eq(who(t, "2001:db8:1:100::1", NOW), "B");
	ck_assert_int_eq(identity_get(t, "B", NOW, &got), 0);
	ck_assert(!got.has_v4);
	ck_assert_uint_eq(got.nv6, 1);
	/* Its last prefix moving too ends it. */
	ns.n = 0;
	start(t, "A", 0, "100.64.0.1,2001:db8:1:100::/56", NOW);
	ck_assert(heard(&ns, IDENTITY_MOVE, "B", "2001:db8:1:100::/56"));
	ck_assert(heard(&ns, IDENTITY_END, "B", "-"));
	ck_assert_int_eq(identity_get(t, "B", NOW, &got), -1);
	identity_close(t);
}
END_TEST

/* ---- stops ---- */

START_TEST(test_stop_by_id_ends_the_session)
{
	struct notes ns = { 0 };
	struct identity *t = open_table(100, &ns);
	struct identity_counters c;

	start(t, "A", 0, "100.64.0.1,2001:db8:1:100::/56", NOW);
	start(t, "B", 0, "100.64.0.2", NOW);
	ns.n = 0;
	ck_assert_int_eq(identity_stop_id(t, "A", NOW), 0);
	ck_assert(heard(&ns, IDENTITY_STOP, "A", "100.64.0.1"));
	ck_assert(heard(&ns, IDENTITY_STOP, "A", "2001:db8:1:100::/56"));
	ck_assert(heard(&ns, IDENTITY_END, "A", "-"));
	ck_assert_uint_eq(ns.n, 3);
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "");
	ck_assert_str_eq(who(t, "2001:db8:1:100::1", NOW), "");
	ck_assert_str_eq(who(t, "100.64.0.2", NOW), "B");
	identity_counters(t, &c);
	ck_assert_uint_eq(c.sessions, 1);
	ck_assert_uint_eq(c.v4, 1);
	ck_assert_uint_eq(c.v6, 0);
	ck_assert_uint_eq(c.stops, 1);
	identity_close(t);
}
END_TEST

START_TEST(test_stop_by_address_takes_only_that_address)
{
	struct notes ns = { 0 };
	struct identity *t = open_table(100, &ns);
	struct identity_addr a;
	struct identity_session got;

	start(t, "A", 0, "100.64.0.1,2001:db8:1:100::/56", NOW);
	ns.n = 0;
	a = ia("100.64.0.1");
	ck_assert_int_eq(identity_stop_addr(t, &a, NOW), 0);
	ck_assert(heard(&ns, IDENTITY_STOP, "A", "100.64.0.1"));
	ck_assert_uint_eq(ns.n, 1);
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "");
	ck_assert_str_eq(who(t, "2001:db8:1:100::1", NOW), "A");
	/* An IPv6 address inside the /56 (parsed: its /64) takes the /56;
	 * the session then holds nothing and ends. */
	ns.n = 0;
	a = ia("2001:db8:1:1a0::77");
	ck_assert_int_eq(identity_find(t, &a, NOW, &got), 0);
	ck_assert_str_eq(got.id, "A");
	ck_assert_int_eq(identity_stop_addr(t, &a, NOW), 0);
	ck_assert(heard(&ns, IDENTITY_STOP, "A", "2001:db8:1:100::/56"));
	ck_assert(heard(&ns, IDENTITY_END, "A", "-"));
	ck_assert_int_eq(identity_get(t, "A", NOW, &got), -1);
	ck_assert_str_eq(who(t, "2001:db8:1:100::1", NOW), "");
	identity_close(t);
}
END_TEST

START_TEST(test_stop_of_what_nobody_holds_is_enoent)
{
	struct identity *t = open_table(100, NULL);
	struct identity_addr a;

	errno = 0;
	ck_assert_int_eq(identity_stop_id(t, "nobody", NOW), -1);
	ck_assert_int_eq(errno, ENOENT);
	start(t, "A", 0, "100.64.0.1,2001:db8:1:100::/56", NOW);
	a = ia("100.64.0.2");
	errno = 0;
	ck_assert_int_eq(identity_stop_addr(t, &a, NOW), -1);
	ck_assert_int_eq(errno, ENOENT);
	a = ia("2001:db8:1:200::1");
	errno = 0;
	ck_assert_int_eq(identity_stop_addr(t, &a, NOW), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(identity_stop_id(t, "A", NOW), 0);
	errno = 0;
	ck_assert_int_eq(identity_stop_id(t, "A", NOW), -1);
	ck_assert_int_eq(errno, ENOENT);
	a = ia("100.64.0.1");
	ck_assert_int_eq(identity_stop_addr(t, &a, NOW), -1);
	ck_assert_int_eq(errno, ENOENT);
	identity_close(t);
}
END_TEST

/* A prefix wider than every prefix held is not "inside" any of them: a
 * stop of 2001:db8:1::/48 must not take a /56 that happens to start at
 * its first address. */
START_TEST(test_stop_of_a_wider_prefix_does_not_take_a_narrower_one)
{
	struct identity *t = open_table(100, NULL);
	struct identity_addr a;
	struct identity_session got;

	start(t, "A", 0, "2001:db8:1::/56", NOW);
	a = ia("2001:db8:1::/48");
	errno = 0;
	ck_assert_int_eq(identity_find(t, &a, NOW, &got), -1);
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_int_eq(identity_stop_addr(t, &a, NOW), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_str_eq(who(t, "2001:db8:1::1", NOW), "A");
	/* A wider prefix held by someone else is the one that holds it. */
	start(t, "W", 0, "2001:db8::/40", NOW);
	ck_assert_int_eq(identity_find(t, &a, NOW, &got), 0);
	ck_assert_str_eq(got.id, "W");
	ck_assert_int_eq(identity_stop_addr(t, &a, NOW), 0);
	ck_assert_str_eq(who(t, "2001:db8:1::1", NOW), "A");
	ck_assert_str_eq(who(t, "2001:db8:2::1", NOW), "");
	identity_close(t);
}
END_TEST

/* ---- expiry ---- */

START_TEST(test_lookup_misses_from_expiry_before_expire_runs)
{
	struct identity *t = open_table(100, NULL);
	struct identity_session got;

	start(t, "A", NOW + 10, "100.64.0.1,2001:db8::/64", NOW);
	ck_assert_str_eq(who(t, "100.64.0.1", NOW + 9), "A");
	ck_assert_str_eq(who(t, "2001:db8::1", NOW + 9), "A");
	ck_assert_str_eq(who(t, "100.64.0.1", NOW + 10), "");
	ck_assert_str_eq(who(t, "2001:db8::1", NOW + 10), "");
	ck_assert_str_eq(who(t, "100.64.0.1", NOW + 11), "");
	ck_assert_int_eq(identity_get(t, "A", NOW + 10, &got), -1);
	ck_assert_int_eq(identity_get(t, "A", NOW + 9, &got), 0);
	identity_close(t);
}
END_TEST

START_TEST(test_expire_ends_expired_sessions_with_expire_notes)
{
	struct notes ns = { 0 };
	struct identity *t = open_table(100, &ns);
	struct identity_counters c;

	start(t, "A", NOW + 10, "100.64.0.1,2001:db8:1::/56", NOW);
	start(t, "B", NOW + 20, "100.64.0.2", NOW);
	start(t, "N", 0, "100.64.0.3", NOW);
	ns.n = 0;
	ck_assert_uint_eq(identity_expire(t, NOW + 9), 0);
	ck_assert_uint_eq(ns.n, 0);
	ck_assert_uint_eq(identity_expire(t, NOW + 15), 1);
	ck_assert(heard(&ns, IDENTITY_EXPIRE, "A", "100.64.0.1"));
	ck_assert(heard(&ns, IDENTITY_EXPIRE, "A", "2001:db8:1::/56"));
	ck_assert(heard(&ns, IDENTITY_END, "A", "-"));
	ck_assert_uint_eq(ns.n, 3);
	identity_counters(t, &c);
	ck_assert_uint_eq(c.expiries, 1);
	ck_assert_uint_eq(c.sessions, 2);
	/* At the second itself. */
	ck_assert_uint_eq(identity_expire(t, NOW + 20), 1);
	/* Expires 0: never. */
	ck_assert_uint_eq(identity_expire(t, (int64_t)UINT32_MAX + 10), 0);
	ck_assert_str_eq(who(t, "100.64.0.3", (int64_t)UINT32_MAX + 10), "N");
	identity_counters(t, &c);
	ck_assert_uint_eq(c.expiries, 2);
	ck_assert_uint_eq(c.sessions, 1);
	ck_assert_uint_eq(c.v4, 1);
	ck_assert_uint_eq(c.v6, 0);
	identity_close(t);
}
END_TEST

START_TEST(test_start_whose_end_is_not_in_the_future_is_einval)
{
	struct identity *t = open_table(100, NULL);
	struct identity_session s = sess("A", NOW, "100.64.0.1");
	char why[200] = "";

	errno = 0;
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "not in the future"));
	s.expires = NOW - 1;
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	s.expires = (int64_t)UINT32_MAX + 1;
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "2106"));
	ck_assert_str_eq(who(t, "100.64.0.1", NOW - 10), "");
	identity_close(t);
}
END_TEST

/* ---- what is refused ---- */

START_TEST(test_bad_subscriber_ids_are_refused_with_why)
{
	static const struct {
		const char *id;
		const char *why;
	} bad[] = {
		{ "", "empty" },
		{ "a\tb", "0x09 at character 2" },
		{ "a\nb", "0x0a" },
		{ "ab\x7f", "0x7f at character 3" },
		{ " a", "start or end with a space" },
		{ "a ", "start or end with a space" },
		{ "caf\xc3\xa9", "0xc3 at character 4" },
	};
	struct identity *t = open_table(100, NULL);
	char why[200], long_id[IDENTITY_ID_MAX + 2];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct identity_session s = sess("x", 0, "100.64.0.1");

		why[0] = '\0';
		ck_assert_int_eq(identity_id_check(bad[i].id, strlen(bad[i].id),
						   why, sizeof(why)), -1);
		ck_assert_msg(strstr(why, bad[i].why), "%zu: %s", i, why);
		memcpy(s.id, bad[i].id, strlen(bad[i].id) + 1);
		why[0] = '\0';
		errno = 0;
		ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_msg(strstr(why, bad[i].why), "%zu: %s", i, why);
	}
	memset(long_id, 'x', IDENTITY_ID_MAX + 1);
	long_id[IDENTITY_ID_MAX + 1] = '\0';
	ck_assert_int_eq(identity_id_check(long_id, strlen(long_id), why,
					   sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "1 to 128 characters, found 129"));
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "");
	identity_close(t);
}
END_TEST

START_TEST(test_id_of_128_printable_characters_is_taken_whole)
{
	struct identity *t = open_table(100, NULL);
	struct identity_session s, got;
	char id[IDENTITY_ID_MAX + 1], why[200];

	for (int i = 0; i < IDENTITY_ID_MAX; i++)
		id[i] = (char)(0x21 + i % 94);	/* every printable but space */
	memcpy(id + 10, "a \"quoted\" \\ id", 15);
	id[IDENTITY_ID_MAX] = '\0';
	ck_assert_int_eq(identity_id_check(id, strlen(id), why, sizeof(why)), 0);
	s = sess("x", 0, "100.64.0.1");
	memcpy(s.id, id, sizeof(id));
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), 1);
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), id);
	ck_assert_int_eq(identity_get(t, id, NOW, &got), 0);
	ck_assert_str_eq(got.id, id);
	ck_assert_int_eq(identity_stop_id(t, id, NOW), 0);
	identity_close(t);
}
END_TEST

START_TEST(test_address_text_is_checked_and_host_bits_go)
{
	static const char *const bad[] = {
		"100.64.0.0/24", "100.64.0.1/31", "2001:db8::/65",
		"2001:db8::/0", "2001:db8::/", "2001:db8::/x56", "2001:db8::/-1",
		"2001:db8::/+56", "cust-1", "", "100.64.0.256",
		"2001:db8::/56/2",
	};
	struct identity_addr a;
	char why[200], buf[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		ck_assert_msg(identity_addr_parse(bad[i], &a, why, sizeof(why)) ==
			      -1, "%s taken", bad[i]);
		ck_assert_msg(strstr(why, bad[i]), "%s: %s", bad[i], why);
	}
	ck_assert_int_eq(identity_addr_parse("100.64.0.0/24", &a, why,
					     sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "not a prefix"));
	ck_assert_int_eq(identity_addr_parse("2001:db8::/65", &a, why,
					     sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "/1 to /64"));

	a = ia("100.64.0.1/32");
	ck_assert_str_eq(identity_addr_format(&a, buf, sizeof(buf)),
			 "100.64.0.1");
	a = ia("2001:db8:1:1ff:1:2:3:4/56");
	ck_assert_str_eq(identity_addr_format(&a, buf, sizeof(buf)),
			 "2001:db8:1:100::/56");
	a = ia("2001:db8:1:2:3:4:5:6");
	ck_assert_str_eq(identity_addr_format(&a, buf, sizeof(buf)),
			 "2001:db8:1:2::/64");
	a = ia("2001:db8:ffff::/33");
	ck_assert_str_eq(identity_addr_format(&a, buf, sizeof(buf)),
			 "2001:db8:8000::/33");
	a = ia("ffff::/1");
	ck_assert_str_eq(identity_addr_format(&a, buf, sizeof(buf)),
			 "8000::/1");
}
END_TEST

/* identity_start given a struct as it comes (not parsed): the table's
 * own checks. */
START_TEST(test_start_refuses_bad_address_sets)
{
	struct identity *t = open_table(100, NULL);
	struct identity_session s, got;
	struct identity_counters c;
	char why[200];

	s = sess("A", 0, "");
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "needs an address"));

	s = sess("A", 0, "0.0.0.0");
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "0.0.0.0"));

	s = sess("A", 0, "2001:db8:1::/56,2001:db8:2::/56");
	s.nv6 = IDENTITY_V6_MAX + 1;	/* a third, as a count only */
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "at most 2"));

	/* The same /56 twice, once with host bits. */
	s = sess("A", 0, "2001:db8:1::/56");
	s.v6[s.nv6] = s.v6[0];
	s.v6[s.nv6++].a.b[7] = 0x42;
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "twice"));

	s = sess("A", 0, "2001:db8:1::/56");
	s.v6[0].len = 65;
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "/1 to /64"));
	s.v6[0].len = 0;
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);

	/* An IPv4 address where a prefix goes, an IPv6 one for the IPv4. */
	s = sess("A", 0, "2001:db8:1::/56");
	s.v6[0] = ia("100.64.0.1");
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	s = sess("A", 0, "100.64.0.1");
	s.v4 = ia("2001:db8::1");
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "not IPv4"));

	identity_counters(t, &c);
	ck_assert_uint_eq(c.sessions, 0);
	ck_assert_uint_eq(c.starts, 0);

	/* Host bits given to the table go too. */
	s = sess("A", 0, "2001:db8:1::/56");
	s.v6[0].a.b[7] = 0xff;
	s.v6[0].a.b[15] = 0x01;
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), 1);
	ck_assert_str_eq(who(t, "2001:db8:1:0::1", NOW), "A");
	ck_assert_str_eq(who(t, "2001:db8:1:ff::1", NOW), "A");
	ck_assert_int_eq(identity_get(t, "A", NOW, &got), 0);
	ck_assert_uint_eq(got.nv6, 1);
	ck_assert_uint_eq(got.v6[0].len, 56);
	ck_assert_uint_eq(got.v6[0].a.b[7], 0);
	ck_assert_uint_eq(got.v6[0].a.b[15], 0);
	identity_close(t);
}
END_TEST

/* A feed's name goes into the state file as one word: one that would
 * not read back is refused, not written. */
START_TEST(test_start_refuses_a_source_the_state_file_cannot_hold)
{
	static const char *const bad[] = { "my feed", "kea\n", "-", "a\tb",
					   "caf\xc3\xa9" };
	struct identity *t = open_table(100, NULL);
	struct identity_session s, got;
	char why[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = sess("A", 0, "100.64.0.1");
		snprintf(s.source, sizeof(s.source), "%s", bad[i]);
		why[0] = '\0';
		errno = 0;
		ck_assert_msg(identity_start(t, &s, NOW, why, sizeof(why)) == -1,
			      "source \"%s\" taken", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_ptr_nonnull(strstr(why, "feed"));
	}
	s = sess("A", 0, "100.64.0.1");
	snprintf(s.source, sizeof(s.source), "kea-dhcp4.lease_cmds");
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), 1);
	ck_assert_int_eq(identity_get(t, "A", NOW, &got), 0);
	ck_assert_str_eq(got.source, "kea-dhcp4.lease_cmds");
	identity_close(t);
}
END_TEST

/* ---- the bound ---- */

START_TEST(test_full_table_refuses_new_sessions_but_renews)
{
	struct identity *t = open_table(3, NULL);
	struct identity_session s;
	struct identity_counters c;
	char why[200] = "";

	start(t, "A", 0, "100.64.0.1", NOW);
	start(t, "B", 0, "100.64.0.2", NOW);
	start(t, "C", 0, "100.64.0.3", NOW);
	s = sess("D", 0, "100.64.0.4");
	errno = 0;
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_ptr_nonnull(strstr(why, "full"));
	ck_assert_ptr_nonnull(strstr(why, "3 sessions"));
	ck_assert_str_eq(who(t, "100.64.0.4", NOW), "");
	/* A move to a new subscriber is a new session too. */
	s = sess("D", 0, "100.64.0.1");
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), -1);
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "A");
	identity_counters(t, &c);
	ck_assert_uint_eq(c.refused_full, 2);
	ck_assert_uint_eq(c.sessions, 3);
	ck_assert_uint_eq(c.max, 3);
	/* Renewals and changes of those there still work. */
	ck_assert_int_eq(start(t, "A", NOW + 100, "100.64.0.1", NOW), 0);
	ck_assert_int_eq(start(t, "B", 0, "100.64.0.5,2001:db8::/56", NOW), 1);
	/* One out, one in. */
	ck_assert_int_eq(identity_stop_id(t, "C", NOW), 0);
	s = sess("D", 0, "100.64.0.4");
	ck_assert_int_eq(identity_start(t, &s, NOW, why, sizeof(why)), 1);
	ck_assert_str_eq(who(t, "100.64.0.4", NOW), "D");
	/* An expired one still counts until identity_expire ends it. */
	identity_close(t);

	t = open_table(1, NULL);
	start(t, "A", NOW + 10, "100.64.0.1", NOW);
	s = sess("B", 0, "100.64.0.2");
	ck_assert_int_eq(identity_start(t, &s, NOW + 20, why, sizeof(why)), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_uint_eq(identity_expire(t, NOW + 20), 1);
	ck_assert_int_eq(identity_start(t, &s, NOW + 20, why, sizeof(why)), 1);
	identity_close(t);

	errno = 0;
	ck_assert_ptr_null(identity_open(0, 1, NULL, NULL));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(identity_open(IDENTITY_LIMIT + 1, 1, NULL, NULL));
}
END_TEST

/* ---- retirement ---- */

START_TEST(test_stopped_record_is_kept_until_readers_are_past_it)
{
	struct identity *t = open_table(100, NULL);
	struct identity_hit h;
	struct addr src;
	uint64_t reader;
	const char *kept;

	start(t, "cust-A", 0, "100.64.0.1", NOW);
	addr_parse("100.64.0.1", &src);
	/* A reader comes in and finds it... */
	reader = identity_epoch(t);
	ck_assert_int_eq(identity_lookup(t, &src, NOW, &h), 1);
	kept = h.id;
	/* ...then the writer stops it and starts others. */
	ck_assert_int_eq(identity_stop_id(t, "cust-A", NOW), 0);
	start(t, "cust-B", 0, "100.64.0.2", NOW);
	ck_assert_int_eq(memcmp(kept, "cust-A", 6), 0);
	/* The reader is still in its burst: nothing of it may go. */
	identity_reclaim(t, reader);
	start(t, "cust-C", 0, "100.64.0.3", NOW);
	start(t, "cust-D", 0, "100.64.0.1", NOW);
	ck_assert_int_eq(memcmp(kept, "cust-A", 6), 0);
	ck_assert_int_eq(identity_lookup(t, &src, NOW, &h), 1);
	ck_assert_ptr_ne(h.id, kept);
	/* A reader that came in after the stop does not hold it back. */
	identity_reclaim(t, identity_epoch(t));
	start(t, "cust-E", 0, "100.64.0.5", NOW);
	/* The freed name's slot is the next one handed out. */
	ck_assert_int_eq(memcmp(kept, "cust-E", 6), 0);
	ck_assert_str_eq(who(t, "100.64.0.5", NOW), "cust-E");
	ck_assert_str_eq(who(t, "100.64.0.1", NOW), "cust-D");
	identity_close(t);
}
END_TEST

START_TEST(test_reclaim_with_no_reader_frees_everything_retired)
{
	struct identity *t = open_table(100, NULL);
	struct identity_hit h;
	struct addr src;
	const char *kept;

	start(t, "cust-A", 0, "100.64.0.1", NOW);
	addr_parse("100.64.0.1", &src);
	ck_assert_int_eq(identity_lookup(t, &src, NOW, &h), 1);
	kept = h.id;
	ck_assert_int_eq(identity_stop_id(t, "cust-A", NOW), 0);
	identity_reclaim(t, UINT64_MAX);
	start(t, "cust-Z", 0, "100.64.0.9", NOW);
	ck_assert_int_eq(memcmp(kept, "cust-Z", 6), 0);
	identity_close(t);
}
END_TEST

static void v4_of(unsigned i, char *buf, size_t size)
{
	snprintf(buf, size, "100.%u.%u.%u", 64 + (i >> 16), (i >> 8) & 0xff,
		 i & 0xff);
}

static void v6_of(unsigned i, char *buf, size_t size)
{
	snprintf(buf, size, "2001:db8:%x:%x00::/56", i >> 8, i & 0xff);
}

START_TEST(test_indexes_grow_and_100k_sessions_are_all_found)
{
	const unsigned N = tests_under_valgrind() ? 10000 : 100000;
	struct identity *t = open_table(N, NULL);
	struct identity_counters c;
	char id[32], a4[32], a6[64], addrs[128];

	for (unsigned i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "cust-%07u", i);
		v4_of(i, a4, sizeof(a4));
		v6_of(i, a6, sizeof(a6));
		snprintf(addrs, sizeof(addrs), "%s,%s", a4, a6);
		ck_assert_int_eq(start(t, id, 0, addrs, NOW), 1);
	}
	identity_counters(t, &c);
	ck_assert_uint_eq(c.sessions, N);
	ck_assert_uint_eq(c.v4, N);
	ck_assert_uint_eq(c.v6, N);
	/* Records alone are 32 bytes; every session's share of all of it
	 * (indexes at most 70% full, ids, retired indexes) stays small. */
	ck_assert_uint_ge(c.memory, (size_t)N * 32);
	/* ... past the fixed cost of the first chunks (a huge page each). */
	ck_assert_uint_le(c.memory, (size_t)N * 160 + (8u << 20));
	for (unsigned i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "cust-%07u", i);
		v4_of(i, a4, sizeof(a4));
		ck_assert_str_eq(who(t, a4, NOW), id);
		snprintf(a6, sizeof(a6), "2001:db8:%x:%x42::1", i >> 8, i & 0xff);
		ck_assert_str_eq(who(t, a6, NOW), id);
	}
	/* Every other one out; the rest still there, the others gone. */
	for (unsigned i = 0; i < N; i += 2) {
		snprintf(id, sizeof(id), "cust-%07u", i);
		ck_assert_int_eq(identity_stop_id(t, id, NOW), 0);
	}
	identity_reclaim(t, UINT64_MAX);
	identity_counters(t, &c);
	ck_assert_uint_eq(c.sessions, N / 2);
	/* ... past the fixed cost of the first chunks (a huge page each). */
	ck_assert_uint_le(c.memory, (size_t)N * 160 + (8u << 20));
	for (unsigned i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "cust-%07u", i);
		v4_of(i, a4, sizeof(a4));
		ck_assert_str_eq(who(t, a4, NOW), i % 2 ? id : "");
	}
	/* Churn through freed records and tombstones. */
	for (unsigned i = 0; i < N; i += 2) {
		snprintf(id, sizeof(id), "new-%07u", i);
		v4_of(i, a4, sizeof(a4));
		ck_assert_int_eq(start(t, id, 0, a4, NOW), 1);
	}
	for (unsigned i = 0; i < N; i++) {
		snprintf(id, sizeof(id), i % 2 ? "cust-%07u" : "new-%07u", i);
		v4_of(i, a4, sizeof(a4));
		ck_assert_str_eq(who(t, a4, NOW), id);
	}
	identity_close(t);
}
END_TEST

/* ---- readers racing the writer ---- */

#define RACE_ADDRS 256
#define RACE_OPS 200000
#define RACE_READERS 2
#define RACE_SECONDS 3.0

struct race {
	struct identity *t;
	_Atomic uint64_t epoch[RACE_READERS];	/* UINT64_MAX: not in a burst */
	atomic_bool done;
	struct addr src[3 * RACE_ADDRS];	/* IPv4, in a /48, in a /49 */
	_Atomic unsigned long hits, lookups, wrong;
	char bad[160];
	unsigned id;
};

struct racer {
	struct race *r;
	unsigned k;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *race_reader(void *arg)
{
	struct racer *me = arg;
	struct race *r = me->r;
	uint64_t x = 0x9e3779b97f4a7c15ULL * (me->k + 1);
	unsigned long hits = 0, lookups = 0;

	while (!atomic_load(&r->done)) {
		uint64_t e;

		/* Publish, then make sure the epoch did not move meanwhile:
		 * the writer then either sees this epoch or retired nothing
		 * this burst can reach. */
		do {
			e = identity_epoch(r->t);
			atomic_store(&r->epoch[me->k], e);
		} while (identity_epoch(r->t) != e);
		for (int b = 0; b < 32; b++) {
			struct identity_hit h;
			unsigned i;
			char want[32];

			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			i = (unsigned)((x * 0x2545f4914f6cdd1dULL) >> 33) %
			    (3 * RACE_ADDRS);
			identity_prefetch(r->t, &r->src[i]);
			lookups++;
			if (!identity_lookup(r->t, &r->src[i], NOW, &h))
				continue;
			hits++;
			snprintf(want, sizeof(want), "sub-%u-", i % RACE_ADDRS);
			if (h.len < strlen(want) ||
			    memcmp(h.id, want, strlen(want)) ||
			    h.key != identity_id_key(r->t, h.id, h.len)) {
				if (atomic_fetch_add(&r->wrong, 1) == 0)
					snprintf(r->bad, sizeof(r->bad),
						 "address %u: %.*s", i, h.len,
						 h.id);
			}
		}
		atomic_store(&r->epoch[me->k], UINT64_MAX);
	}
	atomic_fetch_add(&r->hits, hits);
	atomic_fetch_add(&r->lookups, lookups);
	return NULL;
}

static uint64_t race_oldest(struct race *r)
{
	uint64_t m = UINT64_MAX;

	for (int k = 0; k < RACE_READERS; k++) {
		uint64_t e = atomic_load(&r->epoch[k]);

		if (e < m)
			m = e;
	}
	return m;
}

/* The writer: starts (moves among them), renewals, stops by id and by
 * address, on a small set of addresses, so that records, names and
 * indexes (tombstones force rebuilds) are retired and reused all along. */
static unsigned race_write(struct race *r, double until)
{
	uint64_t x = 88172645463325252ULL;
	unsigned ops;
	char why[200];

	for (ops = 0; ops < RACE_OPS; ops++) {
		unsigned k, op;
		char id[48], a4[32], a6[64], a49[64];

		if ((ops & 63) == 0 && mono() > until)
			break;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = (unsigned)(x >> 8) % RACE_ADDRS;
		op = (unsigned)(x >> 40) % 10;
		v4_of(k, a4, sizeof(a4));
		snprintf(a6, sizeof(a6), "2001:db8:%x::/48", k);
		snprintf(a49, sizeof(a49), "2001:db8:%x:8000::/49", k);
		if (op < 6) {
			/* A new subscriber for address k: the old one's
			 * session moves (one in two sessions is dual-stack,
			 * one in four IPv6 only). */
			struct identity_session s;

			snprintf(id, sizeof(id), "sub-%u-%u", k, r->id++);
			s = sess(id, 0, op < 3 ? a4 : op < 5 ? "" : a6);
			if (op >= 3 && op < 5) {
				s = sess(id, 0, a4);
				s.v6[s.nv6++] = ia(a6);
			}
			ck_assert_int_ge(identity_start(r->t, &s, NOW, why,
							sizeof(why)), 0);
		} else if (op == 6) {
			struct identity_addr a = ia(a4);
			struct identity_session s;

			if (identity_find(r->t, &a, NOW, &s) == 0)
				ck_assert_int_eq(identity_stop_id(r->t, s.id,
								  NOW), 0);
		} else if (op == 7) {
			/* The holder of k's IPv4 address swaps its prefix
			 * between k's /48 and k's /49 (or renews): a record's
			 * prefix changes in place under the readers. */
			struct identity_addr a = ia(a4);
			struct identity_session s;

			if (identity_find(r->t, &a, NOW, &s) == 0) {
				if (s.nv6 == 1)
					s.v6[0] = ia(s.v6[0].len == 48 ? a49 : a6);
				ck_assert_int_ge(identity_start(r->t, &s, NOW,
								why,
								sizeof(why)), 0);
			}
		} else {
			struct identity_addr a = ia(op == 8 ? a4 : a6);

			identity_stop_addr(r->t, &a, NOW);
		}
		if ((ops & 15) == 0)
			identity_reclaim(r->t, race_oldest(r));
	}
	return ops;
}

START_TEST(test_readers_racing_the_writer_see_only_ids_that_held_the_address)
{
	static struct race r;
	struct racer rs[RACE_READERS];
	pthread_t th[RACE_READERS];
	struct identity_counters c;
	unsigned ops;

	memset(&r, 0, sizeof(r));
	r.t = open_table(RACE_ADDRS * 3, NULL);
	for (unsigned i = 0; i < RACE_ADDRS; i++) {
		char buf[64];

		v4_of(i, buf, sizeof(buf));
		addr_parse(buf, &r.src[i]);
		snprintf(buf, sizeof(buf), "2001:db8:%x:%x::1", i, i & 0xff);
		addr_parse(buf, &r.src[RACE_ADDRS + i]);
		snprintf(buf, sizeof(buf), "2001:db8:%x:8001::1", i);
		addr_parse(buf, &r.src[2 * RACE_ADDRS + i]);
	}
	for (int k = 0; k < RACE_READERS; k++) {
		atomic_store(&r.epoch[k], UINT64_MAX);
		rs[k].r = &r;
		rs[k].k = (unsigned)k;
		ck_assert_int_eq(pthread_create(&th[k], NULL, race_reader,
						&rs[k]), 0);
	}
	ops = race_write(&r, mono() + (tests_under_valgrind() ? 1.0 :
						  RACE_SECONDS));
	atomic_store(&r.done, true);
	for (int k = 0; k < RACE_READERS; k++)
		pthread_join(th[k], NULL);
	identity_reclaim(r.t, UINT64_MAX);
	identity_counters(r.t, &c);
	ck_assert_msg(atomic_load(&r.wrong) == 0, "%lu wrong hits, first %s",
		      atomic_load(&r.wrong), r.bad);
	ck_assert_uint_gt(ops, tests_under_valgrind() ? 50 : 1000);
	ck_assert_uint_gt(atomic_load(&r.lookups), 1000);
	ck_assert_uint_gt(atomic_load(&r.hits), 0);
	ck_assert_uint_le(c.sessions, RACE_ADDRS * 3);
	/* The mix of writes is random; under valgrind too few run to be
	 * sure of each kind (what matters there is memory). */
	if (!tests_under_valgrind()) {
		ck_assert_uint_gt(c.moves, 0);
		ck_assert_uint_gt(c.stops, 0);
	}
	fprintf(stderr, "identity race: %u writer ops, %lu look-ups, %lu hits, "
		"%" PRIu64 " starts, %" PRIu64 " changes, %" PRIu64 " stops\n", ops,
		atomic_load(&r.lookups), atomic_load(&r.hits), c.starts,
		c.moves, c.stops);
	identity_close(r.t);
}
END_TEST

/* ---- the state file ---- */

struct list {
	unsigned n;
	char line[64][400];
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "id|source|expires|addresses sorted" */
static int list_one(void *arg, const struct identity_session *s)
{
	struct list *l = arg;
	char a[1 + IDENTITY_V6_MAX][64];
	const char *ap[1 + IDENTITY_V6_MAX];
	unsigned n = 0;
	size_t len;

	ck_assert_uint_lt(l->n, 64);
	if (s->has_v4)
		identity_addr_format(&s->v4, a[n++], sizeof(a[0]));
	for (unsigned i = 0; i < s->nv6; i++)
		identity_addr_format(&s->v6[i], a[n++], sizeof(a[0]));
	for (unsigned i = 0; i < n; i++)
		ap[i] = a[i];
	qsort(ap, n, sizeof(ap[0]), cmp_str);
	len = (size_t)snprintf(l->line[l->n], sizeof(l->line[0]), "%s|%s|%lld|",
			       s->id, s->source, (long long)s->expires);
	for (unsigned i = 0; i < n; i++)
		len += (size_t)snprintf(l->line[l->n] + len,
					sizeof(l->line[0]) - len, "%s ", ap[i]);
	l->n++;
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Every live session at now, one line each, sorted. */
static void list_of(const struct identity *t, int64_t now, struct list *l)
{
	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(identity_each(t, now, list_one, l), 0);
	qsort(l->line, l->n, sizeof(l->line[0]), cmp_line);
}

static void lists_equal(const struct list *a, const struct list *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (unsigned i = 0; i < a->n; i++)
		ck_assert_str_eq(a->line[i], b->line[i]);
}

struct sdir {
	struct tests_dir d;
	char snap[256], journal[256];
};

static void sdir_open(struct sdir *s)
{
	tests_dir_open(&s->d, "identity");
	snprintf(s->snap, sizeof(s->snap), "%s/sessions", s->d.path);
	snprintf(s->journal, sizeof(s->journal), "%s/sessions.journal",
		 s->d.path);
}

static struct identity_state *state_open(struct identity *t,
					 const struct sdir *s, int64_t now,
					 size_t *skipped)
{
	char why[300] = "";
	size_t sk;
	struct identity_state *st = identity_state_open(t, s->snap, now,
							skipped ? skipped : &sk,
							why, sizeof(why));

	ck_assert_msg(st != NULL, "state open: %s", why);
	return st;
}

/* start and write it to the journal, as the daemon does. */
static void start_put(struct identity *t, struct identity_state *st,
		      const char *id, const char *source, int64_t expires,
		      const char *addrs)
{
	struct identity_session s = sess(id, expires, addrs);
	char why[200];

	snprintf(s.source, sizeof(s.source), "%s", source);
	ck_assert_msg(identity_start(t, &s, NOW, why, sizeof(why)) >= 0, "%s",
		      why);
	identity_state_put(st, &s);
}

static void file_append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void file_copy(const char *from, const char *to)
{
	size_t len;
	char *text = tests_slurp(from, &len);
	FILE *f = fopen(to, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	free(text);
}

START_TEST(test_state_of_missing_files_is_an_empty_table)
{
	struct sdir s;
	struct identity *t = open_table(100, NULL);
	struct identity_state *st;
	struct identity_counters c;
	size_t skipped = 9;

	sdir_open(&s);
	st = state_open(t, &s, NOW, &skipped);
	ck_assert_uint_eq(skipped, 0);
	identity_counters(t, &c);
	ck_assert_uint_eq(c.sessions, 0);
	ck_assert_uint_eq(identity_state_journal_lines(st), 0);
	identity_state_close(st);
	/* No session, no file: the journal comes with its first line. */
	ck_assert_int_eq(access(s.journal, F_OK), -1);
	identity_close(t);
	tests_dir_close(&s.d);
}
END_TEST

/* A state folder that is not there (yet): the sessions are held, the
 * journal is written once the folder is made, and reads back. */
START_TEST(test_state_folder_made_later_gets_the_journal)
{
	struct sdir s, sub;
	struct identity *t = open_table(100, NULL), *t2;
	struct identity_state *st;
	char dir[300];

	sdir_open(&s);
	snprintf(dir, sizeof(dir), "%s/later", s.d.path);
	sub = s;
	snprintf(sub.snap, sizeof(sub.snap), "%.200s/sessions", dir);
	snprintf(sub.journal, sizeof(sub.journal), "%.200s/sessions.journal",
		 dir);
	st = state_open(t, &sub, NOW, NULL);
	ck_assert_int_eq(identity_state_error(st), 0);
	start_put(t, st, "A", "kea", 0, "100.64.0.1");
	ck_assert_int_eq(identity_state_flush(st), -1);
	ck_assert_int_eq(identity_state_error(st), ENOENT);
	ck_assert_int_eq(mkdir(dir, 0750), 0);
	start_put(t, st, "B", "kea", 0, "100.64.0.2");
	ck_assert_int_eq(identity_state_flush(st), 0);
	ck_assert_int_eq(identity_state_error(st), 0);
	identity_state_close(st);
	t2 = open_table(100, NULL);
	st = state_open(t2, &sub, NOW, NULL);
	ck_assert_str_eq(who(t2, "100.64.0.1", NOW), "A");
	ck_assert_str_eq(who(t2, "100.64.0.2", NOW), "B");
	identity_state_close(st);
	identity_close(t2);
	identity_close(t);
	ck_assert_int_eq(unlink(sub.journal), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	tests_dir_close(&s.d);
}
END_TEST

/* The table the first state writes: A (dual-stack, two prefixes, one
 * taken away), B (stopped), C (IPv6 only), an id with spaces, quotes,
 * a backslash and a comma, one that expires. */
static void fill(struct identity *t, struct identity_state *st)
{
	struct identity_addr a;

	start_put(t, st, "A", "kea", 0,
		  "100.64.0.1,2001:db8:1:100::/56,2001:db8:2::/64");
	start_put(t, st, "B", "-radius", NOW + 3600, "100.64.0.2");
	start_put(t, st, "C", "", 0, "2001:db8:3::/48");
	start_put(t, st, "ACME Corp \"east\", site \\2", "crm", 0,
		  "100.64.0.4");
	start_put(t, st, "E", "kea", NOW + 100, "100.64.0.5");
	/* A renewal and a move are lines too. */
	start_put(t, st, "E", "kea", NOW + 200, "100.64.0.5");
	start_put(t, st, "F", "kea", 0, "100.64.0.6");
	start_put(t, st, "G", "kea", 0, "100.64.0.6,2001:db8:7::/56");
	ck_assert_int_eq(identity_stop_id(t, "B", NOW), 0);
	identity_state_del(st, "B");
	a = ia("2001:db8:2::/64");
	ck_assert_int_eq(identity_stop_addr(t, &a, NOW), 0);
	identity_state_del_addr(st, &a);
}

START_TEST(test_state_reopened_holds_the_same_sessions)
{
	struct sdir s;
	struct identity *t = open_table(100, NULL), *t2;
	struct identity_state *st;
	struct list want, got;
	size_t skipped = 9;

	sdir_open(&s);
	st = state_open(t, &s, NOW, NULL);
	fill(t, st);
	ck_assert_uint_eq(identity_state_journal_lines(st), 10);
	ck_assert_int_eq(identity_state_flush(st), 0);
	identity_state_close(st);
	list_of(t, NOW, &want);
	ck_assert_uint_eq(want.n, 5);

	t2 = open_table(100, NULL);
	st = state_open(t2, &s, NOW, &skipped);
	ck_assert_uint_eq(skipped, 0);
	list_of(t2, NOW, &got);
	lists_equal(&want, &got);
	ck_assert_str_eq(who(t2, "100.64.0.4", NOW),
			 "ACME Corp \"east\", site \\2");
	ck_assert_str_eq(who(t2, "100.64.0.6", NOW), "G");
	ck_assert_str_eq(who(t2, "2001:db8:2::1", NOW), "");
	identity_state_close(st);
	identity_close(t2);
	identity_close(t);
	tests_dir_close(&s.d);
}
END_TEST

START_TEST(test_state_skips_sessions_expired_at_load)
{
	struct sdir s;
	struct identity *t = open_table(100, NULL), *t2;
	struct identity_state *st;
	struct identity_session got;

	sdir_open(&s);
	st = state_open(t, &s, NOW, NULL);
	start_put(t, st, "soon", "", NOW + 10, "100.64.0.1");
	start_put(t, st, "later", "", NOW + 1000, "100.64.0.2");
	start_put(t, st, "never", "", 0, "100.64.0.3");
	identity_state_close(st);

	t2 = open_table(100, NULL);
	st = state_open(t2, &s, NOW + 10, NULL);
	ck_assert_int_eq(identity_get(t2, "soon", NOW + 10, &got), -1);
	ck_assert_int_eq(identity_get(t2, "later", NOW + 10, &got), 0);
	ck_assert_int_eq(identity_get(t2, "never", NOW + 10, &got), 0);
	/* Also from a snapshot. */
	ck_assert_int_eq(identity_state_compact(st, NOW + 10), 0);
	identity_state_close(st);
	identity_close(t2);
	t2 = open_table(100, NULL);
	st = state_open(t2, &s, NOW + 1000, NULL);
	ck_assert_int_eq(identity_get(t2, "later", NOW + 1000, &got), -1);
	ck_assert_int_eq(identity_get(t2, "never", NOW + 1000, &got), 0);
	identity_state_close(st);
	identity_close(t2);
	identity_close(t);
	tests_dir_close(&s.d);
}
END_TEST

/* A line expired at load still happened: the addresses it took from
 * others stay taken, and the subscriber's older line (no expiry, or a
 * later one) does not come back. */
START_TEST(test_state_expired_line_still_ends_what_it_replaced)
{
	struct sdir s;
	struct identity *t = open_table(100, NULL), *t2;
	struct identity_state *st;
	struct identity_session got;

	sdir_open(&s);
	st = state_open(t, &s, NOW, NULL);
	start_put(t, st, "B", "", 0, "100.64.0.1");
	start_put(t, st, "A", "", NOW + 10, "100.64.0.1");
	start_put(t, st, "C", "", 0, "100.64.0.3");
	start_put(t, st, "C", "", NOW + 10, "100.64.0.3");
	identity_state_close(st);
	identity_expire(t, NOW + 10);
	ck_assert_str_eq(who(t, "100.64.0.1", NOW + 10), "");
	ck_assert_str_eq(who(t, "100.64.0.3", NOW + 10), "");

	t2 = open_table(100, NULL);
	st = state_open(t2, &s, NOW + 10, NULL);
	ck_assert_str_eq(who(t2, "100.64.0.1", NOW + 10), "");
	ck_assert_int_eq(identity_get(t2, "B", NOW + 10, &got), -1);
	ck_assert_str_eq(who(t2, "100.64.0.3", NOW + 10), "");
	ck_assert_int_eq(identity_get(t2, "C", NOW + 10, &got), -1);
	identity_state_close(st);
	identity_close(t2);
	identity_close(t);
	tests_dir_close(&s.d);
}
END_TEST

/* What a replay retires is freed as it goes (no reader yet): a journal
 * of more ended sessions than the table has spare records for still
 * loads the live ones after them. */
START_TEST(test_state_replay_of_many_ended_sessions_keeps_the_live_ones)
{
	struct sdir s;
	struct identity *t = open_table(10, NULL), *t2;
	struct identity_state *st;
	struct identity_session got;
	FILE *f;

	sdir_open(&s);
	st = state_open(t, &s, NOW, NULL);
	identity_state_close(st);
	identity_close(t);
	f = fopen(s.journal, "a");
	ck_assert_ptr_nonnull(f);
	/* Ended by a stop (odd) or expired since (even). */
	for (unsigned i = 0; i < 140000; i++) {
		fprintf(f, "S %lld - 100.64.%u.%u e-%u\n", i % 2 ? 0 : NOW + 5,
			1 + i % 200, 1 + i / 200 % 250, i);
		if (i % 2)
			fprintf(f, "X e-%u\n", i);
	}
	fprintf(f, "S 0 - 100.64.250.1 live\n");
	ck_assert_int_eq(fclose(f), 0);
	t2 = open_table(10, NULL);
	st = state_open(t2, &s, NOW + 10, NULL);
	ck_assert_int_eq(identity_get(t2, "live", NOW + 10, &got), 0);
	identity_state_close(st);
	identity_close(t2);
	tests_dir_close(&s.d);
}
END_TEST

START_TEST(test_state_journal_line_cut_short_is_skipped)
{
	struct sdir s;
	struct identity *t = open_table(100, NULL), *t2;
	struct identity_state *st;
	struct list want, got;
	size_t skipped = 0;

	sdir_open(&s);
	st = state_open(t, &s, NOW, NULL);
	fill(t, st);
	identity_state_close(st);
	list_of(t, NOW, &want);
	/* A crash in the middle of a line. */
	file_append(s.journal, "S 0 kea 100.64.9.9 cut-sho");

	t2 = open_table(100, NULL);
	st = state_open(t2, &s, NOW, &skipped);
	ck_assert_uint_eq(skipped, 1);
	list_of(t2, NOW, &got);
	lists_equal(&want, &got);
	ck_assert_str_eq(who(t2, "100.64.9.9", NOW), "");
	identity_state_close(st);
	identity_close(t2);
	identity_close(t);
	tests_dir_close(&s.d);
}
END_TEST

/* After the restart that skipped a cut line, the next line written must
 * not be glued to it: the restart after that reads every session and no
 * other. */
START_TEST(test_state_line_after_a_cut_one_reads_back)
{
	struct sdir s;
	struct identity *t = open_table(100, NULL), *t2, *t3;
	struct identity_state *st;
	struct list want, got;
	size_t skipped = 0;
	char why[300] = "";

	sdir_open(&s);
	st = state_open(t, &s, NOW, NULL);
	start_put(t, st, "A", "kea", 0, "100.64.0.1");
	identity_state_close(st);
	file_append(s.journal, "S 0 kea 100.64.9.9 cut-sho");

	t2 = open_table(100, NULL);
	st = state_open(t2, &s, NOW, &skipped);
	ck_assert_uint_eq(skipped, 1);
	start_put(t2, st, "B", "kea", 0, "100.64.0.2");
	identity_state_close(st);
	list_of(t2, NOW, &want);
	ck_assert_uint_eq(want.n, 2);

	t3 = open_table(100, NULL);
	st = identity_state_open(t3, s.snap, NOW, &skipped, why, sizeof(why));
	ck_assert_msg(st != NULL, "%s", why);
	ck_assert_uint_eq(skipped, 0);
	list_of(t3, NOW, &got);
	lists_equal(&want, &got);
	ck_assert_str_eq(who(t3, "100.64.9.9", NOW), "");
	identity_state_close(st);
	identity_close(t3);

	/* The same when the cut line is the header itself. */
	ck_assert_int_eq(truncate(s.journal, 0), 0);
	unlink(s.snap);
	file_append(s.journal, "# portcullis sess");
	t3 = open_table(100, NULL);
	st = state_open(t3, &s, NOW, &skipped);
	ck_assert_uint_eq(skipped, 1);
	start_put(t3, st, "C", "kea", 0, "100.64.0.3");
	identity_state_close(st);
	identity_close(t3);
	t3 = open_table(100, NULL);
	st = state_open(t3, &s, NOW, &skipped);
	ck_assert_uint_eq(skipped, 0);
	ck_assert_str_eq(who(t3, "100.64.0.3", NOW), "C");
	identity_state_close(st);
	identity_close(t3);

	identity_close(t2);
	identity_close(t);
	tests_dir_close(&s.d);
}
END_TEST

START_TEST(test_state_malformed_line_names_file_and_line)
{
	static const char *const bad[] = {
		"Q what\n",
		"S 0 - 100.64.0.2\n",
		"S x - 100.64.0.2 B\n",
		"S -5 - 100.64.0.2 B\n",
		"S 0 - 100.64.0.0/24 B\n",
		"S 0 - 2001:db8::/56,2001:db8:1::/56,2001:db8:2::/56 B\n",
		"X\n",
		"A 100.64.0.300\n",
	};
	struct sdir s;

	sdir_open(&s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct identity *t = open_table(100, NULL);
		char text[512], want[300], why[300] = "";
		size_t skipped;

		snprintf(text, sizeof(text),
			 "# portcullis sessions 1 generation 1\n"
			 "S 0 - 100.64.0.1 A\n%s", bad[i]);
		tests_dir_put(&s.d, "sessions", text);
		errno = 0;
		ck_assert_ptr_null(identity_state_open(t, s.snap, NOW, &skipped,
						       why, sizeof(why)));
		ck_assert_int_eq(errno, EINVAL);
		snprintf(want, sizeof(want), "%s:3: ", s.snap);
		ck_assert_msg(strstr(why, want) == why, "%zu: %s", i, why);
		identity_close(t);
	}
	/* A snapshot is written whole: its last line cut is an error. */
	{
		struct identity *t = open_table(100, NULL);
		char why[300] = "";
		size_t skipped;

		tests_dir_put(&s.d, "sessions",
			      "# portcullis sessions 1 generation 1\n"
			      "S 0 - 100.64.0.1 A");
		ck_assert_ptr_null(identity_state_open(t, s.snap, NOW, &skipped,
						       why, sizeof(why)));
		ck_assert_ptr_nonnull(strstr(why, ":2: "));
		identity_close(t);
	}
	tests_dir_close(&s.d);
}
END_TEST

START_TEST(test_state_compact_folds_the_journal_into_the_snapshot)
{
	struct sdir s;
	struct identity *t = open_table(100, NULL), *t2;
	struct identity_state *st;
	struct list want, got;
	char *text;
	size_t len;

	sdir_open(&s);
	st = state_open(t, &s, NOW, NULL);
	fill(t, st);
	list_of(t, NOW, &want);
	ck_assert_int_eq(identity_state_compact(st, NOW), 0);
	ck_assert_uint_eq(identity_state_journal_lines(st), 0);
	text = tests_slurp(s.snap, &len);
	ck_assert_uint_eq(tests_count(text, "\nS "), want.n);
	ck_assert_ptr_nonnull(strstr(text, "generation 1\n"));
	ck_assert_ptr_nonnull(strstr(text,
				     " ACME Corp \"east\", site \\2\n"));
	free(text);
	text = tests_slurp(s.journal, &len);
	ck_assert_str_eq(text, "# portcullis sessions 1 generation 1\n");
	free(text);
	/* Changes after it go to the journal again. */
	start_put(t, st, "H", "", 0, "100.64.0.8");
	identity_state_del(st, "C");
	ck_assert_int_eq(identity_stop_id(t, "C", NOW), 0);
	identity_state_close(st);
	list_of(t, NOW, &want);

	t2 = open_table(100, NULL);
	st = state_open(t2, &s, NOW, NULL);
	list_of(t2, NOW, &got);
	lists_equal(&want, &got);
	/* A second compaction, a new generation. */
	ck_assert_int_eq(identity_state_compact(st, NOW), 0);
	identity_state_close(st);
	text = tests_slurp(s.journal, &len);
	ck_assert_str_eq(text, "# portcullis sessions 1 generation 2\n");
	free(text);
	identity_close(t2);
	t2 = open_table(100, NULL);
	st = state_open(t2, &s, NOW, NULL);
	list_of(t2, NOW, &got);
	lists_equal(&want, &got);
	identity_state_close(st);
	identity_close(t2);
	identity_close(t);
	tests_dir_close(&s.d);
}
END_TEST

/* A crash between the snapshot's rename and the journal's truncation
 * leaves the old journal: its lines are in the snapshot already. */
START_TEST(test_state_stale_journal_is_not_replayed)
{
	struct sdir s;
	struct identity *t = open_table(100, NULL), *t2;
	struct identity_state *st;
	struct list want, got;
	char old[300], *text;
	size_t len;

	sdir_open(&s);
	snprintf(old, sizeof(old), "%s/old", s.d.path);
	st = state_open(t, &s, NOW, NULL);
	fill(t, st);
	ck_assert_int_eq(identity_state_flush(st), 0);
	file_copy(s.journal, old);
	ck_assert_int_eq(identity_state_compact(st, NOW), 0);
	identity_state_close(st);
	list_of(t, NOW, &want);
	/* The old journal back, with a line that shows if it is read. */
	file_copy(old, s.journal);
	file_append(s.journal, "S 0 - 100.64.7.7 ghost\nX A\n");

	t2 = open_table(100, NULL);
	st = state_open(t2, &s, NOW, NULL);
	list_of(t2, NOW, &got);
	lists_equal(&want, &got);
	ck_assert_str_eq(who(t2, "100.64.7.7", NOW), "");
	identity_state_close(st);
	/* ...and it is emptied, under the snapshot's generation. */
	text = tests_slurp(s.journal, &len);
	ck_assert_str_eq(text, "# portcullis sessions 1 generation 1\n");
	free(text);
	identity_close(t2);
	identity_close(t);
	tests_dir_close(&s.d);
}
END_TEST

START_TEST(test_state_files_are_0640_and_symlinks_are_not_followed)
{
	struct sdir s;
	struct identity *t = open_table(100, NULL);
	struct identity_state *st;
	struct stat sb;
	char target[300], why[300];
	size_t skipped;

	umask(022);
	sdir_open(&s);
	st = state_open(t, &s, NOW, NULL);
	start_put(t, st, "A", "", 0, "100.64.0.1");
	ck_assert_int_eq(identity_state_compact(st, NOW), 0);
	identity_state_close(st);
	ck_assert_int_eq(stat(s.snap, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0640);
	ck_assert_int_eq(stat(s.journal, &sb), 0);
	ck_assert_uint_eq(sb.st_mode & 07777, 0640);
	identity_close(t);

	/* A symlink where the snapshot goes. */
	snprintf(target, sizeof(target), "%s/target", s.d.path);
	ck_assert_int_eq(rename(s.snap, target), 0);
	ck_assert_int_eq(symlink(target, s.snap), 0);
	t = open_table(100, NULL);
	why[0] = '\0';
	ck_assert_ptr_null(identity_state_open(t, s.snap, NOW, &skipped, why,
					       sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, s.snap));
	identity_close(t);
	ck_assert_int_eq(unlink(s.snap), 0);
	ck_assert_int_eq(rename(target, s.snap), 0);

	/* A symlink where the journal goes. */
	ck_assert_int_eq(rename(s.journal, target), 0);
	ck_assert_int_eq(symlink(target, s.journal), 0);
	t = open_table(100, NULL);
	why[0] = '\0';
	ck_assert_ptr_null(identity_state_open(t, s.snap, NOW, &skipped, why,
					       sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, s.journal));
	ck_assert_int_eq(lstat(target, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	identity_close(t);
	tests_dir_close(&s.d);
}
END_TEST

Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *tl = tcase_create("lookup");
	TCase *tw = tcase_create("writer");
	TCase *tc = tcase_create("check");
	TCase *tr = tcase_create("retire");
	TCase *ts = tcase_create("state");

	tcase_add_test(tl, test_ipv4_address_looks_up_its_subscriber);
	tcase_add_test(tl, test_lookup_many_answers_as_lookup_does);
	tcase_add_test(tl, test_ipv6_longest_prefix_wins_a_64_inside_a_56);
	tcase_add_test(tl, test_nested_finds_another_subscribers_prefix_inside);
	tcase_add_test(tl, test_ipv4_source_without_sessions_is_no_hit);
	tcase_add_test(tl, test_ipv4_mapped_source_is_the_ipv4_address);
	suite_add_tcase(s, tl);

	tcase_add_test(tw, test_renewal_returns_0_and_notes_nothing);
	tcase_add_test(tw, test_start_with_other_addresses_stops_the_old_ones);
	tcase_add_test(tw, test_start_for_a_held_address_moves_it_and_ends_the_other);
	tcase_add_test(tw, test_moved_address_leaves_the_other_its_ipv6_prefix);
	tcase_add_test(tw, test_stop_by_id_ends_the_session);
	tcase_add_test(tw, test_stop_by_address_takes_only_that_address);
	tcase_add_test(tw, test_stop_of_what_nobody_holds_is_enoent);
	tcase_add_test(tw, test_stop_of_a_wider_prefix_does_not_take_a_narrower_one);
	tcase_add_test(tw, test_lookup_misses_from_expiry_before_expire_runs);
	tcase_add_test(tw, test_expire_ends_expired_sessions_with_expire_notes);
	tcase_add_test(tw, test_start_whose_end_is_not_in_the_future_is_einval);
	suite_add_tcase(s, tw);

	tcase_add_test(tc, test_bad_subscriber_ids_are_refused_with_why);
	tcase_add_test(tc, test_id_of_128_printable_characters_is_taken_whole);
	tcase_add_test(tc, test_address_text_is_checked_and_host_bits_go);
	tcase_add_test(tc, test_start_refuses_bad_address_sets);
	tcase_add_test(tc, test_start_refuses_a_source_the_state_file_cannot_hold);
	tcase_add_test(tc, test_full_table_refuses_new_sessions_but_renews);
	suite_add_tcase(s, tc);

	tcase_add_test(tr, test_stopped_record_is_kept_until_readers_are_past_it);
	tcase_add_test(tr, test_reclaim_with_no_reader_frees_everything_retired);
	tcase_add_test(tr, test_indexes_grow_and_100k_sessions_are_all_found);
	tcase_add_test(tr, test_readers_racing_the_writer_see_only_ids_that_held_the_address);
	suite_add_tcase(s, tr);

	tcase_add_test(ts, test_state_of_missing_files_is_an_empty_table);
	tcase_add_test(ts, test_state_folder_made_later_gets_the_journal);
	tcase_add_test(ts, test_state_reopened_holds_the_same_sessions);
	tcase_add_test(ts, test_state_skips_sessions_expired_at_load);
	tcase_add_test(ts, test_state_expired_line_still_ends_what_it_replaced);
	tcase_add_test(ts, test_state_replay_of_many_ended_sessions_keeps_the_live_ones);
	tcase_add_test(ts, test_state_journal_line_cut_short_is_skipped);
	tcase_add_test(ts, test_state_line_after_a_cut_one_reads_back);
	tcase_add_test(ts, test_state_malformed_line_names_file_and_line);
	tcase_add_test(ts, test_state_compact_folds_the_journal_into_the_snapshot);
	tcase_add_test(ts, test_state_stale_journal_is_not_replayed);
	tcase_add_test(ts, test_state_files_are_0640_and_symlinks_are_not_followed);
	suite_add_tcase(s, ts);
	return s;
}
