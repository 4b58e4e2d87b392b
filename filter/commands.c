// SPDX-License-Identifier: GPL-2.0-or-later
/* What the control socket's commands do; the reply text for each. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/rfc3339.h"
#include "filter/cmdargs.h"
#include "filter/control.h"
#include "filter/cluster.h"
#include "filter/daemon.h"
#include "filter/except.h"
#include "filter/kernel.h"
#include "filter/reply_json.h"
#include "filter/session.h"

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

/* Whether quarantined sources are blocked in the kernel, and if not
 * why. */
static const char *kq_state(struct daemon *d)
{
	if (!d->kernel)
		return "off (no rules installed)";
	if (d->opts.no_kernel_quarantine)
		return "off (--no-kernel-quarantine)";
	if (policy_mode(daemon_policy(d)) == POLICY_MODE_MONITOR)
		return "off (monitor mode blocks nothing)";
	return d->kq_unread ? "on, its counters NOT READ, see the log" : "on";
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
		      rfc3339_format(d->loaded, when, sizeof(when)),
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
		strbuf_printf(o, "kernel quarantine: %s; %llu SYNs blocked "
			      "by it\n", kq_state(d),
			      (unsigned long long)sc.kernel);
		strbuf_printf(o, "live exceptions: %zu\n", d->nex);
		{
			struct shadow *sh = atomic_load(&d->shadow);
			struct shadow_sum ss;

			if (sh) {
				shadow_sum(sh->st, &ss);
				strbuf_printf(o, "shadow:       %s: %llu SYNs "
					      "judged, %llu decided otherwise "
					      "(portcullis shadow status)\n",
					      sh->st->path,
					      (unsigned long long)ss.judged,
					      (unsigned long long)(ss.dir[0] +
					      ss.dir[1] + ss.dir[2]));
			} else {
				strbuf_printf(o, "shadow:       none\n");
			}
		}
		if (d->ident) {
			struct identity_counters ic;

			identity_counters(d->ident, &ic);
			strbuf_printf(o, "sessions:     %llu of %llu (%llu "
				      "IPv4, %llu IPv6 prefixes); %llu starts, "
				      "%llu renewals, %llu re-addressed, %llu "
				      "stops, %llu expired, %llu refused "
				      "(full); %zu bytes\n",
				      (unsigned long long)ic.sessions,
				      (unsigned long long)ic.max,
				      (unsigned long long)ic.v4,
				      (unsigned long long)ic.v6,
				      (unsigned long long)ic.starts,
				      (unsigned long long)ic.renewals,
				      (unsigned long long)ic.moves,
				      (unsigned long long)ic.stops,
				      (unsigned long long)ic.expiries,
				      (unsigned long long)ic.refused_full,
				      ic.memory);
		}
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
	shared_stats_text(d, o);
}

