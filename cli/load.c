// SPDX-License-Identifier: GPL-2.0-or-later
/* A policy file loaded for a command (check, explain, rules): every error
 * on standard error, then one line saying the policy was not loaded;
 * with the daemon's live exceptions from its state file, for explain. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

struct policy *cli_load_policy(const char *path)
{
	return cli_load_policy_ex(path, NULL);
}

struct policy *cli_load_policy_ex(const char *path, const char *state)
{
	struct policy_errors errs = { 0 };
	struct policy_exception *ex = NULL;
	size_t nex = 0;
	struct policy *p = NULL;

	if (state && policy_exceptions_load(state, &ex, &nex, &errs) < 0)
		goto out;
	p = policy_load_ex(path, ex, nex, &errs);
out:
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	if (!p)
		fprintf(stderr, "portcullis: %s: %zu error%s, policy not loaded\n",
			path, errs.count, errs.count == 1 ? "" : "s");
	policy_errors_free(&errs);
	free(ex);
	return p;
}
