// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/queue against the real kernel. Each test runs in a network
 * namespace of its own (unshare(2) in Check's forked child, gone when the
 * child exits), so no queue or rule of the host is touched. The packets
 * are local SYNs to 198.51.100.1 on that namespace's loopback, queued in
 * OUTPUT. Without root the tests are skipped with a message.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "filter/parse.h"
#include "netlink/queue.h"
#include "tests/helpers.h"

Suite *queue_suite(void);

#define QNUM		65000
#define REJECT_MARK	0x100

/* Loopback up, 198.51.100.1 on it, SYNs to :25 queued to QNUM in OUTPUT,
 * marked ones rejected first. */
static void local_lab(void)
{
	ck_assert_int_eq(system("ip link set lo up && "
				"ip addr add 198.51.100.1/32 dev lo && "
				"iptables -A OUTPUT -p tcp -m mark --mark "
				"0x100/0x100 -j REJECT --reject-with tcp-reset"
				" && iptables -A OUTPUT -d 198.51.100.1 -p tcp"
				" --syn --dport 25 -j NFQUEUE --queue-num 65000"),
			 0);
}

/* A non-blocking connect to 198.51.100.1:port; returns the socket. */
static int start_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	ck_assert_int_ge(fd, 0);
	inet_pton(AF_INET, "198.51.100.1", &sin.sin_addr);
	ck_assert(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
		  errno == EINPROGRESS);
	return fd;
}

/* Wait for the connect's outcome; returns its errno (0: connected). */
static int connect_result(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&pfd, 1, 2000) != 1)
		return ETIMEDOUT;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return err;
}

START_TEST(test_second_bind_is_refused_with_a_clear_error)
{
	char err[256];
	struct queue *a, *b;

	if (!tests_netns("check_queue"))
		return;
	a = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_msg(a != NULL, "first open: %s", err);
	ck_assert_uint_eq(queue_num(a), QNUM);
	ck_assert_int_ge(queue_fd(a), 0);

	errno = 0;
	b = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_ptr_null(b);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_msg(strstr(err, "queue 65000 is already bound by another "
			     "socket") != NULL, "message: %s", err);

	/* Another number is free, and the first one is after a close. */
	b = queue_open(QNUM + 1, NULL, err, sizeof(err));
	ck_assert_msg(b != NULL, "other queue: %s", err);
	queue_close(b);
	queue_close(a);
	a = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_msg(a != NULL, "reopen: %s", err);
	queue_close(a);
}
END_TEST

START_TEST(test_bad_config_is_refused)
{
	struct queue_config cfg = { .copy_range = 70000 };
	char err[256];

	errno = 0;
	ck_assert_ptr_null(queue_open(QNUM, &cfg, err, sizeof(err)));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "copy range 70000"));
	cfg.copy_range = 0;
	cfg.burst = 5000;
	ck_assert_ptr_null(queue_open(QNUM, &cfg, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	queue_close(NULL);
}
END_TEST

static void never(struct queue *q, const struct queue_packet *pkt,
		  void *arg)
{
	(void)q;
	(void)pkt;
	(void)arg;
	ck_abort_msg("no packet expected");
}

START_TEST(test_receive_times_out_and_counts_refused_verdicts)
{
	struct queue_stats st;
	struct queue *q;
	char err[256];

	if (!tests_netns("check_queue"))
		return;
	q = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	ck_assert_int_eq(queue_receive(q, never, NULL, 50), 0);
	/* No packet 4242 waits: the kernel answers ENOENT. */
	ck_assert_int_eq(queue_verdict(q, 4242, QUEUE_ACCEPT, 0), 0);
	ck_assert_int_eq(queue_receive(q, never, NULL, 200), 0);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.verdicts, 1);
	ck_assert_uint_eq(st.verdict_errors, 1);
	ck_assert_uint_gt(st.rcvbuf, 0);
	queue_close(q);
}
END_TEST

static void *interrupt_later(void *arg)
{
	usleep(100 * 1000);
	queue_interrupt(arg);
	return NULL;
}

START_TEST(test_interrupt_wakes_a_blocked_receive)
{
	struct queue *q;
	pthread_t t;
	char err[256];

	if (!tests_netns("check_queue"))
		return;
	q = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	ck_assert_int_eq(pthread_create(&t, NULL, interrupt_later, q), 0);
	errno = 0;
	ck_assert_int_eq(queue_receive(q, never, NULL, -1), -1);
	ck_assert_int_eq(errno, EINTR);
	pthread_join(t, NULL);
	/* It stays interrupted. */
	ck_assert_int_eq(queue_receive(q, never, NULL, -1), -1);
	ck_assert_int_eq(errno, EINTR);
	queue_close(q);
}
END_TEST

struct seen {
	unsigned n;
	struct queue_packet pkt;
	struct parse_syn syn;
	enum parse_status st;
	enum queue_verdict v;
};

static void judge(struct queue *q, const struct queue_packet *pkt, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->pkt = *pkt;
	s->st = parse_syn(pkt->payload, pkt->len, &s->syn);
	ck_assert_int_eq(queue_verdict(q, pkt->id, s->v,
				       pkt->mark | REJECT_MARK), 0);
}

