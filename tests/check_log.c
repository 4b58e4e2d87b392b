// SPDX-License-Identifier: GPL-2.0-or-later
/* common/log: a log call leaves errno as it found it (ntpd's log.c). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common/log.h"
#include "tests/suites.h"

Suite *log_suite(void);

START_TEST(test_logging_keeps_errno)
{
	log_init("check_log", LOG_LEVEL_DEBUG, false);
	errno = ENOSPC;
	log_warn("a warning with %s", "strerror");
	ck_assert_int_eq(errno, ENOSPC);
	errno = EPIPE;
	log_warnx("a warning");
	ck_assert_int_eq(errno, EPIPE);
	errno = EAGAIN;
	log_info("information");
	ck_assert_int_eq(errno, EAGAIN);
	errno = ENOENT;
	log_debug("debugging");
	ck_assert_int_eq(errno, ENOENT);
	/* Onto a full disk: the write fails and sets errno; the caller's
	 * comes back all the same. */
	{
		int saved = dup(STDERR_FILENO);
		int full = open("/dev/full", O_WRONLY);

		ck_assert_int_ge(saved, 0);
		ck_assert_int_ge(full, 0);
		fflush(stderr);
		dup2(full, STDERR_FILENO);
		errno = ERANGE;
		log_warnx("to a full disk");
		log_warn("to a full disk, with strerror");
		ck_assert_int_eq(errno, ERANGE);
		dup2(saved, STDERR_FILENO);
		clearerr(stderr);
		close(full);
		close(saved);
	}
}
END_TEST

Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_test(tc, test_logging_keeps_errno);
	suite_add_tcase(s, tc);
	return s;
}
