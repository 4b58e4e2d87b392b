// SPDX-License-Identifier: GPL-2.0-or-later
/* What the control socket's commands do; the reply text for each. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "filter/control.h"
#include "filter/daemon.h"

static bool has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], flag))
			return true;
	return false;
}

static void stats_text(struct daemon *d, struct strbuf *o)
{
	const struct policy *p = atomic_load(&d->policy);
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
	strbuf_printf(o, " (dropped on fail-closed queues, accepted on "
		      "fail-open ones)\n");
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
}

static void stats_json(struct daemon *d, struct strbuf *o)
{
	const struct policy *p = atomic_load(&d->policy);
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

int control_command(struct daemon *d, int argc, char **argv,
		    struct strbuf *out)
{
	const char *cmd = argv[0];

	if (!strcmp(cmd, "stats")) {
		if (has_flag(argc, argv, "--json"))
			stats_json(d, out);
		else
			stats_text(d, out);
		return 0;
	}
	if (!strcmp(cmd, "reload")) {
		if (daemon_reload(d, out) < 0) {
			strbuf_printf(out, "reload failed; the running policy "
				      "stays\n");
			return 1;
		}
		strbuf_printf(out, "reloaded %s\n", d->opts.policy_path);
		return 0;
	}
	strbuf_printf(out, "unknown command '%s'\n", cmd);
	return 1;
}
