// SPDX-License-Identifier: GPL-2.0-or-later
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "filter/cluster.h"
#include "filter/daemon.h"
#include "filter/metrics.h"

#define NFQ_PROC "/proc/net/netfilter/nfnetlink_queue"

/*
 * Who may hold the port. A scrape must get in whatever other local users
 * do, and libmicrohttpd alone does not see to it: at its connection
 * limit it stops accepting (a scrape then waits in the backlog behind
 * every idle connection), its timeout is one of inactivity (a byte now
 * and then keeps a connection), and its per-address limit refuses a
 * scrape outright when another user of 127.0.0.1 holds that many. So
 * past CONN_MAX open connections each newcomer closes the oldest one of
 * the address holding the most: a scrape, the newest, is served, and an
 * address flooding the port displaces only its own. libmicrohttpd's own
 * limits sit above ours, a backstop the eviction keeps us under.
 */
#define CONN_MAX 64		/* open at once; past it, the oldest goes */
#define CONN_SLACK 16		/* libmicrohttpd's limit: CONN_MAX + this */
#define CONN_PER_ADDR (CONN_MAX + CONN_SLACK / 2)
#define CONN_IDLE_S 2u		/* idle this long: closed */

/* One open connection, oldest first (the MHD thread's alone). */
struct metrics_conn {
	struct metrics_conn *prev, *next;
	struct sockaddr_storage addr;
	int fd;
	bool evicted;		/* shut down, its close to come */
};

struct metrics {
	struct MHD_Daemon *mhd;
	struct daemon *d;
	struct metrics_conn *oldest, *newest;
	unsigned open;		/* not evicted */
};

static void counter(struct strbuf *o, const char *name, const char *help,
		    unsigned long long v)
{
	strbuf_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name,
		      help, name, name, v);
}

static void gauge(struct strbuf *o, const char *name, const char *help,
		  unsigned long long v)
{
	strbuf_printf(o, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name,
		      help, name, name, v);
}

/* The kernel's own view of each queue: what it dropped and why. Only
 * this network namespace's queues are listed there. */
static void kernel_queues(struct strbuf *o)
{
	unsigned q, total, dropped, udropped;
	FILE *f = fopen(NFQ_PROC, "r");
	char line[256];
	struct strbuf len = { 0 }, drop = { 0 }, udrop = { 0 };

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned portid, mode, range, seq;

		if (sscanf(line, "%u %u %u %u %u %u %u %u", &q, &portid,
			   &total, &mode, &range, &dropped, &udropped,
			   &seq) != 8)
			continue;
		strbuf_printf(&len, "portcullis_kernel_queue_length{queue="
			      "\"%u\"} %u\n", q, total);
		strbuf_printf(&drop, "portcullis_kernel_queue_dropped_total"
			      "{queue=\"%u\"} %u\n", q, dropped);
		strbuf_printf(&udrop, "portcullis_kernel_queue_user_dropped_"
			      "total{queue=\"%u\"} %u\n", q, udropped);
	}
	fclose(f);
	strbuf_printf(o, "# HELP portcullis_kernel_queue_length Packets "
		      "waiting in the kernel for a verdict.\n# TYPE "
		      "portcullis_kernel_queue_length gauge\n%s",
		      len.s ? len.s : "");
	strbuf_printf(o, "# HELP portcullis_kernel_queue_dropped_total "
		      "Packets the kernel dropped because the queue was full "
		      "(a fail-open queue accepts them unjudged, and the "
		      "kernel counts none).\n# TYPE "
		      "portcullis_kernel_queue_dropped_total counter\n%s",
		      drop.s ? drop.s : "");
	strbuf_printf(o, "# HELP portcullis_kernel_queue_user_dropped_total "
		      "Packets the kernel could not hand to portcullisd "
		      "(socket buffer full) and dropped (fail-open: accepted, "
		      "not counted).\n# TYPE "
		      "portcullis_kernel_queue_user_dropped_total counter\n%s",
		      udrop.s ? udrop.s : "");
	strbuf_free(&len);
	strbuf_free(&drop);
	strbuf_free(&udrop);
}

