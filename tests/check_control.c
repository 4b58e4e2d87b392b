// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control socket served without waiting on anyone: slow, idle,
 * oversized and too many clients, driven one round of the main loop at
 * a time with a clock the test moves. Only an unknown command is asked
 * for: its reply needs no running daemon.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "filter/control.h"
#include "filter/daemon.h"
#include "tests/suites.h"

static char dir[] = "/tmp/portcullis-control-XXXXXX";
static char path[128];
static struct daemon d;
static struct control *ctl;
static int lfd = -1;

static int64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void setup(void)
{
	memcpy(dir, "/tmp/portcullis-control-XXXXXX", sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	lfd = control_listen(path);
	ck_assert_int_ge(lfd, 0);
	ctl = control_open(&d, lfd);
	ck_assert_ptr_nonnull(ctl);
}

static void teardown(void)
{
	control_close(ctl);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

/* rounds rounds of the main loop at now, none waiting. */
static void serve(int rounds, int64_t now)
{
	struct pollfd pfd[CONTROL_POLLFDS];

	for (int i = 0; i < rounds; i++) {
		control_pollfds(ctl, pfd, now);
		ck_assert_int_ge(poll(pfd, CONTROL_POLLFDS, 0), 0);
		control_dispatch(ctl, pfd, now);
	}
}

static int client(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	strcpy(sun.sun_path, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

static void say(int fd, const char *s, size_t len)
{
	ck_assert_int_eq(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* What fd holds now, without waiting; *eof tells whether the daemon's
 * side is closed behind it. */
static char *heard(int fd, bool *eof)
{
	static char buf[8192];
	size_t len = 0;

	*eof = false;
	while (len < sizeof(buf) - 1) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len,
				 MSG_DONTWAIT);

		if (n <= 0) {
			*eof = n == 0 || errno == ECONNRESET;
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

START_TEST(test_request_is_answered_then_closed)
{
	int fd = client();
	bool eof;

	say(fd, "frobnicate\n\n", 12);
	serve(2, mono());
	ck_assert_str_eq(heard(fd, &eof), "1\nunknown command 'frobnicate'\n");
	ck_assert(eof);
	close(fd);
}
END_TEST

START_TEST(test_request_in_pieces_is_put_together)
{
	int fd = client();
	int64_t now = mono();
	bool eof;

	say(fd, "frob", 4);
	serve(2, now);
	ck_assert_str_eq(heard(fd, &eof), "");
	ck_assert(!eof);
	say(fd, "nicate\n", 7);
	serve(1, now + 500);
	say(fd, "\n", 1);
	serve(1, now + 1000);
	ck_assert_str_eq(heard(fd, &eof), "1\nunknown command 'frobnicate'\n");
	ck_assert(eof);
	close(fd);
}
END_TEST

START_TEST(test_slow_client_does_not_hold_the_next_one)
{
	int slow = client(), fast;
	int64_t now = mono();
	bool eof;

	say(slow, "s", 1);
	serve(1, now);
	fast = client();
	say(fast, "frobnicate\n\n", 12);
	serve(2, now + 100);
	ck_assert_str_eq(heard(fast, &eof), "1\nunknown command 'frobnicate'\n");
	ck_assert(eof);
	ck_assert_str_eq(heard(slow, &eof), "");
	ck_assert(!eof);
	close(fast);
	close(slow);
}
END_TEST

START_TEST(test_request_not_whole_by_the_deadline_is_told_and_closed)
{
	int fd = client();
	int64_t now = mono();
	bool eof;

	say(fd, "sta", 3);
	serve(1, now);
	serve(1, now + CONTROL_REQUEST_MS - 1);
	ck_assert_str_eq(heard(fd, &eof), "");
	ck_assert(!eof);
	serve(1, now + CONTROL_REQUEST_MS);
	ck_assert_str_eq(heard(fd, &eof),
			 "1\nrequest not complete within 2 s\n");
	ck_assert(eof);
	close(fd);
}
END_TEST

START_TEST(test_poll_wakes_for_the_first_deadline)
{
	struct pollfd pfd[CONTROL_POLLFDS];
	int64_t now = mono(), due;
	int fd = client();

	ck_assert(control_pollfds(ctl, pfd, now) == INT64_MAX);
	serve(1, now);
	due = control_pollfds(ctl, pfd, now);
	ck_assert(due == now + CONTROL_REQUEST_MS);
	close(fd);
}
END_TEST

START_TEST(test_oversized_request_gets_the_error_text)
{
	static char big[100000];
	int fd = client();
	bool eof;

	memset(big, 'x', sizeof(big));
	say(fd, big, sizeof(big));
	serve(4, mono());
	ck_assert_str_eq(heard(fd, &eof), "1\nrequest over 4096 bytes\n");
	ck_assert(eof);
	close(fd);
}
END_TEST

START_TEST(test_malformed_request_is_refused)
{
	int fd = client();
	bool eof;

	say(fd, "stats\n\nmore\n\n", 13);
	serve(2, mono());
	ck_assert_str_eq(heard(fd, &eof), "1\nmalformed request\n");
	ck_assert(eof);
	close(fd);
}
END_TEST

START_TEST(test_client_gone_before_its_request_costs_nothing)
{
	int fd = client();

	close(fd);
	serve(2, mono());
	/* Its slot is free again: no deadline left to wake for. */
	{
		struct pollfd pfd[CONTROL_POLLFDS];

		ck_assert(control_pollfds(ctl, pfd, mono()) == INT64_MAX);
	}
}
END_TEST

START_TEST(test_past_the_cap_the_oldest_idle_one_gives_way)
{
	int idle[CONTROL_CONN_MAX], fd;
	int64_t now = mono();
	bool eof;

	for (int i = 0; i < CONTROL_CONN_MAX; i++) {
		idle[i] = client();
		serve(1, now + i);
	}
	fd = client();
	say(fd, "frobnicate\n\n", 12);
	serve(2, now + 100);
	ck_assert_str_eq(heard(fd, &eof), "1\nunknown command 'frobnicate'\n");
	ck_assert(eof);
	ck_assert_str_eq(heard(idle[0], &eof),
			 "1\ntoo many connections; closed as the oldest\n");
	ck_assert(eof);
	ck_assert_str_eq(heard(idle[1], &eof), "");
	ck_assert(!eof);
	for (int i = 0; i < CONTROL_CONN_MAX; i++)
		close(idle[i]);
	close(fd);
}
END_TEST

START_TEST(test_newcomer_waits_while_every_connection_is_young)
{
	struct pollfd pfd[CONTROL_POLLFDS];
	int idle[CONTROL_CONN_MAX], fd;
	int64_t now = mono();
	bool eof;

	for (int i = 0; i < CONTROL_CONN_MAX; i++)
		idle[i] = client();
	serve(CONTROL_CONN_MAX / 8, now);
	fd = client();
	say(fd, "frobnicate\n\n", 12);
	/* Not even polled for: the newcomer waits in the backlog. */
	ck_assert(control_pollfds(ctl, pfd, now + 10) ==
		  now + CONTROL_YOUNG_MS);
	ck_assert_int_eq(pfd[0].fd, -1);
	serve(2, now + 10);
	ck_assert_str_eq(heard(fd, &eof), "");
	ck_assert(!eof);
	serve(2, now + CONTROL_YOUNG_MS);
	ck_assert_str_eq(heard(fd, &eof), "1\nunknown command 'frobnicate'\n");
	ck_assert(eof);
	for (int i = 0; i < CONTROL_CONN_MAX; i++)
		close(idle[i]);
	close(fd);
}
END_TEST

START_TEST(test_a_thousand_connections_then_a_real_client)
{
	int64_t now = mono();
	int fd;
	bool eof;

	/* Closed at once by the client, or pushed out once old enough:
	 * either way a slot for the next. */
	for (int i = 0; i < 1000; i++) {
		int c = client();

		now += CONTROL_YOUNG_MS / 4;
		serve(1, now);
		if (i % 2)
			close(c);
	}
	fd = client();
	say(fd, "frobnicate\n\n", 12);
	serve(2, now + CONTROL_YOUNG_MS);
	ck_assert_str_eq(heard(fd, &eof), "1\nunknown command 'frobnicate'\n");
	ck_assert(eof);
	close(fd);
}
END_TEST

Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("serve");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_request_is_answered_then_closed);
	tcase_add_test(tc, test_request_in_pieces_is_put_together);
	tcase_add_test(tc, test_slow_client_does_not_hold_the_next_one);
	tcase_add_test(tc,
		       test_request_not_whole_by_the_deadline_is_told_and_closed);
	tcase_add_test(tc, test_poll_wakes_for_the_first_deadline);
	tcase_add_test(tc, test_oversized_request_gets_the_error_text);
	tcase_add_test(tc, test_malformed_request_is_refused);
	tcase_add_test(tc, test_client_gone_before_its_request_costs_nothing);
	tcase_add_test(tc, test_past_the_cap_the_oldest_idle_one_gives_way);
	tcase_add_test(tc, test_newcomer_waits_while_every_connection_is_young);
	tcase_add_test(tc, test_a_thousand_connections_then_a_real_client);
	suite_add_tcase(s, tc);
	return s;
}
