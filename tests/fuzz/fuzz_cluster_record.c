// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cluster/record under libFuzzer: any bytes as a value read from the
 * shared bucket (any gateway, or anyone with write access to the bucket,
 * wrote it), the first line of the input its key. A value that decodes
 * encodes to one that decodes to the same record; a key that parses is
 * made again from what it says.
 */
#include <string.h>

#include "cluster/cluster.h"
#include "tests/fuzz/fuzz.h"

static void same(const struct cluster_record *a, const struct cluster_record *b)
{
	FUZZ_ASSERT(a->kind == b->kind && a->op == b->op);
	FUZZ_ASSERT(a->by_subscriber == b->by_subscriber);
	FUZZ_ASSERT(!strcmp(a->subject, b->subject));
	FUZZ_ASSERT(!strcmp(a->profile, b->profile));
	FUZZ_ASSERT(!strcmp(a->note, b->note));
	FUZZ_ASSERT(!strcmp(a->gateway, b->gateway));
	FUZZ_ASSERT(a->until == b->until && a->time == b->time);
	FUZZ_ASSERT(a->syns == b->syns && a->distinct == b->distinct);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char key[CLUSTER_KEY_MAX + 2], again[CLUSTER_KEY_MAX + 1];
	char buf[4096], why[200];
	const uint8_t *nl = memchr(data, '\n', size);
	size_t klen = nl ? (size_t)(nl - data) : 0;
	struct cluster_record r, back, k;

	if (klen > CLUSTER_KEY_MAX)
		klen = CLUSTER_KEY_MAX;
	memcpy(key, data, klen);
	key[klen] = '\0';
	memset(&k, 0, sizeof(k));
	if (cluster_key_parse(key, &k) == 0 && strlen(key) == klen) {
		FUZZ_ASSERT(cluster_record_key(&k, again, sizeof(again)) == 0);
		FUZZ_ASSERT(!strcmp(again, key));
	}
	if (nl) {
		/* Past the whole first line, not the key it was cut to. */
		size -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	if (cluster_record_decode((const char *)data, size,
				  nl ? key : NULL, &r, why, sizeof(why)) < 0)
		return 0;
	/* Decoded under the key: it is that key's record. */
	if (nl) {
		FUZZ_ASSERT(cluster_record_key(&r, again, sizeof(again)) == 0);
		FUZZ_ASSERT(!strcmp(again, key));
	}
	{
		int n = cluster_record_encode(&r, buf, sizeof(buf));

		FUZZ_ASSERT(n > 0);
		FUZZ_ASSERT(cluster_record_decode(buf, (size_t)n, NULL, &back,
						  why, sizeof(why)) == 0);
		same(&r, &back);
	}
	return 0;
}
