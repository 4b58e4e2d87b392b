// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis log [FILE…] [--since T] [--until T] [--src PREFIX]
 * [--subscriber ID] [--top N] [--json]: review block logs, rotated and
 * compressed ones included. A timeline of the matching lines, or the top
 * offenders; with --src ADDRESS --at T, who held the address then.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocklog/blocklog.h"
#include "cli/cli.h"
#include "cli/logread.h"
#include "common/duration.h"
#include "common/rfc3339.h"

#define TOP_MAX 1000000

struct log_opts {
	struct blocklog_filter filter;
	unsigned long top;		/* 0: timeline */
	bool json;
	bool has_at;			/* who held --src at at_ms */
	int64_t at_ms;
	const char *src;		/* --src as given */
	int64_t now;
};

/* Where the lines of the files go: one of these is set. */
struct log_sink {
	const struct log_opts *o;
	struct blocklog_agg *agg;
	struct blocklog_timeline *tl;
	struct blocklog_held *held;
};

/* One line to the sink: 1 if it matched, 0 if not, -1 out of memory. */
static int sink_line(void *ctx, const struct blocklog_line *l,
		     const char *line, size_t len)
{
	const struct log_sink *k = ctx;
	char text[1024];

	if (k->held)
		/* It keeps the session lines covering --src. */
		return blocklog_held_add(k->held, l) < 0 ? -1 : 0;
	if (!blocklog_filter_match(&k->o->filter, l))
		return 0;
	if (k->agg)
		return blocklog_agg_add(k->agg, l) < 0 ? -1 : 1;
	if (!k->o->json) {
		blocklog_line_format(l, text, sizeof(text));
		line = text;
		len = strlen(text);
	}
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	return blocklog_timeline_add(k->tl, l->ts_ms, line, len) < 0 ? -1 : 1;
}

static void time_short(int64_t ms, char *buf, size_t len)
{
	int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;

	rfc3339_format(s, buf, len);
}

static void print_top_text(const struct blocklog_sub *s, size_t n,
			   size_t shown, uint64_t lines)
{
	char name[80], first[32], last[32], until[32];

	printf("%-24s %10s %13s  %-20s  %-20s  %s\n", "subscriber",
	       "blocked", "destinations", "first seen", "last seen",
	       "quarantined");
	for (size_t i = 0; i < shown; i++) {
		time_short(s[i].first_ms, first, sizeof(first));
		time_short(s[i].last_ms, last, sizeof(last));
		printf("%-24s %10llu %13llu  %-20s  %-20s  ",
		       blocklog_sub_name(&s[i], name, sizeof(name)),
		       (unsigned long long)s[i].blocked,
		       (unsigned long long)s[i].distinct, first, last);
		if (s[i].quarantined)
			printf("until %s\n",
			       rfc3339_format(s[i].quarantine_until,
					      until, sizeof(until)));
		else
			printf("no\n");
	}
	printf("\n%zu of %zu subscribers, from %llu matching lines. blocked: "
	       "block lines plus the counts of summary lines (SYNs not "
	       "logged one by one). destinations: distinct destinations of "
	       "the block lines, exact; summary lines name none.\n",
	       shown, n, (unsigned long long)lines);
}

static json_object *sub_json(const struct blocklog_sub *s)
{
	json_object *o = json_object_new_object();
	char buf[80];

	/* A subscriber's row: its id, and the address of its latest line. */
	if (s->subscriber) {
		json_object_object_add(o, "subscriber",
				       json_object_new_string(s->subscriber));
		json_object_object_add(o, "src", json_object_new_string(
			addr_format(&s->addr, buf, sizeof(buf))));
	} else {
		json_object_object_add(o, "src", json_object_new_string(
			blocklog_sub_name(s, buf, sizeof(buf))));
	}
	json_object_object_add(o, "blocked",
			       json_object_new_uint64(s->blocked));
	json_object_object_add(o, "block_lines",
			       json_object_new_uint64(s->block_lines));
	json_object_object_add(o, "summarized",
			       json_object_new_uint64(s->summarized));
	json_object_object_add(o, "kernel",
			       json_object_new_uint64(s->kernel));
	json_object_object_add(o, "distinct_destinations",
			       json_object_new_uint64(s->distinct));
	json_object_object_add(o, "first_seen", json_object_new_string(
		blocklog_ts_format(s->first_ms, buf, sizeof(buf))));
	json_object_object_add(o, "last_seen", json_object_new_string(
		blocklog_ts_format(s->last_ms, buf, sizeof(buf))));
	json_object_object_add(o, "quarantined",
			       json_object_new_boolean(s->quarantined));
	if (s->quarantined)
		json_object_object_add(o, "quarantined_until",
			json_object_new_string(rfc3339_format(
				s->quarantine_until, buf, sizeof(buf))));
	json_object_object_add(o, "quarantines",
			       json_object_new_uint64(s->quarantines));
	json_object_object_add(o, "detections",
			       json_object_new_uint64(s->detections));
	json_object_object_add(o, "monitor_lines",
			       json_object_new_uint64(s->monitor_lines));
	return o;
}

