/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: a unix stream socket (mode 0660) served from the
 * daemon's main thread, one request per connection (common/ctlproto.h).
 */
#ifndef PORTCULLIS_CONTROL_H
#define PORTCULLIS_CONTROL_H

#include "common/strbuf.h"

struct daemon;

/* Create the socket at path (its folder made if missing). Refuses, with
 * errno EADDRINUSE, when a live daemon answers there; removes a stale
 * one. Returns the listening fd, or -1 with errno. */
int control_listen(const char *path);

/* Accept and serve one connection on fd (the caller polled it). Never
 * blocks for long: a client gets a second to send and to read. */
void control_serve(struct daemon *d, int fd);

/* Run one command for the daemon: the reply text into out. Returns 0
 * when the command succeeded, 1 when it failed (the text says why). */
int control_command(struct daemon *d, int argc, char **argv,
		    struct strbuf *out);

#endif
