/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The layout shared by the files of identity/ only. */
#ifndef PORTCULLIS_IDENTITY_INTERNAL_H
#define PORTCULLIS_IDENTITY_INTERNAL_H

#include <stdatomic.h>

#include "identity.h"

/*
 * A session's record: 32 bytes. Fields a reader checks are atomics the
 * writer changes in place; a reader that races a change sees the old or
 * the new value of each, and any record it matches is the subscriber's
 * own (a record is reused only after identity_reclaim()).
 */
struct irec {
	_Atomic uint32_t name;		/* slab ref; 0: free */
	_Atomic uint32_t v4;		/* host order; 0: none (free: next) */
	_Atomic uint32_t expires;	/* UNIX seconds; 0 never */
	_Atomic uint8_t v6len[IDENTITY_V6_MAX];	/* 0: none */
	uint8_t source;			/* index of its feed's name */
	uint8_t live;			/* writer's: not retired */
	_Atomic uint32_t v6[IDENTITY_V6_MAX][2];	/* top 64 bits: hi, lo */
};

#define REC_CHUNK_BITS 16
#define REC_CHUNK (1u << REC_CHUNK_BITS)
#define REC_CHUNKS 256			/* 16M records at most */
#define NIL UINT32_MAX

/* An index: open addressing, linear probing, at most 70% full with
 * tombstones. A slot is tag << 24 | (record + 1): 0 empty, TOMB gone. */
#define SLOT_EMPTY 0u
#define SLOT_TOMB UINT32_MAX
#define SLOT_REF(v) ((v) & 0xffffffu)

struct ix {
	uint32_t n;			/* slots */
	uint32_t used, tombs;		/* writer's */
	_Atomic uint32_t slot[];
};

static inline uint32_t ix_pos(const struct ix *x, uint64_t h)
{
	return (uint32_t)(((h >> 32) * (uint64_t)x->n) >> 32);
}

/* Names: [length byte][characters], in slabs of four sizes. A ref is
 * class << 30 | (slot + 1). */
#define NAME_CLASSES 4
struct nameslab {
	_Atomic(uint8_t *) *chunk;	/* cap_chunks pointers, fixed at open:
					 * readers index it unlocked */
	uint32_t nchunks, cap_chunks;
	uint32_t hw;			/* slots handed out so far */
	uint32_t free;			/* free list (slot + 1), 0 empty */
	uint32_t inuse;
};

/* Something taken out of reach of new readers, freed by reclaim. */
struct retired {
	uint64_t stamp;
	uint32_t rec;			/* NIL: ptr is an index */
	void *ptr;
};

struct identity {
	uint64_t seed;
	size_t max;
	identity_note_fn note;
	void *note_arg;

	_Atomic uint64_t epoch;
	_Atomic(struct irec *) chunk[REC_CHUNKS];
	uint32_t nchunks;
	uint32_t rec_hw;		/* records handed out so far */
	uint32_t rec_free;		/* free list through v4, NIL none */
	uint32_t rec_cap;		/* live + retired records at most */

	_Atomic(struct ix *) ix_id, ix4, ix6;
	_Atomic uint64_t v6mask;	/* bit L-1: some prefix of length L */
	uint32_t v6count[65];

	struct nameslab names[NAME_CLASSES];

	char sources[256][IDENTITY_SOURCE_MAX + 1];
	unsigned nsources;

	struct retired *ret;
	size_t nret, capret;

	uint64_t live;
	struct identity_counters c;
};

static inline struct irec *rec_at(const struct identity *t, uint32_t i)
{
	struct irec *c = atomic_load_explicit(&t->chunk[i >> REC_CHUNK_BITS],
					      memory_order_acquire);

	return &c[i & (REC_CHUNK - 1)];
}

/* names.c */
int ident_names_open(struct identity *t, uint32_t records);
int ident_name_alloc(struct identity *t, const char *s, size_t len,
		     uint32_t *ref);
void ident_name_free(struct identity *t, uint32_t ref);
const uint8_t *ident_name(const struct identity *t, uint32_t ref);
size_t ident_names_memory(const struct identity *t);
void ident_names_close(struct identity *t);
uint64_t ident_hash_bytes(uint64_t seed, const uint8_t *s, size_t len);
void *ident_big_alloc(size_t len);

#endif