static int stats_json(struct daemon *d, struct strbuf *o)
{
	const struct policy *p = daemon_policy(d);
	struct json_object *j = json_object_new_object(), *v, *nj;
	struct daemon_totals t;
	struct blocklog_counters bc = { 0 };

	daemon_totals(d, &t);
	if (d->blocklog)
		blocklog_counters(d->blocklog, &bc);
	reply_json_str(j, "policy", d->opts.policy_path);
	reply_json_str(j, "mode", policy_mode(p) == POLICY_MODE_MONITOR ?
			  "monitor" : "enforce");
	reply_json_i64(j, "loaded", d->loaded);
	reply_json_u64(j, "loads", d->loads);
	reply_json_u64(j, "load_failures", d->load_failures);
	reply_json_i64(j, "uptime_s", time(NULL) - d->started);
	reply_json_u64(j, "queues", d->nworkers);
	v = json_object_new_object();
	reply_json_u64(v, "accept", t.verdicts[POLICY_ACCEPT]);
	reply_json_u64(v, "drop", t.verdicts[POLICY_DROP]);
	reply_json_u64(v, "reject", t.verdicts[POLICY_REJECT]);
	reply_json_add(j, "verdicts", v);
	nj = json_object_new_object();
	for (int s = PARSE_NOT_SYN; s <= PARSE_MALFORMED; s++)
		reply_json_u64(nj, parse_status_name(s), t.parse[s]);
	reply_json_add(j, "not_judged", nj);
	reply_json_u64(j, "packets", t.packets);
	reply_json_u64(j, "enobufs", t.enobufs);
	reply_json_u64(j, "verdict_errors", t.verdict_errors);
	reply_json_u64(j, "log_written", bc.written);
	reply_json_u64(j, "log_lost_full", bc.lost_full);
	reply_json_u64(j, "log_lost_io", bc.lost_io);
	{
		struct stats_counters sc;

		stats_counters(d->stats, &sc);
		v = json_object_new_object();
		reply_json_str(v, "state", kq_state(d));
		reply_json_u64(v, "blocked", sc.kernel);
		reply_json_add(j, "kernel_quarantine", v);
	}
	if (d->ident) {
		struct identity_counters ic;

		identity_counters(d->ident, &ic);
		v = json_object_new_object();
		reply_json_u64(v, "live", ic.sessions);
		reply_json_u64(v, "max", ic.max);
		reply_json_u64(v, "ipv4", ic.v4);
		reply_json_u64(v, "ipv6", ic.v6);
		reply_json_u64(v, "starts", ic.starts);
		reply_json_u64(v, "renewals", ic.renewals);
		reply_json_u64(v, "moves", ic.moves);
		reply_json_u64(v, "stops", ic.stops);
		reply_json_u64(v, "expiries", ic.expiries);
		reply_json_u64(v, "refused_full", ic.refused_full);
		reply_json_u64(v, "memory", ic.memory);
		reply_json_add(j, "sessions", v);
	}
	shared_stats_json(d, j);
	return reply_json_write(o, j) < 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A subscriber known by its session whose id stats does not hold is
 * named from the session table. */
static void name_subs(struct daemon *d, struct stats_subscriber *subs,
		      size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (subs[i].by_subscriber && !subs[i].subscriber[0] &&
		    identity_id_of(d->ident, subs[i].subscriber_key,
				   subs[i].subscriber,
				   sizeof(subs[i].subscriber)) < 0)
			snprintf(subs[i].subscriber,
				 sizeof(subs[i].subscriber),
				 "(session ended)");
}

/* "cust-88412", "100.64.3.7" or "2001:db8:1:2::/64" for a subscriber. */
static const char *sub_name(const struct stats_subscriber *s, char *buf,
			    size_t len)
{
	char a[64];

	if (s->by_subscriber) {
		snprintf(buf, len, "%s", s->subscriber);
		return buf;
	}
	addr_format(&s->addr, a, sizeof(a));
	if (s->ipv6)
		snprintf(buf, len, "%s/%u", a, s->prefix_len);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}

static struct json_object *sub_json(const struct stats_subscriber *s)
{
	struct json_object *j = json_object_new_object(), *ports;
	char name[160], t[32], port[8];

	if (s->by_subscriber) {
		reply_json_str(j, "subscriber", s->subscriber);
		/* Its latest address, when stats holds one. */
		if (s->addr.b[10] == 0xff || s->addr.b[0])
			reply_json_str(j, "src",
				       addr_format(&s->addr, name,
						   sizeof(name)));
	} else {
		reply_json_str(j, "src", sub_name(s, name, sizeof(name)));
	}
	reply_json_u64(j, "syns", s->syns);
	reply_json_u64(j, "accepted", s->accepted);
	reply_json_u64(j, "blocked", s->blocked);
	ports = json_object_new_object();
	for (int i = 0; i < STATS_PORTS; i++) {
		snprintf(port, sizeof(port), "%u", s->ports[i]);
		reply_json_u64(ports, port, s->syns_port[i]);
	}
	reply_json_u64(ports, "other", s->syns_port[STATS_PORT_OTHER]);
	reply_json_add(j, "syns_by_port", ports);
	reply_json_str(j, "first_seen",
		       rfc3339_format(s->first_seen, t, sizeof(t)));
	reply_json_str(j, "last_seen",
		       rfc3339_format(s->last_seen, t, sizeof(t)));
	reply_json_u64(j, "window_syns", s->window_syns);
	reply_json_u64(j, "window_distinct", s->window_distinct);
	reply_json_bool(j, "quarantined", s->quarantined);
	if (s->quarantined) {
		reply_json_str(j, "until", rfc3339_format(s->until_ms / 1000,
							  t, sizeof(t)));
		reply_json_u64(j, "quarantine_syns", s->quarantine_syns);
		reply_json_u64(j, "quarantine_distinct",
			       s->quarantine_distinct);
		reply_json_u64(j, "quarantine_kernel", s->quarantine_kernel);
	}
	return j;
}

/* The subscribers as a JSON array. */
static int subs_json(struct strbuf *o, const struct stats_subscriber *subs,
		     size_t n)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		reply_json_push(arr, sub_json(&subs[i]));
	return reply_json_write(o, arr) < 0;
}

