// SPDX-License-Identifier: GPL-2.0-or-later
/* Reading block logs for portcullis log and portcullis report. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/logread.h"
#include "common/duration.h"

int cli_log_filter_opt(const struct cli_cmd *c, int opt, const char *arg,
		       int64_t now, struct blocklog_filter *f)
{
	char err[160];

	switch (opt) {
	case 's':
	case 'u':
		if (blocklog_time_parse(arg, now, opt == 's' ? &f->since_ms :
					&f->until_ms) < 0)
			return cli_fail(c, "--%s: '%s' is neither an RFC 3339 "
					"time such as 2026-11-28T01:00:00Z nor "
					"a duration " DURATION_EXAMPLES,
					opt == 's' ? "since" : "until", arg);
		if (opt == 's')
			f->has_since = true;
		else
			f->has_until = true;
		return 0;
	case 'S':
		if (blocklog_filter_src(f, arg, err, sizeof(err)) < 0)
			return cli_fail(c, "--src: %s", err);
		return 0;
	default:
		if (blocklog_filter_subscriber(f, arg, err, sizeof(err)) < 0)
			return cli_fail(c, "--subscriber: %s", err);
		return 0;
	}
}

int cli_log_read(const char *cmd, const char *path,
		 struct blocklog_parser *parser, cli_log_line_fn fn, void *ctx,
		 struct cli_log_counts *c)
{
	struct blocklog_reader *r = blocklog_reader_open(path);
	struct blocklog_line l;
	const char *line;
	size_t len;
	bool too_long;
	int got, m;

	if (!r) {
		fprintf(stderr, "portcullis %s: %s: %s\n", cmd, path,
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
		m = fn(ctx, &l, line, len);
		if (m < 0) {
			fprintf(stderr, "portcullis %s: %s: out of memory at "
				"line %llu\n", cmd, path,
				(unsigned long long)c->lines);
			c->nomem = true;
			blocklog_reader_close(r);
			return -1;
		}
		c->matched += (uint64_t)m;
	}
	if (got < 0)
		fprintf(stderr, "portcullis %s: %s: %s (after line %llu)\n",
			cmd, path, blocklog_reader_error(r),
			(unsigned long long)c->lines);
	blocklog_reader_close(r);
	return got < 0 ? -1 : 0;
}

int cli_log_files(const char *cmd, int argc, char **argv,
		  struct blocklog_files *files)
{
	int ret = 0;

	if (!argc) {
		if (blocklog_files_expand(CLI_LOG_DEFAULT, true, files) < 0) {
			fprintf(stderr, "portcullis %s: %s: %s\n", cmd,
				CLI_LOG_DEFAULT, strerror(errno));
			ret = -1;
		}
		return ret;
	}
	for (int i = 0; i < argc; i++) {
		if (blocklog_files_expand(argv[i], false, files) < 0) {
			fprintf(stderr, "portcullis %s: %s: %s\n", cmd,
				argv[i], strerror(errno));
			ret = -1;
		}
	}
	return ret;
}

int cli_log_run(const char *cmd, int argc, char **argv, cli_log_line_fn fn,
		void *ctx, struct cli_log_run *run)
{
	struct blocklog_parser *parser;
	int ret = 0;

	memset(run, 0, sizeof(*run));
	if (cli_log_files(cmd, argc, argv, &run->files) < 0) {
		if (!run->files.count)
			return -1;
		run->failed = true;
	}
	parser = blocklog_parser_new();
	run->counts = calloc(run->files.count, sizeof(*run->counts));
	if (!parser || !run->counts) {
		fprintf(stderr, "portcullis %s: out of memory\n", cmd);
		blocklog_parser_free(parser);
		return -1;
	}
	for (size_t i = 0; i < run->files.count; i++) {
		if (cli_log_read(cmd, run->files.path[i], parser, fn, ctx,
				 &run->counts[i]) < 0)
			run->failed = true;
		if (run->counts[i].nomem) {
			ret = -1;
			break;
		}
	}
	blocklog_parser_free(parser);
	return ret;
}

void cli_log_run_free(struct cli_log_run *run)
{
	free(run->counts);
	run->counts = NULL;
	blocklog_files_free(&run->files);
}

void cli_log_report_counts(const struct blocklog_files *files,
			   const struct cli_log_counts *counts)
{
	for (size_t i = 0; i < files->count; i++) {
		if (counts[i].malformed)
			fprintf(stderr, "%llu malformed line%s skipped in %s "
				"(first: line %llu)\n",
				(unsigned long long)counts[i].malformed,
				counts[i].malformed == 1 ? "" : "s",
				files->path[i],
				(unsigned long long)counts[i].first_malformed);
		if (counts[i].lost)
			fprintf(stderr, "%s: the daemon lost %llu lines before "
				"writing them (its \"lost\" fields)\n",
				files->path[i],
				(unsigned long long)counts[i].lost);
	}
}
