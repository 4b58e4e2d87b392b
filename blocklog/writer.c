// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The block log's writer: events into lines, the producers' rings and
 * the thread that drains them into the file (blocklog/blocklog.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blocklog/schema.h"
#include "common/json.h"
#include "common/log.h"
#include "common/rfc3339.h"

#define WRITE_BUF (64 * 1024)
#define IDLE_NS (10 * 1000 * 1000)	/* the nap when all rings are empty */
#define WARN_EVERY_S 60
#define REOPEN_EVERY_S 5	/* a file that could not be opened */

/* One producer's ring; head and tail on their own cache lines. */
struct ring {
	_Alignas(64) atomic_size_t head;	/* written by the producer */
	_Alignas(64) atomic_size_t tail;	/* written by the writer */
	_Alignas(64) atomic_uint_fast64_t lost;	/* producer: ring full */
	struct blocklog_event *ev;
};

struct blocklog {
	char *path;
	bool syslog;
	int facility;
	int fd;
	unsigned nrings;
	size_t mask;
	struct ring *rings;

	pthread_t writer;
	atomic_bool stop;
	atomic_bool reopen;

	/* Written by the writer thread only; read with relaxed loads. */
	atomic_uint_fast64_t written;
	atomic_uint_fast64_t lost_io;
	atomic_uint_fast64_t lost_producer;	/* pushed by a producer number
						 * with no ring of its own */
	atomic_uint_fast64_t reopens;
	uint64_t reported_lost;		/* losses said in a line written */
	uint64_t buf_lost;		/* losses said by the lines in buf */
	bool threaded;
	time_t last_warn;
	time_t last_open;		/* last try to open the file */

	char buf[WRITE_BUF];
	size_t used;
	unsigned lines;			/* lines in buf */

	/* This gateway's name (blocklog_set_gateway), for the writer. */
	pthread_mutex_t gw_lock;
	char gateway[64];
};

/*
 * The writer formats every block line, tens of thousands a second under a
 * spam run, on a core the verdict threads need: the verdict threads' lines
 * (block, summary, quarantine, release, detection; session too) are put
 * together here
 * piece by piece rather than through snprintf or json-c, and the date is
 * worked out once a second.
 */
struct line {
	char *p;
	size_t len;			/* room at p, the NUL included */
	size_t used;
	bool full;
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->full || n >= l->len - l->used) {
		l->full = true;
		return;
	}
	memcpy(l->p + l->used, s, n);
	l->used += n;
}

#define PUT_LIT(l, s) put((l), (s), sizeof(s) - 1)
/* ,"name": and ,"name":" — name one of schema.h's field names. */
#define FIELD(name) ",\"" name "\":"
#define FIELD_STR(name) ",\"" name "\":\""

static void put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static void put_u64(struct line *l, uint64_t v)
{
	char b[20];
	int i = (int)sizeof(b);

	do
		b[--i] = (char)('0' + v % 10);
	while (v /= 10);
	put(l, b + i, sizeof(b) - (size_t)i);
}

/* s (at most max bytes) as the inside of a JSON string. */
static void put_json(struct line *l, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, from = 0, n = strnlen(s, max), k, elen;
	char esc[8];

	while (i < n) {
		/* Printable ASCII, the common case, is copied in runs. */
		if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '"' &&
		    u[i] != '\\') {
			i++;
			continue;
		}
		k = json_char(u + i, n - i, esc, &elen);
		if (elen) {
			put(l, s + from, i - from);
			put(l, esc, elen);
			from = i + k;
		}
		i += k;
	}
	put(l, s + from, n - from);
}

static void put_hex16(struct line *l, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	char b[4];
	int i = (int)sizeof(b);

	do
		b[--i] = hex[v & 15];
	while (v >>= 4);
	put(l, b + i, sizeof(b) - (size_t)i);
}

