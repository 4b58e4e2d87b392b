// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Subscriber ids in slabs of four sizes (16, 32, 64 and 130 bytes: a
 * length byte and the characters), so that the usual short id costs 16
 * bytes and no allocation of its own. Slots are handed out by the writer
 * and read by anyone holding a ref; chunks are never moved or freed
 * before the table closes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/hash.h"
#include "internal.h"

static const uint16_t class_size[NAME_CLASSES] = { 16, 32, 64, 130 };
static const uint8_t class_bits[NAME_CLASSES] = { 17, 16, 15, 14 };

#define HUGE_PAGE (2u << 20)

/* Zeroed memory for a table part; from 2 MiB on, in transparent huge
 * pages: a million sessions are looked up at random, and a TLB miss on
 * each costs as much as the cache miss itself. */
void *ident_big_alloc(size_t len)
{
	size_t r = (len + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	void *p;

	if (len < HUGE_PAGE)
		return calloc(1, len ? len : 1);
	p = aligned_alloc(HUGE_PAGE, r);
	if (!p)
		return NULL;
	madvise(p, r, MADV_HUGEPAGE);
	memset(p, 0, len);
	return p;
}

int ident_names_open(struct identity *t, uint32_t records)
{
	for (int c = 0; c < NAME_CLASSES; c++) {
		struct nameslab *s = &t->names[c];

		s->cap_chunks = (records >> class_bits[c]) + 1;
		s->chunk = calloc(s->cap_chunks, sizeof(*s->chunk));
		if (!s->chunk)
			return -1;
	}
	return 0;
}

static int class_of(size_t len)
{
	for (int c = 0; c < NAME_CLASSES; c++)
		if (len + 1 <= class_size[c])
			return c;
	return -1;
}

static uint8_t *slot_at(const struct nameslab *s, int c, uint32_t i)
{
	uint8_t *ch = atomic_load_explicit(&s->chunk[i >> class_bits[c]],
					   memory_order_acquire);

	return ch + (size_t)(i & ((1u << class_bits[c]) - 1)) * class_size[c];
}

int ident_name_alloc(struct identity *t, const char *str, size_t len,
		     uint32_t *ref)
{
	int c = class_of(len);
	struct nameslab *s;
	uint32_t i;
	uint8_t *p;

	if (c < 0 || len == 0) {
		errno = EINVAL;
		return -1;
	}
	s = &t->names[c];
	if (s->free) {
		i = s->free - 1;
		memcpy(&s->free, slot_at(s, c, i), sizeof(s->free));
	} else {
		if ((s->hw >> class_bits[c]) >= s->nchunks) {
			uint8_t *ch;

			if (s->nchunks == s->cap_chunks) {
				errno = ENOSPC;
				return -1;
			}
			ch = ident_big_alloc((size_t)class_size[c] << class_bits[c]);
			if (!ch)
				return -1;
			atomic_store_explicit(&s->chunk[s->nchunks++], ch,
					      memory_order_release);
		}
		i = s->hw++;
	}
	p = slot_at(s, c, i);
	p[0] = (uint8_t)len;
	memcpy(p + 1, str, len);
	s->inuse++;
	*ref = (uint32_t)c << 30 | (i + 1);
	return 0;
}

void ident_name_free(struct identity *t, uint32_t ref)
{
	int c = (int)(ref >> 30);
	struct nameslab *s = &t->names[c];
	uint32_t i = (ref & 0x3fffffffu) - 1;

	memcpy(slot_at(s, c, i), &s->free, sizeof(s->free));
	s->free = i + 1;
	s->inuse--;
}

const uint8_t *ident_name(const struct identity *t, uint32_t ref)
{
	int c = (int)(ref >> 30);

	return slot_at(&t->names[c], c, (ref & 0x3fffffffu) - 1);
}

size_t ident_names_memory(const struct identity *t)
{
	size_t m = 0;

	for (int c = 0; c < NAME_CLASSES; c++)
		m += (size_t)t->names[c].nchunks *
			     ((size_t)class_size[c] << class_bits[c]) +
		     t->names[c].cap_chunks * sizeof(void *);
	return m;
}

void ident_names_close(struct identity *t)
{
	for (int c = 0; c < NAME_CLASSES; c++) {
		struct nameslab *s = &t->names[c];

		for (uint32_t i = 0; i < s->nchunks; i++)
			free(atomic_load(&s->chunk[i]));
		free(s->chunk);
		s->chunk = NULL;
	}
}

/* Eight bytes at a time, a multiply and a rotation each, one full mix
 * at the end: a 12-character id costs two multiplies and a mix. Keyed by
 * the table's random seed, so ids a subscriber picks (a DHCP client id)
 * cannot be made to collide without it. */
uint64_t ident_hash_bytes(uint64_t seed, const uint8_t *s, size_t len)
{
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h = h << 31 | h >> 33;
	}
	if (i < len) {
		uint64_t w = 0;

		memcpy(&w, s + i, len - i);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
		h = h << 29 | h >> 35;
	}
	return hash_mix64(h);
}
