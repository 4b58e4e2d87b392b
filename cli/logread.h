/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading block logs back (portcullis log): the JSON lines that
 * stats/blocklog.c writes, from plain and gzip-compressed files, filtered by
 * time and source prefix, aggregated per subscriber.
 *
 * The pieces, one file each: logread_line.c parses one line (bytes in, a
 * struct out, no I/O: the entry point for a fuzz target), logread_filter.c
 * parses and applies --since/--until/--src, logread_agg.c counts per
 * subscriber, logread_files.c finds rotated files and reads their lines,
 * logread_timeline.c holds the lines of a timeline and formats them.
 */
#ifndef PORTCULLIS_LOGREAD_H
#define PORTCULLIS_LOGREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/policy.h"

/* ---- one line ---------------------------------------------------------- */

enum logread_kind {
	LOGREAD_BLOCK = 0,
	LOGREAD_SUMMARY,
	LOGREAD_QUARANTINE,
	LOGREAD_RELEASE,
	LOGREAD_DETECTION,
	LOGREAD_EXCEPT,
	LOGREAD_FALLBACK,		/* what the kernel judged alone */
};

/* One line as the writer meant it. Which fields are set depends on kind,
 * as noted; the others are zero. */
struct logread_line {
	enum logread_kind kind;
	int64_t ts_ms;			/* UNIX milliseconds */
	bool has_src;			/* every kind but except, fallback */
	struct policy_addr src;
	struct policy_addr dst;		/* block */
	uint16_t dport;			/* block */
	enum policy_action action;	/* block */
	bool monitor;			/* block: "mode":"monitor" (accepted) */
	char profile[64];		/* block, except */
	char prefix[64];		/* block, except */
	uint64_t count;			/* summary: blocked; quarantine, detection: syns */
	uint64_t distinct;		/* summary, quarantine, detection */
	uint32_t window_s;		/* summary, detection */
	int64_t until;			/* quarantine, except (0: none),
					 * fallback: UNIX s */
	int64_t since;			/* fallback: UNIX s */
	uint64_t fallback[3];		/* fallback: SYNs by enum policy_action */
	char op[8];			/* except: add, del or expire */
	char reason[16];		/* release: manual or expired; "" if absent */
	char note[256];			/* except, "" if absent */
	uint64_t lost;			/* lines the writer lost before this one */
};

const char *logread_kind_name(enum logread_kind k);

/* The parser keeps a JSON tokener to reuse between lines; it is owned by
 * the caller, one per thread. */
struct logread_parser;

/* Returns the parser, or NULL with errno ENOMEM. */
struct logread_parser *logread_parser_new(void);
/* NULL-safe. */
void logread_parser_free(struct logread_parser *p);

/*
 * Parse one line (without its '\n'; a trailing '\r' or blanks are allowed)
 * into out. Pure: no I/O, no clock, the result depends on the bytes only.
 * Fields the writer does not write are ignored; a line that is not one
 * JSON object, names no known event, lacks a field its event needs, has
 * a field of the wrong type or out of range, or a string that is not
 * UTF-8 is malformed.
 * Returns 0, or -1 when the line is malformed (out is then undefined).
 */
int logread_line_parse(struct logread_parser *p, const char *buf, size_t len,
		       struct logread_line *out);

/* ---- filters ----------------------------------------------------------- */

struct logread_filter {
	bool has_since, has_until;
	int64_t since_ms;		/* lines at or after it */
	int64_t until_ms;		/* lines before it */
	bool has_src;
	struct policy_addr src;		/* the prefix's network, IPv4-mapped */
	unsigned src_len;		/* in bits of the 128 (IPv4: 96 + len) */
};

/*
 * Parse a --since/--until value: RFC 3339 ("2026-11-28T01:00:00Z") or a
 * duration before now ("90s", "30m", "1h", "7d", "2w", "1h30m").
 * Returns 0 with *ms (UNIX milliseconds), or -1 if malformed.
 */
int logread_time_parse(const char *s, int64_t now, int64_t *ms);

/* Parse a --src prefix ("100.64.3.0/24", "2001:db8:1::/48", or a bare
 * address) into f. Returns 0, or -1 with what is wrong in err. */
int logread_filter_src(struct logread_filter *f, const char *s, char *err,
		       size_t errlen);

/* Whether l passes f: 1 yes, 0 no. An except line (no src) passes --src
 * when its prefix and the filter's overlap. */
int logread_filter_match(const struct logread_filter *f,
			 const struct logread_line *l);

/* ---- per-subscriber aggregation ---------------------------------------- */

