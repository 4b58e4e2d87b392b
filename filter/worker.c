// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The verdict loop of one queue: receive a burst, parse, decide, give the
 * verdict, hand blocked SYNs to the block log. Nothing here allocates,
 * waits for I/O or for another thread; a packet never stops the loop.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "filter/daemon.h"

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
	const struct policy *p;

	do {
		p = atomic_load(&w->d->policy);
		atomic_store(&w->in_use, p);
	} while (p != atomic_load(&w->d->policy));
	w->cur = p;
	w->now_ms = clock_ms();
}

static void burst_end(struct worker *w)
{
	w->cur = NULL;
	atomic_store(&w->in_use, NULL);
}

static void log_block(struct worker *w, const struct policy_flow *f,
		      const struct policy_decision *dec)
{
	struct blocklog_event ev = {
		.kind = BLOCKLOG_BLOCK,
		.action = (uint8_t)dec->action,
		.monitor = dec->verdict != dec->action,
		.dport = f->dport,
		.ts_ms = w->now_ms,
		.src = f->src,
		.dst = f->dst,
	};
	struct policy_entry_info e;
	const char *profile = policy_profile_name(w->cur, dec->profile);

	if (!w->d->blocklog)
		return;
	if (profile)
		snprintf(ev.profile, sizeof(ev.profile), "%s", profile);
	if (policy_entry_info(w->cur, dec->entry, &e) == 0)
		snprintf(ev.prefix, sizeof(ev.prefix), "%s", e.prefix);
	if (blocklog_push(w->d->blocklog, w->index, &ev) == 0)
		atomic_fetch_add_explicit(&w->logged, 1, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&w->log_lost, 1,
					  memory_order_relaxed);
}

static void on_packet(struct queue *q, const struct queue_packet *pkt,
		      void *arg)
{
	struct worker *w = arg;
	struct policy_decision dec;
	struct parse_syn syn;
	enum parse_status st;
	enum queue_verdict v = QUEUE_ACCEPT;
	uint32_t mark = 0;

	if (!w->cur)
		burst_begin(w);
	st = parse_syn(pkt->payload, pkt->len, &syn);
	atomic_fetch_add_explicit(&w->parse[st], 1, memory_order_relaxed);
	if (st != PARSE_SYN) {
		/* Not ours to judge: what the kernel queued by mistake or
		 * could not show us whole. It goes the way the queue goes
		 * without the daemon: a fail-closed queue's ports must not
		 * pass unjudged (an IPv6 SYN behind 300 bytes of extension
		 * headers is TRUNCATED at the copy range, and accepting it
		 * let port 25 through), a fail-open queue's pass. Counted. */
		queue_verdict(q, pkt->id, w->fail_closed ? QUEUE_DROP
							 : QUEUE_ACCEPT, 0);
		return;
	}
	policy_decide(w->cur, &syn.flow, w->now_ms / 1000, false, &dec);
	if (dec.action != POLICY_ACCEPT)
		log_block(w, &syn.flow, &dec);
	switch (dec.verdict) {
	case POLICY_ACCEPT:
		v = QUEUE_ACCEPT;
		break;
	case POLICY_DROP:
		v = QUEUE_DROP;
		break;
	case POLICY_REJECT:
		v = QUEUE_REPEAT;
		mark = (pkt->mark & ~RULESET_REJECT_MARK) | RULESET_REJECT_MARK;
		break;
	}
	atomic_fetch_add_explicit(&w->verdicts[dec.verdict], 1,
				  memory_order_relaxed);
	if (queue_verdict(q, pkt->id, v, mark) < 0)
		log_debug("queue %u: verdict for %u: %s", queue_num(q),
			  pkt->id, strerror(errno));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		int n = queue_receive(w->q, on_packet, w, -1);

		burst_end(w);
		if (n < 0 && errno == EINTR)
			break;
		if (n < 0) {
			/* Rate-limited by the error's rarity; the loop
			 * goes on: a socket error never stops verdicts. */
			log_warn("queue %u: receive", queue_num(w->q));
			struct timespec nap = { 0, 10 * 1000 * 1000 };
			nanosleep(&nap, NULL);
		}
	}
	return NULL;
}

int worker_start(struct worker *w)
{
	int err = pthread_create(&w->thread, NULL, worker_main, w);

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
