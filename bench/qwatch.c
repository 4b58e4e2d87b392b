// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qwatch: the kernel's NFQUEUE counters, read from
 * /proc/net/netfilter/nfnetlink_queue of the namespace it runs in.
 *
 *   qwatch show
 *       one line per queue: "queue N total T dropped D user_dropped U
 *       id I" (waiting for a verdict, queue full, socket full, last id)
 *   qwatch drain PID
 *       send PID SIGCONT and wait until no queue holds a packet; prints
 *       "drained N in S s: R/s, U us/SYN, cpu C ms" (C: PID's user+system
 *       time meanwhile)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAXQ 64

struct qline {
	unsigned num, total, dropped, user_dropped, id;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int read_queues(int fd, struct qline *q)
{
	char buf[8192], *line, *save = NULL;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	int k = 0;

	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line && k < MAXQ;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned portid, mode, range;

		if (sscanf(line, "%u %u %u %u %u %u %u %u", &q[k].num, &portid,
			   &q[k].total, &mode, &range, &q[k].dropped,
			   &q[k].user_dropped, &q[k].id) == 8)
			k++;
	}
	return k;
}

static unsigned waiting(const struct qline *q, int n)
{
	unsigned t = 0;

	for (int i = 0; i < n; i++)
		t += q[i].total;
	return t;
}

/* utime + stime of pid in clock ticks, or -1. */
static long long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

int main(int argc, char **argv)
{
	struct qline q[MAXQ];
	int fd = open("/proc/net/netfilter/nfnetlink_queue", O_RDONLY | O_CLOEXEC);
	int n;

	if (fd < 0) {
		perror("qwatch: nfnetlink_queue");
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "show")) {
		n = read_queues(fd, q);
		for (int i = 0; i < n; i++)
			printf("queue %u total %u dropped %u user_dropped %u "
			       "id %u\n", q[i].num, q[i].total, q[i].dropped,
			       q[i].user_dropped, q[i].id);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "drain")) {
		pid_t pid = (pid_t)atoi(argv[2]);
		const struct timespec nap = { 0, 50 * 1000 };
		unsigned start;
		long long c0, c1;
		double t0, t;

		/* Sleep between reads: the drain may need both cores. */
		prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
		n = read_queues(fd, q);
		start = waiting(q, n);
		c0 = cpu_ticks(pid);
		t0 = now_s();
		if (kill(pid, SIGCONT) < 0) {
			perror("qwatch: SIGCONT");
			return 1;
		}
		do {
			nanosleep(&nap, NULL);
			n = read_queues(fd, q);
			t = now_s() - t0;
		} while (n > 0 && waiting(q, n) > 0 && t < 30);
		c1 = cpu_ticks(pid);
		printf("drained %u in %.6f s: %.0f/s, %.3f us/SYN, cpu %.0f ms\n",
		       start, t, start / t, t * 1e6 / (start ? start : 1),
		       (double)(c1 - c0) * 1000.0 / (double)sysconf(_SC_CLK_TCK));
		return 0;
	}
	fprintf(stderr, "usage: qwatch show | qwatch drain PID\n");
	return 2;
}
