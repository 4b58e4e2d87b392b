// SPDX-License-Identifier: GPL-2.0-or-later
/* What the control socket's commands do; the reply text for each. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "filter/cmdargs.h"
#include "filter/control.h"
#include "filter/daemon.h"
#include "filter/except.h"
#include "filter/kernel.h"

/*
 * argv[0]'s options and operands, refused as the command line refuses
 * them (cli/), for clients other than portcullis(8): --json only where
 * json is not NULL, and min to max operands (need: the first one
 * required). Returns the index of the first operand, or -1 with one line
 * in out.
 */
static int parse(int argc, char **argv, bool *json, int min, int max,
		 const char *need, struct strbuf *out)
{
	static const struct option with_json[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0];
	int c;

	optind = 0;		/* glibc: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", json ? with_json :
				with_json + 1, NULL)) != -1) {
		if (c == 'j') {
			*json = true;
			continue;
		}
		cmdargs_bad_option(out, cmd, c, argv);
		return -1;
	}
	if (cmdargs_operands(argc, argv, min, max, cmd, need, out) < 0)
		return -1;
	return optind;
}

static void stats_text(struct daemon *d, struct strbuf *o)
{
	const struct policy *p = daemon_policy(d);
	struct daemon_totals t;
	struct blocklog_counters bc = { 0 };
	char when[32];

	daemon_totals(d, &t);
	if (d->blocklog)
		blocklog_counters(d->blocklog, &bc);
	strbuf_printf(o, "policy:       %s, mode %s, loaded %s "
		      "(%llu loads, %llu failed)\n", d->opts.policy_path,
		      policy_mode(p) == POLICY_MODE_MONITOR ? "monitor"
							    : "enforce",
		      policy_time_format(d->loaded, when, sizeof(when)),
		      (unsigned long long)d->loads,
		      (unsigned long long)d->load_failures);
	strbuf_printf(o, "uptime:       %llds, %u queues\n",
		      (long long)(time(NULL) - d->started), d->nworkers);
	strbuf_printf(o, "verdicts:     %llu accept, %llu drop, %llu reject\n",
		      (unsigned long long)t.verdicts[POLICY_ACCEPT],
		      (unsigned long long)t.verdicts[POLICY_DROP],
		      (unsigned long long)t.verdicts[POLICY_REJECT]);
	strbuf_printf(o, "not judged:   ");
	for (int s = PARSE_NOT_SYN; s <= PARSE_MALFORMED; s++)
		strbuf_printf(o, "%s%llu %s", s == PARSE_NOT_SYN ? "" : ", ",
			      (unsigned long long)t.parse[s],
			      parse_status_name(s));
	strbuf_printf(o, " (accepted; on a fail-closed queue judged by "
		      "source)\n");
	strbuf_printf(o, "queues:       %llu packets, %llu socket overruns, "
		      "%llu verdict errors\n",
		      (unsigned long long)t.packets,
		      (unsigned long long)t.enobufs,
		      (unsigned long long)t.verdict_errors);
	strbuf_printf(o, "block log:    %llu lines written, %llu lost "
		      "(%llu queue full, %llu write failed)\n",
		      (unsigned long long)bc.written,
		      (unsigned long long)(bc.lost_full + bc.lost_io),
		      (unsigned long long)bc.lost_full,
		      (unsigned long long)bc.lost_io);
	{
		struct stats_counters sc;

		stats_counters(d->stats, &sc);
		strbuf_printf(o, "subscribers:  %llu tracked of %llu, %llu "
			      "evicted; %llu quarantined now; %llu "
			      "detections, %llu quarantines, %llu released "
			      "(%llu expired)\n",
			      (unsigned long long)sc.tracked,
			      (unsigned long long)sc.capacity,
			      (unsigned long long)sc.evictions,
			      (unsigned long long)sc.quarantined,
			      (unsigned long long)sc.detections,
			      (unsigned long long)sc.quarantines,
			      (unsigned long long)(sc.releases_manual +
						   sc.releases_expired),
			      (unsigned long long)sc.releases_expired);
		strbuf_printf(o, "live exceptions: %zu\n", d->nex);
		strbuf_printf(o, "rules:        %s; put back after a change "
			      "from outside: %llu%s\n",
			      !d->kernel ? "left to the operator" :
			      d->opts.backend == RULES_NFT ?
			      "installed (nft), checked each second" :
			      "installed (iptables), checked each second",
			      (unsigned long long)atomic_load(&d->rules_restored),
			      d->rules_broken ? "; NOT INTACT, see the log" :
			      d->rules_stale ? "; an older ruleset is in, see "
			      "the log" : "");
	}
}

static void stats_json(struct daemon *d, struct strbuf *o)
{
	const struct policy *p = daemon_policy(d);
	struct daemon_totals t;
	struct blocklog_counters bc = { 0 };

	daemon_totals(d, &t);
	if (d->blocklog)
		blocklog_counters(d->blocklog, &bc);
	strbuf_printf(o, "{\"policy\":");
	strbuf_json(o, d->opts.policy_path);
	strbuf_printf(o, ",\"mode\":\"%s\",\"loaded\":%lld,\"loads\":%llu,"
		      "\"load_failures\":%llu,\"uptime_s\":%lld,\"queues\":%u,"
		      "\"verdicts\":{\"accept\":%llu,\"drop\":%llu,"
		      "\"reject\":%llu},\"not_judged\":{",
		      policy_mode(p) == POLICY_MODE_MONITOR ? "monitor"
							    : "enforce",
		      (long long)d->loaded, (unsigned long long)d->loads,
		      (unsigned long long)d->load_failures,
		      (long long)(time(NULL) - d->started), d->nworkers,
		      (unsigned long long)t.verdicts[POLICY_ACCEPT],
		      (unsigned long long)t.verdicts[POLICY_DROP],
		      (unsigned long long)t.verdicts[POLICY_REJECT]);
	for (int s = PARSE_NOT_SYN; s <= PARSE_MALFORMED; s++)
		strbuf_printf(o, "%s\"%s\":%llu", s == PARSE_NOT_SYN ? "" : ",",
			      parse_status_name(s),
			      (unsigned long long)t.parse[s]);
	strbuf_printf(o, "},\"packets\":%llu,\"enobufs\":%llu,"
		      "\"verdict_errors\":%llu,\"log_written\":%llu,"
		      "\"log_lost_full\":%llu,\"log_lost_io\":%llu}\n",
		      (unsigned long long)t.packets,
		      (unsigned long long)t.enobufs,
		      (unsigned long long)t.verdict_errors,
		      (unsigned long long)bc.written,
		      (unsigned long long)bc.lost_full,
		      (unsigned long long)bc.lost_io);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "100.64.3.7" or "2001:db8:1:2::/64" for a subscriber. */
static const char *sub_name(const struct stats_subscriber *s, char *buf,
			    size_t len)
{
	char a[64];

	policy_addr_format(&s->addr, a, sizeof(a));
	if (s->ipv6)
		snprintf(buf, len, "%s/%u", a, s->prefix_len);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}

static void sub_json(struct strbuf *o, const struct stats_subscriber *s)
{
	char name[80], first[32], last[32], until[32];

	policy_time_format(s->first_seen, first, sizeof(first));
	policy_time_format(s->last_seen, last, sizeof(last));
	strbuf_printf(o, "{\"src\":\"%s\",\"syns\":%llu,\"accepted\":%llu,"
		      "\"blocked\":%llu,\"syns_by_port\":{",
		      sub_name(s, name, sizeof(name)),
		      (unsigned long long)s->syns,
		      (unsigned long long)s->accepted,
		      (unsigned long long)s->blocked);
	for (int i = 0; i < STATS_PORTS; i++)
		strbuf_printf(o, "\"%u\":%u,", s->ports[i], s->syns_port[i]);
	strbuf_printf(o, "\"other\":%u},\"first_seen\":\"%s\","
		      "\"last_seen\":\"%s\",\"window_syns\":%u,"
		      "\"window_distinct\":%u,\"quarantined\":%s",
		      s->syns_port[STATS_PORT_OTHER], first, last,
		      s->window_syns, s->window_distinct,
		      s->quarantined ? "true" : "false");
	if (s->quarantined)
		strbuf_printf(o, ",\"until\":\"%s\",\"quarantine_syns\":%u,"
			      "\"quarantine_distinct\":%u",
			      policy_time_format(s->until_ms / 1000, until,
						 sizeof(until)),
			      s->quarantine_syns, s->quarantine_distinct);
	strbuf_printf(o, "}");
}

static int cmd_top(struct daemon *d, int argc, char **argv,
		   struct strbuf *o)
{
	struct stats_subscriber *subs;
	bool json = false;
	size_t n = 10, got;
	char name[80], last[32];
	int at = parse(argc, argv, &json, 0, 1, "", o);

	if (at < 0)
		return 1;
	if (at < argc) {
		const char *s = argv[at];
		char *end;

		n = strtoul(s, &end, 10);
		if (*end || *s < '0' || *s > '9' || n < 1 || n > 10000) {
			strbuf_printf(o, "top: N must be a number from 1 to "
				      "10000, found '%s'\n", s);
			return 1;
		}
	}
	subs = calloc(n, sizeof(*subs));
	if (!subs) {
		strbuf_printf(o, "out of memory\n");
		return 1;
	}
	got = stats_top(d->stats, now_ms(), subs, n);
	if (json)
		strbuf_printf(o, "[");
	else
		strbuf_printf(o, "%-24s %10s %10s %10s %6s %6s  %-20s %s\n",
			      "SUBSCRIBER", "SYNS", "BLOCKED", "ACCEPTED",
			      "WIN", "DESTS", "LAST SEEN", "STATE");
	for (size_t i = 0; i < got; i++) {
		if (json) {
			if (i)
				strbuf_printf(o, ",");
			sub_json(o, &subs[i]);
			continue;
		}
		strbuf_printf(o, "%-24s %10llu %10llu %10llu %6u %6u  %-20s "
			      "%s\n", sub_name(&subs[i], name, sizeof(name)),
			      (unsigned long long)subs[i].syns,
			      (unsigned long long)subs[i].blocked,
			      (unsigned long long)subs[i].accepted,
			      subs[i].window_syns, subs[i].window_distinct,
			      policy_time_format(subs[i].last_seen, last,
						 sizeof(last)),
			      subs[i].quarantined ? "quarantined" : "");
	}
	if (json)
		strbuf_printf(o, "]\n");
	free(subs);
	return 0;
}

static int cmd_quarantine(struct daemon *d, int argc, char **argv,
			  struct strbuf *o)
{
	struct stats_subscriber *subs;
	char name[80], until[32];
	bool json = false;
	size_t n, got;

	if (parse(argc, argv, &json, 0, 0, "", o) < 0)
		return 1;
	n = stats_quarantined_list(d->stats, now_ms(), NULL, 0);
	subs = calloc(n ? n : 1, sizeof(*subs));
	if (!subs) {
		strbuf_printf(o, "out of memory\n");
		return 1;
	}
	got = stats_quarantined_list(d->stats, now_ms(), subs, n);
	if (json)
		strbuf_printf(o, "[");
	else if (!got)
		strbuf_printf(o, "no subscriber is quarantined\n");
	else
		strbuf_printf(o, "%-24s %-21s %8s %8s\n", "SUBSCRIBER",
			      "UNTIL", "SYNS", "DESTS");
	for (size_t i = 0; i < got && i < n; i++) {
		if (json) {
			if (i)
				strbuf_printf(o, ",");
			sub_json(o, &subs[i]);
			continue;
		}
		strbuf_printf(o, "%-24s %-21s %8u %8u\n",
			      sub_name(&subs[i], name, sizeof(name)),
			      policy_time_format(subs[i].until_ms / 1000,
						 until, sizeof(until)),
			      subs[i].quarantine_syns,
			      subs[i].quarantine_distinct);
	}
	if (json)
		strbuf_printf(o, "]\n");
	free(subs);
	return 0;
}

static int cmd_release(struct daemon *d, int argc, char **argv,
		       struct strbuf *o)
{
	struct policy_addr a;
	int at = parse(argc, argv, NULL, 1, 1, "SRC", o);

	if (at < 0)
		return 1;
	if (policy_addr_parse(argv[at], &a) < 0) {
		strbuf_printf(o, "release: SRC must be an IPv4 or IPv6 "
			      "address, found '%s'\n", argv[at]);
		return 1;
	}
	if (stats_release(d->stats, &a, now_ms()) < 0) {
		strbuf_printf(o, "%s is not quarantined\n", argv[at]);
		return 1;
	}
	/* Out of the kernel's quarantine set now, not at the next tick. */
	kernel_sync_quarantine(d);
	strbuf_printf(o, "released %s\n", argv[at]);
	return 0;
}

int control_command(struct daemon *d, int argc, char **argv,
		    struct strbuf *out)
{
	const char *cmd = argv[0];
	bool json = false;

	if (!strcmp(cmd, "stats")) {
		if (parse(argc, argv, &json, 0, 0, "", out) < 0)
			return 1;
		if (json)
			stats_json(d, out);
		else
			stats_text(d, out);
		return 0;
	}
	if (!strcmp(cmd, "reload")) {
		if (parse(argc, argv, NULL, 0, 0, "", out) < 0)
			return 1;
		if (daemon_reload(d, out) < 0) {
			strbuf_printf(out, "reload failed; the running policy "
				      "stays\n");
			return 1;
		}
		strbuf_printf(out, "reloaded %s\n", d->opts.policy_path);
		return 0;
	}
	if (!strcmp(cmd, "except"))
		return except_command(d, argc, argv, out);
	if (!strcmp(cmd, "top"))
		return cmd_top(d, argc, argv, out);
	if (!strcmp(cmd, "quarantine"))
		return cmd_quarantine(d, argc, argv, out);
	if (!strcmp(cmd, "release"))
		return cmd_release(d, argc, argv, out);
	strbuf_printf(out, "unknown command '%s'\n", cmd);
	return 1;
}
