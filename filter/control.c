// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
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
	    chmod(path, 0660) < 0 || listen(fd, CONTROL_CONN_MAX) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}


/*
 * Serving. Each call of control_dispatch does a bounded amount of work:
 * reads of at most a request's size, writes that stop at EAGAIN, at most
 * ACCEPTS_ROUND newcomers, commands for ROUND_MS (one at least); what is
 * left waits for the next round of the main loop, whose poll returns at
 * once while a socket is ready.
 */
#define ACCEPTS_ROUND 16	/* newcomers taken per call */
#define ROUND_MS 10		/* commands run per call past the first */
#define LINGER_MS 1000		/* after an error's text: input drained */
#define DRAIN_ROUND (64 * 1024)	/* bytes discarded per call, per connection */
#define OUT_MAX (64u << 20)	/* unsent reply bytes, all connections */
#define ACCEPT_REST_MS 100	/* out of descriptors: the listener rests */
#define WARN_EVERY_MS 60000

enum conn_state {
	CONN_FREE = 0,
	CONN_READ,		/* the request coming in */
	CONN_WRITE,		/* the reply going out */
	CONN_LINGER,		/* an error said: input drained until EOF */
};

struct conn {
	enum conn_state state;
	int fd;
	bool linger;		/* the reply is an error: linger after it */
	int64_t since;		/* accepted (monotonic ms) */
	int64_t deadline;
	size_t len;		/* request bytes in req */
	char req[CTL_REQUEST_MAX];
	char head[2];		/* the status line, "0\n" or "1\n" */
	struct strbuf out;	/* the reply text, after head */
	size_t sent;		/* bytes of head, then out, sent */
};

struct control {
	struct daemon *d;
	int lfd;
	unsigned next;		/* the slot the next call starts at */
	size_t unsent;		/* reply bytes over every connection */
	int64_t rest_until;	/* the listener is not polled till then */
	int64_t warned;		/* the last warning about the cap */
	int64_t round_end;	/* commands past the first stop here */
	unsigned ran;		/* commands run in this call */
	struct conn conn[CONTROL_CONN_MAX];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t conn_unsent(const struct conn *k)
{
	return k->state == CONN_WRITE ? sizeof(k->head) + k->out.len - k->sent
				      : 0;
}

static void conn_close(struct control *c, struct conn *k)
{
	c->unsent -= conn_unsent(k);
	close(k->fd);
	strbuf_free(&k->out);
	k->state = CONN_FREE;
	k->fd = -1;
	k->len = 0;
	k->sent = 0;
	k->linger = false;
}

/* Last words to a connection about to be closed: one try, no waiting. */
static void conn_say(struct conn *k, const char *text)
{
	ssize_t n = send(k->fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);

	(void)n;
}

/* Discard what the client still sends, until it closes. */
static void conn_drain(struct control *c, struct conn *k)
{
	char junk[16384];
	size_t total = 0;

	while (total < DRAIN_ROUND) {
		ssize_t n = recv(k->fd, junk, sizeof(junk), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c, k);
			return;
		}
		total += (size_t)n;
	}
}

static void conn_write(struct control *c, struct conn *k)
{
	const size_t total = sizeof(k->head) + k->out.len;

	while (k->sent < total) {
		struct iovec iov[2];
		struct msghdr mh = { .msg_iov = iov };
		size_t off = k->sent > sizeof(k->head) ?
			     k->sent - sizeof(k->head) : 0;
		ssize_t n;

		if (k->sent < sizeof(k->head)) {
			iov[mh.msg_iovlen].iov_base = k->head + k->sent;
			iov[mh.msg_iovlen++].iov_len = sizeof(k->head) - k->sent;
		}
		if (off < k->out.len) {
			iov[mh.msg_iovlen].iov_base = k->out.s + off;
			iov[mh.msg_iovlen++].iov_len = k->out.len - off;
		}
		n = sendmsg(k->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c, k);	/* the client left */
			return;
		}
		k->sent += (size_t)n;
		c->unsent -= (size_t)n;
	}
	if (!k->linger) {
		conn_close(c, k);
		return;
	}
	/* The client may still be sending what we refused: read it away
	 * so that it gets the text, not a reset. */
	shutdown(k->fd, SHUT_WR);
	strbuf_free(&k->out);
	k->state = CONN_LINGER;
	conn_drain(c, k);
}

/* The oldest connection still in state, other than but; NULL: none. */
static struct conn *conn_oldest(struct control *c, enum conn_state state,
				const struct conn *but)
{
	struct conn *old = NULL;

	for (unsigned i = 0; i < CONTROL_CONN_MAX; i++) {
		struct conn *k = &c->conn[i];

		if (k->state == state && k != but &&
		    (!old || k->since < old->since))
			old = k;
	}
	return old;
}

