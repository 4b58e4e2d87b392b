// SPDX-License-Identifier: GPL-2.0-or-later
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/json.h"
#include "stats/blocklog.h"

#define WRITE_BUF (64 * 1024)
#define IDLE_NS (10 * 1000 * 1000)	/* writer's nap when all rings are empty */
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
};

static size_t json_str(char *out, size_t len, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, i = 0, n = strlen(s), k, elen;
	char esc[8];

	while (i < n) {
		k = json_char(u + i, n - i, esc, &elen);
		if (o + (elen ? elen : k) + 1 > len)
			break;
		if (elen)
			memcpy(out + o, esc, elen);
		else
			memcpy(out + o, u + i, k);
		o += elen ? elen : k;
		i += k;
	}
	out[o] = '\0';
	return o;
}

static const char *kind_name(uint8_t kind)
{
	static const char *const names[] = {
		[BLOCKLOG_BLOCK] = "block",
		[BLOCKLOG_SUMMARY] = "summary",
		[BLOCKLOG_QUARANTINE] = "quarantine",
		[BLOCKLOG_RELEASE] = "release",
		[BLOCKLOG_DETECTION] = "detection",
		[BLOCKLOG_EXCEPT] = "except",
		[BLOCKLOG_FALLBACK] = "fallback",
	};

	return kind < sizeof(names) / sizeof(names[0]) && names[kind] ?
		names[kind] : "unknown";
}

/* {"ts","event":"except","op","prefix","profile"[,"until"][,"note"]} */
static int format_except(const struct blocklog_event *ev, const char *ts,
			 uint64_t lost, char *buf, size_t len)
{
	static const char *const ops[] = { "add", "del", "expire" };
	char prefix[sizeof(ev->prefix) * 6 + 1];
	char profile[sizeof(ev->profile) * 6 + 1];
	char note[sizeof(ev->note) * 6 + 1], until[32];
	int w;

	json_str(prefix, sizeof(prefix), ev->prefix);
	json_str(profile, sizeof(profile), ev->profile);
	json_str(note, sizeof(note), ev->note);
	w = snprintf(buf, len, "{\"ts\":\"%s\",\"event\":\"except\","
		     "\"op\":\"%s\",\"prefix\":\"%s\",\"profile\":\"%s\"",
		     ts, ops[ev->op < 3 ? ev->op : 0], prefix, profile);
	if (ev->until)
		w += snprintf(buf + w, len > (size_t)w ? len - (size_t)w : 0,
			      ",\"until\":\"%s\"",
			      policy_time_format(ev->until, until,
						 sizeof(until)));
	if (ev->note[0])
		w += snprintf(buf + w, len > (size_t)w ? len - (size_t)w : 0,
			      ",\"note\":\"%s\"", note);
	if (lost)
		w += snprintf(buf + w, len > (size_t)w ? len - (size_t)w : 0,
			      ",\"lost\":%llu", (unsigned long long)lost);
	w += snprintf(buf + w, len > (size_t)w ? len - (size_t)w : 0, "}\n");
	return (size_t)w < len ? w : -1;
}

/*
 * The writer formats every block line, tens of thousands a second under a
 * spam run, on a core the verdict threads need: lines are put together
 * here piece by piece rather than through snprintf, and the date is
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

/* As inet_ntop() writes it (RFC 5952: the first longest run of two or
 * more zero groups as "::"; glibc's dotted forms), without its cost. */
static void put_addr(struct line *l, const struct policy_addr *a)
{
	unsigned g[8];
	int i, run = 0, best = -1, best_len = 1;

	if (policy_addr_is_v4(a)) {
		for (i = 12; i < 16; i++) {
			if (i > 12)
				PUT_LIT(l, ".");
			put_u64(l, a->b[i]);
		}
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
		for (i = 12; i < 16; i++) {
			if (i > 12)
				PUT_LIT(l, ".");
			put_u64(l, a->b[i]);
		}
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
		policy_time_format(sec, last.s, sizeof(last.s));
		last.n = strlen(last.s) - 1;	/* without the Z */
		last.sec = sec;
		last.set = true;
	}
	put(l, last.s, last.n);
	put(l, frac, sizeof(frac));
}

