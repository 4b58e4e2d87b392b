// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdint.h>
#include <string.h>

#include "common/json.h"

size_t json_char(const unsigned char *s, size_t n, char esc[8],
		 size_t *elen)
{
	uint32_t c = s[0], min = 0;
	size_t len = 1, i;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else if (c >= 0x80) {
		len = 0;
	}
	if (len > n)
		len = 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			len = 0;
			break;
		}
		c = c << 6 | (s[i] & 0x3f);
	}
	if (len > 1 && (c < min || (c >= 0xd800 && c <= 0xdfff) ||
			c > 0x10ffff))
		len = 0;
	*elen = 0;
	if (!len) {
		memcpy(esc, "\\ufffd", 6);
		*elen = 6;
		return 1;
	}
	if (c == '"' || c == '\\') {
		esc[0] = '\\';
		esc[1] = (char)c;
		*elen = 2;
	} else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 ||
		   c == 0x2029) {
		static const char hex[] = "0123456789abcdef";

		memcpy(esc, "\\u", 2);
		for (i = 0; i < 4; i++)
			esc[2 + i] = hex[c >> (12 - 4 * i) & 15];
		*elen = 6;
	}
	return len;
}

