// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter/generation.h"

struct generation *generation_new(struct policy *p, unsigned nthreads)
{
	struct policy_port ports[GENERATION_PORTS];
	struct generation *g = calloc(1, sizeof(*g));
	unsigned n;

	if (!g)
		return NULL;
	g->counts = calloc(nthreads ? nthreads : 1, sizeof(*g->counts));
	if (!g->counts) {
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	g->blocks_closed = calloc(policy_profile_count(p) + 1,
				  sizeof(*g->blocks_closed));
	if (!g->blocks_closed) {
		free(g->counts);
		free(g);
		errno = ENOMEM;
		return NULL;
	}
	n = policy_ports(p, ports, GENERATION_PORTS, NULL);
	for (unsigned i = 0; i < n && i < GENERATION_PORTS; i++)
		for (unsigned pr = 0; ports[i].fail_closed &&
		     pr < policy_profile_count(p); pr++)
			if (policy_profile_action(p, (int)pr, ports[i].port,
						  NULL) != POLICY_ACCEPT)
				g->blocks_closed[pr] = true;
	g->nports = n < GENERATION_PORTS ? n : GENERATION_PORTS;
	memset(g->port_slot, (int)g->nports, sizeof(g->port_slot));
	for (unsigned i = 0; i < g->nports; i++) {
		g->ports[i] = ports[i].port;
		g->port_slot[ports[i].port] = (uint8_t)i;
	}
	g->p = p;
	g->nthreads = nthreads;
	return g;
}

static const char *profile_label(const struct generation *g, unsigned slot)
{
	if (slot == GENERATION_PROFILES)
		return "";
	if (slot == GENERATION_PROFILES + 1)
		return "(other)";
	return policy_profile_name(g->p, (int)slot);
}

/* Sum over threads of one cell. */
static uint64_t cell(const struct generation *g, unsigned a, unsigned ps,
		     unsigned pt)
{
	uint64_t sum = 0;

	for (unsigned t = 0; t < g->nthreads; t++)
		sum += atomic_load_explicit(&g->counts[t].v[a][ps][pt],
					    memory_order_relaxed);
	return sum;
}

struct generation_total *generation_total(struct generation_totals *t,
					  uint8_t action, const char *profile,
					  uint16_t port)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->t[i].action == action && t->t[i].port == port &&
		    !strcmp(t->t[i].profile, profile))
			return &t->t[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 32;
		struct generation_total *n = realloc(t->t, cap * sizeof(*n));

		if (!n)
			return NULL;
		t->t = n;
		t->cap = cap;
	}
	memset(&t->t[t->n], 0, sizeof(t->t[0]));
	t->t[t->n].action = action;
	t->t[t->n].port = port;
	strncpy(t->t[t->n].profile, profile, sizeof(t->t[0].profile) - 1);
	return &t->t[t->n++];
}

int generation_fold(const struct generation *g,
		    struct generation_totals *totals)
{
	for (unsigned a = 0; a < 3; a++)
		for (unsigned ps = 0; ps < GENERATION_PROFILES + 2; ps++)
			for (unsigned pt = 0; pt <= g->nports; pt++) {
				uint64_t c = cell(g, a, ps, pt);
				const char *name = profile_label(g, ps);
				struct generation_total *t;

				if (!c || !name)
					continue;
				t = generation_total(totals, (uint8_t)a, name,
					       pt < g->nports ? g->ports[pt]
							      : 0);
				if (!t) {
					errno = ENOMEM;
					return -1;
				}
				t->count += c;
			}
	return 0;
}

void generation_metrics(const struct generation *g,
			const struct generation_totals *totals,
			struct strbuf *out)
{
	struct generation_totals now = { 0 };

	/* The live counts join the retired ones by name, then print. */
	for (size_t i = 0; i < totals->n; i++) {
		struct generation_total *t;

		t = generation_total(&now, totals->t[i].action,
			       totals->t[i].profile, totals->t[i].port);
		if (t)
			t->count += totals->t[i].count;
	}
	generation_fold(g, &now);
	strbuf_printf(out, "# HELP portcullis_verdicts_total SYNs judged, by "
		      "the policy's action, profile (empty: relay or not a "
		      "subscriber) and port (other: a port the policy does "
		      "not name).\n# TYPE portcullis_verdicts_total counter\n");
	for (size_t i = 0; i < now.n; i++) {
		strbuf_printf(out, "portcullis_verdicts_total{action=\"%s\","
			      "profile=", policy_action_name(now.t[i].action));
		strbuf_json(out, now.t[i].profile);
		if (now.t[i].port)
			strbuf_printf(out, ",port=\"%u\"} %llu\n",
				      now.t[i].port,
				      (unsigned long long)now.t[i].count);
		else
			strbuf_printf(out, ",port=\"other\"} %llu\n",
				      (unsigned long long)now.t[i].count);
	}
	generation_totals_free(&now);
}

void generation_free(struct generation *g)
{
	if (!g)
		return;
	policy_free(g->p);
	free(g->blocks_closed);
	free(g->counts);
	free(g);
}

void generation_totals_free(struct generation_totals *t)
{
	free(t->t);
	memset(t, 0, sizeof(*t));
}