START_TEST(test_repeat_with_mark_rejects_a_syn)
{
	struct seen s = { .v = QUEUE_REPEAT };
	struct queue_stats st;
	struct queue *q;
	char err[256];
	int fd;

	if (!tests_netns("check_queue"))
		return;
	local_lab();
	q = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	fd = start_connect(25);
	ck_assert_int_eq(queue_receive(q, judge, &s, 2000), 1);
	ck_assert_int_eq(s.st, PARSE_SYN);
	ck_assert_uint_eq(s.pkt.hw_protocol, ETH_P_IP);
	ck_assert_uint_eq(s.syn.flow.dport, 25);
	ck_assert_uint_eq(s.syn.flow.dst.b[15], 1);
	ck_assert_int_eq(connect_result(fd), ECONNREFUSED);
	close(fd);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.packets, 1);
	ck_assert_uint_eq(st.verdicts, 1);
	ck_assert_uint_eq(st.verdict_errors, 0);
	queue_close(q);
}
END_TEST

START_TEST(test_drop_verdict_leaves_the_connect_waiting)
{
	struct seen s = { .v = QUEUE_DROP };
	struct pollfd pfd = { .events = POLLOUT };
	struct queue *q;
	char err[256];
	int fd;

	if (!tests_netns("check_queue"))
		return;
	local_lab();
	q = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	fd = start_connect(25);
	pfd.fd = fd;
	ck_assert_int_eq(queue_receive(q, judge, &s, 2000), 1);
	ck_assert_int_eq(s.st, PARSE_SYN);
	/* Nothing answers within the first retransmission timeout. */
	ck_assert_int_eq(poll(&pfd, 1, 300), 0);
	close(fd);
	queue_close(q);
}
END_TEST

START_TEST(test_overrun_is_counted_not_fatal)
{
	struct queue_config cfg = { .rcvbuf = 4096, .burst = 16 };
	struct seen s = { .v = QUEUE_REPEAT };
	struct queue_stats st;
	struct queue *q;
	char err[256];
	int fds[64], i, n, total = 0;

	if (!tests_netns("check_queue"))
		return;
	local_lab();
	q = queue_open(QNUM, &cfg, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	for (i = 0; i < 64; i++)
		fds[i] = start_connect(25);
	while ((n = queue_receive(q, judge, &s, 200)) > 0)
		total += n;
	ck_assert_int_eq(n, 0);
	queue_stats(q, &st);
	ck_assert_uint_ge(st.enobufs, 1);
	ck_assert_int_gt(total, 0);
	ck_assert_int_lt(total, 64);
	/* The socket still works after the overrun. */
	ck_assert_uint_eq(st.verdict_errors, 0);
	for (i = 0; i < 64; i++)
		close(fds[i]);
	queue_close(q);
}
END_TEST

/* Answers packets in the order delivered: the first `repeat` with
 * REPEAT + mark, the rest with DROP, except packet number `leave`
 * (1-based; 0: none), which is left for later. */
struct plan {
	unsigned n, repeat, leave;
	uint32_t left_id;
};

static void by_plan(struct queue *q, const struct queue_packet *pkt,
		    void *arg)
{
	struct plan *p = arg;

	p->n++;
	if (p->n == p->leave) {
		p->left_id = pkt->id;
		return;
	}
	ck_assert_int_eq(queue_verdict(q, pkt->id, p->n <= p->repeat ?
				       QUEUE_REPEAT : QUEUE_DROP,
				       pkt->mark | REJECT_MARK), 0);
}

/* Packets still waiting in the kernel for a verdict on QNUM. */
static unsigned kernel_waiting(void)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	unsigned num, portid, total = 0, found = 0;
	char line[256];

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %u", &num, &portid, &total) == 3 &&
		    num == QNUM)
			found = total;
	fclose(f);
	return found;
}

/* Every one of the n connects answered: the first `refused` reset, none
 * waiting in the kernel, no verdict refused; the fds closed, the
 * counters in *st. */
