// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sessions in the daemon: the identity/ table opened from the state
 * folder, its changes written as session lines and to the journal, the
 * kernel quarantine set told when a quarantined subscriber's addresses
 * move, expiry and reclaim each tick, and the control socket's `session`
 * command. All on the main thread, the table's one writer.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "common/rfc3339.h"
#include "filter/cmdargs.h"
#include "filter/daemon.h"
#include "filter/reply_json.h"
#include "filter/session.h"

#define STATE_FILE "sessions"
/* The journal is folded into a new snapshot once it holds this many
 * lines more than there are sessions. */
#define COMPACT_SLACK 100000

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What the command in progress moved from other subscribers, for its
 * reply. */
static void note_moved(struct daemon *d, const struct identity_change *c)
{
	struct session_moves *m = &d->moves;
	char a[80];

	if (m->n >= sizeof(m->line) / sizeof(m->line[0]))
		return;
	identity_addr_format(&c->addr, a, sizeof(a));
	snprintf(m->line[m->n++], sizeof(m->line[0]), "%s from %s", a, c->id);
}

static bool quarantined(struct daemon *d, const struct identity_change *c)
{
	struct stats_subscriber s;
	int64_t now = wall_ms();

	if (!d->stats)
		return false;
	if (stats_subscriber_get_id(d->stats, c->key, now, &s) == 0 &&
	    s.quarantined)
		return true;
	/* An address held in quarantine by itself (no session then):
	 * once a session holds it, its subscriber's state decides. */
	return c->what == IDENTITY_START &&
	       stats_subscriber_get(d->stats, &c->addr.a, now, &s) == 0 &&
	       s.quarantined && !s.by_subscriber;
}

static void on_change(void *arg, const struct identity_change *c)
{
	struct daemon *d = arg;
	struct blocklog_event ev = {
		.kind = BLOCKLOG_SESSION,
		.ts_ms = wall_ms(),
	};

	if (c->what == IDENTITY_END || d->sessions_loading)
		return;
	if (c->what == IDENTITY_MOVE)
		note_moved(d, c);
	if (quarantined(d, c))
		d->kq_dirty = true;
	if (!d->blocklog)
		return;
	snprintf(ev.subscriber, sizeof(ev.subscriber), "%s", c->id);
	snprintf(ev.source, sizeof(ev.source), "%s", c->source);
	ev.src = c->addr.a;
	if (!addr_is_v4(&c->addr.a)) {
		ev.prefix_set = true;
		ev.prefix_addr = c->addr.a;
		ev.prefix_len = c->addr.len;
	}
	ev.state = c->what == IDENTITY_START ? BLOCKLOG_SESSION_START
					     : BLOCKLOG_SESSION_STOP;
	ev.reason = c->what == IDENTITY_EXPIRE ? BLOCKLOG_SESSION_EXPIRED :
		    c->what == IDENTITY_MOVE ? BLOCKLOG_SESSION_MOVED :
					       BLOCKLOG_SESSION_STOPPED;
	if (c->what == IDENTITY_START)
		ev.until = c->expires;
	/* The main thread's own ring is the last one. */
	blocklog_push(d->blocklog, d->nworkers, &ev);
}

/* The counters for the metrics thread. */
static void publish(struct daemon *d, const struct identity_counters *c)
{
	atomic_store(&d->sess_pub.live, c->sessions);
	atomic_store(&d->sess_pub.max, c->max);
	atomic_store(&d->sess_pub.starts, c->starts);
	atomic_store(&d->sess_pub.renewals, c->renewals);
	atomic_store(&d->sess_pub.moves, c->moves);
	atomic_store(&d->sess_pub.stops, c->stops);
	atomic_store(&d->sess_pub.expiries, c->expiries);
	atomic_store(&d->sess_pub.refused, c->refused_full);
}