/* What the kernel quarantine blocked, by action and port; each port the
 * running quarantine blocks is there from the start (at 0), so a rate
 * over it needs no absent(). Under generation_lock. */
static void kernel_quarantine_metric(struct daemon *d, struct strbuf *o)
{
	const struct generation_totals *t = &d->kq_totals;

	strbuf_printf(o, "# HELP portcullis_kernel_quarantine_drops_total "
		      "SYNs of quarantined subscribers the kernel dropped or "
		      "rejected before the queues, by action and port (other: "
		      "a port the policy does not name).\n# TYPE "
		      "portcullis_kernel_quarantine_drops_total counter\n");
	for (size_t i = 0; i < t->n; i++) {
		strbuf_printf(o, "portcullis_kernel_quarantine_drops_total"
			      "{action=\"%s\",port=",
			      policy_action_name(t->t[i].action));
		if (t->t[i].port)
			strbuf_printf(o, "\"%u\"} %llu\n", t->t[i].port,
				      (unsigned long long)t->t[i].count);
		else
			strbuf_printf(o, "\"other\"} %llu\n",
				      (unsigned long long)t->t[i].count);
	}
}

void metrics_text(struct daemon *d, struct strbuf *o)
{
	struct blocklog_counters bc = { 0 };
	struct daemon_totals t;

	pthread_mutex_lock(&d->generation_lock);
	generation_metrics(atomic_load(&d->generation), &d->retired, o);
	kernel_quarantine_metric(d, o);
	{
		struct shadow *sh = atomic_load(&d->shadow);

		shadow_metrics(sh ? sh->st : NULL, &d->shadow_retired, o);
	}
	pthread_mutex_unlock(&d->generation_lock);
	shared_metrics(d, o);
	daemon_totals(d, &t);
	strbuf_printf(o, "# HELP portcullis_not_judged_total Packets "
		      "accepted without a decision, by why.\n# TYPE "
		      "portcullis_not_judged_total counter\n");
	for (int s = PARSE_NOT_SYN; s <= PARSE_MALFORMED; s++)
		strbuf_printf(o, "portcullis_not_judged_total{reason=\"%s\"} "
			      "%llu\n", parse_status_name(s),
			      (unsigned long long)t.parse[s]);
	counter(o, "portcullis_queue_packets_total",
		"Packets received from the kernel.", t.packets);
	counter(o, "portcullis_queue_enobufs_total",
		"Socket overruns: the kernel lost messages to us.",
		t.enobufs);
	counter(o, "portcullis_queue_verdict_errors_total",
		"Verdicts the kernel refused or that failed to send.",
		t.verdict_errors);
	kernel_queues(o);
	if (d->blocklog)
		blocklog_counters(d->blocklog, &bc);
	counter(o, "portcullis_log_lines_total", "Block log lines written.",
		bc.written);
	strbuf_printf(o, "# HELP portcullis_log_lines_lost_total Block log "
		      "lines lost, by why.\n# TYPE "
		      "portcullis_log_lines_lost_total counter\n"
		      "portcullis_log_lines_lost_total{reason=\"queue_full\"} "
		      "%llu\nportcullis_log_lines_lost_total{reason="
		      "\"write_failed\"} %llu\n",
		      (unsigned long long)bc.lost_full,
		      (unsigned long long)bc.lost_io);
	counter(o, "portcullis_rules_restored_total", "Times the kernel "
		"ruleset or its sets were found changed from outside and put "
		"back.", (unsigned long long)atomic_load(&d->rules_restored));
	strbuf_printf(o, "# HELP portcullis_policy_loads_total Policy loads "
		      "(start, reloads, live exception changes), by result.\n"
		      "# TYPE portcullis_policy_loads_total counter\n"
		      "portcullis_policy_loads_total{result=\"ok\"} %llu\n"
		      "portcullis_policy_loads_total{result=\"failed\"} %llu\n",
		      (unsigned long long)atomic_load(&d->loads),
		      (unsigned long long)atomic_load(&d->load_failures));
	gauge(o, "portcullis_live_exceptions", "Live exceptions in force.",
	      atomic_load(&d->nex_live));
	gauge(o, "portcullis_sessions", "Sessions (subscriber id to "
	      "addresses) held now.", atomic_load(&d->sess_pub.live));
	gauge(o, "portcullis_sessions_max", "The bound on sessions "
	      "(portcullisd --max-sessions).", atomic_load(&d->sess_pub.max));
	strbuf_printf(o, "# HELP portcullis_session_changes_total Session "
		      "requests and expiries, by what they did.\n"
		      "# TYPE portcullis_session_changes_total counter\n");
	{
		static const char *const what[] = { "start", "renewal", "move",
						    "stop", "expiry",
						    "refused_full" };
		unsigned long long v[] = {
			atomic_load(&d->sess_pub.starts),
			atomic_load(&d->sess_pub.renewals),
			atomic_load(&d->sess_pub.moves),
			atomic_load(&d->sess_pub.stops),
			atomic_load(&d->sess_pub.expiries),
			atomic_load(&d->sess_pub.refused),
		};

		for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
			strbuf_printf(o, "portcullis_session_changes_total"
				      "{what=\"%s\"} %llu\n", what[i], v[i]);
	}
	{
		struct stats_counters sc;

		stats_counters(d->stats, &sc);
		gauge(o, "portcullis_subscribers_tracked",
		      "Subscribers with counters now.", sc.tracked);
		gauge(o, "portcullis_subscribers_capacity",
		      "The cap on tracked subscribers.", sc.capacity);
		counter(o, "portcullis_subscriber_evictions_total",
			"Least recently seen subscribers given up at the cap.",
			sc.evictions);
		counter(o, "portcullis_subscriber_evictions_suspect_total",
			"Of those, subscribers half-way to a detection: the "
			"eight least recent were all such (a spoofed flood?).",
			sc.evictions_suspect);
		counter(o, "portcullis_windows_stolen_total",
			"Detection windows taken from the least recent user.",
			sc.windows_stolen);
		counter(o, "portcullis_windows_stolen_suspect_total",
			"Of those, windows half-way to a detection.",
			sc.windows_stolen_suspect);
		gauge(o, "portcullis_quarantined_subscribers",
		      "Subscribers in quarantine now.", sc.quarantined);
		counter(o, "portcullis_detections_total",
			"Spam runs detected (windows over both thresholds).",
			sc.detections);
		counter(o, "portcullis_quarantines_total",
			"Detections that quarantined their subscriber.",
			sc.quarantines);
		strbuf_printf(o, "# HELP portcullis_releases_total Quarantines "
			      "ended, by why.\n# TYPE portcullis_releases_total "
			      "counter\nportcullis_releases_total{reason="
			      "\"expired\"} %llu\nportcullis_releases_total"
			      "{reason=\"manual\"} %llu\n",
			      (unsigned long long)sc.releases_expired,
			      (unsigned long long)sc.releases_manual);
		counter(o, "portcullis_block_lines_suppressed_total",
			"Block lines over the per-subscriber rate, said in "
			"summaries.", sc.lines_suppressed);
	}
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct metrics *m = cls;
	struct MHD_Response *r;
	struct strbuf out = { 0 };
	unsigned status = MHD_HTTP_OK;
	enum MHD_Result ret;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		strbuf_printf(&out, "GET /metrics\n");
	} else if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
		strbuf_printf(&out, "portcullis serves /metrics\n");
	} else {
		metrics_text(m->d, &out);
	}
	if (out.oom) {
		strbuf_free(&out);
		return MHD_NO;
	}
	r = MHD_create_response_from_buffer(out.len, out.s ? out.s : (char *)"",
					    out.s ? MHD_RESPMEM_MUST_FREE
						  : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		strbuf_free(&out);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type",
				"text/plain; version=0.0.4; charset=utf-8");
	/* One scrape a connection: none sits idle between scrapes. */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* "127.0.0.1:9638" or "[::1]:9638" into ss. */
