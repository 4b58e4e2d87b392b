// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * syngen: TCP SYNs as fast as the kernel takes them, or at a fixed rate,
 * through an AF_PACKET socket with sendmmsg(). Run in the lab's subscriber
 * namespace: frames go out of IFACE addressed to the router's MAC, from a
 * random source port and a source address spread over the given ranges,
 * to destinations spread over others. Checksums are valid. Bounded by a
 * count and by a time, whichever comes first.
 *
 *   syngen -i IFACE -m ROUTER_MAC [-4 SRC/LEN] [-6 SRC/LEN]
 *          [-D DST4/LEN] [-E DST6/LEN] [-p PORT] [--v6 PERCENT]
 *          [-n COUNT] [-t SECONDS] [-r RATE] [-b BATCH] [-s SEED]
 *          [-S SOURCES]
 *
 * -S: IPv4 sources are the first SOURCES addresses of -4's range (the
 * flood bench's fixed set of quarantined subscribers), not any of it.
 *
 * Prints one line: "sent N in S s: R/s (ENOBUFS E)".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#define MAX_BATCH 256
#define FRAME_MAX 96		/* Ethernet + IPv6 + TCP with MSS */
#define TCP_LEN 24		/* header with one option: MSS */

struct range {
	uint8_t base[16];
	unsigned len;		/* prefix length */
	unsigned bits;		/* 32 or 128 */
	bool set;
};

struct opts {
	const char *iface;
	uint8_t dmac[6];
	struct range src4, src6, dst4, dst6;
	uint16_t port;
	unsigned v6_percent;
	uint64_t count;
	double seconds;
	double rate;
	unsigned batch;
	uint64_t seed;
	uint32_t sources;	/* IPv4: base .. base + sources - 1; 0: any */
};

