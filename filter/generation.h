/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A policy generation: the loaded policy and the verdict counters kept
 * while it runs, swapped in as one pointer. Counters are per verdict
 * thread (one writer each, no locked instruction on the SYN path) and by
 * action, profile and port, slots mapped from the policy's own names;
 * when a generation retires its counts are folded into totals kept by
 * name, so a reload never loses or mislabels a count.
 */
#ifndef PORTCULLIS_GENERATION_H
#define PORTCULLIS_GENERATION_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "policy/policy.h"

#define GENERATION_PROFILES 32	/* counted by name; more count as "other" */
#define GENERATION_PORTS 16	/* named ports counted apart, else "other" */

struct generation_counts {
	/* [action][profile slot][port slot]; profile slot
	 * GENERATION_PROFILES is "none" (relay, not a subscriber),
	 * GENERATION_PROFILES + 1 "other". */
	atomic_uint_fast64_t
		v[3][GENERATION_PROFILES + 2][GENERATION_PORTS + 1];
};

struct generation {
	struct policy *p;
	uint16_t ports[GENERATION_PORTS]; /* the policy's ports, slot order */
	unsigned nports;		/* slot nports: any other port */
	uint8_t port_slot[65536];
	unsigned nthreads;
	struct generation_counts *counts;	/* one per verdict thread */
	/* Per profile: whether it blocks some fail-closed port. A SYN the
	 * fail-closed queue got whose TCP header lies past the copy range
	 * (a long IPv6 extension chain) is dropped for such a profile: the
	 * kernel queued it for one of those ports, so letting it through
	 * would let anyone bypass port 25 with padding. */
	bool *blocks_closed;
};

/* One retired count, by name. */
struct generation_total {
	uint8_t action;
	char profile[64];
	uint16_t port;			/* 0: other */
	uint64_t count;
};

struct generation_totals {
	struct generation_total *t;
	size_t n, cap;
};

/* A generation for p (ownership of p passes to it) with nthreads verdict
 * threads. Returns NULL with errno ENOMEM (p is then not freed). */
struct generation *generation_new(struct policy *p, unsigned nthreads);

/* Bump a counter that one thread alone writes: no locked instruction on
 * the SYN path; readers use atomic loads. */
static inline void generation_counter_bump(atomic_uint_fast64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
			      + 1, memory_order_relaxed);
}

/* Add n to one count of thread `thread`: only that thread may call. */
static inline void generation_count_n(struct generation *g, unsigned thread,
				      enum policy_action a, int profile,
				      uint16_t port, uint64_t n)
{
	unsigned ps = profile < 0 ? GENERATION_PROFILES :
		      profile < GENERATION_PROFILES ? (unsigned)profile
					     : GENERATION_PROFILES + 1;
	atomic_uint_fast64_t *c =
		&g->counts[thread].v[a][ps][g->port_slot[port]];

	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed)
			      + n, memory_order_relaxed);
}

/* Count one verdict from thread `thread`: only that thread may call. */
static inline void generation_count(struct generation *g, unsigned thread,
				    enum policy_action a, int profile,
				    uint16_t port)
{
	generation_count_n(g, thread, a, profile, port, 1);
}

/* The total of (action, profile, port) in t, made (at 0) if missing.
 * Returns NULL when out of memory. */
struct generation_total *generation_total(struct generation_totals *t,
					  uint8_t action, const char *profile,
					  uint16_t port);

/* Add g's counts into totals by name. Returns 0, or -1 with ENOMEM. */
int generation_fold(const struct generation *g,
		    struct generation_totals *totals);

/* Prometheus lines for g's counts plus the retired totals. */
void generation_metrics(const struct generation *g,
			const struct generation_totals *totals,
			struct strbuf *out);

/* Free g and its policy. NULL-safe. */
void generation_free(struct generation *g);
void generation_totals_free(struct generation_totals *t);

#endif
