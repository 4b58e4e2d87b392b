/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block log (DESIGN.md): JSON lines, one object a line, UTC. One
 * schema, written by the daemon and read back by portcullis log.
 *
 * The pieces, one file each: schema.c names the events, except ops and
 * release reasons (the one table of each, the writer's and the reader's;
 * schema.h lists the field names);
 * writer.c formats events and writes them from a thread of its own;
 * line.c parses one line (bytes in, a struct out, no I/O: the entry
 * point for a fuzz target); filter.c parses and applies --since/--until/
 * --src/--subscriber; agg.c counts per subscriber; files.c finds rotated
 * files and reads their lines, plain or gzip; timeline.c formats lines for
 * a person and puts them in time order; held.c answers who held an
 * address at a time, from the session lines.
 *
 * The writer: each verdict thread is a producer with its own
 * single-producer ring, so pushing an event takes no lock, makes no
 * system call and never waits: when a ring is full the event is counted
 * as lost, and the next line written says how many were lost. A full disk
 * or an unwritable file costs lines, never verdicts, and is counted the
 * same way.
 */
#ifndef PORTCULLIS_BLOCKLOG_H
#define PORTCULLIS_BLOCKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/policy.h"

/* ---- the schema --------------------------------------------------------- */

/* A subscriber id (DESIGN.md, Sessions): 1 to 128 printable ASCII
 * characters (0x20-0x7e), no space first or last. */
#define BLOCKLOG_SUBSCRIBER_MAX 128

/* The "event" of a line. */
enum blocklog_kind {
	BLOCKLOG_BLOCK = 0,
	BLOCKLOG_SUMMARY,
	BLOCKLOG_QUARANTINE,
	BLOCKLOG_RELEASE,
	BLOCKLOG_DETECTION,
	BLOCKLOG_EXCEPT,		/* audit: a live exception changed */
	BLOCKLOG_FALLBACK,		/* what the kernel judged alone */
	BLOCKLOG_SESSION,		/* a subscriber's session started or
					 * stopped */
	BLOCKLOG_SHADOW,		/* the shadow policy decided otherwise */
	BLOCKLOG_SHADOW_SUMMARY,	/* shadow lines held back by the rate */
};
#define BLOCKLOG_KINDS (BLOCKLOG_SHADOW_SUMMARY + 1)

/* Which way a shadow policy's decision differs from the running one's
 * (DESIGN.md "Commands": shadow). */
enum blocklog_shadow_dir {
	BLOCKLOG_SHADOW_BLOCK = 0,	/* running accepts, candidate blocks */
	BLOCKLOG_SHADOW_PASS,		/* running blocks, candidate accepts */
	BLOCKLOG_SHADOW_CHANGE,		/* both block, one drops, one rejects */
};
#define BLOCKLOG_SHADOW_DIRS (BLOCKLOG_SHADOW_CHANGE + 1)

/* The "op" of an except line. */
enum blocklog_except_op {
	BLOCKLOG_EXCEPT_ADD = 0,
	BLOCKLOG_EXCEPT_DEL,
	BLOCKLOG_EXCEPT_EXPIRE,
};

/* The "reason" of a release line: why a quarantine ended. */
enum blocklog_release {
	BLOCKLOG_RELEASE_EXPIRED = 0,	/* quarantine_for ran out */
	BLOCKLOG_RELEASE_MANUAL,	/* portcullis release */
	BLOCKLOG_RELEASE_CLUSTER,	/* another gateway released it */
};

/* The "state" of a session line. */
enum blocklog_session_state {
	BLOCKLOG_SESSION_START = 0,
	BLOCKLOG_SESSION_STOP,
};

/* The "reason" of a session stop line: why the session ended. */
enum blocklog_session_end {
	BLOCKLOG_SESSION_STOPPED = 0,	/* its feed said stop (release, Stop) */
	BLOCKLOG_SESSION_EXPIRED,	/* its expiry passed, not renewed */
	BLOCKLOG_SESSION_MOVED,		/* another subscriber took it */
};

/* The names the lines carry: "block", "summary", …; "unknown" for a
 * value that is none of enum blocklog_kind. */
