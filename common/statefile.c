// SPDX-License-Identifier: GPL-2.0-or-later
/* The shared steps of writing a state file atomically (statefile.h). */
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/statefile.h"

int statefile_open_new(const char *tmp)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, 0640);

	if (fd < 0 && errno == EEXIST) {
		if (unlink(tmp) < 0 && errno != ENOENT)
			return -1;
		fd = open(tmp, flags, 0640);
	}
	return fd;
}

void statefile_fsync_dir(const char *path)
{
	char dir[4096], *slash;
	int dfd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

FILE *statefile_begin(const char *path, char *tmp, size_t size)
{
	FILE *f;
	int fd, err;

	if ((size_t)snprintf(tmp, size, "%s.tmp", path) >= size) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	fd = statefile_open_new(tmp);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		unlink(tmp);
		errno = err;
	}
	return f;
}

int statefile_commit(FILE *f, const char *tmp, const char *path)
{
	int err = 0;

	if (ferror(f) || fflush(f) != 0 || fsync(fileno(f)) != 0)
		err = errno ? errno : EIO;
	if (fclose(f) != 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err) {
		unlink(tmp);
		errno = err;
		return -1;
	}
	/* The rename itself must reach the disk too. */
	statefile_fsync_dir(path);
	return 0;
}
