// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sessions across restarts: a snapshot written atomically (temporary
 * file, fsync, rename, fsync of the folder) and a journal of the changes
 * since, a line each, so that 10,000 renewals a second cost lines, not
 * rewrites of a million sessions. Both carry a generation: a journal
 * older than its snapshot (a crash between the two writes of a
 * compaction) is already in it and is not read again.
 *
 *   # portcullis sessions 1 generation 7
 *   S <expires> <source|-> <address>[,<address>...] <id to the line's end>
 *   X <id>                 (the session ended)
 *   A <address>            (the address left its session)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/statefile.h"
#include "identity.h"

#define HEADER "# portcullis sessions 1 generation "
#define LINE_MAX_BYTES 1024
#define BUF_FLUSH (256u << 10)
/* Unwritten lines held at most (a full disk): past it they are dropped
 * and the next snapshot, written whole once the disk takes it, replaces
 * what they said. */
#define BUF_MAX (16u << 20)

struct identity_state {
	struct identity *t;
	char *path, *jpath;
	int jfd;
	uint64_t gen;
	char *buf;
	size_t len, cap;
	size_t jlines;
	bool dropped;			/* lines dropped: a snapshot is due */
	int jerr;			/* the journal could not be opened */
};

static int buf_put(struct identity_state *st, const char *s, size_t n)
{
	if (st->len + n > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;
		char *b;

		while (cap < st->len + n)
			cap *= 2;
		b = realloc(st->buf, cap);
		if (!b)
			return -1;
		st->buf = b;
		st->cap = cap;
	}
	memcpy(st->buf + st->len, s, n);
	st->len += n;
	return 0;
}

/* One session as a line "S ...\n" into line. */
static int format_start(const struct identity_session *s, char *line,
			size_t size)
{
	char a[80];
	int n = snprintf(line, size, "S %" PRId64 " %s ", s->expires,
			 s->source[0] ? s->source : "-");

	if (s->has_v4)
		n += snprintf(line + n, size - (size_t)n, "%s",
			      identity_addr_format(&s->v4, a, sizeof(a)));
	for (unsigned i = 0; i < s->nv6; i++)
		n += snprintf(line + n, size - (size_t)n, "%s%s",
			      s->has_v4 || i ? "," : "",
			      identity_addr_format(&s->v6[i], a, sizeof(a)));
	n += snprintf(line + n, size - (size_t)n, " %s\n", s->id);
	return n;
}

static void jput(struct identity_state *st, const char *line, size_t n)
{
	if (st->dropped)
		return;		/* the snapshot will say it all */
	if (st->len + n > BUF_MAX) {
		st->len = 0;
		st->dropped = true;
		return;
	}
	if (buf_put(st, line, n) == 0)
		st->jlines++;
	else
		st->dropped = true;
	if (st->len >= BUF_FLUSH)
		identity_state_flush(st);
}

void identity_state_put(struct identity_state *st,
			const struct identity_session *s)
{
	char line[LINE_MAX_BYTES];

	jput(st, line, (size_t)format_start(s, line, sizeof(line)));
}

void identity_state_del(struct identity_state *st, const char *id)
{
	char line[LINE_MAX_BYTES];

	jput(st, line, (size_t)snprintf(line, sizeof(line), "X %s\n", id));
}

void identity_state_del_addr(struct identity_state *st,
			     const struct identity_addr *a)
{
	char line[LINE_MAX_BYTES], ab[80];

	jput(st, line, (size_t)snprintf(line, sizeof(line), "A %s\n",
					identity_addr_format(a, ab,
							     sizeof(ab))));
}

static int journal_open(struct identity_state *st, bool truncate, off_t keep);