const char *blocklog_kind_name(enum blocklog_kind k);
/* "add", "del", "expire"; a value out of range is named as add. */
const char *blocklog_except_op_name(enum blocklog_except_op op);
/* "expired", "manual"; a value out of range is named as expired. */
const char *blocklog_release_name(enum blocklog_release r);
/* "start", "stop"; a value out of range is named as start. */
const char *blocklog_session_state_name(enum blocklog_session_state s);
/* "stopped", "expired", "moved"; a value out of range is named as
 * stopped. */
const char *blocklog_session_end_name(enum blocklog_session_end e);
/* "would_block", "would_pass", "would_change" (the shadow_summary
 * line's fields and the metrics' direction label); out of range: as
 * would_block. */
const char *blocklog_shadow_dir_name(enum blocklog_shadow_dir d);

/* Whether s (NUL-terminated) is a subscriber id as defined above: the
 * writer's lines carry only those, the reader accepts only those. */
bool blocklog_subscriber_valid(const char *s);
/* Whether s is a gateway's name: 1-63 of [A-Za-z0-9._-]. */
bool blocklog_gateway_valid(const char *s);

/* ---- writing ------------------------------------------------------------ */

struct blocklog;

struct blocklog_event {
	uint8_t kind;			/* enum blocklog_kind */
	uint8_t action;			/* enum policy_action (block) */
	bool monitor;			/* monitor mode: not enforced */
	uint8_t reason;			/* release: enum blocklog_release;
					 * session stop: enum
					 * blocklog_session_end */
	uint16_t dport;
	int64_t ts_ms;			/* UNIX milliseconds */
	struct addr src;
	struct addr dst;
	char profile[64];
	char prefix[64];		/* block: the entry; if empty, and
					 * prefix_set, the writer formats
					 * prefix_addr/prefix_len (no text
					 * made on the verdict path);
					 * session: the IPv6 prefix, the same
					 * way ("" and !prefix_set: none) */
	struct addr prefix_addr;
	uint8_t prefix_len;
	bool prefix_set;
	uint64_t count;			/* summary: blocked; quarantine: syns */
	uint64_t kernel;		/* summary: of count, blocked by the
					 * kernel's quarantine rule (written
					 * when not 0) */
	uint64_t distinct;		/* distinct destinations */
	uint32_t window_s;
	int64_t until;			/* quarantine, except, fallback:
					 * UNIX seconds */
	int64_t since;			/* fallback: UNIX seconds */
	uint64_t fb[3];			/* fallback: SYNs by policy_action */
	uint8_t op;			/* except: enum blocklog_except_op */
	char note[200];			/* except: the operator's note */
	/* The source's subscriber id (blocklog_subscriber_valid), written
	 * on block, summary, quarantine, release and detection lines when
	 * not "", and on every session line (which needs one). */
	char subscriber[BLOCKLOG_SUBSCRIBER_MAX + 1];
	/* Session: the feed that told ("kea", "radius", "cli"); "" none.
	 * src is the IPv4 address, or the IPv6 prefix's network with
	 * prefix_set/prefix_addr/prefix_len the prefix; until is the
	 * session's expiry (UNIX s, 0 never), written on start only. */
	char source[32];
	uint8_t state;			/* session: enum
					 * blocklog_session_state */
	/* Quarantine, release, except: the gateway that made the change
	 * (DESIGN.md "Many gateways"); "" this one, named by the writer's
	 * default (blocklog_set_gateway), if it has one. */
	char gateway[64];
	/* Shadow: action, profile (may be "") and prefix_addr/prefix_len
	 * (when prefix_set) are the running policy's decision; these the
	 * candidate's (shadow_prefix_set: it has an entry). */
	uint8_t shadow_action;		/* enum policy_action */
	bool shadow_prefix_set;
	uint8_t shadow_prefix_len;
	struct addr shadow_prefix_addr;
	char shadow_profile[64];	/* "": none */
	/* Shadow summary: the disagreements held back in the window, by
	 * enum blocklog_shadow_dir (window_s: the window). */
	uint64_t shadow[BLOCKLOG_SHADOW_DIRS];
};

struct blocklog_config {
	const char *path;		/* NULL: no file */
	bool syslog;			/* also one syslog line per event */
	int facility;			/* theirs: LOG_MAIL, ...; 0 is LOG_KERN,
					 * which no user process may use, so
					 * 0 means LOG_USER */
	unsigned producers;		/* verdict threads, >= 1 */
	unsigned ring_slots;		/* per producer, power of two */
	bool no_writer_thread;		/* the caller drains (tests, tools) */
	const char *gateway;		/* this gateway's name; NULL: none */
};

