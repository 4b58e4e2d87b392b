// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The cluster as the daemon sees it (filter/cluster.h): this gateway's
 * exceptions, quarantines and releases go to cluster_publish(); the other
 * gateways' records come out of cluster_poll() on the main thread and are
 * applied as if made here — an exception through the same commit as
 * `except add` (saved, audited), a quarantine of a subscriber id to
 * whatever addresses it holds here, now or later (stats count by the id;
 * the kernel set follows its sessions). Nothing here runs on the verdict
 * path but shared_quarantined(), which only queues.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cluster/cluster.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "common/subid.h"
#include "filter/cmdargs.h"
#include "filter/cluster.h"
#include "filter/daemon.h"
#include "filter/except.h"
#include "filter/kernel.h"
#include "filter/reply_json.h"

#define APPLY_BATCH 512
#define APPLY_ROUNDS 16
#define HISTORY_MAX 100000
#define HOOK_MAX 4096
#define HISTORY_TIMEOUT_MS 3000

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void config_of(const struct daemon *d, const struct policy_cluster *pc,
		      struct cluster_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->servers = pc->servers;
	cfg->nservers = pc->nservers;
	cfg->gateway = pc->gateway;
	cfg->bucket = pc->bucket;
	cfg->credentials = pc->credentials;
	cfg->ca = pc->ca;
	cfg->state_dir = d->opts.state_dir;
}

/* Whether the verdict threads' quarantines are kept for publishing: on
 * through a reload's reconnection (they are published to the new one). */
static void hook_on(struct daemon *d, bool on)
{
	pthread_mutex_lock(&d->hook.mu);
	d->hook.on = on;
	pthread_mutex_unlock(&d->hook.mu);
}

static void set_cluster(struct daemon *d, struct cluster *c)
{
	struct cluster *old;

	pthread_mutex_lock(&d->cluster_lock);
	old = d->cluster;
	d->cluster = c;
	pthread_mutex_unlock(&d->cluster_lock);
	cluster_close(old);
}

void shared_open(struct daemon *d)
{
	const struct policy_cluster *pc = policy_cluster(daemon_policy(d));
	struct cluster_config cfg;
	struct cluster *c;
	char err[300];

	if (d->blocklog)
		blocklog_set_gateway(d->blocklog,
				     pc->enabled ? pc->gateway : NULL);
	if (!pc->enabled)
		return;
	config_of(d, pc, &cfg);
	c = cluster_open(&cfg, err, sizeof(err));
	if (!c) {
		log_warnx("cluster: %s; this gateway goes on alone", err);
		return;
	}
	log_info("cluster: bucket %s as gateway %s, %u NATS servers",
		 pc->bucket, pc->gateway, pc->nservers);
	set_cluster(d, c);
	hook_on(d, true);
}

void shared_reconfigure(struct daemon *d)
{
	const struct policy_cluster *pc = policy_cluster(daemon_policy(d));
	struct cluster_config cfg;

	if (pc->enabled && d->cluster) {
		config_of(d, pc, &cfg);
		if (cluster_same(d->cluster, &cfg))
			return;
	}
	if (d->cluster) {
		log_info("cluster: the policy's cluster: changed; %s",
			 pc->enabled ? "connecting anew" : "sharing ends");
		/* What the old one held is applied before it goes. */
		shared_apply(d);
		if (!pc->enabled)
			hook_on(d, false);
		set_cluster(d, NULL);
	}
	shared_open(d);
	/* What detection began meanwhile goes to the new one. */
	shared_hook_drain(d);
}

void shared_close(struct daemon *d)
{
	hook_on(d, false);
	set_cluster(d, NULL);
}

int shared_fd(const struct daemon *d)
{
	return d->cluster ? cluster_fd(d->cluster) : -1;
}

