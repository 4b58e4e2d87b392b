/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What went wrong, as a caller's buffer: "char *err, size_t errlen". */
#ifndef PORTCULLIS_ERRBUF_H
#define PORTCULLIS_ERRBUF_H

#include <stddef.h>

/* printf-style into err (len bytes, cut to fit); nothing when len is 0.
 * Keeps errno. */
void errbuf_set(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
