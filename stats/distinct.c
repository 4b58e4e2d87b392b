// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Distinct destinations of one window, in 136 bytes.
 *
 * Up to DISTINCT_EXACT (32) destinations the count is exact: their 32-bit
 * hashes are kept and compared (two destinations share a hash with odds
 * of about 1 in 2^32 per pair). The 33rd distinct destination turns the
 * same 128 bytes into a HyperLogLog (Flajolet et al. 2007) of m = 256
 * registers of 4 bits: register = hash's top 8 bits, value = position of
 * the first 1 bit in the other 24, saturated at 15 (enough for about
 * m * 2^14 = 4 million destinations, far beyond any window's).
 *
 * Error: the HLL's relative standard error is 1.04 / sqrt(m) = 6.5%.
 * Below 2.5 m = 640 the estimate is linear counting over the registers
 * (m ln(m / zeros)), whose error is smaller there (about 4.5% at 33, 6%
 * at 640). Stated bound: within 3 standard errors, 19.5%, with
 * probability 99.7% at any count; exact up to 32. tests/check_stats.c
 * checks 100,000 random destinations against it.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

#define REG_MAX 15
#define P 8				/* log2(DISTINCT_M) */

_Static_assert(DISTINCT_M == 1 << P, "m is 2^P");
_Static_assert(sizeof(((struct distinct *)0)->u.h) ==
	       sizeof(((struct distinct *)0)->u.reg), "exact slots fill regs");

void stats_distinct_reset(struct distinct *d)
{
	d->n = 0;
	d->zeros = 0;
	d->sum = 0;
}

static void reg_add(struct distinct *d, uint32_t h)
{
	unsigned j = h >> (32 - P);
	uint32_t w = h << P;
	unsigned rank = w ? (unsigned)__builtin_clz(w) + 1 : 32 - P + 1;
	uint8_t *byte = &d->u.reg[j >> 1];
	unsigned shift = (j & 1) * 4;
	unsigned old = (*byte >> shift) & 0xf;

	if (rank > REG_MAX)
		rank = REG_MAX;
	if (rank <= old)
		return;
	*byte = (uint8_t)((*byte & ~(0xfu << shift)) | (rank << shift));
	d->sum -= 1u << (REG_MAX - old);
	d->sum += 1u << (REG_MAX - rank);
	if (!old)
		d->zeros--;
}

void stats_distinct_add(struct distinct *d, uint32_t h)
{
	uint32_t held[DISTINCT_EXACT];

	if (d->n != DISTINCT_DENSE) {
		for (unsigned i = 0; i < d->n; i++)
			if (d->u.h[i] == h)
				return;
		if (d->n < DISTINCT_EXACT) {
			d->u.h[d->n++] = h;
			return;
		}
		/* The hashes and the registers share their bytes. */
		memcpy(held, d->u.h, sizeof(held));
		memset(d->u.reg, 0, sizeof(d->u.reg));
		d->n = DISTINCT_DENSE;
		d->zeros = DISTINCT_M;
		d->sum = DISTINCT_M << REG_MAX;
		for (unsigned i = 0; i < DISTINCT_EXACT; i++)
			reg_add(d, held[i]);
	}
	reg_add(d, h);
}

uint32_t stats_distinct_estimate(const struct distinct *d)
{
	const double m = DISTINCT_M;
	const double alpha = 0.7213 / (1.0 + 1.079 / m);
	double e;

	if (d->n != DISTINCT_DENSE)
		return d->n;
	e = alpha * m * m * (double)(1u << REG_MAX) / (double)d->sum;
	if (e <= 2.5 * m && d->zeros)
		e = m * log(m / d->zeros);
	return e >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)(e + 0.5);
}