static void fill_exception(struct policy_exception *e,
			   const struct cluster_record *r)
{
	memset(e, 0, sizeof(*e));
	if (r->by_subscriber)
		snprintf(e->subscriber, sizeof(e->subscriber), "%s",
			 r->subject);
	else
		snprintf(e->prefix, sizeof(e->prefix), "%s", r->subject);
	snprintf(e->profile, sizeof(e->profile), "%s", r->profile);
	snprintf(e->note, sizeof(e->note), "%s", r->note);
	e->added = r->time;
	e->expires = r->until;
}

/* What a record says, as far as the daemon checks it before applying. */
static int check(const struct cluster_record *r, char *why, size_t size)
{
	char canon[256];

	if (r->by_subscriber) {
		if (subid_check(r->subject, strlen(r->subject), why, size) < 0)
			return -1;
	} else if (policy_prefix_normalize(r->subject, canon,
					   sizeof(canon)) < 0) {
		snprintf(why, size, "%.190s", canon);
		return -1;
	} else if (r->kind == CLUSTER_EXCEPTION && strcmp(canon, r->subject)) {
		/* canon alone read as if it were the fault. */
		snprintf(why, size, "the prefix is not written as a gateway "
			 "writes it (%.64s)", canon);
		return -1;
	}
	if (r->note[0] &&
	    policy_note_check(r->note, strlen(r->note), why, size) < 0)
		return -1;
	return 0;
}

/* A quarantine record as stats takes it. */
static int imposed_of(struct daemon *d, const struct cluster_record *r,
		      struct stats_imposed *q)
{
	struct identity_session s;

	memset(q, 0, sizeof(*q));
	q->by_subscriber = r->by_subscriber;
	q->gateway = r->gateway;
	q->until_ms = r->until * 1000;
	q->syns = r->syns;
	q->distinct = r->distinct;
	if (!r->by_subscriber) {
		char canon[256], mine[64], *slash;
		unsigned len = 0;

		/* An address (IPv6: the network of what a subscriber is
		 * counted per here), never a wider prefix: a quarantine of
		 * 100.64.0.0/10 is no quarantine of 100.64.0.0. */
		snprintf(canon, sizeof(canon), "%s", r->subject);
		slash = strchr(canon, '/');
		if (slash) {
			*slash = '\0';
			len = (unsigned)atoi(slash + 1);
		}
		if (addr_parse(canon, &q->addr) < 0)
			return -1;
		if (slash && len != (addr_is_v4(&q->addr) ? 32u : 128u) &&
		    (addr_is_v4(&q->addr) || len < 64))
			return -1;
		shared_addr_subject(d, &q->addr, mine, sizeof(mine));
		return addr_parse(mine, &q->addr);
	}
	if (!d->ident)
		return -1;
	q->id = r->subject;
	q->key = identity_id_key(d->ident, r->subject, strlen(r->subject));
	if (identity_get(d->ident, r->subject, time(NULL), &s) == 0)
		q->addr = s.has_v4 ? s.v4.a : s.nv6 ? s.v6[0].a : q->addr;
	return 0;
}

void shared_addr_subject(struct daemon *d, const struct addr *a, char *out,
			 size_t size)
{
	const struct policy_detection *det = policy_detection(daemon_policy(d));
	unsigned len = det->ipv6_prefix_len ? det->ipv6_prefix_len : 64;
	struct addr m = *a;

	if (!addr_is_v4(&m)) {
		if (len > 64)
			len = 64;
		for (unsigned i = 0; i < 16; i++) {
			unsigned keep = len > i * 8 ? len - i * 8 : 0;

			m.b[i] &= keep >= 8 ? 0xff :
				  (uint8_t)(0xff00u >> keep);
		}
	}
	addr_format(&m, out, size);
}