struct blocklog_counters {
	uint64_t written;		/* lines written */
	uint64_t lost_full;		/* events dropped: ring full */
	uint64_t lost_io;		/* lines lost: write failed (or no
					 * memory to format one) */
	uint64_t reopens;
};

/*
 * Open the log and start its writer thread. A file that cannot be opened
 * (unwritable folder, full disk) is no failure: it is logged, its lines
 * are counted as lost, and the writer tries again every few seconds.
 * Returns NULL with errno only for a bad config or no memory.
 */
struct blocklog *blocklog_open(const struct blocklog_config *cfg);

/* From producer thread `producer` only (0 .. producers - 1). Never
 * blocks. Returns 0, or -1 when the ring is full or the producer has no
 * ring (EINVAL); either is counted as a lost line. */
int blocklog_push(struct blocklog *bl, unsigned producer,
		  const struct blocklog_event *ev);

/* Free slots in producer's ring now (0 for a producer it does not
 * have): for a producer that may wait, at a stop, rather than lose. */
size_t blocklog_room(const struct blocklog *bl, unsigned producer);

/* This gateway's name on quarantine, release and except lines that name
 * none (NULL or "": none): at a reload, any thread but the writer. */
void blocklog_set_gateway(struct blocklog *bl, const char *name);

/* Ask the writer to reopen the file (logrotate's SIGUSR1). Signal-safe. */
void blocklog_reopen(struct blocklog *bl);

void blocklog_counters(const struct blocklog *bl, struct blocklog_counters *c);

/* The number of producers (rings) bl was opened with. */
unsigned blocklog_producers(const struct blocklog *bl);

/* Format ev as one JSON line (with '\n') into buf. lost: events lost
 * before it (0: no field). Returns the length, or -1 if buf is short. */
int blocklog_format(const struct blocklog_event *ev, uint64_t lost,
		    char *buf, size_t len);

/* Write what the rings hold now, from the thread that drains (the
 * writer, or the caller with no_writer_thread). Returns events taken. */
size_t blocklog_drain(struct blocklog *bl);

/* Drain what is queued, stop the writer, close. NULL-safe. */
void blocklog_close(struct blocklog *bl);

/* ---- reading: one line -------------------------------------------------- */

/* One line as the writer meant it. Which fields are set depends on kind,
 * as noted; the others are zero. */
struct blocklog_line {
	enum blocklog_kind kind;
	int64_t ts_ms;			/* UNIX milliseconds */
	bool has_src;			/* every kind but except, fallback */
	struct addr src;		/* session: the address, or the
					 * prefix's network */
	unsigned src_len;		/* session: src's prefix length in its
					 * family's bits: 32 an IPv4 address,
					 * the "prefix"'s length, else 128 */
	struct addr dst;		/* block */
	uint16_t dport;			/* block */
	enum policy_action action;	/* block */
	bool monitor;			/* block: "mode":"monitor" (accepted) */
	char profile[64];		/* block, except */
	char prefix[64];		/* block, except; session: the
					 * "prefix" if given, else "" */
	uint64_t count;			/* summary: blocked; quarantine,
					 * detection: syns */
	uint64_t kernel;		/* summary: of count, by the kernel */
	uint64_t distinct;		/* summary, quarantine, detection */
	uint32_t window_s;		/* summary, detection */
	int64_t until;			/* quarantine, except (0: none),
					 * fallback, session start (0: none):
					 * UNIX s */
	int64_t since;			/* fallback: UNIX s */
	uint64_t fallback[3];		/* fallback: SYNs by policy_action */
	enum blocklog_except_op op;	/* except */
	bool has_reason;		/* release: the line gives one */
	enum blocklog_release reason;	/* release, if has_reason */
	char note[256];			/* except, "" if absent */
	uint64_t lost;			/* lines the writer lost before it */
	/* block, summary, quarantine, release, detection: "" when the
	 * line names none; session: always set. */
	char subscriber[BLOCKLOG_SUBSCRIBER_MAX + 1];
	char source[32];		/* session, "" if absent */
	char gateway[64];		/* quarantine, release, except: "" if
					 * absent */
	enum blocklog_session_state state;	/* session */
	enum blocklog_session_end end;	/* session stop: its "reason" (a
					 * stop line needs one; has_reason
					 * and reason stay release's) */
	/* Shadow: action, profile and prefix above are the running
	 * policy's ("" none); these the candidate's. */
	enum policy_action shadow_action;
	char shadow_profile[64];	/* "" none */
	char shadow_prefix[64];		/* "" none */
	/* Shadow summary: held back, by enum blocklog_shadow_dir; and
	 * window_s. */
	uint64_t shadow[BLOCKLOG_SHADOW_DIRS];
};