static int cmd_top(struct daemon *d, int argc, char **argv,
		   struct strbuf *o)
{
	struct stats_subscriber *subs;
	bool json = false;
	size_t n = 10, got;
	char name[160], last[32];
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
	name_subs(d, subs, got);
	if (json) {
		int ret = subs_json(o, subs, got);

		free(subs);
		return ret;
	}
	strbuf_printf(o, "%-24s %10s %10s %10s %6s %6s  %-20s %s\n",
		      "SUBSCRIBER", "SYNS", "BLOCKED", "ACCEPTED", "WIN",
		      "DESTS", "LAST SEEN", "STATE");
	for (size_t i = 0; i < got; i++) {
		strbuf_printf(o, "%-24s %10llu %10llu %10llu %6u %6u  %-20s "
			      "%s\n", sub_name(&subs[i], name, sizeof(name)),
			      (unsigned long long)subs[i].syns,
			      (unsigned long long)subs[i].blocked,
			      (unsigned long long)subs[i].accepted,
			      subs[i].window_syns, subs[i].window_distinct,
			      rfc3339_format(subs[i].last_seen, last,
					     sizeof(last)),
			      subs[i].quarantined ? "quarantined" : "");
	}
	free(subs);
	return 0;
}

static int cmd_quarantine(struct daemon *d, int argc, char **argv,
			  struct strbuf *o)
{
	struct stats_subscriber *subs;
	char name[160], until[32];
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
	if (got > n)
		got = n;
	name_subs(d, subs, got);
	if (json) {
		int ret = subs_json(o, subs, got);

		free(subs);
		return ret;
	}
	if (!got)
		strbuf_printf(o, "no subscriber is quarantined\n");
	else
		strbuf_printf(o, "%-24s %-21s %8s %8s %10s\n", "SUBSCRIBER",
			      "UNTIL", "SYNS", "DESTS", "KERNEL");
	for (size_t i = 0; i < got; i++) {
		strbuf_printf(o, "%-24s %-21s %8u %8u %10u\n",
			      sub_name(&subs[i], name, sizeof(name)),
			      rfc3339_format(subs[i].until_ms / 1000,
					     until, sizeof(until)),
			      subs[i].quarantine_syns,
			      subs[i].quarantine_distinct,
			      subs[i].quarantine_kernel);
	}
	free(subs);
	return 0;
}

static int cmd_release(struct daemon *d, int argc, char **argv,
		       struct strbuf *o)
{
	int at = parse(argc, argv, NULL, 1, 1, "SRC|ID", o);
	char subject[IDENTITY_ID_MAX + 1];
	const char *what;
	struct identity_hit hit;
	bool by_id = false;
	struct addr a;
	int r;

