/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A subscriber id (DESIGN.md "Sessions"), as every room checks it. */
#ifndef PORTCULLIS_SUBID_H
#define PORTCULLIS_SUBID_H

#include <stddef.h>

#define SUBID_MAX 128		/* characters */

/*
 * Check s[0 .. len) as a subscriber id: 1-128 printable ASCII characters
 * (0x20-0x7e), not starting or ending with a space. Returns 0, or -1
 * with what is wrong in why.
 */
int subid_check(const char *s, size_t len, char *why, size_t size);

#endif
