// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Which files a block log is made of (the live one and logrotate's
 * rotations), and their lines, through zlib: gzread reads plain files as
 * they are and gzip files decompressed, so one path serves both.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "blocklog/blocklog.h"

#define READ_BUF (256 * 1024)
#define MAX_LINE (64 * 1024)

/* ---- finding the files ----------------------------------------------- */

/* How a name relates to a log's base name, for the age order. */
enum age_class {
	AGE_DATED = 0,		/* NAME-20261128[.gz]: older dates first */
	AGE_NUMBERED,		/* NAME.1, NAME.2.gz: larger numbers first */
	AGE_LIVE,		/* NAME itself: newest */
};

struct found {
	char *path;
	enum age_class cls;
	unsigned long long n;	/* the number or the date */
};

static int cmp_found(const void *x, const void *y)
{
	const struct found *a = x, *b = y;

	if (a->cls != b->cls)
		return a->cls < b->cls ? -1 : 1;
	if (a->n != b->n) {
		if (a->cls == AGE_NUMBERED)
			return a->n > b->n ? -1 : 1;
		return a->n < b->n ? -1 : 1;
	}
	return strcmp(a->path, b->path);
}

/* Is name base itself or one of its rotations? Fills cls and n. */
static bool rotation_of(const char *name, const char *base,
			enum age_class *cls, unsigned long long *n)
{
	size_t bl = strlen(base);
	const char *r;
	char *end;

	if (strncmp(name, base, bl))
		return false;
	r = name + bl;
	if (!*r) {
		*cls = AGE_LIVE;
		*n = 0;
		return true;
	}
	if ((*r != '.' && *r != '-') || r[1] < '0' || r[1] > '9')
		return false;
	*cls = *r == '.' ? AGE_NUMBERED : AGE_DATED;
	*n = strtoull(r + 1, &end, 10);
	return !*end || !strcmp(end, ".gz");
}

static bool is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int push(struct blocklog_files *out, char *path)
{
	char **n = realloc(out->path, (out->count + 1) * sizeof(*n));

	if (!n) {
		free(path);
		return -1;
	}
	n[out->count++] = path;
	out->path = n;
	return 0;
}

static char *join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/*
 * Add base (a name in dir) and its rotations to out, oldest first.
 * Returns the number added, or -1 with errno.
 */
static int add_with_rotations(const char *dir, const char *base,
			      struct blocklog_files *out)
{
	struct found *f = NULL;
	size_t nf = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = -1;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		enum age_class cls;
		unsigned long long n;
		struct found *g;
		char *p;

		if (!rotation_of(de->d_name, base, &cls, &n))
			continue;
		p = join(dir, de->d_name);
		if (!p)
			goto out;
		if (!is_regular(p)) {
			free(p);
			continue;
		}
		g = realloc(f, (nf + 1) * sizeof(*g));
		if (!g) {
			free(p);
			goto out;
		}
		f = g;
		f[nf++] = (struct found){ p, cls, n };
	}
	if (nf)
		qsort(f, nf, sizeof(*f), cmp_found);
	for (size_t i = 0; i < nf; i++) {
		char *p = f[i].path;

		f[i].path = NULL;
		if (push(out, p) < 0)
			goto out;
	}
	ret = (int)nf;
out:
	for (size_t i = 0; i < nf; i++)
		free(f[i].path);
	free(f);
	closedir(d);
	return ret;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Every *.jsonl in dir, each with its rotations. */
static int expand_dir(const char *dir, struct blocklog_files *out)
{
	char **bases = NULL;
	size_t nb = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = -1, added = 0;

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		/* A base is named by its live file or by a rotation. */
		const char *dot = strstr(de->d_name, ".jsonl");
		size_t l;
		char **g;

		if (!dot || de->d_name[0] == '.')
			continue;
		l = (size_t)(dot - de->d_name) + strlen(".jsonl");
		g = realloc(bases, (nb + 1) * sizeof(*g));
		if (!g)
			goto out;
		bases = g;
		bases[nb] = strndup(de->d_name, l);
		if (!bases[nb])
			goto out;
		nb++;
	}
	if (nb)
		qsort(bases, nb, sizeof(*bases), cmp_str);
	for (size_t i = 0; i < nb; i++) {
		int n;

		if (i && !strcmp(bases[i], bases[i - 1]))
			continue;
		n = add_with_rotations(dir, bases[i], out);
		if (n < 0)
			goto out;
		added += n;
	}
	if (!added) {
		errno = ENOENT;
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < nb; i++)
		free(bases[i]);
	free(bases);
	closedir(d);
	return ret;
}