int identity_state_flush(struct identity_state *st)
{
	size_t off = 0;

	if (!st || !st->len)
		return 0;
	if (st->jfd < 0) {
		if (journal_open(st, false, -1) < 0) {
			st->jerr = errno;
			return -1;
		}
		st->jerr = 0;
	}
	while (off < st->len) {
		ssize_t w = write(st->jfd, st->buf + off, st->len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* What was written stays written; the rest waits. */
			memmove(st->buf, st->buf + off, st->len - off);
			st->len -= off;
			return -1;
		}
		off += (size_t)w;
	}
	st->len = 0;
	return fdatasync(st->jfd);
}

size_t identity_state_journal_lines(const struct identity_state *st)
{
	return st->jlines;
}

bool identity_state_stale(const struct identity_state *st)
{
	return st->dropped;
}

int identity_state_error(const struct identity_state *st)
{
	return st->jerr;
}

/* ---- reading ------------------------------------------------------------------ */

static int parse_addrs(char *list, struct identity_session *s, char *why,
		       size_t size)
{
	char *save = NULL;

	for (char *a = strtok_r(list, ",", &save); a;
	     a = strtok_r(NULL, ",", &save)) {
		struct identity_addr ia;

		if (identity_addr_parse(a, &ia, why, size) < 0)
			return -1;
		if (ia.len == 32 && addr_is_v4(&ia.a)) {
			s->has_v4 = true;
			s->v4 = ia;
		} else if (s->nv6 < IDENTITY_V6_MAX) {
			s->v6[s->nv6++] = ia;
		} else {
			snprintf(why, size, "more than %d IPv6 prefixes",
				 IDENTITY_V6_MAX);
			return -1;
		}
	}
	return 0;
}

/* Apply one line. Returns 0, or -1 with why. Expired starts are skipped. */
static int apply(struct identity *t, char *line, int64_t now, char *why,
		 size_t size)
{
	char *f[4], *save = NULL, *p = line + 2;

	if (line[0] == 'X' && line[1] == ' ') {
		identity_stop_id(t, p, now);
		return 0;
	}
	if (line[0] == 'A' && line[1] == ' ') {
		struct identity_addr a;

		if (identity_addr_parse(p, &a, why, size) < 0)
			return -1;
		identity_stop_addr(t, &a, now);
		return 0;
	}
	if (line[0] != 'S' || line[1] != ' ')
		goto bad;
	for (int i = 0; i < 3; i++) {
		f[i] = strtok_r(i ? NULL : p, " ", &save);
		if (!f[i])
			goto bad;
	}
	f[3] = save;
	{
		struct identity_session s = { 0 };
		char *end;
		long long e;

		errno = 0;
		e = strtoll(f[0], &end, 10);
		if (errno || *end || e < 0 || !f[3] || !*f[3])
			goto bad;
		s.expires = e;
		if (strcmp(f[1], "-"))
			snprintf(s.source, sizeof(s.source), "%s", f[1]);
		if (strlen(f[3]) > IDENTITY_ID_MAX)
			goto bad;
		snprintf(s.id, sizeof(s.id), "%s", f[3]);
		if (parse_addrs(f[2], &s, why, size) < 0)
			return -1;
		if (s.expires && s.expires <= now) {
			/* Ended since, but it happened: what it took from
			 * others stays taken, and the subscriber's older
			 * line (no expiry, a later one) is over too. */
			s.expires = 0;
			if (identity_start(t, &s, now, why, size) < 0 &&
			    errno != ENOSPC)
				return -1;
			identity_stop_id(t, s.id, now);
			return 0;
		}
		if (identity_start(t, &s, now, why, size) < 0 &&
		    errno != ENOSPC)
			return -1;
	}
	return 0;
bad:
	snprintf(why, size, "expected \"S EXPIRES SOURCE ADDRESSES ID\", "
		 "\"X ID\" or \"A ADDRESS\"");
	return -1;
}

/* Read one file. Returns 0 with *gen (0: no header), or -1 with why.
 * in_journal: a last line without '\n' is a write cut short, skipped,
 * and *cut says where it starts (-1: none). */
