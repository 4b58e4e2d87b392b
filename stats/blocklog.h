/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The block log: JSON lines (DESIGN.md), written by a thread of its own.
 *
 * Each verdict thread is a producer with its own single-producer ring, so
 * pushing an event takes no lock, makes no system call and never waits:
 * when a ring is full the event is counted as lost, and the next line
 * written says how many were lost. A full disk or an unwritable file costs
 * lines, never verdicts, and is counted the same way.
 */
#ifndef PORTCULLIS_BLOCKLOG_H
#define PORTCULLIS_BLOCKLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"

struct blocklog;

enum blocklog_kind {
	BLOCKLOG_BLOCK = 0,
	BLOCKLOG_SUMMARY,
	BLOCKLOG_QUARANTINE,
	BLOCKLOG_RELEASE,
	BLOCKLOG_DETECTION,
	BLOCKLOG_EXCEPT,		/* audit: a live exception changed */
	BLOCKLOG_FALLBACK,		/* what the kernel judged alone */
};

enum blocklog_except_op {
	BLOCKLOG_EXCEPT_ADD = 0,
	BLOCKLOG_EXCEPT_DEL,
	BLOCKLOG_EXCEPT_EXPIRE,
};

/* Why a quarantine ended (release lines). */
enum blocklog_release {
	BLOCKLOG_RELEASE_EXPIRED = 0,	/* quarantine_for ran out */
	BLOCKLOG_RELEASE_MANUAL,	/* portcullis release */
};

struct blocklog_event {
	uint8_t kind;			/* enum blocklog_kind */
	uint8_t action;			/* enum policy_action (block) */
	bool monitor;			/* decided in monitor mode: not enforced */
	uint8_t reason;			/* release: enum blocklog_release */
	uint16_t dport;
	int64_t ts_ms;			/* UNIX milliseconds */
	struct policy_addr src;
	struct policy_addr dst;
	char profile[64];
	char prefix[64];		/* block: the entry; if empty, and
					 * prefix_set, the writer formats
					 * prefix_addr/prefix_len (no text
					 * made on the verdict path) */
	struct policy_addr prefix_addr;
	uint8_t prefix_len;
	bool prefix_set;
	uint64_t count;			/* summary: blocked; quarantine: syns */
	uint64_t distinct;		/* distinct destinations */
	uint32_t window_s;
	int64_t until;			/* quarantine, except, fallback: UNIX s */
	int64_t since;			/* fallback: UNIX seconds */
	uint64_t fb[3];			/* fallback: SYNs by enum policy_action */
	uint8_t op;			/* except: enum blocklog_except_op */
	char note[200];			/* except: the operator's note */
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
};

struct blocklog_counters {
	uint64_t written;		/* lines written */
	uint64_t lost_full;		/* events dropped: ring full */
	uint64_t lost_io;		/* lines lost: write failed */
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

#endif
