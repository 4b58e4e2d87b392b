// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The subscriber prefix table: a sorted array of disjoint ranges, each
 * owned by the longest entry covering it. The algorithm is written once
 * in table_impl.h and instantiated for 32-bit (IPv4) and 128-bit (IPv6)
 * keys; this file holds what does not depend on the key: checking and
 * sorting the input, origins, and the public functions.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "table.h"

/*
 * Ids are below 2^30, so a range owner has a bit for OWNER_EXPIRES; there
 * are at most 2n + 1 ranges, so a slot holds a range or SLOT_CHILD | node.
 */
#define TABLE_MAX_ENTRIES (((size_t)1 << 30) - 1)
#define OWNER_EXPIRES 0x40000000
#define SLOT_CHILD 0x80000000u
/*
 * A slot holding more than LEAF_RANGES ranges gets a child node; a child
 * has about one slot per SLOT_RANGES ranges, the root one per ROOT_RANGES
 * so that it stays in cache. Chosen with bench_policy (10M prefixes: a
 * flat index of nranges/4 slots, or smaller leaves, were slower).
 */
#define LEAF_RANGES 16
#define SLOT_RANGES 4
#define ROOT_RANGES 64
/* Lookups in flight at once in table_lookup_many(): enough for the
 * core's outstanding misses (bench_policy, 10M prefixes, ns per lookup
 * IPv4/IPv6, one run: 8 gave 89/127, 16 66/99, 32 57/86, 64 54/83). */
#define MANY_CHUNK 32
/* Up to this many ranges (a table of 10,000 prefixes has about 20,000)
 * the lookups run one by one even in table_lookup_many(): bench_policy at
 * 10k prefixes, ns per lookup IPv4/IPv6: interleaved 39/70, plain 30/43. */
#define MANY_MIN_RANGES 65536

/* The phases of a lookup in steps (table_impl.h: struct cursor). */
enum { LK_NODE, LK_SLOT, LK_HI, LK_SEARCH, LK_DONE };

/* Ask for the cache lines of len bytes at a. */
static inline void prefetch_span(const void *a, size_t len)
{
	const char *p = (const char *)((uintptr_t)a & ~(uintptr_t)63);
	const char *end = (const char *)a + len;

	for (; p < end; p += 64)
		__builtin_prefetch(p);
}

/* Origins of the entries that keep one, ascending by id. */
struct table_origin {
	uint32_t id;
	uint32_t origin;
};

static inline bool same_prefix(const struct table_input *a,
			       const struct table_input *b)
{
	return a->len == b->len && memcmp(&a->addr, &b->addr, sizeof(a->addr)) == 0;
}

static inline uint32_t key4_from(const struct addr *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 |
	       (uint32_t)a->b[14] << 8 | a->b[15];
}

static inline void key4_to(uint32_t k, struct addr *a)
{
	addr_from_v4(a, k);
}

typedef unsigned __int128 u128;

static inline u128 key6_from(const struct addr *a)
{
	uint64_t hi, lo;

	memcpy(&hi, a->b, 8);
	memcpy(&lo, a->b + 8, 8);
	return (u128)be64toh(hi) << 64 | be64toh(lo);
}

static inline void key6_to(u128 k, struct addr *a)
{
	uint64_t hi = htobe64((uint64_t)(k >> 64)), lo = htobe64((uint64_t)k);

	memcpy(a->b, &hi, 8);
	memcpy(a->b + 8, &lo, 8);
}

static inline unsigned clz128(u128 k)
{
	uint64_t hi = (uint64_t)(k >> 64);

	return hi ? (unsigned)__builtin_clzll(hi)
		  : 64 + (unsigned)__builtin_clzll((uint64_t)k);
}

#define KEY_T uint32_t
#define KEY_BITS 32
#define KEY_CLZ(k) ((unsigned)__builtin_clz(k))
#define KEY_FROM(a) key4_from(a)
#define KEY_TO(k, a) key4_to(k, a)
#define NAME(x) x##4
#include "table_impl.h"

#define KEY_T u128
#define KEY_BITS 128
#define KEY_CLZ(k) clz128(k)
#define KEY_FROM(a) key6_from(a)
#define KEY_TO(k, a) key6_to(k, a)
#define NAME(x) x##6
#include "table_impl.h"

