/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Durations as operators write them, the same everywhere (the policy's
 * window and quarantine_for, except add --for, log --since): one or more
 * NUMBER UNIT with units s, m, h, d and w, as in "90s", "30m", "1h30m",
 * "7d", "2w". No sign, no space, no fraction.
 */
#ifndef PORTCULLIS_DURATION_H
#define PORTCULLIS_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* What the parser accepts, for messages: "such as 90s, 30m, 1h30m, 7d". */
#define DURATION_EXAMPLES "such as 90s, 30m, 1h30m or 7d"

/*
 * s in seconds into *secs. Returns 0; -1 when s is no duration or comes
 * to more than max seconds (or nothing); -2 when it is one but a number
 * has a leading zero ("010m": is that octal?), *secs then holding what it
 * would be, for a message that says what to write.
 */
int duration_parse(const char *s, uint64_t max, uint64_t *secs);

/*
 * secs as duration_parse reads it, largest units first and none that is
 * zero: 5400 → "1h30m", 86400 → "1d", 0 → "0s". Returns buf.
 */
const char *duration_format(uint64_t secs, char *buf, size_t len);

#endif
