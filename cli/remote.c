// SPDX-License-Identifier: GPL-2.0-or-later
/* The live daemon's commands, once parsed: sent over its control socket. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/ctlproto.h"

int cli_remote_run(const struct cli_cmd *c, const struct cli_req *r,
		   int argc, char **argv)
{
	struct cli_args a;
	int o;

	cli_args_init(&a, c, argc, argv);
	while ((o = cli_args_next(&a)) > 0)
		;
	return o < 0 ? a.exit : cli_remote(r);
}

int cli_remote(const struct cli_req *r)
{
	const char *path = r->control;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const struct timeval timeout = { 30, 0 };
	char req[CTL_REQUEST_MAX], buf[4096];
	int fd, len, status = -1;
	FILE *out = stdout;
	ssize_t n;

	len = ctlproto_encode(req, sizeof(req), r->argc, r->argv);
	if (len < 0) {
		fprintf(stderr, "portcullis: %s: at most %d arguments, "
			"%d bytes in all, none empty or holding a newline\n",
			r->argv[0], CTL_ARGS_MAX, CTL_REQUEST_MAX);
		return 2;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "portcullis: control socket path too long\n");
		return 1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "portcullis: cannot reach portcullisd at %s: "
			"%s%s\n", path, strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED ?
			" (is the daemon running? --control names another "
			"socket)" : "");
		if (fd >= 0)
			close(fd);
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
		fprintf(stderr, "portcullis: %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		char *p = buf;

		if (status < 0) {
			/* The status line comes first, whole ("0\n"). */
			status = buf[0] == '0' ? 0 : 1;
			out = status ? stderr : stdout;
			p += 2;
			n -= 2;
			if (n < 0)
				n = 0;
		}
		fwrite(p, 1, (size_t)n, out);
	}
	close(fd);
	if (status < 0) {
		fprintf(stderr, "portcullis: portcullisd at %s closed without "
			"an answer\n", path);
		return 1;
	}
	return status;
}
