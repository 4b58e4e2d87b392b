/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * identity/ — sessions: which subscriber holds which address (DESIGN.md
 * "Sessions"). A session binds a subscriber id to at most one IPv4
 * address and IDENTITY_V6_MAX IPv6 prefixes (/64 or shorter) until it
 * stops or expires. Pure like policy/: no socket, no clock (time is an
 * argument), no thread of its own.
 *
 * One writer (the daemon's main thread) changes the table; any number of
 * readers (the verdict threads) look sources up at the same time without
 * a lock and without ever waiting. What a writer takes out is retired,
 * not freed: a reader marks each burst with identity_epoch() and the
 * writer frees with identity_reclaim() only what was retired before the
 * oldest reader still inside a burst came in.
 *
 * Memory: a session costs a 32-byte record, its id in a size-classed
 * slab (16 bytes up to 15 characters) and a 4-byte slot in each index
 * it is in (the id, IPv4, IPv6 indexes, kept at most 70% full).
 */
#ifndef PORTCULLIS_IDENTITY_H
#define PORTCULLIS_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define IDENTITY_ID_MAX 128		/* characters in a subscriber id */
#define IDENTITY_V6_MAX 2		/* IPv6 prefixes in one session */
#define IDENTITY_SOURCE_MAX 31		/* characters in a feed's name */
#define IDENTITY_DEFAULT_MAX 4194304	/* sessions, unless told */
#define IDENTITY_LIMIT 16000000		/* sessions a table can hold */

struct identity;

/*
 * Check s[0 .. len) as a subscriber id: 1-128 printable ASCII characters
 * (0x20-0x7e), not starting or ending with a space. Returns 0, or -1
 * with what is wrong in why.
 */
int identity_id_check(const char *s, size_t len, char *why, size_t size);

/* One address a session holds: an IPv4 address (len 32) or an IPv6
 * prefix's network (len 1 .. 64). */
struct identity_addr {
	struct addr a;
	uint8_t len;
};

/* Parse "100.64.3.7", "2001:db8:1:100::/56" or an IPv6 address (its
 * /64) into out. Returns 0, or -1 with what is wrong in why. */
int identity_addr_parse(const char *s, struct identity_addr *out, char *why,
			size_t size);

/* Format "100.64.3.7" or "2001:db8:1:100::/56". Returns buf. */
const char *identity_addr_format(const struct identity_addr *a, char *buf,
				 size_t size);

/* A session as the writer gives it and the table describes it. */
struct identity_session {
	char id[IDENTITY_ID_MAX + 1];
	char source[IDENTITY_SOURCE_MAX + 1];	/* "" none */
	int64_t expires;		/* UNIX seconds, 0 never */
	bool has_v4;
	struct identity_addr v4;
	unsigned nv6;
	struct identity_addr v6[IDENTITY_V6_MAX];
};

/* What a change did, one call of the writer's note function each. */
enum identity_what {
	IDENTITY_START = 0,	/* the subscriber now holds addr */
	IDENTITY_STOP,		/* ... no longer holds it (stopped) */
	IDENTITY_EXPIRE,	/* ... its session expired */
	IDENTITY_MOVE,		/* ... another subscriber holds it now */
	IDENTITY_END,		/* the subscriber holds nothing any more */
};

struct identity_change {
	enum identity_what what;
	const char *id;			/* the subscriber's */
	uint64_t key;			/* identity_id_key(id) */
	const char *source;		/* its feed, "" none */
	struct identity_addr addr;	/* not for IDENTITY_END */
	int64_t expires;		/* START: the session's expiry */
};

typedef void (*identity_note_fn)(void *arg, const struct identity_change *c);

/* A table for up to max sessions (1 .. IDENTITY_LIMIT), hashed with seed.
 * note (may be NULL) hears of every change, from the writer's calls.
 * Returns NULL with errno EINVAL or ENOMEM. */
struct identity *identity_open(size_t max, uint64_t seed,
			       identity_note_fn note, void *arg);

/* Free everything, retired memory included. NULL-safe. */
void identity_close(struct identity *t);

/* ---- the readers (verdict threads) -------------------------------------- */

/* Mark the start of a burst of look-ups: store the result (a seq_cst
 * store) where the writer's caller reads it for identity_reclaim(), then
 * call this again and start over if it moved, before any look-up. */
uint64_t identity_epoch(const struct identity *t);

/* Who holds src at now (UNIX seconds). */
struct identity_hit {
	uint64_t key;			/* identity_id_key(id): stats' key */
	const char *id;			/* valid until the burst ends */
	uint8_t len;
};

/* Start loading the index slot src's look-up will read first. */
void identity_prefetch(const struct identity *t, const struct addr *src);

/* Returns 1 with hit filled when a live session holds src (its IPv4
 * address, or the longest of its IPv6 prefixes), 0 when none does. */
int identity_lookup(const struct identity *t, const struct addr *src,
		    int64_t now, struct identity_hit *hit);

/* identity_lookup for src[0 .. n) at once (found[i]: it returned 1),
 * the look-ups interleaved so that their cache misses overlap (a burst
 * of queued SYNs). Any n; IDENTITY_LOOKUP_MAX at a time. */
#define IDENTITY_LOOKUP_MAX 64
void identity_lookup_many(const struct identity *t,
			  const struct addr *const *src, size_t n,
			  int64_t now, struct identity_hit *hit, bool *found);

/* The key of subscriber id: a seeded 64-bit hash (the stats count by it). */
uint64_t identity_id_key(const struct identity *t, const char *id,
			 size_t len);

/* ---- the writer (one thread) --------------------------------------------- */

/*
 * Start or renew s at now: the subscriber holds exactly s's addresses
 * from now until s->expires. An address another subscriber held moves
 * (its session ends when it holds nothing else). Returns 1 when anything
 * but the expiry changed (a start, a move), 0 for a renewal, -1 with
 * errno and why: EINVAL (a bad id, address or expiry), ENOSPC (the table
 * is full), ENOMEM.
 */
int identity_start(struct identity *t, const struct identity_session *s,
		   int64_t now, char *why, size_t size);

/* End the session of subscriber id. Returns 0, or -1 with ENOENT. */
int identity_stop_id(struct identity *t, const char *id, int64_t now);

/* Take addr (an IPv4 address, or an IPv6 prefix as given or any address
 * inside it) from the session holding it. Returns 0, or -1 with ENOENT. */
int identity_stop_addr(struct identity *t, const struct identity_addr *addr,
		       int64_t now);

/* End the sessions expired at now (note: IDENTITY_EXPIRE). Returns how
 * many ended. */
size_t identity_expire(struct identity *t, int64_t now);

/* Subscriber id's session into out. Returns 0, or -1 with ENOENT. */
int identity_get(const struct identity *t, const char *id, int64_t now,
		 struct identity_session *out);

/* The session holding addr (as identity_stop_addr finds it). Returns 0,
 * or -1 with ENOENT. */
int identity_find(const struct identity *t, const struct identity_addr *addr,
		  int64_t now, struct identity_session *out);

/* The id whose key is key (identity_id_key), while it has a session,
 * into out. Returns 0, or -1 with ENOENT. */
int identity_id_of(const struct identity *t, uint64_t key, char *out,
		   size_t size);

/* Whether a live session of another subscriber than self_key's holds an
 * IPv6 prefix inside a (longer than it): 1 yes, 0 no, -1 not known
 * within *budget index probes (spent from it). */
int identity_nested(const struct identity *t, const struct identity_addr *a,
		    uint64_t self_key, int64_t now, size_t *budget);

/* Call fn for every live session (in no order) until it returns non-0;
 * returns that, or 0. */
int identity_each(const struct identity *t, int64_t now,
		  int (*fn)(void *arg, const struct identity_session *s),
		  void *arg);

/* Free what was retired before the oldest reader in a burst came in:
 * oldest is the smallest identity_epoch() a reader now inside a burst
 * stored, UINT64_MAX when none is. */
void identity_reclaim(struct identity *t, uint64_t oldest);

struct identity_counters {
	uint64_t sessions;		/* live now */
	uint64_t max;
	uint64_t v4, v6;		/* addresses, prefixes held */
	uint64_t starts, renewals, moves, stops, expiries;
	uint64_t refused_full;		/* starts refused: table full */
	size_t memory;			/* bytes held (retired included) */
};

void identity_counters(const struct identity *t, struct identity_counters *c);

/* ---- the state file (identity/state.c) ------------------------------------ */

/*
 * Sessions persist in two files: a snapshot (path) written atomically
 * (temporary file, fsync, rename, fsync of the folder) and a journal
 * (path + ".journal") that each change is appended to, so that a change
 * costs a line, not the whole table. identity_state_compact() folds the
 * journal into a new snapshot.
 */
struct identity_state;

/*
 * Read path and its journal into t (sessions expired at now are
 * skipped), then open the journal for appending. Missing files are an
 * empty table. A malformed line is an error naming file and line; one
 * cut short at the journal's end (a crash mid-write) is skipped and
 * reported in *skipped. Before any reader looks t up: what the lines
 * retire is freed as they are read. Returns the state, or NULL with
 * errno and why.
 */
struct identity_state *identity_state_open(struct identity *t,
					   const char *path, int64_t now,
					   size_t *skipped, char *why,
					   size_t size);

/* Append the session's state now (a start or renewal) or its end. */
void identity_state_put(struct identity_state *st,
			const struct identity_session *s);
void identity_state_del(struct identity_state *st, const char *id);
void identity_state_del_addr(struct identity_state *st,
			     const struct identity_addr *a);

/* Write the appended lines out (and fdatasync them). Returns 0, or -1
 * with errno (the lines stay buffered; the next call tries again). */
int identity_state_flush(struct identity_state *st);

/* Lines in the journal now. */
size_t identity_state_journal_lines(const struct identity_state *st);

/* Whether lines were dropped (the journal could not be written for long,
 * or no memory): only a new snapshot (compact) makes the files whole. */
bool identity_state_stale(const struct identity_state *st);

/* Why the journal could not be opened (its folder missing or not ours:
 * identity_state_open goes on without it, and each flush tries again),
 * or 0. */
int identity_state_error(const struct identity_state *st);

/* Write every live session of t as the new snapshot and empty the
 * journal. Returns 0, or -1 with errno (the journal then stays). */
int identity_state_compact(struct identity_state *st, int64_t now);

/* Flush and close. NULL-safe. */
void identity_state_close(struct identity_state *st);

#endif
