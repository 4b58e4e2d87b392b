/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * systemd's service protocol (sd_notify): READY once the queues are bound
 * and the rules in, STATUS with live counters, and WATCHDOG only while
 * every verdict thread shows it is alive. Without systemd (no
 * NOTIFY_SOCKET) each call does nothing.
 */
#ifndef PORTCULLIS_NOTIFY_H
#define PORTCULLIS_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* The watchdog interval systemd asked for, in ms; 0 when none. */
uint64_t notify_watchdog_ms(void);
void notify_ready(const char *status);
void notify_status(const char *status);
void notify_reloading(void);
void notify_stopping(void);
void notify_watchdog(void);

#endif