/* The last four bytes of a, dotted. */
static inline void put_dotted(struct line *l, const struct addr *a)
{
	for (int i = 12; i < 16; i++) {
		if (i > 12)
			PUT_LIT(l, ".");
		put_u64(l, a->b[i]);
	}
}

/* As inet_ntop() writes it (RFC 5952: the first longest run of two or
 * more zero groups as "::"; glibc's dotted forms), without its cost. */
static void put_addr(struct line *l, const struct addr *a)
{
	unsigned g[8];
	int i, run = 0, best = -1, best_len = 1;

	if (addr_is_v4(a)) {
		put_dotted(l, a);
		return;
	}
	for (i = 0; i < 8; i++) {
		g[i] = (unsigned)(a->b[2 * i] << 8 | a->b[2 * i + 1]);
		run = g[i] ? 0 : run + 1;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	if (best == 0 && best_len == 6) {
		/* The deprecated IPv4-compatible form, as inet_ntop(). */
		PUT_LIT(l, "::");
		put_dotted(l, a);
		return;
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			PUT_LIT(l, "::");
			i += best_len - 1;
			continue;
		}
		if (i && i != best + best_len)
			PUT_LIT(l, ":");
		put_hex16(l, g[i]);
	}
}

/* "2026-11-28T01:23:45.123Z"; the part to the second is kept from the
 * last call (per thread: tests format from several). */
