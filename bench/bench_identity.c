// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_identity: what the session look-up adds to a decision, and what
 * a session costs in memory, at 1M sessions (make bench-policy runs it
 * after bench_policy). Not a test: it prints a table.
 *
 * The policy is examples/policy.yaml (100.64.0.0/10, 2001:db8:1::/48,
 * 2001:db8:1000::/36 residential, business exceptions and a list). The
 * sessions: ids "cust-0001234", IPv4 addresses spread over 100.64.0.0/10;
 * the dual-stack run gives each one a /56 of 2001:db8:1000::/36 too.
 *
 * Each run times two passes over the same million random sources, in
 * bursts of 32 as the verdict thread judges them, one after the other
 * (the order alternating from run to run):
 *   decide    policy_decide_many() alone;
 *   +session  policy_decide_many(), then identity_lookup_many() over the
 *             burst (the verdict thread's way).
 * The figures are medians over the runs of ns per decision; "added" is
 * the median of the runs' differences.
 *
 *   bench_identity [--sessions N] [--lookups N] [--runs N] [--seed N]
 *                  [--policy FILE]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "identity/identity.h"
#include "policy/policy.h"

#define NOW 1800000000LL
#define BURST 32
#define RUNS_MAX 64

struct opts {
	size_t sessions;
	size_t lookups;
	unsigned runs;
	uint64_t seed;
	const char *policy;
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

static double expire_scan_s[2];	/* [dual] */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Resident bytes, from /proc/self/statm. */
static size_t rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size, res = 0;

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

/* Session i's IPv4 address: i times an odd number modulo 2^22, so that
 * a million of them are distinct and spread over the whole /10. */
static uint32_t v4_of(size_t i)
{
	return 0x64400000u | (uint32_t)((i * 2654435761u) & 0x3fffffu);
}

/* Session i's /56: its bits 36..55 in 2001:db8:1000::/36. */
static uint64_t v6_of(size_t i)
{
	return 0x20010db810000000ULL | ((uint64_t)(i & 0xfffff) << 8);
}

static void v6_store(struct addr *a, uint64_t hi, uint64_t lo)
{
	for (int k = 0; k < 8; k++) {
		a->b[k] = (uint8_t)(hi >> (56 - 8 * k));
		a->b[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
	}
}

static struct identity *sessions_make(size_t n, bool dual, size_t *rss_delta,
				      size_t *rss_trimmed, double *build_s)
{
	struct identity *t;
	size_t before;
	double t0;
	char why[200];

	before = rss();
	t0 = now_s();
	t = identity_open(n, 0x5eed5eed5eedULL, NULL, NULL);
	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct identity_session s;

		memset(&s, 0, sizeof(s));
		snprintf(s.id, sizeof(s.id), "cust-%07zu", i);
		snprintf(s.source, sizeof(s.source), "kea");
		s.expires = NOW + 86400;
		s.has_v4 = true;
		addr_from_v4(&s.v4.a, v4_of(i));
		s.v4.len = 32;
		if (dual) {
			s.nv6 = 1;
			v6_store(&s.v6[0].a, v6_of(i), 0);
			s.v6[0].len = 56;
		}
		if (identity_start(t, &s, NOW, why, sizeof(why)) != 1) {
			fprintf(stderr, "bench_identity: start %zu: %s\n", i, why);
			identity_close(t);
			return NULL;
		}
	}
	/* No reader: what the index growth retired goes now. */
	identity_reclaim(t, UINT64_MAX);
	*build_s = now_s() - t0;
	/* The daemon's tick looks for expired sessions once a second. */
	t0 = now_s();
	identity_expire(t, NOW);
	expire_scan_s[dual] = now_s() - t0;
	*rss_delta = rss() - before;
	/* What glibc keeps of the freed indexes for its next allocations
	 * is resident but no longer the table's. */
	malloc_trim(0);
	*rss_trimmed = rss() - before;
	return t;
}

/* The sources of the timed passes. */
enum probe_kind {
	HELD_V4,	/* a session's IPv4 address */
	HELD_V6,	/* an address in a session's /56 */
	FREE_V4,	/* in 100.64.0.0/10, no session */
	FREE_V6,	/* in 2001:db8:1::/48 (residential), no session */
	HOT_V4,		/* one of 10,000 sessions: an active few, cached */
};

static const char *const kind_name[] = {
	"IPv4, session", "IPv6, session", "IPv4, none", "IPv6, none",
	"IPv4, 10k hot",
};

static void probes_make(struct addr *p, size_t n, size_t sessions,
			enum probe_kind kind)
{
	for (size_t i = 0; i < n; i++) {
		size_t s = (size_t)(next64() % sessions);

		switch (kind) {
		case HELD_V4:
			addr_from_v4(&p[i], v4_of(s));
			break;
		case HELD_V6:
			v6_store(&p[i], v6_of(s) | (next64() & 0xff), next64());
			break;
		case FREE_V4:
			/* v4_of() of an index past the sessions: distinct. */
			addr_from_v4(&p[i], v4_of(sessions +
					    (size_t)(next64() % (3000000))));
			break;
		case HOT_V4:
			addr_from_v4(&p[i], v4_of(s % 10000));
			break;
		case FREE_V6:
			v6_store(&p[i], 0x20010db800010000ULL |
					(next64() & 0xffff), next64());
			break;
		}
	}
}

static volatile uint64_t sink;

/* One pass over the probes in bursts; with_session: the look-ups too.
 * Returns ns per decision; *hits counts sessions found. */
static double pass(const struct policy *p, const struct identity *t,
		   const struct addr *probe, size_t n, bool with_session,
		   size_t *hits)
{
	struct policy_flow fl[BURST];
	struct policy_decision d[BURST];
	const struct policy_flow *fp[BURST];
	struct policy_decision *dp[BURST];
	struct identity_hit h[BURST];
	bool found[BURST];
	const struct addr *srcs[BURST];
	uint64_t sum = 0;
	size_t nhits = 0, m;
	double t0;

	for (size_t k = 0; k < BURST; k++) {
		memset(&fl[k], 0, sizeof(fl[k]));
		fl[k].dport = 25;
		addr_parse("203.0.113.9", &fl[k].dst);
		fp[k] = &fl[k];
		dp[k] = &d[k];
	}
	t0 = now_s();
	for (size_t i = 0; i < n; i += m) {
		m = n - i < BURST ? n - i : BURST;
		for (size_t k = 0; k < m; k++)
			fl[k].src = probe[i + k];
		policy_decide_many(p, fp, m, NOW, dp);
		if (with_session) {
			uint64_t e = identity_epoch(t);

			for (size_t k = 0; k < m; k++)
				srcs[k] = &fl[k].src;
			identity_lookup_many(t, srcs, m, NOW, h, found);
			for (size_t k = 0; k < m; k++)
				if (found[k]) {
					nhits++;
					sum += h[k].key;
				}
			sum += e;
		}
		for (size_t k = 0; k < m; k++)
			sum += (uint64_t)d[k].action;
	}
	sink = sum;
	*hits = nhits;
	return (now_s() - t0) * 1e9 / (double)n;
}

static void row(const char *table, enum probe_kind kind, double a, double b,
		const double *diff, unsigned runs, double hits)
{
	char range[32];

	/* diff is sorted: its ends are the runs' spread. */
	snprintf(range, sizeof(range), "%.0f..%.0f", diff[0], diff[runs - 1]);
	printf("| %-10s | %-13s | %9.1f | %11.1f | %5.1f | %11s | %4.0f%% |\n",
	       table, kind_name[kind], a, b,
	       runs % 2 ? diff[runs / 2] : (diff[runs / 2 - 1] + diff[runs / 2]) / 2,
	       range, hits * 100);
}

static int bench_case(const struct policy *p, const struct identity *t,
		      const char *table, enum probe_kind kind,
		      const struct opts *o, struct addr *probe)
{
	double a[RUNS_MAX], b[RUNS_MAX], diff[RUNS_MAX];
	size_t hits = 0;

	probes_make(probe, o->lookups, o->sessions, kind);
	/* Warm: code, the policy, the first levels of everything. */
	pass(p, t, probe, o->lookups, false, &hits);
	pass(p, t, probe, o->lookups, true, &hits);
	for (unsigned r = 0; r < o->runs; r++) {
		if (r % 2) {
			b[r] = pass(p, t, probe, o->lookups, true, &hits);
			a[r] = pass(p, t, probe, o->lookups, false, &hits);
		} else {
			a[r] = pass(p, t, probe, o->lookups, false, &hits);
			b[r] = pass(p, t, probe, o->lookups, true, &hits);
		}
		diff[r] = b[r] - a[r];
	}
	pass(p, t, probe, o->lookups, true, &hits);
	median(diff, o->runs);
	row(table, kind, median(a, o->runs), median(b, o->runs), diff, o->runs,
	    (double)hits / (double)o->lookups);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_identity [--sessions N] [--lookups N] "
			"[--runs N (1..64)] [--seed N] [--policy FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "sessions", required_argument, NULL, 'n' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "runs", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 1000000, 1000000, 11, 1, "examples/policy.yaml" };
	struct policy_errors errs = { 0 };
	struct policy *p;
	struct addr *probe;
	struct {
		const char *name;
		bool dual;
		size_t rss, trimmed;
		double build_s;
		struct identity_counters c;
	} tab[2] = { { "IPv4", false, 0, 0, 0, { 0 } },
		     { "dual-stack", true, 0, 0, 0, { 0 } } };
	int c;

	while ((c = getopt_long(argc, argv, "n:l:r:s:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o.sessions = strtoull(optarg, NULL, 0);
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
		case 'p':
			o.policy = optarg;
			break;
		default:
			usage();
		}
	}
	if (o.runs < 1 || o.runs > RUNS_MAX || o.lookups < BURST ||
	    o.sessions < 1 || o.sessions > 1048576 || optind != argc)
		usage();
	seed_state = o.seed ? o.seed : 1;
	p = policy_load(o.policy, &errs);
	if (!p) {
		fprintf(stderr, "bench_identity: %s: %s\n", o.policy,
			errs.count ? errs.msg[0] : "cannot load");
		return 1;
	}
	probe = calloc(o.lookups, sizeof(*probe));
	if (!probe) {
		fprintf(stderr, "bench_identity: out of memory\n");
		return 1;
	}

	printf("portcullis bench_identity: %zu sessions, %s; %zu decisions a "
	       "pass in bursts of %d from random sources, median of %u runs "
	       "(the two passes of a run one after the other, the order "
	       "alternating)\n\n", o.sessions, o.policy, o.lookups, BURST,
	       o.runs);
	printf("| sessions   | sources       | decide ns | +session ns | added "
	       "| added range | found |\n");
	printf("|------------|---------------|----------:|------------:|------:"
	       "|------------:|------:|\n");
	for (int k = 0; k < 2; k++) {
		struct identity *t = sessions_make(o.sessions, tab[k].dual,
						   &tab[k].rss,
						   &tab[k].trimmed,
						   &tab[k].build_s);

		if (!t) {
			fprintf(stderr, "bench_identity: %s\n", strerror(errno));
			return 1;
		}
		identity_counters(t, &tab[k].c);
		bench_case(p, t, tab[k].name, HELD_V4, &o, probe);
		if (tab[k].dual)
			bench_case(p, t, tab[k].name, HELD_V6, &o, probe);
		bench_case(p, t, tab[k].name, FREE_V4, &o, probe);
		if (tab[k].dual)
			bench_case(p, t, tab[k].name, FREE_V6, &o, probe);
		if (!tab[k].dual)
			bench_case(p, t, tab[k].name, HOT_V4, &o, probe);
		identity_close(t);
	}

	printf("\n| sessions   |  sessions | build s | counted memory | B/session "
	       "| RSS delta | B/session | RSS, trimmed | B/session |\n");
	printf("|------------|----------:|--------:|---------------:|----------:"
	       "|----------:|----------:|-------------:|----------:|\n");
	for (int k = 0; k < 2; k++) {
		double n = (double)tab[k].c.sessions;

		printf("| %-10s | %9" PRIu64 " | %7.2f | %10.1f MiB | %9.1f | "
		       "%5.1f MiB | %9.1f | %8.1f MiB | %9.1f |\n", tab[k].name,
		       tab[k].c.sessions, tab[k].build_s,
		       (double)tab[k].c.memory / 1048576.0,
		       (double)tab[k].c.memory / n,
		       (double)tab[k].rss / 1048576.0, (double)tab[k].rss / n,
		       (double)tab[k].trimmed / 1048576.0,
		       (double)tab[k].trimmed / n);
	}
	printf("\nexpiry scan (identity_expire, the tick's, nothing due): "
	       "%.1f ms IPv4, %.1f ms dual-stack at 1M\n",
	       expire_scan_s[0] * 1e3, expire_scan_s[1] * 1e3);
	printf("\ndecide: policy_decide_many() alone; +session: then "
	       "identity_lookup_many() over the burst, "
	       "over it (the verdict thread's order); added: the median of "
	       "the runs' differences, ns per decision (range: the smallest "
	       "and largest).\nsources: a random "
	       "session's IPv4 address or an address in its /56; \"none\": "
	       "subscriber sources no session holds (100.64.0.0/10 beyond "
	       "the sessions', 2001:db8:1::/48); \"10k hot\": a random one "
	       "of 10,000 sessions (an active few, in cache).\ncounted "
	       "memory: identity_counters().memory after the build and a "
	       "reclaim with no reader; RSS delta: /proc/self/statm before "
	       "identity_open() and after; trimmed: after malloc_trim(0) "
	       "hands back what glibc kept of the freed (retired, then "
	       "reclaimed) indexes.\n");
	free(probe);
	policy_free(p);
	policy_errors_free(&errs);
	return 0;
}
