// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/errbuf.h"

void errbuf_set(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	errno = saved;
}