static void put_ts(struct line *l, int64_t ts_ms)
{
	static _Thread_local struct {
		bool set;
		int64_t sec;
		char s[32];
		size_t n;
	} last;
	int64_t sec = ts_ms >= 0 ? ts_ms / 1000 : (ts_ms - 999) / 1000;
	unsigned ms = (unsigned)(ts_ms - sec * 1000);
	char frac[5] = { '.', (char)('0' + ms / 100),
			 (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
			 'Z' };

	if (!last.set || last.sec != sec) {
		rfc3339_format(sec, last.s, sizeof(last.s));
		last.n = strlen(last.s) - 1;	/* without the Z */
		last.sec = sec;
		last.set = true;
	}
	put(l, last.s, last.n);
	put(l, frac, sizeof(frac));
}

/*
 * except and fallback lines are rare (an operator's change, a start
 * after the kernel judged alone): json-c builds them. It escapes quotes,
 * backslashes and C0 controls but copies every byte from 0x7f on as it
 * is, valid UTF-8 or not; those bytes can only be inside its strings
 * (JSON's own characters are ASCII), so json_out() gives them the
 * escaping of every other line (common/json.h): a byte that is no UTF-8
 * becomes \ufffd, DEL, C1 and U+2028/U+2029 \u escapes. The line is
 * valid UTF-8 JSON whatever bytes a note, prefix or profile held.
 */

/* Add key (a literal) with v to o, taking v (freed on failure). Returns
 * 0, or -1 when out of memory. */
static int add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -1;
	if (json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW |
				      JSON_C_OBJECT_ADD_CONSTANT_KEY) < 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static int add_str(struct json_object *o, const char *key, const char *s)
{
	return add(o, key, json_object_new_string(s));
}

/* A string of an event's: at most max bytes, NUL or not. */
static int add_field(struct json_object *o, const char *key, const char *s,
		     size_t max)
{
	return add(o, key, json_object_new_string_len(s,
						      (int)strnlen(s, max)));
}

/* UNIX seconds t as RFC 3339. */
static int add_time(struct json_object *o, const char *key, int64_t t)
{
	char buf[32];

	return add_str(o, key, rfc3339_format(t, buf, sizeof(buf)));
}

static int add_u64(struct json_object *o, const char *key, uint64_t v)
{
	return add(o, key, json_object_new_uint64(v));
}

/* json-c's text of o, escaped as above, with '\n', into buf. Returns the
 * length, or -1 if buf is short. */
static int json_out(struct json_object *o, char *buf, size_t len)
{
	struct line l = { .p = buf, .len = len };
	size_t n, i = 0, from = 0, k, elen;
	const char *s = json_object_to_json_string_length(o,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];

	if (!s)
		return -1;
	while (i < n) {
		if (u[i] < 0x7f) {
			i++;
			continue;
		}
		k = json_char(u + i, n - i, esc, &elen);
		if (elen) {
			put(&l, s + from, i - from);
			put(&l, esc, elen);
			from = i + k;
		}
		i += k;
	}
	put(&l, s + from, n - from);
	PUT_LIT(&l, "\n");
	if (l.full)
		return -1;
	buf[l.used] = '\0';
	return (int)l.used;
}

/* {"ts","event":"except","op","prefix","profile"[,"until"][,"note"]}
 * {"ts","event":"fallback","since","until","rejected","dropped","accepted"}
 * [,"lost"] */
static int format_json(const struct blocklog_event *ev, uint64_t lost,
		       char *buf, size_t len)
{
	struct json_object *o = json_object_new_object();
	char ts[40];
	struct line t = { .p = ts, .len = sizeof(ts) };
	int ret = -1;

	if (!o)
		return -1;
	put_ts(&t, ev->ts_ms);
	ts[t.used] = '\0';
	/* json-c writes the members in the order added: || keeps it. */
	if (add_str(o, BLOCKLOG_F_TS, ts) < 0 ||
	    add_str(o, BLOCKLOG_F_EVENT, blocklog_kind_name(ev->kind)) < 0)
		goto out;
	if (ev->kind == BLOCKLOG_EXCEPT) {
		/* An exception is for a prefix or for a subscriber id. */
		if (add_str(o, BLOCKLOG_F_OP,
			    blocklog_except_op_name(ev->op)) < 0 ||
		    (ev->subscriber[0] ?
		     add_field(o, BLOCKLOG_F_SUBSCRIBER, ev->subscriber,
			       sizeof(ev->subscriber)) :
		     add_field(o, BLOCKLOG_F_PREFIX, ev->prefix,
			       sizeof(ev->prefix))) < 0 ||
		    add_field(o, BLOCKLOG_F_PROFILE, ev->profile,
			      sizeof(ev->profile)) < 0 ||
		    (ev->until &&
		     add_time(o, BLOCKLOG_F_UNTIL, ev->until) < 0) ||
		    (ev->note[0] &&
		     add_field(o, BLOCKLOG_F_NOTE, ev->note,
			       sizeof(ev->note)) < 0) ||
		    (ev->gateway[0] &&
		     add_field(o, BLOCKLOG_F_GATEWAY, ev->gateway,
			       sizeof(ev->gateway)) < 0))
			goto out;
	} else if (add_time(o, BLOCKLOG_F_SINCE, ev->since) < 0 ||
		   add_time(o, BLOCKLOG_F_UNTIL, ev->until) < 0 ||
		   add_u64(o, BLOCKLOG_F_REJECTED,
			   ev->fb[POLICY_REJECT]) < 0 ||
		   add_u64(o, BLOCKLOG_F_DROPPED, ev->fb[POLICY_DROP]) < 0 ||
		   add_u64(o, BLOCKLOG_F_ACCEPTED,
			   ev->fb[POLICY_ACCEPT]) < 0) {
		goto out;
	}
	if (lost && add_u64(o, BLOCKLOG_F_LOST, lost) < 0)
		goto out;
	ret = json_out(o, buf, len);
out:
	json_object_put(o);
	return ret;
}

/* A block line's entry or a session's IPv6 prefix: its text, or made
 * from prefix_addr/prefix_len; nothing when it has neither. */
static void put_prefix(struct line *l, const struct blocklog_event *ev)
{
	if (ev->prefix[0]) {
		put_json(l, ev->prefix, sizeof(ev->prefix));
	} else if (ev->prefix_set) {
		put_addr(l, &ev->prefix_addr);
		PUT_LIT(l, "/");
		put_u64(l, ev->prefix_len);
	}
}

static void put_subscriber(struct line *l, const struct blocklog_event *ev)
{
	PUT_LIT(l, FIELD_STR(BLOCKLOG_F_SUBSCRIBER));
	put_json(l, ev->subscriber, sizeof(ev->subscriber));
	PUT_LIT(l, "\"");
}

/* ,"dst":…,"dport":…,"action":"…": a block or shadow line's SYN and
 * the running policy's action. */
static void put_syn(struct line *l, const struct blocklog_event *ev)
{
	PUT_LIT(l, FIELD_STR(BLOCKLOG_F_DST));
	put_addr(l, &ev->dst);
	PUT_LIT(l, "\"" FIELD(BLOCKLOG_F_DPORT));
	put_u64(l, ev->dport);
	PUT_LIT(l, FIELD_STR(BLOCKLOG_F_ACTION));
	put_str(l, policy_action_name(ev->action));
	PUT_LIT(l, "\"");
}

static void put_block(struct line *l, const struct blocklog_event *ev)
{
	put_syn(l, ev);
	PUT_LIT(l, FIELD_STR(BLOCKLOG_F_PROFILE));
	put_json(l, ev->profile, sizeof(ev->profile));
	PUT_LIT(l, "\"" FIELD_STR(BLOCKLOG_F_PREFIX));
	put_prefix(l, ev);
	PUT_LIT(l, "\"");
	if (ev->monitor)
		PUT_LIT(l, FIELD_STR(BLOCKLOG_F_MODE)
			BLOCKLOG_MODE_MONITOR "\"");
}

/* After src: dst, dport, action[, profile][, prefix], shadow_action
 * [, shadow_profile][, shadow_prefix]: the running policy's decision,
 * then the candidate's. */
static void put_shadow(struct line *l, const struct blocklog_event *ev)
{
	put_syn(l, ev);
	if (ev->profile[0]) {
		PUT_LIT(l, FIELD_STR(BLOCKLOG_F_PROFILE));
		put_json(l, ev->profile, sizeof(ev->profile));
		PUT_LIT(l, "\"");
	}
	if (ev->prefix[0] || ev->prefix_set) {
		PUT_LIT(l, FIELD_STR(BLOCKLOG_F_PREFIX));
		put_prefix(l, ev);
		PUT_LIT(l, "\"");
	}
	PUT_LIT(l, FIELD_STR(BLOCKLOG_F_SHADOW_ACTION));
	put_str(l, policy_action_name(ev->shadow_action));
	PUT_LIT(l, "\"");
	if (ev->shadow_profile[0]) {
		PUT_LIT(l, FIELD_STR(BLOCKLOG_F_SHADOW_PROFILE));
		put_json(l, ev->shadow_profile, sizeof(ev->shadow_profile));
		PUT_LIT(l, "\"");
	}
	if (ev->shadow_prefix_set) {
		PUT_LIT(l, FIELD_STR(BLOCKLOG_F_SHADOW_PREFIX));
		put_addr(l, &ev->shadow_prefix_addr);
		PUT_LIT(l, "/");
		put_u64(l, ev->shadow_prefix_len);
		PUT_LIT(l, "\"");
	}
}

/* After src: the held-back disagreements by direction, window_s. */
static void put_shadow_summary(struct line *l,
			       const struct blocklog_event *ev)
{
	for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++) {
		PUT_LIT(l, ",\"");
		put_str(l, blocklog_shadow_dir_name(d));
		PUT_LIT(l, "\":");
		put_u64(l, ev->shadow[d]);
	}
	PUT_LIT(l, FIELD(BLOCKLOG_F_WINDOW));
	put_u64(l, ev->window_s);
}

