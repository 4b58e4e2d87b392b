/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cluster/'s parts: the ledger (what each key last was), the state file. */
#ifndef PORTCULLIS_CLUSTER_INTERNAL_H
#define PORTCULLIS_CLUSTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/cluster.h"

/*
 * The ledger: per key, the newest revision seen and how many local
 * changes to it wait to be published; and the live quarantine records
 * (the state a restart must hold before NATS answers). Not locked: the
 * client holds its lock around every call.
 */
struct ledger_entry {
	char *key;
	uint64_t rev;
	uint32_t pending;
	struct cluster_record *quarantine;	/* the live one, or NULL */
	/* The newest record of the bucket refused while a local change
	 * waited: the bucket may have stored it after that change. */
	struct cluster_record *held;
};

struct ledger {
	struct ledger_entry *e;
	size_t cap, n;			/* cap a power of two, n < 70% */
	size_t live;			/* entries with a quarantine */
};

void ledger_free(struct ledger *l);
/* The entry of key, made when missing (NULL: out of memory). */
struct ledger_entry *ledger_get(struct ledger *l, const char *key);
/* Whether a record of the bucket at rev for key is to be applied: not
 * while a local change waits, not older than the last seen. Notes rev. */
bool ledger_take(struct ledger *l, const char *key, uint64_t rev);
/* A local change to key queued (+1) or done with (-1, at rev, 0 when
 * it was dropped). */
void ledger_pending(struct ledger *l, const char *key, int delta,
		    uint64_t rev);
/* r, which ledger_take refused for key while a local change waited:
 * kept when newer than what is known (the newest only). */
void ledger_hold(struct ledger *l, const char *key,
		 const struct cluster_record *r);
/* After the last waiting change to key was done with: the record held
 * meanwhile if the bucket stored it after that change (its revision is
 * then key's), into *r. Returns whether there was one. */
bool ledger_unhold(struct ledger *l, const char *key,
		   struct cluster_record *r);
/* Keep r as key's live quarantine (r a quarantine begun), or forget it
 * (anything else). */
void ledger_note(struct ledger *l, const char *key,
		 const struct cluster_record *r);
/* A bucket made anew: every key's revision forgotten (and what was
 * held against one), not the local changes waiting nor the live
 * quarantines. */
void ledger_forget_revisions(struct ledger *l);
/* Forget the quarantines expired at now (UNIX s). */
void ledger_expire(struct ledger *l, int64_t now);

/* The state file: STATE/cluster.BUCKET. */
struct cluster_state {
	uint64_t revision;
	struct cluster_record *quarantines;	/* live at save time */
	size_t nquarantines;
	struct cluster_record *queued;		/* not yet published */
	size_t nqueued;
};
/* Read path into s (a missing file is an empty state). Returns 0, or -1
 * with the reason in err. */
int cluster_state_load(const char *path, struct cluster_state *s,
		       char *err, size_t esize);
/* Write s to path atomically. Returns 0, or -1 with errno. */
int cluster_state_save(const char *path, const struct cluster_state *s);
void cluster_state_free(struct cluster_state *s);

/* The watch's and the publisher's bookkeeping, without NATS (on_record
 * and publish_queued call them; so do the tests). cluster_file: a record
 * of the bucket under key at r->revision; returns whether it went to the
 * inbox. cluster_published: the oldest queued change stored at rev (0:
 * not publishable, dropped). */
bool cluster_file(struct cluster *c, const char *key,
		  const struct cluster_record *r);
void cluster_published(struct cluster *c, uint64_t rev);

#endif