/* {"ts","event":"fallback","since","until","rejected","dropped","accepted"} */
static int format_fallback(const struct blocklog_event *ev, const char *ts,
			   uint64_t lost, char *buf, size_t len)
{
	char since[32], until[32];
	int w;

	w = snprintf(buf, len, "{\"ts\":\"%s\",\"event\":\"fallback\","
		     "\"since\":\"%s\",\"until\":\"%s\",\"rejected\":%llu,"
		     "\"dropped\":%llu,\"accepted\":%llu", ts,
		     policy_time_format(ev->since, since, sizeof(since)),
		     policy_time_format(ev->until, until, sizeof(until)),
		     (unsigned long long)ev->fb[POLICY_REJECT],
		     (unsigned long long)ev->fb[POLICY_DROP],
		     (unsigned long long)ev->fb[POLICY_ACCEPT]);
	if (lost)
		w += snprintf(buf + w, len > (size_t)w ? len - (size_t)w : 0,
			      ",\"lost\":%llu", (unsigned long long)lost);
	w += snprintf(buf + w, len > (size_t)w ? len - (size_t)w : 0, "}\n");
	return (size_t)w < len ? w : -1;
}

int blocklog_format(const struct blocklog_event *ev, uint64_t lost,
		    char *buf, size_t len)
{
	struct line l = { .p = buf, .len = len };
	char ts[40], until[32];

	if (!len)
		return -1;
	if (ev->kind == BLOCKLOG_EXCEPT || ev->kind == BLOCKLOG_FALLBACK) {
		put_ts(&l, ev->ts_ms);
		ts[0] = '\0';
		if (!l.full && l.used < sizeof(ts)) {
			memcpy(ts, buf, l.used);
			ts[l.used] = '\0';
		}
		if (ev->kind == BLOCKLOG_FALLBACK)
			return format_fallback(ev, ts, lost, buf, len);
		return format_except(ev, ts, lost, buf, len);
	}
	PUT_LIT(&l, "{\"ts\":\"");
	put_ts(&l, ev->ts_ms);
	PUT_LIT(&l, "\",\"event\":\"");
	put_str(&l, kind_name(ev->kind));
	PUT_LIT(&l, "\",\"src\":\"");
	put_addr(&l, &ev->src);
	PUT_LIT(&l, "\"");
	switch (ev->kind) {
	case BLOCKLOG_BLOCK:
		PUT_LIT(&l, ",\"dst\":\"");
		put_addr(&l, &ev->dst);
		PUT_LIT(&l, "\",\"dport\":");
		put_u64(&l, ev->dport);
		PUT_LIT(&l, ",\"action\":\"");
		put_str(&l, policy_action_name(ev->action));
		PUT_LIT(&l, "\",\"profile\":\"");
		put_json(&l, ev->profile, sizeof(ev->profile));
		PUT_LIT(&l, "\",\"prefix\":\"");
		if (ev->prefix[0]) {
			put_json(&l, ev->prefix, sizeof(ev->prefix));
		} else if (ev->prefix_set) {
			put_addr(&l, &ev->prefix_addr);
			PUT_LIT(&l, "/");
			put_u64(&l, ev->prefix_len);
		}
		PUT_LIT(&l, "\"");
		if (ev->monitor)
			PUT_LIT(&l, ",\"mode\":\"monitor\"");
		break;
	case BLOCKLOG_SUMMARY:
	case BLOCKLOG_DETECTION:
		if (ev->kind == BLOCKLOG_SUMMARY)
			PUT_LIT(&l, ",\"blocked\":");
		else
			PUT_LIT(&l, ",\"syns\":");
		put_u64(&l, ev->count);
		PUT_LIT(&l, ",\"distinct_destinations\":");
		put_u64(&l, ev->distinct);
		PUT_LIT(&l, ",\"window_s\":");
		put_u64(&l, ev->window_s);
		break;
	case BLOCKLOG_QUARANTINE:
		PUT_LIT(&l, ",\"until\":\"");
		put_str(&l, policy_time_format(ev->until, until,
					       sizeof(until)));
		PUT_LIT(&l, "\",\"syns\":");
		put_u64(&l, ev->count);
		PUT_LIT(&l, ",\"distinct_destinations\":");
		put_u64(&l, ev->distinct);
		break;
	case BLOCKLOG_RELEASE:
		if (ev->reason == BLOCKLOG_RELEASE_MANUAL)
			PUT_LIT(&l, ",\"reason\":\"manual\"");
		else
			PUT_LIT(&l, ",\"reason\":\"expired\"");
		break;
	default:
		break;
	}
	if (lost) {
		PUT_LIT(&l, ",\"lost\":");
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

static void emit(struct blocklog *bl, const struct blocklog_event *ev)
{
	uint64_t lost = lost_total(bl);
	int n;

	if (bl->used + 1024 > sizeof(bl->buf))
		flush(bl);
	n = blocklog_format(ev, lost - bl->buf_lost, bl->buf + bl->used,
			    sizeof(bl->buf) - bl->used);
	if (n < 0)
		return;
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
	free(bl);
}
