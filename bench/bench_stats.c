// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_stats: memory per tracked subscriber and ns per stats_syn() at
 * 1M and 10M subscribers. Not a test: it prints a table.
 *
 *   bench_stats [--sizes 1000000,10000000] [--syns N] [--runs N]
 *               [--seed N] [--no-log]
 *
 * Per size: open stats with that cap, then
 *   fill     one 587 SYN from each of N new subscribers (inserts);
 *   mixed    --syns SYNs, median of --runs: 90% to 587/465 from any
 *            subscriber (accepted), 10% to 25 from the 1% that send
 *            mail directly, half of them business (accepted, 8 relays'
 *            worth of destinations), half residential (rejected, random
 *            destinations: they cross the detection thresholds and are
 *            quarantined), block lines to a writer thread on /dev/null;
 *   2 thr    the mixed load from two verdict threads at once (wall time
 *            over all SYNs: the aggregate cost);
 *   evict    SYNs from subscribers never seen, each evicting one;
 *   hot      the mixed load over 1,000 subscribers (cache-resident).
 * Memory: bytes stats_open() allocated over the cap (all-in: entries,
 * index, window records), and resident growth after the fill over N.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocklog/blocklog.h"
#include "policy/policy.h"
#include "stats/stats.h"

#define T0 1800000000000LL
#define SUB_BASE 0x0a000000u		/* 10.0.0.0/8 and up: room for 10M+ */
#define MAX_RUNS 32

