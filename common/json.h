/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON strings out of any bytes: what every writer of JSON here escapes. */
#ifndef PORTCULLIS_JSON_H
#define PORTCULLIS_JSON_H

#include <stddef.h>

/*
 * The character s[0 .. n) starts with, for JSON: returns how many bytes
 * it takes (at least 1); *elen is 0 when they are copied as they are,
 * else the escape to write instead is esc[0 .. *elen). Quotes and
 * backslashes are escaped; C0, DEL and C1 controls and U+2028/U+2029
 * become \u00XX / \u20XX; a byte that is no UTF-8 (Latin-1, a cut
 * sequence) becomes \ufffd: every line is valid JSON whatever bytes a
 * note, prefix or profile brought.
 */
size_t json_char(const unsigned char *s, size_t n, char esc[8],
		 size_t *elen);

#endif