/* Send out (taken over) after the status line; an error reply lingers. */
static void conn_reply(struct control *c, struct conn *k, int status,
		       struct strbuf *out, bool linger, int64_t now)
{
	/* A command may have taken long: the client's time starts now. */
	int64_t t = mono_ms();

	if (t < now)
		t = now;

	k->head[0] = status ? '1' : '0';
	k->head[1] = '\n';
	k->out = *out;
	memset(out, 0, sizeof(*out));
	k->sent = 0;
	k->linger = linger;
	k->state = CONN_WRITE;
	k->deadline = t + (linger ? LINGER_MS : CONTROL_REPLY_MS);
	c->unsent += conn_unsent(k);
	/* Clients that do not read are not let hold memory without end:
	 * the oldest unread replies go first. */
	while (c->unsent > OUT_MAX) {
		struct conn *old = conn_oldest(c, CONN_WRITE, k);

		if (!old)
			break;
		log_debug("control: a reply of %zu bytes not read; closed",
			  old->out.len);
		conn_close(c, old);
	}
	conn_write(c, k);
}

static void conn_error(struct control *c, struct conn *k, int64_t now,
		       const char *text)
{
	struct strbuf out = { 0 };

	strbuf_printf(&out, "%s", text);
	conn_reply(c, k, 1, &out, true, now);
}

static void conn_run(struct control *c, struct conn *k, int argc,
		     char **argv, int64_t now)
{
	struct strbuf out = { 0 };
	int status;

	status = control_command(c->d, argc, argv, &out);
	c->ran++;
	if (out.oom) {
		status = 1;
		strbuf_free(&out);
		strbuf_printf(&out, "out of memory\n");
	}
	conn_reply(c, k, status, &out, false, now);
}

static void conn_read(struct control *c, struct conn *k, int64_t now)
{
	char *argv[CTL_ARGS_MAX], over[64];
	bool eof = false;
	int argc;

	/* Its command might not fit in this round: the next one reads. */
	if (c->ran && mono_ms() >= c->round_end)
		return;
	while (k->len < CTL_REQUEST_MAX) {
		ssize_t n = recv(k->fd, k->req + k->len,
				 CTL_REQUEST_MAX - k->len, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			conn_close(c, k);
			return;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		k->len += (size_t)n;
	}
	argc = ctlproto_parse(k->req, k->len, argv);
	if (argc > 0)
		conn_run(c, k, argc, argv, now);
	else if (argc < 0)
		conn_error(c, k, now, "malformed request\n");
	else if (k->len == CTL_REQUEST_MAX) {
		snprintf(over, sizeof(over), "request over %d bytes\n",
			 CTL_REQUEST_MAX);
		conn_error(c, k, now, over);
	} else if (eof && k->len)
		conn_error(c, k, now, "incomplete request\n");
	else if (eof)
		conn_close(c, k);
}

static void conn_expire(struct control *c, struct conn *k)
{
	char text[64];

	switch (k->state) {
	case CONN_READ:
		snprintf(text, sizeof(text), "1\nrequest not complete within "
			 "%d s\n", CONTROL_REQUEST_MS / 1000);
		conn_say(k, text);
		log_debug("control: request not complete within %d s; closed",
			  CONTROL_REQUEST_MS / 1000);
		break;
	case CONN_WRITE:
		log_debug("control: reply not read within %d s (%zu of %zu "
			  "bytes); closed", CONTROL_REPLY_MS / 1000, k->sent,
			  sizeof(k->head) + k->out.len);
		break;
	default:
		break;
	}
	conn_close(c, k);
}

/* Whether k may give way to a newcomer at now: a connection just taken
 * has CONTROL_YOUNG_MS to send its request (a real client's follows its
 * connect at once) before a flood of newer ones can push it out. */
static bool conn_evictable(const struct conn *k, int64_t now)
{
	return k->state == CONN_LINGER ||
	       (k->state != CONN_FREE && now - k->since >= CONTROL_YOUNG_MS);
}

/* A slot for a newcomer: a free one, else the oldest connection's that
 * may give way (closed if evict), NULL while every one is young. */
static struct conn *conn_slot(struct control *c, int64_t now, bool evict)
{
	static const enum conn_state order[] = {
		CONN_READ,	/* not even a request yet */
		CONN_LINGER,
		CONN_WRITE,	/* unread replies last */
	};
	struct conn *k = NULL;

	for (unsigned i = 0; i < CONTROL_CONN_MAX; i++)
		if (c->conn[i].state == CONN_FREE)
			return &c->conn[i];
	for (unsigned o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		for (unsigned i = 0; i < CONTROL_CONN_MAX; i++) {
			struct conn *x = &c->conn[i];

			if (x->state == order[o] && conn_evictable(x, now) &&
			    (!k || x->since < k->since))
				k = x;
		}
		if (k)
			break;
	}
	if (!k || !evict)
		return k;
	if (!c->warned || now - c->warned >= WARN_EVERY_MS) {
		log_warnx("control socket: %d connections open; the oldest "
			  "are closed to let new ones in", CONTROL_CONN_MAX);
		c->warned = now;
	}
	if (k->state == CONN_READ)
		conn_say(k, "1\ntoo many connections; closed as the oldest\n");
	conn_close(c, k);
	return k;
}

/* Take one newcomer. Returns 1 to try for another, 0 when none is left,
 * no slot can be had yet (it waits in the backlog), or the process is
 * out of descriptors (the listener then rests a while). */
static int conn_accept(struct control *c, int64_t now)
{
	struct conn *k;
	int fd;

	if (!conn_slot(c, now, false))
		return 0;
	fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno == EINTR || errno == ECONNABORTED)
			return 1;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			if (!c->warned || now - c->warned >= WARN_EVERY_MS) {
				log_warn("control socket: accept");
				c->warned = now;
			}
			c->rest_until = now + ACCEPT_REST_MS;
		}
		return 0;
	}
	k = conn_slot(c, now, true);
	k->fd = fd;
	k->state = CONN_READ;
	k->since = now;
	k->deadline = now + CONTROL_REQUEST_MS;
	/* A real client's request is there already, often. */
	conn_read(c, k, now);
	return 1;
}

