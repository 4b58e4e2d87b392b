// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy/ruleset.c: the kernel fallback it describes, run here by a small
 * simulator of netlink/rules' C-FB chains, judges every closed port as
 * policy_decide() does, now and as entries expire (fixed and random
 * policies); the entries it leaves out; element timeouts; the union of
 * two rulesets and policy_ruleset_equal().
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/rfc3339.h"
#include "policy/ruleset.h"
#include "policy/policy.h"
#include "tests/helpers.h"
#include "tests/suites.h"

#define NOW 1800000000		/* 2027-01-15T08:00:00Z */
#define DST "203.0.113.9"
#define MAXPORTS 64

typedef unsigned __int128 u128;

/* ck_assert() for the hot loops: Check records every assertion that
 * passes, which would cost millions of writes here. */
#define must(cond)							\
	do {								\
		if (!(cond))						\
			ck_abort_msg("Assertion '%s' failed", #cond);	\
	} while (0)

/* ---- the kernel fallback, simulated ---- */

/* Whether element x holds a (IPv4 mapped as the policy stores it). */
static bool elem_holds(const struct rules_elem *x, const struct addr *a)
{
	bool v4 = addr_is_v4(a);
	const uint8_t *b = v4 ? a->b + 12 : a->b;
	unsigned full = x->len / 8u, rest = x->len % 8u;

	if (x->v6 == v4 || x->len > (x->v6 ? 128 : 32))
		return false;
	if (memcmp(x->addr, b, full))
		return false;
	return !rest ||
	       !((x->addr[full] ^ b[full]) & (0xff00u >> rest) & 0xffu);
}

/* An element is in its set until now + timeout (0: for good). */
static bool elem_alive(const struct rules_desc *d, const struct rules_elem *x,
		       int64_t t)
{
	return !x->timeout || t < d->now + (int64_t)x->timeout;
}

static const char *elem_text(const struct rules_elem *x, char *buf,
			     size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(x->v6 ? AF_INET6 : AF_INET, x->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, x->len);
	return buf;
}

/*
 * C-FBC: the entry whose set decides src at t (sets from the deepest
 * depth to 0, the first holding it), or -1 when none holds it. Two sets
 * of that depth and different profiles holding it would make the
 * kernel's answer depend on rule order: that fails the test.
 */
static int fb_entry(const struct rules_desc *d, const struct addr *src,
		    int64_t t)
{
	int best = -1;

	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];

		must(e->profile < d->nprofiles);
		if (!elem_alive(d, &e->e, t) || !elem_holds(&e->e, src))
			continue;
		if (best < 0 || e->depth > d->entries[best].depth)
			best = (int)i;
	}
	for (size_t i = 0; best >= 0 && i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];
		char x[80], y[80];

		if (e->depth != d->entries[best].depth ||
		    e->profile == d->entries[best].profile ||
		    !elem_alive(d, &e->e, t) || !elem_holds(&e->e, src))
			continue;
		ck_abort_msg("%s and %s both hold the source at depth %u",
			     elem_text(&e->e, x, sizeof(x)),
			     elem_text(&d->entries[best].e, y, sizeof(y)),
			     e->depth);
	}
	return best;
}

static bool is_relay(const struct rules_desc *d, const struct addr *dst)
{
	char buf[64];
	const char *s = addr_format(dst, buf, sizeof(buf));
	bool v4 = addr_is_v4(dst);
	const char *const *r = v4 ? d->relays4 : d->relays6;
	size_t n = v4 ? d->nrelays4 : d->nrelays6;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(r[i], s))
			return true;
	return false;
}

/* Index of port in d->ports, or -1. */
static int port_index(const struct rules_desc *d, uint16_t port)
{
	for (size_t i = 0; i < d->nports; i++)
		if (d->ports[i].port == port)
			return (int)i;
	return -1;
}

/* What the fallback chains do with a SYN of flow f at t. */
static enum rules_action fb_action(const struct rules_desc *d,
				   const struct policy_flow *f, int64_t t,
				   int *entry)
{
	int i = port_index(d, f->dport), k;

	*entry = -1;
	if (is_relay(d, &f->dst) || d->monitor)
		return RULES_ACCEPT;
	if (i < 0 && !d->all_ports)
		return RULES_ACCEPT;	/* not queued: never reaches it */
	k = *entry = fb_entry(d, &f->src, t);
	if (k < 0)
		return RULES_ACCEPT;	/* no live subscriber */
	return i >= 0 ? d->profiles[d->entries[k].profile].action[i]
		      : d->profiles[d->entries[k].profile].other;
}

/* The ports the fallback judges: every named one, and with all_ports
 * one the description does not name. Returns their number. */
static size_t closed_ports(const struct rules_desc *d, uint16_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nports; i++) {
		must(n < MAXPORTS);
		out[n++] = d->ports[i].port;
	}
	if (d->all_ports) {
		uint16_t other = 1;

		while (port_index(d, other) >= 0)
			other++;
		must(n < MAXPORTS);
		out[n++] = other;
	}
	return n;
}

/* ---- the property: fallback and policy agree ---- */

static struct policy_flow flow_of(const struct addr *src, uint16_t port)
{
	struct policy_flow f = { .src = *src, .dport = port };

	must(addr_parse(DST, &f.dst) == 0);
	return f;
}

/* A quarantined subscriber's SYN: the fallback's C-QP chain (d's
 * quarantine) answers as policy_decide(..., quarantined) does. */
static void agree_quarantined(const struct policy *p,
			      const struct rules_desc *d,
			      const struct policy_flow *f, int64_t t)
{
	struct policy_decision dec;
	int i = port_index(d, f->dport);
	enum rules_action got = i >= 0 ? d->quarantine->action[i] :
					 d->quarantine->other;

	policy_decide(p, f, t, true, &dec);
	ck_assert_msg(got == (enum rules_action)dec.action,
		      "quarantined, port %u: the fallback says %s, the "
		      "policy %s", f->dport,
		      policy_action_name((enum policy_action)got),
		      policy_action_name(dec.action));
}

/* At t, the fallback judges src's SYNs to every closed port as the
 * policy does. */