/* The parser keeps a JSON tokener to reuse between lines; it is owned by
 * the caller, one per thread. */
struct blocklog_parser;

/* Returns the parser, or NULL with errno ENOMEM. */
struct blocklog_parser *blocklog_parser_new(void);
/* NULL-safe. */
void blocklog_parser_free(struct blocklog_parser *p);

/*
 * Parse one line (without its '\n'; a trailing '\r' or blanks are allowed)
 * into out. Pure: no I/O, no clock, the result depends on the bytes only.
 * Fields the writer does not write are ignored; a line that is not one
 * JSON object, names no known event, lacks a field its event needs, has
 * a field of the wrong type or out of range, a string that is not UTF-8,
 * or a "subscriber" that is no subscriber id is malformed.
 * Returns 0, or -1 when the line is malformed (out is then undefined).
 */
int blocklog_line_parse(struct blocklog_parser *p, const char *buf, size_t len,
			struct blocklog_line *out);

/* ---- filters ------------------------------------------------------------ */

struct blocklog_filter {
	bool has_since, has_until;
	int64_t since_ms;		/* lines at or after it */
	int64_t until_ms;		/* lines before it */
	bool has_src;
	struct addr src;		/* the prefix's network, IPv4-mapped */
	unsigned src_len;		/* bits of the 128 (IPv4: 96 + len) */
	bool has_subscriber;
	char subscriber[BLOCKLOG_SUBSCRIBER_MAX + 1];	/* lines naming it */
};

/*
 * Parse a --since/--until value: RFC 3339 ("2026-11-28T01:00:00Z") or a
 * duration before now ("90s", "30m", "1h", "7d", "2w", "1h30m").
 * Returns 0 with *ms (UNIX milliseconds), or -1 if malformed.
 */
int blocklog_time_parse(const char *s, int64_t now, int64_t *ms);

/* Parse a --src prefix ("100.64.3.0/24", "2001:db8:1::/48", or a bare
 * address) into f. Returns 0, or -1 with what is wrong in err. */
int blocklog_filter_src(struct blocklog_filter *f, const char *s, char *err,
			size_t errlen);

/* Set a --subscriber id into f. Returns 0, or -1 with what is wrong in
 * err (not 1-128 printable ASCII characters, blanks at an end). */
int blocklog_filter_subscriber(struct blocklog_filter *f, const char *s,
			       char *err, size_t errlen);

/* Whether l passes f: 1 yes, 0 no. An except line (no src) passes --src
 * when its prefix and the filter's overlap, a session line when its
 * prefix and the filter's do. With a subscriber, only lines that name
 * it pass. */
int blocklog_filter_match(const struct blocklog_filter *f,
			  const struct blocklog_line *l);

/* ---- per-subscriber aggregation ----------------------------------------- */

/* A subscriber as the daemon counts it: its subscriber id when its lines
 * name one, else its address (an IPv4 address, an IPv6 /64). */
struct blocklog_sub {
	/* The subscriber id, NULL for a row of an address; it belongs to
	 * the aggregate and lives as long as it. */
	const char *subscriber;
	struct addr addr;	/* IPv6: the /64's network; with a
				 * subscriber: the address of its latest
				 * line (not cut to the /64) */
	uint64_t blocked;		/* block lines + summaries' "blocked" */
	uint64_t block_lines;
	uint64_t summarized;		/* the summaries' "blocked" */
	uint64_t kernel;		/* of those, the kernel's */
	uint64_t monitor_lines;		/* block lines in monitor mode */
	uint64_t distinct;		/* distinct dst of the block lines */
	int64_t first_ms, last_ms;	/* any line of it */
	uint32_t detections, quarantines, releases;
	int64_t quarantine_ms;		/* latest quarantine line, 0 none */
	int64_t quarantine_until;	/* its until (UNIX s) */
	int64_t release_ms;		/* latest release line, 0 none */
	bool quarantined;		/* set by blocklog_agg_result */
	uint32_t row;			/* its index in the aggregate */
	/* With blocklog_agg_spark: its blocked SYNs on the aggregate's grid
	 * (BLOCKLOG_SPARK counts), else NULL. It belongs to the aggregate
	 * and is valid until a line is added. */
	const uint32_t *spark;
};

