// SPDX-License-Identifier: GPL-2.0-or-later
/* A policy file loaded for a command (check, explain, rules): every error
 * on standard error, then one line saying the policy was not loaded. */
#include <stdio.h>

#include "cli/cli.h"

struct policy *cli_load_policy(const char *path)
{
	struct policy_errors errs = { 0 };
	struct policy *p = policy_load(path, &errs);

	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	if (!p)
		fprintf(stderr, "portcullis: %s: %zu error%s, policy not loaded\n",
			path, errs.count, errs.count == 1 ? "" : "s");
	policy_errors_free(&errs);
	return p;
}
