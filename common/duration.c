// SPDX-License-Identifier: GPL-2.0-or-later
/* Durations: parsed and written one way (common/duration.h). */
#include <stdio.h>

#include "common/duration.h"

static const struct {
	char name;
	uint64_t secs;
} units[] = {
	{ 'w', 7 * 86400 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 },
	{ 's', 1 },
};

static uint64_t unit_secs(char c)
{
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (units[i].name == c)
			return units[i].secs;
	return 0;
}

int duration_parse(const char *s, uint64_t max, uint64_t *secs)
{
	uint64_t total = 0;
	int ret = 0;

	if (!*s)
		return -1;
	while (*s) {
		uint64_t v = 0, unit;
		const char *start = s;

		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			uint64_t d = (uint64_t)(*s - '0');

			/* Past max is refused: stop before v could wrap. */
			if (v > max || v > (UINT64_MAX - d) / 10)
				return -1;
			v = v * 10 + d;
		}
		if (s - start > 1 && *start == '0')
			ret = -2;
		unit = unit_secs(*s);
		if (!unit || v > max / unit || total > max - v * unit)
			return -1;
		total += v * unit;
		s++;
	}
	*secs = total;
	return ret;
}

const char *duration_format(uint64_t secs, char *buf, size_t len)
{
	size_t at = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!secs) {
		snprintf(buf, len, "0s");
		return buf;
	}
	/* Weeks are read but not written: "14d" says what "2w" does. */
	for (size_t i = 1; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t n = secs / units[i].secs;
		int w;

		if (!n)
			continue;
		secs -= n * units[i].secs;
		w = snprintf(buf + at, len - at, "%llu%c",
			     (unsigned long long)n, units[i].name);
		if (w < 0 || (size_t)w >= len - at) {
			buf[at] = '\0';
			break;
		}
		at += (size_t)w;
	}
	return buf;
}
