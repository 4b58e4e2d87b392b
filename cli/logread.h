/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What portcullis log and portcullis report share: which files to read,
 * reading each line by line through the block log's reader and parser,
 * and what is said at the end about malformed and lost lines.
 */
#ifndef PORTCULLIS_CLI_LOGREAD_H
#define PORTCULLIS_CLI_LOGREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "blocklog/blocklog.h"
#include "cli/cli.h"

/* The filters' options, as log and report name them: val 's' --since,
 * 'u' --until, 'S' --src, 'b' --subscriber. */
#define CLI_LOG_FILTER_OPTS \
	{ "since", required_argument, NULL, 's' }, \
	{ "until", required_argument, NULL, 'u' }, \
	{ "src", required_argument, NULL, 'S' }, \
	{ "subscriber", required_argument, NULL, 'b' }

/* Take filter option opt (one of the above) with its value into f.
 * Returns 0, or 2 after saying what is wrong (cli_fail). */
int cli_log_filter_opt(const struct cli_cmd *c, int opt, const char *arg,
		       int64_t now, struct blocklog_filter *f);

/* The daemon's log, read with its rotations when no file is named. */
#define CLI_LOG_DEFAULT "/var/log/portcullis/blocks.jsonl"

/* What one file held. */
struct cli_log_counts {
	uint64_t lines, matched, malformed, first_malformed, lost;
	bool nomem;			/* stop: memory ran out */
};

/* Each well-formed line, with its bytes as read (raw, len: no '\n').
 * Returns 1 when it matched (it counts), 0 when not, -1 out of memory. */
typedef int (*cli_log_line_fn)(void *ctx, const struct blocklog_line *l,
			       const char *raw, size_t len);

/* Feed each line of path to fn. Returns 0, or -1 after saying why on
 * stderr, prefixed "portcullis CMD: " (the lines read before an error
 * count; out of memory sets c->nomem). */
int cli_log_read(const char *cmd, const char *path,
		 struct blocklog_parser *parser, cli_log_line_fn fn, void *ctx,
		 struct cli_log_counts *c);

/* The files argv names (none: CLI_LOG_DEFAULT and its rotations) into
 * files. Returns 0, or -1 after naming each that could not be read on
 * stderr (files then holds those that could). */
int cli_log_files(const char *cmd, int argc, char **argv,
		  struct blocklog_files *files);

/* What reading every file gave. */
struct cli_log_run {
	struct blocklog_files files;
	struct cli_log_counts *counts;	/* one per file */
	bool failed;			/* a file could not be read (the
					 * others were) */
};

/* The files argv names (cli_log_files), each line of each fed to fn.
 * Returns 0 (run->failed says whether some file failed), or -1 when there
 * is nothing to go on: no file found, or memory ran out (said on stderr).
 * Either way cli_log_run_free(run) after. */
int cli_log_run(const char *cmd, int argc, char **argv, cli_log_line_fn fn,
		void *ctx, struct cli_log_run *run);
void cli_log_run_free(struct cli_log_run *run);

/* On stderr: each file's malformed lines and the lines the daemon lost
 * before writing it (its "lost" fields). */
void cli_log_report_counts(const struct blocklog_files *files,
			   const struct cli_log_counts *counts);

#endif
