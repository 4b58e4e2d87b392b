/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * portcullisd's one explicit context (the daemon's only mutable global
 * state besides the logger's), shared by the main thread and the verdict
 * threads.
 */
#ifndef PORTCULLIS_DAEMON_H
#define PORTCULLIS_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "blocklog/blocklog.h"
#include "cluster/cluster.h"
#include "common/strbuf.h"
#include "filter/generation.h"
#include "filter/parse.h"
#include "filter/shadow.h"
#include "identity/identity.h"
#include "netlink/queue.h"
#include "netlink/rules.h"
#include "policy/policy.h"
#include "policy/ruleset.h"
#include "stats/stats.h"

struct daemon;

/* The look-ahead's work on one packet of a burst (worker.c). */
struct worker_slot {
	struct parse_syn syn;
	struct policy_decision dec;
	struct policy_decision sdec;	/* the shadow's, when one runs */
	enum parse_status st;
};

/* Packets of a burst judged ahead together: a whole burst of the queue as
 * the daemon opens it (more go one by one). */
#define WORKER_LOOK QUEUE_DEFAULT_BURST

/* Per verdict thread; counters written by that thread only. */
struct worker {
	struct daemon *d;
	struct queue *q;
	unsigned index;			/* producer number for the block log */
	bool fail_closed;		/* its ports must not pass unjudged */
	pthread_t thread;
	bool started;

	/* The generation this thread is using right now (NULL between
	 * bursts): a hazard pointer, so a reload frees the old policy only
	 * when no thread still reads it. */
	_Atomic(struct generation *) in_use;
	struct generation *generation;	/* this burst's generation */
	const struct policy *cur;	/* and its policy */
	/* The shadow policy this burst decides beside cur (NULL: none),
	 * published as generations are. */
	_Atomic(struct shadow *) shadow_in_use;
	struct shadow *shadow;
	int64_t now_ms;			/* this burst's clock */

	/* The burst as the look-ahead parsed and judged it (the first
	 * nlook of its packets, from look on); NULL outside a burst. */
	const struct queue_packet *look;
	unsigned nlook, next;		/* next: slot of the coming cb */
	struct worker_slot slot[WORKER_LOOK];
	const struct policy_flow *flows[WORKER_LOOK];
	struct policy_decision *decs[WORKER_LOOK];
	struct policy_decision *sdecs[WORKER_LOOK];	/* the shadow's */
	const struct addr *srcs[WORKER_LOOK];	/* the flows' sources */
	struct identity_hit hits[WORKER_LOOK];	/* their sessions */
	bool found[WORKER_LOOK];
	unsigned at[WORKER_LOOK];		/* flows[i] is slot[at[i]]'s */

	/* identity_epoch() at this burst's start, 0 between bursts: what
	 * the session table's writer may free waits for it. */
	_Atomic uint64_t id_epoch;

	atomic_uint_fast64_t verdicts[3];	/* by enum policy_action */
	atomic_uint_fast64_t parse[PARSE_MALFORMED + 1];
	atomic_int_fast64_t beat_ms;	/* monotonic: the loop went round */
};

/* What a clean stop leaves in the kernel. */
enum daemon_on_stop {
	DAEMON_STOP_FALLBACK = 0,	/* the fallback rules: 25 stays judged */
	DAEMON_STOP_REMOVE,		/* nothing: the router unfiltered */
};

struct daemon_opts {
	const char *policy_path;
	const char *control_path;
	const char *state_dir;		/* live exceptions survive here */
	const char *metrics;		/* ADDRESS:PORT, or "off" */
	unsigned queues;		/* per group: fail-closed and fail-open */
	bool no_rules;
	const char *user;		/* drop to it once set up; "root": stay */
	bool user_default;		/* not named: a missing user is no error */
	enum rules_backend backend;
	enum daemon_on_stop on_stop;
	bool no_kernel_quarantine;	/* quarantined sources' SYNs to the
					 * daemon, not dropped in the kernel */
	size_t max_sessions;		/* the session table's bound */
	int verbose;
};

struct daemon {
	struct daemon_opts opts;
	/* The running policy and its counts. */
	_Atomic(struct generation *) generation;
	/* Readers off the SYN path (metrics) against the free of a retired
	 * generation. */
	pthread_mutex_t generation_lock;
	struct generation_totals retired; /* counts of retired generations */
	/* The shadow policy (filter/shadow.h, shadow_cmd.c): NULL when none
	 * runs. The main thread alone swaps it and frees what it replaced,
	 * under generation_lock, which the metrics thread takes to read it;
	 * the counts of ended shadows are kept in shadow_retired. */
	_Atomic(struct shadow *) shadow;
	struct shadow_totals shadow_retired;
	struct blocklog *blocklog;
	struct stats *stats;		/* per subscriber: counts, detection,
					 * quarantine, block lines */
	struct policy_ruleset rules;
	struct rules_kernel *kernel;	/* NULL: --no-rules, or not yet in */
	atomic_uint_fast64_t rules_restored;	/* put back by the check */
	bool rules_broken;		/* the last check found damage it
					 * could not mend (logged once) */
	bool rules_stale;		/* an install failed: the kernel holds
					 * an older ruleset than d->rules */
	bool kq_unread;			/* the last read of the kernel
					 * quarantine's counters failed */
	int64_t kq_next_ms;		/* monotonic: the periodic read's next
					 * turn (kernel_check) */
	/* What the kernel quarantine blocked, by action and port (profile
	 * empty), under generation_lock. */
	struct generation_totals kq_totals;

