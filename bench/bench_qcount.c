// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_qcount: what the housekeeping thread pays each second for the
 * kernel quarantine at scale. In a network namespace of its own (root):
 * installs a ruleset whose quarantine blocks 25, puts N subscribers in
 * quarantine (rules_quarantine_sync: ipset restore of 2N elements), then
 * reads the counters back (rules_quarantine_counts: one netlink dump a
 * set) --runs times, and syncs again with nothing changed (what each
 * second costs). Not a test: it prints medians.
 *
 *   bench_qcount [-n N] [--runs R]
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netlink/rules.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	static const char *const v4[] = { "100.64.0.0/10" };
	static const struct rules_port ports[] = {
		{ 25, true }, { 465, false }, { 587, false },
	};
	static const uint8_t res[] = { RULES_REJECT, RULES_ACCEPT,
				       RULES_ACCEPT };
	static const struct rules_profile profiles[] = {
		{ "residential", res, RULES_ACCEPT },
	};
	static const struct rules_entry entries[] = {
		{ { { 100, 64 }, 10, false, 0 }, 0, 0 },
	};
	static const struct option lo[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct rules_desc d = {
		.v4 = v4, .nv4 = 1, .ports = ports, .nports = 3,
		.closed_first = 0, .closed_last = 0,
		.open_first = 1, .open_last = 1,
		.reject_mark = RULES_REJECT_MARK,
		.reject_mask = RULES_REJECT_MARK,
		.profiles = profiles, .nprofiles = 1,
		.quarantine = &profiles[0],
		.entries = entries, .nentries = 1,
		.kernel_quarantine = true,
	};
	size_t n = 100000, got;
	int runs = 5, c;
	struct rules_kernel *k;
	struct rules_elem *q;
	struct rules_qcount *out;
	double t, *dump;
	char err[1024];

	while ((c = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
		if (c == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (c == 'r')
			runs = atoi(optarg);
		else
			return 2;
	}
	if (!n || n > (1u << 22) || runs < 1) {
		fprintf(stderr, "bench_qcount: -n 1..4194304, --runs >= 1\n");
		return 2;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		perror("bench_qcount: unshare (root?)");
		return 1;
	}
	d.now = time(NULL);
	k = rules_kernel_new(NULL, RULES_IPTABLES);
	q = calloc(n, sizeof(*q));
	dump = calloc((size_t)runs, sizeof(*dump));
	if (!k || !q || !dump ||
	    rules_install(k, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_qcount: install: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t a = 0x64400000u + (uint32_t)i;	/* 100.64.0.0 + i */

		q[i].addr[0] = (uint8_t)(a >> 24);
		q[i].addr[1] = (uint8_t)(a >> 16);
		q[i].addr[2] = (uint8_t)(a >> 8);
		q[i].addr[3] = (uint8_t)a;
		q[i].len = 32;
		q[i].timeout = 3600;
	}
	t = now_s();
	if (rules_quarantine_sync(k, q, n, d.now, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_qcount: sync: %s\n", err);
		return 1;
	}
	printf("quarantine %zu subscribers (sync, %zu elements): %.3f s\n",
	       n, 2 * n, now_s() - t);
	for (int r = 0; r < runs; r++) {
		t = now_s();
		if (rules_quarantine_counts(k, &out, &got, err,
					    sizeof(err)) < 0) {
			fprintf(stderr, "bench_qcount: counts: %s\n", err);
			return 1;
		}
		dump[r] = now_s() - t;
		free(out);
	}
	printf("read the counters of %zu subscribers: median %.3f s of %d "
	       "runs (%.2f us a subscriber)\n", n, median(dump, runs), runs,
	       median(dump, runs) * 1e6 / (double)n);
	for (int r = 0; r < runs; r++) {
		t = now_s();
		if (rules_quarantine_sync(k, q, n, d.now, err,
					  sizeof(err)) < 0) {
			fprintf(stderr, "bench_qcount: sync: %s\n", err);
			return 1;
		}
		dump[r] = now_s() - t;
	}
	printf("the sync each second, nothing changed: median %.3f s of %d "
	       "runs\n", median(dump, runs), runs);
	t = now_s();
	if (rules_quarantine_sync(k, q, n / 2, d.now, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_qcount: sync: %s\n", err);
		return 1;
	}
	printf("release half of them (sync): %.3f s\n", now_s() - t);
	rules_remove(NULL, RULES_IPTABLES, err, sizeof(err));
	rules_kernel_free(k);
	free(q);
	free(dump);
	return 0;
}