static void agree_at(const struct policy *p, const struct rules_desc *d,
		     const struct addr *src, int64_t t)
{
	uint16_t ports[MAXPORTS];
	size_t n = closed_ports(d, ports);

	if (t < d->now || t >= d->now + RULES_TIMEOUT_MAX)
		return;	/* cut elements are refilled before they end */
	for (size_t i = 0; i < n; i++) {
		struct policy_flow f = flow_of(src, ports[i]);
		struct policy_decision dec;
		struct policy_entry_info info = { .prefix = "none" };
		char a[64], e[80] = "none";
		int k;
		enum rules_action got = fb_action(d, &f, t, &k);

		policy_decide(p, &f, t, false, &dec);
		if (d->quarantine && dec.entry >= 0)
			agree_quarantined(p, d, &f, t);
		if (got == (enum rules_action)dec.action)
			continue;
		if (dec.entry >= 0)
			policy_entry_info(p, dec.entry, &info);
		if (k >= 0)
			elem_text(&d->entries[k].e, e, sizeof(e));
		ck_abort_msg("%s port %u at now%+lld: the fallback says %s "
			     "(element %s of %zu), the policy %s (entry %s)",
			     addr_format(src, a, sizeof(a)), ports[i],
			     (long long)(t - d->now),
			     policy_action_name((enum policy_action)got), e,
			     d->nentries, policy_action_name(dec.action),
			     info.prefix);
	}
}

/* A policy entry's prefix as an element, to test what it holds. */
static struct rules_elem entry_elem(const struct policy *p, int32_t id)
{
	struct rules_elem x = { 0 };
	struct addr a;
	unsigned len;

	must(policy_entry_prefix(p, id, &a, &len) == 0);
	x.v6 = !addr_is_v4(&a);
	memcpy(x.addr, x.v6 ? a.b : a.b + 12, x.v6 ? 16 : 4);
	x.len = (uint8_t)len;
	return x;
}

/* src agrees now, and a second before, at and after every end of a
 * policy entry or kernel element that holds it. */
static void agree(const struct policy *p, const struct rules_desc *d,
		  const struct addr *src)
{
	size_t total = policy_entry_count(p, AF_INET) +
		       policy_entry_count(p, AF_INET6);

	agree_at(p, d, src, d->now);
	for (size_t id = 0; id < total; id++) {
		struct policy_entry_info info;
		struct rules_elem x = entry_elem(p, (int32_t)id);

		must(policy_entry_info(p, (int32_t)id, &info) == 0);
		if (!info.expires || !elem_holds(&x, src))
			continue;
		for (int64_t dt = -1; dt <= 1; dt++)
			agree_at(p, d, src, info.expires + dt);
	}
	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_elem *x = &d->entries[i].e;

		if (!x->timeout || !elem_holds(x, src))
			continue;
		for (int64_t dt = -1; dt <= 1; dt++)
			agree_at(p, d, src, d->now + x->timeout + dt);
	}
}

/* ---- addresses ---- */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static u128 rnd128(void)
{
	return (u128)rnd() << 64 | rnd();
}

static u128 addr_get(const struct addr *a)
{
	u128 v = 0;

	for (int i = 0; i < 16; i++)
		v = v << 8 | a->b[i];
	return v;
}

static struct addr addr_put(u128 v)
{
	struct addr a;

	for (int i = 15; i >= 0; i--, v >>= 8)
		a.b[i] = (uint8_t)v;
	return a;
}

static struct addr v4_addr(uint32_t v)
{
	struct addr a;

	addr_from_v4(&a, v);
	return a;
}

static u128 host_mask(unsigned bits)
{
	return bits >= 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
}

/* An address of entry id's prefix or next to it: its first, its last,
 * the one before, the one after, or one inside (kind 0 .. 4). */
static struct addr near_entry(const struct policy *p, int32_t id,
			      unsigned kind)
{
	struct addr a;
	unsigned len;
	bool v4;
	u128 first, hm;

	must(policy_entry_prefix(p, id, &a, &len) == 0);
	v4 = addr_is_v4(&a);
	hm = host_mask((v4 ? 32 : 128) - len);
	first = addr_get(&a) & ~hm;
	if (v4) {
		uint32_t f = (uint32_t)first, h = (uint32_t)hm;

		switch (kind) {
		case 0: return v4_addr(f);
		case 1: return v4_addr(f | h);
		case 2: return v4_addr(f - 1);
		case 3: return v4_addr((f | h) + 1);
		default: return v4_addr(f | ((uint32_t)rnd() & h));
		}
	}
	switch (kind) {
	case 0: return addr_put(first);
	case 1: return addr_put(first | hm);
	case 2: return addr_put(first - 1);
	case 3: return addr_put((first | hm) + 1);
	default: return addr_put(first | (rnd128() & hm));
	}
}

/* Every entry's edges and one inside, and a few addresses nowhere near. */
static void agree_everywhere(const struct policy *p, const struct rules_desc *d)
{
	size_t total = policy_entry_count(p, AF_INET) +
		       policy_entry_count(p, AF_INET6);
	static const char *const others[] = {
		"192.0.2.77", "198.51.100.1", "0.0.0.0", "255.255.255.255",
		"2001:db8:ffff::1", "fe80::1", "::", "::ffff:100.64.0.20",
	};

	for (size_t id = 0; id < total; id++)
		for (unsigned kind = 0; kind < 5; kind++) {
			struct addr a = near_entry(p, (int32_t)id, kind);

			agree(p, d, &a);
		}
	for (size_t i = 0; i < sizeof(others) / sizeof(*others); i++) {
		struct addr a;

		ck_assert_int_eq(addr_parse(others[i], &a), 0);
		agree(p, d, &a);
	}
}

/* ---- policies ---- */

static int64_t at(const char *rfc3339)
{
	int64_t t;

	ck_assert_int_eq(rfc3339_parse(rfc3339, &t), 0);
	return t;
}

/* The fallback entry of prefix text s, or NULL. */
static const struct rules_entry *find(const struct rules_desc *d,
				      const char *s)
{
	char buf[80];

	for (size_t i = 0; i < d->nentries; i++)
		if (!strcmp(elem_text(&d->entries[i].e, buf, sizeof(buf)), s))
			return &d->entries[i];
	return NULL;
}

static const struct rules_entry *must_find(const struct rules_desc *d,
					   const char *s)
{
	const struct rules_entry *e = find(d, s);

	ck_assert_msg(e != NULL, "no fallback element %s", s);
	return e;
}

static const char *profile_of(const struct rules_desc *d,
			      const struct rules_entry *e)
{
	return d->profiles[e->profile].name;
}

static enum rules_action fb_at(const struct rules_desc *d, const char *src,
			       uint16_t port, int64_t t)
{
	struct addr a;
	struct policy_flow f = { 0 };
	int k;

	ck_assert_int_eq(addr_parse(src, &a), 0);
	f = flow_of(&a, port);
	return fb_action(d, &f, t, &k);
}