/* A subscriber as the daemon counts it: an IPv4 address, an IPv6 /64. */
struct logread_sub {
	struct policy_addr addr;	/* IPv6: the /64's network */
	uint64_t blocked;		/* block lines + summaries' "blocked" */
	uint64_t block_lines;
	uint64_t summarized;		/* the summaries' "blocked" */
	uint64_t monitor_lines;		/* block lines decided in monitor mode */
	uint64_t distinct;		/* distinct dst of the block lines */
	int64_t first_ms, last_ms;	/* any line of it */
	uint32_t detections, quarantines, releases;
	int64_t quarantine_ms;		/* latest quarantine line, 0 none */
	int64_t quarantine_until;	/* its until (UNIX s) */
	int64_t release_ms;		/* latest release line, 0 none */
	bool quarantined;		/* set by logread_agg_result */
};

struct logread_agg;

/* Returns an empty aggregate, or NULL with errno ENOMEM. */
struct logread_agg *logread_agg_new(void);

/* Count line l (lines without src are ignored). Returns 0, or -1 with
 * errno ENOMEM (the aggregate stays usable). */
int logread_agg_add(struct logread_agg *a, const struct logread_line *l);

/*
 * The first limit subscribers, sorted by blocked SYNs (descending; then
 * distinct destinations, then address). quarantined is set for a
 * subscriber whose latest quarantine line has no later release line and
 * whose until is after at_s (the end of the period read). The array
 * belongs to a and is valid until the next call on a. *n receives the
 * number of rows: limit, or fewer when fewer subscribers were seen.
 * NULL with *n 0 when there are none, or with errno ENOMEM.
 */
const struct logread_sub *logread_agg_result(struct logread_agg *a,
					     int64_t at_s, size_t limit,
					     size_t *n);

/* The number of subscribers seen. */
size_t logread_agg_count(const struct logread_agg *a);

/* NULL-safe. */
void logread_agg_free(struct logread_agg *a);

/* Format the subscriber's address: "100.64.3.7", "2001:db8:1:2::/64". */
const char *logread_sub_name(const struct logread_sub *s, char *buf,
			     size_t len);

/* ---- files --------------------------------------------------------------- */

struct logread_files {
	char **path;			/* oldest first */
	size_t count;
};

/*
 * Append the files that path stands for to out, oldest first: a directory
 * stands for each *.jsonl file in it with its rotations; with rotations
 * set, a file stands for itself and its rotations (NAME.1, NAME.2.gz, …
 * and dated NAME-20261128[.gz]); else only for itself.
 * Returns 0, or -1 with errno (ENOENT: nothing to read there).
 */
int logread_files_expand(const char *path, bool rotations,
			 struct logread_files *out);

/* Free the paths of f (not f itself). NULL-safe. */
void logread_files_free(struct logread_files *f);

/* Lines of one file, plain or gzip-compressed. */
struct logread_reader;

/* Returns the reader, or NULL with errno. */
struct logread_reader *logread_reader_open(const char *path);

/*
 * The next line, without its '\n', valid until the next call. A line
 * longer than the reader holds (64 KiB) is returned with *len 0 and
 * *too_long set; the caller counts it as malformed.
 * Returns 1 with a line, 0 at the end, -1 on a read error (errmsg says
 * what, e.g. a truncated gzip stream); lines before it were returned.
 */
int logread_reader_next(struct logread_reader *r, const char **line,
			size_t *len, bool *too_long);

/* The error of the last -1, as text. */
const char *logread_reader_error(const struct logread_reader *r);

/* NULL-safe. */
void logread_reader_close(struct logread_reader *r);

/* ---- timeline ------------------------------------------------------------ */

/* Format l for a person, on one line (no '\n'): time, event, src → dst:port,
 * action, profile, prefix; summaries, quarantines and releases as such.
 * Returns buf. */
const char *logread_line_format(const struct logread_line *l, char *buf,
				size_t len);

/* Format UNIX milliseconds as the log does: "2026-11-28T01:23:45.123Z". */
const char *logread_ts_format(int64_t ms, char *buf, size_t len);

struct logread_timeline;

/* Returns an empty timeline, or NULL with errno ENOMEM. */
struct logread_timeline *logread_timeline_new(void);
/* Keep text (len bytes, copied) to print at ts_ms. Returns 0, or -1 with
 * errno ENOMEM. */
int logread_timeline_add(struct logread_timeline *t, int64_t ts_ms,
			 const char *text, size_t len);
/* Print the texts in time order (equal times in the order added), each
 * followed by '\n'. Returns the number printed. */
size_t logread_timeline_print(struct logread_timeline *t, FILE *f);
/* NULL-safe. */
void logread_timeline_free(struct logread_timeline *t);

#endif