/* summary: blocked[,kernel]; detection: syns; then both distinct and
 * window_s. */
static void put_window(struct line *l, const struct blocklog_event *ev)
{
	if (ev->kind == BLOCKLOG_SUMMARY)
		PUT_LIT(l, FIELD(BLOCKLOG_F_BLOCKED));
	else
		PUT_LIT(l, FIELD(BLOCKLOG_F_SYNS));
	put_u64(l, ev->count);
	if (ev->kind == BLOCKLOG_SUMMARY && ev->kernel) {
		PUT_LIT(l, FIELD(BLOCKLOG_F_KERNEL));
		put_u64(l, ev->kernel);
	}
	PUT_LIT(l, FIELD(BLOCKLOG_F_DISTINCT));
	put_u64(l, ev->distinct);
	PUT_LIT(l, FIELD(BLOCKLOG_F_WINDOW));
	put_u64(l, ev->window_s);
}

/* After src: [,"prefix"],"state"[,"reason" (stop)][,"source"]
 * [,"until" (start)]. */
static void put_session(struct line *l, const struct blocklog_event *ev)
{
	bool stop = ev->state == BLOCKLOG_SESSION_STOP;
	char until[32];

	if (ev->prefix[0] || ev->prefix_set) {
		PUT_LIT(l, FIELD_STR(BLOCKLOG_F_PREFIX));
		put_prefix(l, ev);
		PUT_LIT(l, "\"");
	}
	PUT_LIT(l, FIELD_STR(BLOCKLOG_F_STATE));
	put_str(l, blocklog_session_state_name(ev->state));
	PUT_LIT(l, "\"");
	if (stop) {
		PUT_LIT(l, FIELD_STR(BLOCKLOG_F_REASON));
		put_str(l, blocklog_session_end_name(ev->reason));
		PUT_LIT(l, "\"");
	}
	if (ev->source[0]) {
		PUT_LIT(l, FIELD_STR(BLOCKLOG_F_SOURCE));
		put_json(l, ev->source, sizeof(ev->source));
		PUT_LIT(l, "\"");
	}
	if (!stop && ev->until) {
		PUT_LIT(l, FIELD_STR(BLOCKLOG_F_UNTIL));
		put_str(l, rfc3339_format(ev->until, until, sizeof(until)));
		PUT_LIT(l, "\"");
	}
}

