// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The live daemon's counters and quarantines: stats, top, quarantine,
 * release, reload. Parsed here, whole, before cli_remote sends them; the
 * daemon checks again (filter/commands.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "cli/cli.h"

#define TOP_MAX 10000		/* as the daemon's */

static const struct option json_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

const struct cli_cmd cli_cmd_stats = {
	.name = "stats",
	.synopsis = "[--json]",
	.help = "The live daemon's counters: its policy and loads, verdicts, "
		"packets it did not\njudge, queues, block log, subscribers, "
		"live exceptions, the kernel ruleset.\n\n"
		"  --json          as one JSON object\n",
	.opts = json_opts,
	.remote = true,
	.run = cli_remote_run,
};

static int run_top(const struct cli_cmd *c, const struct cli_req *r,
		   int argc, char **argv)
{
	struct cli_args a;
	unsigned long n;
	int o;

	cli_args_init(&a, c, argc, argv);
	while ((o = cli_args_next(&a)) > 0)
		;
	if (o < 0)
		return a.exit;
	if (a.noperands && cli_count(c, NULL, a.operands[0], TOP_MAX, &n))
		return 2;
	return cli_remote(r);
}

const struct cli_cmd cli_cmd_top = {
	.name = "top",
	.synopsis = "[N] [--json]",
	.help = "The N subscribers (default 10, at most 10000) with the most "
		"blocked SYNs, live:\nSYNs, blocked, accepted, the current "
		"detection window, last seen, quarantined.\n\n"
		"  --json          as a JSON array\n",
	.opts = json_opts,
	.max = 1,
	.remote = true,
	.run = run_top,
};

const struct cli_cmd cli_cmd_quarantine = {
	.name = "quarantine",
	.synopsis = "[--json]",
	.help = "The subscribers held in quarantine, soonest release first: "
		"until when, and the\nSYNs and destinations that caused it.\n\n"
		"  --json          as a JSON array\n",
	.opts = json_opts,
	.remote = true,
	.run = cli_remote_run,
};

const struct cli_cmd cli_cmd_release = {
	.name = "release",
	.synopsis = "SRC|ID",
	.help = "End the quarantine of SRC's subscriber (the session's "
		"holder, when one holds\nSRC), or of subscriber ID, now; exit "
		"1 when it is not quarantined.\n",
	.need = { "SRC|ID" },
	.max = 1,
	.remote = true,
	.run = cli_remote_run,
};

static const struct option reload_opts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ NULL, 0, NULL, 0 },
};

const struct cli_cmd cli_cmd_reload = {
	.name = "reload",
	.synopsis = "[--dry-run]",
	.help = "Make the daemon load its policy file again, as SIGHUP does, "
		"and wait for the\noutcome: on failure every error, exit 1, "
		"and the running policy stays.\n\n"
		"  --dry-run  change nothing: load the file as reload would "
		"(with the live\n"
		"             exceptions) and show what it would change from "
		"the running\n"
		"             policy, as portcullis diff does (at most 10,000 "
		"lines)\n",
	.opts = reload_opts,
	.remote = true,
	.run = cli_remote_run,
};
