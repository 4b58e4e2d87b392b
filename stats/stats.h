/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stats/ — per-subscriber counters, spam-run detection and quarantine, and
 * the block log's policy (what is written, how often).
 *
 * A subscriber is an IPv4 address or an IPv6 prefix (/64 unless configured).
 * Everything is allocated by stats_open(): a hard cap of subscribers, the
 * least recently seen evicted when full; stats_syn() allocates nothing,
 * does no I/O and holds one shard lock for a counter update only. Lines go
 * to the block log through blocklog_push(), which never waits.
 *
 * Windows are fixed and aligned per subscriber: a window opens with the
 * first SYN that needs it and covers [open, open + length) in milliseconds;
 * a SYN at exactly open + length opens the next one.
 *
 * Times are UNIX milliseconds (now_ms) unless a name says seconds.
 */
#ifndef PORTCULLIS_STATS_H
#define PORTCULLIS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklog/blocklog.h"
#include "policy/policy.h"

struct stats;

/* SYNs are counted per subscriber for three named ports and the rest. */
#define STATS_PORTS 3
#define STATS_PORT_OTHER STATS_PORTS

struct stats_config {
	unsigned threads;		/* verdict threads, >= 1 */
	size_t max_subscribers;		/* hard cap; 0: detection's, else 1M */
	unsigned ipv6_prefix_len;	/* 1..64 (longer: 64, warned); 0:
				 * detection's, else 64 */
	/*
	 * Window records: the state of subscribers inside a detection or
	 * block-log window (counts, distinct destinations, quarantine).
	 * Only subscribers sending to detection ports or being blocked hold
	 * one. 0: max_subscribers / 64 (at least 64, at most the cap).
	 */
	size_t windows;
	unsigned shards;		/* power of 2, <= 64; 0: from cap */
	uint16_t ports[STATS_PORTS];	/* counted apart; 0s: 25, 465, 587 */
	/* Spam-run detection: enabled, ports, window_s, syns,
	 * distinct_destinations, quarantine, quarantine_for_s are used;
	 * max_subscribers and ipv6_prefix_len when the fields above are 0.
	 * The detection profile is taken from the policy given to
	 * stats_syn(), so that it follows reloads. */
	struct policy_detection detection;
	unsigned log_per_subscriber;	/* block lines per subscriber ... */
	unsigned log_per_subscriber_s;	/* ... per window; 0: no limit */
	uint64_t seed;			/* hash seed; 0: random */
	/* Called with each quarantine line detection makes (not those of
	 * stats_quarantine_impose), on the verdict thread that made it: it
	 * must not block (filter/cluster.c queues it for publishing). */
	void (*on_quarantine)(void *ctx, const struct blocklog_event *ev);
	void *hook_ctx;
	int64_t now_ms;			/* start time; 0: the clock */
};

/* Fill cfg's detection and log fields from policy p (threads and the
 * rest are left as they are). */
void stats_config_from_policy(struct stats_config *cfg,
			      const struct policy *p);

/* Producers the block log must have for stats over `threads` verdict
 * threads: one per verdict thread, and the last one (index `threads`)
 * for stats_tick() and stats_release(), which must be called from the
 * one thread that owns that ring (the daemon's main thread). */
unsigned stats_log_producers(unsigned threads);

/*
 * Allocate everything for cfg. bl (may be NULL: no lines) must have
 * stats_log_producers(cfg->threads) producers; stats does not own it.
 * Returns NULL with errno: EINVAL for a bad config, ENOMEM.
 */
struct stats *stats_open(const struct stats_config *cfg, struct blocklog *bl);

/*
 * Take new detection and log settings (a policy reload). The cap, the
 * IPv6 prefix length, threads, shards and window records stay as opened.
 * Windows already open keep their start. Returns 0, or -1 with EINVAL.
 */
int stats_configure(struct stats *st, const struct stats_config *cfg);

/* Free everything. NULL-safe. */
void stats_close(struct stats *st);