/* A sparkline's points. */
#define BLOCKLOG_SPARK 32

/* The times a sparkline covers: BLOCKLOG_SPARK slots of width_ms from
 * t0_ms. It grows to cover every line counted: its width doubles, the
 * slots merging in pairs, toward the side a line fell out of. */
struct blocklog_grid {
	int64_t t0_ms;
	int64_t width_ms;		/* 0: no line yet */
};

struct blocklog_agg;

/* Returns an empty aggregate, or NULL with errno ENOMEM. */
struct blocklog_agg *blocklog_agg_new(void);

/* Count line l: under its subscriber id when it names one, else under
 * its address. Lines without src, and session lines, are ignored.
 * Returns 0, or -1 with errno ENOMEM (the aggregate stays usable). */
int blocklog_agg_add(struct blocklog_agg *a, const struct blocklog_line *l);

/* As blocklog_agg_add, and *row is the line's row (UINT32_MAX: a line
 * not counted). */
int blocklog_agg_add_row(struct blocklog_agg *a, const struct blocklog_line *l,
			 uint32_t *row);

/* Keep, from now on, each row's blocked SYNs over time (->spark): 128
 * bytes a row more. Returns 0, or -1 with errno ENOMEM. */
int blocklog_agg_spark(struct blocklog_agg *a);

/* The grid the sparklines are on (width_ms 0: none yet). */
struct blocklog_grid blocklog_agg_grid(const struct blocklog_agg *a);

/* Row `row`'s sparkline (BLOCKLOG_SPARK counts), NULL without
 * sparklines or such a row. Valid until a line is added. */
const uint32_t *blocklog_agg_spark_of(const struct blocklog_agg *a,
				      uint32_t row);

/* Row `row` as it is now (quarantined as of the last result), NULL if
 * there is none such. Valid until a line is added. */
const struct blocklog_sub *blocklog_agg_row(const struct blocklog_agg *a,
					    uint32_t row);

/*
 * The first limit subscribers, sorted by blocked SYNs (descending; then
 * distinct destinations, then subscriber ids before addresses, each in
 * order). quarantined is set for a
 * subscriber whose latest quarantine line has no later release line and
 * whose until is after at_s (the end of the period read). The array
 * belongs to a and is valid until the next call on a. *n receives the
 * number of rows: limit, or fewer when fewer subscribers were seen.
 * NULL with *n 0 when there are none, or with errno ENOMEM.
 */
const struct blocklog_sub *blocklog_agg_result(struct blocklog_agg *a,
					       int64_t at_s, size_t limit,
					       size_t *n);

/* The number of subscribers seen. */
size_t blocklog_agg_count(const struct blocklog_agg *a);

/* NULL-safe. */
void blocklog_agg_free(struct blocklog_agg *a);

/* Format the subscriber: its id, else its address: "100.64.3.7",
 * "2001:db8:1:2::/64". */
const char *blocklog_sub_name(const struct blocklog_sub *s, char *buf,
			      size_t len);

/* ---- the report: what portcullis report draws ---------------------------- */

/* What a blocked SYN was, in the report's time series. */
enum blocklog_series {
	BLOCKLOG_S_REJECT = 0,		/* block lines, action reject */
	BLOCKLOG_S_DROP,		/* block lines, action drop */
	BLOCKLOG_S_MONITOR,		/* block lines in monitor mode (passed) */
	BLOCKLOG_S_SUMMARY,		/* summaries' blocked, less the kernel's */
	BLOCKLOG_S_KERNEL,		/* summaries' kernel: the quarantine
					 * rule's drops */
	BLOCKLOG_S_N,
};

/* One slot of the time series: a minute, or an hour when the lines span
 * more than 12 hours. */
struct blocklog_bucket {
	int64_t start_ms;
	uint64_t syns[BLOCKLOG_S_N];
	uint32_t quarantines, releases;
};

/* Blocked SYNs of the block lines by what they got: reject, drop,
 * monitor (logged, passed). */