static void print_top_json(const struct blocklog_sub *s, size_t shown)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < shown; i++)
		json_object_array_add(a, sub_json(&s[i]));
	printf("%s\n", json_object_to_json_string_ext(a,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(a);
}

static const struct option log_opts[] = {
	CLI_LOG_FILTER_OPTS,
	{ "at", required_argument, NULL, 'a' },
	{ "top", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

/* --at asks one question, of one address: the other filters and --top
 * would only change which session lines it sees. Returns -1 to go on, or
 * 2 after the usage. */
static int check_at(const struct cli_cmd *c, const struct log_opts *o)
{
	const struct blocklog_filter *f = &o->filter;

	if (!o->has_at)
		return -1;
	if (!f->has_src)
		return cli_fail(c, "--at needs --src ADDRESS: whose holder "
				"to look for");
	if (o->top || f->has_since || f->has_until || f->has_subscriber)
		return cli_fail(c, "--at takes no --%s: it reads every "
				"session line of --src",
				o->top ? "top" : f->has_since ? "since" :
				f->has_until ? "until" : "subscriber");
	return -1;
}

/* a's options into o (the files are a's operands). Returns -1 to go on,
 * else the exit code: --help, a usage error. */
static int parse_opts(struct cli_args *a, struct log_opts *o)
{
	const struct cli_cmd *c = a->cmd;
	int opt;

	while ((opt = cli_args_next(a)) > 0) {
		switch (opt) {
		case 's':
		case 'u':
		case 'b':
			if (cli_log_filter_opt(c, opt, a->arg, o->now,
					       &o->filter))
				return 2;
			break;
		case 'S':
			if (cli_log_filter_opt(c, opt, a->arg, o->now,
					       &o->filter))
				return 2;
			o->src = a->arg;
			break;
		case 'a':
			if (blocklog_time_parse(a->arg, o->now, &o->at_ms) < 0)
				return cli_fail(c, "--at: '%s' is neither an "
						"RFC 3339 time such as "
						"2026-11-28T01:00:00Z nor a "
						"duration " DURATION_EXAMPLES,
						a->arg);
			o->has_at = true;
			break;
		case 't':
			if (cli_count(c, "--top", a->arg, TOP_MAX,
				      &o->top))
				return 2;
			break;
		case 'j':
			o->json = true;
			break;
		}
	}
	if (opt < 0)
		return a->exit;
	return check_at(c, o);
}

/* A session's address or prefix: "100.64.3.7", "2001:db8:1:100::/56". */
static const char *session_name(const struct blocklog_holding *h, char *buf,
				size_t len)
{
	char a[64];

	addr_format(&h->src, a, sizeof(a));
	if (h->src_len == (addr_is_v4(&h->src) ? 32u : 128u))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, h->src_len);
	return buf;
}

static void print_held_text(const struct log_opts *o,
			    const struct blocklog_held_result *r)
{
	const struct blocklog_holding *h = &r->holder;
	char at[40], t[40], name[80];

	blocklog_ts_format(o->at_ms, at, sizeof(at));
	printf("%s at %s: held by %s\n", o->src, at, h->subscriber);
	printf("  session   %s%s%s\n", session_name(h, name, sizeof(name)),
	       h->source[0] ? ", from " : "", h->source);
	if (h->since_ms == INT64_MIN)
		printf("  since     before the oldest line read (its start "
		       "line is not in these files)\n");
	else
		printf("  since     %s\n",
		       blocklog_ts_format(h->since_ms, t, sizeof(t)));
	if (!h->ended)
		printf("  until     still held where the log ends\n");
	else if (h->taken_over)
		printf("  until     %s (another subscriber's start; no stop "
		       "line before it)\n",
		       blocklog_ts_format(h->end_ms, t, sizeof(t)));
	else
		printf("  until     %s (stop: %s)\n",
		       blocklog_ts_format(h->end_ms, t, sizeof(t)),
		       blocklog_session_end_name(h->end));
	if (h->expires)
		printf("  expiry    %s at its latest start line%s\n",
		       rfc3339_format(h->expires, t, sizeof(t)),
		       h->expires * 1000 <= o->at_ms ?
		       " (renewals are not logged; no stop line came)" : "");
	if (h->restarts)
		printf("  restarts  %u (a start line again without a stop: "
		       "the daemon restarted)\n", h->restarts);
}

static void print_none_text(const struct log_opts *o,
			    const struct blocklog_held_result *r)
{
	char at[40], t[40];

	blocklog_ts_format(o->at_ms, at, sizeof(at));
	if (!r->lines) {
		printf("%s at %s: no session line covers it\n", o->src, at);
		return;
	}
	printf("%s at %s: no session held it\n", o->src, at);
	if (r->has_prev)
		printf("  before    %s, until %s (%s)\n", r->prev.subscriber,
		       blocklog_ts_format(r->prev.end_ms, t, sizeof(t)),
		       r->prev.taken_over ? "another subscriber's start" :
		       blocklog_session_end_name(r->prev.end));
	if (r->has_next)
		printf("  after     %s, from %s\n", r->next_subscriber,
		       blocklog_ts_format(r->next_ms, t, sizeof(t)));
}

static void add_ts(json_object *o, const char *key, int64_t ms)
{
	char t[40];

	json_object_object_add(o, key, json_object_new_string(
		blocklog_ts_format(ms, t, sizeof(t))));
}

static void add_holder_json(json_object *o, const struct blocklog_holding *h)
{
	char buf[80];

	json_object_object_add(o, "subscriber",
			       json_object_new_string(h->subscriber));
	json_object_object_add(o, "session", json_object_new_string(
		session_name(h, buf, sizeof(buf))));
	if (h->source[0])
		json_object_object_add(o, "source",
				       json_object_new_string(h->source));
	if (h->since_ms == INT64_MIN)
		json_object_object_add(o, "since", NULL);
	else
		add_ts(o, "since", h->since_ms);
	json_object_object_add(o, "still_held",
			       json_object_new_boolean(!h->ended));
	if (h->ended) {
		add_ts(o, "until", h->end_ms);
		json_object_object_add(o, "ended_by", json_object_new_string(
			h->taken_over ? "start" : "stop"));
		if (!h->taken_over)
			json_object_object_add(o, "reason",
				json_object_new_string(
					blocklog_session_end_name(h->end)));
	}
	if (h->expires)
		json_object_object_add(o, "expires", json_object_new_string(
			rfc3339_format(h->expires, buf, sizeof(buf))));
	json_object_object_add(o, "restarts",
			       json_object_new_uint64(h->restarts));
}

static void print_held_json(const struct log_opts *o,
			    const struct blocklog_held_result *r)
{
	json_object *j = json_object_new_object(), *x;

	json_object_object_add(j, "src", json_object_new_string(o->src));
	add_ts(j, "at", o->at_ms);
	json_object_object_add(j, "held", json_object_new_boolean(r->held));
	json_object_object_add(j, "lines", json_object_new_uint64(r->lines));
	if (r->held)
		add_holder_json(j, &r->holder);
	if (!r->held && r->has_prev) {
		x = json_object_new_object();
		add_holder_json(x, &r->prev);
		json_object_object_add(j, "before", x);
	}
	if (!r->held && r->has_next) {
		x = json_object_new_object();
		json_object_object_add(x, "subscriber", json_object_new_string(
			r->next_subscriber));
		add_ts(x, "since", r->next_ms);
		json_object_object_add(j, "after", x);
	}
	printf("%s\n", json_object_to_json_string_ext(j,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

/* The answer to --at. Returns 0 held, 1 not. */
static int print_held(const struct log_opts *o, struct blocklog_held *h)
{
	struct blocklog_held_result r;
	int got = blocklog_held_result(h, &r);

	if (o->json)
		print_held_json(o, &r);
	else if (got > 0)
		print_held_text(o, &r);
	else
		print_none_text(o, &r);
	return got > 0 ? 0 : 1;
}

/* The ranking. Returns 0, or 1 out of memory. */
static int print_top(const struct log_opts *o, struct blocklog_agg *agg,
		     uint64_t matched)
{
	int64_t at = o->now;
	size_t n, shown;
	const struct blocklog_sub *s;

	if (o->filter.has_until && o->filter.until_ms / 1000 < at)
		at = o->filter.until_ms / 1000;
	n = blocklog_agg_count(agg);
	s = blocklog_agg_result(agg, at, o->top, &shown);
	if (!s && n) {
		fprintf(stderr, "portcullis log: out of memory\n");
		return 1;
	}
	if (o->json)
		print_top_json(s, shown);
	else
		print_top_text(s, n, shown, matched);
	return 0;
}

/* The sink o asks for. Returns 0, or -1 out of memory. */
static int sink_open(const struct log_opts *o, struct log_sink *k)
{
	if (o->has_at)
		k->held = blocklog_held_new(&o->filter.src, o->filter.src_len,
					    o->at_ms);
	else if (o->top)
		k->agg = blocklog_agg_new();
	else
		k->tl = blocklog_timeline_new();
	return k->held || k->agg || k->tl ? 0 : -1;
}

static void sink_close(struct log_sink *k)
{
	blocklog_timeline_free(k->tl);
	blocklog_agg_free(k->agg);
	blocklog_held_free(k->held);
}

static int run_log(const struct cli_cmd *c, const struct cli_req *r,
		   int argc, char **argv)
{
	struct log_opts o = { .now = time(NULL) };
	struct cli_args a;
	struct log_sink k = { .o = &o };
	struct cli_log_run run = { 0 };
	uint64_t matched = 0;
	int ret;

	(void)r;
	cli_args_init(&a, c, argc, argv);
	ret = parse_opts(&a, &o);
	if (ret >= 0)
		return ret;
	ret = 1;
	if (sink_open(&o, &k) < 0) {
		fprintf(stderr, "portcullis log: out of memory\n");
		goto out;
	}
	if (cli_log_run("log", a.noperands, a.operands, sink_line, &k,
			&run) < 0)
		goto out;
	for (size_t i = 0; i < run.files.count; i++)
		matched += run.counts[i].matched;
	ret = 0;
	if (k.held)
		ret = print_held(&o, k.held);
	else if (k.agg)
		ret = print_top(&o, k.agg, matched);
	else if (!blocklog_timeline_print(k.tl, stdout))
		fprintf(stderr, "portcullis log: no matching lines\n");
	if (run.failed)
		ret = 1;
	fflush(stdout);
	cli_log_report_counts(&run.files, run.counts);
out:
	sink_close(&k);
	cli_log_run_free(&run);
	return ret;
}

const struct cli_cmd cli_cmd_log = {
	.name = "log",
	.synopsis = "[FILE…] [--since T] [--until T] [--src PREFIX] "
		    "[--subscriber ID] [--top N] [--json]\n"
		    "[FILE…] --src ADDRESS --at T [--json]",
	.help = "Review block logs, without the daemon: by default\n"
		CLI_LOG_DEFAULT " and its rotations, oldest first;\na folder "
		"stands for each *.jsonl in it with its rotations. The "
		"matching lines\nin time order, or with --top the subscribers "
		"with the most blocked SYNs.\n\n"
		"  --since T        from T on: RFC 3339, or a span back from now "
		"(30m, 1h, 7d)\n"
		"  --until T        before T, as --since\n"
		"  --src PREFIX     one IPv4 or IPv6 prefix\n"
		"  --subscriber ID  only the lines of this subscriber id\n"
		"  --top N          rank subscribers, N from 1 to 1000000: by "
		"subscriber id\n"
		"                   where the lines name one (its addresses "
		"are one row),\n"
		"                   else by address (IPv6: its /64)\n"
		"  --at T           with --src ADDRESS: who held that address "
		"(or the IPv6\n"
		"                   prefix holding it) at T, as --since takes "
		"it, since when\n"
		"                   and until when, from the session lines; "
		"exit 1 if none did\n"
		"  --json           the lines themselves, the ranking as a JSON "
		"array, or the\n"
		"                   --at answer as an object\n",
	.opts = log_opts,
	.max = CLI_ANY,
	.run = run_log,
};
