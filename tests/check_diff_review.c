// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy_diff's ranges against brute force: random pairs of small
 * policies, and for many addresses (every boundary and its neighbours)
 * the change the diff reports there is the change the two policies'
 * lookups give, on every named port and on another; no range is
 * spurious, none overlaps another of its port, and every run of equal
 * changes is written as the fewest prefixes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "tests/helpers.h"
#include "tests/suites.h"

Suite *diff_review_suite(void);

typedef unsigned __int128 u128;

#define NOW 1796000000		/* 2026-11-30 */
#define MAXR 20000
#define MAPPED_LO (((u128)0xffff) << 32)

static const int port_pool[] = { 25, 80, 587 };
static const char *const act[] = { "accept", "drop", "reject" };

struct range {
	u128 lo, hi;
	int port, old, new_;
	char why[1024];
};

struct got {
	size_t n;
	struct range r[MAXR];
};

static u128 a2u(const struct addr *a)
{
	u128 v = 0;

	for (unsigned i = 0; i < 16; i++)
		v = v << 8 | a->b[i];
	return v;
}

static void u2a(u128 v, struct addr *a)
{
	for (int i = 15; i >= 0; i--) {
		a->b[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void parse_prefix(const char *s, u128 *lo, u128 *hi)
{
	char buf[64];
	char *slash;
	struct addr a;
	unsigned len;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	ck_assert_msg(slash, "no length: %s", s);
	*slash = '\0';
	len = (unsigned)atoi(slash + 1);
	ck_assert_msg(!addr_parse(buf, &a), "bad address: %s", s);
	if (addr_is_v4(&a)) {
		ck_assert_uint_le(len, 32);
		len += 96;
	}
	ck_assert_uint_le(len, 128);
	*lo = a2u(&a);
	*hi = *lo | (len ? (((u128)1 << (128 - len)) - 1) : ~(u128)0);
	ck_assert_msg((*lo & (*hi - *lo)) == 0, "unaligned: %s", s);
}

static int collect(void *ctx, const struct policy_diff_item *it)
{
	struct got *g = ctx;
	struct range *r;

	if (it->kind != POLICY_DIFF_RANGE)
		return 0;
	ck_assert_uint_lt(g->n, MAXR);
	r = &g->r[g->n++];
	parse_prefix(it->name, &r->lo, &r->hi);
	r->port = it->port;
	r->old = it->old_action;
	r->new_ = it->new_action;
	ck_assert_int_ne(r->old, r->new_);
	memcpy(r->why, it->why, sizeof(r->why));
	return 0;
}

/* ---- random policies ---------------------------------------------------- */

struct entry {
	char prefix[64];
	int profile;
	int expired;			/* 0 none, 1 past, 2 future */
};

struct pol {
	int nprof;
	int prof_port[3][3];		/* -1: not listed, else action */
	int prof_def[3];		/* -1: none */
	bool monitor;
	struct entry e[64];
	int ne;
};

static unsigned rnd(unsigned n)
{
	return (unsigned)random() % n;
}

static bool has_prefix(const struct pol *p, const char *s)
{
	for (int i = 0; i < p->ne; i++)
		if (!strcmp(p->e[i].prefix, s))
			return true;
	return false;
}

static void random_prefix(char *buf, size_t len)
{
	struct addr a;
	unsigned l, k = rnd(20);
	u128 v;

	if (k == 0) {
		snprintf(buf, len, "%s", rnd(2) ? "0.0.0.0/0" : "::/0");
		return;
	}
	if (k == 1) {
		snprintf(buf, len, "%s", rnd(2) ? "255.255.255.255/32" :
			 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
		return;
	}
	if (k == 2) {
		snprintf(buf, len, "%s", rnd(2) ? "0.0.0.0/32" :
			 "255.255.255.0/24");
		return;
	}
	if (k < 11) {
		/* inside 100.64.0.0/16 */
		uint32_t x = 0x64400000u | (uint32_t)rnd(65536);

		l = 16 + rnd(17);
		if (rnd(3) == 0)
			l = 30 + rnd(3);
		x &= l ? ~0u << (32 - l) : 0;
		snprintf(buf, len, "%u.%u.%u.%u/%u", x >> 24, (x >> 16) & 255,
			 (x >> 8) & 255, x & 255, l);
		return;
	}
	/* inside 2001:db8::/32, a few bits here and there */
	v = (u128)0x20010db8u << 96;
	v |= (u128)rnd(256) << 88;
	v |= (u128)rnd(4) << 62;
	v |= (u128)rnd(4);
	l = 32 + rnd(97);
	if (rnd(3) == 0)
		l = 32 + 8 * rnd(4);
	if (rnd(4) == 0)
		l = 126 + rnd(3);
	if (l < 128)
		v &= ~((((u128)1) << (128 - l)) - 1);
	u2a(v, &a);
	addr_format(&a, buf, len - 8);
	snprintf(buf + strlen(buf), 8, "/%u", l);
}

static void random_profiles(struct pol *p)
{
	p->nprof = 1 + (int)rnd(3);
	for (int i = 0; i < 3; i++) {
		p->prof_def[i] = rnd(2) ? -1 : (int)rnd(3);
		for (int j = 0; j < 3; j++)
			p->prof_port[i][j] = rnd(3) ? (int)rnd(3) : -1;
	}
}

static void add_random_entry(struct pol *p)
{
	struct entry *e;

	if (p->ne >= 64)
		return;
	e = &p->e[p->ne];
	do
		random_prefix(e->prefix, sizeof(e->prefix));
	while (has_prefix(p, e->prefix));
	e->profile = (int)rnd((unsigned)p->nprof);
	e->expired = rnd(5) ? 0 : 1 + (int)rnd(2);
	p->ne++;
}

static void random_policy(struct pol *p, int n)
{
	memset(p, 0, sizeof(*p));
	random_profiles(p);
	p->monitor = rnd(4) == 0;
	for (int i = 0; i < n; i++)
		add_random_entry(p);
}

/* b from a: some entries dropped, added, repointed, profiles redrawn. */
static void mutate(const struct pol *a, struct pol *b)
{
	*b = *a;
	if (rnd(3) == 0) {
		random_profiles(b);
		if (b->nprof < a->nprof)
			b->nprof = a->nprof;
	} else if (rnd(2)) {
		int i = (int)rnd(3);

		b->prof_port[i][rnd(3)] = rnd(3) ? (int)rnd(3) : -1;
		if (rnd(2))
			b->prof_def[i] = rnd(2) ? -1 : (int)rnd(3);
	}
	b->ne = 0;
	for (int i = 0; i < a->ne; i++) {
		if (rnd(6) == 0)
			continue;
		b->e[b->ne] = a->e[i];
		if (rnd(6) == 0)
			b->e[b->ne].profile = (int)rnd((unsigned)b->nprof);
		if (rnd(8) == 0)
			b->e[b->ne].expired = (int)rnd(3);
		b->ne++;
	}
	for (unsigned k = rnd(5); k; k--)
		add_random_entry(b);
}

static char *render(const struct pol *p)
{
	static char buf[16384];
	size_t o = 0;

#define OUT(...) (o += (size_t)snprintf(buf + o, sizeof(buf) - o, __VA_ARGS__))
	OUT("version: 1\nmode: %s\nprofiles:\n",
	    p->monitor ? "monitor" : "enforce");
	for (int i = 0; i < p->nprof; i++) {
		int n = 0;

		OUT("  p%d: { ports: {", i);
		for (int j = 0; j < 3; j++)
			if (p->prof_port[i][j] >= 0)
				OUT("%s %d: %s", n++ ? "," : "", port_pool[j],
				    act[p->prof_port[i][j]]);
		OUT(" }");
		if (p->prof_def[i] >= 0)
			OUT(", default: %s", act[p->prof_def[i]]);
		OUT(" }\n");
	}
	if (!p->ne) {
		OUT("subscribers: []\n");
		return buf;
	}
	OUT("subscribers:\n");
	for (int i = 0; i < p->ne; i++) {
		OUT("  - { prefix: \"%s\", profile: p%d", p->e[i].prefix,
		    p->e[i].profile);
		if (p->e[i].expired == 1)
			OUT(", expires: 2020-01-01T00:00:00Z");
		else if (p->e[i].expired == 2)
			OUT(", expires: 2030-01-01T00:00:00Z");
		OUT(" }\n");
	}
#undef OUT
	return buf;
}

static struct policy *load(const char *name, const char *yaml)
{
	struct policy_errors errs = { 0 };
	struct policy *p = policy_load_buffer(name, "/tmp", yaml, strlen(yaml),
					      &errs);

	ck_assert_msg(p, "%s: %s\n%s", name, errs.count ? errs.msg[0] : "?",
		      yaml);
	policy_errors_free(&errs);
	return p;
}

/* ---- brute force -------------------------------------------------------- */

static int action_at(const struct policy *p, u128 v, int port)
{
	struct addr a;
	struct policy_entry_info info;
	int32_t id;

	u2a(v, &a);
	id = policy_lookup(p, &a, NOW);
	if (id < 0)
		return POLICY_ACCEPT;
	ck_assert_int_eq(policy_entry_info(p, id, &info), 0);
	return (int)policy_profile_action(p, info.profile_id,
					  port < 0 ? 9 : (uint16_t)port, NULL);
}

static int cmp_range(const void *x, const void *y)
{
	const struct range *a = x, *b = y;

	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* The fewest prefixes covering [lo, hi]. */
static unsigned cover(u128 lo, u128 hi)
{
	unsigned n = 0;

	for (;;) {
		unsigned k = 0;

		while (k < 128 && !(lo & ((u128)1 << k)) &&
		       lo + (((u128)1 << (k + 1)) - 1) <= hi &&
		       lo + (((u128)1 << (k + 1)) - 1) >= lo)
			k++;
		n++;
		if (k == 128 || lo + (((u128)1 << k) - 1) == hi)
			return n;
		lo += (u128)1 << k;
	}
}

static u128 samples[200000];

static void check_pair(const char *ya, const char *yb, struct got *g)
{
	struct policy *pa = load("old.yaml", ya), *pb = load("new.yaml", yb);
	const struct policy *both[2] = { pa, pb };
	size_t ns = 0;
	long n;
	int ports[] = { 25, 80, 587, -1 };
	bool named[4] = { false, false, false, true };

	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < policy_profile_count(both[k]); i++) {
			uint16_t pp[16];
			unsigned m = policy_profile_ports(both[k], (int)i, pp,
							  16);

			for (unsigned j = 0; j < m; j++)
				for (int q = 0; q < 3; q++)
					named[q] |= pp[j] == ports[q];
		}

	g->n = 0;
	n = policy_diff(pa, pb, NOW, collect, g);
	ck_assert_int_ge(n, (long)g->n);
	qsort(g->r, g->n, sizeof(g->r[0]), cmp_range);

	/* No overlap for a port; runs written as the fewest prefixes. */
	for (size_t i = 0; i + 1 < g->n; i++) {
		const struct range *x = &g->r[i], *y = &g->r[i + 1];

		if (x->port != y->port)
			continue;
		ck_assert_msg(x->hi < y->lo, "overlap on port %d", x->port);
	}
	for (size_t i = 0; i < g->n;) {
		size_t j = i + 1;

		while (j < g->n && g->r[j].port == g->r[i].port &&
		       g->r[j - 1].hi + 1 == g->r[j].lo &&
		       g->r[j].old == g->r[i].old &&
		       g->r[j].new_ == g->r[i].new_ &&
		       !strcmp(g->r[j].why, g->r[i].why))
			j++;
		ck_assert_msg(cover(g->r[i].lo, g->r[j - 1].hi) == j - i,
			      "run of %zu prefixes could be %u (port %d, %s)\n"
			      "%s\n---\n%s", j - i,
			      cover(g->r[i].lo, g->r[j - 1].hi), g->r[i].port,
			      g->r[i].why, ya, yb);
		i = j;
	}

	/* The addresses to ask. */
#define SAMPLE(v) do { if (ns < sizeof(samples) / sizeof(samples[0])) \
		samples[ns++] = (v); } while (0)
	SAMPLE(0);
	SAMPLE(1);
	SAMPLE(~(u128)0);
	SAMPLE(~(u128)0 - 1);
	SAMPLE(MAPPED_LO - 1);
	SAMPLE(MAPPED_LO);
	SAMPLE(MAPPED_LO + 1);
	SAMPLE(MAPPED_LO | 0xffffffffu);
	SAMPLE((MAPPED_LO | 0xffffffffu) + 1);
	for (size_t i = 0; i < g->n; i++) {
		u128 span = g->r[i].hi - g->r[i].lo;

		SAMPLE(g->r[i].lo - 1);
		SAMPLE(g->r[i].lo);
		SAMPLE(g->r[i].hi);
		SAMPLE(g->r[i].hi + 1);
		if (span > 2)
			SAMPLE(g->r[i].lo + 1 + ((u128)random() << 64 |
						 (u128)random()) % (span - 1));
	}
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < policy_entry_count(both[k], 0); i++) {
			struct addr a;
			unsigned len;
			u128 lo, hi;

			ck_assert_int_eq(policy_entry_prefix(both[k],
							     (int32_t)i,
							     &a, &len), 0);
			if (addr_is_v4(&a))
				len += 96;
			lo = a2u(&a);
			hi = lo | (len ? (((u128)1 << (128 - len)) - 1) :
				   ~(u128)0);
			SAMPLE(lo - 1);
			SAMPLE(lo);
			SAMPLE(lo + 1);
			SAMPLE(hi - 1);
			SAMPLE(hi);
			SAMPLE(hi + 1);
			SAMPLE(lo + ((u128)random() << 64 | (u128)random()) %
			       (hi - lo + 1 ? hi - lo + 1 : ~(u128)0));
		}
	for (int i = 0; i < 300; i++) {
		SAMPLE(MAPPED_LO | 0x64400000u | (u128)rnd(65536));
		SAMPLE((u128)0x20010db8u << 96 | (u128)rnd(256) << 88 |
		       (u128)rnd(4) << 62 | (u128)rnd(8));
	}
#undef SAMPLE

	for (size_t s = 0; s < ns; s++) {
		u128 v = samples[s];

		for (unsigned pi = 0; pi < 4; pi++) {
			int port = ports[pi];
			int x = action_at(pa, v, port), y = action_at(pb, v, port);
			int rport = named[pi] ? port : -1;
			const struct range *hit = NULL;
			struct addr a;
			char text[64];

			for (size_t i = 0; i < g->n; i++)
				if (g->r[i].port == rport && g->r[i].lo <= v &&
				    v <= g->r[i].hi) {
					ck_assert_msg(!hit, "two ranges");
					hit = &g->r[i];
				}
			u2a(v, &a);
			addr_format(&a, text, sizeof(text));
			if (x == y) {
				ck_assert_msg(!hit, "%s port %d: spurious "
					      "%d → %d (%s)\n%s\n---\n%s",
					      text, port, hit ? hit->old : 0,
					      hit ? hit->new_ : 0,
					      hit ? hit->why : "", ya, yb);
				continue;
			}
			ck_assert_msg(hit, "%s port %d: %d → %d not reported"
				      "\n%s\n---\n%s", text, port, x, y, ya,
				      yb);
			ck_assert_msg(hit->old == x && hit->new_ == y,
				      "%s port %d: reported %d → %d, is %d → %d",
				      text, port, hit->old, hit->new_, x, y);
		}
	}
	policy_free(pa);
	policy_free(pb);
}

static struct got g;

START_TEST(test_random_pairs_match_brute_force)
{
	/* Under valgrind the first loop's first six: its point there is
	 * memory, not volume (all of them take minutes there). */
	int rounds = tests_under_valgrind() ? (_i ? 0 : 6) : 15;

	srandom(12345u + (unsigned)_i);
	for (int round = 0; round < rounds; round++) {
		static struct pol a, b;
		static char ya[16384];

		random_policy(&a, (int)rnd(30));
		if (round % 10 == 0)
			b = a;
		else if (round % 7 == 0)
			random_policy(&b, (int)rnd(30));
		else
			mutate(&a, &b);
		snprintf(ya, sizeof(ya), "%s", render(&a));
		check_pair(ya, render(&b), &g);
	}
}
END_TEST

START_TEST(test_identical_and_empty)
{
	static const char e[] = "version: 1\nprofiles:\n"
		"  p0: { ports: { 25: reject }, default: drop }\n"
		"subscribers: []\n";
	static const char all[] = "version: 1\nprofiles:\n"
		"  p0: { ports: { 25: reject }, default: drop }\n"
		"subscribers:\n"
		"  - { prefix: 0.0.0.0/0, profile: p0 }\n"
		"  - { prefix: \"::/0\", profile: p0 }\n"
		"  - { prefix: 255.255.255.255/32, profile: p0 }\n"
		"  - { prefix: \"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128\","
		" profile: p0 }\n";

	check_pair(e, e, &g);
	ck_assert_uint_eq(g.n, 0);
	check_pair(all, all, &g);
	ck_assert_uint_eq(g.n, 0);
	check_pair(e, all, &g);
	check_pair(all, e, &g);
}
END_TEST

/* Only ::/0 in the new policy: IPv4 sources are no subscriber's still. */
START_TEST(test_v6_default_route_leaves_v4_alone)
{
	static const char e[] = "version: 1\nprofiles:\n"
		"  p0: { ports: { 25: reject } }\n"
		"subscribers: []\n";
	static const char v6[] = "version: 1\nprofiles:\n"
		"  p0: { ports: { 25: reject } }\n"
		"subscribers:\n"
		"  - { prefix: \"::/0\", profile: p0 }\n";

	check_pair(e, v6, &g);
	for (size_t i = 0; i < g.n; i++)
		ck_assert_msg(!(g.r[i].lo <= (MAPPED_LO | 0x64400001u) &&
				(MAPPED_LO | 0x64400001u) <= g.r[i].hi),
			      "an IPv4 address in a range of ::/0");
}
END_TEST

static int first_lines(void *ctx, const struct policy_diff_item *it)
{
	char line[2048];

	policy_diff_format(it, line, sizeof(line));
	ck_assert_msg(!strchr(line, '\n') && !strchr(line, '\r'),
		      "a change on more than one line: %s", line);
	(*(int *)ctx)++;
	return 0;
}

/* One line per change, whatever bytes a note or a file name brought. */
START_TEST(test_text_is_one_line_per_change)
{
	static const char a[] = "version: 1\nprofiles:\n"
		"  r: { ports: { 25: reject } }\n"
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/24, profile: r, "
		"note: \"ACME\\nentry 1.2.3.4/32: added\" }\n"
		"  - { prefix: 100.64.1.0/24, profile: r }\n";
	static const char b[] = "version: 1\nprofiles:\n"
		"  r: { ports: { 25: reject } }\n"
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/24, profile: r, note: \"x\\r\" }\n";
	struct policy *pa = load("old\nfake.yaml", a), *pb = load("new.yaml", b);
	int n = 0;

	ck_assert_int_ge(policy_diff(pa, pb, NOW, first_lines, &n), 2);
	ck_assert_int_ge(n, 2);
	policy_free(pa);
	policy_free(pb);
}
END_TEST

Suite *diff_review_suite(void)
{
	Suite *s = suite_create("diff_review");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_random_pairs_match_brute_force, 0, 4);
	tcase_add_test(tc, test_identical_and_empty);
	tcase_add_test(tc, test_v6_default_route_leaves_v4_alone);
	tcase_add_test(tc, test_text_is_one_line_per_change);
	suite_add_tcase(s, tc);
	return s;
}
