// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis shadow start|status|stop on the daemon's side: load a
 * candidate beside the running policy, say what it found, end it. The
 * main thread alone swaps d->shadow; what it replaces is freed once no
 * verdict thread holds it, under generation_lock (the metrics thread's).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/log.h"
#include "common/rfc3339.h"
#include "filter/cmdargs.h"
#include "filter/daemon.h"
#include "filter/reply_json.h"

/* Wait until no verdict thread still reads old (a burst's time). */
static void wait_unused(struct daemon *d, const struct shadow *old)
{
	const struct timespec nap = { 0, 100 * 1000 };

	for (unsigned i = 0; i < d->nworkers; i++)
		while (atomic_load(&d->workers[i].shadow_in_use) == old)
			nanosleep(&nap, NULL);
}

static int64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The counts as one paragraph. */
static void counts_text(const struct shadow_state *st, struct strbuf *o)
{
	static const char *const dir_text[] = { "would block", "would pass",
						"would change" };
	struct shadow_sum s;
	uint64_t all;

	shadow_sum(st, &s);
	all = s.dir[0] + s.dir[1] + s.dir[2];
	strbuf_printf(o, "judged:       %llu SYNs, %llu decided otherwise: "
		      "%llu would block, %llu would pass, %llu would change "
		      "drop ↔ reject\n", (unsigned long long)s.judged,
		      (unsigned long long)all,
		      (unsigned long long)s.dir[BLOCKLOG_SHADOW_BLOCK],
		      (unsigned long long)s.dir[BLOCKLOG_SHADOW_PASS],
		      (unsigned long long)s.dir[BLOCKLOG_SHADOW_CHANGE]);
	for (unsigned p = 0; p <= SHADOW_PORTS; p++) {
		bool any = false;

		for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
			any |= s.by_port[d][p] != 0;
		if (!any)
			continue;
		if (p < st->nports)
			strbuf_printf(o, "  port %-6u", st->ports[p]);
		else
			strbuf_printf(o, "  other ports");
		for (int d = 0, n = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
			if (s.by_port[d][p])
				strbuf_printf(o, "%s%llu %s", n++ ? ", " : " ",
					      (unsigned long long)
					      s.by_port[d][p], dir_text[d]);
		strbuf_printf(o, "\n");
	}
	strbuf_printf(o, "block log:    %llu shadow lines; %llu more "
		      "disagreements counted in %llu shadow_summary lines\n",
		      (unsigned long long)s.lines, (unsigned long long)s.held,
		      (unsigned long long)s.summaries);
}

static void status_text(struct daemon *d, const struct shadow *s,
			struct strbuf *o)
{
	const struct shadow_state *st = s->st;
	char when[32];

	strbuf_printf(o, "shadow:       %s (mode %s), since %s (%llds)\n",
		      st->path, policy_mode(s->p) == POLICY_MODE_MONITOR ?
		      "monitor" : "enforce",
		      rfc3339_format(st->started, when, sizeof(when)),
		      (long long)(time(NULL) - st->started));
	strbuf_printf(o, "beside:       %s, the running policy; verdicts "
		      "are the running policy's alone\n",
		      d->opts.policy_path);
	counts_text(st, o);
	if (st->unseen[0])
		strbuf_printf(o, "not seen:     %s: the running rules do not "
			      "queue these SYNs, so the shadow cannot judge "
			      "them\n", st->unseen);
	if (st->stale[0])
		strbuf_printf(o, "stale:        %s\n", st->stale);
	if (st->reloads || st->reload_failures)
		strbuf_printf(o, "exceptions:   loaded again %u times with "
			      "the live exceptions, %u failed (it keeps the "
			      "older ones)\n", st->reloads,
			      st->reload_failures);
}

static int status_json(const struct shadow *s, struct strbuf *o)
{
	const struct shadow_state *st = s->st;
	struct json_object *j = json_object_new_object(), *by, *ports;
	struct shadow_sum sum;

	shadow_sum(st, &sum);
	reply_json_bool(j, "running", true);
	reply_json_str(j, "policy", st->path);
	reply_json_str(j, "mode", policy_mode(s->p) == POLICY_MODE_MONITOR ?
			  "monitor" : "enforce");
	reply_json_i64(j, "started", st->started);
	reply_json_u64(j, "judged", sum.judged);
	by = json_object_new_object();
	for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
		reply_json_u64(by, blocklog_shadow_dir_name(d), sum.dir[d]);
	reply_json_add(j, "disagreements", by);
	ports = json_object_new_array();
	for (unsigned p = 0; p <= SHADOW_PORTS; p++) {
		struct json_object *e;
		bool any = false;

		for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
			any |= sum.by_port[d][p] != 0;
		if (!any)
			continue;
		e = json_object_new_object();
		if (p < st->nports)
			reply_json_u64(e, "port", st->ports[p]);
		else
			reply_json_str(e, "port", "other");
		for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
			reply_json_u64(e, blocklog_shadow_dir_name(d),
				       sum.by_port[d][p]);
		reply_json_push(ports, e);
	}
	reply_json_add(j, "by_port", ports);
	reply_json_u64(j, "lines", sum.lines);
	reply_json_u64(j, "held", sum.held);
	reply_json_u64(j, "summaries", sum.summaries);
	reply_json_str(j, "not_seen", st->unseen);
	reply_json_u64(j, "reloads", st->reloads);
	reply_json_u64(j, "reload_failures", st->reload_failures);
	reply_json_str(j, "stale", st->stale);
	return reply_json_write(o, j) < 0;
}

static int cmd_start(struct daemon *d, const char *path, struct strbuf *out)
{
	struct shadow *s = atomic_load(&d->shadow);
	struct policy *p;

	if (s) {
		strbuf_printf(out, "a shadow policy runs already (%s); "
			      "portcullis shadow stop ends it\n", s->st->path);
		return 1;
	}
	if (path[0] != '/') {
		strbuf_printf(out, "shadow start: POLICY must be an absolute "
			      "path, found '%s'\n", path);
		return 1;
	}
	/* As a reload would load it: with the live exceptions, so that
	 * they are no disagreement. */
	p = daemon_load(path, d->ex, d->nex, out);
	if (!p) {
		strbuf_printf(out, "the shadow policy was not started\n");
		return 1;
	}
	s = shadow_new(p, daemon_policy(d), path, d->nworkers, time(NULL));
	if (!s) {
		policy_free(p);
		strbuf_printf(out, "out of memory; the shadow policy was not "
			      "started\n");
		return 1;
	}
	atomic_store(&d->shadow, s);
	log_info("shadow policy %s started: %zu IPv4 and %zu IPv6 entries",
		 path, policy_entry_count(p, AF_INET),
		 policy_entry_count(p, AF_INET6));
	strbuf_printf(out, "shadow policy %s started beside %s: %zu IPv4 and "
		      "%zu IPv6 entries; where it decides otherwise the block "
		      "log gets shadow lines; verdicts do not change\n", path,
		      d->opts.policy_path, policy_entry_count(p, AF_INET),
		      policy_entry_count(p, AF_INET6));
	if (s->st->unseen[0]) {
		strbuf_printf(out, "not seen: %s: the running rules do not "
			      "queue these SYNs, so the shadow cannot judge "
			      "them\n", s->st->unseen);
		log_warnx("shadow policy %s: not seen: %s", path,
			  s->st->unseen);
	}
	return 0;
}

/* Take the shadow out: no thread holds it, its summaries said, its
 * counts folded into the totals. Returns it for a last look, the caller
 * frees it. */
static struct shadow *take(struct daemon *d, int64_t now_ms)
{
	struct shadow *s;

	/* Out and folded under the lock the metrics take: a scrape sees it
	 * running or its counts in the totals, never neither (a counter
	 * must not go back). The wait is a burst's. */
	pthread_mutex_lock(&d->generation_lock);
	s = atomic_exchange(&d->shadow, NULL);
	if (s) {
		wait_unused(d, s);
		if (shadow_fold(s->st, &d->shadow_retired) < 0)
			log_warnx("metrics: out of memory; the shadow "
				  "policy's counts by port are lost");
	}
	pthread_mutex_unlock(&d->generation_lock);
	if (s)
		shadow_tick(s, now_ms, d->blocklog, d->nworkers, true);
	return s;
}

static int cmd_stop(struct daemon *d, struct strbuf *out)
{
	struct shadow *s = take(d, real_ms());

	if (!s) {
		strbuf_printf(out, "no shadow policy runs\n");
		return 1;
	}
	strbuf_printf(out, "shadow policy %s stopped after %llds\n",
		      s->st->path, (long long)(time(NULL) - s->st->started));
	counts_text(s->st, out);
	log_info("shadow policy %s stopped", s->st->path);
	shadow_free(s);
	return 0;
}

int shadow_command(struct daemon *d, int argc, char **argv,
		   struct strbuf *out)
{
	static const struct option with_json[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub = argc > 1 ? argv[1] : "";
	bool status = !strcmp(sub, "status"), json = false;
	const char *name = status ? "shadow status" :
			   !strcmp(sub, "start") ? "shadow start" : "shadow stop";
	int c;

	if (strcmp(sub, "start") && !status && strcmp(sub, "stop")) {
		strbuf_printf(out, "shadow: start, status or stop, found "
			      "'%s'\n", sub);
		return 1;
	}
	argc--;
	argv++;
	optind = 0;		/* glibc: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", status ? with_json :
				with_json + 1, NULL)) != -1) {
		if (c == 'j') {
			json = true;
			continue;
		}
		cmdargs_bad_option(out, name, c, argv);
		return 1;
	}
	if (!strcmp(sub, "start")) {
		if (cmdargs_operands(argc, argv, 1, 1, name, "POLICY",
				     out) < 0)
			return 1;
		return cmd_start(d, argv[optind], out);
	}
	if (cmdargs_operands(argc, argv, 0, 0, name, "", out) < 0)
		return 1;
	if (!status)
		return cmd_stop(d, out);
	{
		struct shadow *s = atomic_load(&d->shadow);

		if (!s && json) {
			strbuf_printf(out, "{\"running\":false}\n");
			return 0;
		}
		if (!s) {
			strbuf_printf(out, "no shadow policy runs (portcullis "
				      "shadow start POLICY starts one)\n");
			return 0;
		}
		if (json)
			return status_json(s, out);
		status_text(d, s, out);
		return 0;
	}
}

void shadow_exceptions(struct daemon *d, const struct policy_exception *ex,
		       size_t nex)
{
	struct shadow *s = atomic_load(&d->shadow), *n;
	struct policy *p;

	if (!s)
		return;
	if (shadow_file_changed(s->st)) {
		s->st->reload_failures++;
		snprintf(s->st->stale, sizeof(s->st->stale), "its file changed "
			 "since shadow start: the live exceptions of %lld are "
			 "not in it; shadow stop and start to take the new "
			 "file", (long long)time(NULL));
		log_warnx("shadow policy %s: %s", s->st->path, s->st->stale);
		return;
	}
	p = daemon_load(s->st->path, ex, nex, NULL);
	n = p ? shadow_renew(s, p) : NULL;
	if (!n) {
		policy_free(p);
		s->st->reload_failures++;
		log_warnx("shadow policy %s: not loaded again with the new "
			  "live exceptions; it keeps the older ones",
			  s->st->path);
		return;
	}
	s->st->reloads++;
	s->st->loaded = time(NULL);
	atomic_store(&d->shadow, n);
	wait_unused(d, s);
	pthread_mutex_lock(&d->generation_lock);
	shadow_free_policy(s);
	pthread_mutex_unlock(&d->generation_lock);
}

void shadow_daemon_tick(struct daemon *d, int64_t now_ms)
{
	struct shadow *s = atomic_load(&d->shadow);

	if (s)
		shadow_tick(s, now_ms, d->blocklog, d->nworkers, false);
}

void shadow_daemon_stop(struct daemon *d, int64_t now_ms)
{
	shadow_free(take(d, now_ms));
	shadow_totals_free(&d->shadow_retired);
}
