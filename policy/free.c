// SPDX-License-Identifier: GPL-2.0-or-later
/* policy_free(): one NULL-safe free for the whole compiled policy, also
 * for one the loader gave up on half-way. */
#include <stdlib.h>

#include "internal.h"

void policy_free(struct policy *p)
{
	size_t i;

	if (!p)
		return;
	free(p->path);
	if (p->profiles) {
		for (i = 0; i < p->nprofiles; i++) {
			free(p->profiles[i].name);
			free(p->profiles[i].ports);
			free(p->profiles[i].actions);
		}
		free(p->profiles);
	}
	table_free(p->v4);
	table_free(p->v6);
	for (i = 0; i < p->nmeta; i++)
		free(p->meta[i].note);
	free(p->meta);
	for (i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	free(p->relays);
	for (i = 0; i < p->nsubex; i++) {
		free(p->subex[i].id);
		free(p->subex[i].note);
	}
	free(p->subex);
	free(p->subex_ix);
	free(p->log_blocks);
	policy_cluster_free(p->cluster);
	free(p);
}