static void all_answered(struct queue *q, int *fds, int n, int refused,
			 struct queue_stats *st)
{
	for (int i = 0; i < refused; i++)
		ck_assert_int_eq(connect_result(fds[i]), ECONNREFUSED);
	ck_assert_uint_eq(kernel_waiting(), 0);
	queue_stats(q, st);
	ck_assert_uint_eq(st->verdicts, (unsigned)n);
	ck_assert_uint_eq(st->verdict_errors, 0);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

START_TEST(test_equal_verdicts_go_as_one_batch_message)
{
	struct plan p = { .repeat = 10, .leave = 0 };
	struct queue_stats st;
	struct queue *q;
	char err[256];
	int fds[16], i;

	if (!tests_netns("check_queue"))
		return;
	local_lab();
	q = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	for (i = 0; i < 16; i++)
		fds[i] = start_connect(25);
	ck_assert_int_eq(queue_receive(q, by_plan, &p, 2000), 16);
	/* Ten rejected, six dropped: two runs, two batch messages. */
	all_answered(q, fds, 16, 10, &st);
	ck_assert_uint_eq(st.batch_msgs, 2);
	queue_close(q);
}
END_TEST

/* The look-ahead sees each burst whole, then cb gets its packets one by
 * one, in that order, at the same addresses. */
struct ahead {
	struct plan p;
	const struct queue_packet *pkts;
	unsigned n, next, looks, seen;
};

static void ahead_look(struct queue *q, const struct queue_packet *pkts,
		       unsigned n, void *arg)
{
	struct ahead *a = arg;

	(void)q;
	ck_assert_uint_eq(a->next, a->n);	/* the last burst all given */
	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(n, 8);
	a->pkts = pkts;
	a->n = n;
	a->next = 0;
	a->looks++;
}

static void ahead_packet(struct queue *q, const struct queue_packet *pkt,
			 void *arg)
{
	struct ahead *a = arg;

	ck_assert_ptr_eq(pkt, &a->pkts[a->next]);
	a->next++;
	a->seen++;
	by_plan(q, pkt, &a->p);
}

/* Packet 3 of 8 left for later gets no batch verdict with the others;
 * with look, the queue shows the burst to a look-ahead first. */
static void left_for_later(bool look)
{
	struct ahead a = { .p = { .repeat = 8, .leave = 3 } };
	struct pollfd pfd = { .events = POLLOUT };
	struct queue_stats st;
	struct queue *q;
	char err[256];
	int fds[8], i;

	if (!tests_netns("check_queue"))
		return;
	local_lab();
	q = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	if (look)
		queue_set_lookahead(q, ahead_look, &a);
	for (i = 0; i < 8; i++)
		fds[i] = start_connect(25);
	while (a.p.n < 8 && queue_receive(q, look ? ahead_packet : by_plan,
					  look ? (void *)&a : (void *)&a.p,
					  2000) > 0)
		;
	ck_assert_uint_eq(a.p.n, 8);
	for (i = 0; i < 8; i++)
		if (i != 2)
			ck_assert_int_eq(connect_result(fds[i]), ECONNREFUSED);
	/* The third still waits for its verdict, */
	ck_assert_uint_eq(kernel_waiting(), 1);
	pfd.fd = fds[2];
	ck_assert_int_eq(poll(&pfd, 1, 100), 0);
	/* and gets it now. */
	ck_assert_int_eq(queue_verdict(q, a.p.left_id, QUEUE_REPEAT,
				       REJECT_MARK), 0);
	ck_assert_int_eq(connect_result(fds[2]), ECONNREFUSED);
	queue_stats(q, &st);
	ck_assert_uint_eq(st.verdicts, 8);
	/* Only the run before the packet left went as a batch. */
	ck_assert_uint_eq(st.batch_msgs, 1);
	ck_assert_uint_eq(st.verdict_errors, 0);
	for (i = 0; i < 8; i++)
		close(fds[i]);
	queue_close(q);
}

START_TEST(test_a_packet_left_for_later_is_not_swept_by_a_batch)
{
	left_for_later(false);
}
END_TEST

START_TEST(test_lookahead_keeps_a_left_packet_out_of_batches)
{
	left_for_later(true);
}
END_TEST

START_TEST(test_lookahead_sees_each_burst_before_its_packets)
{
	struct queue_config cfg = { .burst = 8 };
	struct ahead a = { .p = { .repeat = 12, .leave = 0 } };
	struct queue_stats st;
	struct queue *q;
	char err[256];
	int fds[20], i, n;

	if (!tests_netns("check_queue"))
		return;
	local_lab();
	q = queue_open(QNUM, &cfg, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	queue_set_lookahead(q, ahead_look, &a);
	for (i = 0; i < 20; i++)
		fds[i] = start_connect(25);
	while (a.seen < 20 && (n = queue_receive(q, ahead_packet, &a, 2000)) > 0)
		;
	ck_assert_uint_eq(a.seen, 20);
	ck_assert_uint_eq(a.next, a.n);
	ck_assert_uint_ge(a.looks, 3);		/* 20 packets, bursts of 8 */
	/* The verdicts given in cb still go out in runs. */
	all_answered(q, fds, 20, 12, &st);
	ck_assert_uint_ge(st.batch_msgs, 2);
	queue_close(q);
}
END_TEST

Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("kernel");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_second_bind_is_refused_with_a_clear_error);
	tcase_add_test(tc, test_bad_config_is_refused);
	tcase_add_test(tc, test_receive_times_out_and_counts_refused_verdicts);
	tcase_add_test(tc, test_interrupt_wakes_a_blocked_receive);
	tcase_add_test(tc, test_repeat_with_mark_rejects_a_syn);
	tcase_add_test(tc, test_drop_verdict_leaves_the_connect_waiting);
	tcase_add_test(tc, test_overrun_is_counted_not_fatal);
	tcase_add_test(tc, test_equal_verdicts_go_as_one_batch_message);
	tcase_add_test(tc, test_a_packet_left_for_later_is_not_swept_by_a_batch);
	tcase_add_test(tc, test_lookahead_sees_each_burst_before_its_packets);
	tcase_add_test(tc, test_lookahead_keeps_a_left_packet_out_of_batches);
	suite_add_tcase(s, tc);
	return s;
}
