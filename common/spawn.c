// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/errbuf.h"
#include "common/spawn.h"

extern char **environ;

static int memfd_with(const char *name, const char *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	ssize_t n;
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The whole content of fd, NUL-terminated, or NULL. Caller frees. */
static char *slurp(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf;
	ssize_t n;
	size_t off = 0;

	if (size < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return NULL;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return NULL;
	while (off < (size_t)size) {
		n = read(fd, buf + off, (size_t)size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	return buf;
}

/*
 * argv[0] found in PATH as execvp would find it (but for empty entries,
 * skipped), into path (len bytes), or -1 with ENOENT. Looked up here
 * rather than left to posix_spawnp so that a missing tool is told as
 * such, and not as whatever the child's failed exec turned into (exit
 * 127, or under valgrind exit 1 with no message).
 */
static int find_tool(const char *name, char *path, size_t len)
{
	const char *dirs = getenv("PATH"), *p, *end;
	struct stat st;

	if (strchr(name, '/')) {
		snprintf(path, len, "%s", name);
		return 0;
	}
	if (!dirs || !*dirs)
		dirs = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
		       "/sbin:/bin";
	for (p = dirs;; p = end + 1) {
		int n;

		/* An empty entry (leading, trailing or "::") would be the
		 * current folder for execvp: a daemon running as root does
		 * not run a tool from wherever it was started. */
		end = strchrnul(p, ':');
		n = snprintf(path, len, "%.*s/%s", (int)(end - p), p, name);
		if (end > p && n >= 0 && (size_t)n < len && !stat(path, &st) &&
		    S_ISREG(st.st_mode) && !access(path, X_OK))
			return 0;
		if (!*end)
			break;
	}
	errno = ENOENT;
	return -1;
}

/* One line for a log: trailing newlines go, inner ones become ';'. */
static void one_line(char *msg)
{
	char *p;

	for (p = msg + strlen(msg); p > msg && p[-1] == '\n'; p--)
		p[-1] = '\0';
	for (p = msg; *p; p++)
		if (*p == '\n')
			*p = ';';
}

int spawn_run(char *const argv[], const char *in, size_t inlen, char **out,
	      char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	int ifd, ofd = -1, efd = -1, status, rc, ret = -1;
	char *msg = NULL, path[4096];
	pid_t pid;

	if (out)
		*out = NULL;
	if (find_tool(argv[0], path, sizeof(path)) < 0) {
		errbuf_set(err, errlen, "%s: not found in PATH (%s)", argv[0],
			   getenv("PATH") ? getenv("PATH") : "unset");
		return -1;
	}
	ifd = memfd_with("portcullis-in", in ? in : "", in ? inlen : 0);
	if (ifd >= 0)
		ofd = memfd_create("portcullis-out", MFD_CLOEXEC);
	if (ofd >= 0)
		efd = memfd_create("portcullis-err", MFD_CLOEXEC);
	if (efd < 0) {
		errbuf_set(err, errlen, "%s: %s", argv[0], strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, ifd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, ofd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, efd, STDERR_FILENO);
	rc = posix_spawn(&pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		errno = rc;
		errbuf_set(err, errlen, "%s: %s", argv[0], strerror(rc));
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			errbuf_set(err, errlen, "%s: wait: %s", argv[0],
			       strerror(errno));
			goto out;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out && !(*out = slurp(ofd))) {
			errbuf_set(err, errlen, "%s: reading its output: %s",
			       argv[0], strerror(errno ? errno : EIO));
			goto out;
		}
		ret = 0;
		goto out;
	}
	msg = slurp(efd);
	if (msg)
		one_line(msg);
	if (WIFEXITED(status))
		errbuf_set(err, errlen, "%s failed (exit %d): %s", argv[0],
		       WEXITSTATUS(status), msg && *msg ? msg : "no message");
	else
		errbuf_set(err, errlen, "%s killed by signal %d", argv[0],
		       WTERMSIG(status));
	errno = EPROTO;
out:
	rc = errno;
	free(msg);
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	errno = rc;
	return ret;
}
