// SPDX-License-Identifier: GPL-2.0-or-later
/* portcullis(8): validate, explain and (later) drive the live daemon. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "check", cmd_check, "check POLICY" },
	{ "explain", cmd_explain,
	  "explain POLICY SRC DST PORT [--at TIME] [--quarantined]" },
	{ "rules", cmd_rules,
	  "rules POLICY [--backend iptables|nft] [-4|-6] [--queues N] "
	  "[--sets]\n  portcullis rules --remove [--backend iptables|nft]" },
	{ "log", cmd_log,
	  "log [FILE…] [--since T] [--until T] [--src PREFIX] [--top N] "
	  "[--json]" },
};

#define CONTROL_DEFAULT "/run/portcullis/control.sock"

/* Answered by the live daemon over its control socket. */
static const char *const remote[] = { "stats", "top", "quarantine",
				       "release", "reload", "except" };

static void usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  portcullis %s\n", commands[i].usage);
	fprintf(f, "  portcullis [--control PATH] stats [--json]\n"
		   "  portcullis [--control PATH] top [N] [--json]\n"
		   "  portcullis [--control PATH] quarantine [--json]\n"
		   "  portcullis [--control PATH] release SRC\n"
		   "  portcullis [--control PATH] reload\n"
		   "  portcullis [--control PATH] except add PREFIX --profile P "
		   "[--for 24h|--until T] [--note TEXT]\n"
		   "  portcullis [--control PATH] except del PREFIX\n"
		   "  portcullis [--control PATH] except list [--json]\n");
}

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
	const char *control = CONTROL_DEFAULT;

	if (argc >= 3 && !strcmp(argv[1], "--control")) {
		control = argv[2];
		argv[2] = argv[0];
		argv += 2;
		argc -= 2;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof(remote) / sizeof(remote[0]);
	     i++)
		if (!strcmp(argv[1], remote[i]))
			return cmd_remote(control, argc - 1, argv + 1);
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[1], commands[i].name)) {
			int ret = commands[i].run(argc - 1, argv + 1);

			if (ret == 2)
				fprintf(stderr, "usage: portcullis %s\n",
					commands[i].usage);
			return ret;
		}
	}
	fprintf(stderr, "portcullis: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
