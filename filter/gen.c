// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter/gen.h"

struct gen *gen_new(struct policy *p, unsigned nthreads)
{
	struct policy_port ports[GEN_PORTS];
	struct gen *g = calloc(1, sizeof(*g));
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
	n = policy_ports(p, ports, GEN_PORTS, NULL);
	for (unsigned i = 0; i < n && i < GEN_PORTS; i++)
		for (unsigned pr = 0; ports[i].fail_closed &&
		     pr < policy_profile_count(p); pr++)
			if (policy_profile_action(p, (int)pr, ports[i].port,
						  NULL) != POLICY_ACCEPT)
				g->blocks_closed[pr] = true;
	g->nports = n < GEN_PORTS ? n : GEN_PORTS;
	memset(g->port_slot, (int)g->nports, sizeof(g->port_slot));
	for (unsigned i = 0; i < g->nports; i++) {
		g->ports[i] = ports[i].port;
		g->port_slot[ports[i].port] = (uint8_t)i;
	}
	g->p = p;
	g->nthreads = nthreads;
	return g;
}

static const char *profile_label(const struct gen *g, unsigned slot)
{
	if (slot == GEN_PROFILES)
		return "";
	if (slot == GEN_PROFILES + 1)
		return "(other)";
	return policy_profile_name(g->p, (int)slot);
}

/* Sum over threads of one cell. */
static uint64_t cell(const struct gen *g, unsigned a, unsigned ps,
		     unsigned pt)
{
	uint64_t sum = 0;

	for (unsigned t = 0; t < g->nthreads; t++)
		sum += atomic_load_explicit(&g->counts[t].v[a][ps][pt],
					    memory_order_relaxed);
	return sum;
}

static struct gen_total *total_find(struct gen_totals *t, uint8_t action,
				    const char *profile, uint16_t port)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->t[i].action == action && t->t[i].port == port &&
		    !strcmp(t->t[i].profile, profile))
			return &t->t[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 32;
		struct gen_total *n = realloc(t->t, cap * sizeof(*n));

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

int gen_fold(const struct gen *g, struct gen_totals *totals)
{
	for (unsigned a = 0; a < 3; a++)
		for (unsigned ps = 0; ps < GEN_PROFILES + 2; ps++)
			for (unsigned pt = 0; pt <= g->nports; pt++) {
				uint64_t c = cell(g, a, ps, pt);
				const char *name = profile_label(g, ps);
				struct gen_total *t;

				if (!c || !name)
					continue;
				t = total_find(totals, (uint8_t)a, name,
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

void gen_metrics(const struct gen *g, const struct gen_totals *totals,
		 struct strbuf *out)
{
	struct gen_totals now = { 0 };

	/* The live counts join the retired ones by name, then print. */
	for (size_t i = 0; i < totals->n; i++) {
		struct gen_total *t = total_find(&now, totals->t[i].action,
						 totals->t[i].profile,
						 totals->t[i].port);
		if (t)
			t->count += totals->t[i].count;
	}
	gen_fold(g, &now);
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
	gen_totals_free(&now);
}

void gen_free(struct gen *g)
{
	if (!g)
		return;
	policy_free(g->p);
	free(g->blocks_closed);
	free(g->counts);
	free(g);
}

void gen_totals_free(struct gen_totals *t)
{
	free(t->t);
	memset(t, 0, sizeof(*t));
}
