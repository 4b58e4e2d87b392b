/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The subscriber prefix table of one address family (internal to policy/).
 *
 * Entries are sorted by (address, length) and flattened into a sorted
 * array of disjoint address ranges, each owned by the longest entry that
 * covers it; every entry knows its parent (the next shorter entry that
 * encloses it). A lookup finds the range by binary search narrowed by a
 * small tree of radix nodes (each on the bits below its own ranges'
 * common prefix), then walks up parents while the entry has expired at
 * `now`, so an expired exception falls back to the next shorter prefix
 * exactly.
 */
#ifndef PORTCULLIS_POLICY_TABLE_H
#define PORTCULLIS_POLICY_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

struct table;

#define TABLE_NO_ORIGIN UINT32_MAX

struct table_input {
	struct addr addr;	/* network address; IPv4 is v4-mapped */
	uint8_t len;			/* 0..32 for AF_INET, 0..128 for AF_INET6 */
	uint8_t keep_origin;		/* remember origin (entry has metadata) */
	uint16_t profile;
	uint32_t expires;		/* UNIX seconds, 0 for never */
	uint32_t origin;		/* the caller's index of this entry */
};

/* Called once per prefix given again: first and again are origins. */
typedef void (*table_dup_fn)(void *ctx, uint32_t first, uint32_t again);

/*
 * Build the table of family (AF_INET or AF_INET6) from n inputs. in is
 * sorted in place and may be freed after; host bits are cleared in it. For a
 * prefix given twice, dup (if not NULL) is called and the first is kept.
 * Returns the table, or NULL with errno ENOMEM (or EINVAL: a bad family,
 * a length beyond the family's, an IPv6 address in an AF_INET table).
 */
struct table *table_build(int family, struct table_input *in, size_t n,
			  table_dup_fn dup, void *ctx);

/* The id (0 .. count-1) of the longest entry covering a that has not
 * expired at now, or -1. a must be of the table's family. */
int32_t table_lookup(const struct table *t, const struct addr *a,
		     int64_t now);

/* As table_lookup, also storing the entry's profile in *profile (when
 * the id is not -1), mostly without reading the entry itself. */
int32_t table_lookup_profile(const struct table *t,
			     const struct addr *a, int64_t now,
			     uint16_t *profile);

/* table_lookup_profile for n addresses a[i] (all of the table's family):
 * ids[i], and profiles[i] where ids[i] is not -1. The lookups run
 * interleaved, so their cache misses overlap: for a burst of packets. */
void table_lookup_many(const struct table *t,
		       const struct addr *const *a, size_t n,
		       int64_t now, int32_t *ids, uint16_t *profiles);

/* Only entry id's prefix, as table_entry_get() would give it: no search
 * for its origin (the block line's need). Returns 0, or -1 (EINVAL). */
int table_entry_prefix(const struct table *t, int32_t id,
		       struct addr *addr, uint8_t *len);

/* table_lookup_many() interleaved whatever the table's size (it looks
 * up a table the cache holds one key after the other): for tests. */
void table_lookup_interleaved(const struct table *t,
			      const struct addr *const *a, size_t n,
			      int64_t now, int32_t *ids, uint16_t *profiles);

/* The entry's cache lines, for a caller about to read it. */
void table_entry_prefetch(const struct table *t, int32_t id);

size_t table_count(const struct table *t);

/* The profile of entry id (0 .. count-1), for the decision path. */
uint16_t table_profile(const struct table *t, int32_t id);

struct table_entry {
	struct addr addr;
	uint8_t len;
	uint16_t profile;
	uint32_t expires;
	int32_t parent;			/* -1: no enclosing entry */
	uint32_t origin;		/* TABLE_NO_ORIGIN unless keep_origin */
};

/* Entry id into e. Returns 0, or -1 when id is out of range. */
int table_entry_get(const struct table *t, int32_t id, struct table_entry *e);

/* Bytes held by the table. */
size_t table_memory(const struct table *t);

/* NULL-safe. */
void table_free(struct table *t);

#endif
