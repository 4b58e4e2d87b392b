// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What changes from one compiled policy to another (portcullis diff):
 * the mode, profiles' port actions, relays, detection, entries (matched
 * by prefix: added, removed, changed), and the address ranges whose
 * decision changes on a port.
 *
 * The ranges come from one walk over both tables at once: every entry of
 * either policy starts and ends an interval (and so does the IPv4-mapped
 * /96, where IPv4 is looked up), the intervals are sorted, and within one
 * the deciding entry of each policy is the same for every address, so
 * one lookup in each says it. Intervals next to each other with the same
 * changes for the same reason are one run, written as the fewest
 * prefixes that cover it. Two 1M-entry policies are 4M intervals: a sort
 * and 8M lookups.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rfc3339.h"
#include "policy/internal.h"
#include "policy/table.h"

typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)
#define MAPPED_LO (((u128)0xffff) << 32)	/* ::ffff:0.0.0.0 */
#define MAPPED_HI (MAPPED_LO | 0xffffffffu)	/* ::ffff:255.255.255.255 */

static u128 addr_u128(const struct addr *a)
{
	u128 v = 0;

	for (unsigned i = 0; i < 16; i++)
		v = v << 8 | a->b[i];
	return v;
}

static void u128_addr(u128 v, struct addr *a)
{
	for (int i = 15; i >= 0; i--) {
		a->b[i] = (uint8_t)v;
		v >>= 8;
	}
}

struct policy_diff {
	const struct policy *a, *b;
	int64_t now;
	policy_diff_fn fn;
	void *ctx;
	uint16_t *ports;		/* the named ports, ascending */
	unsigned nports;
	bool *same;			/* [pa * b->nprofiles + pb]: the same
					 * action on every port */
	size_t items;
};

static int emit(struct policy_diff *d, struct policy_diff_item *it)
{
	d->items++;
	return d->fn(d->ctx, it);
}

/* ---- mode, profiles, relays, detection ----------------------------------- */

static int profile_find_name(const struct policy *p, const char *name)
{
	for (unsigned i = 0; i < p->nprofiles; i++)
		if (!strcmp(p->profiles[i].name, name))
			return (int)i;
	return -1;
}

/* The ports either policy's profiles name, ascending: up to 65,536 (a
 * detection's ports decide nothing by themselves). */
static unsigned named_ports(const struct policy *a, const struct policy *b,
			    uint16_t *ports)
{
	uint8_t seen[65536 / 8] = { 0 };
	const struct policy *both[2] = { a, b };
	unsigned n = 0;

	for (unsigned k = 0; k < 2; k++) {
		const struct policy *p = both[k];

		for (unsigned i = 0; i < p->nprofiles; i++)
			for (unsigned j = 0; j < p->profiles[i].nports; j++) {
				uint16_t port = p->profiles[i].ports[j];

				seen[port / 8] |= (uint8_t)(1u << (port % 8));
			}
	}
	for (unsigned port = 0; port < 65536; port++)
		if (seen[port / 8] & (1u << (port % 8)))
			ports[n++] = (uint16_t)port;
	return n;
}

/* Whether profile pa of a and pb of b decide alike: the same action on
 * every port (their names aside). */
static bool profiles_same(const struct policy_diff *d, unsigned pa,
			  unsigned pb)
{
	const struct profile *x = &d->a->profiles[pa], *y = &d->b->profiles[pb];

	if (x->def != y->def || x->nports != y->nports)
		return false;
	for (unsigned i = 0; i < x->nports; i++)
		if (x->ports[i] != y->ports[i] || x->actions[i] != y->actions[i])
			return false;
	return true;
}

