// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis log [FILE…] [--since T] [--until T] [--src PREFIX] [--top N]
 * [--json]: review block logs, rotated and compressed ones included.
 * A timeline of the matching lines, or the top offenders.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocklog/blocklog.h"
#include "cli/cli.h"
#include "common/duration.h"
#include "common/rfc3339.h"

#define LOG_DEFAULT "/var/log/portcullis/blocks.jsonl"
#define TOP_MAX 1000000

struct log_opts {
	struct blocklog_filter filter;
	unsigned long top;		/* 0: timeline */
	bool json;
	int64_t now;
};

/* What one file held. */
struct file_counts {
	uint64_t lines, matched, malformed, first_malformed, lost;
	bool nomem;			/* stop: memory ran out */
};

/* Feed each line of path to the aggregate or the timeline. Returns 0, or
 * -1 after saying why on stderr (lines read before an error count). */
static int read_file(const char *path, const struct log_opts *o,
		     struct blocklog_parser *parser, struct blocklog_agg *agg,
		     struct blocklog_timeline *tl, struct file_counts *c)
{
	struct blocklog_reader *r = blocklog_reader_open(path);
	struct blocklog_line l;
	const char *line;
	char text[1024];
	size_t len;
	bool too_long;
	int got, ret = -1;

	if (!r) {
		fprintf(stderr, "portcullis log: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	while ((got = blocklog_reader_next(r, &line, &len, &too_long)) > 0) {
		c->lines++;
		if (too_long ||
		    blocklog_line_parse(parser, line, len, &l) < 0) {
			if (!c->malformed++)
				c->first_malformed = c->lines;
			continue;
		}
		c->lost += l.lost;
		if (!blocklog_filter_match(&o->filter, &l))
			continue;
		c->matched++;
		if (agg) {
			if (blocklog_agg_add(agg, &l) < 0)
				goto nomem;
			continue;
		}
		if (!o->json) {
			blocklog_line_format(&l, text, sizeof(text));
			line = text;
			len = strlen(text);
		}
		while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
			len--;
		if (blocklog_timeline_add(tl, l.ts_ms, line, len) < 0)
			goto nomem;
	}
	if (got < 0)
		fprintf(stderr, "portcullis log: %s: %s (after line %llu)\n",
			path, blocklog_reader_error(r),
			(unsigned long long)c->lines);
	else
		ret = 0;
	blocklog_reader_close(r);
	return ret;
nomem:
	fprintf(stderr, "portcullis log: %s: out of memory at line %llu\n",
		path, (unsigned long long)c->lines);
	c->nomem = true;
	blocklog_reader_close(r);
	return -1;
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

	json_object_object_add(o, "src", json_object_new_string(
		blocklog_sub_name(s, buf, sizeof(buf))));
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
	{ "since", required_argument, NULL, 's' },
	{ "until", required_argument, NULL, 'u' },
	{ "src", required_argument, NULL, 'S' },
	{ "top", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

/* a's options into o (the files are a's operands). Returns -1 to go on,
 * else the exit code: --help, a usage error. */
static int parse_opts(struct cli_args *a, struct log_opts *o)
{
	const struct cli_cmd *c = a->cmd;
	char err[160], *end;
	int opt;

	while ((opt = cli_args_next(a)) > 0) {
		switch (opt) {
		case 's':
		case 'u':
			if (blocklog_time_parse(a->arg, o->now, opt == 's' ?
					        &o->filter.since_ms :
					        &o->filter.until_ms) < 0)
				return cli_fail(c, "--%s: '%s' is neither an "
						"RFC 3339 time such as "
						"2026-11-28T01:00:00Z nor a "
						"duration " DURATION_EXAMPLES,
						opt == 's' ? "since" : "until",
						a->arg);
			if (opt == 's')
				o->filter.has_since = true;
			else
				o->filter.has_until = true;
			break;
		case 'S':
			if (blocklog_filter_src(&o->filter, a->arg, err,
					        sizeof(err)) < 0)
				return cli_fail(c, "--src: %s", err);
			break;
		case 't':
			errno = 0;
			o->top = strtoul(a->arg, &end, 10);
			if (errno || *end || a->arg[0] < '0' ||
			    a->arg[0] > '9' || o->top < 1 || o->top > TOP_MAX)
				return cli_fail(c, "--top: N must be a number "
						"from 1 to %d, found '%s'",
						TOP_MAX, a->arg);
			break;
		case 'j':
			o->json = true;
			break;
		}
	}
	return opt < 0 ? a->exit : -1;
}

/* The files named (default: the daemon's log and its rotations). */
static int collect_files(int argc, char **argv, struct blocklog_files *files)
{
	int ret = 0;

	if (!argc) {
		if (blocklog_files_expand(LOG_DEFAULT, true, files) < 0) {
			fprintf(stderr, "portcullis log: %s: %s\n",
				LOG_DEFAULT, strerror(errno));
			ret = -1;
		}
		return ret;
	}
	for (int i = 0; i < argc; i++) {
		if (blocklog_files_expand(argv[i], false, files) < 0) {
			fprintf(stderr, "portcullis log: %s: %s\n", argv[i],
				strerror(errno));
			ret = -1;
		}
	}
	return ret;
}

static int run_log(const struct cli_cmd *c, const struct cli_req *r,
		   int argc, char **argv)
{
	struct log_opts o = { .now = time(NULL) };
	struct cli_args a;
	struct blocklog_files files = { 0 };
	struct blocklog_parser *parser = NULL;
	struct blocklog_agg *agg = NULL;
	struct blocklog_timeline *tl = NULL;
	struct file_counts *counts = NULL;
	uint64_t matched = 0;
	bool failed = false;
	int ret;

	(void)r;
	cli_args_init(&a, c, argc, argv);
	ret = parse_opts(&a, &o);
	if (ret >= 0)
		return ret;
	ret = 1;
	if (collect_files(a.noperands, a.operands, &files) < 0) {
		if (!files.count)
			goto out;
		failed = true;
	}
	parser = blocklog_parser_new();
	counts = calloc(files.count, sizeof(*counts));
	if (o.top)
		agg = blocklog_agg_new();
	else
		tl = blocklog_timeline_new();
	if (!parser || !counts || (!agg && !tl)) {
		fprintf(stderr, "portcullis log: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < files.count; i++) {
		if (read_file(files.path[i], &o, parser, agg, tl,
			      &counts[i]) < 0)
			failed = true;
		if (counts[i].nomem)
			goto out;
		matched += counts[i].matched;
	}
	ret = failed ? 1 : 0;
	if (agg) {
		int64_t at = o.now;
		size_t n, shown;
		const struct blocklog_sub *s;

		if (o.filter.has_until && o.filter.until_ms / 1000 < at)
			at = o.filter.until_ms / 1000;
		n = blocklog_agg_count(agg);
		s = blocklog_agg_result(agg, at, o.top, &shown);
		if (!s && n) {
			fprintf(stderr, "portcullis log: out of memory\n");
			ret = 1;
			goto out;
		}
		if (o.json)
			print_top_json(s, shown);
		else
			print_top_text(s, n, shown, matched);
	} else {
		if (!blocklog_timeline_print(tl, stdout))
			fprintf(stderr, "portcullis log: no matching lines\n");
	}
	fflush(stdout);
	for (size_t i = 0; i < files.count; i++) {
		if (counts[i].malformed)
			fprintf(stderr, "%llu malformed line%s skipped in %s "
				"(first: line %llu)\n",
				(unsigned long long)counts[i].malformed,
				counts[i].malformed == 1 ? "" : "s",
				files.path[i],
				(unsigned long long)counts[i].first_malformed);
		if (counts[i].lost)
			fprintf(stderr, "%s: the daemon lost %llu lines before "
				"writing them (its \"lost\" fields)\n",
				files.path[i],
				(unsigned long long)counts[i].lost);
	}
out:
	blocklog_timeline_free(tl);
	blocklog_agg_free(agg);
	blocklog_parser_free(parser);
	free(counts);
	blocklog_files_free(&files);
	return ret;
}

const struct cli_cmd cli_cmd_log = {
	.name = "log",
	.synopsis = "[FILE…] [--since T] [--until T] [--src PREFIX] [--top N] "
		    "[--json]",
	.help = "Review block logs, without the daemon: by default\n"
		LOG_DEFAULT " and its rotations, oldest first;\na folder "
		"stands for each *.jsonl in it with its rotations. The "
		"matching lines\nin time order, or with --top the subscribers "
		"with the most blocked SYNs.\n\n"
		"  --since T       from T on: RFC 3339, or a span back from now "
		"(30m, 1h, 7d)\n"
		"  --until T       before T, as --since\n"
		"  --src PREFIX    one IPv4 or IPv6 prefix\n"
		"  --top N         rank subscribers, N from 1 to 1000000\n"
		"  --json          the lines themselves, or the ranking as a "
		"JSON array\n",
	.opts = log_opts,
	.max = CLI_ANY,
	.run = run_log,
};
