// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filter/ruleset.h"

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
		const struct policy_addr *a = policy_relay(p, i);

		if (policy_addr_is_v4(a) != (family == AF_INET))
			continue;
		out[count] = strdup(policy_addr_format(a, buf, sizeof(buf)));
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

int ruleset_build(struct ruleset *rs, const struct policy *p,
		  unsigned queues)
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
	rs->desc.reject_mark = RULESET_REJECT_MARK;
	rs->desc.reject_mask = RULESET_REJECT_MARK;
	free(pp);
	return 0;
fail:
	free(pp);
	ruleset_free(rs);
	errno = ENOMEM;
	return -1;
}

void ruleset_free(struct ruleset *rs)
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

bool ruleset_equal(const struct ruleset *a, const struct ruleset *b)
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

static bool contains(const char *const *set, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i], s))
			return true;
	return false;
}

/* a ∪ b (both) or a ∩ b (!both) of string arrays into *out. */
static char **strings_merge(const char *const *a, size_t na,
			    const char *const *b, size_t nb, bool both,
			    size_t *n)
{
	char **out = calloc(na + nb + 1, sizeof(*out));
	size_t k = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < na; i++)
		if ((both || contains(b, nb, a[i])) &&
		    !(out[k++] = strdup(a[i])))
			goto fail;
	for (size_t i = 0; both && i < nb; i++)
		if (!contains((const char *const *)out, k, b[i]) &&
		    !(out[k++] = strdup(b[i])))
			goto fail;
	*n = k;
	return out;
fail:
	for (size_t i = 0; i < k; i++)
		free(out[i]);
	free(out);
	return NULL;
}

int ruleset_union(struct ruleset *out, const struct ruleset *a,
		  const struct ruleset *b)
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
		ruleset_free(out);
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
	return 0;
}
