// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/ruleset.h"

/* The aggregates of family as "prefix/len" strings. */
static char **aggregates(const struct policy *p, int family, size_t *n)
{
	size_t count = policy_aggregates(p, family, NULL, 0);
	int32_t *ids = calloc(count ? count : 1, sizeof(*ids));
	char **out = calloc(count ? count : 1, sizeof(*out));
	struct policy_entry_info e;

	if (!ids || !out)
		goto fail;
	policy_aggregates(p, family, ids, count);
	for (size_t i = 0; i < count; i++) {
		if (policy_entry_info(p, ids[i], &e) < 0 ||
		    !(out[i] = strdup(e.prefix)))
			goto fail;
	}
	free(ids);
	*n = count;
	return out;
fail:
	for (size_t i = 0; out && i < count; i++)
		free(out[i]);
	free(out);
	free(ids);
	errno = ENOMEM;
	return NULL;
}

/* The relays of family as address strings. */
static char **relays(const struct policy *p, int family, size_t *n)
{
	size_t total = policy_relay_count(p), count = 0;
	char **out = calloc(total ? total : 1, sizeof(*out));
	char buf[64];

	for (size_t i = 0; out && i < total; i++) {
		const struct addr *a = policy_relay(p, i);

		if (addr_is_v4(a) != (family == AF_INET))
			continue;
		out[count] = strdup(addr_format(a, buf, sizeof(buf)));
		if (!out[count++])
			goto fail;
	}
	*n = count;
	return out;
fail:
	for (size_t i = 0; i < count; i++)
		free(out[i]);
	free(out);
	errno = ENOMEM;
	return NULL;
}

/* A port no profile lists, to ask a profile its default through the
 * decision itself; 0 when every port is listed. */
static uint16_t unlisted_port(const struct policy_ruleset *rs)
{
	static const unsigned bits = 8 * sizeof(unsigned long);
	unsigned long seen[65536 / (8 * sizeof(unsigned long))] = { 0 };

	for (size_t i = 0; i < rs->desc.nports; i++)
		seen[rs->ports[i].port / bits] |=
			1ul << rs->ports[i].port % bits;
	for (unsigned port = 1; port < 65536; port++)
		if (!(seen[port / bits] & 1ul << port % bits))
			return (uint16_t)port;
	return 0;
}

/*
 * What a quarantined source may do, port by port, into q (actions a):
 * decision rule 3 exactly as the daemon applies it, by
 * policy_decide_quarantined. False when the policy quarantines nobody.
 */
static bool fallback_quarantine(struct policy_ruleset *rs,
				const struct policy *p,
				struct rules_profile *q, uint8_t *a)
{
	const struct policy_detection *det = policy_detection(p);
	struct policy_flow flow = { .dport = 0 };
	struct policy_decision d = { .reason = POLICY_REASON_DEFAULT };
	uint16_t other = unlisted_port(rs);

	if (!det->enabled || !det->quarantine)
		return false;
	for (size_t i = 0; i <= rs->desc.nports; i++) {
		flow.dport = i < rs->desc.nports ? rs->ports[i].port : other;
		d.reason = POLICY_REASON_DEFAULT;
		policy_decide_quarantined(p, &flow, &d);
		if (d.reason != POLICY_REASON_QUARANTINE)
			return false;
		if (i < rs->desc.nports)
			a[i] = (uint8_t)d.action;
		else
			q->other = (uint8_t)(other ? d.action :
				   policy_profile_default(p, d.profile));
	}
	q->name = policy_profile_name(p, d.profile);
	q->action = a;
	return true;
}

/* The fallback's profiles: each one's action on every port of the
 * description (listed or its default), and its default; after them, at
 * index n, what a quarantined source may do. */
