/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: a unix stream socket (mode 0660), one request per
 * connection (common/ctlproto.h), served from the daemon's main loop
 * without ever waiting on a client. The listening socket and every
 * connection are non-blocking; each connection has its own buffers and
 * an overall deadline; their number is capped, the oldest giving way to
 * a newcomer (once it has had CONTROL_YOUNG_MS to send its request), so
 * a real client gets in whatever the others do.
 */
#ifndef PORTCULLIS_CONTROL_H
#define PORTCULLIS_CONTROL_H

#include <poll.h>
#include <stdint.h>

#include "common/strbuf.h"

struct daemon;
struct control;

#define CONTROL_CONN_MAX 64		/* connections open at once */
#define CONTROL_POLLFDS (1 + CONTROL_CONN_MAX)
#define CONTROL_REQUEST_MS 2000		/* from accept to a whole request */
#define CONTROL_REPLY_MS 10000		/* from the reply to its last byte */
#define CONTROL_YOUNG_MS 50		/* a connection's time to send before
					 * a newcomer may push it out */

/* Create the socket at path (its folder made if missing). Refuses, with
 * errno EADDRINUSE, when a live daemon answers there; removes a stale
 * one. Returns the listening fd (non-blocking), or -1 with errno. */
int control_listen(const char *path);

/* Serve the listening socket lfd (which stays the caller's) for d.
 * Returns NULL with errno ENOMEM. */
struct control *control_open(struct daemon *d, int lfd);

/* Fill pfd[0 .. CONTROL_POLLFDS) for poll at now (CLOCK_MONOTONIC, ms):
 * the listening socket (fd -1 while no slot can be had), then a slot per
 * connection (fd -1 when free). Returns the monotonic ms of the earliest
 * deadline (INT64_MAX: none), which the caller's poll must not sleep
 * past. A NULL c polls nothing. */
int64_t control_pollfds(struct control *c, struct pollfd *pfd, int64_t now);

/* After poll: read, run and answer what pfd (as control_pollfds filled
 * it, revents set) says is ready, accept newcomers, close connections
 * past their deadline; now is CLOCK_MONOTONIC in ms. Never blocks:
 * commands whose request is whole run here (control_command), and at
 * least one runs per call, more while the call has taken under 10 ms. */
void control_dispatch(struct control *c, const struct pollfd *pfd,
		      int64_t now);

/* Close every connection and free c (NULL-safe); lfd stays open. */
void control_close(struct control *c);

/* Run one command for the daemon: the reply text into out. Returns 0
 * when the command succeeded, 1 when it failed (the text says why). */
int control_command(struct daemon *d, int argc, char **argv,
		    struct strbuf *out);

#endif