int session_open(struct daemon *d)
{
	char path[4096], why[512];
	uint64_t seed;
	size_t skipped;
	struct identity_counters c;

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
	d->ident = identity_open(d->opts.max_sessions, seed, on_change, d);
	if (!d->ident) {
		log_warn("session table (%zu sessions)", d->opts.max_sessions);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/" STATE_FILE, d->opts.state_dir);
	d->sessions_loading = true;
	d->ident_state = identity_state_open(d->ident, path, time(NULL),
					     &skipped, why, sizeof(why));
	d->sessions_loading = false;
	if (!d->ident_state) {
		log_warnx("%s; fix or remove the file (sessions come back "
			  "with the feeds' next renewals)", why);
		return -1;
	}
	if (identity_state_error(d->ident_state))
		log_warnx("%s.journal: %s: sessions are held, and saved once "
			  "it can be written", path,
			  strerror(identity_state_error(d->ident_state)));
	if (skipped)
		log_warnx("%s.journal: its last line was cut short (a crash "
			  "while it was written): skipped", path);
	identity_counters(d->ident, &c);
	publish(d, &c);
	if (c.sessions)
		log_info("%" PRIu64 " sessions from %s", c.sessions, path);
	return 0;
}

void session_close(struct daemon *d)
{
	identity_state_close(d->ident_state);
	d->ident_state = NULL;
	identity_close(d->ident);
	d->ident = NULL;
}

/* The oldest epoch a verdict thread inside a burst published. */
static uint64_t oldest_reader(const struct daemon *d)
{
	uint64_t oldest = UINT64_MAX;

	for (unsigned i = 0; d->workers && i < d->nworkers; i++) {
		uint64_t e = atomic_load(&d->workers[i].id_epoch);

		if (e && e < oldest)
			oldest = e;
	}
	return oldest;
}

void session_tick(struct daemon *d, int64_t now)
{
	struct identity_counters c;

	if (!d->ident)
		return;
	identity_expire(d->ident, now);
	identity_reclaim(d->ident, oldest_reader(d));
	/* The state folder made when first needed (not at the start: a
	 * daemon that never hears of a session needs none). */
	if (identity_state_error(d->ident_state) == ENOENT)
		mkdir(d->opts.state_dir, 0750);
	if (identity_state_flush(d->ident_state) < 0) {
		/* Said once, and "again" only once it is. */
		if (!d->sessions_unsaved)
			log_warn("sessions journal (tried again each second)");
		d->sessions_unsaved = true;
	} else if (d->sessions_unsaved) {
		d->sessions_unsaved = false;
		log_info("sessions journal written again");
	}
	identity_counters(d->ident, &c);
	publish(d, &c);
	if (identity_state_journal_lines(d->ident_state) >
	    c.sessions + COMPACT_SLACK ||
	    identity_state_stale(d->ident_state)) {
		int64_t t0 = daemon_mono_ms();

		/* A failing disk is tried again every 10 s, not each tick
		 * (a snapshot of millions is not free), and said once. */
		if (t0 < d->sess_compact_next_ms)
			return;
		if (identity_state_compact(d->ident_state, now) < 0) {
			if (!d->sessions_unsaved)
				log_warn("sessions snapshot (tried again every "
					 "10 s)");
			d->sessions_unsaved = true;
			d->sess_compact_next_ms = t0 + 10000;
		} else
			log_debug("sessions snapshot: %" PRIu64 " sessions in "
				  "%lld ms", c.sessions,
				  (long long)(daemon_mono_ms() - t0));
	}
}

void session_flush(struct daemon *d)
{
	if (d->ident_state && identity_state_flush(d->ident_state) < 0)
		log_warn("sessions journal");
}

/* ---- the command ---------------------------------------------------------------- */

static void addrs_text(const struct identity_session *s, struct strbuf *out)
{
	char a[80];

	if (s->has_v4)
		strbuf_printf(out, "%s", identity_addr_format(&s->v4, a,
							     sizeof(a)));
	for (unsigned i = 0; i < s->nv6; i++)
		strbuf_printf(out, "%s%s", s->has_v4 || i ? " " : "",
			      identity_addr_format(&s->v6[i], a, sizeof(a)));
}

static void until_text(int64_t expires, struct strbuf *out)
{
	char when[32];

	if (expires)
		strbuf_printf(out, "until %s",
			      rfc3339_format(expires, when, sizeof(when)));
	else
		strbuf_printf(out, "no expiry");
}

static bool source_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > IDENTITY_SOURCE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && !strchr("._-", s[i]))
			return false;
	return true;
}

