// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench_log: time `portcullis log --top 20` over a generated block log and
 * measure its peak memory (the child's ru_maxrss).
 *
 *   bench_log [-n LINES] [-s SUBSCRIBERS] [-k] [PORTCULLIS]
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
static int measure(const char *pc, const char *path, const char *outpath)
{
	struct timespec t0;
	struct rusage ru;
	int status;
	pid_t pid;
	char line[512];
	FILE *out;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!freopen(outpath, "w", stdout))
			_exit(127);
		execl(pc, pc, "log", "--top", "20", path, (char *)NULL);
		perror(pc);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return -1;
	printf("command:   %s log --top 20 %s\n", pc, path);
	printf("seconds:   %.2f wall, %.2f user, %.2f system\n", since(&t0),
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	printf("peak RSS:  %.1f MiB (ru_maxrss %ld KiB)\n",
	       (double)ru.ru_maxrss / 1024, ru.ru_maxrss);
	printf("exit:      %d\n\n", WIFEXITED(status) ? WEXITSTATUS(status)
						       : -1);
	out = fopen(outpath, "r");
	while (out && fgets(line, sizeof(line), out))
		fputs(line, stdout);
	if (out)
		fclose(out);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned long lines = DEFAULT_LINES, nsubs = DEFAULT_SUBS;
	const char *pc = "./portcullis", *tmp = getenv("TMPDIR");
	char dir[256], path[300], outpath[300];
	struct timespec t0;
	struct stat st;
	bool keep = false;
	int c, ret = 1;

	while ((c = getopt(argc, argv, "n:s:k")) != -1) {
		switch (c) {
		case 'n':
			lines = strtoul(optarg, NULL, 10);
			break;
		case 's':
			nsubs = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			keep = true;
			break;
		default:
			fprintf(stderr, "usage: bench_log [-n LINES] "
				"[-s SUBSCRIBERS] [-k] [PORTCULLIS]\n");
			return 2;
		}
	}
	if (optind < argc)
		pc = argv[optind];
	if (!lines || !nsubs) {
		fprintf(stderr, "bench_log: -n and -s must be at least 1\n");
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
	if (measure(pc, path, outpath) == 0)
		ret = 0;
out:
	if (!keep) {
		unlink(path);
		unlink(outpath);
		rmdir(dir);
	} else {
		printf("kept %s\n", dir);
	}
	return ret;
}