static int fallback_profiles(struct policy_ruleset *rs, const struct policy *p)
{
	unsigned n = policy_profile_count(p);
	size_t np = rs->desc.nports;

	rs->profiles = calloc(n + 1, sizeof(*rs->profiles));
	rs->actions = calloc((n + 1) * np + 1, 1);
	if (!rs->profiles || !rs->actions)
		return -1;
	for (unsigned k = 0; k < n; k++) {
		uint8_t *a = rs->actions + (size_t)k * np;

		for (size_t i = 0; i < np; i++)
			a[i] = (uint8_t)policy_profile_action(p, (int)k,
					rs->ports[i].port, NULL);
		rs->profiles[k].name = policy_profile_name(p, (int)k);
		rs->profiles[k].action = a;
		rs->profiles[k].other = (uint8_t)policy_profile_default(p,
								       (int)k);
	}
	rs->desc.profiles = rs->profiles;
	rs->desc.nprofiles = n;
	if (fallback_quarantine(rs, p, &rs->profiles[n],
				rs->actions + (size_t)n * np))
		rs->desc.quarantine = &rs->profiles[n];
	return 0;
}

/* Whether profiles a and b decide the fallback's SYNs alike: every
 * named port, and with all_ports every other port too. */
static bool same_fallback(const struct policy_ruleset *rs, int a, int b)
{
	const struct rules_profile *x = &rs->profiles[a], *y = &rs->profiles[b];

	if (a == b)
		return true;
	if (rs->desc.all_ports && x->other != y->other)
		return false;
	for (size_t i = 0; i < rs->desc.nports; i++)
		if (x->action[i] != y->action[i])
			return false;
	return true;
}

static bool live(const struct policy_entry_info *e, int64_t now)
{
	return !e->expires || e->expires > now;
}

/*
 * One fallback entry per live entry, at its depth (the entries around
 * it). An entry is left out when the live entry around it decides the
 * same and outlives it: then the kernel's answer is that entry's anyway,
 * for as long as it would have been its own.
 */
static int fallback_entries(struct policy_ruleset *rs, const struct policy *p,
			    int64_t now)
{
	size_t total = policy_entry_count(p, AF_INET) +
		       policy_entry_count(p, AF_INET6), n = 0;
	struct policy_entry_info e, up;

	rs->entries = calloc(total ? total : 1, sizeof(*rs->entries));
	if (!rs->entries)
		return -1;
	for (size_t id = 0; id < total; id++) {
		struct rules_entry *re = &rs->entries[n];
		struct addr addr;
		unsigned len, depth = 0;
		int32_t a, around = -1;

		if (policy_entry_info(p, (int32_t)id, &e) < 0 || !live(&e, now) ||
		    policy_entry_prefix(p, (int32_t)id, &addr, &len) < 0)
			continue;
		for (a = e.parent; a >= 0; a = up.parent) {
			if (policy_entry_info(p, a, &up) < 0)
				break;
			if (around < 0 && live(&up, now)) {
				around = a;
				if (same_fallback(rs, e.profile_id,
						  up.profile_id) &&
				    (!up.expires || (e.expires &&
						     e.expires <= up.expires)))
					break;
			}
			depth++;
		}
		if (a >= 0 && around == a)
			continue;	/* left out, as above */
		re->e.v6 = !addr_is_v4(&addr);
		memcpy(re->e.addr, re->e.v6 ? addr.b : addr.b + 12,
		       re->e.v6 ? 16 : 4);
		re->e.len = (uint8_t)len;
		if (e.expires)
			re->e.timeout = e.expires - now > RULES_TIMEOUT_MAX ?
					RULES_TIMEOUT_MAX :
					(uint32_t)(e.expires - now);
		re->depth = (uint16_t)depth;
		re->profile = (uint16_t)e.profile_id;
		n++;
	}
	rs->desc.entries = rs->entries;
	rs->desc.nentries = n;
	return 0;
}

