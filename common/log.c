// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

/* The logger's own state: the one mutable global STYLE.md allows here. */
static struct {
	const char *prog;
	enum log_level level;
	bool syslog;
} logger = { "portcullis", LOG_LEVEL_INFO, false };

void log_init(const char *progname, enum log_level level, bool use_syslog)
{
	logger.prog = progname;
	logger.level = level;
	log_syslog(use_syslog);
}

void log_syslog(bool on)
{
	if (on && !logger.syslog)
		openlog(logger.prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && logger.syslog)
		closelog();
	logger.syslog = on;
}

bool log_enabled(enum log_level level)
{
	return level <= logger.level;
}

/* Keeps errno: a caller may log, then look at it (ntpd log.c). */
static void log_vemit(int prio, const char *err, const char *fmt, va_list ap)
{
	int saved = errno;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (logger.syslog) {
		if (err)
			syslog(LOG_DAEMON | prio, "%s: %s", msg, err);
		else
			syslog(LOG_DAEMON | prio, "%s", msg);
	} else if (err) {
		/* One write per line keeps lines whole across threads. */
		fprintf(stderr, "%s: %s: %s\n", logger.prog, msg, err);
	} else {
		fprintf(stderr, "%s: %s\n", logger.prog, msg);
	}
	errno = saved;
}

void log_warn(const char *fmt, ...)
{
	char ebuf[128];
	const char *err = strerror_r(errno, ebuf, sizeof(ebuf));
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, err, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	va_start(ap, fmt);
	log_vemit(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_enabled(LOG_LEVEL_DEBUG))
		return;
	va_start(ap, fmt);
	log_vemit(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	char ebuf[128];
	const char *err = strerror_r(errno, ebuf, sizeof(ebuf));
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_CRIT, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