int blocklog_files_expand(const char *path, bool rotations,
			  struct blocklog_files *out)
{
	struct stat st;
	const char *slash;
	char *dir, *p;
	int n;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return expand_dir(path, out);
	if (!rotations) {
		if (stat(path, &st) < 0)
			return -1;
		p = strdup(path);
		return p ? push(out, p) : -1;
	}
	slash = strrchr(path, '/');
	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path))
		    : strdup(".");
	if (!dir)
		return -1;
	n = add_with_rotations(dir, slash ? slash + 1 : path, out);
	free(dir);
	if (n < 0 && errno != ENOENT && is_regular(path)) {
		/* A folder we may not list: the file alone still counts. */
		p = strdup(path);
		return p ? push(out, p) : -1;
	}
	if (n == 0)
		errno = ENOENT;
	return n > 0 ? 0 : -1;
}

void blocklog_files_free(struct blocklog_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->count; i++)
		free(f->path[i]);
	free(f->path);
	f->path = NULL;
	f->count = 0;
}

/* ---- reading lines ----------------------------------------------------- */

struct blocklog_reader {
	gzFile gz;
	char *buf;
	size_t start, end;		/* unread bytes: buf[start, end) */
	bool eof;
	bool skipping;			/* inside a line longer than MAX_LINE */
	char err[256];
};

struct blocklog_reader *blocklog_reader_open(const char *path)
{
	struct blocklog_reader *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	r->buf = malloc(READ_BUF);
	if (!r->buf)
		goto fail;
	errno = 0;
	r->gz = gzopen(path, "rb");
	if (!r->gz) {
		if (!errno)
			errno = ENOMEM;
		goto fail;
	}
	gzbuffer(r->gz, READ_BUF);
	return r;
fail:
	err = errno;
	free(r->buf);
	free(r);
	errno = err;
	return NULL;
}

void blocklog_reader_close(struct blocklog_reader *r)
{
	if (!r)
		return;
	if (r->gz)
		gzclose(r->gz);
	free(r->buf);
	free(r);
}

const char *blocklog_reader_error(const struct blocklog_reader *r)
{
	return r->err;
}

/* Read more into buf. Returns 0, or -1 with r->err. */
static int fill(struct blocklog_reader *r)
{
	int n, zerr;
	const char *msg;

	if (r->start) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	n = gzread(r->gz, r->buf + r->end, (unsigned)(READ_BUF - r->end));
	if (n > 0) {
		r->end += (size_t)n;
		return 0;
	}
	msg = gzerror(r->gz, &zerr);
	if (n < 0 || zerr != Z_OK) {
		if (zerr == Z_ERRNO)
			snprintf(r->err, sizeof(r->err), "%s", strerror(errno));
		else if (zerr == Z_BUF_ERROR)
			snprintf(r->err, sizeof(r->err), "truncated gzip data "
				 "(%s)", msg);
		else
			snprintf(r->err, sizeof(r->err), "%s", msg);
		r->eof = true;
		return -1;
	}
	r->eof = true;
	return 0;
}

int blocklog_reader_next(struct blocklog_reader *r, const char **line,
			 size_t *len, bool *too_long)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		size_t at = r->start;

		if (nl || (r->eof && r->start < r->end)) {
			size_t stop = nl ? (size_t)(nl - r->buf) : r->end;

			r->start = nl ? stop + 1 : stop;
			*too_long = r->skipping;
			r->skipping = false;
			*line = r->buf + at;
			*len = *too_long ? 0 : stop - at;
			return 1;
		}
		if (r->eof && r->skipping) {
			/* The long line ran to the end of the file. */
			r->skipping = false;
			*too_long = true;
			*line = r->buf;
			*len = 0;
			return 1;
		}
		if (r->eof)
			return r->err[0] ? -1 : 0;
		if (r->end - r->start >= MAX_LINE) {
			r->skipping = true;
			r->start = r->end = 0;
		}
		if (fill(r) < 0 && r->start == r->end)
			return -1;
	}
}