struct blocklog_port_count {
	uint16_t port;
	uint64_t n[3];
};

struct blocklog_profile_count {
	char name[64];
	bool others;			/* the profiles past the report's
					 * bound, together (name "") */
	uint64_t n[3];
};

/* A quarantine line, and how it ended as the later lines tell. */
struct blocklog_report_quarantine {
	int64_t ts_ms;
	int64_t until;			/* UNIX s */
	uint64_t syns, distinct;
	uint32_t window_s;		/* of the subscriber's latest detection
					 * line before it; 0: none read */
	uint32_t row;			/* its subscriber, in the aggregate */
	char gateway[64];		/* "" this gateway */
	bool released;			/* a release line of the subscriber
					 * came after it */
	bool superseded;		/* a later quarantine line of the
					 * subscriber (an extension) came
					 * before any release: it ended
					 * there, at release_ms */
	int64_t release_ms;
	bool has_reason;
	enum blocklog_release reason;
	char release_gateway[64];
};

struct blocklog_report_fallback {
	int64_t ts_ms;			/* the line's */
	int64_t since, until;		/* UNIX s */
	uint64_t syns[3];		/* by enum policy_action */
};

/* The report's figures, valid until the report is freed or a line
 * added. Arrays are in the order they are drawn: buckets by time, ports
 * and profiles by SYNs (most first), quarantines and fallbacks by time. */
struct blocklog_report_view {
	int64_t first_ms, last_ms;	/* of the lines counted; first_ms >
					 * last_ms: none */
	uint64_t lines;			/* lines counted */
	uint64_t by_kind[BLOCKLOG_KINDS];		/* by enum blocklog_kind */
	uint64_t syns[BLOCKLOG_S_N];	/* the series' totals */
	int64_t width_ms;		/* the buckets': 60,000 or 3,600,000 */
	const struct blocklog_bucket *buckets;
	size_t nbuckets;
	const struct blocklog_port_count *ports;
	size_t nports;
	const struct blocklog_profile_count *profiles;
	size_t nprofiles;
	const struct blocklog_report_quarantine *quarantines;
	size_t nquarantines;		/* the latest kept, at most
					 * BLOCKLOG_REPORT_QUARANTINES */
	uint64_t quarantines_total;
	const struct blocklog_report_fallback *fallbacks;
	size_t nfallbacks;		/* the latest, at most
					 * BLOCKLOG_REPORT_FALLBACKS */
	uint64_t fallbacks_total;
};

#define BLOCKLOG_REPORT_QUARANTINES 4096
#define BLOCKLOG_REPORT_FALLBACKS 1024
#define BLOCKLOG_REPORT_PROFILES 256

struct blocklog_report;

/* Returns an empty report (its aggregate keeps sparklines), or NULL with
 * errno ENOMEM. */
struct blocklog_report *blocklog_report_new(void);

/* Count a line that passed the filters: in the aggregate (as
 * blocklog_agg_add), the time series, ports, profiles, quarantines and
 * fallbacks. Memory follows the aggregate's, plus at most a slot per
 * minute of a span of 12 hours, one per hour, and the bounds above.
 * Returns 0, or -1 with errno ENOMEM (the report stays usable). */
int blocklog_report_add(struct blocklog_report *r,
			const struct blocklog_line *l);

/* The aggregate: the top subscribers, as portcullis log --top ranks
 * them, with their sparklines. */
struct blocklog_agg *blocklog_report_agg(struct blocklog_report *r);

/* Fill v. Returns 0, or -1 with errno ENOMEM. */
int blocklog_report_view(struct blocklog_report *r,
			 struct blocklog_report_view *v);

/* NULL-safe. */
void blocklog_report_free(struct blocklog_report *r);

/* ---- who held an address: the session lines ------------------------------ */

/* A session as the lines tell it: from its start line to its stop line,
 * over daemon restarts (a start again, for the same subscriber and
 * address, without a stop: renewals are not written). */
struct blocklog_holding {
	char subscriber[BLOCKLOG_SUBSCRIBER_MAX + 1];
	char source[32];		/* its latest start line's, "" none */
	struct addr src;		/* the address or prefix's network */
	unsigned src_len;		/* as struct blocklog_line's */
	int64_t since_ms;		/* its first start line; INT64_MIN:
					 * before the oldest line read (a
					 * stop line without its start) */
	int64_t expires;		/* its latest start line's until (UNIX
					 * s, 0 none); renewals are not
					 * written, so a later one may hold */
	unsigned restarts;		/* start lines again, without a stop */
	/* How it ended: a stop line (end its reason), or another
	 * subscriber's start line without one (taken_over); neither:
	 * still held when the log ends. */
	bool ended;
	bool taken_over;
	enum blocklog_session_end end;
	int64_t end_ms;
};