int policy_ruleset_build(struct policy_ruleset *rs, const struct policy *p,
			 unsigned queues, int64_t now)
{
	struct policy_port *pp = NULL;
	bool all_ports;
	unsigned n;

	memset(rs, 0, sizeof(*rs));
	n = policy_ports(p, NULL, 0, &all_ports);
	pp = calloc(n ? n : 1, sizeof(*pp));
	rs->ports = calloc(n ? n : 1, sizeof(*rs->ports));
	if (!pp || !rs->ports)
		goto fail;
	policy_ports(p, pp, n, NULL);
	for (unsigned i = 0; i < n; i++) {
		rs->ports[i].port = pp[i].port;
		rs->ports[i].fail_closed = pp[i].fail_closed;
	}
	rs->v4 = aggregates(p, AF_INET, &rs->desc.nv4);
	rs->v6 = aggregates(p, AF_INET6, &rs->desc.nv6);
	rs->r4 = relays(p, AF_INET, &rs->desc.nrelays4);
	rs->r6 = relays(p, AF_INET6, &rs->desc.nrelays6);
	if (!rs->v4 || !rs->v6 || !rs->r4 || !rs->r6)
		goto fail;
	rs->desc.relays4 = (const char *const *)rs->r4;
	rs->desc.relays6 = (const char *const *)rs->r6;
	rs->desc.v4 = (const char *const *)rs->v4;
	rs->desc.v6 = (const char *const *)rs->v6;
	rs->desc.ports = rs->ports;
	rs->desc.nports = n;
	rs->desc.all_ports = all_ports;
	rs->desc.closed_first = 0;
	rs->desc.closed_last = (uint16_t)(queues - 1);
	rs->desc.open_first = (uint16_t)queues;
	rs->desc.open_last = (uint16_t)(2 * queues - 1);
	rs->desc.reject_mark = RULES_REJECT_MARK;
	rs->desc.reject_mask = RULES_REJECT_MARK;
	rs->desc.monitor = policy_mode(p) == POLICY_MODE_MONITOR;
	rs->desc.now = now;
	if (fallback_profiles(rs, p) < 0 || fallback_entries(rs, p, now) < 0)
		goto fail;
	free(pp);
	return 0;
fail:
	free(pp);
	policy_ruleset_free(rs);
	errno = ENOMEM;
	return -1;
}

void policy_ruleset_free(struct policy_ruleset *rs)
{
	for (size_t i = 0; rs->v4 && i < rs->desc.nv4; i++)
		free(rs->v4[i]);
	for (size_t i = 0; rs->v6 && i < rs->desc.nv6; i++)
		free(rs->v6[i]);
	for (size_t i = 0; rs->r4 && i < rs->desc.nrelays4; i++)
		free(rs->r4[i]);
	for (size_t i = 0; rs->r6 && i < rs->desc.nrelays6; i++)
		free(rs->r6[i]);
	free(rs->v4);
	free(rs->v6);
	free(rs->r4);
	free(rs->r6);
	free(rs->ports);
	free(rs->profiles);
	free(rs->actions);
	free(rs->entries);
	memset(rs, 0, sizeof(*rs));
}

