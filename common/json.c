// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdint.h>
#include <string.h>

#include "common/json.h"
#include "common/utf8.h"

size_t json_char(const unsigned char *s, size_t n, char esc[8],
		 size_t *elen)
{
	static const char hex[] = "0123456789abcdef";
	uint32_t c;
	size_t len = utf8_char(s, n, &c);

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
		memcpy(esc, "\\u", 2);
		for (size_t i = 0; i < 4; i++)
			esc[2 + i] = hex[c >> (12 - 4 * i) & 15];
		*elen = 6;
	}
	return len;
}