/*
 * {"ts","event","src",…the event's fields…[,"subscriber"][,"lost"]}; a
 * session line names its subscriber before src, as DESIGN.md shows it.
 */
int blocklog_format(const struct blocklog_event *ev, uint64_t lost,
		    char *buf, size_t len)
{
	struct line l = { .p = buf, .len = len };
	char until[32];

	if (!len)
		return -1;
	if (ev->kind == BLOCKLOG_EXCEPT || ev->kind == BLOCKLOG_FALLBACK)
		return format_json(ev, lost, buf, len);
	PUT_LIT(&l, "{\"" BLOCKLOG_F_TS "\":\"");
	put_ts(&l, ev->ts_ms);
	PUT_LIT(&l, "\"" FIELD_STR(BLOCKLOG_F_EVENT));
	put_str(&l, blocklog_kind_name(ev->kind));
	PUT_LIT(&l, "\"");
	if (ev->kind == BLOCKLOG_SESSION)
		put_subscriber(&l, ev);
	PUT_LIT(&l, FIELD_STR(BLOCKLOG_F_SRC));
	put_addr(&l, &ev->src);
	PUT_LIT(&l, "\"");
	switch (ev->kind) {
	case BLOCKLOG_BLOCK:
		put_block(&l, ev);
		break;
	case BLOCKLOG_SUMMARY:
	case BLOCKLOG_DETECTION:
		put_window(&l, ev);
		break;
	case BLOCKLOG_QUARANTINE:
		PUT_LIT(&l, FIELD_STR(BLOCKLOG_F_UNTIL));
		put_str(&l, rfc3339_format(ev->until, until,
					   sizeof(until)));
		PUT_LIT(&l, "\"" FIELD(BLOCKLOG_F_SYNS));
		put_u64(&l, ev->count);
		PUT_LIT(&l, FIELD(BLOCKLOG_F_DISTINCT));
		put_u64(&l, ev->distinct);
		break;
	case BLOCKLOG_RELEASE:
		PUT_LIT(&l, FIELD_STR(BLOCKLOG_F_REASON));
		put_str(&l, blocklog_release_name(ev->reason));
		PUT_LIT(&l, "\"");
		break;
	case BLOCKLOG_SESSION:
		put_session(&l, ev);
		break;
	case BLOCKLOG_SHADOW:
		put_shadow(&l, ev);
		break;
	case BLOCKLOG_SHADOW_SUMMARY:
		put_shadow_summary(&l, ev);
		break;
	default:
		break;
	}
	if (ev->kind != BLOCKLOG_SESSION && ev->subscriber[0])
		put_subscriber(&l, ev);
	if ((ev->kind == BLOCKLOG_QUARANTINE || ev->kind == BLOCKLOG_RELEASE) &&
	    ev->gateway[0]) {
		PUT_LIT(&l, FIELD_STR(BLOCKLOG_F_GATEWAY));
		put_json(&l, ev->gateway, sizeof(ev->gateway));
		PUT_LIT(&l, "\"");
	}
	if (lost) {
		PUT_LIT(&l, FIELD(BLOCKLOG_F_LOST));
		put_u64(&l, lost);
	}
	PUT_LIT(&l, "}\n");
	if (l.full)
		return -1;
	buf[l.used] = '\0';
	return (int)l.used;
}