static bool strings_equal(const char *const *a, size_t na,
			  const char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

bool policy_ruleset_equal(const struct policy_ruleset *a,
			  const struct policy_ruleset *b)
{
	const struct rules_desc *x = &a->desc, *y = &b->desc;

	return strings_equal(x->v4, x->nv4, y->v4, y->nv4) &&
	       strings_equal(x->v6, x->nv6, y->v6, y->nv6) &&
	       strings_equal(x->relays4, x->nrelays4, y->relays4,
			     y->nrelays4) &&
	       strings_equal(x->relays6, x->nrelays6, y->relays6,
			     y->nrelays6) &&
	       x->nports == y->nports && x->all_ports == y->all_ports &&
	       !memcmp(x->ports, y->ports, x->nports * sizeof(*x->ports)) &&
	       x->closed_last == y->closed_last && x->open_last == y->open_last;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted copy of set[0 .. n), for bsearch; NULL with ENOMEM. */
static const char **sorted(const char *const *set, size_t n)
{
	const char **s = malloc((n ? n : 1) * sizeof(*s));

	if (!s)
		return NULL;
	memcpy(s, set, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_str);
	return s;
}

static bool in_sorted(const char **s, size_t n, const char *x)
{
	return n && bsearch(&x, s, n, sizeof(*s), cmp_str) != NULL;
}

/*
 * a ∪ b (both) or a ∩ b (!both) of string arrays, each without repeats,
 * into *out: a's in order, then b's not in a. n log n: a reload with a
 * million aggregates must not take hours on the main thread.
 */
static char **strings_merge(const char *const *a, size_t na,
			    const char *const *b, size_t nb, bool both,
			    size_t *n)
{
	char **out = calloc(na + nb + 1, sizeof(*out));
	const char **sa = sorted(a, na), **sb = sorted(b, nb);
	size_t k = 0;

	if (!out || !sa || !sb)
		goto fail;
	for (size_t i = 0; i < na; i++)
		if ((both || in_sorted(sb, nb, a[i])) &&
		    !(out[k++] = strdup(a[i])))
			goto fail;
	for (size_t i = 0; both && i < nb; i++)
		if (!in_sorted(sa, na, b[i]) && !(out[k++] = strdup(b[i])))
			goto fail;
	free(sa);
	free(sb);
	*n = k;
	return out;
fail:
	for (size_t i = 0; out && i < k; i++)
		free(out[i]);
	free(out);
	free(sa);
	free(sb);
	return NULL;
}

int policy_ruleset_union(struct policy_ruleset *out,
			 const struct policy_ruleset *a,
			 const struct policy_ruleset *b)
{
	const struct rules_desc *x = &a->desc, *y = &b->desc;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	out->desc = *x;
	out->v4 = strings_merge(x->v4, x->nv4, y->v4, y->nv4, true,
				&out->desc.nv4);
	out->v6 = strings_merge(x->v6, x->nv6, y->v6, y->nv6, true,
				&out->desc.nv6);
	out->r4 = strings_merge(x->relays4, x->nrelays4, y->relays4,
				y->nrelays4, false, &out->desc.nrelays4);
	out->r6 = strings_merge(x->relays6, x->nrelays6, y->relays6,
				y->nrelays6, false, &out->desc.nrelays6);
	out->ports = calloc(x->nports + y->nports + 1, sizeof(*out->ports));
	if (!out->v4 || !out->v6 || !out->r4 || !out->r6 || !out->ports) {
		policy_ruleset_free(out);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < x->nports + y->nports; i++) {
		const struct rules_port *pt = i < x->nports ? &x->ports[i]
					      : &y->ports[i - x->nports];
		size_t j;

		for (j = 0; j < n && out->ports[j].port != pt->port; j++)
			;
		if (j == n)
			out->ports[n++] = *pt;
		else
			out->ports[j].fail_closed |= pt->fail_closed;
	}
	out->desc.v4 = (const char *const *)out->v4;
	out->desc.v6 = (const char *const *)out->v6;
	out->desc.relays4 = (const char *const *)out->r4;
	out->desc.relays6 = (const char *const *)out->r6;
	out->desc.ports = out->ports;
	out->desc.nports = n;
	out->desc.all_ports = x->all_ports || y->all_ports;
	/* The new fallback, borrowed: the union lives for one swap. */
	out->desc.monitor = y->monitor;
	out->desc.profiles = y->profiles;
	out->desc.nprofiles = y->nprofiles;
	out->desc.quarantine = y->quarantine;
	out->desc.entries = y->entries;
	out->desc.nentries = y->nentries;
	out->desc.now = y->now;
	if (y->profiles) {
		/* Profiles, the quarantine's last, act on the union's ports,
		 * in its order. */
		size_t np = y->nprofiles + !!y->quarantine;

		out->actions = calloc(np * n + 1, 1);
		out->profiles = calloc(np + 1, sizeof(*out->profiles));
		if (!out->actions || !out->profiles) {
			policy_ruleset_free(out);
			errno = ENOMEM;
			return -1;
		}
		for (size_t k = 0; k < np; k++) {
			const struct rules_profile *from = k < y->nprofiles ?
				&y->profiles[k] : y->quarantine;
			uint8_t *act = out->actions + k * n;

			for (size_t i = 0; i < n; i++) {
				act[i] = from->other;
				for (size_t j = 0; j < y->nports; j++)
					if (y->ports[j].port ==
					    out->ports[i].port)
						act[i] = from->action[j];
			}
			out->profiles[k] = *from;
			out->profiles[k].action = act;
		}
		out->desc.profiles = out->profiles;
		if (y->quarantine)
			out->desc.quarantine = &out->profiles[y->nprofiles];
	}
	return 0;
}
