// SPDX-License-Identifier: GPL-2.0-or-later
/* portcullis explain POLICY SRC DST PORT: the verdict and the chain of why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/rfc3339.h"
#include "common/subid.h"

static void print_entry(const struct policy *p, int32_t id)
{
	struct policy_entry_info e;
	char when[32];

	if (policy_entry_info(p, id, &e) < 0)
		return;
	printf("%s, profile %s", e.prefix, e.profile);
	if (e.note)
		printf(", note \"%s\"", e.note);
	if (e.expires)
		printf(", expires %s",
		       rfc3339_format(e.expires, when, sizeof(when)));
	if (e.file && e.line)
		printf(" (%s:%u)", e.file, e.line);
	else if (e.file)
		printf(" (%s)", e.file);
}

static int32_t entry_parent(const struct policy *p, int32_t id)
{
	struct policy_entry_info e;

	return policy_entry_info(p, id, &e) < 0 ? -1 : e.parent;
}

static void print_profile_verdict(const struct policy *p, int profile,
				  uint16_t port)
{
	bool listed;
	enum policy_action a = policy_profile_action(p, profile, port, &listed);

	printf("profile %s %s port %u: %s", policy_profile_name(p, profile),
	       listed ? "lists" : "does not list", port, policy_action_name(a));
	if (!listed)
		printf(" (its default)");
}

/* Walk from the most specific entry covering src (expired or not) up to
 * the aggregate, saying which were skipped, which decided, and what the
 * next live one would have done without the deciding entry. */
static void explain_subscriber(const struct policy *p,
			       const struct policy_flow *f, int64_t now,
			       const struct policy_decision *d)
{
	int32_t id = policy_lookup(p, &f->src, INT64_MIN);
	char src[64];

	addr_format(&f->src, src, sizeof(src));
	for (; id >= 0; id = entry_parent(p, id)) {
		struct policy_entry_info e;
		char when[32];

		policy_entry_info(p, id, &e);
		if (e.expires && e.expires <= now) {
			printf("  skipped:    %s (profile %s) expired at %s\n",
			       e.prefix, e.profile,
			       rfc3339_format(e.expires, when,
					      sizeof(when)));
			continue;
		}
		if (id == d->entry) {
			printf("  subscriber: %s is in ", src);
			print_entry(p, id);
			printf("\n");
			continue;
		}
		printf("  without it: ");
		print_entry(p, id);
		printf("\n              would decide: ");
		print_profile_verdict(p, e.profile_id, f->dport);
		printf("\n");
		break;
	}
	if (d->entry < 0)
		printf("  subscriber: %s is in no live subscriber prefix\n", src);
}

