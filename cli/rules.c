// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis rules POLICY: the kernel ruleset portcullisd would install;
 * portcullis rules --remove: take all of it out of the kernel.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cli/cli.h"
#include "filter/ruleset.h"

#define USAGE "usage: portcullis rules POLICY [--backend iptables|nft] " \
	      "[-4|-6] [--queues N] [--sets]\n" \
	      "       portcullis rules --remove [--backend iptables|nft]\n"

static int print_iptables(const struct ruleset *rs, int family)
{
	char err[256];

	fflush(stdout);
	if (rules_iptables_write(stdout, &rs->desc, family, err,
				 sizeof(err)) < 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		return 1;
	}
	return 0;
}

static int print_sets(const struct ruleset *rs)
{
	char err[256];

	fflush(stdout);
	if (rules_ipset_write(stdout, &rs->desc, err, sizeof(err)) < 0) {
		fprintf(stderr, "portcullis: %s\n", err);
		return 1;
	}
	return 0;
}

/* Everything portcullisd ever put in, as the Debian package's removal
 * needs: chains, FORWARD jumps, sets, or the nft table. */
static int remove_all(enum rules_backend backend)
{
	char err[1024];

	if (rules_remove(NULL, backend, err, sizeof(err)) < 0) {
		fprintf(stderr, "portcullis: removing the ruleset: %s\n", err);
		return 1;
	}
	printf("removed the portcullis ruleset (%s)\n",
	       backend == RULES_NFT ? "table inet " RULES_NFT_TABLE
				    : "iptables, ip6tables and ipset");
	return 0;
}

int cmd_rules(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "queues", required_argument, NULL, 'q' },
		{ "sets", no_argument, NULL, 'S' },
		{ "remove", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum rules_backend backend = RULES_IPTABLES;
	int family = 0, c, ret = 1;
	bool sets = false, remove = false;
	struct ruleset rs;
	struct policy *p;
	unsigned queues = 1;
	char err[256], *end;

	while ((c = getopt_long(argc, argv, "46", opts, NULL)) != -1) {
		switch (c) {
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'b':
			if (!strcmp(optarg, "nft")) {
				backend = RULES_NFT;
			} else if (strcmp(optarg, "iptables")) {
				fprintf(stderr, "portcullis: --backend must be "
					"iptables or nft, found '%s'\n", optarg);
				return 2;
			}
			break;
		case 'q':
			queues = (unsigned)strtoul(optarg, &end, 10);
			if (*end || queues < 1 || queues > 32) {
				fprintf(stderr, "portcullis: --queues must be "
					"from 1 to 32, found '%s'\n", optarg);
				return 2;
			}
			break;
		case 'S':
			sets = true;
			break;
		case 'r':
			remove = true;
			break;
		case 'h':
			fputs(USAGE, stdout);
			return 0;
		default:
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (remove) {
		if (argc != optind || sets || family) {
			fprintf(stderr, "portcullis: rules --remove takes no "
				"policy, --sets, -4 or -6\n" USAGE);
			return 2;
		}
		return remove_all(backend);
	}
	if (argc - optind != 1) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (sets && backend == RULES_NFT) {
		fprintf(stderr, "portcullis: --sets is for the iptables "
			"backend; the nft script holds its sets\n");
		return 2;
	}
	p = cli_load_policy(argv[optind]);
	if (!p)
		return 1;
	if (ruleset_build(&rs, p, queues, time(NULL)) < 0) {
		perror("portcullis: ruleset");
		goto out;
	}
	if (backend == RULES_NFT) {
		fflush(stdout);
		if (rules_nft_write(stdout, &rs.desc, err, sizeof(err)) < 0)
			fprintf(stderr, "portcullis: %s\n", err);
		else
			ret = 0;
	} else if (sets) {
		ret = print_sets(&rs);
	} else {
		ret = 0;
		if (family != AF_INET6)
			ret |= print_iptables(&rs, AF_INET);
		if (family != AF_INET)
			ret |= print_iptables(&rs, AF_INET6);
	}
	ruleset_free(&rs);
out:
	policy_free(p);
	return ret;
}