static int cmd_start(struct daemon *d, int argc, char **argv,
		     struct strbuf *out)
{
	static const struct option opts[] = {
		{ "for", required_argument, NULL, 'f' },
		{ "until", required_argument, NULL, 'u' },
		{ "source", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct identity_session s = { 0 };
	int64_t now = time(NULL);
	bool expiry = false;
	char why[512];
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
		case 'u':
			if (cmdargs_expiry("session start", c, optarg, now,
					   &s.expires, &expiry, out) < 0)
				return 1;
			break;
		case 's':
			if (!source_ok(optarg)) {
				strbuf_printf(out, "--source: expected 1 to %d "
					      "letters, digits, '.', '_' or "
					      "'-', found '%s'\n",
					      IDENTITY_SOURCE_MAX, optarg);
				return 1;
			}
			snprintf(s.source, sizeof(s.source), "%s", optarg);
			break;
		default:
			cmdargs_bad_option(out, "session start", c, argv);
			return 1;
		}
	}
	if (cmdargs_operands(argc, argv, 2, 1 + 1 + IDENTITY_V6_MAX,
			     "session start", "ID ADDRESS", out) < 0)
		return 1;
	if (identity_id_check(argv[optind], strlen(argv[optind]), why,
			      sizeof(why)) < 0) {
		strbuf_printf(out, "session start: %s\n", why);
		return 1;
	}
	snprintf(s.id, sizeof(s.id), "%s", argv[optind]);
	for (int i = optind + 1; i < argc; i++) {
		struct identity_addr a;

		if (identity_addr_parse(argv[i], &a, why, sizeof(why)) < 0) {
			strbuf_printf(out, "session start: %s\n", why);
			return 1;
		}
		if (addr_is_v4(&a.a)) {
			if (s.has_v4) {
				strbuf_printf(out, "session start: a session "
					      "holds one IPv4 address, found "
					      "two\n");
				return 1;
			}
			s.has_v4 = true;
			s.v4 = a;
		} else if (s.nv6 == IDENTITY_V6_MAX) {
			strbuf_printf(out, "session start: a session holds "
				      "at most %d IPv6 prefixes\n",
				      IDENTITY_V6_MAX);
			return 1;
		} else {
			s.v6[s.nv6++] = a;
		}
	}
	d->moves.n = 0;
	r = identity_start(d->ident, &s, now, why, sizeof(why));
	if (r < 0) {
		strbuf_printf(out, "session start: %s\n", why);
		return 1;
	}
	identity_state_put(d->ident_state, &s);
	strbuf_printf(out, "%s %s: ", r ? "started" : "renewed", s.id);
	addrs_text(&s, out);
	strbuf_printf(out, ", ");
	until_text(s.expires, out);
	if (s.source[0])
		strbuf_printf(out, " (%s)", s.source);
	strbuf_printf(out, "\n");
	for (unsigned i = 0; i < d->moves.n; i++)
		strbuf_printf(out, "moved %s\n", d->moves.line[i]);
	return 0;
}

static int cmd_stop(struct daemon *d, int argc, char **argv,
		    struct strbuf *out)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct identity_addr a;
	int64_t now = time(NULL);
	const char *what;
	char why[256];
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		cmdargs_bad_option(out, "session stop", c, argv);
		return 1;
	}
	if (cmdargs_operands(argc, argv, 1, 1, "session stop", "ID|ADDRESS",
			     out) < 0)
		return 1;
	what = argv[optind];
	/* An id first: an id may look like anything, an address not. */
	if (identity_stop_id(d->ident, what, now) == 0) {
		identity_state_del(d->ident_state, what);
		strbuf_printf(out, "stopped %s\n", what);
		return 0;
	}
	if (identity_addr_parse(what, &a, why, sizeof(why)) == 0) {
		struct identity_session s;

		if (identity_find(d->ident, &a, now, &s) == 0 &&
		    identity_stop_addr(d->ident, &a, now) == 0) {
			identity_state_del_addr(d->ident_state, &a);
			strbuf_printf(out, "stopped %s of %s\n", what, s.id);
			return 0;
		}
	}
	strbuf_printf(out, "session stop: no session of %s\n", what);
	return 1;
}

