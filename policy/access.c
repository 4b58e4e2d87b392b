// SPDX-License-Identifier: GPL-2.0-or-later
/* Read-only views of the compiled policy for the command, stats and rules. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "internal.h"

const char *policy_profile_name(const struct policy *p, int profile)
{
	if (profile < 0 || (unsigned)profile >= p->nprofiles)
		return NULL;
	return p->profiles[profile].name;
}

unsigned policy_profile_count(const struct policy *p)
{
	return p->nprofiles;
}

enum policy_action policy_profile_default(const struct policy *p, int profile)
{
	return p->profiles[profile].def;
}

unsigned policy_profile_ports(const struct policy *p, int profile,
			      uint16_t *ports, unsigned max)
{
	const struct profile *pr = &p->profiles[profile];

	for (unsigned i = 0; i < pr->nports && i < max; i++)
		ports[i] = pr->ports[i];
	return pr->nports;
}

enum policy_mode policy_mode(const struct policy *p)
{
	return p->mode;
}

const char *policy_path(const struct policy *p)
{
	return p->path;
}

const struct policy_detection *policy_detection(const struct policy *p)
{
	return &p->detection;
}

const struct policy_log *policy_log_config(const struct policy *p)
{
	return &p->log;
}

size_t policy_entry_count(const struct policy *p, int family)
{
	if (family == AF_INET)
		return table_count(p->v4);
	if (family == AF_INET6)
		return table_count(p->v6);
	return table_count(p->v4) + table_count(p->v6);
}

size_t policy_relay_count(const struct policy *p)
{
	return p->nrelays;
}

const struct addr *policy_relay(const struct policy *p, size_t i)
{
	return i < p->nrelays ? &p->relays[i] : NULL;
}

/* The table holding id and id's index in it. */
static const struct table *entry_table(const struct policy *p, int32_t *id)
{
	size_t n4 = table_count(p->v4);

	if (*id < 0)
		return NULL;
	if ((size_t)*id < n4)
		return p->v4;
	*id -= (int32_t)n4;
	if ((size_t)*id < table_count(p->v6))
		return p->v6;
	return NULL;
}

int policy_entry_info(const struct policy *p, int32_t id,
		      struct policy_entry_info *info)
{
	const struct table *t;
	struct table_entry e;
	char addr[INET6_ADDRSTRLEN];
	int32_t local = id;

	t = entry_table(p, &local);
	if (!t || table_entry_get(t, local, &e) < 0) {
		errno = EINVAL;
		return -1;
	}
	addr_format(&e.addr, addr, sizeof(addr));
	snprintf(info->prefix, sizeof(info->prefix), "%s/%u", addr, e.len);
	info->profile = p->profiles[e.profile].name;
	info->profile_id = e.profile;
	info->expires = e.expires;
	info->note = NULL;
	info->file = NULL;
	info->line = 0;
	if (e.origin != TABLE_NO_ORIGIN && e.origin < p->nmeta) {
		info->note = p->meta[e.origin].note;
		info->file = p->meta[e.origin].file;
		info->line = p->meta[e.origin].line;
	}
	info->parent = -1;
	if (e.parent >= 0)
		info->parent = t == p->v4 ? e.parent
			: e.parent + (int32_t)table_count(p->v4);
	return 0;
}

void policy_entry_prefetch(const struct policy *p, int32_t id)
{
	const struct table *t = entry_table(p, &id);

	if (t)
		table_entry_prefetch(t, id);
}

int policy_entry_prefix(const struct policy *p, int32_t id,
			struct addr *addr, unsigned *len)
{
	const struct table *t;
	int32_t local = id;
	uint8_t l;

	t = entry_table(p, &local);
	if (!t || table_entry_prefix(t, local, addr, &l) < 0) {
		errno = EINVAL;
		return -1;
	}
	*len = l;
	return 0;
}

size_t policy_aggregates(const struct policy *p, int family, int32_t *ids,
			 size_t max)
{
	const struct table *t = family == AF_INET ? p->v4 : p->v6;
	int32_t base = family == AF_INET ? 0 : (int32_t)table_count(p->v4);
	size_t n = table_count(t), found = 0;
	struct table_entry e;

	for (size_t i = 0; i < n; i++) {
		if (table_entry_get(t, (int32_t)i, &e) < 0 || e.parent >= 0)
			continue;
		if (ids && found < max)
			ids[found] = base + (int32_t)i;
		found++;
	}
	return found;
}

size_t policy_expiring(const struct policy *p, int64_t now, int64_t within,
		       int32_t *ids, size_t max)
{
	const struct table *tables[2] = { p->v4, p->v6 };
	int32_t base = 0;
	size_t found = 0;
	struct table_entry e;

	for (int t = 0; t < 2; t++) {
		size_t n = table_count(tables[t]);

		for (size_t i = 0; i < n; i++) {
			if (table_entry_get(tables[t], (int32_t)i, &e) < 0 ||
			    !e.expires || e.expires <= now ||
			    e.expires > now + within)
				continue;
			if (ids && found < max)
				ids[found] = base + (int32_t)i;
			found++;
		}
		base += (int32_t)n;
	}
	return found;
}

/* Whether subscriber entries use profile i (detection's alone does not). */
static void profiles_in_use(const struct policy *p, bool *used)
{
	const struct table *tables[2] = { p->v4, p->v6 };

	for (int t = 0; t < 2; t++) {
		size_t n = table_count(tables[t]);

		for (size_t i = 0; i < n; i++)
			used[table_profile(tables[t], (int32_t)i)] = true;
	}
}

unsigned policy_ports(const struct policy *p, struct policy_port *ports,
		      unsigned max, bool *all_ports)
{
	static const size_t nbits = 65536 / 64;
	uint64_t named[65536 / 64] = { 0 }, closed[65536 / 64] = { 0 };
	bool *used = calloc(p->nprofiles ? p->nprofiles : 1, sizeof(*used));
	unsigned n = 0;

	if (all_ports)
		*all_ports = false;
	if (used)
		profiles_in_use(p, used);
	for (unsigned i = 0; i < p->nprofiles; i++) {
		const struct profile *pr = &p->profiles[i];
		bool in_use = !used || used[i];

		for (unsigned j = 0; j < pr->nports; j++) {
			uint16_t port = pr->ports[j];

			named[port / 64] |= 1ULL << (port % 64);
			if (in_use && pr->actions[j] != POLICY_ACCEPT)
				closed[port / 64] |= 1ULL << (port % 64);
		}
		if (in_use && pr->def != POLICY_ACCEPT && all_ports)
			*all_ports = true;
	}
	for (unsigned i = 0; p->detection.enabled && i < p->detection.nports;
	     i++)
		named[p->detection.ports[i] / 64] |=
			1ULL << (p->detection.ports[i] % 64);
	for (size_t w = 0; w < nbits; w++) {
		for (uint64_t bits = named[w]; bits; bits &= bits - 1) {
			unsigned port = (unsigned)(w * 64) +
					(unsigned)__builtin_ctzll(bits);

			if (n < max) {
				ports[n].port = (uint16_t)port;
				ports[n].fail_closed =
					closed[w] & (1ULL << (port % 64));
			}
			n++;
		}
	}
	free(used);
	return n;
}
