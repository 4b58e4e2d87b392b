/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shadow policy (DESIGN.md "Commands": shadow): a candidate policy
 * that decides every judged SYN beside the running one and never gives a
 * verdict. Where the two decide differently the SYN is counted, by port
 * and by direction, and written as a shadow line, rate-limited per
 * subscriber as block lines are; what the rate holds back is said in one
 * shadow_summary line per subscriber and window.
 *
 * What the verdict threads read is a struct shadow: the candidate's
 * policy and its state. The state (counts, the rate table, where it came
 * from) outlives a policy: when the live exceptions change the candidate
 * is loaded again with them, a new struct shadow takes the same state,
 * and the old one is freed once no thread holds it (as generations are).
 *
 * Only the two decisions' actions are compared, each as policy_decide()
 * makes it for a subscriber not quarantined: a quarantine is the
 * daemon's state, not the policy's, and the mode is a deployment
 * switch that portcullis diff names.
 */
#ifndef PORTCULLIS_SHADOW_H
#define PORTCULLIS_SHADOW_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "blocklog/blocklog.h"
#include "common/strbuf.h"
#include "policy/policy.h"

#define SHADOW_PORTS 16		/* ports counted apart, else "other" */
#define SHADOW_RATE_SHARDS 16
#define SHADOW_RATE_SLOTS 1024	/* per shard: subscribers rate-limited */
#define SHADOW_RATE_PROBE 8	/* slots a subscriber may live in */

/* One verdict thread's counts: that thread alone writes them. */
struct shadow_counts {
	atomic_uint_fast64_t judged;
	atomic_uint_fast64_t v[BLOCKLOG_SHADOW_DIRS][SHADOW_PORTS + 1];
	atomic_uint_fast64_t lines, held;	/* held: in a summary */
} __attribute__((aligned(64)));

/* One subscriber's rate window. */
struct shadow_rate {
	uint64_t key;			/* stats' key: an id's, an IPv4
					 * address, an IPv6 /64 */
	uint8_t kind;			/* 0 free; 1 IPv4, 2 IPv6, 3 id */
	int64_t start_ms;		/* the window's */
	uint32_t lines;			/* disagreements in it */
	uint32_t held[BLOCKLOG_SHADOW_DIRS];	/* of them, no line */
	struct addr last;		/* the latest source */
	char id[BLOCKLOG_SUBSCRIBER_MAX + 1];
};

struct shadow_shard {
	pthread_mutex_t lock;
	struct shadow_rate slot[SHADOW_RATE_SLOTS];
} __attribute__((aligned(64)));

struct shadow_state {
	char path[PATH_MAX];		/* the candidate's file, absolute */
	int64_t started;		/* UNIX seconds */
	int64_t loaded;			/* its latest load */
	unsigned reloads, reload_failures;	/* with new exceptions */
	uint16_t ports[SHADOW_PORTS];	/* slot order */
	unsigned nports;
	uint8_t port_slot[65536];
	unsigned nthreads;		/* verdict threads */
	struct shadow_counts *counts;	/* [nthreads] */
	uint32_t per_sub;		/* lines per subscriber and window */
	int64_t rate_ms;		/* the window; 0: no limit */
	uint64_t seed;
	struct shadow_shard *shards;	/* [SHADOW_RATE_SHARDS] */
	atomic_uint_fast64_t summaries, evicted;
	/* What the running rules do not queue, as found at start: the
	 * candidate's SYNs there are not seen. */
	char unseen[512];
	/* The candidate's file as it was loaded at start: loaded again
	 * (new live exceptions) only while it is the same, so that an edit
	 * never slips a different candidate in under the same name. */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char stale[256];		/* why it was not loaded again */
};

struct shadow {
	struct policy *p;
	struct shadow_state *st;
};

/* Everything a shadow counted, summed (and the retired ones'). */
struct shadow_sum {
	uint64_t judged, lines, held, summaries;
	uint64_t dir[BLOCKLOG_SHADOW_DIRS];
	uint64_t by_port[BLOCKLOG_SHADOW_DIRS][SHADOW_PORTS + 1];
};

/* Counts of shadows that ended, by port number (0: other). */
struct shadow_totals {
	uint64_t judged, lines, held, summaries;
	struct shadow_total {
		uint8_t dir;
		uint16_t port;
		uint64_t n;
	} *t;
	size_t n, cap;
};

/*
 * A shadow for p (owned from now on) beside running, loaded from path,
 * for nthreads verdict threads; rate-limited as running's log: section
 * says. Returns NULL with errno ENOMEM (p is then not freed).
 */
struct shadow *shadow_new(struct policy *p, const struct policy *running,
			  const char *path, unsigned nthreads, int64_t now);

/* Whether st's file is no longer the one loaded at start (or gone). */
bool shadow_file_changed(const struct shadow_state *st);

/* A new policy for s's state (live exceptions changed): a struct shadow
 * to swap in; s is freed with shadow_free_policy once unused. */
struct shadow *shadow_renew(const struct shadow *s, struct policy *p);

/* Free s's policy and s, not its state. NULL-safe. */
void shadow_free_policy(struct shadow *s);
/* Free s, its policy and its state. NULL-safe. */
void shadow_free(struct shadow *s);

/*
 * One SYN that running decided as rd and the shadow as sd (both by
 * policy_decide for a source not quarantined), from verdict thread
 * `thread` (also its block-log producer): counted; when the actions
 * differ, counted by port and direction and written (bl may be NULL),
 * or held for the subscriber's summary.
 */
static inline void shadow_count_bump(atomic_uint_fast64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
			      + 1, memory_order_relaxed);
}

void shadow_differs(struct shadow *s, unsigned thread,
		    const struct policy *running, const struct policy_flow *f,
		    const struct policy_decision *rd,
		    const struct policy_decision *sd, int64_t now_ms,
		    struct blocklog *bl);

static inline void shadow_syn(struct shadow *s, unsigned thread,
			      const struct policy *running,
			      const struct policy_flow *f,
			      const struct policy_decision *rd,
			      const struct policy_decision *sd,
			      int64_t now_ms, struct blocklog *bl)
{
	shadow_count_bump(&s->st->counts[thread].judged);
	if (rd->action != sd->action)
		shadow_differs(s, thread, running, f, rd, sd, now_ms, bl);
}

/* The direction of a disagreement between actions a (running) and b. */
enum blocklog_shadow_dir shadow_dir(enum policy_action a,
				    enum policy_action b);

/* Summaries of the windows ended by now, from the thread that owns
 * block-log producer `producer` (the main thread's). With all set, every
 * window's (at a stop). */
void shadow_tick(struct shadow *s, int64_t now_ms, struct blocklog *bl,
		 unsigned producer, bool all);

/* s's counts summed into out (zeroed first). */
void shadow_sum(const struct shadow_state *st, struct shadow_sum *out);

/* Add st's counts into totals by port. Returns 0, or -1 with ENOMEM. */
int shadow_fold(const struct shadow_state *st, struct shadow_totals *t);
void shadow_totals_free(struct shadow_totals *t);

/* Prometheus lines: the running shadow's counts (st may be NULL) plus
 * the ended ones'. */
void shadow_metrics(const struct shadow_state *st,
		    const struct shadow_totals *t, struct strbuf *out);

#endif
