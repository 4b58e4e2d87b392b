/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netlink/queue — one NFQUEUE queue: the netlink socket bound to it, the
 * burst receive and the verdicts (libmnl and libnetfilter_queue's nfq_nlmsg
 * API). One struct queue belongs to one thread; only queue_interrupt() and
 * queue_stats() may be called from others.
 *
 * Shutdown: queue_interrupt() (async-signal-safe, any thread) makes the
 * blocked queue_receive() — and every later one — return -1 with errno
 * EINTR. It writes to an eventfd that queue_receive() polls beside the
 * socket, so no timeout or signal is needed to wake the thread.
 */
#ifndef PORTCULLIS_QUEUE_H
#define PORTCULLIS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct queue;

/* Zero in any field means its default; a zeroed struct is a valid config. */
struct queue_config {
	uint32_t copy_range;	/* bytes of each packet copied to us; 0: 256,
				 * enough for IP + extension headers + TCP */
	uint32_t max_len;	/* packets the kernel holds for us
				 * (NFQA_CFG_QUEUE_MAXLEN); 0: 8192 */
	uint32_t rcvbuf;	/* socket receive buffer, bytes; 0: 2 KiB per
				 * packet of max_len. SO_RCVBUFFORCE, else
				 * SO_RCVBUF (capped by net.core.rmem_max) */
	unsigned burst;		/* packets handled per wake-up; 0:
				 * QUEUE_DEFAULT_BURST, at most 1024 */
	bool fail_open;		/* NFQA_CFG_F_FAIL_OPEN: the kernel accepts
				 * what does not fit in the queue */
	bool verdict_immediate;	/* send each verdict at once instead of one
				 * sendmsg per burst (measuring, debugging) */
};

/* Packets a queue_receive() takes at most, unless cfg->burst says. */
#define QUEUE_DEFAULT_BURST 64

/* A queued packet, valid only during the callback. */
struct queue_packet {
	uint32_t id;		/* what the verdict names */
	uint16_t hw_protocol;	/* ETH_P_IP or ETH_P_IPV6, host order */
	uint8_t hook;		/* NF_INET_FORWARD, ... */
	bool gso;		/* part of a GSO packet (NFQA_SKB_GSO) */
	const uint8_t *payload;	/* from the network header on */
	uint32_t len;		/* bytes at payload (at most copy_range) */
	uint32_t orig_len;	/* the packet's whole length */
	uint32_t mark;		/* skb mark when queued */
	uint32_t indev;		/* ifindex, 0 if none */
	uint32_t outdev;	/* ifindex, 0 if none */
};

/* Counters; each only grows. */
struct queue_stats {
	uint64_t packets;	/* handed to the callback */
	uint64_t bursts;	/* wake-ups that brought packets */
	uint64_t enobufs;	/* socket overruns: the kernel lost messages
				 * to us (packets dropped, or accepted when
				 * fail-open) */
	uint64_t verdicts;	/* packets answered by verdicts sent */
	uint64_t batch_msgs;	/* NFQNL_MSG_VERDICT_BATCH messages among
				 * them (each answers a run of packets) */
	uint64_t verdict_errors;/* verdicts the kernel refused or that failed
				 * to send */
	uint64_t bad_messages;	/* messages that could not be parsed */
	uint32_t rcvbuf;	/* receive buffer the kernel granted, bytes */
};

enum queue_verdict {
	QUEUE_ACCEPT = 0,
	QUEUE_DROP,
	QUEUE_REPEAT,		/* NF_REPEAT with a new mark: the chain runs
				 * again and its first rule rejects the mark */
};

/* Called once per packet; give the verdict with queue_verdict(), here or
 * later. Verdicts given here go out together after the burst, a run of
 * equal ones (same verdict and mark, packets in the order delivered) as
 * one batch verdict message. A packet left for later ends such runs for
 * the life of the queue: a batch verdict would answer it too. */
typedef void (*queue_cb)(struct queue *q, const struct queue_packet *pkt,
			 void *arg);

/* Called for each burst before cb (for each cfg->burst packets of it, should
 * a datagram ever hold more than one), with all of them in the order cb
 * will then get them (cb's pkt is &pkts[i]): a look ahead, to judge them
 * together or load what cb will read. It must give no verdict: those go
 * in cb, where the batching rules above hold. */
typedef void (*queue_look_cb)(struct queue *q, const struct queue_packet *pkts,
			      unsigned n, void *arg);

/*
 * Bind queue num with cfg (NULL: defaults): copy mode packet with
 * cfg->copy_range, GSO, fail-open as asked, max_len, the receive buffer.
 * Returns the queue, or NULL with errno and a message for the operator in
 * err (errlen bytes, may be 0): EBUSY when another socket holds the queue,
 * EPERM without CAP_NET_ADMIN, EINVAL for a bad cfg, or what the kernel or
 * socket said.
 */
struct queue *queue_open(uint16_t num, const struct queue_config *cfg,
			 char *err, size_t errlen);

/* Unbind and free. NULL-safe. The kernel drops the packets still waiting
 * for a verdict; later ones go as the rule says: dropped, or accepted
 * with --queue-bypass. */
void queue_close(struct queue *q);

/*
 * Wait up to timeout_ms (-1: for ever, 0: not at all) for packets, then
 * receive up to cfg->burst of them without blocking and call cb for each.
 * Verdicts given in cb are sent in one message at the end. Returns the
 * number of packets handled (0 on timeout or a signal), or -1 with errno:
 * EINTR after queue_interrupt(), else a socket error. Socket overruns
 * (ENOBUFS) are counted and logged, never returned.
 */
int queue_receive(struct queue *q, queue_cb cb, void *arg, int timeout_ms);

/*
 * Give the verdict for packet id. mark is the packet's whole new mark for
 * QUEUE_REPEAT (keep the bits not yours: (pkt->mark & ~mask) | value) and
 * ignored otherwise. Inside the callback it is queued for the burst's one
 * send, outside sent at once. Returns 0, or -1 with errno.
 */
int queue_verdict(struct queue *q, uint32_t id, enum queue_verdict v,
		  uint32_t mark);


/* Have queue_receive() show each burst to look(q, pkts, n, arg) (look
 * NULL: no more) before calling its cb for each packet. */
void queue_set_lookahead(struct queue *q, queue_look_cb look, void *arg);

/* Make queue_receive() return -1/EINTR now and from now on. Safe from any
 * thread and from a signal handler. Returns 0, or -1 with errno. */
int queue_interrupt(struct queue *q);

/* The netlink socket, for a caller's own poll(); then call
 * queue_receive(q, cb, arg, 0). */
int queue_fd(const struct queue *q);

uint16_t queue_num(const struct queue *q);

/* A snapshot of the counters; safe from any thread. */
void queue_stats(const struct queue *q, struct queue_stats *st);

#endif