static uint64_t lost_total(struct blocklog *bl)
{
	uint64_t t = atomic_load_explicit(&bl->lost_io, memory_order_relaxed) +
		     atomic_load_explicit(&bl->lost_producer,
					  memory_order_relaxed);

	for (unsigned i = 0; i < bl->nrings; i++)
		t += atomic_load_explicit(&bl->rings[i].lost,
					  memory_order_relaxed);
	return t;
}

static void open_file(struct blocklog *bl)
{
	int fd;

	if (!bl->path)
		return;
	bl->last_open = time(NULL);
	/* Not through a link the daemon's own account could plant in its
	 * log folder, and nothing but a regular file (a FIFO would block). */
	fd = open(bl->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		  O_NOFOLLOW | O_NONBLOCK, 0640);
	if (fd >= 0) {
		struct stat st;

		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			fd = -1;
			errno = EINVAL;
		}
	}
	if (fd < 0) {
		log_warn("block log %s%s: lines are lost (and counted) until "
			 "it can be opened; retrying every %d s", bl->path,
			 errno == ELOOP ? " is a symbolic link" :
			 errno == EINVAL || errno == ENXIO ?
			 " is not a regular file" : "",
			 REOPEN_EVERY_S);
		return;
	}
	if (bl->fd >= 0)
		close(bl->fd);
	bl->fd = fd;
}

static void flush(struct blocklog *bl)
{
	size_t off = 0;

	if (bl->fd < 0 && bl->path &&
	    time(NULL) - bl->last_open >= REOPEN_EVERY_S)
		open_file(bl);
	while (off < bl->used) {
		ssize_t n = bl->fd < 0 ? -1 :
			write(bl->fd, bl->buf + off, bl->used - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			time_t now = time(NULL);

			if (bl->fd < 0)
				errno = EBADF;
			if (now - bl->last_warn >= WARN_EVERY_S) {
				log_warn("block log %s: %u lines lost",
					 bl->path, bl->lines);
				bl->last_warn = now;
			}
			/* Partial lines stay unwritten: count whole lines. */
			atomic_fetch_add_explicit(&bl->lost_io, bl->lines,
						  memory_order_relaxed);
			break;
		}
		off += (size_t)n;
	}
	if (off == bl->used) {
		atomic_fetch_add_explicit(&bl->written, bl->lines,
					  memory_order_relaxed);
		bl->reported_lost = bl->buf_lost;
	} else {
		/* The next line says these losses again, with its own. */
		bl->buf_lost = bl->reported_lost;
	}
	bl->used = 0;
	bl->lines = 0;
}

