// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis except add|del|list|history: the live daemon's live exceptions.
 * Parsed here, whole, before cli_remote sends them; the values (prefix,
 * profile, duration, time) are the daemon's to judge (filter/except.c).
 */
#include <stdbool.h>

#include "cli/cli.h"

/* PREFIX, or --subscriber ID and no operand: 0, or the usage error's
 * exit code (2). */
static int operands(const struct cli_cmd *c, const struct cli_args *a,
		    bool sub)
{
	if (sub && a->noperands)
		return cli_fail(c, "unexpected argument '%s' (a prefix or "
				"--subscriber ID, not both)", a->operands[0]);
	if (!sub && !a->noperands)
		return cli_fail(c, "missing PREFIX or --subscriber ID");
	return 0;
}

static int run_add(const struct cli_cmd *c, const struct cli_req *r,
		   int argc, char **argv)
{
	bool profile = false, expiry = false, sub = false;
	struct cli_args a;
	int o;

	cli_args_init(&a, c, argc, argv);
	while ((o = cli_args_next(&a)) > 0) {
		switch (o) {
		case 'p':
			profile = true;
			break;
		case 's':
			sub = true;
			break;
		case 'f':
		case 'u':
			if (expiry)
				return cli_fail(c, "--for and --until exclude "
						"each other");
			expiry = true;
			break;
		}
	}
	if (o < 0)
		return a.exit;
	if (operands(c, &a, sub))
		return 2;
	if (!profile)
		return cli_fail(c, "missing --profile P");
	return cli_remote(r);
}

static int run_del(const struct cli_cmd *c, const struct cli_req *r,
		   int argc, char **argv)
{
	bool sub = false;
	struct cli_args a;
	int o;

	cli_args_init(&a, c, argc, argv);
	while ((o = cli_args_next(&a)) > 0)
		sub |= o == 's';
	if (o < 0)
		return a.exit;
	if (operands(c, &a, sub))
		return 2;
	return cli_remote(r);
}

static const struct option add_opts[] = {
	{ "profile", required_argument, NULL, 'p' },
	{ "for", required_argument, NULL, 'f' },
	{ "until", required_argument, NULL, 'u' },
	{ "note", required_argument, NULL, 'n' },
	{ "subscriber", required_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 },
};

static const struct option del_opts[] = {
	{ "subscriber", required_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd except_add = {
	.name = "except add",
	.synopsis = "PREFIX|--subscriber ID --profile P "
		    "[--for DURATION|--until TIME] [--note TEXT]",
	.help = "A live exception: subscribers in PREFIX get profile P at "
		"once, in place of the\npolicy file's entry for PREFIX (the "
		"longest prefix still wins). It survives\nrestarts; adding "
		"PREFIX again replaces it.\n"
		"With --subscriber ID, subscriber ID (a session's) gets "
		"profile P wherever\nits session puts it.\n\n"
		"  --profile P     one of the policy's profiles\n"
		"  --subscriber ID the subscriber, not a prefix\n"
		"  --for DURATION  until DURATION from now: 90s, 30m, 24h, 7d\n"
		"  --until TIME    until TIME (RFC 3339)\n"
		"  --note TEXT     why, for the list and the block log\n",
	.opts = add_opts,
	.max = 1,
	.remote = true,
	.run = run_add,
};

static const struct cli_cmd except_del = {
	.name = "except del",
	.synopsis = "PREFIX|--subscriber ID",
	.help = "Remove the live exception for PREFIX (or subscriber ID); "
		"the policy file\ndecides again.\n",
	.opts = del_opts,
	.max = 1,
	.remote = true,
	.run = run_del,
};

static const struct option list_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd except_list = {
	.name = "except list",
	.synopsis = "[--json]",
	.help = "The live exceptions: prefix, profile, when added, expiry, "
		"note.\n\n"
		"  --json          as a JSON array\n",
	.opts = list_opts,
	.remote = true,
	.run = cli_remote_run,
};

static const struct cli_cmd except_history = {
	.name = "except history",
	.synopsis = "[KEY] [--json]",
	.help = "The cluster's audit trail (DESIGN.md \"Many gateways\"): "
		"every record the\nshared bucket still holds of KEY (a "
		"subscriber id, a prefix or an address),\nor of all, oldest "
		"first: revision, time, the gateway that made it,\nwhat "
		"(exception add or del, quarantine, release), the key and "
		"details.\nThe daemon reads it from the bucket; it needs the "
		"policy's cluster:\nsection and a connection.\n\n"
		"  --json          as a JSON array\n",
	.opts = list_opts,
	.max = 1,
	.remote = true,
	.run = cli_remote_run,
};

static const struct cli_cmd *const subs[] = {
	&except_add, &except_del, &except_list, &except_history, NULL,
};

const struct cli_cmd cli_cmd_except = {
	.name = "except",
	.help = "Live exceptions: profiles granted without touching the "
		"policy file.\nportcullis except add|del|list|history --help "
		"says more.\n",
	.need = { "add|del|list|history" },
	.max = CLI_ANY,
	.in_order = true,
	.subs = subs,
	.run = cli_group_run,
};
