// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `file:` lists: one prefix a line, '#' comments, blank lines. A list may
 * hold ten million prefixes, so it is read whole and scanned in place;
 * its entries share one entry_meta (the list file, line 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"

#define MAX_LIST_ERRORS 100

/* Read all of fd into a NUL-terminated buffer. Returns it, or NULL with
 * errno set. */
static char *read_all(int fd, size_t *len)
{
	size_t cap, n = 0;
	struct stat st;
	char *buf, *b;
	ssize_t r;

	if (fstat(fd, &st) < 0)
		return NULL;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return NULL;
	}
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1
						      : 4096;
	buf = malloc(cap);
	if (!buf)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			b = realloc(buf, cap * 2);
			if (!b)
				goto fail;
			buf = b;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
fail:
	free(buf);
	return NULL;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

void list_load(struct loader *l, const char *path, uint16_t profile,
	       uint32_t expires, char *note, uint32_t aline0, uint32_t acol0)
{
	size_t len = 0, nerr = 0;
	const char *s, *end;
	struct stat st;
	int64_t file, meta;
	uint32_t line = 0;
	char *buf, enc[80];
	int fd;

	/* O_NONBLOCK: a FIFO named by mistake must not hang a reload. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		load_error(l, aline0, acol0, "cannot read %s: %s", path,
			   strerror(errno));
		free(note);
		return;
	}
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISDIR(st.st_mode)) {
		/* /dev/zero would be read until memory runs out. */
		load_error(l, aline0, acol0, "cannot read %s: not a regular "
			   "file", path);
		close(fd);
		free(note);
		return;
	}
	buf = read_all(fd, &len);
	if (!buf) {
		load_error(l, aline0, acol0, "cannot read %s: %s", path,
			   strerror(errno));
		close(fd);
		free(note);
		return;
	}
	close(fd);
	if (text_encoding_problem(buf, len, enc, sizeof(enc))) {
		load_error_in(l, aline0, acol0, path, 1, 1, "expected UTF-8 "
			      "text, found %s; save the list as UTF-8", enc);
		free(note);
		goto out;
	}

	file = file_add(l, strdup(path));
	if (file < 0) {
		free(note);
		goto out;
	}
	meta = meta_add(l, note, (size_t)file, 0, aline0, acol0);
	if (meta < 0)
		goto out;

	/* Spreadsheet exports on Windows begin with a UTF-8 byte order
	 * mark; it is no part of the first prefix. (CRLF line ends need no
	 * such care: '\r' is a blank.) */
	s = buf;
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		s += 3;
	for (end = buf + len; s < end; s++) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		const char *bol = s, *tok, *t;
		enum prefix_result r;
		struct addr a;
		uint32_t col;
		uint8_t plen;
		bool v4;

		if (!eol)
			eol = end;
		line++;
		while (s < eol && blank(*s))
			s++;
		if (s == eol || *s == '#') {
			s = eol;
			continue;
		}
		tok = s;
		while (s < eol && !blank(*s) && *s != '#')
			s++;
		col = (uint32_t)(tok - bol) + 1;
		t = s;
		while (t < eol && blank(*t))
			t++;
		if (t < eol && *t != '#') {
			if (++nerr <= MAX_LIST_ERRORS)
				load_error_in(l, aline0, acol0, path, line,
					      (uint32_t)(t - bol) + 1,
					      "one prefix a line expected, "
					      "found more after \"%.*s\"",
					      (int)(s - tok), tok);
			s = eol;
			continue;
		}
		r = prefix_parse(tok, (size_t)(s - tok), &a, &plen, &v4);
		if (r != PREFIX_OK) {
			if (++nerr <= MAX_LIST_ERRORS)
				prefix_report(l, r, tok, (size_t)(s - tok), &a,
					      plen, v4, aline0, acol0, path,
					      line, col);
		} else if (entry_add(l, v4, &a, plen, profile, expires,
				     (uint32_t)meta, line, col) < 0) {
			break;
		}
		s = eol;
	}
	if (nerr > MAX_LIST_ERRORS)
		load_error_raw(l, aline0, acol0, UINT32_MAX,
			       "%s: %zu more errors not shown", path,
			       nerr - MAX_LIST_ERRORS);
out:
	free(buf);
}
