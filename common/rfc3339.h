/* SPDX-License-Identifier: GPL-2.0-or-later */
/* RFC 3339 times, UTC, without the C library's time zone state: what the
 * policy's expiries, the block log and every command read and write. */
#ifndef PORTCULLIS_RFC3339_H
#define PORTCULLIS_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Parse an RFC 3339 time ("2027-03-01T00:00:00Z", fractions and +hh:mm
 * offsets allowed, a leap second read as :59) into UNIX seconds.
 * Returns 0, or -1 if malformed. */
int rfc3339_parse(const char *s, int64_t *t);

/* As rfc3339_parse, into UNIX milliseconds (digits past the third of a
 * fraction are dropped). Returns 0, or -1 if malformed or out of range. */
int rfc3339_parse_ms(const char *s, int64_t *ms);

/* Format UNIX seconds as "2027-03-01T00:00:00Z" into buf (>= 21 bytes). */
const char *rfc3339_format(int64_t t, char *buf, size_t len);

#endif