/* ---- 1. fixed policies ---- */

START_TEST(test_example_policy_fallback_judges_port_25_as_the_policy)
{
	/* Nine days before ACME's exception ends, so its expiry is seen. */
	int64_t now = at("2027-02-20T00:00:00Z");
	/* The policy shipped as the example, with its business.list. */
	struct policy *p = tests_policy_file("examples/policy.yaml", NULL, 0);
	struct policy_ruleset rs;
	const struct rules_entry *e;

	ck_assert_int_eq(policy_ruleset_build(&rs, p, 2, now), 0);
	agree_everywhere(p, &rs.desc);

	ck_assert(!rs.desc.monitor);
	ck_assert(!rs.desc.all_ports);
	ck_assert_ptr_nonnull(rs.desc.quarantine);
	ck_assert_str_eq(rs.desc.quarantine->name, "quarantine");
	/* Every live entry differs from the one around it; the bakery's
	 * ended last June. */
	ck_assert_uint_eq(rs.desc.nentries, 12);
	ck_assert_ptr_null(find(&rs.desc, "100.64.0.32/28"));
	e = must_find(&rs.desc, "100.64.0.16/28");
	ck_assert_uint_eq(e->depth, 1);
	ck_assert_str_eq(profile_of(&rs.desc, e), "business");
	ck_assert_uint_eq(e->e.timeout, at("2027-03-01T00:00:00Z") - now);
	e = must_find(&rs.desc, "100.64.0.0/10");
	ck_assert_uint_eq(e->depth, 0);
	ck_assert_uint_eq(e->e.timeout, 0);
	ck_assert_uint_eq(must_find(&rs.desc, "2001:db8:1020::/48")->depth, 1);
	ck_assert_uint_eq(must_find(&rs.desc, "100.100.7.0/24")->depth, 1);

	ck_assert_int_eq(fb_at(&rs.desc, "100.64.3.7", 25, now), RULES_REJECT);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.3.7", 587, now), RULES_ACCEPT);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.0.20", 25, now), RULES_ACCEPT);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.0.20", 25,
			       at("2027-03-01T00:00:00Z")), RULES_REJECT);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.0.40", 25, now), RULES_REJECT);
	ck_assert_int_eq(fb_at(&rs.desc, "2001:db8:1000:4401::9", 25, now),
			 RULES_ACCEPT);
	ck_assert_int_eq(fb_at(&rs.desc, "2001:db8:2::1", 25, now),
			 RULES_ACCEPT);
	{
		struct addr src;
		struct policy_flow fl = { 0 };
		int k;

		ck_assert_int_eq(addr_parse("100.64.3.7", &src), 0);
		fl = flow_of(&src, 25);
		ck_assert_int_eq(addr_parse("192.0.2.25", &fl.dst), 0);
		ck_assert_int_eq(fb_action(&rs.desc, &fl, now, &k),
				 RULES_ACCEPT);
	}
	policy_ruleset_free(&rs);
	policy_free(p);
}
END_TEST

static char *nested_yaml(const char *mode)
{
	char *s;

	ck_assert_int_ge(asprintf(&s,
		"version: 1\n"
		"mode: %s\n"
		"profiles:\n"
		"  res: { ports: { 25: reject, 587: accept } }\n"
		"  biz: { ports: { 25: accept } }\n"
		"  biz2: { ports: { 25: accept, 587: accept } }\n"
		"  hold: { ports: { 25: drop } }\n"
		"subscribers:\n"
		"  - { prefix: 10.0.0.0/8, profile: res }\n"
		"  - { prefix: 10.1.0.0/16, profile: biz, expires: %s }\n"
		"  - { prefix: 10.1.2.0/24, profile: res, expires: %s }\n"
		"  - { prefix: 10.1.2.128/25, profile: biz, expires: %s }\n"
		"  - { prefix: 10.1.3.0/24, profile: biz2, expires: %s }\n"
		"  - { prefix: 10.1.4.0/24, profile: biz, expires: %s }\n"
		"  - { prefix: 10.1.4.64/26, profile: biz, expires: %s }\n"
		"  - { prefix: 10.2.0.0/16, profile: res }\n"
		"  - { prefix: 10.2.5.0/24, profile: biz, expires: %s }\n"
		"  - { prefix: 10.2.5.7/32, profile: res }\n"
		"  - { prefix: 10.3.0.0/16, profile: hold, expires: %s }\n"
		"  - { prefix: 10.3.0.0/24, profile: res, expires: %s }\n"
		"  - { prefix: 10.3.0.0/28, profile: hold }\n"
		"  - { prefix: 2001:db8::/32, profile: res }\n"
		"  - { prefix: 2001:db8:1::/48, profile: biz, expires: %s }\n"
		"  - { prefix: 2001:db8:1:2::/64, profile: biz, expires: %s }\n"
		"  - { prefix: 2001:db8:1:2::1/128, profile: res }\n",
		mode,
		"2027-01-15T08:16:40Z",		/* NOW + 1000 */
		"2027-01-15T09:23:20Z",		/* NOW + 5000 */
		"2027-01-15T08:05:00Z",		/* NOW + 300 */
		"2027-01-15T08:13:20Z",		/* NOW + 800 */
		"2027-01-15T08:33:20Z",		/* NOW + 2000 */
		"2027-01-15T08:33:20Z",		/* NOW + 2000 */
		"2027-01-15T07:59:50Z",		/* NOW - 10 */
		"2027-01-15T08:01:40Z",		/* NOW + 100 */
		"2027-01-15T08:00:50Z",		/* NOW + 50 */
		"2027-01-15T08:16:40Z",		/* NOW + 1000 */
		"2027-01-15T08:16:39Z"),	/* NOW + 999 */
		0);
	return s;
}

/*
 * Three deep, profiles alternating, children that outlive their parent
 * and children that end first: the kernel's answer follows the policy
 * through every expiry, and an entry deciding as the one around it for
 * no longer is left out (one that outlives it is kept).
 */
