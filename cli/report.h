/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * portcullis report's page: one self-contained HTML file (its styles, its
 * charts as inline SVG and a few lines of script for sorting the tables,
 * all in the file; a Content-Security-Policy that lets it load nothing),
 * written from a blocklog_report.
 */
#ifndef PORTCULLIS_CLI_REPORT_H
#define PORTCULLIS_CLI_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "blocklog/blocklog.h"
#include "cli/logread.h"

/* The quarantines drawn as sections of their own (the latest); the rest
 * the report keeps are rows of a table. */
#define REPORT_SECTIONS 50
/* Ports drawn; the others are one row. */
#define REPORT_PORTS 25

/* What the page says it was made from. */
struct report_meta {
	const char *filters;		/* "--since … --src …", "" none */
	const struct blocklog_files *files;
	const struct cli_log_counts *counts;	/* one per file */
	int64_t made_s;			/* when (UNIX s) */
	int64_t at_s;			/* "now" for quarantined: the end of
					 * the period read */
	size_t subscribers;		/* rows in the aggregate */
	const struct blocklog_sub *top;	/* the ranking */
	size_t ntop;
};

/* The sha256 of the page's script, base64, for its CSP. */
extern const char report_script_sha256[];
extern const char report_script[];

/* Write the page to f. Returns 0, or -1 when a write failed (errno). */
int report_html(FILE *f, const struct report_meta *m,
		struct blocklog_report *r, const struct blocklog_report_view *v);

#endif
