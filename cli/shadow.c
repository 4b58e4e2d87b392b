// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis shadow start|status|stop: a candidate policy deciding beside
 * the live one (filter/shadow.h). Parsed here, whole, before cli_remote
 * sends it; the daemon loads the candidate and says what is wrong with
 * it (filter/shadow_cmd.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* The daemon runs elsewhere (its own folder, maybe its own user): it is
 * sent the candidate's absolute path. */
static int run_start(const struct cli_cmd *c, const struct cli_req *r,
		     int argc, char **argv)
{
	static char w_shadow[] = "shadow", w_start[] = "start";
	char abs[PATH_MAX], *av[3] = { w_shadow, w_start, abs };
	struct cli_req req = *r;
	struct cli_args a;
	int o;

	cli_args_init(&a, c, argc, argv);
	while ((o = cli_args_next(&a)) > 0)
		;
	if (o < 0)
		return a.exit;
	if (!realpath(a.operands[0], abs)) {
		fprintf(stderr, "portcullis: shadow start: %s: %s\n",
			a.operands[0], strerror(errno));
		return 1;
	}
	req.argc = 3;
	req.argv = av;
	return cli_remote(&req);
}

static const struct cli_cmd shadow_start = {
	.name = "shadow start",
	.synopsis = "POLICY",
	.help = "Load POLICY beside the running policy: from now on every "
		"SYN the daemon judges\nis also decided by POLICY (with the "
		"live exceptions), and where the two\ndecide otherwise the "
		"SYN is counted by port and direction (would block, would\n"
		"pass, would change drop and reject) and written to the block "
		"log as a shadow\nline, rate-limited per subscriber as block "
		"lines are, what the rate holds back\nin shadow_summary "
		"lines. Verdicts stay the running policy's. A POLICY that\n"
		"does not load is refused with its errors (exit 1); so is a "
		"second shadow.\nThe shadow sees what the running rules "
		"queue: the reply names the candidate's\nports and sources "
		"they do not. Promoting it is an ordinary reload.\n",
	.need = { "POLICY" },
	.max = 1,
	.remote = true,
	.run = run_start,
};

static const struct option status_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd shadow_status = {
	.name = "shadow status",
	.synopsis = "[--json]",
	.help = "The running shadow policy: its file, since when, the SYNs "
		"it judged, those it\ndecided otherwise by direction and "
		"port, the lines it wrote, what it cannot\nsee.\n\n"
		"  --json          as one JSON object\n",
	.opts = status_opts,
	.remote = true,
	.run = cli_remote_run,
};

static const struct cli_cmd shadow_stop = {
	.name = "shadow stop",
	.synopsis = "",
	.help = "End the shadow policy: its held-back lines are summarised, "
		"its counts printed\n(the metrics keep them). Exit 1 when "
		"none runs.\n",
	.remote = true,
	.run = cli_remote_run,
};

static const struct cli_cmd *const subs[] = {
	&shadow_start, &shadow_status, &shadow_stop, NULL,
};

const struct cli_cmd cli_cmd_shadow = {
	.name = "shadow",
	.help = "A candidate policy deciding beside the running one; "
		"verdicts never change.\nportcullis shadow start|status|stop "
		"--help says more.\n",
	.need = { "start|status|stop" },
	.max = CLI_ANY,
	.in_order = true,
	.subs = subs,
	.run = cli_group_run,
};
