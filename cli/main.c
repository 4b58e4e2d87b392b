// SPDX-License-Identifier: GPL-2.0-or-later
/* portcullis(8): validate, explain, review, and drive the live daemon. */
#include <stdio.h>

#include "cli/cli.h"

static const struct cli_cmd *const commands[] = {
	&cli_cmd_check, &cli_cmd_explain, &cli_cmd_rules, &cli_cmd_log,
	&cli_cmd_stats, &cli_cmd_top, &cli_cmd_quarantine, &cli_cmd_release,
	&cli_cmd_reload, &cli_cmd_except, NULL,
};

static const struct option top_opts[] = {
	{ "control", required_argument, NULL, 'c' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd top = {
	.help = "The daemon's commands go to its control socket: --control "
		"PATH, by default\n" CLI_CONTROL_DEFAULT ". The others need "
		"no daemon.\n"
		"portcullis COMMAND --help says more about each.\n",
	.opts = top_opts,
	.need = { "COMMAND" },
	.max = CLI_ANY,
	.in_order = true,
	.subs = commands,
};

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

int main(int argc, char **argv)
{
	struct cli_req r = { .control = CLI_CONTROL_DEFAULT };
	struct cli_args a;
	int o;

	cli_args_init(&a, &top, argc, argv);
	while ((o = cli_args_next(&a)) > 0)
		if (o == 'c')
			r.control = a.arg;
	if (o < 0)
		return a.exit;
	r.argc = a.noperands;
	r.argv = a.operands;
	return cli_dispatch(&top, &r, a.noperands, a.operands);
}
