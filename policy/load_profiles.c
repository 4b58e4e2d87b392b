// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The policy's profiles: section, each a name with its ports' actions and
 * a default; and the look-up of a profile by the name other sections give.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "walk.h"

#define MAX_PROFILES 65535

static int action_parse(struct walk *w, const yaml_node_t *n,
			enum policy_action *a)
{
	char buf[80];

	if (!node_want_scalar(w, n, "action"))
		return -1;
	if (!strcmp(node_text(n), "accept"))
		*a = POLICY_ACCEPT;
	else if (!strcmp(node_text(n), "drop"))
		*a = POLICY_DROP;
	else if (!strcmp(node_text(n), "reject"))
		*a = POLICY_REJECT;
	else {
		node_error(w, n, "unknown action %s; expected accept, drop or "
			   "reject", node_found(n, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

int profile_find(struct walk *w, const yaml_node_t *n, const char *what)
{
	const struct policy *p = w->l->p;
	char list[512] = "", buf[80];
	size_t used = 0;
	unsigned i;

	if (!node_want_scalar(w, n, what))
		return -1;
	for (i = 0; i < p->nprofiles; i++)
		if (!strcmp(p->profiles[i].name, node_text(n)))
			return (int)i;
	for (i = 0; i < p->nprofiles && used + 4 < sizeof(list); i++) {
		int r = snprintf(list + used, sizeof(list) - used, "%s%s",
				 i ? ", " : "", p->profiles[i].name);

		if (r < 0 || (size_t)r >= sizeof(list) - used) {
			strcpy(list + sizeof(list) - 5, "...");
			break;
		}
		used += (size_t)r;
	}
	node_error(w, n, "unknown %s %s; %s%s", what,
		   node_found(n, buf, sizeof(buf)),
		   p->nprofiles ? "defined profiles: "
				: "no profiles are defined", list);
	return -1;
}

struct port_action {
	uint16_t port;
	uint8_t action;
	const yaml_node_t *key;
};

static int port_cmp(const void *a, const void *b)
{
	const struct port_action *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->key->start_mark.index < y->key->start_mark.index ? -1 : 1;
}

static void walk_ports(struct walk *w, yaml_node_t *m, const char *where,
		       struct profile *pr)
{
	size_t n = (size_t)(m->data.mapping.pairs.top -
			    m->data.mapping.pairs.start), i, k = 0, run;
	struct port_action *pa;

	pa = calloc(n ? n : 1, sizeof(*pa));
	pr->ports = calloc(n ? n : 1, sizeof(*pr->ports));
	pr->actions = calloc(n ? n : 1, sizeof(*pr->actions));
	if (!pa || !pr->ports || !pr->actions) {
		free(pa);
		load_oom(w->l);
		return;
	}
	for (i = 0; i < n; i++) {
		yaml_node_pair_t *pp = &m->data.mapping.pairs.start[i];
		yaml_node_t *kn = node_get(w, pp->key);
		yaml_node_t *vn = node_get(w, pp->value);
		enum policy_action a;
		uint16_t port;
		int bad;

		bad = node_port(w, kn, &port);
		bad |= action_parse(w, vn, &a);
		if (bad)
			continue;
		pa[k].port = port;
		pa[k].action = (uint8_t)a;
		pa[k].key = kn;
		k++;
	}
	qsort(pa, k, sizeof(*pa), port_cmp);
	for (i = 0, run = 0; i < k; i++) {
		if (i && pa[i].port == pa[run].port) {
			const yaml_node_t *kn = pa[i].key;

			node_error(w, kn, "duplicate key \"%s\" in %s; first "
				   "given at line %u, column %u", node_text(kn),
				   where, node_line0(pa[run].key) + 1,
				   node_col0(pa[run].key) + 1);
			continue;
		}
		run = i;
		pr->ports[pr->nports] = pa[i].port;
		pr->actions[pr->nports] = pa[i].action;
		pr->nports++;
	}
	free(pa);
}

struct name_at {
	const char *name;
	size_t at;			/* the pair's index */
};

static int name_at_cmp(const void *a, const void *b)
{
	const struct name_at *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->at > y->at) - (x->at < y->at);
}

/*
 * For each pair of mapping m whose key repeats an earlier one, the index
 * of the earlier pair in first[], else SIZE_MAX. Sorted rather than
 * compared pair by pair: 65535 profiles are allowed. Returns first
 * (malloc'd), or NULL when out of memory.
 */
static size_t *repeated_keys(struct walk *w, yaml_node_t *m, size_t n)
{
	struct name_at *na = calloc(n ? n : 1, sizeof(*na));
	size_t *first = malloc((n ? n : 1) * sizeof(*first));
	size_t i, k = 0;

	if (!na || !first) {
		free(na);
		free(first);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		yaml_node_t *kn = node_get(w,
					   m->data.mapping.pairs.start[i].key);

		first[i] = SIZE_MAX;
		if (kn->type == YAML_SCALAR_NODE && *node_text(kn))
			na[k++] = (struct name_at){ node_text(kn), i };
	}
	qsort(na, k, sizeof(*na), name_at_cmp);
	for (i = 1; i < k; i++)
		if (!strcmp(na[i].name, na[i - 1].name))
			first[na[i].at] = first[na[i - 1].at] != SIZE_MAX ?
					  first[na[i - 1].at] : na[i - 1].at;
	free(na);
	return first;
}

void walk_profiles(struct walk *w, yaml_node_t *m)
{
	static const char *const keys[] = { "ports", "default" };
	struct policy *p = w->l->p;
	size_t n, i, *first;

	if (!node_want(w, m, YAML_MAPPING_NODE, "profiles"))
		return;
	n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	if (n > MAX_PROFILES) {
		node_error(w, m, "profiles: at most %u profiles, found %zu",
			   MAX_PROFILES, n);
		return;
	}
	p->profiles = calloc(n ? n : 1, sizeof(*p->profiles));
	first = repeated_keys(w, m, n);
	if (!p->profiles || !first) {
		free(first);
		load_oom(w->l);
		return;
	}
	for (i = 0; i < n; i++) {
		yaml_node_pair_t *pp = &m->data.mapping.pairs.start[i];
		yaml_node_t *kn = node_get(w, pp->key);
		yaml_node_t *vn = node_get(w, pp->value);
		struct profile *pr;
		struct fields f;
		char where[128];

		if (!node_want_scalar(w, kn, "profile name"))
			continue;
		if (first[i] != SIZE_MAX) {
			yaml_node_t *q = node_get(w, m->data.mapping.pairs
						     .start[first[i]].key);

			node_error(w, kn, "duplicate key \"%.60s\" in "
				   "profiles; first given at line %u, column "
				   "%u",
				   node_text(kn), node_line0(q) + 1,
				   node_col0(q) + 1);
			continue;
		}
		if (!*node_text(kn)) {
			node_error(w, kn, "a profile needs a name");
			continue;
		}
		pr = &p->profiles[p->nprofiles++];
		pr->name = strdup(node_text(kn));
		if (!pr->name) {
			load_oom(w->l);
			continue;
		}
		pr->def = POLICY_ACCEPT;
		snprintf(where, sizeof(where), "profile \"%.60s\"", pr->name);
		if (!node_fields(w, vn, where, keys, 2, &f))
			continue;
		if (f.val[0]) {
			snprintf(where, sizeof(where), "profiles.%.60s.ports",
				 pr->name);
			if (node_want(w, f.val[0], YAML_MAPPING_NODE, where))
				walk_ports(w, f.val[0], where, pr);
		}
		if (f.val[1])
			action_parse(w, f.val[1], &pr->def);
	}
	free(first);
}
