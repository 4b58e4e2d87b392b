/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Diagnostics in the OpenBSD manner: to stderr (foreground, systemd's
 * journal) or syslog. The level is checked before anything is formatted.
 */
#ifndef PORTCULLIS_LOG_H
#define PORTCULLIS_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LEVEL_WARN = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Set the program name, verbosity and whether to use syslog. */
void log_init(const char *progname, enum log_level level, bool syslog);
/* From now on to syslog (LOG_DAEMON, with the PID) or to stderr. */
void log_syslog(bool on);
bool log_enabled(enum log_level level);

/* log_warn appends ": strerror(errno)". None of them changes errno. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Start-up only: print and exit(1). fatal appends strerror(errno). */
void fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