static int diff_mode(struct policy_diff *d)
{
	struct policy_diff_item it = { .kind = POLICY_DIFF_MODE };

	if (d->a->mode == d->b->mode)
		return 0;
	snprintf(it.old_text, sizeof(it.old_text), "%s",
		 d->a->mode == POLICY_MODE_MONITOR ? "monitor" : "enforce");
	snprintf(it.new_text, sizeof(it.new_text), "%s",
		 d->b->mode == POLICY_MODE_MONITOR ? "monitor" : "enforce");
	return emit(d, &it);
}

/* One profile in both: each named port whose action moved, and the
 * default (port -1). */
static int diff_profile_ports(struct policy_diff *d, int pa, int pb)
{
	const struct profile *x = &d->a->profiles[pa], *y = &d->b->profiles[pb];
	struct policy_diff_item it = { .kind = POLICY_DIFF_PROFILE_PORT };

	snprintf(it.name, sizeof(it.name), "%s", x->name);
	for (unsigned i = 0; i < d->nports; i++) {
		bool la, lb;
		enum policy_action aa = policy_profile_action(d->a, pa,
							      d->ports[i], &la);
		enum policy_action ab = policy_profile_action(d->b, pb,
							      d->ports[i], &lb);

		if (aa == ab && la == lb)
			continue;
		it.port = d->ports[i];
		it.old_action = (int)aa;
		it.new_action = (int)ab;
		if (emit(d, &it) < 0)
			return -1;
	}
	if (x->def != y->def) {
		it.port = -1;
		it.old_action = (int)x->def;
		it.new_action = (int)y->def;
		return emit(d, &it);
	}
	return 0;
}

static int diff_profiles(struct policy_diff *d)
{
	struct policy_diff_item it = { 0 };

	for (unsigned i = 0; i < d->a->nprofiles; i++) {
		int j = profile_find_name(d->b, d->a->profiles[i].name);

		if (j >= 0) {
			if (diff_profile_ports(d, (int)i, j) < 0)
				return -1;
			continue;
		}
		it.kind = POLICY_DIFF_PROFILE_REMOVED;
		snprintf(it.name, sizeof(it.name), "%s",
			 d->a->profiles[i].name);
		if (emit(d, &it) < 0)
			return -1;
	}
	for (unsigned j = 0; j < d->b->nprofiles; j++) {
		if (profile_find_name(d->a, d->b->profiles[j].name) >= 0)
			continue;
		it.kind = POLICY_DIFF_PROFILE_ADDED;
		snprintf(it.name, sizeof(it.name), "%s",
			 d->b->profiles[j].name);
		if (emit(d, &it) < 0)
			return -1;
	}
	return 0;
}

static int diff_relays(struct policy_diff *d)
{
	size_t i = 0, j = 0;
	struct policy_diff_item it = { 0 };

	/* Both sorted and unique. */
	while (i < d->a->nrelays || j < d->b->nrelays) {
		int c = i == d->a->nrelays ? 1 : j == d->b->nrelays ? -1 :
			memcmp(d->a->relays[i].b, d->b->relays[j].b, 16);

		if (!c) {
			i++;
			j++;
			continue;
		}
		it.kind = c < 0 ? POLICY_DIFF_RELAY_REMOVED :
			  POLICY_DIFF_RELAY_ADDED;
		addr_format(c < 0 ? &d->a->relays[i++] : &d->b->relays[j++],
			    it.name, sizeof(it.name));
		if (emit(d, &it) < 0)
			return -1;
	}
	return 0;
}

static int detection_field(struct policy_diff *d, const char *name,
			   const char *o, const char *n)
{
	struct policy_diff_item it = { .kind = POLICY_DIFF_DETECTION };

	if (!strcmp(o, n))
		return 0;
	snprintf(it.name, sizeof(it.name), "%s", name);
	snprintf(it.old_text, sizeof(it.old_text), "%s", o);
	snprintf(it.new_text, sizeof(it.new_text), "%s", n);
	return emit(d, &it);
}

static void det_ports(const struct policy_detection *x, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < x->nports && o + 8 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%u", i ? "," : "",
				      x->ports[i]);
}