START_TEST(test_nested_entries_expire_in_the_kernel_as_in_the_policy)
{
	char *yaml = nested_yaml("enforce");
	struct policy *p = tests_policy(yaml);
	struct policy_ruleset rs;
	const struct rules_desc *d = &rs.desc;
	static const char *const left_out[] = {
		"10.1.3.0/24",	/* biz2 decides 25 as biz, ends first */
		"10.1.4.64/26",	/* as 10.1.4.0/24, ends with it */
		"10.2.0.0/16",	/* res in res, neither ends */
		"10.2.5.0/24",	/* ended */
		"10.2.5.7/32",	/* its parent ended: 10.2/16 decides */
		"2001:db8:1:2::/64",	/* ends before its parent */
	};

	ck_assert_int_eq(policy_ruleset_build(&rs, p, 1, NOW), 0);
	agree_everywhere(p, d);
	ck_assert_uint_eq(d->nentries, 11);
	for (size_t i = 0; i < sizeof(left_out) / sizeof(*left_out); i++)
		ck_assert_msg(!find(d, left_out[i]), "%s kept", left_out[i]);
	ck_assert_uint_eq(must_find(d, "10.1.0.0/16")->depth, 1);
	ck_assert_uint_eq(must_find(d, "10.1.2.0/24")->e.timeout, 5000);
	ck_assert_uint_eq(must_find(d, "10.1.2.128/25")->depth, 3);
	ck_assert_uint_eq(must_find(d, "10.1.2.128/25")->e.timeout, 300);
	ck_assert_str_eq(profile_of(d, must_find(d, "10.1.4.0/24")), "biz");
	ck_assert_uint_eq(must_find(d, "10.1.4.0/24")->e.timeout, 2000);
	ck_assert_uint_eq(must_find(d, "10.3.0.0/28")->depth, 3);
	ck_assert_uint_eq(must_find(d, "10.3.0.0/28")->e.timeout, 0);
	ck_assert_uint_eq(must_find(d, "2001:db8:1:2::1/128")->depth, 3);

	/* Some of it by hand. */
	ck_assert_int_eq(fb_at(d, "10.1.2.200", 25, NOW + 299), RULES_ACCEPT);
	ck_assert_int_eq(fb_at(d, "10.1.2.200", 25, NOW + 300), RULES_REJECT);
	ck_assert_int_eq(fb_at(d, "10.1.2.200", 25, NOW + 5000), RULES_REJECT);
	ck_assert_int_eq(fb_at(d, "10.1.3.1", 25, NOW + 999), RULES_ACCEPT);
	ck_assert_int_eq(fb_at(d, "10.1.3.1", 25, NOW + 1000), RULES_REJECT);
	ck_assert_int_eq(fb_at(d, "10.1.4.65", 25, NOW + 1999), RULES_ACCEPT);
	ck_assert_int_eq(fb_at(d, "10.1.4.65", 25, NOW + 2000), RULES_REJECT);
	ck_assert_int_eq(fb_at(d, "10.3.0.1", 25, NOW + 1000), RULES_DROP);
	ck_assert_int_eq(fb_at(d, "10.3.0.17", 25, NOW + 60), RULES_DROP);
	ck_assert_int_eq(fb_at(d, "10.3.0.17", 25, NOW + 100), RULES_REJECT);
	ck_assert_int_eq(fb_at(d, "10.3.0.17", 587, NOW), RULES_ACCEPT);
	policy_ruleset_free(&rs);
	policy_free(p);
	free(yaml);
}
END_TEST

/* Monitor mode: the entries are described all the same, and the
 * fallback lets everything pass. */
START_TEST(test_monitor_mode_describes_entries_and_the_fallback_accepts)
{
	char *yaml = nested_yaml("monitor");
	struct policy *p = tests_policy(yaml);
	struct policy_ruleset rs;

	ck_assert_int_eq(policy_ruleset_build(&rs, p, 1, NOW), 0);
	ck_assert(rs.desc.monitor);
	ck_assert_uint_eq(rs.desc.nentries, 11);
	ck_assert_int_eq(fb_at(&rs.desc, "10.1.2.200", 25, NOW + 300),
			 RULES_ACCEPT);
	policy_ruleset_free(&rs);
	policy_free(p);
	free(yaml);
}
END_TEST

/* A live exception replaces the file's entry of its prefix, in the
 * fallback too: past its end the parent decides, not the file's entry. */
START_TEST(test_live_exceptions_reach_the_fallback)
{
	static const char yaml[] =
		"version: 1\n"
		"profiles:\n"
		"  res: { ports: { 25: reject } }\n"
		"  biz: { ports: { 25: accept } }\n"
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: res }\n"
		"  - { prefix: 100.64.12.0/28, profile: biz }\n"
		"  - { prefix: 2001:db8::/32, profile: res }\n";
	const struct policy_exception ex[] = {
		{ .prefix = "100.64.12.0/28", .profile = "res",
		  .added = NOW - 100, .expires = NOW + 600 },
		{ .prefix = "100.64.13.0/24", .profile = "biz",
		  .added = NOW - 100, .expires = NOW + 100 },
		{ .prefix = "100.64.13.128/25", .profile = "res",
		  .added = NOW - 100 },
		{ .prefix = "2001:db8:5::/48", .profile = "biz",
		  .added = NOW - 100 },
	};
	struct policy_ruleset rs;
	struct tests_dir dir;
	struct policy *p;

	tests_dir_open(&dir, "ruleset");
	p = tests_policy_file(tests_dir_put(&dir, "policy.yaml", yaml), ex,
			      sizeof(ex) / sizeof(*ex));
	ck_assert_int_eq(policy_ruleset_build(&rs, p, 1, NOW), 0);
	agree_everywhere(p, &rs.desc);
	/* The replacing exception decides as the /10 for less long. */
	ck_assert_ptr_null(find(&rs.desc, "100.64.12.0/28"));
	ck_assert_uint_eq(rs.desc.nentries, 5);
	ck_assert_uint_eq(must_find(&rs.desc, "100.64.13.0/24")->e.timeout,
			  100);
	ck_assert_uint_eq(must_find(&rs.desc, "100.64.13.128/25")->depth, 2);
	ck_assert_uint_eq(must_find(&rs.desc, "2001:db8:5::/48")->e.timeout,
			  0);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.12.1", 25, NOW), RULES_REJECT);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.13.1", 25, NOW + 99),
			 RULES_ACCEPT);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.13.1", 25, NOW + 100),
			 RULES_REJECT);
	ck_assert_int_eq(fb_at(&rs.desc, "2001:db8:5::1", 25, NOW),
			 RULES_ACCEPT);
	policy_ruleset_free(&rs);
	policy_free(p);
	tests_dir_close(&dir);
}
END_TEST