struct opts {
	size_t sizes[8];
	unsigned nsizes;
	size_t syns;
	unsigned runs;
	uint64_t seed;
	bool no_log;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t next64(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static size_t rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f = fopen("/proc/self/statm", "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%lu %lu", &size, &resident);
	fclose(f);
	return n == 2 ? resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct load {
	struct stats *st;
	unsigned thread;
	size_t subs;			/* subscribers to pick from */
	size_t syns;
	uint64_t seed;
	int64_t t0;
	double secs;
};

/* One SYN of the mixed load. */
static void mixed_syn(struct load *l, uint64_t r, size_t i)
{
	struct policy_decision d = { POLICY_ACCEPT, POLICY_ACCEPT,
				     POLICY_REASON_PORT, 0, 0, -1 };
	struct policy_flow f = { 0 };
	size_t direct = l->subs / 100 ? l->subs / 100 : 1;
	uint32_t sub, dst;

	if (r % 10) {
		sub = (uint32_t)((r >> 8) % l->subs);
		f.dport = r & 0x100000 ? 465 : 587;
		dst = 0xc6336400u + (uint32_t)(r >> 40) % 16;
	} else {
		sub = (uint32_t)((r >> 8) % direct);
		f.dport = 25;
		if (sub & 1) {
			d.action = d.verdict = POLICY_REJECT;
			dst = (uint32_t)(r >> 32);
		} else {
			dst = 0xc6330000u + (uint32_t)(r >> 40) % 8;
		}
	}
	addr_from_v4(&f.src, SUB_BASE + sub);
	addr_from_v4(&f.dst, dst);
	stats_syn(l->st, l->thread, NULL, &f, l->t0 + (int64_t)(i / 1000),
		  &d);
}

static void *mixed_main(void *arg)
{
	struct load *l = arg;
	uint64_t s = l->seed;
	double t = now_s();

	for (size_t i = 0; i < l->syns; i++)
		mixed_syn(l, next64(&s), i);
	l->secs = now_s() - t;
	return NULL;
}

static double fill(struct stats *st, size_t from, size_t n, int64_t t0)
{
	struct policy_decision d = { POLICY_ACCEPT, POLICY_ACCEPT,
				     POLICY_REASON_PORT, 0, 0, -1 };
	struct policy_flow f = { 0 };
	double t = now_s();

	f.dport = 587;
	addr_from_v4(&f.dst, 0xc6336401u);
	for (size_t i = 0; i < n; i++) {
		addr_from_v4(&f.src, SUB_BASE + (uint32_t)(from + i));
		stats_syn(st, 0, NULL, &f, t0 + (int64_t)(i / 1000), &d);
	}
	return (now_s() - t) * 1e9 / (double)n;
}

static int bench_size(const struct opts *o, size_t n)
{
	struct stats_config cfg = {
		.threads = 2,
		.max_subscribers = n,
		.log_per_subscriber = 10,
		.log_per_subscriber_s = 60,
	};
	struct blocklog_config bc = { .path = "/dev/null",
				      .producers = stats_log_producers(2),
				      .ring_slots = 1 << 14 };
	double ns_mixed[MAX_RUNS], ns_two[MAX_RUNS], ns_hot[MAX_RUNS];
	double ns_fill, ns_evict;
	struct stats_counters c;
	struct blocklog *bl;
	struct stats *st;
	size_t rss0, rss1;
	int64_t t0 = T0;

	cfg.detection.enabled = true;
	cfg.detection.ports[0] = 25;
	cfg.detection.nports = 1;
	cfg.detection.window_s = 60;
	cfg.detection.syns = 100;
	cfg.detection.distinct_destinations = 20;
	cfg.detection.quarantine = true;
	cfg.detection.quarantine_for_s = 3600;
	cfg.seed = o->seed;

	bl = o->no_log ? NULL : blocklog_open(&bc);
	if (!bl && !o->no_log) {
		fprintf(stderr, "bench_stats: blocklog: %s\n", strerror(errno));
		return -1;
	}
	rss0 = rss_bytes();
	st = stats_open(&cfg, bl);
	if (!st) {
		fprintf(stderr, "bench_stats: stats_open(%zu): %s\n", n,
			strerror(errno));
		blocklog_close(bl);
		return -1;
	}
	ns_fill = fill(st, 0, n, t0);
	rss1 = rss_bytes();
	t0 += 1000;

	for (unsigned r = 0; r < o->runs; r++) {
		struct load l = { st, 0, n, o->syns, o->seed + r, t0, 0 };

		mixed_main(&l);
		ns_mixed[r] = l.secs * 1e9 / (double)o->syns;
		t0 += (int64_t)(o->syns / 1000) + 1000;
	}
	for (unsigned r = 0; r < o->runs; r++) {
		struct load l[2] = {
			{ st, 0, n, o->syns / 2, o->seed + 100 + r, t0, 0 },
			{ st, 1, n, o->syns / 2, o->seed + 200 + r, t0, 0 },
		};
		pthread_t th[2];
		double t = now_s();

		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, mixed_main, &l[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		ns_two[r] = (now_s() - t) * 1e9 / (double)(o->syns / 2 * 2);
		t0 += (int64_t)(o->syns / 2000) + 1000;
	}
	stats_tick(st, t0);
	ns_evict = fill(st, n, n < o->syns ? n : o->syns, t0);
	t0 += 1000;
	for (unsigned r = 0; r < o->runs; r++) {
		struct load l = { st, 0, 1000, o->syns, o->seed + 300 + r, t0,
				  0 };

		mixed_main(&l);
		ns_hot[r] = l.secs * 1e9 / (double)o->syns;
		t0 += (int64_t)(o->syns / 1000) + 1000;
	}
	stats_counters(st, &c);
	printf("%10zu | %8.1f | %8.1f | %6.0f | %6.0f | %6.0f | %6.0f | "
	       "%6.0f | %" PRIu64 " quarantined, %" PRIu64 " evictions, %"
	       PRIu64 " windows stolen\n",
	       n, (double)c.memory / (double)n,
	       (double)(rss1 - rss0) / (double)n, ns_fill,
	       median(ns_mixed, o->runs), median(ns_two, o->runs), ns_evict,
	       median(ns_hot, o->runs), c.quarantined, c.evictions,
	       c.windows_stolen);
	fflush(stdout);
	stats_close(st);
	if (bl)
		blocklog_close(bl);
	return 0;
}

static int parse_sizes(struct opts *o, const char *s)
{
	char *end;

	o->nsizes = 0;
	while (*s && o->nsizes < sizeof(o->sizes) / sizeof(o->sizes[0])) {
		errno = 0;
		o->sizes[o->nsizes++] = strtoull(s, &end, 10);
		if (errno || end == s || (*end && *end != ','))
			return -1;
		s = *end ? end + 1 : end;
	}
	return o->nsizes ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 'n' },
		{ "syns", required_argument, NULL, 's' },
		{ "runs", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 'e' },
		{ "no-log", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { { 1000000, 10000000 }, 2, 10000000, 5, 42, false };
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_sizes(&o, optarg) < 0)
				goto usage;
			break;
		case 's':
			o.syns = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			o.runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'e':
			o.seed = strtoull(optarg, NULL, 10);
			break;
		case 'l':
			o.no_log = true;
			break;
		default:
			goto usage;
		}
	}
	if (!o.syns || !o.runs || o.runs > MAX_RUNS)
		goto usage;
	printf("stats_syn: %zu SYNs a run, median of %u runs; ns per SYN; "
	       "%s\n\n", o.syns, o.runs, o.no_log ? "no block log" :
	       "block log to /dev/null");
	printf("%10s | %8s | %8s | %6s | %6s | %6s | %6s | %6s |\n",
	       "subscrib.", "B/sub", "RSS/sub", "fill", "mixed", "2 thr",
	       "evict", "hot");
	printf("-----------+----------+----------+--------+--------+--------"
	       "+--------+--------+\n");
	for (unsigned i = 0; i < o.nsizes; i++)
		if (bench_size(&o, o.sizes[i]) < 0)
			return 1;
	return 0;
usage:
	fprintf(stderr, "usage: bench_stats [--sizes N,N...] [--syns N] "
		"[--runs N (1..%d)] [--seed N] [--no-log]\n", MAX_RUNS);
	return 2;
}
