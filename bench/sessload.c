// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sessload: session changes through the control socket, as a busy DHCP
 * or RADIUS feed makes them: COUNT `session start` requests (ids
 * cust-0 .. cust-(SUBS-1), each on an address of 100.64.0.0/10 that moves
 * at every round, so starts, moves and renewals mix) at RATE per second,
 * up to INFLIGHT connections at once.
 *
 *   sessload -c SOCKET [-n COUNT] [-r RATE] [-s SUBS] [-i INFLIGHT] [-q]
 *
 * -q: `session list cust-N` instead, which reads the table and changes
 * nothing: the same socket work without the writer, for comparison.
 *
 * Prints "n N ok K fail F secs S rate R p50 A p99 B max C" (request
 * latency, microseconds: connect to the reply's end).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/ctlproto.h"

#define INFLIGHT_MAX 64

struct conn {
	int fd;
	double t0;
	char req[512];
	size_t len, off;
	bool sent;
	char status;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static bool query;

static int open_conn(const char *path, struct conn *c, unsigned long i,
		     unsigned long subs)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	unsigned long sub = i % subs, round = i / subs;
	/* Each round moves every subscriber one address on. */
	unsigned long a = (sub + round * 7919) % (1UL << 22);
	char id[32], addr[32];
	char *argv[8] = { "session", "start", id, addr, "--for", "1h",
			  "--source", "bench" };
	int len;

	snprintf(id, sizeof(id), "cust-%lu", sub);
	snprintf(addr, sizeof(addr), "100.%lu.%lu.%lu", 64 + (a >> 16),
		 (a >> 8) & 0xff, a & 0xff);
	if (query) {
		argv[1] = "list";
		argv[3] = "--json";
	}
	len = ctlproto_encode(c->req, sizeof(c->req), query ? 4 : 8, argv);
	if (len < 0)
		return -1;
	c->len = (size_t)len;
	c->off = 0;
	c->sent = false;
	c->status = 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	c->t0 = now_us();
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 &&
	    errno != EINPROGRESS && errno != EAGAIN) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	unsigned long count = 100000, rate = 10000, subs = 100000;
	unsigned inflight = 16;
	struct conn conns[INFLIGHT_MAX];
	struct pollfd pfd[INFLIGHT_MAX];
	unsigned long started = 0, done = 0, ok = 0, fail = 0;
	double *lat, t0, secs;
	int o;

	while ((o = getopt(argc, argv, "c:n:r:s:i:q")) != -1) {
		switch (o) {
		case 'q': query = true; break;
		case 'c': path = optarg; break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'r': rate = strtoul(optarg, NULL, 10); break;
		case 's': subs = strtoul(optarg, NULL, 10); break;
		case 'i': inflight = (unsigned)strtoul(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: sessload -c SOCKET [-n COUNT] "
				"[-r RATE] [-s SUBS] [-i INFLIGHT] [-q]\n");
			return 2;
		}
	}
	if (!path || !count || !rate || !subs || !inflight ||
	    inflight > INFLIGHT_MAX) {
		fprintf(stderr, "sessload: -c SOCKET, and -n -r -s -i above 0 "
			"(-i at most %d)\n", INFLIGHT_MAX);
		return 2;
	}
	lat = calloc(count, sizeof(*lat));
	if (!lat)
		return 1;
	for (unsigned i = 0; i < inflight; i++)
		conns[i].fd = -1;
	t0 = now_us();
	/* Bounded: every request, or 10 s past when the rate says. */
	while (done < count &&
	       now_us() - t0 < ((double)count / (double)rate + 10) * 1e6) {
		double due = t0 + (double)started * 1e6 / (double)rate;
		int n = 0;

		for (unsigned i = 0; i < inflight; i++) {
			struct conn *c = &conns[i];

			if (c->fd < 0 && started < count && now_us() >= due) {
				if (open_conn(path, c, started, subs) < 0) {
					fail++;
					done++;
				}
				started++;
				due = t0 + (double)started * 1e6 /
					   (double)rate;
			}
			pfd[i].fd = c->fd;
			pfd[i].events = c->sent ? POLLIN : POLLOUT;
			if (c->fd >= 0)
				n++;
		}
		if (poll(pfd, inflight, n ? 100 : 1) < 0 && errno != EINTR)
			break;
		for (unsigned i = 0; i < inflight; i++) {
			struct conn *c = &conns[i];
			char buf[4096];
			ssize_t r;

			if (c->fd < 0 || !pfd[i].revents)
				continue;
			if (!c->sent) {
				r = write(c->fd, c->req + c->off,
					  c->len - c->off);
				if (r > 0 && (c->off += (size_t)r) == c->len)
					c->sent = true;
				else if (r < 0 && errno != EAGAIN)
					goto closed;
				continue;
			}
			r = read(c->fd, buf, sizeof(buf));
			if (r > 0) {
				if (!c->status)
					c->status = buf[0];
				continue;
			}
			if (r < 0 && errno == EAGAIN)
				continue;
closed:
			/* A query for an id nobody holds answers 1: done. */
			if (c->status == '0' || (query && c->status == '1')) {
				lat[ok++] = now_us() - c->t0;
			} else {
				fail++;
			}
			done++;
			close(c->fd);
			c->fd = -1;
		}
	}
	secs = (now_us() - t0) / 1e6;
	qsort(lat, ok, sizeof(*lat), cmp);
	printf("n %lu ok %lu fail %lu secs %.2f rate %.0f p50 %.0f p99 %.0f "
	       "max %.0f\n", done, ok, fail, secs, (double)ok / secs,
	       ok ? lat[ok / 2] : 0, ok ? lat[ok * 99 / 100] : 0,
	       ok ? lat[ok - 1] : 0);
	free(lat);
	return fail ? 1 : 0;
}
