// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis session start|stop|list: who holds which address, as the
 * session feeds (integrations/) tell the live daemon. Parsed here, whole,
 * before cli_remote sends them; ids, addresses and times are the
 * daemon's to judge (filter/session.c).
 */
#include <stdbool.h>

#include "cli/cli.h"

static int run_start(const struct cli_cmd *c, const struct cli_req *r,
		     int argc, char **argv)
{
	bool expiry = false;
	struct cli_args a;
	int o;

	cli_args_init(&a, c, argc, argv);
	while ((o = cli_args_next(&a)) > 0) {
		if (o != 'f' && o != 'u')
			continue;
		if (expiry)
			return cli_fail(c, "--for and --until exclude each "
					"other");
		expiry = true;
	}
	if (o < 0)
		return a.exit;
	return cli_remote(r);
}

static const struct option start_opts[] = {
	{ "for", required_argument, NULL, 'f' },
	{ "until", required_argument, NULL, 'u' },
	{ "source", required_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd session_start = {
	.name = "session start",
	.synopsis = "ID ADDRESS... [--for DURATION|--until TIME] "
		    "[--source NAME]",
	.help = "Subscriber ID (1 to 128 printable characters: a RADIUS "
		"User-Name, a DHCP client\nid) holds exactly these addresses "
		"from now: one IPv4 address and up to two\nIPv6 prefixes "
		"(2001:db8:1:100::/56; an IPv6 address stands for its /64). "
		"An\naddress another subscriber held moves to ID. Starting it "
		"again is a renewal.\nIts SYNs are judged, counted, "
		"quarantined and logged as ID's.\n\n"
		"  --for DURATION  until DURATION from now: 90s, 30m, 24h\n"
		"  --until TIME    until TIME (RFC 3339)\n"
		"                  (neither: until it is stopped)\n"
		"  --source NAME   the feed that says so: kea, radius, ...\n",
	.opts = start_opts,
	.need = { "ID", "ADDRESS" },
	.max = 4,
	.remote = true,
	.run = run_start,
};

static const struct cli_cmd session_stop = {
	.name = "session stop",
	.synopsis = "ID|ADDRESS",
	.help = "End subscriber ID's session, or take ADDRESS (an IPv4 "
		"address, or an IPv6\nprefix or an address inside it) from "
		"the session holding it; a session left\nholding nothing "
		"ends. Exit 1 when there is no such session.\n",
	.need = { "ID|ADDRESS" },
	.max = 1,
	.remote = true,
	.run = cli_remote_run,
};

static const struct option list_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

static const struct cli_cmd session_list = {
	.name = "session list",
	.synopsis = "[ID|ADDRESS] [--json]",
	.help = "The live sessions: subscriber, addresses, until when, "
		"source; or the one of ID,\nor the one holding ADDRESS "
		"(exit 1 when none does).\n\n"
		"  --json          as a JSON array\n",
	.opts = list_opts,
	.max = 1,
	.remote = true,
	.run = cli_remote_run,
};

static const struct cli_cmd *const subs[] = {
	&session_start, &session_stop, &session_list, NULL,
};

const struct cli_cmd cli_cmd_session = {
	.name = "session",
	.help = "Sessions: which subscriber holds which address (DHCP "
		"leases, RADIUS\naccounting). portcullis session "
		"start|stop|list --help says more.\n",
	.need = { "start|stop|list" },
	.max = CLI_ANY,
	.in_order = true,
	.subs = subs,
	.run = cli_group_run,
};