static void apply_quarantine(struct daemon *d, const struct cluster_record *r,
			     bool *sync)
{
	struct stats_imposed q;

	if (imposed_of(d, r, &q) < 0) {
		log_warnx("cluster: %s of %s by %s: not applied; a "
			  "quarantine is of a subscriber id or of one address "
			  "(IPv6: a /64 or longer)", cluster_op_name(r->op),
			  r->subject, r->gateway);
		return;
	}
	if (r->op == CLUSTER_QUARANTINED) {
		if (stats_quarantine_impose(d->stats, &q, wall_ms()) < 0)
			log_warnx("cluster: quarantine of %s by %s: %s",
				  r->subject, r->gateway, strerror(errno));
		else
			*sync = true;
	} else if (stats_release_imposed(d->stats, &q, wall_ms()) == 0) {
		*sync = true;
	}
}

void shared_apply(struct daemon *d)
{
	static struct cluster_record recs[APPLY_BATCH];
	static struct except_change ch[APPLY_BATCH * APPLY_ROUNDS];
	bool sync = false;
	size_t n, nch = 0;

	if (!d->cluster)
		return;
	/* A bounded round: the control socket and the tick are not held up
	 * behind a bucket read whole; the fd stays readable for the rest.
	 * The exceptions of the whole round are one commit (one rebuild of
	 * the policy), not one each. */
	for (int round = 0; round < APPLY_ROUNDS; round++) {
		n = cluster_poll(d->cluster, recs, APPLY_BATCH);
		if (!n)
			break;
		for (size_t i = 0; i < n; i++) {
			const struct cluster_record *r = &recs[i];
			char why[200];

			if (check(r, why, sizeof(why)) < 0) {
				log_warnx("cluster: revision %" PRIu64 " of %s "
					  "(%s) not applied: %s", r->revision,
					  r->gateway, r->subject, why);
				continue;
			}
			if (r->kind == CLUSTER_QUARANTINE) {
				apply_quarantine(d, r, &sync);
				continue;
			}
			ch[nch].del = r->op == CLUSTER_DEL;
			fill_exception(&ch[nch].e, r);
			snprintf(ch[nch].gateway, sizeof(ch[nch].gateway),
				 "%s", r->gateway);
			nch++;
		}
	}
	if (nch)
		except_apply(d, ch, nch);
	if (sync)
		kernel_sync_quarantine(d);
}

void shared_tick(struct daemon *d)
{
	struct cluster_status s;

	if (!d->cluster)
		return;
	cluster_status(d->cluster, &s);
	pthread_mutex_lock(&d->hook.mu);
	s.dropped += d->hook.dropped;
	pthread_mutex_unlock(&d->hook.mu);
	if (s.dropped > d->cluster_dropped_said) {
		log_warnx("cluster: %" PRIu64 " local changes not published: "
			  "the queue (%d) was full", s.dropped -
			  d->cluster_dropped_said, CLUSTER_QUEUE_MAX);
		d->cluster_dropped_said = s.dropped;
	}
}

static void publish(struct daemon *d, const struct cluster_record *r)
{
	if (d->cluster && cluster_publish(d->cluster, r) < 0)
		log_debug("cluster: the queue is full; %s not published",
			  r->subject);
}

void shared_except(struct daemon *d, bool del,
		   const struct policy_exception *e)
{
	struct cluster_record r = {
		.kind = CLUSTER_EXCEPTION,
		.op = del ? CLUSTER_DEL : CLUSTER_ADD,
		.by_subscriber = e->subscriber[0] != '\0',
		.until = e->expires,
		.time = time(NULL),
	};

	snprintf(r.subject, sizeof(r.subject), "%s",
		 r.by_subscriber ? e->subscriber : e->prefix);
	snprintf(r.profile, sizeof(r.profile), "%s", e->profile);
	snprintf(r.note, sizeof(r.note), "%s", e->note);
	publish(d, &r);
}

void shared_release(struct daemon *d, bool by_subscriber, const char *subject)
{
	struct cluster_record r = {
		.kind = CLUSTER_QUARANTINE,
		.op = CLUSTER_RELEASED,
		.by_subscriber = by_subscriber,
		.time = time(NULL),
	};

	snprintf(r.subject, sizeof(r.subject), "%s", subject);
	publish(d, &r);
}

