// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/ctlproto.h"
#include "common/log.h"
#include "filter/control.h"

static int fill_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

/* mkdir -p of path's folder, mode 0755 (the socket itself is 0660). */
static int make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int control_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd = -1, probe;

	if (fill_addr(&sun, path) < 0 || make_parent(path) < 0)
		return -1;
	/* Someone answering there is a live daemon: not ours to take. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -1;
	if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(probe);
		errno = EADDRINUSE;
		return -1;
	}
	close(probe);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0660) < 0 || listen(fd, 16) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

void control_serve(struct daemon *d, int lfd)
{
	const struct timeval second = { 1, 0 };
	char buf[CTL_REQUEST_MAX + 1], *argv[CTL_ARGS_MAX];
	struct strbuf out = { 0 };
	size_t len = 0;
	int fd, argc = 0, status = 1;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &second, sizeof(second));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &second, sizeof(second));
	while (len < CTL_REQUEST_MAX) {
		ssize_t n = recv(fd, buf + len, CTL_REQUEST_MAX - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		argc = ctlproto_parse(buf, len, argv);
		if (argc != 0)
			break;
	}
	if (argc > 0)
		status = control_command(d, argc, argv, &out);
	else
		strbuf_printf(&out, "malformed or incomplete request\n");
	if (out.oom) {
		status = 1;
		strbuf_free(&out);
		strbuf_printf(&out, "out of memory\n");
	}
	send_all(fd, status ? "1\n" : "0\n", 2);
	send_all(fd, out.s ? out.s : "", out.len);
	strbuf_free(&out);
	close(fd);
}