/*
 * One SYN from verdict thread `thread` (0 .. threads-1; it is also the
 * block-log producer), with d decided by policy_decide(p, f, now, false)
 * and d->entry >= 0 (others are ignored). Counts the SYN, runs detection
 * and, while the subscriber is quarantined, rewrites d to the detection
 * profile's decision (reason POLICY_REASON_QUARANTINE; the verdict stays
 * accept in monitor mode). Then counts d's action and, unless it is
 * accept, writes the block line, or counts it for the subscriber's
 * summary once over log_per_subscriber. p may be NULL (tests): no
 * rewrite, no profile or prefix in the line.
 */
void stats_syn(struct stats *st, unsigned thread, const struct policy *p,
	       const struct policy_flow *f, int64_t now_ms,
	       struct policy_decision *d);

/* Start loading the slot of f's subscriber of the subscriber table, for a stats_syn()
 * about to come (a burst's look-ahead). Reads only what stats_open()
 * fixed, so it takes no lock. */
void stats_prefetch(const struct stats *st, const struct policy_flow *f);

/* Housekeeping, about once a second, from one thread: end quarantines
 * (release lines), write the summaries of ended windows, give back the
 * window records nobody needs. */
void stats_tick(struct stats *st, int64_t now_ms);

/* At a stop: write the summary of every block-log window still open,
 * so that what they held back is said. From the stats_tick() thread. */
void stats_flush(struct stats *st, int64_t now_ms);

/* End src's subscriber's quarantine now (release line). Returns 0, or -1
 * with errno ENOENT when it is not quarantined. From the thread that
 * calls stats_tick(): it pushes on the same block-log ring. */
int stats_release(struct stats *st, const struct addr *src,
		  int64_t now_ms);
/* As stats_release, for the subscriber whose session's id has key
 * (identity_id_key): a quarantine by subscriber id. */
int stats_release_id(struct stats *st, uint64_t key, int64_t now);

/* SYNs the kernel's quarantine rule blocked for one source since the
 * last read of its counters. */
/*
 * A quarantine another gateway began or ended (DESIGN.md "Many
 * gateways"): of a subscriber id (by_subscriber: key is
 * identity_id_key(id)), whatever addresses it holds now or later, or of
 * an address (IPv6: its prefix, as counted).
 */
struct stats_imposed {
	bool by_subscriber;
	uint64_t key;
	const char *id;
	struct addr addr;		/* by_subscriber: an address it holds
					 * here, for the lines (zero: none) */
	int64_t until_ms;		/* begun: until */
	uint32_t syns, distinct;	/* the window that caught it there */
	const char *gateway;		/* the gateway that made it */
};
/* Begin it, or move its end: a quarantine line naming the gateway (none
 * when it was already quarantined until then). Returns 0, or -1 with
 * errno ENOSPC when no record is free. From the tick's thread. */
int stats_quarantine_impose(struct stats *st, const struct stats_imposed *q,
			    int64_t now_ms);
/* End it: a release line, reason cluster, naming the gateway. Returns 0,
 * or -1 with errno ENOENT when it is not quarantined. */
int stats_release_imposed(struct stats *st, const struct stats_imposed *q,
			  int64_t now_ms);

struct stats_kernel_count {
	struct addr src;		/* the quarantined address or prefix */
	uint64_t subscriber_key;	/* its holder's id key, when the
					 * quarantine is by subscriber id */
	const char *subscriber;		/* that id, or NULL */
	uint8_t subscriber_len;		/* its length */
	uint16_t dport;			/* 0: a port the rules do not name */
	uint8_t action;			/* enum policy_action */
	uint64_t packets;
};

/*
 * Count c[0 .. n) as stats_syn() counts blocked SYNs (the subscriber's
 * SYNs, port and blocked counts, the counters by action) with no block
 * line: each goes into the subscriber's next summary, in "blocked" and
 * in "kernel". Detection does not see them (the kernel saw no
 * destination). From the thread that calls stats_tick().
 */