struct table {
	int family;
	struct table_origin *origins;
	size_t norigins;
	union {
		struct tab4 v4;
		struct tab6 v6;
	};
};

/*
 * Sorting: a stable MSD radix sort on the 17 bytes (address, length) of
 * the inputs. Stable, so of two equal prefixes the one given first stays
 * first and is the one kept. Clustered inputs share leading bytes; a
 * digit all inputs share costs one counting pass and no move.
 */
#define SORT_SMALL 32
#define SORT_DIGITS 17

static inline unsigned input_digit(const struct table_input *x, unsigned d)
{
	return d < 16 ? x->addr.b[d] : x->len;
}

/* Order of x and y, which are equal in the digits before d. */
static int input_cmp(const struct table_input *x,
		     const struct table_input *y, unsigned d)
{
	int c = d < 16 ? memcmp(x->addr.b + d, y->addr.b + d, 16 - d) : 0;

	return c ? c : (int)x->len - (int)y->len;
}

static void insertion_sort(struct table_input *a, size_t n, unsigned d)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct table_input x = a[i];

		for (j = i; j && input_cmp(&a[j - 1], &x, d) > 0; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/* Sort a[0..n), equal in the digits before d; tmp is scratch of n. */
static void radix_sort(struct table_input *a, struct table_input *tmp,
		       size_t n, unsigned d)
{
	size_t count[256], pos[256], i, off;

	for (;; d++) {
		if (d == SORT_DIGITS)
			return;
		if (n <= SORT_SMALL) {
			insertion_sort(a, n, d);
			return;
		}
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[input_digit(&a[i], d)]++;
		if (count[input_digit(&a[0], d)] != n)
			break;
	}
	for (off = 0, i = 0; i < 256; i++) {
		pos[i] = off;
		off += count[i];
	}
	for (i = 0; i < n; i++)
		tmp[pos[input_digit(&a[i], d)]++] = a[i];
	memcpy(a, tmp, n * sizeof(*a));
	for (off = 0, i = 0; i < 256; off += count[i], i++)
		if (count[i] > 1)
			radix_sort(a + off, tmp + off, count[i], d + 1);
}

/* Clear the host bits of x, whose address bits start at bit skip. */
static void input_mask(struct table_input *x, unsigned skip)
{
	unsigned bit = skip + x->len, i = bit / 8;

	if (bit % 8)
		x->addr.b[i++] &= (uint8_t)(0xff << (8 - bit % 8));
	if (i < 16)
		memset(x->addr.b + i, 0, 16 - i);
}

/* Check family and lengths, clear host bits; returns the number that
 * keep their origin, or -1 with errno EINVAL. */
static ssize_t input_check(int family, struct table_input *in, size_t n)
{
	unsigned bits = family == AF_INET ? 32 : 128;
	size_t i, keep = 0;

	for (i = 0; i < n; i++) {
		if (in[i].len > bits ||
		    (family == AF_INET && !addr_is_v4(&in[i].addr))) {
			errno = EINVAL;
			return -1;
		}
		input_mask(&in[i], 128 - bits);
		keep += in[i].keep_origin != 0;
	}
	return (ssize_t)keep;
}

struct table *table_build(int family, struct table_input *in, size_t n,
			  table_dup_fn dup, void *ctx)
{
	struct table *t = NULL, *ret = NULL;
	struct table_input *tmp = NULL;
	ssize_t keep;
	int rc;

	if (family != AF_INET && family != AF_INET6) {
		errno = EINVAL;
		return NULL;
	}
	if (n > TABLE_MAX_ENTRIES) {
		errno = ENOMEM;
		return NULL;
	}
	if ((keep = input_check(family, in, n)) < 0)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto out;
	t->family = family;
	if (keep && (t->origins = malloc(keep * sizeof(*t->origins))) == NULL)
		goto out;
	if (n > SORT_SMALL && (tmp = malloc(n * sizeof(*tmp))) == NULL)
		goto out;
	/* IPv4 inputs all share the 12 bytes of the v4-mapped prefix. */
	radix_sort(in, tmp, n, family == AF_INET ? 12 : 0);
	free(tmp);
	tmp = NULL;

	if (family == AF_INET)
		rc = build4(&t->v4, in, n, dup, ctx, t->origins, &t->norigins);
	else
		rc = build6(&t->v6, in, n, dup, ctx, t->origins, &t->norigins);
	if (rc < 0)
		goto out;
	ret = t;
	t = NULL;
out:
	if (ret == NULL)
		errno = ENOMEM;
	free(tmp);
	table_free(t);
	return ret;
}

int32_t table_lookup(const struct table *t, const struct addr *a,
		     int64_t now)
{
	uint16_t profile;

	return table_lookup_profile(t, a, now, &profile);
}

int32_t table_lookup_profile(const struct table *t,
			     const struct addr *a, int64_t now,
			     uint16_t *profile)
{
	if (t->family == AF_INET)
		return lookup4(&t->v4, key4_from(a), now, profile);
	return lookup6(&t->v6, key6_from(a), now, profile);
}

static void lookup_many(const struct table *t,
			const struct addr *const *a, size_t n,
			int64_t now, int32_t *ids, uint16_t *profiles,
			bool always)
{
	if (t->family == AF_INET)
		lookup_many4(&t->v4, a, n, now, ids, profiles, always);
	else
		lookup_many6(&t->v6, a, n, now, ids, profiles, always);
}

void table_lookup_many(const struct table *t,
		       const struct addr *const *a, size_t n,
		       int64_t now, int32_t *ids, uint16_t *profiles)
{
	lookup_many(t, a, n, now, ids, profiles, false);
}

void table_lookup_interleaved(const struct table *t,
			      const struct addr *const *a, size_t n,
			      int64_t now, int32_t *ids, uint16_t *profiles)
{
	lookup_many(t, a, n, now, ids, profiles, true);
}

size_t table_count(const struct table *t)
{
	return t->family == AF_INET ? t->v4.n : t->v6.n;
}

uint16_t table_profile(const struct table *t, int32_t id)
{
	return t->family == AF_INET ? t->v4.e[id].profile : t->v6.e[id].profile;
}

void table_entry_prefetch(const struct table *t, int32_t id)
{
	if (id < 0 || (size_t)id >= table_count(t))
		return;
	if (t->family == AF_INET)
		prefetch_span(&t->v4.e[id], sizeof(t->v4.e[id]));
	else
		prefetch_span(&t->v6.e[id], sizeof(t->v6.e[id]));
}

static uint32_t origin_find(const struct table *t, uint32_t id)
{
	size_t lo = 0, hi = t->norigins;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->origins[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->norigins && t->origins[lo].id == id
		       ? t->origins[lo].origin
		       : TABLE_NO_ORIGIN;
}

int table_entry_get(const struct table *t, int32_t id, struct table_entry *e)
{
	bool keep;

	if (id < 0 || (size_t)id >= table_count(t)) {
		errno = EINVAL;
		return -1;
	}
	memset(e, 0, sizeof(*e));
	if (t->family == AF_INET)
		keep = get4(&t->v4, id, e);
	else
		keep = get6(&t->v6, id, e);
	e->origin = keep ? origin_find(t, (uint32_t)id) : TABLE_NO_ORIGIN;
	return 0;
}

int table_entry_prefix(const struct table *t, int32_t id,
		       struct addr *addr, uint8_t *len)
{
	if (id < 0 || (size_t)id >= table_count(t)) {
		errno = EINVAL;
		return -1;
	}
	if (t->family == AF_INET) {
		key4_to(t->v4.e[id].key, addr);
		*len = t->v4.e[id].len;
	} else {
		key6_to(t->v6.e[id].key, addr);
		*len = t->v6.e[id].len;
	}
	return 0;
}

size_t table_memory(const struct table *t)
{
	return sizeof(*t) + t->norigins * sizeof(*t->origins) +
	       (t->family == AF_INET ? memory4(&t->v4) : memory6(&t->v6));
}

void table_free(struct table *t)
{
	if (t == NULL)
		return;
	if (t->family == AF_INET)
		free4(&t->v4);
	else
		free6(&t->v6);
	free(t->origins);
	free(t);
}
