// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * minimal_consumer: the naive userspace limit of an NFQUEUE consumer, as
 * libnetfilter_queue's own example does it — libmnl, one recv and one
 * verdict message per packet, no policy. The socket is set up as
 * portcullisd sets up its queues (netlink/queue.c defaults): copy range
 * 256, queue length 8192, receive buffer 2 KiB per queued packet, GSO.
 *
 * The verdict is the one portcullisd gives the bench's traffic, so that
 * the kernel does the same work after it: SYNs to port 25 get NF_REPEAT
 * with the reject mark (the ruleset answers them with a TCP reset), all
 * else is accepted. -d gives port 25 NF_DROP instead, -a accepts it.
 *
 * -b makes it the batched limit instead: still no policy, but each
 * wake-up receives up to 64 messages with one recvmmsg() and answers
 * each run of equal verdicts with one NFQNL_MSG_VERDICT_BATCH, all in one
 * send: what any consumer that batches pays the kernel per SYN, and so
 * the floor under portcullisd's figure.
 *
 *   minimal_consumer [-q QUEUE] [-d | -a] [-b] [--fail-open]
 *
 * Prints "ready" once bound; at SIGTERM/SIGINT prints "judged N".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/netfilter.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define COPY_RANGE	256
#define QUEUE_MAXLEN	8192
#define RCVBUF		(QUEUE_MAXLEN * 2048)
#define REJECT_MARK	0x40000000u
#define BUF_SIZE	(COPY_RANGE + 512)
#define CFG_BUF		8192
#define VERDICT_BUF	128
#define BURST		64

enum { V_REJECT, V_DROP, V_ACCEPT };

static struct mnl_socket *nl;
static uint16_t qnum;
static int port25_verdict = V_REJECT;
static uint64_t judged;
static bool batched;

/* -b: the burst's verdicts, runs of equal ones, sent together. */
static char vbuf[BURST * VERDICT_BUF];
static size_t vlen;
static struct {
	uint32_t last, mark;
	int verdict;
	unsigned n;
} run;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint16_t dport_of(const uint8_t *p, uint16_t len)
{
	size_t off;

	if (len < 20)
		return 0;
	off = (p[0] >> 4) == 6 ? 40 : (size_t)(p[0] & 0x0f) * 4;
	if (off + 4 > len)
		return 0;
	return (uint16_t)(p[off + 2] << 8 | p[off + 3]);
}

/* -b: the run so far as one verdict message into vbuf. */
static void run_end(void)
{
	struct nlmsghdr *v;

	if (!run.n)
		return;
	v = nfq_nlmsg_put(vbuf + vlen, run.n == 1 ? NFQNL_MSG_VERDICT
						 : NFQNL_MSG_VERDICT_BATCH,
			  qnum);
	nfq_nlmsg_verdict_put(v, (int)run.last, run.verdict);
	if (run.verdict == NF_REPEAT)
		nfq_nlmsg_verdict_put_mark(v, run.mark);
	vlen += v->nlmsg_len;
	run.n = 0;
}

static int on_packet(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	char buf[VERDICT_BUF];
	struct nfqnl_msg_packet_hdr *ph;
	struct nlmsghdr *v;
	uint32_t id, mark = 0;
	uint16_t port = 0;
	int verdict = NF_ACCEPT;

	(void)data;
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (attr[NFQA_PAYLOAD])
		port = dport_of(mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
				mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]));
	if (attr[NFQA_MARK])
		mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));

	if (port == 25 && port25_verdict == V_REJECT) {
		verdict = NF_REPEAT;
		mark |= REJECT_MARK;
	} else if (port == 25 && port25_verdict == V_DROP) {
		verdict = NF_DROP;
	}
	judged++;
	if (batched) {
		if (run.n && (run.verdict != verdict ||
			      (verdict == NF_REPEAT && run.mark != mark)))
			run_end();
		run.last = id;
		run.verdict = verdict;
		run.mark = mark;
		run.n++;
		return MNL_CB_OK;
	}
	v = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, qnum);
	nfq_nlmsg_verdict_put(v, (int)id, verdict);
	if (verdict == NF_REPEAT)
		nfq_nlmsg_verdict_put_mark(v, mark);
	if (mnl_socket_sendto(nl, v, v->nlmsg_len) < 0)
		perror("minimal_consumer: verdict");
	return MNL_CB_OK;
}

/* -b: one message per wake-up, each read with recvmmsg() into its own
 * slot; their verdicts go in one send. */
static int burst(unsigned portid)
{
	static char rx[BURST][BUF_SIZE];
	struct mmsghdr msgs[BURST];
	struct iovec iov[BURST];
	int i, n;

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BURST; i++) {
		iov[i].iov_base = rx[i];
		iov[i].iov_len = BUF_SIZE;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	/* Block for the first, then take what else is there. */
	n = recvmmsg(mnl_socket_get_fd(nl), msgs, BURST, MSG_WAITFORONE,
		     NULL);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++)
		mnl_cb_run(rx[i], msgs[i].msg_len, 0, portid, on_packet, NULL);
	run_end();
	if (vlen && mnl_socket_sendto(nl, vbuf, vlen) < 0)
		perror("minimal_consumer: verdicts");
	vlen = 0;
	return 0;
}

static int config(struct nlmsghdr *nlh)
{
	char buf[CFG_BUF];
	int n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -1;
	return mnl_cb_run(buf, (size_t)n, 0, mnl_socket_get_portid(nl), NULL,
			  NULL) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "fail-open", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[CFG_BUF];
	struct sigaction sa = { .sa_handler = on_signal };
	uint32_t flags = NFQA_CFG_F_GSO;
	struct nlmsghdr *nlh;
	int c, half = RCVBUF / 2;
	unsigned portid;

	while ((c = getopt_long(argc, argv, "q:dab", lo, NULL)) != -1) {
		switch (c) {
		case 'q': qnum = (uint16_t)atoi(optarg); break;
		case 'd': port25_verdict = V_DROP; break;
		case 'a': port25_verdict = V_ACCEPT; break;
		case 'b': batched = true; break;
		case 'o': flags |= NFQA_CFG_F_FAIL_OPEN; break;
		default:
			fprintf(stderr, "usage: minimal_consumer [-q QUEUE] "
				"[-d | -a] [-b] [--fail-open]\n");
			return 2;
		}
	}
	/* No SA_RESTART: the blocked recv returns and the loop ends. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("minimal_consumer: netlink");
		return 1;
	}
	portid = mnl_socket_get_portid(nl);
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &half, sizeof(half)) < 0)
		perror("minimal_consumer: SO_RCVBUFFORCE");

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, qnum);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	if (config(nlh) < 0) {
		perror("minimal_consumer: bind");
		return 1;
	}
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, qnum);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, COPY_RANGE);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, QUEUE_MAXLEN);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK,
			 htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	if (config(nlh) < 0) {
		perror("minimal_consumer: config");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	while (!stop && batched) {
		if (burst(portid) < 0 && errno != EINTR && errno != ENOBUFS) {
			perror("minimal_consumer: recvmmsg");
			return 1;
		}
	}
	while (!stop) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, BUF_SIZE);

		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			perror("minimal_consumer: recv");
			return 1;
		}
		mnl_cb_run(buf, (size_t)n, 0, portid, on_packet, NULL);
	}
	printf("judged %" PRIu64 "\n", judged);
	mnl_socket_close(nl);
	return 0;
}