static volatile sig_atomic_t stop;
static uint64_t rng;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t next64(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(void)
{
	fprintf(stderr, "usage: syngen -i IFACE -m ROUTER_MAC [-4 SRC/LEN] "
		"[-6 SRC/LEN] [-D DST4/LEN] [-E DST6/LEN]\n"
		"              [-p PORT] [--v6 PERCENT] [-n COUNT] "
		"[-t SECONDS] [-r RATE] [-b BATCH] [-s SEED]\n"
		"              [-S SOURCES]\n");
	exit(2);
}

static void parse_range(const char *s, unsigned bits, struct range *r)
{
	char buf[64], *slash;
	int af = bits == 32 ? AF_INET : AF_INET6;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		usage();
	*slash = '\0';
	r->len = (unsigned)atoi(slash + 1);
	r->bits = bits;
	if (r->len > bits || inet_pton(af, buf, r->base) != 1) {
		fprintf(stderr, "syngen: bad range %s\n", s);
		exit(2);
	}
	r->set = true;
}

/* A random address in r into out (4 or 16 bytes). */
static void pick(const struct range *r, uint8_t *out)
{
	unsigned bytes = r->bits / 8;
	uint64_t a = next64(), b = next64();

	for (unsigned i = 0; i < bytes; i++) {
		uint8_t rnd = (uint8_t)((i < 8 ? a >> (8 * i)
					      : b >> (8 * (i - 8))));
		unsigned fixed = r->len > 8 * i ? r->len - 8 * i : 0;
		uint8_t mask = fixed >= 8 ? 0xff : (uint8_t)(0xff00 >> fixed);

		out[i] = (uint8_t)((r->base[i] & mask) | (rnd & ~mask));
	}
	/* Not the network or broadcast address of an IPv4 /24 or shorter:
	 * nothing would route them anyway, but logs read better. */
	if (bytes == 4 && r->len <= 24 && (out[3] == 0 || out[3] == 255))
		out[3] = 1 + (uint8_t)(a % 254);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void tcp_syn(uint8_t *t, uint16_t port)
{
	memset(t, 0, TCP_LEN);
	put16(t, (uint16_t)(1024 + next64() % (65536 - 1024)));
	put16(t + 2, port);
	put32(t + 4, (uint32_t)next64());
	t[12] = (TCP_LEN / 4) << 4;
	t[13] = 0x02;			/* SYN */
	put16(t + 14, 64240);
	t[20] = 2;			/* MSS 1460 */
	t[21] = 4;
	put16(t + 22, 1460);
}

/* One frame into f; returns its length. */
static size_t frame(const struct opts *o, const uint8_t *smac, uint8_t *f)
{
	bool v6 = o->src6.set && o->dst6.set &&
		  (!o->src4.set || next64() % 100 < o->v6_percent);
	uint8_t *ip = f + 14, *t;
	uint32_t sum;

	memcpy(f, o->dmac, 6);
	memcpy(f + 6, smac, 6);
	if (!v6) {
		put16(f + 12, ETH_P_IP);
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, 20 + TCP_LEN);
		put16(ip + 4, (uint16_t)next64());
		ip[6] = 0x40;		/* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		if (o->sources) {
			uint32_t a = (uint32_t)o->src4.base[0] << 24 |
				     (uint32_t)o->src4.base[1] << 16 |
				     (uint32_t)o->src4.base[2] << 8 |
				     o->src4.base[3];

			a += (uint32_t)(next64() % o->sources);
			ip[12] = (uint8_t)(a >> 24);
			ip[13] = (uint8_t)(a >> 16);
			ip[14] = (uint8_t)(a >> 8);
			ip[15] = (uint8_t)a;
		} else {
			pick(&o->src4, ip + 12);
		}
		pick(&o->dst4, ip + 16);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		t = ip + 20;
		tcp_syn(t, o->port);
		sum = sum16(ip + 12, 8, IPPROTO_TCP + TCP_LEN);
		put16(t + 16, fold(sum16(t, TCP_LEN, sum)));
		return 14 + 20 + TCP_LEN;
	}
	put16(f + 12, ETH_P_IPV6);
	memset(ip, 0, 40);
	ip[0] = 0x60;
	put16(ip + 4, TCP_LEN);
	ip[6] = IPPROTO_TCP;
	ip[7] = 64;
	pick(&o->src6, ip + 8);
	pick(&o->dst6, ip + 24);
	t = ip + 40;
	tcp_syn(t, o->port);
	sum = sum16(ip + 8, 32, IPPROTO_TCP + TCP_LEN);
	put16(t + 16, fold(sum16(t, TCP_LEN, sum)));
	return 14 + 40 + TCP_LEN;
}

static void parse_mac(const char *s, uint8_t *mac)
{
	unsigned m[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5]) != 6)
		usage();
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "v6", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->port = 25;
	o->v6_percent = 25;
	o->count = UINT64_MAX;
	o->seconds = 1e9;
	o->batch = 64;
	o->seed = 0x853c49e6748fea9bULL ^ (uint64_t)getpid() ^
		  (uint64_t)(now_s() * 1e9);
	while ((c = getopt_long(argc, argv, "i:m:4:6:D:E:p:n:t:r:b:s:S:", lo,
				NULL)) != -1) {
		switch (c) {
		case 'i': o->iface = optarg; break;
		case 'm': parse_mac(optarg, o->dmac); break;
		case '4': parse_range(optarg, 32, &o->src4); break;
		case '6': parse_range(optarg, 128, &o->src6); break;
		case 'D': parse_range(optarg, 32, &o->dst4); break;
		case 'E': parse_range(optarg, 128, &o->dst6); break;
		case 'p': o->port = (uint16_t)atoi(optarg); break;
		case 'V': o->v6_percent = (unsigned)atoi(optarg); break;
		case 'n': o->count = strtoull(optarg, NULL, 10); break;
		case 't': o->seconds = atof(optarg); break;
		case 'r': o->rate = atof(optarg); break;
		case 'b': o->batch = (unsigned)atoi(optarg); break;
		case 's': o->seed = strtoull(optarg, NULL, 0); break;
		case 'S': o->sources = (uint32_t)strtoul(optarg, NULL, 10);
			  break;
		default: usage();
		}
	}
	if (!o->iface || optind != argc || o->batch < 1 ||
	    o->batch > MAX_BATCH || !((o->src4.set && o->dst4.set) ||
				      (o->src6.set && o->dst6.set)))
		usage();
	if (!o->src4.set || !o->dst4.set) {
		o->src4.set = o->dst4.set = false;
		o->v6_percent = 100;
	}
	if (!o->src6.set || !o->dst6.set)
		o->src6.set = o->dst6.set = false;
}

int main(int argc, char **argv)
{
	static uint8_t frames[MAX_BATCH][FRAME_MAX];
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct sigaction sa = { .sa_handler = on_signal };
	struct opts o = { 0 };
	struct ifreq ifr = { 0 };
	uint64_t sent = 0, enobufs = 0;
	double t0, deadline, elapsed;
	struct timespec next;
	int fd, one = 1, sndbuf = 4 << 20;
	uint8_t smac[6];
	unsigned i;

	parse_opts(&o, argc, argv);
	rng = o.seed ? o.seed : 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("syngen: AF_PACKET socket");
		return 1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o.iface);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror(o.iface);
		return 1;
	}
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	sll.sll_ifindex = (int)if_nametoindex(o.iface);
	sll.sll_protocol = 0;	/* send only: no packet is copied to us */
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("syngen: bind");
		return 1;
	}
	/* Straight to the driver: veth has no queue to gain from. */
	(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
			 sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf,
			 sizeof(sndbuf));

	for (i = 0; i < o.batch; i++) {
		iov[i].iov_base = frames[i];
		msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i],
						   .msg_iovlen = 1 };
	}
	t0 = now_s();
	deadline = t0 + o.seconds;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!stop && sent < o.count) {
		unsigned n = o.batch;
		int r;

		if (o.count - sent < n)
			n = (unsigned)(o.count - sent);
		for (i = 0; i < n; i++)
			iov[i].iov_len = frame(&o, smac, frames[i]);
		for (i = 0; i < n && !stop;) {
			r = sendmmsg(fd, msgs + i, n - i, 0);
			if (r > 0) {
				i += (unsigned)r;
			} else if (r < 0 && (errno == ENOBUFS ||
					     errno == EAGAIN)) {
				/* The frame was dropped: count, next. */
				enobufs++;
				i++;
			} else if (r < 0 && errno != EINTR) {
				perror("syngen: sendmmsg");
				return 1;
			}
		}
		sent += n;
		if (now_s() >= deadline)
			break;
		if (o.rate > 0) {
			/* The schedule, not the clock after sleeping, sets
			 * the next batch: the average rate stays exact. */
			long ns = (long)(1e9 * n / o.rate);

			next.tv_nsec += ns % 1000000000L;
			next.tv_sec += ns / 1000000000L + next.tv_nsec / 1000000000L;
			next.tv_nsec %= 1000000000L;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
					NULL);
		}
	}
	elapsed = now_s() - t0;
	printf("sent %" PRIu64 " in %.3f s: %.0f/s (ENOBUFS %" PRIu64 ")\n",
	       sent - enobufs, elapsed, (double)(sent - enobufs) / elapsed,
	       enobufs);
	close(fd);
	return 0;
}
