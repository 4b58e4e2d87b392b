// SPDX-License-Identifier: GPL-2.0-or-later
/* Subscriber ids: printable ASCII, 1 to 128 characters (common/subid.h). */
#include <stdio.h>

#include "common/subid.h"

int subid_check(const char *s, size_t len, char *why, size_t size)
{
	if (len == 0) {
		snprintf(why, size, "a subscriber id is 1 to %d characters, "
			 "found an empty one", SUBID_MAX);
		return -1;
	}
	if (len > SUBID_MAX) {
		snprintf(why, size, "a subscriber id is 1 to %d characters, "
			 "found %zu", SUBID_MAX, len);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e) {
			snprintf(why, size, "a subscriber id is printable "
				 "ASCII, found the byte 0x%02x at character "
				 "%zu", c, i + 1);
			return -1;
		}
	}
	if (s[0] == ' ' || s[len - 1] == ' ') {
		snprintf(why, size, "a subscriber id does not start or end "
			 "with a space");
		return -1;
	}
	return 0;
}
