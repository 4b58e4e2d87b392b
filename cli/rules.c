// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis rules POLICY: the kernel ruleset portcullisd would install;
 * portcullis rules --remove: take all of it out of the kernel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cli/cli.h"
#include "netlink/rules.h"
#include "policy/ruleset.h"

static int print_iptables(const struct policy_ruleset *rs, int family)
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

static int print_sets(const struct policy_ruleset *rs)
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

static const struct option rules_opts[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "queues", required_argument, NULL, 'q' },
	{ "sets", no_argument, NULL, 'S' },
	{ "remove", no_argument, NULL, 'r' },
	{ NULL, 0, NULL, 0 },
};

static int run_rules(const struct cli_cmd *c, const struct cli_req *r,
		     int argc, char **argv)
{
	enum rules_backend backend = RULES_IPTABLES;
	int family = 0, o, ret = 1;
	bool sets = false, remove = false;
	struct cli_args a;
	struct policy_ruleset rs;
	struct policy *p;
	unsigned long queues = 1;
	char err[256], *end;

	(void)r;
	cli_args_init(&a, c, argc, argv);
	while ((o = cli_args_next(&a)) > 0) {
		switch (o) {
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'b':
			if (!strcmp(a.arg, "nft"))
				backend = RULES_NFT;
			else if (!strcmp(a.arg, "iptables"))
				backend = RULES_IPTABLES;
			else
				return cli_fail(c, "--backend must be iptables "
						"or nft, found '%s'", a.arg);
			break;
		case 'q':
			queues = strtoul(a.arg, &end, 10);
			if (*end || a.arg[0] < '0' || a.arg[0] > '9' ||
			    queues < 1 || queues > 32)
				return cli_fail(c, "--queues must be from 1 to "
						"32, found '%s'", a.arg);
			break;
		case 'S':
			sets = true;
			break;
		case 'r':
			remove = true;
			break;
		}
	}
	if (o < 0)
		return a.exit;
	if (remove) {
		if (a.noperands)
			return cli_fail(c, "unexpected argument '%s' (--remove "
					"takes no POLICY)", a.operands[0]);
		if (sets || family)
			return cli_fail(c, "--remove takes no --sets, -4 or "
					"-6");
		return remove_all(backend);
	}
	if (!a.noperands)
		return cli_fail(c, "missing POLICY");
	if (sets && backend == RULES_NFT)
		return cli_fail(c, "--sets is for the iptables backend; the "
				"nft script holds its sets");
	p = cli_load_policy(a.operands[0]);
	if (!p)
		return 1;
	if (policy_ruleset_build(&rs, p, (unsigned)queues, time(NULL)) < 0) {
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
	policy_ruleset_free(&rs);
out:
	policy_free(p);
	return ret;
}

const struct cli_cmd cli_cmd_rules = {
	.name = "rules",
	.synopsis = "POLICY [--backend iptables|nft] [-4|-6] [--queues N] "
		    "[--sets]\n--remove [--backend iptables|nft]",
	.help = "The kernel ruleset portcullisd installs for POLICY: text for "
		"iptables-restore\n--noflush (IPv4, then IPv6), or a script "
		"for nft -f. --remove takes all of\nit out of the kernel: "
		"chains, FORWARD jumps, sets, or the nft table.\n\n"
		"  --backend B     iptables (default) or nft\n"
		"  -4, -6          only the IPv4 or the IPv6 half (iptables)\n"
		"  --queues N      as portcullisd --queues: 1 to 32, default 1\n"
		"  --sets          instead, the ipset input for the iptables "
		"backend's sets\n"
		"  --remove        take the ruleset out of the kernel\n",
	.shortopts = "46",
	.opts = rules_opts,
	.max = 1,
	.run = run_rules,
};
