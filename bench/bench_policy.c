// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_policy: build time, memory and lookup cost of the subscriber
 * prefix table at 10k, 1M and 10M random clustered prefixes per family,
 * with a linear scan at 10k for scale. Not a test: it prints a table.
 *
 * At the largest size it also times policy_load() of a generated policy
 * whose `file:` list holds that many distinct prefixes (written to --dir).
 *
 *   bench_policy [--max N] [--lookups N] [--runs N] [--seed N] [--dir DIR]
 *                [--no-load]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "policy/policy.h"
#include "policy/table.h"

#define NOW 1800000000
#define CLUSTERS 1024

typedef unsigned __int128 u128;

struct opts {
	size_t max;
	size_t lookups;
	unsigned runs;
	uint64_t seed;
	const char *dir;
	bool load;
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

static void key_store(u128 k, unsigned bits, struct addr *a)
{
	unsigned i;

	if (bits == 32) {
		addr_from_v4(a, (uint32_t)k);
		return;
	}
	for (i = 0; i < 16; i++)
		a->b[i] = (uint8_t)(k >> (120 - 8 * i));
}

static u128 key_load(const struct addr *a, unsigned bits)
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
	unsigned nclusters;
	u128 cluster[CLUSTERS];
	struct table_input *in;
	size_t n;
	struct addr *probe;	/* lookup addresses */
	size_t nprobe;
};

/* IPv4: /16../32, most of them /24 or longer, in 64 random /10s.
 * IPv6 as an ISP numbers it: 8 aggregates (/32, one of them
 * 2001:db8::/32), 1024 pools (/40) in them, and in the pools mostly
 * /48../64 with some /128 and a few shorter ones. */
static unsigned pick_len(const struct workload *w)
{
	uint64_t r = next64() % 100;

	if (w->bits == 32)
		return r < 25 ? 16 + (unsigned)(next64() % 17)
			      : 24 + (unsigned)(next64() % 9);
	if (r < 5)
		return 128;
	if (r < 8)
		return 32 + (unsigned)(next64() % 16);
	return 48 + (unsigned)(next64() % 17);
}

