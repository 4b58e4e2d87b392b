// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A subscriber's key (its IPv4 address, or its IPv6 address cut to the
 * detection's prefix), back to an address, and the seeded hashes of keys
 * and destinations that the tables (stats/subscribers.c) and detection
 * (stats/detect.c) share. A subscriber with a session is keyed by its
 * id's key (identity/), so that its counts follow it to a new address.
 */
#include <string.h>

#include "common/hash.h"
#include "internal.h"

static uint64_t be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

void stats_key(const struct stats *st, const struct addr *a,
	       uint64_t *key, uint32_t *kind)
{
	if (addr_is_v4(a)) {
		*key = (uint64_t)a->b[12] << 24 | (uint64_t)a->b[13] << 16 |
		       (uint64_t)a->b[14] << 8 | a->b[15];
		*kind = 0;
	} else {
		*key = be64(a->b) & st->v6mask;
		*kind = SUB_V6;
	}
}

void stats_key_flow(const struct stats *st, const struct policy_flow *f,
		    uint64_t *key, uint32_t *kind)
{
	if (f->subscriber_len) {
		*key = f->subscriber_key;
		*kind = SUB_ID;
		return;
	}
	stats_key(st, &f->src, key, kind);
}

void stats_rec_note(struct rec *r, const struct policy_flow *f)
{
	r->last = f->src;
	if (!r->id[0]) {
		memcpy(r->id, f->subscriber, f->subscriber_len);
		r->id[f->subscriber_len] = '\0';
	}
}

void stats_key_addr(uint64_t key, uint32_t kind, struct addr *a)
{
	if (kind == SUB_ID) {
		/* No address in the key: the record's last one says it. */
		memset(a, 0, sizeof(*a));
		return;
	}
	if (!kind) {
		addr_from_v4(a, (uint32_t)key);
		return;
	}
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 8; i++)
		a->b[i] = (uint8_t)(key >> (56 - 8 * i));
}

uint64_t stats_key_hash(const struct stats *st, uint64_t key, uint32_t kind)
{
	return hash_mix64(key ^ st->seed ^
			  (kind == SUB_V6 ? 0x9e3779b97f4a7c15ULL :
			   kind == SUB_ID ? 0xbb67ae8584caa73bULL : 0));
}

uint32_t stats_dst_hash(const struct stats *st, const struct addr *a)
{
	uint64_t hi = be64(a->b), lo = be64(a->b + 8);

	return (uint32_t)(hash_mix64(lo ^ hash_mix64(hi ^ ~st->seed)) >> 32);
}
