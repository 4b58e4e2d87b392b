// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcplat: the time a real TCP connect takes (connect() to writable: the
 * SYN out and the SYN-ACK back), COUNT of them at RATE per second, one at
 * a time, from the lab's subscriber namespace. Each connection is reset
 * at once (SO_LINGER 0), so no TIME_WAIT piles up.
 *
 *   tcplat -s SRC -d DST [-p PORT] [-r RATE] [-n COUNT] [-w WARMUP]
 *
 * Prints "n N ok K fail F p50 A p90 B p99 C max D" (microseconds); the
 * first WARMUP connects (default 20) are not counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static int addr(const char *s, uint16_t port, struct sockaddr_storage *ss,
		socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* One connect; returns its time in µs, or -1. */
static double one(const struct sockaddr_storage *src, socklen_t slen,
		  const struct sockaddr_storage *dst, socklen_t dlen)
{
	struct linger lg = { 1, 0 };
	struct pollfd pfd;
	int fd, err = 0;
	socklen_t el = sizeof(err);
	double t0, t = -1;

	fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (const struct sockaddr *)src, slen) < 0)
		goto out;
	t0 = now_us();
	if (connect(fd, (const struct sockaddr *)dst, dlen) < 0 &&
	    errno != EINPROGRESS)
		goto out;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, 1000) != 1)
		goto out;
	t = now_us() - t0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err)
		t = -1;
out:
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return t;
}

int main(int argc, char **argv)
{
	const char *src = NULL, *dst = NULL;
	struct sockaddr_storage s, d;
	socklen_t slen, dlen;
	unsigned port = 587, count = 2000, warmup = 20, ok = 0, fail = 0;
	double rate = 1000, *lat;
	struct timespec next;
	int c;

	while ((c = getopt(argc, argv, "s:d:p:r:n:w:")) != -1) {
		switch (c) {
		case 's': src = optarg; break;
		case 'd': dst = optarg; break;
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 'n': count = (unsigned)atoi(optarg); break;
		case 'w': warmup = (unsigned)atoi(optarg); break;
		default: goto usage;
		}
	}
	if (!src || !dst || rate <= 0 || !count ||
	    addr(src, 0, &s, &slen) < 0 ||
	    addr(dst, (uint16_t)port, &d, &dlen) < 0)
		goto usage;
	lat = calloc(count, sizeof(*lat));
	if (!lat)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (unsigned i = 0; i < warmup + count; i++) {
		long ns = (long)(1e9 / rate);
		double t = one(&s, slen, &d, dlen);

		if (i >= warmup) {
			if (t >= 0)
				lat[ok++] = t;
			else
				fail++;
		}
		next.tv_nsec += ns;
		next.tv_sec += next.tv_nsec / 1000000000L;
		next.tv_nsec %= 1000000000L;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	qsort(lat, ok, sizeof(*lat), cmp);
	if (!ok) {
		printf("n %u ok 0 fail %u p50 - p90 - p99 - max -\n", count,
		       fail);
		return 1;
	}
	printf("n %u ok %u fail %u p50 %.1f p90 %.1f p99 %.1f max %.1f\n",
	       count, ok, fail, lat[ok / 2], lat[ok * 9 / 10],
	       lat[ok * 99 / 100], lat[ok - 1]);
	free(lat);
	return 0;
usage:
	fprintf(stderr, "usage: tcplat -s SRC -d DST [-p PORT] [-r RATE] "
		"[-n COUNT] [-w WARMUP]\n");
	return 2;
}