struct control *control_open(struct daemon *d, int lfd)
{
	struct control *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->d = d;
	c->lfd = lfd;
	for (unsigned i = 0; i < CONTROL_CONN_MAX; i++)
		c->conn[i].fd = -1;
	return c;
}

int64_t control_pollfds(struct control *c, struct pollfd *pfd, int64_t now)
{
	int64_t due = INT64_MAX;

	memset(pfd, 0, CONTROL_POLLFDS * sizeof(*pfd));
	for (unsigned i = 0; i < CONTROL_POLLFDS; i++)
		pfd[i].fd = -1;
	if (!c)
		return due;
	for (unsigned i = 0; i < CONTROL_CONN_MAX; i++) {
		const struct conn *k = &c->conn[i];

		if (k->state == CONN_FREE)
			continue;
		pfd[1 + i].fd = k->fd;
		pfd[1 + i].events = k->state == CONN_WRITE ? POLLOUT : POLLIN;
		if (k->deadline < due)
			due = k->deadline;
	}
	if (c->rest_until) {
		if (c->rest_until < due)
			due = c->rest_until;
	} else if (conn_slot(c, now, false)) {
		pfd[0] = (struct pollfd){ .fd = c->lfd, .events = POLLIN };
	} else {
		/* Every connection young: newcomers wait in the backlog
		 * until the oldest may give way. */
		for (unsigned i = 0; i < CONTROL_CONN_MAX; i++)
			if (c->conn[i].since + CONTROL_YOUNG_MS < due)
				due = c->conn[i].since + CONTROL_YOUNG_MS;
	}
	return due;
}

void control_dispatch(struct control *c, const struct pollfd *pfd,
		      int64_t now)
{
	if (!c)
		return;
	c->ran = 0;
	c->round_end = mono_ms() + ROUND_MS;
	if (c->rest_until && now >= c->rest_until)
		c->rest_until = 0;
	/* A different first slot each round: no connection is always the
	 * one a long command leaves for later. */
	for (unsigned i = 0; i < CONTROL_CONN_MAX; i++) {
		unsigned s = (c->next + i) % CONTROL_CONN_MAX;
		struct conn *k = &c->conn[s];

		if (k->state == CONN_FREE || !pfd[1 + s].revents ||
		    pfd[1 + s].fd != k->fd)
			continue;
		if (k->state == CONN_READ)
			conn_read(c, k, now);
		else if (k->state == CONN_WRITE)
			conn_write(c, k);
		else
			conn_drain(c, k);
	}
	c->next = (c->next + 1) % CONTROL_CONN_MAX;
	for (unsigned i = 0; i < CONTROL_CONN_MAX; i++) {
		struct conn *k = &c->conn[i];

		if (k->state != CONN_FREE && now >= k->deadline)
			conn_expire(c, k);
	}
	if (pfd[0].fd >= 0 && (pfd[0].revents & POLLIN))
		for (int n = 0; n < ACCEPTS_ROUND && conn_accept(c, now); n++)
			;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CONTROL_CONN_MAX; i++)
		if (c->conn[i].state != CONN_FREE)
			conn_close(c, &c->conn[i]);
	free(c);
}
