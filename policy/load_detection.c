// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The policy's detection: section, what makes a spam run (SYNs to which
 * ports, how many, to how many hosts, in what window) and what follows
 * (log, or quarantine in a profile for a time). Its defaults are set
 * before the walk (load.c); the section being there enables detection.
 */
#include <string.h>

#include "walk.h"

static void walk_detection_ports(struct walk *w, yaml_node_t *s,
				 struct policy_detection *d)
{
	const unsigned max = sizeof(d->ports) / sizeof(d->ports[0]);
	yaml_node_item_t *it;
	unsigned i;

	if (!node_want(w, s, YAML_SEQUENCE_NODE, "detection.ports"))
		return;
	d->nports = 0;
	if (s->data.sequence.items.top == s->data.sequence.items.start) {
		node_error(w, s, "detection.ports must list from 1 to %u "
			   "ports, found none", max);
		return;
	}
	for (it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++) {
		yaml_node_t *pn = node_get(w, *it);
		uint16_t port;

		if (node_port(w, pn, &port) < 0)
			continue;
		for (i = 0; i < d->nports; i++)
			if (d->ports[i] == port)
				break;
		if (i < d->nports) {
			node_error(w, pn, "port %u is listed twice in "
				   "detection.ports", port);
			continue;
		}
		if (d->nports == max) {
			node_error(w, pn, "detection.ports must list from 1 to "
				   "%u ports, found more", max);
			return;
		}
		d->ports[d->nports++] = port;
	}
}

void walk_detection(struct walk *w, yaml_node_t *m)
{
	enum { PORTS, WINDOW, SYNS, DISTINCT, ACTION, QFOR, PROFILE, V6LEN,
	       MAXSUB };
	static const char *const keys[] = {
		"ports", "window", "syns", "distinct_destinations", "action",
		"quarantine_for", "profile", "ipv6_prefix", "max_subscribers",
	};
	struct policy_detection *d = &w->l->p->detection;
	struct fields f;
	char buf[80];

	if (!node_fields(w, m, "detection", keys, 9, &f))
		return;
	d->enabled = true;
	if (f.val[PORTS])
		walk_detection_ports(w, f.val[PORTS], d);
	if (f.val[WINDOW])
		node_duration(w, f.val[WINDOW], "window", 1, 86400,
			      &d->window_s);
	if (f.val[SYNS])
		node_uint(w, f.val[SYNS], "syns", 1, 1000000, &d->syns);
	if (f.val[DISTINCT])
		node_uint(w, f.val[DISTINCT], "distinct_destinations", 1,
			  1000000, &d->distinct_destinations);
	if (f.val[ACTION] &&
	    node_want_scalar(w, f.val[ACTION], "detection.action")) {
		yaml_node_t *a = f.val[ACTION];

		if (!strcmp(node_text(a), "quarantine"))
			d->quarantine = true;
		else if (strcmp(node_text(a), "log"))
			node_error(w, a, "unknown detection action %s; "
				   "expected log or quarantine",
				   node_found(a, buf, sizeof(buf)));
	}
	if (f.val[QFOR])
		node_duration(w, f.val[QFOR], "quarantine_for", 1,
			      30 * 86400, &d->quarantine_for_s);
	if (f.val[PROFILE])
		d->profile = profile_find(w, f.val[PROFILE],
					  "detection profile");
	else if (d->quarantine)
		node_error(w, f.key[ACTION], "detection action quarantine "
			   "needs a profile (detection.profile)");
	if (f.val[V6LEN])
		node_uint(w, f.val[V6LEN], "ipv6_prefix", 1, 64,
			  &d->ipv6_prefix_len);
	if (f.val[MAXSUB])
		node_uint(w, f.val[MAXSUB], "max_subscribers", 1, 100000000,
			  &d->max_subscribers);
}