	if (at < 0)
		return 1;
	what = argv[at];
	snprintf(subject, sizeof(subject), "%s", what);
	if (addr_parse(what, &a) == 0) {
		/* An address a session holds: its subscriber is what the
		 * quarantine holds. */
		if (d->ident && identity_lookup(d->ident, &a, now_ms() / 1000,
						&hit)) {
			r = stats_release_id(d->stats, hit.key, now_ms());
			snprintf(subject, sizeof(subject), "%.*s",
				 (int)hit.len, hit.id);
			by_id = true;
		} else {
			r = stats_release(d->stats, &a, now_ms());
			shared_addr_subject(d, &a, subject, sizeof(subject));
		}
	} else if (d->ident) {
		by_id = true;
		r = stats_release_id(d->stats,
				     identity_id_key(d->ident, what,
						     strlen(what)),
				     now_ms());
	} else {
		r = -1;
	}
	if (r < 0) {
		strbuf_printf(o, "%s is not quarantined\n", what);
		return 1;
	}
	/* Out of the kernel's quarantine set now, not at the next tick. */
	kernel_sync_quarantine(d);
	/* And on every gateway. */
	shared_release(d, by_id, subject);
	strbuf_printf(o, "released %s\n", what);
	return 0;
}

/* The changes a dry run shows at most; the rest are counted. A 1M-prefix
 * change can be millions of lines: portcullis diff shows them all. */
#define DRY_RUN_LINES 10000

struct dry_run {
	struct strbuf *out;
	size_t shown;
};

static int dry_run_line(void *ctx, const struct policy_diff_item *it)
{
	struct dry_run *r = ctx;
	char line[2048];

	if (r->shown++ < DRY_RUN_LINES)
		strbuf_printf(r->out, "%s\n",
			      policy_diff_format(it, line, sizeof(line)));
	return 0;
}

/* reload --dry-run: the policy file loaded as reload would load it (with
 * the live exceptions), and what it would change from the running one;
 * nothing is swapped, installed or published. On the main loop: a 1M-
 * prefix policy's load and diff hold it a few seconds, as a reload's
 * load does; the verdict threads go on. */
static int reload_dry_run(struct daemon *d, struct strbuf *out)
{
	struct generation *g = atomic_load(&d->generation);
	struct dry_run r = { .out = out };
	struct policy *p;
	long n;

	p = daemon_load(d->opts.policy_path, d->ex, d->nex, out);
	if (!p) {
		strbuf_printf(out, "%s does not load; reload would fail and "
			      "the running policy stay\n",
			      d->opts.policy_path);
		return 1;
	}
	n = policy_diff(g->p, p, time(NULL), dry_run_line, &r);
	policy_free(p);
	if (n < 0) {
		strbuf_printf(out, "dry run: out of memory\n");
		return 1;
	}
	if (r.shown > DRY_RUN_LINES)
		strbuf_printf(out, "… and %zu more (portcullis diff shows "
			      "them all)\n", r.shown - DRY_RUN_LINES);
	if (!n)
		strbuf_printf(out, "%s: reload would change nothing\n",
			      d->opts.policy_path);
	else
		strbuf_printf(out, "%ld change%s: nothing changed yet; "
			      "portcullis reload applies %s\n", n,
			      n == 1 ? "" : "s", n == 1 ? "it" : "them");
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
			return stats_json(d, out);
		stats_text(d, out);
		return 0;
	}
	if (!strcmp(cmd, "reload")) {
		if (argc == 2 && !strcmp(argv[1], "--dry-run"))
			return reload_dry_run(d, out);
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
	if (!strcmp(cmd, "session"))
		return session_command(d, argc, argv, out);
	if (!strcmp(cmd, "shadow"))
		return shadow_command(d, argc, argv, out);
	strbuf_printf(out, "unknown command '%s'\n", cmd);
	return 1;
}
