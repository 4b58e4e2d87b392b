// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The verdict loop of one queue: receive a burst, parse, decide, give the
 * verdict, hand blocked SYNs to the block log. Nothing here allocates,
 * waits for I/O or for another thread; a packet never stops the loop.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "filter/daemon.h"

#define WORKER_BEAT_MS 500
#define RECV_LOG_EVERY_MS 60000	/* a persistent receive error: once a minute */

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Pick up the current policy for this burst and publish it as in use.
 * The re-check closes the window where a reload swaps the pointer
 * between our load and our store. */
static void burst_begin(struct worker *w)
{
	struct generation *g;

	do {
		g = atomic_load(&w->d->generation);
		atomic_store(&w->in_use, g);
	} while (g != atomic_load(&w->d->generation));
	w->generation = g;
	w->cur = g->p;
	{
		struct shadow *sh;

		do {
			sh = atomic_load(&w->d->shadow);
			atomic_store(&w->shadow_in_use, sh);
		} while (sh != atomic_load(&w->d->shadow));
		w->shadow = sh;
	}
	w->now_ms = clock_ms();
	/* Published before the first look-up (a seq_cst store): what the
	 * session table's writer retires from now on waits for us. */
	if (w->d->ident) {
		uint64_t e;

		/* Published, then checked unmoved: the writer then either
		 * sees it or retired nothing this burst can reach. */
		do {
			e = identity_epoch(w->d->ident);
			atomic_store(&w->id_epoch, e);
		} while (identity_epoch(w->d->ident) != e);
	}
}

static void burst_end(struct worker *w)
{
	w->look = NULL;
	w->nlook = 0;
	w->next = 0;
	w->cur = NULL;
	w->generation = NULL;
	w->shadow = NULL;
	atomic_store(&w->in_use, NULL);
	atomic_store(&w->shadow_in_use, NULL);
	atomic_store_explicit(&w->id_epoch, 0, memory_order_release);
}

/* Who holds f's source: its session's subscriber into f, if any. The id
 * stays readable until the burst ends. */
static void who(struct worker *w, struct policy_flow *f)
{
	struct identity_hit hit;

	f->subscriber_len = 0;
	if (w->d->ident &&
	    identity_lookup(w->d->ident, &f->src, w->now_ms / 1000, &hit)) {
		f->subscriber = hit.id;
		f->subscriber_len = hit.len;
		f->subscriber_key = hit.key;
	}
}

/* Count the subscriber's SYN, apply its quarantine, write the block
 * line: stats owns all three (relays and others are always accepted). */
static void account(struct worker *w, const struct policy_flow *f,
		    struct policy_decision *dec)
{
	if (dec->entry >= 0)
		stats_syn(w->d->stats, w->index, w->cur, f, w->now_ms, dec);
}

/* A fail-closed queue's SYN we cannot read whole: the addresses are
 * known, the port is not, but the kernel only queues here ports some
 * profile blocks. Drop it when the source's profile blocks one of them
 * (see struct generation). */
static bool unreadable_blocks(struct worker *w, struct parse_syn *syn,
			     struct policy_decision *dec)
{
	syn->flow.dport = 0;
	who(w, &syn->flow);
	policy_decide(w->cur, &syn->flow, w->now_ms / 1000, false, dec);
	if (dec->entry < 0 || dec->profile < 0 ||
	    !w->generation->blocks_closed[dec->profile])
		return false;
	dec->action = POLICY_DROP;
	if (policy_mode(w->cur) != POLICY_MODE_MONITOR)
		dec->verdict = POLICY_DROP;
	return true;
}

/*
 * The burst before its verdicts: parse every packet, judge the SYNs in
 * one interleaved pass over the prefix table, and start loading what
 * each verdict will touch next (the subscriber's stats slot, and the
 * entry a block line names). Each of those is a cache miss of its own;
 * asked for together they overlap instead of queueing one behind the
 * other.
 */
static void look_ahead(struct queue *q, const struct queue_packet *pkts,
		       unsigned n, void *arg)
{
	struct worker *w = arg;
	unsigned i, k = 0;

	(void)q;
	if (!w->cur)
		burst_begin(w);
	if (n > WORKER_LOOK)
		n = WORKER_LOOK;	/* the rest are judged one by one */
	for (i = 0; i < n; i++) {
		struct worker_slot *s = &w->slot[i];

		s->st = parse_syn(pkts[i].payload, pkts[i].len, &s->syn);
		if (s->st != PARSE_SYN)
			continue;
		w->flows[k] = &s->syn.flow;
		w->srcs[k] = &s->syn.flow.src;
		w->at[k] = i;
		w->sdecs[k] = &s->sdec;
		w->decs[k++] = &s->dec;
	}
	/* Who holds each source, before the policy: rule 4 (an exception
	 * for the subscriber) needs it. */
	if (w->d->ident && k) {
		identity_lookup_many(w->d->ident, w->srcs, k, w->now_ms / 1000,
				     w->hits, w->found);
		for (i = 0; i < k; i++) {
			struct policy_flow *f = &w->slot[w->at[i]].syn.flow;

			f->subscriber_len = w->found[i] ? w->hits[i].len : 0;
			f->subscriber = w->hits[i].id;
			f->subscriber_key = w->hits[i].key;
		}
	}
	policy_decide_many(w->cur, w->flows, k, w->now_ms / 1000, w->decs);
	if (w->shadow)
		policy_decide_many(w->shadow->p, w->flows, k, w->now_ms / 1000,
				   w->sdecs);
	for (i = 0; i < k; i++) {
		if (w->decs[i]->entry < 0)
			continue;
		stats_prefetch(w->d->stats, w->flows[i]);
		if (w->decs[i]->action != POLICY_ACCEPT)
			policy_entry_prefetch(w->cur, w->decs[i]->entry);
	}
	w->look = pkts;
	w->nlook = n;
	w->next = 0;
}