void stats_kernel(struct stats *st, const struct stats_kernel_count *c,
		  size_t n, int64_t now_ms);

/* One subscriber as seen now. */
struct stats_subscriber {
	/* Known by its session (DESIGN.md "Sessions"): counted by its id's
	 * key. subscriber is the id when stats holds it (a subscriber in a
	 * window), else "" for the caller to name from the key; addr is
	 * then its latest source address (zero when not known). */
	bool by_subscriber;
	uint64_t subscriber_key;
	char subscriber[POLICY_SUBSCRIBER_MAX + 1];
	struct addr addr;	/* IPv4 address or IPv6 prefix */
	unsigned prefix_len;		/* IPv4: 32; IPv6: as configured */
	bool ipv6;
	uint16_t ports[STATS_PORTS];	/* the ports of syns_port[0..2] */
	uint32_t syns_port[STATS_PORTS + 1];	/* [STATS_PORT_OTHER]: rest */
	uint64_t syns;			/* all SYNs */
	uint64_t accepted;
	uint64_t blocked;		/* drop or reject (monitor: would be) */
	int64_t first_seen;		/* UNIX seconds */
	int64_t last_seen;
	uint32_t window_syns;		/* detection window now (0: none) */
	uint32_t window_distinct;
	bool quarantined;
	int64_t until_ms;		/* quarantined: until */
	uint32_t quarantine_syns;	/* the window that caused it */
	uint32_t quarantine_distinct;
	uint32_t quarantine_kernel;	/* SYNs the kernel blocked since */
};

/* src's subscriber into out. Returns 0, or -1 with ENOENT when untracked. */
int stats_subscriber_get(struct stats *st, const struct addr *src,
			 int64_t now_ms, struct stats_subscriber *out);
/* The same for the subscriber counted by its id's key. */
int stats_subscriber_get_id(struct stats *st, uint64_t key, int64_t now,
			    struct stats_subscriber *out);

/* The subscribers quarantined now, up to max into out (soonest release
 * first). Returns how many there are (may exceed max). */
size_t stats_quarantined_list(struct stats *st, int64_t now_ms,
			      struct stats_subscriber *out, size_t max);

/* The n subscribers with the most blocked SYNs (ties: more SYNs first),
 * most first, into out. Returns how many were stored (<= n). A walk of
 * every subscriber, a shard piece at a time: not for the verdict path. */
size_t stats_top(struct stats *st, int64_t now_ms,
		 struct stats_subscriber *out, size_t n);

struct stats_counters {
	uint64_t syns;			/* stats_syn() calls counted */
	uint64_t by_action[3];		/* final action, enum policy_action */
	uint64_t tracked;		/* subscribers now */
	uint64_t capacity;		/* the cap */
	uint64_t evictions;		/* least recently seen given up */
	uint64_t evictions_suspect;	/* ... of them, half-way to detection:
					 * every candidate was */
	uint64_t quarantined;		/* now */
	uint64_t detections;		/* windows over both thresholds */
	uint64_t quarantines;		/* detections that quarantined */
	uint64_t releases_expired;
	uint64_t releases_manual;
	uint64_t block_lines;		/* block lines pushed */
	uint64_t lines_suppressed;	/* over the rate: in a summary */
	uint64_t kernel;		/* of syns and by_action, blocked by
					 * the kernel's quarantine rule */
	uint64_t summaries;
	uint64_t windows_used;		/* window records in use now */
	uint64_t windows_capacity;
	uint64_t windows_stolen;	/* taken from the least recent user */
	uint64_t windows_stolen_suspect;	/* ... of them, from one
						 * half-way to detection:
						 * every candidate was */
	uint64_t windows_missed;	/* SYNs that found no record free */
	uint64_t untracked;		/* SYNs that found no entry free */
	size_t memory;			/* bytes allocated by stats_open() */
};

void stats_counters(struct stats *st, struct stats_counters *c);

#endif
