// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <string.h>

#include "common/ctlproto.h"

int ctlproto_parse(char *buf, size_t len, char **argv)
{
	const char *end;
	size_t start = 0;
	int argc = 0;

	if (memchr(buf, '\0', len))
		goto bad;
	/* Whole once an empty line ends it: "\n" first, or "\n\n". */
	end = len && buf[0] == '\n' ? buf : memmem(buf, len, "\n\n", 2);
	if (!end)
		return 0;
	if (end == buf || (size_t)(end - buf) + 2 != len)
		goto bad;	/* no command, or bytes after the end */
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (argc == CTL_ARGS_MAX)
			goto bad;
		buf[i] = '\0';
		argv[argc++] = buf + start;
		start = i + 1;
	}
	return argc;
bad:
	errno = EINVAL;
	return -1;
}

int ctlproto_encode(char *buf, size_t len, int argc, char *const *argv)
{
	size_t used = 0;

	if (argc < 1 || argc > CTL_ARGS_MAX)
		goto bad;
	for (int i = 0; i < argc; i++)
		if (!argv[i][0] || strchr(argv[i], '\n'))
			goto bad;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (used + n + 2 > len) {
			errno = EMSGSIZE;
			return -1;
		}
		memcpy(buf + used, argv[i], n);
		used += n;
		buf[used++] = '\n';
	}
	if (used + 1 > len) {
		errno = EMSGSIZE;
		return -1;
	}
	buf[used++] = '\n';
	return (int)used;
bad:
	errno = EINVAL;
	return -1;
}
