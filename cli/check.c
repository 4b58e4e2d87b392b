// SPDX-License-Identifier: GPL-2.0-or-later
/* portcullis check POLICY: validate, and summarise what was loaded. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "cli/cli.h"
#include "common/duration.h"
#include "common/rfc3339.h"

#define EXPIRY_HORIZON (7 * 86400)

static void print_profiles(const struct policy *p)
{
	unsigned n = policy_profile_count(p);

	printf("  profiles:     %u", n);
	for (unsigned i = 0; i < n; i++) {
		uint16_t ports[16];
		unsigned np = policy_profile_ports(p, (int)i, ports, 16);

		printf("%s%s (", i ? "; " : " — ", policy_profile_name(p, (int)i));
		for (unsigned j = 0; j < np && j < 16; j++)
			printf("%u %s, ", ports[j],
			       policy_action_name(policy_profile_action(
				       p, (int)i, ports[j], NULL)));
		if (np > 16)
			printf("… %u ports, ", np);
		printf("else %s)",
		       policy_action_name(policy_profile_default(p, (int)i)));
	}
	printf("\n");
}

static void print_detection(const struct policy *p)
{
	const struct policy_detection *d = policy_detection(p);
	char window[32], hold[32];

	if (!d->enabled) {
		printf("  detection:    off\n");
		return;
	}
	printf("  detection:    ports");
	for (unsigned i = 0; i < d->nports; i++)
		printf("%s%u", i ? "," : " ", d->ports[i]);
	printf("; %u SYNs to %u destinations in %s → %s", d->syns,
	       d->distinct_destinations,
	       duration_format(d->window_s, window, sizeof(window)),
	       d->quarantine ? "quarantine" : "log");
	if (d->quarantine)
		printf(" for %s as profile %s",
		       duration_format(d->quarantine_for_s, hold,
				       sizeof(hold)),
		       policy_profile_name(p, d->profile));
	printf("\n");
}

static void print_expiring(const struct policy *p, int64_t now)
{
	size_t n = policy_expiring(p, now, EXPIRY_HORIZON, NULL, 0);
	int32_t *ids;

	if (!n) {
		printf("  expiring:     none within 7 days\n");
		return;
	}
	printf("  expiring:     %zu within 7 days\n", n);
	ids = calloc(n, sizeof(*ids));
	if (!ids)
		return;
	policy_expiring(p, now, EXPIRY_HORIZON, ids, n);
	for (size_t i = 0; i < n; i++) {
		struct policy_entry_info e;
		char when[32];

		if (policy_entry_info(p, ids[i], &e) < 0)
			continue;
		printf("    %-22s %-12s %s", e.prefix, e.profile,
		       rfc3339_format(e.expires, when, sizeof(when)));
		if (e.note)
			printf("  \"%s\"", e.note);
		if (e.file)
			printf("  (%s:%u)", e.file, e.line);
		printf("\n");
	}
	free(ids);
}

static int run_check(const struct cli_cmd *c, const struct cli_req *r,
		     int argc, char **argv)
{
	struct cli_args a;
	struct policy *p;
	int o;

	(void)r;
	cli_args_init(&a, c, argc, argv);
	while ((o = cli_args_next(&a)) > 0)
		;
	if (o < 0)
		return a.exit;
	p = cli_load_policy(a.operands[0]);
	if (!p)
		return 1;
	printf("%s: OK, mode %s\n", a.operands[0],
	       policy_mode(p) == POLICY_MODE_MONITOR ? "monitor" : "enforce");
	print_profiles(p);
	printf("  subscribers:  %zu IPv4 and %zu IPv6 entries "
	       "(aggregates: %zu IPv4, %zu IPv6)\n",
	       policy_entry_count(p, AF_INET), policy_entry_count(p, AF_INET6),
	       policy_aggregates(p, AF_INET, NULL, 0),
	       policy_aggregates(p, AF_INET6, NULL, 0));
	printf("  relays:       %zu\n", policy_relay_count(p));
	print_detection(p);
	if (policy_cluster(p)->enabled) {
		const struct policy_cluster *pc = policy_cluster(p);

		printf("  cluster:      %u NATS server%s, bucket %s, gateway %s%s"
		       "%s\n", pc->nservers, pc->nservers == 1 ? "" : "s",
		       pc->bucket, pc->gateway,
		       pc->credentials ? ", credentials " : "",
		       pc->credentials ? pc->credentials : "");
	}
	print_expiring(p, time(NULL));
	policy_free(p);
	return 0;
}

const struct cli_cmd cli_cmd_check = {
	.name = "check",
	.synopsis = "POLICY",
	.help = "Validate POLICY. On success a summary: mode, profiles, "
		"entries and aggregates,\nrelays, detection, the cluster, and the entries "
		"that expire within seven days. On a broken\npolicy every "
		"error, each as file:line:col: message, and exit 1.\n",
	.need = { "POLICY" },
	.max = 1,
	.run = run_check,
};
