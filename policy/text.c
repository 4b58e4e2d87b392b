// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Text as policy/ accepts it: UTF-8 only (a policy, a list, the state
 * file), and the notes of live exceptions, which end up in JSON lines,
 * the state file and terminals.
 */
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "load.h"

const char *text_encoding_problem(const char *buf, size_t len, char *out,
				  size_t size)
{
	const unsigned char *b = (const unsigned char *)buf;

	if (len >= 4 && !memcmp(b, "\xff\xfe\0\0", 4))
		snprintf(out, size, "UTF-32 (little-endian, byte order mark "
			 "FF FE 00 00)");
	else if (len >= 4 && !memcmp(b, "\0\0\xfe\xff", 4))
		snprintf(out, size, "UTF-32 (big-endian, byte order mark "
			 "00 00 FE FF)");
	else if (len >= 2 && b[0] == 0xff && b[1] == 0xfe)
		snprintf(out, size, "UTF-16 (little-endian, byte order mark "
			 "FF FE)");
	else if (len >= 2 && b[0] == 0xfe && b[1] == 0xff)
		snprintf(out, size, "UTF-16 (big-endian, byte order mark "
			 "FE FF)");
	else if (len >= 2 && (!b[0] != !b[1]))
		/* "v\0e\0r\0" or "\0v\0e\0r": a NUL byte beside each ASCII
		 * character is UTF-16 saved without a byte order mark. */
		snprintf(out, size, "UTF-16 (a NUL byte beside each ASCII "
			 "character)");
	else
		return NULL;
	return out;
}

const char *text_octal_note(const char *d, size_t n, char *out, size_t size)
{
	unsigned long long v = 0;
	size_t i;

	if (n > 20)
		return "";
	for (i = 0; i < n; i++) {
		if (d[i] < '0' || d[i] > '7')
			return "";
		v = v * 8 + (unsigned)(d[i] - '0');
	}
	snprintf(out, size, " (YAML 1.1 tools read %.*s as octal, %llu)",
		 (int)n, d, v);
	return out;
}

/* A short name for a control character, for messages. */
static const char *control_name(uint32_t c)
{
	switch (c) {
	case 0x00:
		return " (NUL)";
	case 0x09:
		return " (tab)";
	case 0x0a:
		return " (line feed)";
	case 0x0d:
		return " (carriage return)";
	case 0x1b:
		return " (escape)";
	case 0x7f:
		return " (DEL)";
	case 0x85:
		return " (next line)";
	default:
		return "";
	}
}

int policy_note_check(const char *s, size_t len, char *why, size_t size)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	uint32_t c;

	if (len > POLICY_NOTE_MAX) {
		snprintf(why, size, "expected at most %u bytes, found %zu",
			 POLICY_NOTE_MAX, len);
		return -1;
	}
	while (i < len) {
		k = utf8_char(u + i, len - i, &c);
		if (!k) {
			snprintf(why, size, "expected UTF-8 text, found the "
				 "byte 0x%02x at byte %zu, which is no UTF-8 "
				 "(Latin-1 or another legacy encoding?)", u[i],
				 i + 1);
			return -1;
		}
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
			snprintf(why, size, "expected text without control "
				 "characters, found U+%04X%s at byte %zu",
				 (unsigned)c, control_name(c), i + 1);
			return -1;
		}
		i += k;
	}
	return 0;
}
