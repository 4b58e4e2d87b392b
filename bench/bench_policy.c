// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_policy: build time, memory and lookup cost of the subscriber
 * prefix table at 10k, 1M and 10M random clustered prefixes per family,
 * with a linear scan at 10k for scale. Not a test: it prints a table.
 *
 *   bench_policy [--max N] [--lookups N] [--runs N] [--seed N]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "policy/table.h"

#define NOW 1800000000
#define CLUSTERS 64

typedef unsigned __int128 u128;

struct opts {
	size_t max;
	size_t lookups;
	unsigned runs;
	uint64_t seed;
};

static uint64_t seed_state;

/* xorshift64*: fast, good enough to scatter addresses. */
static uint64_t next64(void)
{
	seed_state ^= seed_state >> 12;
	seed_state ^= seed_state << 25;
	seed_state ^= seed_state >> 27;
	return seed_state * 0x2545f4914f6cdd1dULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Bits [0, bits) of family-width keys; IPv4 keys live in the low 32. */
static u128 netmask(unsigned len, unsigned bits)
{
	u128 ones = ~(u128)0 >> (128 - bits);

	return len ? ones & (ones << (bits - len)) : 0;
}

static void key_store(u128 k, unsigned bits, struct policy_addr *a)
{
	unsigned i;

	if (bits == 32) {
		policy_addr_from_v4(a, (uint32_t)k);
		return;
	}
	for (i = 0; i < 16; i++)
		a->b[i] = (uint8_t)(k >> (120 - 8 * i));
}

static u128 key_load(const struct policy_addr *a, unsigned bits)
{
	u128 k = 0;
	unsigned i;

	for (i = 16 - bits / 8; i < 16; i++)
		k = k << 8 | a->b[i];
	return k;
}

struct workload {
	int family;
	unsigned bits;
	unsigned cluster_len;
	u128 cluster[CLUSTERS];
	struct table_input *in;
	size_t n;
	struct policy_addr *probe;	/* lookup addresses */
	size_t nprobe;
};

/* IPv4: /16../32, most of them /24 or longer, in 64 random /10s.
 * IPv6: /32../64 and some /128, in /40s mostly inside 2001:db8::/32. */
static unsigned pick_len(const struct workload *w)
{
	uint64_t r = next64() % 100;

	if (w->bits == 32)
		return r < 25 ? 16 + (unsigned)(next64() % 17)
			      : 24 + (unsigned)(next64() % 9);
	if (r < 5)
		return 128;
	return 32 + (unsigned)(next64() % 33);
}

static u128 in_cluster(const struct workload *w)
{
	u128 host = (u128)next64() << 64 | next64();

	return w->cluster[next64() % CLUSTERS] |
	       (host & ~netmask(w->cluster_len, w->bits) &
		netmask(w->bits, w->bits));
}

static int workload_make(struct workload *w, int family, size_t n,
			 size_t nprobe)
{
	size_t i;

	memset(w, 0, sizeof(*w));
	w->family = family;
	w->bits = family == AF_INET ? 32 : 128;
	w->cluster_len = family == AF_INET ? 10 : 40;
	for (i = 0; i < CLUSTERS; i++) {
		u128 c = (u128)next64() << 64 | next64();

		if (w->bits == 128 && i % 8 != 0)
			c = (u128)0x20010db8 << 96 | (c & ~netmask(32, 128));
		w->cluster[i] = c & netmask(w->cluster_len, w->bits);
	}
	w->n = n;
	w->nprobe = nprobe;
	w->in = calloc(n ? n : 1, sizeof(*w->in));
	w->probe = calloc(nprobe, sizeof(*w->probe));
	if (w->in == NULL || w->probe == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		struct table_input *x = &w->in[i];

		x->len = (uint8_t)pick_len(w);
		key_store(in_cluster(w) & netmask(x->len, w->bits), w->bits,
			  &x->addr);
		x->profile = (uint16_t)(next64() % 4);
		/* One in ten expires, half of those already before NOW. */
		x->expires = next64() % 10 ? 0
					   : NOW - 3600 + (uint32_t)(next64() % 7200);
		x->origin = (uint32_t)i;
		x->keep_origin = next64() % 100 == 0;
	}
	/* Half inside a listed prefix, half anywhere in the clusters. */
	for (i = 0; i < nprobe; i++) {
		if (n && i % 2 == 0) {
			const struct table_input *x = &w->in[next64() % n];
			u128 host = (u128)next64() << 64 | next64();

			key_store(key_load(&x->addr, w->bits) |
				  (host & ~netmask(x->len, w->bits) &
				   netmask(w->bits, w->bits)),
				  w->bits, &w->probe[i]);
		} else {
			key_store(in_cluster(w), w->bits, &w->probe[i]);
		}
	}
	return 0;
}

static void workload_free(struct workload *w)
{
	free(w->in);
	free(w->probe);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static volatile int64_t sink;

/* Median ns per lookup over runs passes of the whole probe batch. */
static double time_lookups(const struct table *t, const struct workload *w,
			   unsigned runs, double *hit_rate)
{
	double ns[64], t0;
	unsigned r;
	size_t i, hits = 0;
	int64_t sum;

	for (r = 0; r < runs; r++) {
		sum = 0;
		hits = 0;
		t0 = now_s();
		for (i = 0; i < w->nprobe; i++) {
			int32_t id = table_lookup(t, &w->probe[i], NOW);

			sum += id;
			hits += id >= 0;
		}
		ns[r] = (now_s() - t0) * 1e9 / (double)w->nprobe;
		sink = sum;
	}
	*hit_rate = (double)hits / (double)w->nprobe;
	qsort(ns, runs, sizeof(ns[0]), cmp_double);
	return ns[runs / 2];
}

/* The obvious way, for scale: every prefix, one after the other. */
static double time_linear(const struct workload *w, size_t nprobe)
{
	u128 *key = malloc(w->n * sizeof(*key)), *mask = malloc(w->n * sizeof(*mask));
	double t0, ns;
	size_t i, j;
	int64_t sum = 0;

	if (key == NULL || mask == NULL) {
		free(key);
		free(mask);
		return -1;
	}
	for (i = 0; i < w->n; i++) {
		key[i] = key_load(&w->in[i].addr, w->bits);
		mask[i] = netmask(w->in[i].len, w->bits);
	}
	t0 = now_s();
	for (i = 0; i < nprobe; i++) {
		u128 k = key_load(&w->probe[i], w->bits);
		int best = -1;

		for (j = 0; j < w->n; j++)
			if ((k & mask[j]) == key[j] &&
			    (w->in[j].expires == 0 || w->in[j].expires > NOW) &&
			    (best < 0 || w->in[j].len > w->in[best].len))
				best = (int)j;
		sum += best;
	}
	ns = (now_s() - t0) * 1e9 / (double)nprobe;
	sink = sum;
	free(key);
	free(mask);
	return ns;
}

static void row_print(const char *family, const char *what, size_t n,
		      size_t entries, double build_ms, size_t bytes,
		      double ns, double hits)
{
	char mem[32] = "-", per[32] = "-", bld[32] = "-", look[32] = "-",
	     hit[32] = "-";

	if (bytes) {
		snprintf(mem, sizeof(mem), "%.1f MiB", (double)bytes / 1048576.0);
		snprintf(per, sizeof(per), "%.1f", (double)bytes / (double)entries);
	}
	if (build_ms >= 0)
		snprintf(bld, sizeof(bld), "%.1f", build_ms);
	if (ns >= 0)
		snprintf(look, sizeof(look), "%.1f", ns);
	if (hits >= 0)
		snprintf(hit, sizeof(hit), "%.0f%%", hits * 100);
	printf("| %-4s | %-12s | %10zu | %10zu | %10s | %10s | %8s | %9s | %5s |\n",
	       family, what, n, entries, bld, mem, per, look, hit);
}

static int bench_family(int family, size_t n, const struct opts *o)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	struct workload w;
	struct table *t;
	double t0, build_ms, ns, hits;
	int ret = -1;

	if (workload_make(&w, family, n, o->lookups) < 0) {
		fprintf(stderr, "bench_policy: out of memory at %zu\n", n);
		goto out;
	}
	t0 = now_s();
	t = table_build(family, w.in, w.n, NULL, NULL);
	build_ms = (now_s() - t0) * 1e3;
	if (t == NULL) {
		fprintf(stderr, "bench_policy: table_build: %s\n", strerror(errno));
		goto out;
	}
	ns = time_lookups(t, &w, o->runs, &hits);
	row_print(fam, "table", n, table_count(t), build_ms, table_memory(t),
		  ns, hits);
	table_free(t);
	if (n <= 10000) {
		/* Linear is ~n times slower: fewer lookups are enough. */
		ns = time_linear(&w, w.nprobe < 20000 ? w.nprobe : 20000);
		row_print(fam, "linear scan", n, n, -1, 0, ns, -1);
	}
	ret = 0;
out:
	workload_free(&w);
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_policy [--max N] [--lookups N] "
			"[--runs N (1..64)] [--seed N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max", required_argument, NULL, 'm' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "runs", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const size_t sizes[] = { 10000, 1000000, 10000000 };
	static const int families[] = { AF_INET, AF_INET6 };
	struct opts o = { 10000000, 1000000, 5, 1 };
	size_t i, f;
	int c;

	while ((c = getopt_long(argc, argv, "m:l:r:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			o.max = strtoull(optarg, NULL, 0);
			break;
		case 'l':
			o.lookups = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			o.runs = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 's':
			o.seed = strtoull(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (o.runs < 1 || o.runs > 64 || o.lookups < 1 || optind != argc)
		usage();
	seed_state = o.seed ? o.seed : 1;

	printf("portcullis bench_policy: %zu lookups a run, median of %u runs; "
	       "half the lookups inside a listed prefix, half anywhere in the "
	       "clusters; 1 in 10 entries expires (half already expired)\n\n",
	       o.lookups, o.runs);
	printf("| fam  | what         |     inputs |    entries |   build ms |"
	       "     memory |  B/entry | ns/lookup |  hits |\n");
	printf("|------|--------------|-----------:|-----------:|-----------:|"
	       "-----------:|---------:|----------:|------:|\n");
	for (f = 0; f < 2; f++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (sizes[i] <= o.max &&
			    bench_family(families[f], sizes[i], &o) < 0)
				return 1;
	printf("\ninputs: prefixes given (random, so some given twice); "
	       "entries: after duplicates. policy_load/policy_decide: not "
	       "measured (see report).\n");
	return 0;
}
