// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_shadow: what a shadow policy adds to a SYN's decision, on the
 * CPU alone (make bench measures the whole daemon, whose noise is wider
 * than the figure). Bursts of 64 flows, as a verdict thread judges them:
 *
 *   none   policy_decide_many() on the running policy
 *   agree  the same, then the candidate's and shadow_syn() for each, the
 *          two agreeing (AGREE: a candidate that decides these alike)
 *   differ the same with a candidate that decides every one otherwise
 *          (DIFFER): counted, rate-limited, no block log
 *
 * interleaved, RUNS times; medians in ns per SYN, and each shadow's
 * difference from none taken within each run.
 *
 *   bench_shadow POLICY AGREE DIFFER [RUNS] [BURSTS]
 *
 * Sources are drawn from 100.104.0.0/13 and 2001:db8:1800::/37 (one in
 * five IPv6), as bench/bench.sh sends them, to port 25.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter/shadow.h"

#define BURST 64
#define NFLOWS 65536
#define NOW_S 1800000000

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static struct policy *load(const char *path)
{
	struct policy_errors pe = { 0 };
	struct policy *p = policy_load_ex(path, NULL, 0, &pe);

	for (size_t i = 0; i < pe.count; i++)
		fprintf(stderr, "%s\n", pe.msg[i]);
	policy_errors_free(&pe);
	if (!p)
		exit(1);
	return p;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static void make_flows(struct policy_flow *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t r = next64();

		memset(&f[i], 0, sizeof(f[i]));
		f[i].dport = 25;
		if (i % 5 == 4) {
			addr_parse("2001:db8:1800::", &f[i].src);
			for (int b = 4; b < 16; b++)
				f[i].src.b[b] = (uint8_t)(r >> (b * 4));
			f[i].src.b[4] = (uint8_t)(0x18 | (r & 7));
			addr_parse("2001:db8:2::1:1", &f[i].dst);
		} else {
			addr_from_v4(&f[i].src, 0x64680000u |
				     (uint32_t)(r & 0x7ffff));
			addr_from_v4(&f[i].dst, 0xcb007100u |
				     (uint32_t)(r >> 40 & 0xff));
		}
	}
}

static volatile int sink;

/* ns per SYN of bursts bursts over flows, with shadow s (NULL: none). */
static double run(const struct policy *p, struct shadow *s,
		  const struct policy_flow *flows, size_t bursts)
{
	const struct policy_flow *fp[BURST];
	struct policy_decision d[BURST], sd[BURST], *dp[BURST], *sdp[BURST];
	double t0 = now_s();

	for (unsigned i = 0; i < BURST; i++) {
		dp[i] = &d[i];
		sdp[i] = &sd[i];
	}
	for (size_t b = 0; b < bursts; b++) {
		size_t at = (b * BURST) % NFLOWS;

		for (unsigned i = 0; i < BURST; i++)
			fp[i] = &flows[at + i];
		policy_decide_many(p, fp, BURST, NOW_S, dp);
		if (s) {
			policy_decide_many(s->p, fp, BURST, NOW_S, sdp);
			for (unsigned i = 0; i < BURST; i++)
				shadow_syn(s, 0, p, fp[i], &d[i], &sd[i],
					   (int64_t)NOW_S * 1000 +
					   (int64_t)b, NULL);
		}
		sink += d[0].action;
	}
	return (now_s() - t0) * 1e9 / (double)(bursts * BURST);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	unsigned runs = argc > 4 ? (unsigned)atoi(argv[4]) : 11;
	size_t bursts = argc > 5 ? (size_t)atol(argv[5]) : 20000;
	struct policy *p, *pa, *pd;
	struct shadow *sa, *sd;
	struct policy_flow *flows;
	double *none, *agree, *differ, *da, *dd;

	if (argc < 4 || runs < 1 || runs > 1000 || bursts < 1) {
		fprintf(stderr, "usage: bench_shadow POLICY AGREE DIFFER "
			"[RUNS] [BURSTS]\n");
		return 2;
	}
	p = load(argv[1]);
	pa = load(argv[2]);
	pd = load(argv[3]);
	sa = shadow_new(pa, p, argv[2], 1, NOW_S);
	sd = shadow_new(pd, p, argv[3], 1, NOW_S);
	flows = calloc(NFLOWS + BURST, sizeof(*flows));
	none = calloc(runs, sizeof(double));
	agree = calloc(runs, sizeof(double));
	differ = calloc(runs, sizeof(double));
	da = calloc(runs, sizeof(double));
	dd = calloc(runs, sizeof(double));
	if (!sa || !sd || !flows || !none || !agree || !differ || !da || !dd)
		return 1;
	make_flows(flows, NFLOWS + BURST);
	run(p, sa, flows, bursts / 4 + 1);	/* warm the caches */
	for (unsigned r = 0; r < runs; r++) {
		/* The order rotates, so drift spreads over all three. */
		for (unsigned k = 0; k < 3; k++) {
			switch ((r + k) % 3) {
			case 0: none[r] = run(p, NULL, flows, bursts); break;
			case 1: agree[r] = run(p, sa, flows, bursts); break;
			default: differ[r] = run(p, sd, flows, bursts); break;
			}
		}
		da[r] = agree[r] - none[r];
		dd[r] = differ[r] - none[r];
	}
	{
		struct shadow_sum s1, s2;

		shadow_sum(sa->st, &s1);
		shadow_sum(sd->st, &s2);
		printf("bench_shadow: %u runs of %zu bursts of %d SYNs; agree: "
		       "%llu of %llu differed; differ: %llu of %llu\n", runs,
		       bursts, BURST,
		       (unsigned long long)(s1.dir[0] + s1.dir[1] + s1.dir[2]),
		       (unsigned long long)s1.judged,
		       (unsigned long long)(s2.dir[0] + s2.dir[1] + s2.dir[2]),
		       (unsigned long long)s2.judged);
	}
	printf("ns per SYN (median)     none %.1f   agree %.1f   differ %.1f\n",
	       median(none, runs), median(agree, runs), median(differ, runs));
	printf("added by the shadow     agree +%.1f ns   differ +%.1f ns "
	       "(median of the differences within each run)\n",
	       median(da, runs), median(dd, runs));
	shadow_free(sa);
	shadow_free(sd);
	policy_free(p);
	free(flows);
	free(none);
	free(agree);
	free(differ);
	free(da);
	free(dd);
	return 0;
}
