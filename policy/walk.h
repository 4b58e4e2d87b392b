/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy's walk, a section a file: load.c reads the root (version,
 * mode, relays) and hands the other sections to load_profiles.c,
 * load_subscribers.c, load_detection.c and load_log.c. Each reports what
 * is wrong and goes on. Internal to policy/.
 */
#ifndef PORTCULLIS_POLICY_WALK_H
#define PORTCULLIS_POLICY_WALK_H

#include "node.h"

/* profiles: into p->profiles. Walked first: the other sections name
 * them. */
void walk_profiles(struct walk *w, yaml_node_t *m);
/* The profile named by n: its index, or -1 reported ("unknown what"). */
int profile_find(struct walk *w, const yaml_node_t *n, const char *what);

/* subscribers: entries (prefix or file) into the loader's entries. */
void walk_subscribers(struct walk *w, yaml_node_t *s);

/* detection: into p->detection. */
void walk_detection(struct walk *w, yaml_node_t *m);

/* log: into p->log. */
void walk_log(struct walk *w, yaml_node_t *m);

/* cluster: into p->cluster. */
void walk_cluster(struct walk *w, yaml_node_t *m);

#endif