	/* Sessions (filter/session.c): the table the verdict threads read
	 * and the main thread alone changes, and its state file. */
	struct identity *ident;
	struct identity_state *ident_state;
	bool sessions_loading;		/* replaying the state: no lines */
	bool sessions_unsaved;		/* the journal's last write failed */
	int64_t sess_compact_next_ms;	/* monotonic: a failed snapshot's
					 * next try */
	struct session_moves {
		unsigned n;
		char line[8][200];
	} moves;			/* the command in progress moved */
	bool kq_dirty;			/* a quarantined subscriber's
					 * addresses changed: sync soon */
	/* Whose each element of the kernel quarantine is, as the last sync
	 * put it there (sorted by element): the counts read back are that
	 * subscriber's, not whoever holds the address by then. */
	struct kq_owner {
		struct rules_elem e;
		uint64_t key;
		char id[IDENTITY_ID_MAX + 1];	/* "" by address */
	} *kq_own;
	size_t nkq_own;
	/* The session table's counters as of the last tick, for the
	 * metrics thread (which must not read the writer's table). */
	struct {
		atomic_uint_fast64_t live, max, starts, renewals, moves,
				     stops, expiries, refused;
	} sess_pub;

	struct worker *workers;		/* 2 * queues: closed ones first */
	unsigned nworkers;

	/* Live exceptions, as in the state file; main thread only. */
	struct policy_exception *ex;
	size_t nex;

	/* Many gateways (filter/cluster.c): NULL without a cluster:
	 * section. Swapped by the main thread under cluster_lock, which the
	 * metrics thread takes to use it. */
	struct cluster *cluster;
	pthread_mutex_t cluster_lock;
	uint64_t cluster_dropped_said;	/* drops already logged */
	/* Quarantines detection began, from the verdict threads: held here
	 * (a short lock nothing else holds long) for the main thread to
	 * publish, woken by fd. */
	struct shared_hook {
		pthread_mutex_t mu;
		struct cluster_record *q;
		unsigned n, cap;
		uint64_t dropped;
		bool on;		/* a cluster runs */
		int fd;
	} hook;

	int control_fd;
	int64_t started;		/* UNIX seconds */
	int64_t loaded;			/* when the running policy loaded */
	atomic_uint_fast64_t loads, load_failures;
	atomic_size_t nex_live;		/* for metrics: nex */
	struct metrics *metrics;
};

/* Everything the workers and queues counted, summed. */
struct daemon_totals {
	uint64_t verdicts[3];		/* by enum policy_action */
	uint64_t parse[PARSE_MALFORMED + 1];
	uint64_t packets, enobufs, verdict_errors;
};

void daemon_totals(struct daemon *d, struct daemon_totals *t);

/* Load the policy at path with live exceptions ex[0 .. nex), logging
 * every error and appending it to errs (may be NULL). */
struct policy *daemon_load(const char *path,
			   const struct policy_exception *ex, size_t nex,
			   struct strbuf *errs);

/*
 * Load the policy file with exceptions ex[0 .. nex) and swap it in, the
 * kernel ruleset updated around the swap (see policy_ruleset_union). On failure
 * nothing changes and the errors are appended to errs. Returns 0 or -1.
 */
int daemon_rebuild(struct daemon *d, const struct policy_exception *ex,
		   size_t nex, struct strbuf *errs);

/*
 * Load the policy file again and swap it in; the old one is freed once no
 * verdict thread holds it. On failure the running policy stays and every
 * error is appended to errs (which may be NULL). Returns 0 or -1.
 */
int daemon_reload(struct daemon *d, struct strbuf *errs);

/* The running policy, for the main thread (which alone swaps it). */
static inline const struct policy *daemon_policy(struct daemon *d)
{
	return atomic_load(&d->generation)->p;
}

/* Make p (owned from now on) the running policy: a new generation
 * swapped in, the old one folded and freed once no thread holds it.
 * Returns 0, or -1 with ENOMEM (p is then freed). */
int daemon_swap(struct daemon *d, struct policy *p);

/* The shadow command (filter/shadow_cmd.c): start POLICY, status, stop. */
int shadow_command(struct daemon *d, int argc, char **argv,
		   struct strbuf *out);
/* The live exceptions became ex[0 .. nex): a running shadow is loaded
 * again with them (on failure it keeps its old ones, logged). */
void shadow_exceptions(struct daemon *d, const struct policy_exception *ex,
		       size_t nex);
/* Once a second: the summaries of ended shadow windows. */
void shadow_daemon_tick(struct daemon *d, int64_t now_ms);
/* At a stop, after the verdict threads: its summaries said, freed. */
void shadow_daemon_stop(struct daemon *d, int64_t now_ms);

/* CLOCK_MONOTONIC in ms. */
int64_t daemon_mono_ms(void);

/* Make q the worker's queue, judged a burst at a time. */
void worker_attach(struct worker *w, struct queue *q);

/* One round of a verdict thread's loop: wait up to timeout_ms for a burst
 * of w->q's packets and judge it. Returns as queue_receive(). For the
 * thread, and for tests that drive the verdict path without one. */
int worker_burst(struct worker *w, int timeout_ms);

/* Start one verdict thread per queue. Returns 0, or -1 with errno. */
int worker_start(struct worker *w);
/* Interrupt (any thread) and join (the starter). */
void worker_stop(struct worker *w);

#endif
