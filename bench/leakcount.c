// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * leakcount: count the TCP SYNs to a port that arrive on an interface —
 * run in the lab's internet namespace, these are the SYNs the filter let
 * through. A plain AF_PACKET socket, no BPF: every frame is looked at.
 * Fail-open queues pass SYNs that no kernel counter shows; this does.
 *
 *   leakcount -i IFACE [-p PORT] [-o FILE]
 *
 * Runs until SIGTERM or SIGINT; on SIGUSR1 and at the end it writes
 * "syns N frames M" (SYNs to PORT, every frame seen) to FILE (default
 * standard output), replacing what was there.
 */
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#define BURST 64
#define SNAP 128

static volatile sig_atomic_t stop, report;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

/* Is this IP packet a TCP SYN (no ACK) to port? */
static int is_syn_to(const uint8_t *p, size_t len, uint16_t proto,
		     uint16_t port)
{
	size_t off;

	if (proto == ETH_P_IP) {
		if (len < 20 || (p[0] >> 4) != 4 || p[9] != IPPROTO_TCP ||
		    ((p[6] << 8 | p[7]) & 0x1fff))
			return 0;
		off = (size_t)(p[0] & 0x0f) * 4;
	} else if (proto == ETH_P_IPV6) {
		/* The generator and the lab send no extension headers. */
		if (len < 40 || p[6] != IPPROTO_TCP)
			return 0;
		off = 40;
	} else {
		return 0;
	}
	if (off + 14 > len)
		return 0;
	return (p[off + 2] << 8 | p[off + 3]) == port &&
	       (p[off + 13] & 0x12) == 0x02;
}

static void write_report(const char *path, uint64_t syns, uint64_t frames)
{
	FILE *f = path ? fopen(path, "w") : stdout;

	if (!f)
		return;
	fprintf(f, "syns %" PRIu64 " frames %" PRIu64 "\n", syns, frames);
	if (path)
		fclose(f);
	else
		fflush(f);
}

int main(int argc, char **argv)
{
	static uint8_t buf[BURST][SNAP];
	struct sockaddr_ll from[BURST];
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	struct sigaction sa = { .sa_handler = on_signal };
	const char *iface = NULL, *out = NULL;
	uint64_t syns = 0, frames = 0;
	uint16_t port = 25;
	int fd, c, rcvbuf = 8 << 20;

	while ((c = getopt(argc, argv, "i:p:o:")) != -1) {
		switch (c) {
		case 'i': iface = optarg; break;
		case 'p': port = (uint16_t)atoi(optarg); break;
		case 'o': out = optarg; break;
		default:
			fprintf(stderr, "usage: leakcount -i IFACE [-p PORT] "
				"[-o FILE]\n");
			return 2;
		}
	}
	if (!iface) {
		fprintf(stderr, "usage: leakcount -i IFACE [-p PORT] [-o FILE]\n");
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("leakcount: AF_PACKET socket");
		return 1;
	}
	sll.sll_ifindex = (int)if_nametoindex(iface);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll,
				     sizeof(sll)) < 0) {
		perror(iface);
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
			 sizeof(rcvbuf));
	for (int i = 0; i < BURST; i++) {
		iov[i] = (struct iovec){ buf[i], SNAP };
		msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
			.msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	write_report(out, 0, 0);
	while (!stop) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n;

		if (report) {
			report = 0;
			write_report(out, syns, frames);
		}
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recvmmsg(fd, msgs, BURST, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			/* Only what arrived: our own sends are not leaks. */
			if (from[i].sll_pkttype == PACKET_OUTGOING)
				continue;
			frames++;
			syns += (uint64_t)is_syn_to(buf[i], msgs[i].msg_len,
						    ntohs(from[i].sll_protocol),
						    port);
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
	}
	write_report(out, syns, frames);
	close(fd);
	return 0;
}