static void explain_decision(const struct policy *p,
			     const struct policy_flow *f,
			     const struct policy_decision *d)
{
	const struct policy_detection *det = policy_detection(p);

	switch (d->reason) {
	case POLICY_REASON_RELAY:
		printf("  decision:   the destination is a relay: accept "
		       "(relay)\n");
		break;
	case POLICY_REASON_NOT_SUBSCRIBER:
		printf("  decision:   not a subscriber: accept "
		       "(not-subscriber)\n");
		break;
	case POLICY_REASON_QUARANTINE:
		printf("  decision:   quarantined, so detection's ");
		print_profile_verdict(p, det->profile, f->dport);
		printf(" (quarantine)\n");
		break;
	case POLICY_REASON_PORT:
	case POLICY_REASON_DEFAULT:
		printf("  decision:   ");
		print_profile_verdict(p, d->profile, f->dport);
		printf(" (%s)\n", policy_reason_name(d->reason));
		break;
	}
	if (policy_mode(p) == POLICY_MODE_MONITOR && d->action != POLICY_ACCEPT)
		printf("  mode:       monitor: logged as %s, the packet is "
		       "accepted\n", policy_action_name(d->action));
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

#define STATE_DEFAULT "/var/lib/portcullis/exceptions.yaml"

/* Rule 4, when it decided: the subscriber's live exception. */
static void explain_subscriber_exception(const struct policy *p,
					 const struct policy_flow *f,
					 const struct policy_decision *d)
{
	struct policy_exception e;
	char when[32];

	if (!f->subscriber_len)
		return;
	printf("  session:    held by subscriber %.*s\n",
	       (int)f->subscriber_len, f->subscriber);
	if (d->subex < 0 || policy_subscriber_exception(p, d->subex, &e) < 0) {
		if (d->reason == POLICY_REASON_PORT ||
		    d->reason == POLICY_REASON_DEFAULT)
			printf("  exception:  none for the subscriber: its "
			       "prefix's profile decides\n");
		return;
	}
	printf("  exception:  subscriber %s has the live exception: profile "
	       "%s", e.subscriber, e.profile);
	if (e.expires)
		printf(", until %s", rfc3339_format(e.expires, when,
						    sizeof(when)));
	if (e.note[0])
		printf(", note \"%s\"", e.note);
	printf("\n");
}

static const struct option explain_opts[] = {
	{ "at", required_argument, NULL, 'a' },
	{ "quarantined", no_argument, NULL, 'q' },
	{ "subscriber", required_argument, NULL, 's' },
	{ "state", required_argument, NULL, 'S' },
	{ NULL, 0, NULL, 0 },
};

static int run_explain(const struct cli_cmd *c, const struct cli_req *r,
		       int argc, char **argv)
{
	struct policy_decision d;
	struct policy_flow f = { 0 };
	struct policy *p;
	struct cli_args a;
	int64_t now = time(NULL);
	bool quarantined = false;
	const char *state = NULL;
	char src[64], dst[64], when[32], why[200];
	int o;

	(void)r;
	cli_args_init(&a, c, argc, argv);
	while ((o = cli_args_next(&a)) > 0) {
		switch (o) {
		case 'a':
			if (rfc3339_parse(a.arg, &now) < 0)
				return cli_fail(c, "--at: '%s' is not an RFC "
						"3339 time such as "
						"2027-03-01T00:00:00Z", a.arg);
			break;
		case 'q':
			quarantined = true;
			break;
		case 's':
			if (subid_check(a.arg, strlen(a.arg), why,
					sizeof(why)) < 0)
				return cli_fail(c, "--subscriber: %s", why);
			f.subscriber = a.arg;
			f.subscriber_len = (uint8_t)strlen(a.arg);
			break;
		case 'S':
			state = a.arg;
			break;
		}
	}
	if (o < 0)
		return a.exit;
	if (addr_parse(a.operands[1], &f.src) < 0 ||
	    addr_parse(a.operands[2], &f.dst) < 0)
		return cli_fail(c, "SRC and DST must be IPv4 or IPv6 "
				"addresses");
	if (addr_is_v4(&f.src) != addr_is_v4(&f.dst))
		return cli_fail(c, "SRC and DST must be of one family");
	if (parse_port(a.operands[3], &f.dport) < 0)
		return cli_fail(c, "PORT must be a number from 1 to 65535, "
				"found '%s'", a.operands[3]);
	/* A subscriber's exceptions are the daemon's live ones. */
	if (!state && f.subscriber_len && access(STATE_DEFAULT, R_OK) == 0)
		state = STATE_DEFAULT;
	p = cli_load_policy_ex(a.operands[0], state);
	if (!p)
		return 1;
	policy_decide(p, &f, now, quarantined, &d);
	printf("%s → %s port %u: %s\n", addr_format(&f.src, src, sizeof(src)),
	       addr_format(&f.dst, dst, sizeof(dst)), f.dport,
	       policy_action_name(d.verdict));
	printf("  at:         %s\n", rfc3339_format(now, when,
							 sizeof(when)));
	printf("  relay:      %s is %sa relay\n", dst,
	       d.reason == POLICY_REASON_RELAY ? "" : "not ");
	if (d.reason != POLICY_REASON_RELAY) {
		explain_subscriber(p, &f, now, &d);
		explain_subscriber_exception(p, &f, &d);
	}
	explain_decision(p, &f, &d);
	policy_free(p);
	return 0;
}

const struct cli_cmd cli_cmd_explain = {
	.name = "explain",
	.synopsis = "POLICY SRC DST PORT [--at TIME] [--quarantined] "
		    "[--subscriber ID]\n[--state FILE]",
	.help = "The verdict for a SYN from SRC to DST port PORT, and the "
		"chain of why: the\nrelay, the entry that decides SRC, what "
		"the next one would decide without it.\n\n"
		"  --at TIME       judge at TIME (RFC 3339), not now\n"
		"  --quarantined   judge as if SRC were quarantined\n"
		"  --subscriber ID judge as if subscriber ID's session held "
		"SRC: its live\n"
		"                  exception (rule 4) decides, if it has one\n"
		"  --state FILE    the live exceptions (the daemon's state "
		"file); with\n"
		"                  --subscriber, " STATE_DEFAULT " if "
		"readable\n",
	.opts = explain_opts,
	.need = { "POLICY", "SRC", "DST", "PORT" },
	.max = 4,
	.run = run_explain,
};