/* The answer to "who held ADDRESS at T". */
struct blocklog_held_result {
	size_t lines;			/* session lines covering it */
	bool held;			/* holder is set */
	struct blocklog_holding holder;	/* whose session covered it at T */
	bool has_prev;			/* none at T: the last before it */
	struct blocklog_holding prev;
	bool has_next;			/* none at T: the next start after it */
	char next_subscriber[BLOCKLOG_SUBSCRIBER_MAX + 1];
	int64_t next_ms;
};

struct blocklog_held;

/* Look for the holder of the prefix a/len (len in bits of the 128, as
 * struct blocklog_filter's src_len: an address is 128) at at_ms: a
 * session holds it when the session's address or prefix contains it.
 * Returns the query, or NULL with errno ENOMEM. */
struct blocklog_held *blocklog_held_new(const struct addr *a, unsigned len,
					int64_t at_ms);

/* Keep l if it is a session line that covers the query's address (only
 * those are kept: memory follows one address's sessions). Lines may come
 * in any order. Returns 0, or -1 with errno ENOMEM. */
int blocklog_held_add(struct blocklog_held *h, const struct blocklog_line *l);

/* Replay the lines kept in time order (at equal times in the order
 * added) and fill out. Returns 1 when a session held the address at the
 * query's time, 0 when none did (out says the last before and the next
 * after, if any), -1 with errno ENOMEM. */
int blocklog_held_result(struct blocklog_held *h,
			 struct blocklog_held_result *out);

/* NULL-safe. */
void blocklog_held_free(struct blocklog_held *h);

/* ---- files -------------------------------------------------------------- */

struct blocklog_files {
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
int blocklog_files_expand(const char *path, bool rotations,
			  struct blocklog_files *out);

/* Free the paths of f (not f itself). NULL-safe. */
void blocklog_files_free(struct blocklog_files *f);

/* Lines of one file, plain or gzip-compressed. */
struct blocklog_reader;

/* Returns the reader, or NULL with errno. */
struct blocklog_reader *blocklog_reader_open(const char *path);

/*
 * The next line, without its '\n', valid until the next call. A line
 * longer than the reader holds (64 KiB) is returned with *len 0 and
 * *too_long set; the caller counts it as malformed.
 * Returns 1 with a line, 0 at the end, -1 on a read error
 * (blocklog_reader_error() says what, e.g. a truncated gzip stream);
 * the lines before it were returned.
 */
int blocklog_reader_next(struct blocklog_reader *r, const char **line,
			 size_t *len, bool *too_long);

/* The error of the last -1, as text. */
const char *blocklog_reader_error(const struct blocklog_reader *r);

/* NULL-safe. */
void blocklog_reader_close(struct blocklog_reader *r);

/* ---- timeline ----------------------------------------------------------- */

/* Format l for a person, on one line (no '\n'): time, event, src → dst:port,
 * action, profile, prefix; summaries, quarantines, releases and sessions
 * as such; the subscriber when the line names one. Returns buf. */
const char *blocklog_line_format(const struct blocklog_line *l, char *buf,
				 size_t len);

/* Format UNIX milliseconds as the log does: "2026-11-28T01:23:45.123Z". */
const char *blocklog_ts_format(int64_t ms, char *buf, size_t len);

struct blocklog_timeline;

/* Returns an empty timeline, or NULL with errno ENOMEM. */
struct blocklog_timeline *blocklog_timeline_new(void);
/* Keep text (len bytes, copied) to print at ts_ms. Returns 0, or -1 with
 * errno ENOMEM. */
int blocklog_timeline_add(struct blocklog_timeline *t, int64_t ts_ms,
			  const char *text, size_t len);
/* Print the texts in time order (equal times in the order added), each
 * followed by '\n'. Returns the number printed. */
size_t blocklog_timeline_print(struct blocklog_timeline *t, FILE *f);
/* NULL-safe. */
void blocklog_timeline_free(struct blocklog_timeline *t);

#endif