static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[64];
	const char *colon;
	char *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -1;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

static bool same_addr(const struct sockaddr_storage *a,
		      const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return true;
}

/* The oldest connection of the address that holds the most. */
static struct metrics_conn *victim(struct metrics *m)
{
	struct metrics_conn *best = NULL;
	unsigned most = 0;

	/* Counted from each connection on: an address's oldest one sees
	 * all of its address, and the first to count the most wins. */
	for (struct metrics_conn *a = m->oldest; a; a = a->next) {
		unsigned n = 0;

		if (a->evicted)
			continue;
		for (struct metrics_conn *b = a; b; b = b->next)
			n += !b->evicted && same_addr(&a->addr, &b->addr);
		if (n > most) {
			most = n;
			best = a;
		}
	}
	return best;
}

/* libmicrohttpd calls this from its thread as a connection opens and as
 * it closes, before the socket is closed: shutting down a tracked one is
 * safe, and libmicrohttpd then closes it as a client that left. */
static void notify(void *cls, struct MHD_Connection *c, void **state,
		   enum MHD_ConnectionNotificationCode code)
{
	struct metrics *m = cls;
	struct metrics_conn *mc = *state;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!mc)
			return;
		if (mc->prev)
			mc->prev->next = mc->next;
		else
			m->oldest = mc->next;
		if (mc->next)
			mc->next->prev = mc->prev;
		else
			m->newest = mc->prev;
		if (!mc->evicted)
			m->open--;
		free(mc);
		*state = NULL;
		return;
	}
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	{
		const union MHD_ConnectionInfo *fd, *addr;

		fd = MHD_get_connection_info(c,
					     MHD_CONNECTION_INFO_CONNECTION_FD);
		addr = MHD_get_connection_info(c,
					       MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		mc = calloc(1, sizeof(*mc));
		if (!mc || !fd || !addr) {
			free(mc);	/* untracked: the idle timeout alone */
			return;
		}
		mc->fd = fd->connect_fd;
		if (addr->client_addr->sa_family == AF_INET6)
			memcpy(&mc->addr, addr->client_addr,
			       sizeof(struct sockaddr_in6));
		else if (addr->client_addr->sa_family == AF_INET)
			memcpy(&mc->addr, addr->client_addr,
			       sizeof(struct sockaddr_in));
	}
	mc->prev = m->newest;
	if (m->newest)
		m->newest->next = mc;
	else
		m->oldest = mc;
	m->newest = mc;
	*state = mc;
	if (++m->open > CONN_MAX) {
		struct metrics_conn *v = victim(m);

		shutdown(v->fd, SHUT_RDWR);
		v->evicted = true;
		m->open--;
	}
}

struct metrics *metrics_start(struct daemon *d, const char *listen,
			      char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct metrics *m;
	/* poll(), not select(): no descriptor is too high for it. */
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD;

	if (parse_listen(listen, &ss) < 0) {
		snprintf(err, errlen, "--metrics: expected ADDRESS:PORT such "
			 "as 127.0.0.1:9638 or [::1]:9638, found '%s'", listen);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->d = d;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, answer, m,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT,
				  (unsigned)(CONN_MAX + CONN_SLACK),
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				  (unsigned)CONN_PER_ADDR,
				  MHD_OPTION_CONNECTION_TIMEOUT, CONN_IDLE_S,
				  MHD_OPTION_NOTIFY_CONNECTION, notify, m,
				  MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(err, errlen, "metrics on %s: cannot listen (%s)",
			 listen, strerror(errno));
		free(m);
		return NULL;
	}
	return m;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	/* Every connection was closed, and told, by now; any left over
	 * was never told. */
	while (m->oldest) {
		struct metrics_conn *next = m->oldest->next;

		free(m->oldest);
		m->oldest = next;
	}
	free(m);
}
