/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cluster/ — exceptions and quarantines shared by many gateways through a
 * NATS JetStream key-value bucket (DESIGN.md "Many gateways"). The only
 * room that includes libnats.
 *
 * A record is one change: an exception added or deleted, a quarantine
 * begun or released, for a subscriber id or for a prefix (an address).
 * Its key names what it is about (cluster_record_key), so the bucket
 * holds the latest record of each, with history; its value is JSON
 * (cluster_record_encode).
 *
 * NATS is never on the verdict path: a thread of its own connects,
 * publishes the queued local changes and watches the bucket; the
 * daemon's main thread takes the other gateways' records from an inbox
 * (cluster_poll, woken by cluster_fd) and applies them itself. When two
 * gateways write the same key the newest revision wins: a record older
 * than the last one seen for its key, or arriving while a local change
 * to that key waits to be published (it will be newer), is not given.
 */
#ifndef PORTCULLIS_CLUSTER_H
#define PORTCULLIS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

#define CLUSTER_ID_MAX 128		/* a subscriber id, or a prefix */
#define CLUSTER_KEY_MAX (6 + 3 * CLUSTER_ID_MAX)
#define CLUSTER_QUEUE_MAX 65536		/* local changes waiting */
#define CLUSTER_HISTORY 64		/* revisions the bucket keeps a key */
/* The bucket's max-age: a backstop longer than any quarantine. A record
 * older leaves the bucket (the gateways that applied it keep it). */
#define CLUSTER_MAX_AGE_S (366 * 86400)

enum cluster_kind {
	CLUSTER_EXCEPTION = 0,
	CLUSTER_QUARANTINE,
};

enum cluster_op {
	CLUSTER_ADD = 0,		/* exception added or replaced */
	CLUSTER_DEL,			/* exception deleted */
	CLUSTER_QUARANTINED,		/* quarantine begun or renewed */
	CLUSTER_RELEASED,		/* quarantine ended early */
};

struct cluster_record {
	uint64_t revision;		/* the bucket's; 0 before it has one */
	int64_t stored_ms;		/* when the bucket stored it (history) */
	uint8_t kind;			/* enum cluster_kind */
	uint8_t op;			/* enum cluster_op */
	bool by_subscriber;		/* subject is an id, else a prefix */
	char subject[CLUSTER_ID_MAX + 1];
	char profile[64];		/* exception: its profile; quarantine:
					 * the detection profile */
	char note[200];
	int64_t until;			/* UNIX s, 0: none */
	int64_t time;			/* UNIX s: when it was made */
	char gateway[64];		/* who made it */
	uint32_t syns, distinct;	/* quarantine: the window that caught it */
};

/* The record's key: x.sub.ID, x.net.PREFIX, q.sub.ID or q.net.PREFIX,
 * every byte but [A-Za-z0-9-] written _XX. Returns 0, or -1 when the
 * subject is empty. */
int cluster_record_key(const struct cluster_record *r, char *key,
		       size_t size);
/* The other way: kind, by_subscriber and subject of key into r. Returns
 * 0, or -1 when key is none of ours. */
int cluster_key_parse(const char *key, struct cluster_record *r);
/* The key(s) of KEY as an operator names it (an id or a prefix) for any
 * kind: "*.sub.ID" or "*.net.PREFIX"; by_subscriber says which. */
int cluster_subject_pattern(const char *subject, bool by_subscriber,
			    char *out, size_t size);

/* The value: JSON of one line. Returns its length, or -1 (too long). */
int cluster_record_encode(const struct cluster_record *r, char *buf,
			  size_t size);
/* Parse value buf[0 .. len) into r, and check it is the record of key
 * (when key is not NULL). Returns 0, or -1 with what is wrong in why. */
int cluster_record_decode(const char *buf, size_t len, const char *key,
			  struct cluster_record *r, char *why, size_t wsize);
/* Whether a gateway name is valid: 1-63 of [A-Za-z0-9._-]. */
bool cluster_gateway_valid(const char *name);
const char *cluster_op_name(uint8_t op);

struct cluster_config {
	const char *const *servers;	/* nats://, tls:// URLs */
	unsigned nservers;
	const char *gateway;
	const char *bucket;
	const char *credentials;	/* NULL: none */
	const char *ca;			/* tls://: CA bundle; NULL: the system's */
	const char *state_dir;		/* STATE/cluster.BUCKET lives here */
	unsigned queue_max;		/* 0: CLUSTER_QUEUE_MAX */
};

struct cluster;

/*
 * Read the state (the last revision applied, the live quarantines and
 * the changes not yet published) and start the thread; the state's
 * quarantines are the first cluster_poll() gives, so a gateway holds
 * them whether NATS answers or not. Returns NULL with the reason in err.
 */
struct cluster *cluster_open(const struct cluster_config *cfg, char *err,
			     size_t esize);
/* Stop the thread, save the state, free. NULL is fine. */
void cluster_close(struct cluster *c);
/* Whether cfg is what c runs with (a reload that changes nothing). */
bool cluster_same(const struct cluster *c, const struct cluster_config *cfg);

/* Queue a local change for publishing (any thread; never blocks on
 * NATS). Returns 0, or -1 when the queue is full (counted). */
int cluster_publish(struct cluster *c, const struct cluster_record *r);

/* Readable when records wait in the inbox. */
int cluster_fd(const struct cluster *c);
/* Take up to max records for the main thread to apply (the fd drained
 * when none are left). Returns how many. */
size_t cluster_poll(struct cluster *c, struct cluster_record *out,
		    size_t max);

struct cluster_status {
	bool connected;			/* to a server, the bucket open */
	char server[128];		/* the one connected to */
	uint64_t revision;		/* last revision seen and applied */
	uint64_t pending;		/* records in the bucket after it */
	int64_t last_ms;		/* UNIX ms: the last record stored */
	uint64_t queued;		/* local changes waiting */
	uint64_t dropped;		/* ... not kept: the queue was full */
	uint64_t published;
	uint64_t received;		/* records of the bucket given */
	uint64_t ignored;		/* ... not: older, or bad (an expired one
					 * is given as the end it is) */
	uint64_t own;			/* ... not: this gateway's own echo */
	uint64_t reconnects;
	char error[200];		/* the last failure, "" none */
};
void cluster_status(struct cluster *c, struct cluster_status *s);

/*
 * The bucket's history: every record it still holds of pattern (NULL:
 * all), oldest first, at most max, waiting at most timeout_ms. Calls
 * fn for each. Returns the number, or -1 with the reason in err.
 */
long cluster_history(struct cluster *c, const char *pattern, size_t max,
		     int64_t timeout_ms,
		     void (*fn)(void *ctx, const struct cluster_record *r),
		     void *ctx, char *err, size_t esize);

/* At the daemon's exit, after every cluster_close: libnats's threads and
 * memory. */
void cluster_library_close(void);

#endif