/* /0 aggregates: every address of the family is a subscriber. */
START_TEST(test_zero_length_aggregates_cover_every_source)
{
	static const char yaml[] =
		"version: 1\n"
		"profiles:\n"
		"  res: { ports: { 25: reject } }\n"
		"  biz: { ports: { 25: accept } }\n"
		"subscribers:\n"
		"  - { prefix: 0.0.0.0/0, profile: res }\n"
		"  - { prefix: 100.64.0.0/10, profile: biz }\n"
		"  - { prefix: 100.64.1.0/24, profile: res,\n"
		"      expires: 2027-01-15T08:01:00Z }\n"
		"  - { prefix: \"::/0\", profile: biz }\n"
		"  - { prefix: 2001:db8::/32, profile: biz,\n"
		"      expires: 2027-01-15T09:00:00Z }\n"
		"  - { prefix: 2001:db8::/48, profile: res }\n";
	struct policy *p = tests_policy(yaml);
	struct policy_ruleset rs;

	ck_assert_int_eq(policy_ruleset_build(&rs, p, 1, NOW), 0);
	agree_everywhere(p, &rs.desc);
	ck_assert_uint_eq(rs.desc.nentries, 5);
	ck_assert_ptr_null(find(&rs.desc, "2001:db8::/32"));
	ck_assert_uint_eq(must_find(&rs.desc, "0.0.0.0/0")->depth, 0);
	ck_assert_uint_eq(must_find(&rs.desc, "::/0")->depth, 0);
	ck_assert_uint_eq(must_find(&rs.desc, "2001:db8::/48")->depth, 2);
	ck_assert_int_eq(fb_at(&rs.desc, "8.8.8.8", 25, NOW), RULES_REJECT);
	ck_assert_int_eq(fb_at(&rs.desc, "2a00::1", 25, NOW), RULES_ACCEPT);
	policy_ruleset_free(&rs);
	policy_free(p);
}
END_TEST

/*
 * A profile whose default blocks: every port is queued, and the fallback
 * judges a port the description does not name by the default. Two
 * profiles that differ only there are not the same for the fallback.
 */
START_TEST(test_blocking_default_judges_unnamed_ports_in_the_fallback)
{
	static const char yaml[] =
		"version: 1\n"
		"profiles:\n"
		"  res: { ports: { 25: reject, 465: accept, 587: accept } }\n"
		"  strict: { ports: { 25: drop, 80: accept, 465: accept,\n"
		"            587: accept }, default: reject }\n"
		"  strict2: { ports: { 25: drop, 80: accept, 465: accept,\n"
		"             587: accept }, default: reject }\n"
		"  strict3: { ports: { 25: drop, 80: accept, 465: accept,\n"
		"             587: accept }, default: drop }\n"
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: res }\n"
		"  - { prefix: 100.64.8.0/21, profile: strict }\n"
		"  - { prefix: 100.64.9.0/24, profile: strict2 }\n"
		"  - { prefix: 100.64.10.0/24, profile: strict3 }\n"
		"  - { prefix: 100.64.10.64/26, profile: res,\n"
		"      expires: 2027-01-15T08:10:00Z }\n"
		"  - { prefix: 2001:db8::/32, profile: strict }\n";
	struct policy *p = tests_policy(yaml);
	struct policy_ruleset rs;

	ck_assert_int_eq(policy_ruleset_build(&rs, p, 1, NOW), 0);
	ck_assert(rs.desc.all_ports);
	agree_everywhere(p, &rs.desc);
	ck_assert_ptr_null(find(&rs.desc, "100.64.9.0/24"));
	ck_assert_str_eq(profile_of(&rs.desc,
				    must_find(&rs.desc, "100.64.10.0/24")),
			 "strict3");
	ck_assert_uint_eq(rs.desc.nentries, 5);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.9.1", 8080, NOW),
			 RULES_REJECT);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.10.1", 8080, NOW),
			 RULES_DROP);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.10.65", 8080, NOW),
			 RULES_ACCEPT);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.10.65", 8080, NOW + 600),
			 RULES_DROP);
	ck_assert_int_eq(fb_at(&rs.desc, "100.64.9.1", 80, NOW), RULES_ACCEPT);
	policy_ruleset_free(&rs);
	policy_free(p);
}
END_TEST

/*
 * A port that one profile accepts and another in use blocks by its
 * default must not fail open: its SYNs from that profile's subscribers
 * would pass with no daemon (and, queued with bypass, with a full queue).
 */
/* A port one profile accepts and another blocks only by its default
 * fails open in the queue (the port's class is the policy's, not the
 * profile's: 465 must not depend on the daemon for residential), but the
 * fallback judges it by profile: the strict subscriber stays held. */
START_TEST(test_port_blocked_by_a_default_is_held_by_the_fallback)
{
	static const char yaml[] =
		"version: 1\n"
		"profiles:\n"
		"  res: { ports: { 25: reject, 465: accept } }\n"
		"  strict: { ports: { 25: drop }, default: reject }\n"
		"subscribers:\n"
		"  - { prefix: 100.64.0.0/10, profile: res }\n"
		"  - { prefix: 100.64.8.0/24, profile: strict }\n";
	struct policy *p = tests_policy(yaml);
	struct policy_ruleset rs;
	struct addr src;
	struct policy_decision dec;
	struct policy_flow f = { 0 };
	int k;

	ck_assert_int_eq(policy_ruleset_build(&rs, p, 1, NOW), 0);
	ck_assert_int_eq(addr_parse("100.64.8.1", &src), 0);
	f = flow_of(&src, 465);
	policy_decide(p, &f, NOW, false, &dec);
	ck_assert_int_eq(dec.action, POLICY_REJECT);
	ck_assert_int_ge(port_index(&rs.desc, 465), 0);
	ck_assert(!rs.desc.ports[port_index(&rs.desc, 465)].fail_closed);
	ck_assert_int_eq(fb_action(&rs.desc, &f, NOW, &k), RULES_REJECT);
	ck_assert_int_eq(addr_parse("100.64.9.1", &src), 0);
	f = flow_of(&src, 465);
	ck_assert_int_eq(fb_action(&rs.desc, &f, NOW, &k), RULES_ACCEPT);
	policy_ruleset_free(&rs);
	policy_free(p);
}
END_TEST

/* ---- 2. random policies ---- */

struct buf {
	char s[16384];
	size_t n;
};

__attribute__((format(printf, 2, 3)))
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	must(r >= 0 && (size_t)r < sizeof(b->s) - b->n);
	b->n += (size_t)r;
}

struct gen_prefix {
	bool v6;
	u128 addr;		/* v6: the address; v4: in the low 32 bits */
	unsigned len;
	int profile;
	int64_t expires;	/* 0: none */
};

static const char *const action_names[] = { "accept", "drop", "reject" };

