// SPDX-License-Identifier: GPL-2.0-or-later
/* portcullis(8): validate, explain, review, and drive the live daemon. */
#include "cli/cli.h"
#include "common/ctlproto.h"

static const struct cli_cmd *const commands[] = {
	&cli_cmd_check, &cli_cmd_explain, &cli_cmd_rules, &cli_cmd_log,
	&cli_cmd_stats, &cli_cmd_top, &cli_cmd_quarantine, &cli_cmd_release,
	&cli_cmd_reload, &cli_cmd_except, &cli_cmd_session, &cli_cmd_report,
	&cli_cmd_diff, &cli_cmd_shadow, NULL,
};

static const struct option top_opts[] = {
	{ "control", required_argument, NULL, 'c' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd top = {
	.help = "The daemon's commands go to its control socket: --control "
		"PATH, by default\n" CTL_SOCKET_DEFAULT ". The others need "
		"no daemon.\n"
		"portcullis COMMAND --help says more about each.\n",
	.opts = top_opts,
	.need = { "COMMAND" },
	.max = CLI_ANY,
	.in_order = true,
	.subs = commands,
};

int main(int argc, char **argv)
{
	struct cli_req r = { .control = CTL_SOCKET_DEFAULT };
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