static void on_packet(struct queue *q, const struct queue_packet *pkt,
		      void *arg)
{
	struct worker *w = arg;
	struct policy_decision dec, sdec;
	struct parse_syn syn;
	enum parse_status st;
	enum queue_verdict v = QUEUE_ACCEPT;
	uint32_t mark = 0;

	if (!w->cur)
		burst_begin(w);
	/* cb comes in the look-ahead's order: packet next is this one. */
	if (w->look && w->next < w->nlook && pkt == &w->look[w->next]) {
		const struct worker_slot *s = &w->slot[w->next++];

		st = s->st;
		syn = s->syn;
		dec = s->dec;
		sdec = s->sdec;
	} else {
		st = parse_syn(pkt->payload, pkt->len, &syn);
		if (st == PARSE_SYN) {
			who(w, &syn.flow);
			policy_decide(w->cur, &syn.flow, w->now_ms / 1000,
				      false, &dec);
			if (w->shadow)
				policy_decide(w->shadow->p, &syn.flow,
					      w->now_ms / 1000, false, &sdec);
		}
	}
	generation_counter_bump(&w->parse[st]);
	if (st != PARSE_SYN) {
		/* The kernel queues only subscriber SYNs to named ports, so
		 * on a fail-closed queue anything that does not parse as a
		 * whole SYN is one the kernel read otherwise: cut at the copy
		 * range (an IPv6 extension chain padded past it), a first
		 * fragment cut inside its TCP options (fragment), a header
		 * chain the parser does not walk (not-tcp, not-syn). Each is
		 * judged by its source, with the port unknown: dropped when
		 * the profile blocks a fail-closed port, so no way of writing
		 * a SYN carries it past port 25. On a fail-open queue they
		 * pass, counted. */
		if (w->fail_closed && syn.family &&
		    unreadable_blocks(w, &syn, &dec)) {
			account(w, &syn.flow, &dec);
			generation_count(w->generation, w->index, dec.action,
					 dec.profile, 0);
			generation_counter_bump(&w->verdicts[dec.verdict]);
			queue_verdict(q, pkt->id, dec.verdict == POLICY_ACCEPT ?
				      QUEUE_ACCEPT : QUEUE_DROP, 0);
			return;
		}
		queue_verdict(q, pkt->id, QUEUE_ACCEPT, 0);
		return;
	}
	/* Before account(): both as the policies decide, a quarantine
	 * (the daemon's state, not a policy's) left out. */
	if (w->shadow)
		shadow_syn(w->shadow, w->index, w->cur, &syn.flow, &dec, &sdec,
			   w->now_ms, w->d->blocklog);
	account(w, &syn.flow, &dec);
	switch (dec.verdict) {
	case POLICY_ACCEPT:
		v = QUEUE_ACCEPT;
		break;
	case POLICY_DROP:
		v = QUEUE_DROP;
		break;
	case POLICY_REJECT:
		v = QUEUE_REPEAT;
		mark = (pkt->mark & ~RULES_REJECT_MARK) | RULES_REJECT_MARK;
		break;
	}
	generation_counter_bump(&w->verdicts[dec.verdict]);
	generation_count(w->generation, w->index, dec.action, dec.profile,
			 syn.flow.dport);
	if (queue_verdict(q, pkt->id, v, mark) < 0)
		log_debug("queue %u: verdict for %u: %s", queue_num(q),
			  pkt->id, strerror(errno));
}

void worker_attach(struct worker *w, struct queue *q)
{
	w->q = q;
	queue_set_lookahead(q, look_ahead, w);
}

int worker_burst(struct worker *w, int timeout_ms)
{
	int n = queue_receive(w->q, on_packet, w, timeout_ms);

	burst_end(w);
	atomic_store_explicit(&w->beat_ms, daemon_mono_ms(),
			      memory_order_relaxed);
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int64_t logged_ms = daemon_mono_ms() - RECV_LOG_EVERY_MS;
	uint64_t errors = 0;
	char name[16];

	/* Seen in top -H, perf and /proc: which queue's thread is busy. */
	snprintf(name, sizeof(name), "pc-queue-%u", queue_num(w->q));
	pthread_setname_np(pthread_self(), name);

	for (;;) {
		/* Wake at least twice a second so the heartbeat the
		 * watchdog reads shows this loop is alive. */
		int n = worker_burst(w, WORKER_BEAT_MS);

		if (n < 0 && errno == EINTR)
			break;
		if (n < 0) {
			/* The loop goes on (a socket error never stops
			 * verdicts), the log once a minute with a count. */
			const struct timespec nap = { 0, 10 * 1000 * 1000 };
			int64_t now = daemon_mono_ms();

			errors++;
			if (now - logged_ms >= RECV_LOG_EVERY_MS) {
				log_warn("queue %u: receive (%llu failures since "
					 "the last report)", queue_num(w->q),
					 (unsigned long long)errors);
				errors = 0;
				logged_ms = now;
			}
			nanosleep(&nap, NULL);
		}
	}
	return NULL;
}

int worker_start(struct worker *w)
{
	int err;

	atomic_store(&w->beat_ms, daemon_mono_ms());
	err = pthread_create(&w->thread, NULL, worker_main, w);
	if (err) {
		errno = err;
		return -1;
	}
	w->started = true;
	return 0;
}

void worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	queue_interrupt(w->q);
	pthread_join(w->thread, NULL);
	w->started = false;
}