/* 3 or 4 profiles acting on 25 and 2525 (some alike for the fallback,
 * some not), some also naming 465; now and then a blocking default. */
static unsigned gen_profiles(struct buf *b)
{
	unsigned n = 3 + (unsigned)(rnd() % 2);
	int a25[4], a2525[4], def[4];

	put(b, "profiles:\n");
	for (unsigned k = 0; k < n; k++) {
		if (k && rnd() % 3 == 0) {
			unsigned j = (unsigned)(rnd() % k);

			a25[k] = a25[j];
			a2525[k] = a2525[j];
			def[k] = def[j];
		} else {
			a25[k] = rnd() % 6 ? (int)(rnd() % 3) : -1;
			a2525[k] = rnd() % 3 ? (int)(rnd() % 3) : -1;
			def[k] = rnd() % 8 ? 0 : 1 + (int)(rnd() % 2);
		}
		put(b, "  p%u: { ports: { 587: accept", k);
		if (a25[k] >= 0)
			put(b, ", 25: %s", action_names[a25[k]]);
		if (a2525[k] >= 0)
			put(b, ", 2525: %s", action_names[a2525[k]]);
		if (rnd() % 2)
			put(b, ", 465: accept");
		put(b, " }, default: %s }\n", action_names[def[k]]);
	}
	return n;
}

static void gen_one(struct gen_prefix *g, const struct gen_prefix *all,
		    size_t n, unsigned nprof)
{
	const struct gen_prefix *parent = n && rnd() % 10 < 6 ?
					  &all[rnd() % n] : NULL;
	unsigned max;
	unsigned r;

	if (parent && parent->len < (parent->v6 ? 128u : 32u)) {
		unsigned room = (parent->v6 ? 128u : 32u) - parent->len;

		g->v6 = parent->v6;
		g->len = parent->len + 1 +
			 (unsigned)(rnd() % (room < 16 ? room : 16));
		g->addr = parent->addr | (rnd128() & host_mask(room));
		g->profile = rnd() % 3 ? (int)(rnd() % nprof) : parent->profile;
	} else {
		parent = NULL;
		g->v6 = rnd() % 3 == 0;
		g->profile = (int)(rnd() % nprof);
		if (rnd() % 40 == 0)
			g->len = 0;
		else if (!g->v6)
			g->len = 8 + (unsigned)(rnd() % 25);
		else
			g->len = 24 + (unsigned)(rnd() % 105);
		g->addr = g->v6 ? (u128)0x20010db8u << 96 |
				  (rnd128() & host_mask(96))
				: 0x64400000u | (rnd() & 0x3fffffu);
	}
	max = g->v6 ? 128 : 32;
	g->addr &= ~host_mask(max - g->len) & host_mask(max);
	r = (unsigned)(rnd() % 20);
	if (r < 7)			/* none */
		g->expires = 0;
	else if (r < 9)			/* past */
		g->expires = NOW - 1 - (int64_t)(rnd() % 1000000);
	else if (r < 12)		/* soon */
		g->expires = NOW + 1 + (int64_t)(rnd() % 600);
	else if (r < 15)		/* later */
		g->expires = NOW + 600 + (int64_t)(rnd() % 2000000);
	else if (r < 16)		/* past the kernel's longest timeout */
		g->expires = NOW + RULES_TIMEOUT_MAX +
			     (int64_t)(rnd() % 10000000);
	else if (parent && parent->expires)	/* about with its parent */
		g->expires = parent->expires + (int64_t)(rnd() % 3) - 1;
	else
		g->expires = NOW + 1 + (int64_t)(rnd() % 3000);
}

static bool same_prefix(const struct gen_prefix *a, const struct gen_prefix *b)
{
	return a->v6 == b->v6 && a->len == b->len && a->addr == b->addr;
}

static void put_prefix(struct buf *b, const struct gen_prefix *g)
{
	char a[INET6_ADDRSTRLEN], when[32];
	uint8_t raw[16];

	if (g->v6) {
		struct addr pa = addr_put(g->addr);

		memcpy(raw, pa.b, 16);
	} else {
		uint32_t v = htonl((uint32_t)g->addr);

		memcpy(raw, &v, 4);
	}
	inet_ntop(g->v6 ? AF_INET6 : AF_INET, raw, a, sizeof(a));
	put(b, "  - { prefix: \"%s/%u\", profile: p%d", a, g->len, g->profile);
	if (g->expires)
		put(b, ", expires: %s",
		    rfc3339_format(g->expires, when, sizeof(when)));
	put(b, " }\n");
}

/* A policy of 5 to 60 prefixes, both families, nested and apart. */
static struct policy *gen_policy(struct buf *b)
{
	struct gen_prefix g[60];
	size_t n = 5 + (size_t)(rnd() % 56), have = 0;
	unsigned nprof;

	b->n = 0;
	put(b, "version: 1\n");
	nprof = gen_profiles(b);
	put(b, "subscribers:\n");
	while (have < n) {
		bool dup = false;

		gen_one(&g[have], g, have, nprof);
		for (size_t i = 0; i < have && !dup; i++)
			dup = same_prefix(&g[i], &g[have]);
		if (dup)
			continue;
		put_prefix(b, &g[have++]);
	}
	return tests_policy(b->s);
}

/* A source in or next to a prefix, or anywhere. */
static struct addr gen_source(const struct policy *p)
{
	size_t total = policy_entry_count(p, AF_INET) +
		       policy_entry_count(p, AF_INET6);
	unsigned r = (unsigned)(rnd() % 20);

	if (r < 17)
		return near_entry(p, (int32_t)(rnd() % total),
				  (unsigned)(rnd() % 5));
	if (r == 17)
		return v4_addr(0x64000000u | (rnd() & 0xffffffu));
	if (r == 18)
		return addr_put((u128)0x20010db8u << 96 |
				(rnd128() & host_mask(96)));
	return rnd() % 2 ? v4_addr((uint32_t)rnd()) : addr_put(rnd128());
}

/*
 * 200 random policies, 200 sources each: the fallback decides every
 * closed port as the policy does, now and around every expiry of an
 * entry that holds the source. What the redundancy rule leaves out must
 * change no answer.
 */
