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

#include "common/strbuf.h"
#include "filter/parse.h"
#include "filter/ruleset.h"
#include "netlink/queue.h"
#include "policy/policy.h"
#include "stats/blocklog.h"

struct daemon;

/* Per verdict thread; counters written by that thread only. */
struct worker {
	struct daemon *d;
	struct queue *q;
	unsigned index;			/* producer number for the block log */
	bool fail_closed;		/* its ports must not pass unjudged */
	pthread_t thread;
	bool started;

	/* The policy this thread is using right now (NULL between bursts):
	 * a hazard pointer, so a reload frees the old policy only when no
	 * thread still reads it. */
	_Atomic(const struct policy *) in_use;
	const struct policy *cur;	/* this burst's policy */
	int64_t now_ms;			/* this burst's clock */

	atomic_uint_fast64_t verdicts[3];	/* by enum policy_action */
	atomic_uint_fast64_t parse[PARSE_MALFORMED + 1];
	atomic_uint_fast64_t logged, log_lost;
};

struct daemon_opts {
	const char *policy_path;
	const char *control_path;
	unsigned queues;		/* per group: fail-closed and fail-open */
	bool no_rules;
	enum rules_backend backend;
	int verbose;
};

struct daemon {
	struct daemon_opts opts;
	_Atomic(struct policy *) policy;
	struct blocklog *blocklog;
	struct ruleset rules;
	bool rules_installed;

	struct worker *workers;		/* 2 * queues: closed ones first */
	unsigned nworkers;

	int control_fd;
	int64_t started;		/* UNIX seconds */
	int64_t loaded;			/* when the running policy loaded */
	uint64_t loads, load_failures;
};

/* Everything the workers and queues counted, summed. */
struct daemon_totals {
	uint64_t verdicts[3];		/* by enum policy_action */
	uint64_t parse[PARSE_MALFORMED + 1];
	uint64_t logged, log_lost;
	uint64_t packets, enobufs, verdict_errors;
};

void daemon_totals(struct daemon *d, struct daemon_totals *t);

/* Load the policy at path, logging every error and appending it to errs
 * (may be NULL). Returns the policy or NULL. */
struct policy *daemon_load(const char *path, struct strbuf *errs);

/*
 * Load the policy file again and swap it in; the old one is freed once no
 * verdict thread holds it. On failure the running policy stays and every
 * error is appended to errs (which may be NULL). Returns 0 or -1.
 */
int daemon_reload(struct daemon *d, struct strbuf *errs);

/* Start one verdict thread per queue. Returns 0, or -1 with errno. */
int worker_start(struct worker *w);
/* Interrupt (any thread) and join (the starter). */
void worker_stop(struct worker *w);

#endif
