/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The compiled policy's layout, shared by the files of policy/ only. */
#ifndef PORTCULLIS_POLICY_INTERNAL_H
#define PORTCULLIS_POLICY_INTERNAL_H

#include "policy.h"
#include "table.h"

struct profile {
	char *name;
	uint16_t *ports;		/* ascending */
	uint8_t *actions;		/* enum policy_action, parallel to ports */
	unsigned nports;
	enum policy_action def;		/* accept unless `default:` says */
};

/* What the operator wrote about one entry, for explain (sparse: YAML
 * entries have it, entries from `file:` lists share one per list). */
struct entry_meta {
	char *note;			/* NULL when none */
	const char *file;		/* points into policy->files */
	unsigned line;
};

struct policy {
	char *path;
	enum policy_mode mode;

	struct profile *profiles;
	unsigned nprofiles;

	struct table *v4;		/* ids 0 .. n4-1 */
	struct table *v6;		/* ids n4 .. n4+n6-1 */

	struct entry_meta *meta;	/* indexed by table origin */
	size_t nmeta;
	char **files;			/* file names the meta point into */
	size_t nfiles;

	struct addr *relays;	/* sorted, unique */
	size_t nrelays;

	/* Live exceptions by subscriber id (rule 4), and their index: open
	 * addressing, slot = exception + 1, 0 empty. */
	struct subex {
		char *id;
		size_t len;
		uint16_t profile;
		int64_t expires;	/* 0: never */
		int64_t added;
		char *note;		/* NULL: none */
	} *subex;
	size_t nsubex;
	uint32_t *subex_ix;
	size_t subex_slots;

	struct policy_detection detection;
	struct policy_log log;
	char *log_blocks;		/* owns log.blocks */
	struct policy_cluster *cluster;	/* NULL: no cluster: section */
};

void policy_cluster_free(struct policy_cluster *c);

/* The live exception by subscriber id for id[0 .. len), or -1. */
int32_t subex_find(const struct policy *p, const char *id, size_t len);

#endif