START_TEST(test_random_policies_fallback_agrees_with_policy_decide)
{
	struct buf *b = malloc(sizeof(*b));
	size_t left_out = 0, kept = 0;

	ck_assert_ptr_nonnull(b);
	rng = 0x5eed5eed12345678ull;
	for (int round = 0; round < 200; round++) {
		struct policy *p = gen_policy(b);
		struct policy_ruleset rs;
		size_t live = 0, total = policy_entry_count(p, AF_INET) +
					 policy_entry_count(p, AF_INET6);

		ck_assert_int_eq(policy_ruleset_build(&rs, p, 2, NOW), 0);
		for (size_t id = 0; id < total; id++) {
			struct policy_entry_info info;

			policy_entry_info(p, (int32_t)id, &info);
			live += !info.expires || info.expires > NOW;
		}
		ck_assert_uint_le(rs.desc.nentries, live);
		for (size_t i = 0; i < rs.desc.nentries; i++)
			must(rs.desc.entries[i].e.timeout <=
			     RULES_TIMEOUT_MAX);
		left_out += live - rs.desc.nentries;
		kept += rs.desc.nentries;
		for (int s = 0; s < 200; s++) {
			struct addr src = gen_source(p);

			agree(p, &rs.desc, &src);
		}
		policy_ruleset_free(&rs);
		policy_free(p);
	}
	/* The generator does reach the redundancy rule both ways. */
	ck_assert_uint_gt(left_out, 200);
	ck_assert_uint_gt(kept, 2000);
	free(b);
}
END_TEST

/* ---- 3. union ---- */

static const char union_a[] =
	"version: 1\n"
	"profiles:\n"
	"  res: { ports: { 25: reject, 26: drop, 465: accept } }\n"
	"  biz: { ports: { 25: accept } }\n"
	"subscribers:\n"
	"  - { prefix: 10.0.0.0/8, profile: res }\n"
	"  - { prefix: 10.1.0.0/16, profile: biz }\n"
	"relays: [192.0.2.25]\n";

static const char union_b[] =
	"version: 1\n"
	"profiles:\n"
	"  biz: { ports: { 25: accept, 2525: drop } }\n"
	"  res: { ports: { 25: reject, 465: accept, 2525: reject },\n"
	"         default: drop }\n"
	"subscribers:\n"
	"  - { prefix: 10.0.0.0/8, profile: res }\n"
	"  - { prefix: 10.1.0.0/16, profile: biz,\n"
	"      expires: 2027-01-15T08:01:40Z }\n"
	"  - { prefix: 10.2.0.0/16, profile: biz }\n"
	"  - { prefix: 172.16.0.0/12, profile: res }\n"
	"relays: [192.0.2.25]\n";

/* The union's profiles act on the union's ports, in its order: as b
 * says for a port b names, by b's default for one only a names. */
static void union_profiles_follow_its_ports(const struct policy_ruleset *u,
					    const struct policy_ruleset *b,
					    const struct policy *pb)
{
	const struct rules_desc *d = &u->desc;

	ck_assert_uint_eq(d->nprofiles, b->desc.nprofiles);
	for (size_t k = 0; k < d->nprofiles; k++) {
		ck_assert_str_eq(d->profiles[k].name, b->desc.profiles[k].name);
		ck_assert_uint_eq(d->profiles[k].other,
				  b->desc.profiles[k].other);
		for (size_t i = 0; i < d->nports; i++) {
			int j = port_index(&b->desc, d->ports[i].port);
			uint8_t want = j >= 0 ? b->desc.profiles[k].action[j]
					      : b->desc.profiles[k].other;
			uint8_t got = d->profiles[k].action[i];

			ck_assert_msg(got == want, "profile %s port %u: the "
				      "union says %s, the second ruleset %s",
				      d->profiles[k].name, d->ports[i].port,
				      policy_action_name(got),
				      policy_action_name(want));
			ck_assert_int_eq(want, policy_profile_action(pb, (int)k,
					 d->ports[i].port, NULL));
		}
	}
}

START_TEST(test_union_fallback_is_the_second_on_the_union_ports)
{
	struct policy *pa = tests_policy(union_a);
	struct policy *pb = tests_policy(union_b), *pc;
	struct policy_ruleset a, b, u, again;
	const char *at26 = strstr(union_a, "26: drop");
	char *yaml;
	static const uint16_t order[] = { 25, 26, 465, 2525 };
	static const bool closed[] = { true, true, false, true };

	ck_assert_int_eq(policy_ruleset_build(&a, pa, 2, NOW - 50), 0);
	ck_assert_int_eq(policy_ruleset_build(&b, pb, 2, NOW), 0);
	ck_assert_int_eq(policy_ruleset_union(&u, &a, &b), 0);

	ck_assert_uint_eq(u.desc.nports, 4);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_uint_eq(u.desc.ports[i].port, order[i]);
		ck_assert(u.desc.ports[i].fail_closed == closed[i]);
	}
	ck_assert_uint_eq(u.desc.nv4, 2);	/* 10/8 and 172.16/12 */
	ck_assert_uint_eq(u.desc.nrelays4, 1);
	union_profiles_follow_its_ports(&u, &b, pb);
	ck_assert_ptr_eq(u.desc.entries, b.desc.entries);
	ck_assert_uint_eq(u.desc.nentries, b.desc.nentries);
	ck_assert_int_eq(u.desc.now, b.desc.now);
	ck_assert(u.desc.monitor == b.desc.monitor);
	ck_assert(u.desc.all_ports);
	/* Port 26 is closed in the union, by a; b names it in no profile. */
	agree_everywhere(pb, &u.desc);
	ck_assert_int_eq(fb_at(&u.desc, "10.0.0.1", 26, NOW), RULES_DROP);
	ck_assert_int_eq(fb_at(&u.desc, "10.2.0.1", 26, NOW), RULES_ACCEPT);
	ck_assert_int_eq(fb_at(&u.desc, "10.0.0.1", 2525, NOW), RULES_REJECT);
	ck_assert_int_eq(fb_at(&u.desc, "10.1.0.1", 2525, NOW), RULES_DROP);
	ck_assert_int_eq(fb_at(&u.desc, "10.1.0.1", 2525, NOW + 100),
			 RULES_REJECT);

	ck_assert(!policy_ruleset_equal(&a, &b));
	ck_assert(!policy_ruleset_equal(&u, &b));
	ck_assert(!policy_ruleset_equal(&u, &a));
	ck_assert(policy_ruleset_equal(&a, &a));
	/* Rebuilt later from the same policy: the same SYNs queue. */
	ck_assert_int_eq(policy_ruleset_build(&again, pa, 2, NOW + 3600), 0);
	ck_assert(policy_ruleset_equal(&a, &again));
	policy_ruleset_free(&again);
	ck_assert_int_eq(policy_ruleset_build(&again, pb, 2, NOW + 3600), 0);
	ck_assert(policy_ruleset_equal(&b, &again));
	policy_ruleset_free(&again);
	ck_assert_int_eq(policy_ruleset_build(&again, pb, 3, NOW), 0);
	ck_assert(!policy_ruleset_equal(&b, &again));	/* more queues */
	policy_ruleset_free(&again);
	/* The same ports, 26 now failing open. */
	ck_assert_ptr_nonnull(at26);
	ck_assert_int_ge(asprintf(&yaml, "%.*s26: accept%s",
				  (int)(at26 - union_a), union_a,
				  at26 + strlen("26: drop")), 0);
	pc = tests_policy(yaml);
	ck_assert_int_eq(policy_ruleset_build(&again, pc, 2, NOW), 0);
	ck_assert_uint_eq(again.desc.nports, a.desc.nports);
	ck_assert(!policy_ruleset_equal(&a, &again));
	policy_ruleset_free(&again);
	policy_free(pc);
	free(yaml);

	policy_ruleset_free(&u);
	policy_ruleset_free(&b);
	policy_ruleset_free(&a);
	policy_free(pb);
	policy_free(pa);
}
END_TEST

