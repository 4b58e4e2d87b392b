/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hashing for the open-addressing tables (stats/, blocklog/). */
#ifndef PORTCULLIS_HASH_H
#define PORTCULLIS_HASH_H

#include <stdint.h>

/* The finaliser of MurmurHash3: every input bit moves every output bit,
 * so the low bits of the result can pick a slot. */
static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

#endif