static int diff_detection(struct policy_diff *d)
{
	const struct policy_detection *x = &d->a->detection, *y = &d->b->detection;
	char o[64], n[64];
#define NUM(field) \
	do { \
		snprintf(o, sizeof(o), "%u", x->field); \
		snprintf(n, sizeof(n), "%u", y->field); \
		if (detection_field(d, #field, o, n) < 0) \
			return -1; \
	} while (0)

	if (detection_field(d, "enabled", x->enabled ? "yes" : "no",
			    y->enabled ? "yes" : "no") < 0)
		return -1;
	det_ports(x, o, sizeof(o));
	det_ports(y, n, sizeof(n));
	if (detection_field(d, "ports", o, n) < 0)
		return -1;
	NUM(window_s);
	NUM(syns);
	NUM(distinct_destinations);
	if (detection_field(d, "action", x->quarantine ? "quarantine" : "log",
			    y->quarantine ? "quarantine" : "log") < 0)
		return -1;
	NUM(quarantine_for_s);
	if (detection_field(d, "profile", x->profile >= 0 ?
			    d->a->profiles[x->profile].name : "",
			    y->profile >= 0 ?
			    d->b->profiles[y->profile].name : "") < 0)
		return -1;
	NUM(ipv6_prefix_len);
	NUM(max_subscribers);
#undef NUM
	return 0;
}

/* ---- entries ------------------------------------------------------------ */

static bool str_eq(const char *x, const char *y)
{
	return (!x && !y) || (x && y && !strcmp(x, y));
}

/* Entries of both, in the tables' order (IPv4 then IPv6, each by address
 * then length), matched by prefix. */
static int diff_entries(struct policy_diff *d)
{
	size_t na = policy_entry_count(d->a, 0), nb = policy_entry_count(d->b, 0);
	size_t i = 0, j = 0;
	struct policy_diff_item it = { 0 };

	while (i < na || j < nb) {
		struct addr xa, xb;
		unsigned la = 0, lb = 0;
		int c;

		if (i < na)
			policy_entry_prefix(d->a, (int32_t)i, &xa, &la);
		if (j < nb)
			policy_entry_prefix(d->b, (int32_t)j, &xb, &lb);
		if (i == na)
			c = 1;
		else if (j == nb)
			c = -1;
		else if (addr_is_v4(&xa) != addr_is_v4(&xb))
			c = addr_is_v4(&xa) ? -1 : 1;
		else if ((c = memcmp(xa.b, xb.b, 16)) == 0)
			c = la < lb ? -1 : la > lb;
		memset(&it, 0, sizeof(it));
		it.has_old = c <= 0;
		it.has_new = c >= 0;
		if (it.has_old)
			policy_entry_info(d->a, (int32_t)i++, &it.old_e);
		if (it.has_new)
			policy_entry_info(d->b, (int32_t)j++, &it.new_e);
		if (!c) {
			if (!strcmp(it.old_e.profile, it.new_e.profile) &&
			    str_eq(it.old_e.note, it.new_e.note) &&
			    it.old_e.expires == it.new_e.expires)
				continue;
			it.kind = POLICY_DIFF_ENTRY_CHANGED;
		} else {
			it.kind = c < 0 ? POLICY_DIFF_ENTRY_REMOVED :
				  POLICY_DIFF_ENTRY_ADDED;
		}
		snprintf(it.name, sizeof(it.name), "%s",
			 it.has_old ? it.old_e.prefix : it.new_e.prefix);
		if (emit(d, &it) < 0)
			return -1;
	}
	return 0;
}

/* ---- ranges ------------------------------------------------------------- */

static int cmp_u128(const void *x, const void *y)
{
	u128 a = *(const u128 *)x, b = *(const u128 *)y;

	return a < b ? -1 : a > b;
}

/* Every entry's first address and the one past its last, of p. */
static size_t add_bounds(const struct policy *p, u128 *b, size_t n)
{
	size_t count = policy_entry_count(p, 0);

	for (size_t i = 0; i < count; i++) {
		struct addr a;
		unsigned len;
		u128 lo, size;

		policy_entry_prefix(p, (int32_t)i, &a, &len);
		if (addr_is_v4(&a))
			len += 96;
		lo = addr_u128(&a);
		b[n++] = lo;
		size = len ? (u128)1 << (128 - len) : 0;
		if (len && lo + size != 0)
			b[n++] = lo + size;
	}
	return n;
}

/* The deciding entry of a in p at now, with its profile. */
static int32_t lookup(const struct policy *p, const struct addr *a,
		      int64_t now, uint16_t *profile)
{
	int32_t id;

	if (addr_is_v4(a))
		return table_lookup_profile(p->v4, a, now, profile);
	id = table_lookup_profile(p->v6, a, now, profile);
	return id < 0 ? -1 : id + (int32_t)table_count(p->v4);
}

/* What p decides on port (-1: the ports no profile names, asked with
 * unnamed) for a source of profile prof (-1: in no entry: it passes). */
static int range_action(const struct policy *p, int prof, int port,
			uint16_t unnamed)
{
	if (prof < 0)
		return POLICY_ACCEPT;
	return (int)policy_profile_action(p, prof, port < 0 ? unnamed :
					  (uint16_t)port, NULL);
}

const char *policy_entry_where(const struct policy_entry_info *e, char *buf,
			       size_t len)
{
	if (!e->file)
		snprintf(buf, len, "a live exception");
	else if (!e->line)
		snprintf(buf, len, "%s", e->file);
	else
		snprintf(buf, len, "%s:%u", e->file, e->line);
	return buf;
}

/* Why the decision moves between entry ia of a and ib of b. */
static void range_why(struct policy_diff *d, int32_t ia, int32_t ib,
		      char *why, size_t len)
{
	struct policy_entry_info x, y;
	char wx[200], wy[200];

	if (ia >= 0)
		policy_entry_info(d->a, ia, &x);
	if (ib >= 0)
		policy_entry_info(d->b, ib, &y);
	if (ia >= 0)
		policy_entry_where(&x, wx, sizeof(wx));
	if (ib >= 0)
		policy_entry_where(&y, wy, sizeof(wy));
	if (ia < 0)
		snprintf(why, len, "entry %s added, new %s", y.prefix, wy);
	else if (ib < 0)
		snprintf(why, len, "entry %s removed, old %s", x.prefix, wx);
	else if (strcmp(x.prefix, y.prefix))
		snprintf(why, len, "now decided by %s (%s, new %s), was %s "
			 "(%s, old %s)", y.prefix, y.profile, wy, x.prefix,
			 x.profile, wx);
	else if (strcmp(x.profile, y.profile))
		snprintf(why, len, "entry %s: profile %s → %s, new %s",
			 x.prefix, x.profile, y.profile, wy);
	else
		snprintf(why, len, "profile %s changed", x.profile);
}

/* The run being built: [lo, last], its changes (by port) and why. */
struct run {
	bool open;
	u128 lo, last;
	int32_t ia, ib;			/* the deciding entries (of the first
					 * interval) */
	bool by_profile;		/* what runs merge by: the entries, */
	uint64_t key;			/* or only their profiles when it is
					 * the profile that changed */
	unsigned n;
	int *port, *old, *new_;		/* n of them; room for every named
					 * port and the others */
};

/* Room in r for nports + 1 changes. Returns 0, or -1 (ENOMEM). */
static int run_alloc(struct run *r, unsigned nports)
{
	r->port = calloc(3 * ((size_t)nports + 1), sizeof(int));
	if (!r->port)
		return -1;
	r->old = r->port + nports + 1;
	r->new_ = r->old + nports + 1;
	return 0;
}

/* c into r, its changes copied. */
static void run_copy(struct run *r, const struct run *c)
{
	memcpy(r->port, c->port, c->n * sizeof(int));
	memcpy(r->old, c->old, c->n * sizeof(int));
	memcpy(r->new_, c->new_, c->n * sizeof(int));
	r->ia = c->ia;
	r->ib = c->ib;
	r->by_profile = c->by_profile;
	r->key = c->key;
	r->n = c->n;
}

/* Trailing zero bits of v (128 for 0). */
static unsigned ctz128(u128 v)
{
	if ((uint64_t)v)
		return (unsigned)__builtin_ctzll((uint64_t)v);
	if (v)
		return 64 + (unsigned)__builtin_ctzll((uint64_t)(v >> 64));
	return 128;
}

/* Write [lo, last] as the fewest prefixes, each with every change. */
static int run_flush(struct policy_diff *d, struct run *r)
{
	struct policy_diff_item it = { .kind = POLICY_DIFF_RANGE };
	u128 lo = r->lo;

	if (!r->open)
		return 0;
	r->open = false;
	range_why(d, r->ia, r->ib, it.why, sizeof(it.why));
	for (;;) {
		unsigned k = ctz128(lo);
		struct addr a;
		char text[48];
		unsigned len;

		while (k && (k == 128 ? r->last != U128_MAX :
			     lo + (((u128)1 << k) - 1) > r->last))
			k--;
		u128_addr(lo, &a);
		len = 128 - k;
		addr_format(&a, text, sizeof(text));
		if (addr_is_v4(&a) && len >= 96)
			len -= 96;
		snprintf(it.name, sizeof(it.name), "%s/%u", text, len);
		for (unsigned i = 0; i < r->n; i++) {
			it.port = r->port[i];
			it.old_action = r->old[i];
			it.new_action = r->new_[i];
			if (emit(d, &it) < 0)
				return -1;
		}
		if (k == 128 || lo + (((u128)1 << k) - 1) == r->last)
			break;
		lo += (u128)1 << k;
	}
	return 0;
}

static bool run_same(const struct run *r, const struct run *c)
{
	if (r->n != c->n || r->by_profile != c->by_profile ||
	    r->key != c->key)
		return false;
	for (unsigned i = 0; i < r->n; i++)
		if (r->port[i] != c->port[i] || r->old[i] != c->old[i] ||
		    r->new_[i] != c->new_[i])
			return false;
	return true;
}

/* Whether entry ia of a and ib of b have one prefix. */
static bool same_entry(const struct policy_diff *d, int32_t ia, int32_t ib)
{
	struct addr x, y;
	unsigned lx, ly;

	return !policy_entry_prefix(d->a, ia, &x, &lx) &&
	       !policy_entry_prefix(d->b, ib, &y, &ly) && lx == ly &&
	       !memcmp(x.b, y.b, sizeof(x.b));
}

/* The interval from lo: its changes into c (c->n 0: none). */
static void interval(struct policy_diff *d, u128 lo, struct run *c,
		     uint16_t unnamed)
{
	struct addr a;
	uint16_t fa = 0, fb = 0;
	int pa, pb;

	u128_addr(lo, &a);
	c->ia = lookup(d->a, &a, d->now, &fa);
	c->ib = lookup(d->b, &a, d->now, &fb);
	c->n = 0;
	if (c->ia < 0 && c->ib < 0)
		return;
	pa = c->ia < 0 ? -1 : fa;
	pb = c->ib < 0 ? -1 : fb;
	if (pa >= 0 && pb >= 0 &&
	    d->same[(size_t)pa * d->b->nprofiles + (size_t)pb])
		return;
	/* The same entry with the same profile on both sides: what changed
	 * is the profile, for every entry of it alike. */
	c->by_profile = pa >= 0 && pb >= 0 && same_entry(d, c->ia, c->ib) &&
			!strcmp(d->a->profiles[pa].name, d->b->profiles[pb].name);
	/* Unsigned: an id of -1 (no entry) shifted is no overflow. */
	c->key = c->by_profile ?
		 (uint64_t)pa * d->b->nprofiles + (uint64_t)pb :
		 (uint64_t)(uint32_t)c->ia << 32 | (uint32_t)c->ib;
	/* The named ports, then the others (if any port is left unnamed). */
	for (unsigned i = 0; i < d->nports + (d->nports < 65536); i++) {
		int port = i < d->nports ? d->ports[i] : -1;
		int x = range_action(d->a, pa, port, unnamed);
		int y = range_action(d->b, pb, port, unnamed);

		if (x == y)
			continue;
		c->port[c->n] = port;
		c->old[c->n] = x;
		c->new_[c->n] = y;
		c->n++;
	}
}

static int diff_ranges(struct policy_diff *d)
{
	size_t cap = 2 * (policy_entry_count(d->a, 0) +
			  policy_entry_count(d->b, 0)) + 4, n = 0, u = 0;
	u128 *b = malloc(cap * sizeof(*b));
	struct run *r = calloc(2, sizeof(*r)), *c;
	uint16_t unnamed = 0;
	int ret = -1;

	if (!b || !r || run_alloc(&r[0], d->nports) < 0 ||
	    run_alloc(&r[1], d->nports) < 0)
		goto out;
	c = &r[1];
	/* A port no profile names, to ask the defaults with. */
	for (unsigned i = 0; i < d->nports && d->ports[i] == unnamed; i++)
		unnamed++;
	b[n++] = 0;
	b[n++] = MAPPED_LO;
	b[n++] = MAPPED_HI + 1;
	n = add_bounds(d->a, b, n);
	n = add_bounds(d->b, b, n);
	qsort(b, n, sizeof(*b), cmp_u128);
	for (size_t i = 0; i < n; i++)
		if (!u || b[i] != b[u - 1])
			b[u++] = b[i];
	for (size_t i = 0; i < u; i++) {
		u128 last = i + 1 < u ? b[i + 1] - 1 : U128_MAX;

		interval(d, b[i], c, unnamed);
		if (r->open && run_same(r, c) && r->last + 1 == b[i]) {
			r->last = last;
			continue;
		}
		if (run_flush(d, r) < 0)
			goto out;
		if (c->n) {
			run_copy(r, c);
			r->open = true;
			r->lo = b[i];
			r->last = last;
		}
	}
	ret = run_flush(d, r);
out:
	if (ret < 0 && !errno)
		errno = ENOMEM;
	free(b);
	if (r) {
		free(r[0].port);
		free(r[1].port);
	}
	free(r);
	return ret;
}

long policy_diff(const struct policy *a, const struct policy *b, int64_t now,
		 policy_diff_fn fn, void *ctx)
{
	struct policy_diff d = { .a = a, .b = b, .now = now, .fn = fn,
				 .ctx = ctx };

	d.ports = malloc(65536 * sizeof(*d.ports));
	if (!d.ports) {
		errno = ENOMEM;
		return -1;
	}
	d.nports = named_ports(a, b, d.ports);
	d.same = calloc((size_t)a->nprofiles * b->nprofiles + 1,
			sizeof(*d.same));
	if (!d.same) {
		free(d.ports);
		errno = ENOMEM;
		return -1;
	}
	for (unsigned i = 0; i < a->nprofiles; i++)
		for (unsigned j = 0; j < b->nprofiles; j++)
			d.same[i * b->nprofiles + j] = profiles_same(&d, i, j);
	errno = 0;
	if (diff_mode(&d) < 0 || diff_profiles(&d) < 0 ||
	    diff_relays(&d) < 0 || diff_detection(&d) < 0 ||
	    diff_entries(&d) < 0 || diff_ranges(&d) < 0) {
		free(d.ports);
		free(d.same);
		return -1;
	}
	free(d.ports);
	free(d.same);
	return (long)d.items;
}