static u128 in_cluster(const struct workload *w)
{
	u128 host = (u128)next64() << 64 | next64();

	return w->cluster[next64() % w->nclusters] |
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
	w->nclusters = family == AF_INET ? 64 : CLUSTERS;
	for (i = 0; i < w->nclusters; i++) {
		u128 c = (u128)next64() << 64 | next64();

		if (w->bits == 128) {
			/* Aggregate i % 8: its /32 from the seed, then 2000::/3. */
			uint64_t seed = seed_state;
			u128 agg;

			seed_state = 0x9e3779b97f4a7c15ULL * (i % 8 + 1);
			agg = i % 8 ? (u128)(0x20000000 | (next64() & 0x1fffffff)) << 96
				    : (u128)0x20010db8 << 96;
			seed_state = seed;
			c = agg | (c & ~netmask(32, 128));
		}
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

/* The probes a burst of BURST SYNs at a time, as the verdict thread
 * judges them (table_lookup_many): median ns per lookup. */
#define BURST 64

static double time_lookups_many(const struct table *t,
				 const struct workload *w, unsigned runs)
{
	const struct addr *a[BURST];
	uint16_t prof[BURST];
	int32_t ids[BURST];
	double ns[64], t0;
	unsigned r;
	size_t i, k, m;
	int64_t sum;

	for (r = 0; r < runs; r++) {
		sum = 0;
		t0 = now_s();
		for (i = 0; i < w->nprobe; i += m) {
			m = w->nprobe - i < BURST ? w->nprobe - i : BURST;
			for (k = 0; k < m; k++)
				a[k] = &w->probe[i + k];
			table_lookup_many(t, a, m, NOW, ids, prof);
			for (k = 0; k < m; k++)
				sum += ids[k];
		}
		ns[r] = (now_s() - t0) * 1e9 / (double)w->nprobe;
		sink = sum;
	}
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
	printf("| %-4s | %-14s | %10zu | %10zu | %10s | %10s | %8s | %9s | %5s |\n",
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
	ns = time_lookups_many(t, &w, o->runs);
	row_print(fam, "table, bursts", n, table_count(t), -1, 0, ns, hits);
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

static int list_write(const char *path, const struct table *t,
		      const uint32_t *ids, size_t n)
{
	struct table_entry e;
	char addr[64];
	FILE *f;
	size_t i;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs("# generated by bench_policy\n", f);
	for (i = 0; i < n; i++) {
		table_entry_get(t, (int32_t)ids[i], &e);
		fprintf(f, "%s/%u\n",
			addr_format(&e.addr, addr, sizeof(addr)), e.len);
	}
	return fclose(f);
}

/*
 * policy_load() of a policy with one `file:` list of n distinct prefixes
 * (the loader refuses duplicates): a quarter more random ones are drawn,
 * the table drops the repeats, n of the rest are written in random order.
 */
static int bench_load(int family, size_t n, const struct opts *o)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	struct policy_errors errs = { 0 };
	char list[4096], yaml[4096];
	struct workload w;
	struct policy *p = NULL;
	struct table *t = NULL;
	uint32_t *ids = NULL;
	struct addr *probe = NULL;
	size_t i, count, nprobe = 0;
	double t0, ms, ns[64];
	FILE *f;
	int ret = -1;

	snprintf(list, sizeof(list), "%s/bench_policy.list", o->dir);
	snprintf(yaml, sizeof(yaml), "%s/bench_policy.yaml", o->dir);
	if (workload_make(&w, family, n + n / 4, o->lookups) < 0 ||
	    (t = table_build(family, w.in, w.n, NULL, NULL)) == NULL ||
	    (ids = malloc(table_count(t) * sizeof(*ids))) == NULL) {
		fprintf(stderr, "bench_policy: out of memory\n");
		goto out;
	}
	count = table_count(t);
	for (i = 0; i < count; i++)
		ids[i] = (uint32_t)i;
	for (i = count; i > 1; i--) {
		size_t j = next64() % i;
		uint32_t x = ids[i - 1];

		ids[i - 1] = ids[j];
		ids[j] = x;
	}
	if (count > n)
		count = n;
	if (list_write(list, t, ids, count) < 0 ||
	    (f = fopen(yaml, "w")) == NULL) {
		fprintf(stderr, "bench_policy: %s: %s\n", o->dir, strerror(errno));
		goto out;
	}
	fprintf(f, "version: 1\nprofiles:\n  residential:\n"
		   "    ports: { 25: reject, 465: accept, 587: accept }\n"
		   "subscribers:\n"
		   "  - { file: bench_policy.list, profile: residential }\n");
	fclose(f);
	/* Keep the probes for policy_decide; free the rest of the generator
	 * first: the load alone is measured. */
	nprobe = w.nprobe;
	probe = malloc(nprobe * sizeof(*probe));
	if (!probe) {
		fprintf(stderr, "bench_policy: out of memory\n");
		goto out;
	}
	memcpy(probe, w.probe, nprobe * sizeof(*probe));
	table_free(t);
	t = NULL;
	free(ids);
	ids = NULL;
	workload_free(&w);
	memset(&w, 0, sizeof(w));

	t0 = now_s();
	p = policy_load(yaml, &errs);
	ms = (now_s() - t0) * 1e3;
	if (p == NULL) {
		fprintf(stderr, "bench_policy: policy_load failed:\n");
		for (i = 0; i < errs.count && i < 5; i++)
			fprintf(stderr, "  %s\n", errs.msg[i]);
		goto out;
	}
	/* Loaded means every prefix was taken: they are distinct. */
	row_print(fam, "policy_load", count, count, ms, 0, -1, -1);

	/* The whole decision a SYN gets: relay check, lookup, profile. */
	{
		struct policy_flow fl = { .dport = 25 };
		struct policy_decision d;
		size_t hits = 0;
		int64_t sum;

		addr_parse(family == AF_INET ? "203.0.113.9"
						    : "2001:db8:ffff::9",
				  &fl.dst);
		for (unsigned r = 0; r < o->runs; r++) {
			sum = 0;
			hits = 0;
			t0 = now_s();
			for (i = 0; i < nprobe; i++) {
				fl.src = probe[i];
				policy_decide(p, &fl, NOW, false, &d);
				sum += d.action;
				hits += d.entry >= 0;
			}
			ns[r] = (now_s() - t0) * 1e9 / (double)nprobe;
			sink = sum;
		}
		qsort(ns, o->runs, sizeof(ns[0]), cmp_double);
		row_print(fam, "policy_decide", count, count, -1, 0,
			  ns[o->runs / 2], (double)hits / (double)nprobe);
	}
	/* The same decisions a burst at a time, as the verdict thread
	 * makes them (policy_decide_many). */
	{
		struct policy_flow fl[BURST] = { 0 };
		struct policy_decision d[BURST];
		const struct policy_flow *fp[BURST];
		struct policy_decision *dp[BURST];
		size_t hits = 0, k, m;
		int64_t sum;

		for (k = 0; k < BURST; k++) {
			fl[k].dport = 25;
			addr_parse(family == AF_INET ? "203.0.113.9"
							    : "2001:db8:ffff::9",
					  &fl[k].dst);
			fp[k] = &fl[k];
			dp[k] = &d[k];
		}
		for (unsigned r = 0; r < o->runs; r++) {
			sum = 0;
			hits = 0;
			t0 = now_s();
			for (i = 0; i < nprobe; i += m) {
				m = nprobe - i < BURST ? nprobe - i : BURST;
				for (k = 0; k < m; k++)
					fl[k].src = probe[i + k];
				policy_decide_many(p, fp, m, NOW, dp);
				for (k = 0; k < m; k++) {
					sum += d[k].action;
					hits += d[k].entry >= 0;
				}
			}
			ns[r] = (now_s() - t0) * 1e9 / (double)nprobe;
			sink = sum;
		}
		qsort(ns, o->runs, sizeof(ns[0]), cmp_double);
		row_print(fam, "decide, bursts", count, count, -1, 0,
			  ns[o->runs / 2], (double)hits / (double)nprobe);
	}
	ret = 0;
out:
	free(probe);
	policy_free(p);
	policy_errors_free(&errs);
	table_free(t);
	free(ids);
	workload_free(&w);
	unlink(list);
	unlink(yaml);
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_policy [--max N] [--lookups N] "
			"[--runs N (1..64)] [--seed N] [--dir DIR] [--no-load]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max", required_argument, NULL, 'm' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "runs", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ "no-load", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const size_t sizes[] = { 10000, 1000000, 10000000 };
	static const int families[] = { AF_INET, AF_INET6 };
	struct opts o = { 10000000, 1000000, 5, 1, "/tmp", true };
	size_t i, f;
	int c;

	while ((c = getopt_long(argc, argv, "m:l:r:s:d:nh", longopts, NULL)) != -1) {
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
		case 'd':
			o.dir = optarg;
			break;
		case 'n':
			o.load = false;
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
	printf("| fam  | what           |     inputs |    entries |   build ms |"
	       "     memory |  B/entry | ns/lookup |  hits |\n");
	printf("|------|----------------|-----------:|-----------:|-----------:|"
	       "-----------:|---------:|----------:|------:|\n");
	for (f = 0; f < 2; f++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (sizes[i] <= o.max &&
			    bench_family(families[f], sizes[i], &o) < 0)
				return 1;
		for (i = 0; o.load && i < sizeof(sizes) / sizeof(sizes[0]); i++)
			if (sizes[i] >= 1000000 && sizes[i] <= o.max &&
			    bench_load(families[f], sizes[i], &o) < 0)
				return 1;
	}
	printf("\ninputs: prefixes given (random, so some given twice; for "
	       "policy_load distinct, as the loader requires); entries: after "
	       "duplicates.\nbuild ms: table_build(), or for policy_load the "
	       "whole load (YAML, list file, checks, build).\npolicy_decide: "
	       "the whole decision (relay, lookup, profile port) on the loaded "
	       "policy, the same kind of probes.\ntable, bursts and decide, "
	       "bursts: the same lookups or decisions %d at a time, interleaved (table_lookup_many, "
	       "policy_decide_many), as the verdict thread makes them.\n",
	       BURST);
	return 0;
}
