// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_log: time `portcullis log --top 20` and `portcullis report --top
 * 20` over a generated block log, one after the other REPS times (3), and
 * measure their peak memory (the children's ru_maxrss): the medians and
 * the report's ratio to log.
 *
 *   bench_log [-n LINES] [-s SUBSCRIBERS] [-r REPS] [-k] [PORTCULLIS]
 *
 * The log is written by the daemon's own formatter (blocklog_format()),
 * so its lines are the daemon's: 10 million by default over one week,
 * from 200,000 subscribers (one in ten IPv6) chosen Zipf-like (s = 1.1: a
 * few infected machines write most of it), to destinations drawn half
 * from 2,000 big mail providers and half from a million others; block
 * lines with the summary, detection, quarantine and release lines a
 * rate-limited daemon writes, now and then a "lost" field, a few except
 * lines. It goes in a temporary folder (TMPDIR, else /tmp) that is
 * removed afterwards, unless -k keeps it. The figures are for a warm page
 * cache.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blocklog/blocklog.h"

#define DEFAULT_LINES 10000000UL
#define DEFAULT_SUBS 200000UL
#define ZIPF_S 1.1
#define WEEK_MS (7LL * 86400 * 1000)
#define START_MS 1795737600000LL	/* 2026-11-27T00:00:00Z */
#define PROVIDERS 2000
#define OTHER_DSTS 1000000

static uint64_t rng = 0x853c49e6748fea9bULL;

/* xorshift64*: fast, and the same log on every run. */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

struct sub {
	struct addr addr;
	bool v6;
};

static double *zipf_cdf(size_t n)
{
	double *cdf = malloc(n * sizeof(*cdf)), sum = 0;

	if (!cdf)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		sum += 1.0 / pow((double)(i + 1), ZIPF_S);
		cdf[i] = sum;
	}
	for (size_t i = 0; i < n; i++)
		cdf[i] /= sum;
	return cdf;
}

static size_t zipf_pick(const double *cdf, size_t n)
{
	double u = rnd01();
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void pick_dst(bool v6, struct addr *dst)
{
	uint32_t i = rnd() & 1 ? (uint32_t)(rnd() % PROVIDERS)
			       : PROVIDERS + (uint32_t)(rnd() % OTHER_DSTS);

	if (!v6) {
		/* Spread over 16.0.0.0 and up, clear of the subscribers. */
		addr_from_v4(dst, 0x10000000u + i * 7919u);
		return;
	}
	addr_parse("2001:db8:2000::25", dst);
	dst->b[8] = (uint8_t)(i >> 24);
	dst->b[9] = (uint8_t)(i >> 16);
	dst->b[10] = (uint8_t)(i >> 8);
	dst->b[11] = (uint8_t)i;
}

static void make_subs(struct sub *subs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		subs[i].v6 = i % 10 == 9;
		if (subs[i].v6) {
			addr_parse("2001:db8:1000::", &subs[i].addr);
			/* A /64 inside 2001:db8:1000::/36, host ::1. */
			subs[i].addr.b[4] = 0x10 | (uint8_t)((i >> 24) & 0xf);
			subs[i].addr.b[5] = (uint8_t)(i >> 16);
			subs[i].addr.b[6] = (uint8_t)(i >> 8);
			subs[i].addr.b[7] = (uint8_t)i;
			subs[i].addr.b[15] = 1;
		} else {
			/* Spread over 100.64.0.0/10 (4M addresses). */
			addr_from_v4(&subs[i].addr,
				     0x64400000u +
				     (uint32_t)(((i + 1) * 2654435761u) &
						       0x3fffff));
		}
	}
}

static int generate(const char *path, size_t lines, size_t nsubs)
{
	struct sub *subs = calloc(nsubs, sizeof(*subs));
	double *cdf = zipf_cdf(nsubs);
	FILE *f = fopen(path, "w");
	struct blocklog_event ev;
	char buf[2048];
	int ret = -1;

	if (!subs || !cdf || !f) {
		perror("bench_log: generate");
		goto out;
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	make_subs(subs, nsubs);
	for (size_t i = 0; i < lines; i++) {
		const struct sub *s = &subs[zipf_pick(cdf, nsubs)];
		unsigned r = (unsigned)(rnd() % 1000);
		uint64_t lost = rnd() % 1000 == 0 ? 1 + rnd() % 50 : 0;
		int n;

		memset(&ev, 0, sizeof(ev));
		/* In time order, give or take the writer's drain jitter. */
		ev.ts_ms = START_MS + (int64_t)((double)i * WEEK_MS / lines) +
			   (int64_t)(rnd() % 20);
		ev.src = s->addr;
		if (r < 900) {
			ev.kind = BLOCKLOG_BLOCK;
			ev.action = POLICY_REJECT;
			ev.dport = 25;
			pick_dst(s->v6, &ev.dst);
			strcpy(ev.profile, "residential");
			strcpy(ev.prefix, s->v6 ? "2001:db8:1000::/36"
						: "100.64.0.0/10");
		} else if (r < 970) {
			ev.kind = BLOCKLOG_SUMMARY;
			ev.count = 1 + rnd() % 2000;
			ev.distinct = 1 + ev.count / 3;
			ev.window_s = 60;
		} else if (r < 985) {
			ev.kind = BLOCKLOG_DETECTION;
			ev.count = 100 + rnd() % 900;
			ev.distinct = 20 + rnd() % 300;
			ev.window_s = 60;
		} else if (r < 993) {
			ev.kind = BLOCKLOG_QUARANTINE;
			ev.count = 100 + rnd() % 900;
			ev.distinct = 20 + rnd() % 300;
			ev.until = ev.ts_ms / 1000 + 3600;
		} else if (r < 999) {
			ev.kind = BLOCKLOG_RELEASE;
		} else {
			ev.kind = BLOCKLOG_EXCEPT;
			ev.op = BLOCKLOG_EXCEPT_ADD;
			strcpy(ev.prefix, "100.64.12.0/28");
			strcpy(ev.profile, "business");
			strcpy(ev.note, "ticket 4411");
		}
		n = blocklog_format(&ev, lost, buf, sizeof(buf));
		if (n < 0 || fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
			perror("bench_log: write");
			goto out;
		}
	}
	if (fflush(f) == 0)
		ret = 0;
	else
		perror("bench_log: write");
out:
	if (f && fclose(f) != 0)
		ret = -1;
	free(cdf);
	free(subs);
	return ret;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Run pc log --top 20 path; print its output, time and peak RSS. */
struct run {
	double wall, user, sys;
	long rss_kib;
};

/* Run argv with stdout to outpath; its times and peak RSS in *r.
 * Returns 0 when it exited 0. */
static int run_one(char *const argv[], const char *outpath, struct run *r)
{
	struct timespec t0;
	struct rusage ru;
	int status;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!freopen(outpath, "w", stdout) ||
		    !freopen("/dev/null", "w", stderr))
			_exit(127);
		execv(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	r->wall = since(&t0);
	r->user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	r->sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	r->rss_kib = ru.ru_maxrss;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

static double median(const struct run *r, unsigned n, int what)
{
	double v[16];

	for (unsigned i = 0; i < n; i++)
		v[i] = what == 0 ? r[i].wall : what == 1 ? r[i].user :
		       (double)r[i].rss_kib / 1024;
	qsort(v, n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* log --top 20 and report --top 20, one after the other, reps times
 * (side by side in one run: the host's noise falls on both); their
 * medians and the ratio. */
static int measure(const char *pc, const char *path, const char *outpath,
		   const char *htmlpath, unsigned reps)
{
	char pcb[300], pathb[300], htmlb[300], w_log[] = "log",
	     w_report[] = "report", w_top[] = "--top", w_20[] = "20",
	     w_o[] = "-o";
	char *logv[] = { pcb, w_log, w_top, w_20, pathb, NULL };
	char *repv[] = { pcb, w_report, w_top, w_20, w_o, htmlb, pathb,
			 NULL };
	struct run lr[16], rr[16];
	char line[512];
	FILE *out;
	struct stat st;

	snprintf(pcb, sizeof(pcb), "%s", pc);
	snprintf(pathb, sizeof(pathb), "%s", path);
	snprintf(htmlb, sizeof(htmlb), "%s", htmlpath);
	for (unsigned i = 0; i < reps; i++) {
		if (run_one(logv, outpath, &lr[i]) < 0 ||
		    run_one(repv, "/dev/null", &rr[i]) < 0) {
			fprintf(stderr, "bench_log: a run failed\n");
			return -1;
		}
		printf("run %u: log --top 20 %.2f s wall, %.1f MiB; report "
		       "%.2f s wall, %.1f MiB\n", i + 1, lr[i].wall,
		       (double)lr[i].rss_kib / 1024, rr[i].wall,
		       (double)rr[i].rss_kib / 1024);
		fflush(stdout);
	}
	printf("\ncommands:  %s log --top 20 %s\n           %s report "
	       "--top 20 -o %s %s\n", pc, path, pc, htmlpath, path);
	printf("medians of %u, side by side:\n", reps);
	printf("  log --top 20: %.2f s wall, %.2f s user, peak RSS %.1f MiB\n",
	       median(lr, reps, 0), median(lr, reps, 1), median(lr, reps, 2));
	printf("  report:       %.2f s wall, %.2f s user, peak RSS %.1f MiB\n",
	       median(rr, reps, 0), median(rr, reps, 1), median(rr, reps, 2));
	printf("  report / log: %.2fx wall, %.2fx peak RSS (the issue's bound: "
	       "2x the time)\n", median(rr, reps, 0) / median(lr, reps, 0),
	       median(rr, reps, 2) / median(lr, reps, 2));
	if (stat(htmlpath, &st) == 0)
		printf("  the page:     %.1f KiB\n", (double)st.st_size / 1024);
	printf("\n");
	out = fopen(outpath, "r");
	while (out && fgets(line, sizeof(line), out))
		fputs(line, stdout);
	if (out)
		fclose(out);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long lines = DEFAULT_LINES, nsubs = DEFAULT_SUBS;
	const char *pc = "./portcullis", *tmp = getenv("TMPDIR");
	char dir[256], path[300], outpath[300], htmlpath[300];
	unsigned reps = 3;
	struct timespec t0;
	struct stat st;
	bool keep = false;
	int c, ret = 1;

	while ((c = getopt(argc, argv, "n:s:r:k")) != -1) {
		switch (c) {
		case 'n':
			lines = strtoul(optarg, NULL, 10);
			break;
		case 's':
			nsubs = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			reps = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			keep = true;
			break;
		default:
			fprintf(stderr, "usage: bench_log [-n LINES] "
				"[-s SUBSCRIBERS] [-r REPS] [-k] [PORTCULLIS]\n");
			return 2;
		}
	}
	if (optind < argc)
		pc = argv[optind];
	if (!lines || !nsubs || !reps || reps > 16) {
		fprintf(stderr, "bench_log: -n and -s must be at least 1, -r "
			"from 1 to 16\n");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/portcullis-bench-log-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("bench_log: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/blocks.jsonl", dir);
	snprintf(outpath, sizeof(outpath), "%s/top.txt", dir);
	snprintf(htmlpath, sizeof(htmlpath), "%s/report.html", dir);
	printf("generating %lu lines from %lu subscribers in %s …\n", lines,
	       nsubs, path);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (generate(path, lines, nsubs) < 0 || stat(path, &st) < 0)
		goto out;
	printf("generated: %.2f GB in %.1f s\n\n", (double)st.st_size / 1e9,
	       since(&t0));
	fflush(stdout);
	/* Write back the dirty pages first: the run reads the file from the
	 * page cache (as one does right after logrotate) and competes with
	 * no writeback. */
	sync();
	if (measure(pc, path, outpath, htmlpath, reps) == 0)
		ret = 0;
out:
	if (!keep) {
		unlink(path);
		unlink(outpath);
		unlink(htmlpath);
		rmdir(dir);
	} else {
		printf("kept %s\n", dir);
	}
	return ret;
}