static void emit(struct blocklog *bl, const struct blocklog_event *in)
{
	uint64_t lost = lost_total(bl);
	const struct blocklog_event *ev = in;
	struct blocklog_event named;
	int n;

	/* A change this gateway made: its name, when it has one. */
	if ((in->kind == BLOCKLOG_QUARANTINE || in->kind == BLOCKLOG_RELEASE ||
	     in->kind == BLOCKLOG_EXCEPT) && !in->gateway[0]) {
		pthread_mutex_lock(&bl->gw_lock);
		if (bl->gateway[0]) {
			named = *in;
			memcpy(named.gateway, bl->gateway, sizeof(named.gateway));
			ev = &named;
		}
		pthread_mutex_unlock(&bl->gw_lock);
	}

	if (bl->used + 1024 > sizeof(bl->buf))
		flush(bl);
	n = blocklog_format(ev, lost - bl->buf_lost, bl->buf + bl->used,
			    sizeof(bl->buf) - bl->used);
	if (n < 0 && bl->used) {
		/* A line longer than the room kept (an except line's note
		 * escaped): the whole buffer is its. */
		flush(bl);
		n = blocklog_format(ev, lost - bl->buf_lost, bl->buf,
				    sizeof(bl->buf));
	}
	if (n < 0) {
		/* json-c out of memory: the line is lost, and said so. */
		atomic_fetch_add_explicit(&bl->lost_io, 1,
					  memory_order_relaxed);
		return;
	}
	bl->buf_lost = lost;
	if (bl->syslog)
		syslog(bl->facility | LOG_NOTICE, "%.*s", n - 1,
		       bl->buf + bl->used);
	if (!bl->path)
		return;
	bl->used += (size_t)n;
	bl->lines++;
}

size_t blocklog_drain(struct blocklog *bl)
{
	size_t done = 0;

	if (atomic_exchange(&bl->reopen, false)) {
		open_file(bl);
		atomic_fetch_add_explicit(&bl->reopens, 1,
					  memory_order_relaxed);
	}
	for (unsigned i = 0; i < bl->nrings; i++) {
		struct ring *r = &bl->rings[i];
		size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		size_t h = atomic_load_explicit(&r->head, memory_order_acquire);

		for (; t != h; t++, done++) {
			emit(bl, &r->ev[t & bl->mask]);
			atomic_store_explicit(&r->tail, t + 1,
					      memory_order_release);
		}
	}
	if (bl->used)
		flush(bl);
	return done;
}

static void *writer_main(void *arg)
{
	struct blocklog *bl = arg;
	const struct timespec nap = { 0, IDLE_NS };

	pthread_setname_np(pthread_self(), "pc-blocklog");

	for (;;) {
		if (blocklog_drain(bl))
			continue;
		if (atomic_load(&bl->stop)) {
			blocklog_drain(bl);
			break;
		}
		nanosleep(&nap, NULL);
	}
	return NULL;
}

struct blocklog *blocklog_open(const struct blocklog_config *cfg)
{
	struct blocklog *bl;
	unsigned slots = cfg->ring_slots ? cfg->ring_slots : 4096;
	int err;

