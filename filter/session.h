/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sessions in the daemon (filter/session.c): the identity/ table, its
 * state file, its lines, and the control socket's `session` command.
 */
#ifndef PORTCULLIS_SESSION_H
#define PORTCULLIS_SESSION_H

#include <stdint.h>

#include "common/strbuf.h"

struct daemon;

/* Open the table and read the state folder's sessions. Returns 0, or -1
 * (logged). */
int session_open(struct daemon *d);
/* Flush, close and free. */
void session_close(struct daemon *d);
/* Once a second at now (UNIX s): expiry, reclaim, the journal flushed,
 * the snapshot rewritten when the journal has grown. */
void session_tick(struct daemon *d, int64_t now);
/* Write the journal out (at a stop). */
void session_flush(struct daemon *d);
/* The control socket's `session start|stop|list`. Returns 0 or 1. */
int session_command(struct daemon *d, int argc, char **argv,
		    struct strbuf *out);

#endif
