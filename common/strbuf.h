/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A growable text buffer for replies and reports (never on the SYN path). */
#ifndef PORTCULLIS_STRBUF_H
#define PORTCULLIS_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *s;		/* NUL-terminated; NULL until the first append */
	size_t len, cap;
	bool oom;		/* an append failed: the text is cut */
};

/* Append printf-style. On ENOMEM the buffer keeps what it had and oom is
 * set; callers check once at the end. A NULL b takes nothing. */
void strbuf_printf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append s as a JSON string (with quotes), valid whatever its bytes
 * (common/json.h). */
void strbuf_json(struct strbuf *b, const char *s);
void strbuf_free(struct strbuf *b);

#endif