/* The second policy names no port at all (its profiles only have
 * defaults): the union still queues the first's ports, and its fallback
 * must judge them by the second's defaults. */
START_TEST(test_union_with_a_second_naming_no_port_uses_its_defaults)
{
	static const char yaml[] =
		"version: 1\n"
		"profiles:\n"
		"  res: { default: reject }\n"
		"  biz: { default: accept }\n"
		"subscribers:\n"
		"  - { prefix: 10.0.0.0/8, profile: res }\n"
		"  - { prefix: 10.1.0.0/16, profile: biz }\n";
	struct policy *pa = tests_policy(union_a), *pb = tests_policy(yaml);
	struct policy_ruleset a, b, u;

	ck_assert_int_eq(policy_ruleset_build(&a, pa, 1, NOW), 0);
	ck_assert_int_eq(policy_ruleset_build(&b, pb, 1, NOW), 0);
	ck_assert_uint_eq(b.desc.nports, 0);
	ck_assert(b.desc.all_ports);
	ck_assert_int_eq(policy_ruleset_union(&u, &a, &b), 0);
	ck_assert_uint_eq(u.desc.nports, 3);
	union_profiles_follow_its_ports(&u, &b, pb);
	agree_everywhere(pb, &u.desc);
	policy_ruleset_free(&u);
	policy_ruleset_free(&b);
	policy_ruleset_free(&a);
	policy_free(pb);
	policy_free(pa);
}
END_TEST

/* ---- 4. timeouts ---- */

START_TEST(test_element_timeouts_are_the_rest_of_each_entry_life)
{
	char *yaml, when[6][32];
	static const int64_t ends[6] = {
		NOW + 30, NOW + RULES_TIMEOUT_MAX + 1000, NOW - 1, NOW,
		NOW + RULES_TIMEOUT_MAX, NOW + 1,
	};
	struct policy *p;
	struct policy_ruleset rs;

	for (int i = 0; i < 6; i++)
		rfc3339_format(ends[i], when[i], sizeof(when[i]));
	ck_assert_int_ge(asprintf(&yaml,
		"version: 1\n"
		"profiles:\n"
		"  res: { ports: { 25: reject } }\n"
		"  biz: { ports: { 25: accept } }\n"
		"subscribers:\n"
		"  - { prefix: 10.0.0.0/8, profile: res }\n"
		"  - { prefix: 10.1.0.0/16, profile: biz, expires: %s }\n"
		"  - { prefix: 10.2.0.0/16, profile: biz, expires: %s }\n"
		"  - { prefix: 10.3.0.0/16, profile: biz, expires: %s }\n"
		"  - { prefix: 10.4.0.0/16, profile: biz, expires: %s }\n"
		"  - { prefix: 10.5.0.0/16, profile: biz, expires: %s }\n"
		"  - { prefix: 10.6.0.0/16, profile: biz, expires: %s }\n",
		when[0], when[1], when[2], when[3], when[4], when[5]), 0);
	p = tests_policy(yaml);
	ck_assert_int_eq(policy_ruleset_build(&rs, p, 1, NOW), 0);
	ck_assert_uint_eq(must_find(&rs.desc, "10.1.0.0/16")->e.timeout, 30);
	ck_assert_uint_eq(must_find(&rs.desc, "10.2.0.0/16")->e.timeout,
			  RULES_TIMEOUT_MAX);
	ck_assert_ptr_null(find(&rs.desc, "10.3.0.0/16"));
	ck_assert_ptr_null(find(&rs.desc, "10.4.0.0/16"));	/* ends now */
	ck_assert_uint_eq(must_find(&rs.desc, "10.5.0.0/16")->e.timeout,
			  RULES_TIMEOUT_MAX);
	ck_assert_uint_eq(must_find(&rs.desc, "10.6.0.0/16")->e.timeout, 1);
	ck_assert_uint_eq(must_find(&rs.desc, "10.0.0.0/8")->e.timeout, 0);
	ck_assert_uint_eq(rs.desc.nentries, 5);
	agree_everywhere(p, &rs.desc);
	policy_ruleset_free(&rs);
	policy_free(p);
	free(yaml);
}
END_TEST

Suite *ruleset_suite(void)
{
	Suite *s = suite_create("ruleset");
	TCase *tc = tcase_create("ruleset");
	TCase *random = tcase_create("ruleset_random");

	tcase_add_test(tc, test_example_policy_fallback_judges_port_25_as_the_policy);
	tcase_add_test(tc, test_nested_entries_expire_in_the_kernel_as_in_the_policy);
	tcase_add_test(tc, test_monitor_mode_describes_entries_and_the_fallback_accepts);
	tcase_add_test(tc, test_live_exceptions_reach_the_fallback);
	tcase_add_test(tc, test_zero_length_aggregates_cover_every_source);
	tcase_add_test(tc, test_blocking_default_judges_unnamed_ports_in_the_fallback);
	tcase_add_test(tc, test_port_blocked_by_a_default_is_held_by_the_fallback);
	tcase_add_test(tc, test_union_fallback_is_the_second_on_the_union_ports);
	tcase_add_test(tc, test_union_with_a_second_naming_no_port_uses_its_defaults);
	tcase_add_test(tc, test_element_timeouts_are_the_rest_of_each_entry_life);
	suite_add_tcase(s, tc);
	tcase_add_test(random, test_random_policies_fallback_agrees_with_policy_decide);
	tcase_set_timeout(random, 60);
	suite_add_tcase(s, random);
	return s;
}
