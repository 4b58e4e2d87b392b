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
	if (!rs->v4 || !rs->v6)
		goto fail;
	rs->desc.v4 = (const char *const *)rs->v4;
	rs->desc.v6 = (const char *const *)rs->v6;
	rs->desc.ports = rs->ports;
	rs->desc.nports = n;
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
	free(rs->v4);
	free(rs->v6);
	free(rs->ports);
	memset(rs, 0, sizeof(*rs));
}
