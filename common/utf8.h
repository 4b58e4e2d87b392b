/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTF-8, strictly: what the loader, the JSON writers and the block-log
 * reader take for text. */
#ifndef PORTCULLIS_UTF8_H
#define PORTCULLIS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * The UTF-8 character at s[0 .. n): its length (1 to 4), its code point
 * in *cp; 0 when s does not start with one (a continuation byte, a cut
 * sequence, an overlong form, a UTF-16 surrogate, beyond U+10FFFF, or n
 * is 0).
 */
size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp);

/* Whether s[0 .. n) is UTF-8 throughout. */
int utf8_valid(const char *s, size_t n);

#endif