static int read_file(struct identity *t, const char *path, bool in_journal,
		     uint64_t min_gen, uint64_t *gen, int64_t now,
		     size_t *skipped, off_t *cut, char *why, size_t size)
{
	FILE *f;
	char line[LINE_MAX_BYTES + 2], e[200];
	unsigned long lineno = 0;
	int ret = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat sb;
	off_t pos = 0;

	*gen = 0;
	*cut = -1;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(why, size, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	f = fdopen(fd, "r");
	if (!f) {
		snprintf(why, size, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		lineno++;
		if (n == 0 || line[n - 1] != '\n') {
			if (in_journal && feof(f)) {
				(*skipped)++;
				*cut = pos;
				break;
			}
			snprintf(why, size, "%s:%lu: line too long or cut "
				 "short", path, lineno);
			goto out;
		}
		pos += (off_t)n;
		line[n - 1] = '\0';
		if (lineno == 1 && !strncmp(line, HEADER, strlen(HEADER))) {
			*gen = strtoull(line + strlen(HEADER), NULL, 10);
			if (in_journal && *gen < min_gen) {
				ret = 0;	/* folded into the snapshot */
				goto out;
			}
			continue;
		}
		if (line[0] == '#' || !line[0])
			continue;
		if (apply(t, line, now, e, sizeof(e)) < 0) {
			snprintf(why, size, "%s:%lu: %s", path, lineno, e);
			goto out;
		}
		/* No reader yet: what the line retired is free at once, or
		 * a journal of many ended sessions would use up the records
		 * the live ones after them need. */
		identity_reclaim(t, UINT64_MAX);
	}
	if (ferror(f)) {
		snprintf(why, size, "%s: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	fclose(f);
	return ret;
}

/* keep: the length to cut the journal back to (-1: as it is). */
/* A new, empty journal of the current generation, put in place by a
 * rename: it is the writer's own file, whoever made the old one (the
 * daemon starts as root and writes on as its own user). */
static int journal_replace(struct identity_state *st)
{
	char tmp[4096], h[80];
	int fd, n, err;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", st->jpath) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = statefile_open_new(tmp);
	if (fd < 0)
		return -1;
	n = snprintf(h, sizeof(h), HEADER "%" PRIu64 "\n", st->gen);
	if (write(fd, h, (size_t)n) != n || fdatasync(fd) < 0 ||
	    rename(tmp, st->jpath) < 0) {
		err = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		errno = err;
		return -1;
	}
	statefile_fsync_dir(st->jpath);
	if (st->jfd >= 0)
		close(st->jfd);
	st->jfd = fd;
	return 0;
}

static int journal_open(struct identity_state *st, bool truncate, off_t keep)
{
	/* O_NONBLOCK: a FIFO planted there must not hang the start. */
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK;
	char h[80];
	struct stat sb;
	int n;

	if (st->jfd >= 0)
		close(st->jfd);
	st->jfd = open(st->jpath, flags | (truncate ? O_TRUNC : 0), 0640);
	if (st->jfd < 0)
		return -1;
	if (fstat(st->jfd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(st->jfd);
		st->jfd = -1;
		errno = EINVAL;
		return -1;
	}
	/* A line cut short goes, or the next one would be glued to it. */
	if (keep >= 0 && keep < sb.st_size) {
		if (ftruncate(st->jfd, keep) < 0)
			return -1;
		sb.st_size = keep;
	}
	if (sb.st_size == 0) {
		n = snprintf(h, sizeof(h), HEADER "%" PRIu64 "\n", st->gen);
		if (write(st->jfd, h, (size_t)n) != n)
			return -1;
	}
	return 0;
}

struct identity_state *identity_state_open(struct identity *t,
					   const char *path, int64_t now,
					   size_t *skipped, char *why,
					   size_t size)
{
	struct identity_state *st = calloc(1, sizeof(*st));
	uint64_t sgen = 0, jgen = 0;
	size_t plen = strlen(path);
	off_t scut, jcut;

	*skipped = 0;
	if (!st)
		goto nomem;
	st->t = t;
	st->jfd = -1;
	st->path = strdup(path);
	st->jpath = malloc(plen + sizeof(".journal"));
	if (!st->path || !st->jpath)
		goto nomem;
	memcpy(st->jpath, path, plen);
	memcpy(st->jpath + plen, ".journal", sizeof(".journal"));
	if (read_file(t, path, false, 0, &sgen, now, skipped, &scut, why,
		      size) < 0 ||
	    read_file(t, st->jpath, true, sgen, &jgen, now, skipped, &jcut,
		      why, size) < 0) {
		identity_state_close(st);
		errno = EINVAL;
		return NULL;
	}
	st->gen = sgen > jgen ? sgen : jgen;
	/* No journal yet: made with the first line (a daemon that never
	 * hears of a session writes nothing). */
	if (access(st->jpath, F_OK) < 0 && errno == ENOENT) {
		st->jfd = -1;
		return st;
	}
	/* A journal older than the snapshot is in it already: start anew. */
	if (journal_open(st, jgen < sgen, jcut) < 0) {
		/* A folder not there (yet) or not ours: the sessions are
		 * held all the same, and written once it can be (flush
		 * tries again); anything else is wrong with the files. */
		if (errno != ENOENT && errno != EACCES && errno != EROFS) {
			snprintf(why, size, "%s: %s", st->jpath,
				 strerror(errno));
			identity_state_close(st);
			return NULL;
		}
		st->jerr = errno;
		st->jfd = -1;
	}
	return st;
nomem:
	snprintf(why, size, "out of memory");
	identity_state_close(st);
	errno = ENOMEM;
	return NULL;
}

struct snap {
	FILE *f;
	int err;
};

static int snap_line(void *arg, const struct identity_session *s)
{
	struct snap *sn = arg;
	char line[LINE_MAX_BYTES];
	int n = format_start(s, line, sizeof(line));

	if (fwrite(line, 1, (size_t)n, sn->f) != (size_t)n) {
		sn->err = errno ? errno : EIO;
		return 1;
	}
	return 0;
}

int identity_state_compact(struct identity_state *st, int64_t now)
{
	char tmp[4096];
	struct snap sn = { 0 };
	int fd, err;

	if (identity_state_flush(st) < 0)
		return -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", st->path) >=
	    sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = statefile_open_new(tmp);
	if (fd < 0)
		return -1;
	sn.f = fdopen(fd, "w");
	if (!sn.f) {
		err = errno;
		close(fd);
		goto fail;
	}
	fprintf(sn.f, HEADER "%" PRIu64 "\n"
		"# written by portcullisd; change sessions with "
		"`portcullis session`, not here\n", st->gen + 1);
	identity_each(st->t, now, snap_line, &sn);
	if (sn.err || fflush(sn.f) != 0 || fsync(fd) != 0) {
		err = sn.err ? sn.err : errno;
		fclose(sn.f);
		goto fail;
	}
	if (fclose(sn.f) != 0 || rename(tmp, st->path) < 0) {
		err = errno;
		goto fail;
	}
	statefile_fsync_dir(st->path);
	st->gen++;
	st->jlines = 0;
	st->dropped = false;
	st->len = 0;	/* what they said is in the snapshot */
	/* The journal is now in the snapshot: a crash before it is emptied
	 * leaves one of an older generation, which the next start skips. */
	if (journal_replace(st) < 0) {
		/* The old journal is of an older generation now, which the
		 * next start skips: nothing more goes into it, and the next
		 * snapshot says it all. */
		st->dropped = true;
		return -1;
	}
	return 0;
fail:
	unlink(tmp);
	errno = err;
	return -1;
}

void identity_state_close(struct identity_state *st)
{
	if (!st)
		return;
	identity_state_flush(st);
	if (st->jfd >= 0)
		close(st->jfd);
	free(st->buf);
	free(st->path);
	free(st->jpath);
	free(st);
}