struct list_ctx {
	struct strbuf *out;
	struct json_object *arr;
	size_t n;
};

static struct json_object *session_json(const struct identity_session *s)
{
	struct json_object *o = json_object_new_object(), *a;
	char buf[80];

	if (!o)
		return NULL;
	reply_json_str(o, "subscriber", s->id);
	a = json_object_new_array();
	if (s->has_v4)
		reply_json_push(a, json_object_new_string(
			identity_addr_format(&s->v4, buf, sizeof(buf))));
	for (unsigned i = 0; a && i < s->nv6; i++)
		reply_json_push(a, json_object_new_string(
			identity_addr_format(&s->v6[i], buf, sizeof(buf))));
	reply_json_add(o, "addresses", a);
	if (s->expires)
		reply_json_str(o, "until",
			       rfc3339_format(s->expires, buf, sizeof(buf)));
	if (s->source[0])
		reply_json_str(o, "source", s->source);
	return o;
}

static int list_one(void *arg, const struct identity_session *s)
{
	struct list_ctx *l = arg;

	l->n++;
	if (l->arr) {
		reply_json_push(l->arr, session_json(s));
		return 0;
	}
	strbuf_printf(l->out, "%-24s ", s->id);
	addrs_text(s, l->out);
	strbuf_printf(l->out, "  ");
	until_text(s->expires, l->out);
	strbuf_printf(l->out, "%s%s\n", s->source[0] ? "  " : "", s->source);
	return 0;
}

static int cmd_list(struct daemon *d, int argc, char **argv,
		    struct strbuf *out)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct list_ctx l = { .out = out };
	int64_t now = time(NULL);
	bool json = false;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c != 'j') {
			cmdargs_bad_option(out, "session list", c, argv);
			return 1;
		}
		json = true;
	}
	if (cmdargs_operands(argc, argv, 0, 1, "session list", "", out) < 0)
		return 1;
	if (json && !(l.arr = json_object_new_array())) {
		strbuf_printf(out, "out of memory\n");
		return 1;
	}
	if (optind < argc) {
		/* One: by id, or by an address it holds. */
		struct identity_session s;
		struct identity_addr a;
		char why[256];

		if (identity_get(d->ident, argv[optind], now, &s) == 0 ||
		    (identity_addr_parse(argv[optind], &a, why,
					 sizeof(why)) == 0 &&
		     identity_find(d->ident, &a, now, &s) == 0))
			list_one(&l, &s);
	} else {
		identity_each(d->ident, now, list_one, &l);
	}
	if (json)
		return reply_json_write(out, l.arr) < 0;
	if (optind < argc && !l.n) {
		strbuf_printf(out, "no session of %s\n", argv[optind]);
		return 1;
	}
	return 0;
}

int session_command(struct daemon *d, int argc, char **argv,
		    struct strbuf *out)
{
	int r;

	if (argc < 2) {
		strbuf_printf(out, "session: expected start, stop or list\n");
		return 1;
	}
	if (!d->ident) {
		strbuf_printf(out, "session: no session table\n");
		return 1;
	}
	if (!strcmp(argv[1], "start"))
		r = cmd_start(d, argc - 1, argv + 1, out);
	else if (!strcmp(argv[1], "stop"))
		r = cmd_stop(d, argc - 1, argv + 1, out);
	else if (!strcmp(argv[1], "list"))
		return cmd_list(d, argc - 1, argv + 1, out);
	else {
		strbuf_printf(out, "session: unknown subcommand '%s' (start, "
			      "stop, list)\n", argv[1]);
		return 1;
	}
	return r;
}