	if (!cfg->producers || (slots & (slots - 1))) {
		errno = EINVAL;
		return NULL;
	}
	bl = calloc(1, sizeof(*bl));
	if (!bl)
		return NULL;
	bl->fd = -1;
	pthread_mutex_init(&bl->gw_lock, NULL);
	if (cfg->gateway && blocklog_gateway_valid(cfg->gateway))
		snprintf(bl->gateway, sizeof(bl->gateway), "%s", cfg->gateway);
	bl->syslog = cfg->syslog;
	bl->facility = cfg->facility ? cfg->facility : LOG_USER;
	bl->nrings = cfg->producers;
	bl->mask = slots - 1;
	bl->rings = aligned_alloc(64, sizeof(*bl->rings) * bl->nrings);
	if (!bl->rings)
		goto fail;
	memset(bl->rings, 0, sizeof(*bl->rings) * bl->nrings);
	for (unsigned i = 0; i < bl->nrings; i++) {
		bl->rings[i].ev = calloc(slots, sizeof(struct blocklog_event));
		if (!bl->rings[i].ev)
			goto fail;
	}
	if (cfg->path) {
		bl->path = strdup(cfg->path);
		if (!bl->path)
			goto fail;
		/* A file that cannot be opened costs lines, not the start:
		 * the writer tries again. */
		open_file(bl);
	}
	bl->threaded = !cfg->no_writer_thread;
	if (bl->threaded) {
		err = pthread_create(&bl->writer, NULL, writer_main, bl);
		if (err) {
			errno = err;
			goto fail;
		}
	}
	return bl;
fail:
	err = errno;
	if (bl->fd >= 0)
		close(bl->fd);
	for (unsigned i = 0; bl->rings && i < bl->nrings; i++)
		free(bl->rings[i].ev);
	free(bl->rings);
	free(bl->path);
	free(bl);
	errno = err;
	return NULL;
}

int blocklog_push(struct blocklog *bl, unsigned producer,
		  const struct blocklog_event *ev)
{
	struct ring *r;
	size_t h, t;

	/* A ring has one producer: another one's number taken modulo would
	 * be a second writer on it, a race. Counted as lost instead. */
	if (producer >= bl->nrings) {
		atomic_fetch_add_explicit(&bl->lost_producer, 1,
					  memory_order_relaxed);
		errno = EINVAL;
		return -1;
	}
	r = &bl->rings[producer];
	h = atomic_load_explicit(&r->head, memory_order_relaxed);
	t = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (h - t > bl->mask) {
		atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
		return -1;
	}
	r->ev[h & bl->mask] = *ev;
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 0;
}

size_t blocklog_room(const struct blocklog *bl, unsigned producer)
{
	const struct ring *r;
	size_t h, t;

	if (producer >= bl->nrings)
		return 0;
	r = &bl->rings[producer];
	h = atomic_load_explicit(&r->head, memory_order_relaxed);
	t = atomic_load_explicit(&r->tail, memory_order_acquire);
	return bl->mask + 1 - (h - t);
}

void blocklog_reopen(struct blocklog *bl)
{
	atomic_store(&bl->reopen, true);
}

void blocklog_counters(const struct blocklog *bl, struct blocklog_counters *c)
{
	c->written = atomic_load_explicit(&bl->written, memory_order_relaxed);
	c->lost_io = atomic_load_explicit(&bl->lost_io, memory_order_relaxed);
	c->reopens = atomic_load_explicit(&bl->reopens, memory_order_relaxed);
	c->lost_full = atomic_load_explicit(&bl->lost_producer,
					    memory_order_relaxed);
	for (unsigned i = 0; i < bl->nrings; i++)
		c->lost_full += atomic_load_explicit(&bl->rings[i].lost,
						     memory_order_relaxed);
}

unsigned blocklog_producers(const struct blocklog *bl)
{
	return bl->nrings;
}

void blocklog_close(struct blocklog *bl)
{
	if (!bl)
		return;
	atomic_store(&bl->stop, true);
	if (bl->threaded)
		pthread_join(bl->writer, NULL);
	else
		blocklog_drain(bl);
	if (bl->fd >= 0)
		close(bl->fd);
	for (unsigned i = 0; i < bl->nrings; i++)
		free(bl->rings[i].ev);
	free(bl->rings);
	free(bl->path);
	pthread_mutex_destroy(&bl->gw_lock);
	free(bl);
}

void blocklog_set_gateway(struct blocklog *bl, const char *name)
{
	pthread_mutex_lock(&bl->gw_lock);
	snprintf(bl->gateway, sizeof(bl->gateway), "%s",
		 name && blocklog_gateway_valid(name) ? name : "");
	pthread_mutex_unlock(&bl->gw_lock);
}