void shared_quarantined(void *ctx, const struct blocklog_event *ev)
{
	struct daemon *d = ctx;
	struct shared_hook *h = &d->hook;
	struct cluster_record *r;
	uint64_t one = 1;

	/* A verdict thread's: the record waits here, under a lock only this
	 * and the main thread's copy take, and the main thread publishes. */
	pthread_mutex_lock(&h->mu);
	if (!h->on || !h->q || h->n == h->cap) {
		h->dropped += h->on;
		pthread_mutex_unlock(&h->mu);
		return;
	}
	r = &h->q[h->n++];
	memset(r, 0, sizeof(*r));
	r->kind = CLUSTER_QUARANTINE;
	r->op = CLUSTER_QUARANTINED;
	r->by_subscriber = ev->subscriber[0] != '\0';
	r->until = ev->until;
	r->time = ev->ts_ms / 1000;
	r->syns = ev->count > UINT32_MAX ? UINT32_MAX : (uint32_t)ev->count;
	r->distinct = ev->distinct > UINT32_MAX ? UINT32_MAX :
						  (uint32_t)ev->distinct;
	if (r->by_subscriber)
		snprintf(r->subject, sizeof(r->subject), "%s", ev->subscriber);
	else
		addr_format(&ev->src, r->subject, sizeof(r->subject));
	pthread_mutex_unlock(&h->mu);
	if (write(h->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

int shared_hook_fd(const struct daemon *d)
{
	return d->cluster ? d->hook.fd : -1;
}

void shared_hook_drain(struct daemon *d)
{
	static struct cluster_record q[HOOK_MAX];
	struct shared_hook *h = &d->hook;
	uint64_t v;
	unsigned n;

	if (h->fd < 0)
		return;
	if (read(h->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("cluster: eventfd");
	pthread_mutex_lock(&h->mu);
	n = h->n;
	memcpy(q, h->q, n * sizeof(*q));
	h->n = 0;
	pthread_mutex_unlock(&h->mu);
	for (unsigned i = 0; i < n; i++)
		publish(d, &q[i]);
}

int shared_hook_init(struct daemon *d)
{
	struct shared_hook *h = &d->hook;

	pthread_mutex_init(&h->mu, NULL);
	h->cap = HOOK_MAX;
	h->q = calloc(h->cap, sizeof(*h->q));
	h->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!h->q || h->fd < 0) {
		free(h->q);
		h->q = NULL;
		return -1;
	}
	return 0;
}

void shared_hook_free(struct daemon *d)
{
	struct shared_hook *h = &d->hook;

	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	free(h->q);
	h->q = NULL;
	pthread_mutex_destroy(&h->mu);
}

void shared_stats_text(struct daemon *d, struct strbuf *o)
{
	const struct policy_cluster *pc = policy_cluster(daemon_policy(d));
	struct cluster_status s;

	if (!d->cluster)
		return;
	cluster_status(d->cluster, &s);
	strbuf_printf(o, "cluster: %s%s, bucket %s as gateway %s; revision "
		      "%" PRIu64 ", %" PRIu64 " behind; %" PRIu64 " queued, %"
		      PRIu64 " dropped, %" PRIu64 " published, %" PRIu64
		      " received (%" PRIu64 " not applied, %" PRIu64
		      " its own)%s%s\n",
		      s.connected ? "connected to " : "not connected",
		      s.server, pc->bucket, pc->gateway, s.revision, s.pending,
		      s.queued, s.dropped, s.published, s.received, s.ignored,
		      s.own, s.error[0] ? "; last error: " : "", s.error);
}

void shared_stats_json(struct daemon *d, struct json_object *j)
{
	const struct policy_cluster *pc = policy_cluster(daemon_policy(d));
	struct json_object *v;
	struct cluster_status s;

	if (!d->cluster)
		return;
	cluster_status(d->cluster, &s);
	v = json_object_new_object();
	reply_json_bool(v, "connected", s.connected);
	reply_json_str(v, "server", s.connected ? s.server : NULL);
	reply_json_str(v, "gateway", pc->gateway);
	reply_json_str(v, "bucket", pc->bucket);
	reply_json_u64(v, "revision", s.revision);
	reply_json_u64(v, "pending", s.pending);
	reply_json_i64(v, "lag_ms", s.last_ms ? wall_ms() - s.last_ms : 0);
	reply_json_u64(v, "queued", s.queued);
	reply_json_u64(v, "dropped", s.dropped);
	reply_json_u64(v, "published", s.published);
	reply_json_u64(v, "applied", s.received - s.ignored - s.own);
	reply_json_u64(v, "received", s.received);
	reply_json_u64(v, "own", s.own);
	reply_json_u64(v, "ignored", s.ignored);
	reply_json_u64(v, "reconnects", s.reconnects);
	reply_json_str(v, "error", s.error[0] ? s.error : NULL);
	reply_json_add(j, "cluster", v);
}

/* The metrics thread's. */
void shared_metrics(struct daemon *d, struct strbuf *o)
{
	struct cluster_status s;
	bool have;

	pthread_mutex_lock(&d->cluster_lock);
	have = d->cluster != NULL;
	if (have)
		cluster_status(d->cluster, &s);
	pthread_mutex_unlock(&d->cluster_lock);
	if (!have)
		return;
	strbuf_printf(o,
		"# HELP portcullis_cluster_connected Whether the gateway is "
		"connected to the NATS cluster and watching the bucket.\n"
		"# TYPE portcullis_cluster_connected gauge\n"
		"portcullis_cluster_connected %d\n"
		"# HELP portcullis_cluster_revision The last bucket revision "
		"applied.\n# TYPE portcullis_cluster_revision gauge\n"
		"portcullis_cluster_revision %" PRIu64 "\n"
		"# HELP portcullis_cluster_pending Records in the bucket not "
		"yet read.\n# TYPE portcullis_cluster_pending gauge\n"
		"portcullis_cluster_pending %" PRIu64 "\n"
		"# HELP portcullis_cluster_queued Local changes waiting to be "
		"published.\n# TYPE portcullis_cluster_queued gauge\n"
		"portcullis_cluster_queued %" PRIu64 "\n"
		"# HELP portcullis_cluster_dropped_total Local changes not "
		"published: the queue was full.\n"
		"# TYPE portcullis_cluster_dropped_total counter\n"
		"portcullis_cluster_dropped_total %" PRIu64 "\n"
		"# HELP portcullis_cluster_published_total Local changes "
		"published.\n# TYPE portcullis_cluster_published_total "
		"counter\nportcullis_cluster_published_total %" PRIu64 "\n"
		"# HELP portcullis_cluster_applied_total Records of the bucket "
		"given to be applied.\n"
		"# TYPE portcullis_cluster_applied_total counter\n"
		"portcullis_cluster_applied_total %" PRIu64 "\n"
		"# HELP portcullis_cluster_reconnects_total Connections to "
		"the NATS cluster made again.\n"
		"# TYPE portcullis_cluster_reconnects_total counter\n"
		"portcullis_cluster_reconnects_total %" PRIu64 "\n",
		s.connected ? 1 : 0, s.revision, s.pending, s.queued,
		s.dropped, s.published, s.received - s.ignored - s.own,
		s.reconnects);
}

struct history_out {
	struct strbuf *out;
	struct json_object *arr;
};

static void history_one(void *ctx, const struct cluster_record *r)
{
	struct history_out *h = ctx;
	char when[40], until[32];
	static const char *const kinds[] = { "exception", "quarantine" };

	snprintf(when, sizeof(when), "%s", "-");
	if (r->stored_ms) {
		rfc3339_format(r->stored_ms / 1000, when, sizeof(when));
	}
	if (h->arr) {
		struct json_object *j = json_object_new_object();

		reply_json_u64(j, "revision", r->revision);
		reply_json_str(j, "time", when);
		reply_json_str(j, "gateway", r->gateway);
		reply_json_str(j, "kind", kinds[r->kind]);
		reply_json_str(j, "op", cluster_op_name(r->op));
		reply_json_str(j, r->by_subscriber ? "subscriber" : "prefix",
			       r->subject);
		reply_json_str(j, "profile", r->profile[0] ? r->profile : NULL);
		reply_json_str(j, "until", r->until ?
			       rfc3339_format(r->until, until, sizeof(until)) :
			       NULL);
		reply_json_str(j, "note", r->note[0] ? r->note : NULL);
		if (r->kind == CLUSTER_QUARANTINE && r->op == CLUSTER_QUARANTINED) {
			reply_json_u64(j, "syns", r->syns);
			reply_json_u64(j, "distinct_destinations", r->distinct);
		}
		reply_json_push(h->arr, j);
		return;
	}
	strbuf_printf(h->out, "%-8" PRIu64 " %-20s %-16s %-10s %-10s %-24s",
		      r->revision, when, r->gateway, kinds[r->kind],
		      cluster_op_name(r->op), r->subject);
	if (r->profile[0])
		strbuf_printf(h->out, " profile %s", r->profile);
	if (r->until)
		strbuf_printf(h->out, " until %s",
			      rfc3339_format(r->until, until, sizeof(until)));
	if (r->kind == CLUSTER_QUARANTINE && r->op == CLUSTER_QUARANTINED)
		strbuf_printf(h->out, " (%u SYNs, %u destinations)", r->syns,
			      r->distinct);
	if (r->note[0])
		strbuf_printf(h->out, " note: %s", r->note);
	strbuf_printf(h->out, "\n");
}

int shared_history_command(struct daemon *d, int argc, char **argv,
			   struct strbuf *out)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	char pattern[CLUSTER_KEY_MAX + 1], err[300], canon[256];
	struct history_out h = { .out = out };
	const char *key = NULL;
	bool json = false;
	long n;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c != 'j') {
			cmdargs_bad_option(out, "except history", c, argv);
			return 1;
		}
		json = true;
	}
	if (cmdargs_operands(argc, argv, 0, 1, "except history", "[KEY]",
			     out) < 0)
		return 1;
	if (!d->cluster) {
		strbuf_printf(out, "except history: the policy has no "
			      "cluster: section; this gateway shares nothing\n");
		return 1;
	}
	if (optind < argc) {
		key = argv[optind];
		/* A prefix or an address as the records write it; anything
		 * else is a subscriber id. */
		if (policy_prefix_normalize(key, canon, sizeof(canon)) == 0) {
			struct addr a;

			/* An address: as the quarantine records name it
			 * (IPv6: its prefix's network). */
			if (addr_parse(key, &a) == 0)
				shared_addr_subject(d, &a, canon,
						    sizeof(canon));
			cluster_subject_pattern(canon, false, pattern,
						sizeof(pattern));
		} else if (cluster_subject_pattern(key, true, pattern,
						   sizeof(pattern)) < 0) {
			strbuf_printf(out, "except history: %s is too long a "
				      "key\n", key);
			return 1;
		}
	}
	if (json)
		h.arr = json_object_new_array();
	n = cluster_history(d->cluster, key ? pattern : NULL, HISTORY_MAX,
			    HISTORY_TIMEOUT_MS, history_one, &h, err,
			    sizeof(err));
	if (n < 0) {
		json_object_put(h.arr);
		strbuf_printf(out, "except history: %s\n", err);
		return 1;
	}
	if (json)
		return reply_json_write(out, h.arr) < 0;
	if (!n)
		strbuf_printf(out, "the bucket holds no record%s%s\n",
			      key ? " of " : "", key ? key : "");
	else if (n >= HISTORY_MAX)
		strbuf_printf(out, "(the first %d records only)\n",
			      HISTORY_MAX);
	return 0;
}
