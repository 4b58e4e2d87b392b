/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's wire format, shared by portcullisd and portcullis.
 *
 * Request: each argument followed by '\n', then an empty line. Arguments
 * hold no '\n' and no NUL. Reply: a status line "0\n" (success) or "1\n"
 * (the command failed), then text until the server closes the socket.
 */
#ifndef PORTCULLIS_CTLPROTO_H
#define PORTCULLIS_CTLPROTO_H

#include <stddef.h>

/* Where portcullisd listens and portcullis connects unless told
 * otherwise (--control); systemd's RuntimeDirectory makes the folder. */
#define CTL_SOCKET_DEFAULT "/run/portcullis/control.sock"

#define CTL_REQUEST_MAX 4096	/* bytes in one request */
#define CTL_ARGS_MAX 16

/*
 * Parse a request in buf[0 .. len) in place (the '\n's become NULs) into
 * at most CTL_ARGS_MAX pointers in argv. Returns the argument count, 0
 * when the request is not complete yet, or -1 with errno EINVAL when it
 * is malformed (NUL inside, too many arguments, no command).
 */
int ctlproto_parse(char *buf, size_t len, char **argv);

/* Encode argc arguments into buf. Returns the length, or -1 with errno
 * EINVAL (an argument with '\n', or empty) or EMSGSIZE. */
int ctlproto_encode(char *buf, size_t len, int argc, char *const *argv);

#endif
