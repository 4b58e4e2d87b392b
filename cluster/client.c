// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The NATS side: one thread of its own connects (retrying for ever, in
 * the background), opens or creates the bucket, publishes the queued
 * local changes one by one (each waits for the bucket's revision) and
 * keeps an ordered consumer on the bucket's subjects from the last
 * revision seen. libnats delivers the records on a thread of its own
 * (on_record), which files them through the ledger into the inbox.
 *
 * Nothing here blocks the daemon: the main thread only takes the lock to
 * queue, to take the inbox and to read the status, and the lock is never
 * held across a call into NATS.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "cluster/internal.h"
#include "common/log.h"

#define TICK_MS 100
/* JetStream's answers: a publish's ack, the bucket's info. No answer in
 * this time is tried again (a stream electing its leader answers none). */
#define JS_WAIT_MS 500
#define WAIT_MAX_MS 500
#define RETRY_MS 100
#define SETUP_WAIT_MS 250
#define INBOX_MAX 16384
#define SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define CLOSE_WAIT_MS 5000

struct cluster {
	/* What it runs with (cluster_same). */
	char **servers;
	const char **server_list;	/* the same, as libnats takes them */
	unsigned nservers;
	char *gateway, *bucket, *credentials, *ca, *state_path;
	char subjects[128];		/* $KV.BUCKET.> */
	size_t prefix_len;		/* of $KV.BUCKET. */

	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_cond_t drained;		/* the inbox has room again */
	bool stop;
	int efd;

	/* Under mu. */
	struct cluster_record *out;	/* ring of local changes */
	size_t out_cap, out_head, out_n;
	struct cluster_record *in;	/* the inbox: in[in_head .. in_n) */
	size_t in_head, in_n, in_cap;
	struct ledger ledger;
	uint64_t delivered;		/* last revision the watch gave */
	uint64_t committed;		/* ... and the main thread took */
	bool dirty;			/* the state file is behind */
	bool resubscribe;		/* the connection came back */
	/* libnats calls back on threads of its own, after Close too:
	 * cluster_close waits for these before it frees. */
	unsigned subs_live;		/* watches whose handler may run */
	bool nc_closed;			/* the closed callback has run */
	struct cluster_status st;

	/* The thread's own. */
	natsConnection *nc;
	jsCtx *js;
	kvStore *kv;
	natsSubscription *sub;
	pthread_rwlock_t use;		/* kv for cluster_history */
	_Atomic bool up;		/* the connection is up */
	_Atomic bool ready;		/* ... and bucket and watch too */
	int64_t setup_wait_ms;		/* the watch's requests' wait */
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_error(struct cluster *c, const char *what, natsStatus s)
{
	char msg[sizeof(c->st.error)];
	natsStatus ls = NATS_OK;
	const char *last = nats_GetLastError(&ls);

	/* The thread's last error says more, when it is this one's. */
	snprintf(msg, sizeof(msg), "%s: %s", what,
		 last && *last && ls == s ? last : natsStatus_GetText(s));
	pthread_mutex_lock(&c->mu);
	if (strcmp(c->st.error, msg))
		log_warnx("cluster: %s", msg);
	snprintf(c->st.error, sizeof(c->st.error), "%s", msg);
	pthread_mutex_unlock(&c->mu);
}

static void wake_main(struct cluster *c)
{
	uint64_t one = 1;

	if (write(c->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("cluster: eventfd");
}

/* Under mu: r into the inbox. */
static void inbox_push(struct cluster *c, const struct cluster_record *r)
{
	if (c->in_head && c->in_n == c->in_cap &&
	    c->in_head >= c->in_cap / 2) {
		/* Moved once when full, not at every take. */
		memmove(c->in, c->in + c->in_head,
			(c->in_n - c->in_head) * sizeof(*c->in));
		c->in_n -= c->in_head;
		c->in_head = 0;
	}
	if (c->in_n == c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 256;
		struct cluster_record *v = realloc(c->in, cap * sizeof(*v));

		if (!v) {
			c->st.ignored++;
			log_warnx("cluster: out of memory; a record of %s is "
				  "not applied", r->subject);
			return;
		}
		c->in = v;
		c->in_cap = cap;
	}
	c->in[c->in_n++] = *r;
}

/* Under mu: r, newer than all of key's so far, to the main thread. */
static bool give(struct cluster *c, const char *key,
		 const struct cluster_record *r)
{
	int64_t now = wall_ms() / 1000;

	ledger_note(&c->ledger, key, r);
	c->dirty = true;
	/* Expired: what it began is over, but it still ends what an older
	 * record of its key began (an exception for ever replaced by one
	 * of an hour, read two hours later), so it is given as the end. */
	if ((r->op == CLUSTER_ADD || r->op == CLUSTER_QUARANTINED) &&
	    r->until && r->until <= now) {
		struct cluster_record end = *r;

		end.op = r->op == CLUSTER_ADD ? CLUSTER_DEL : CLUSTER_RELEASED;
		inbox_push(c, &end);
		return true;
	}
	inbox_push(c, r);
	return true;
}

/* Under mu: whether r is to be given to the main thread now. */
static bool file_record(struct cluster *c, const char *key,
			const struct cluster_record *r)
{
	if (!ledger_take(&c->ledger, key, r->revision)) {
		/* A local change waits: this record may yet be the newer
		 * (stored after it, before the put's answer came). */
		ledger_hold(&c->ledger, key, r);
		return false;
	}
	return give(c, key, r);
}

bool cluster_file(struct cluster *c, const char *key,
		  const struct cluster_record *r)
{
	bool given;

	pthread_mutex_lock(&c->mu);
	given = file_record(c, key, r);
	pthread_mutex_unlock(&c->mu);
	if (given)
		wake_main(c);
	return given;
}

/* A record of the bucket, on libnats's thread. */
static void on_record(natsConnection *nc, natsSubscription *sub,
		      natsMsg *msg, void *closure)
{
	struct cluster *c = closure;
	const char *subj = natsMsg_GetSubject(msg), *op = NULL, *key;
	struct cluster_record r;
	jsMsgMetaData *meta = NULL;
	char why[160];
	bool given = false, bad = false;

	(void)nc;
	(void)sub;
	if (natsMsg_GetMetaData(&meta, msg) != NATS_OK) {
		natsMsg_Destroy(msg);
		return;
	}
	key = strlen(subj) > c->prefix_len ? subj + c->prefix_len : "";
	natsMsgHeader_Get(msg, "KV-Operation", &op);
	if (op && (!strcmp(op, "DEL") || !strcmp(op, "PURGE"))) {
		/* Taken out by hand (nats kv del): as deleted, or released. */
		memset(&r, 0, sizeof(r));
		if (cluster_key_parse(key, &r) < 0) {
			bad = true;
			snprintf(why, sizeof(why), "not a key of portcullis");
		}
		r.op = r.kind == CLUSTER_QUARANTINE ? CLUSTER_RELEASED :
						      CLUSTER_DEL;
		snprintf(r.gateway, sizeof(r.gateway), "nats");
		r.time = meta->Timestamp / 1000000000;
	} else if (cluster_record_decode(natsMsg_GetData(msg),
					 (size_t)natsMsg_GetDataLength(msg),
					 key, &r, why, sizeof(why)) < 0) {
		bad = true;
	}
	r.revision = meta->Sequence.Stream;
	r.stored_ms = meta->Timestamp / 1000000;

	pthread_mutex_lock(&c->mu);
	/* A bucket read whole waits for the main thread rather than pile
	 * up in memory (the server holds the rest: flow control). */
	while (c->in_n - c->in_head >= INBOX_MAX && !c->stop)
		pthread_cond_wait(&c->drained, &c->mu);
	if (r.revision > c->delivered)
		c->delivered = r.revision;
	c->st.pending = meta->NumPending;
	c->st.last_ms = r.stored_ms;
	c->st.received++;
	if (bad) {
		c->st.ignored++;
		snprintf(c->st.error, sizeof(c->st.error),
			 "revision %" PRIu64 " (%.60s): %s", r.revision, key,
			 why);
	} else if (!(given = file_record(c, key, &r))) {
		/* Not another gateway's newest: counted apart from this
		 * gateway's own, coming back. */
		if (strcmp(r.gateway, c->gateway))
			c->st.ignored++;
		else
			c->st.own++;
	}
	/* Nothing waits for the main thread: all up to here is done. */
	if (!c->in_n)
		c->committed = c->delivered;
	c->dirty = true;
	pthread_mutex_unlock(&c->mu);
	if (bad)
		log_warnx("cluster: bucket %s, revision %" PRIu64 " (%.60s) "
			  "ignored: %s", c->bucket, r.revision, key, why);
	if (given)
		wake_main(c);
	jsMsgMetaData_Destroy(meta);
	natsMsg_Destroy(msg);
}

static void on_connected(natsConnection *nc, void *closure)
{
	struct cluster *c = closure;
	char url[128] = "";

	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	pthread_mutex_lock(&c->mu);
	snprintf(c->st.server, sizeof(c->st.server), "%s", url);
	c->resubscribe = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	atomic_store(&c->up, true);
	log_info("cluster: connected to %s", url);
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	struct cluster *c = closure;

	pthread_mutex_lock(&c->mu);
	c->st.reconnects++;
	pthread_mutex_unlock(&c->mu);
	on_connected(nc, closure);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	struct cluster *c = closure;

	(void)nc;
	atomic_store(&c->up, false);
	atomic_store(&c->ready, false);
	log_warnx("cluster: disconnected; verdicts go on, local changes are "
		  "queued");
}

/* The last connection callback: libnats runs them in order on one
 * thread, so none of c's runs after this. */
static void on_closed(natsConnection *nc, void *closure)
{
	struct cluster *c = closure;

	(void)nc;
	pthread_mutex_lock(&c->mu);
	c->nc_closed = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* A watch closed and its handler (on_record) returned for good. */
static void on_sub_done(void *closure)
{
	struct cluster *c = closure;

	pthread_mutex_lock(&c->mu);
	c->subs_live--;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static natsOptions *options(struct cluster *c)
{
	natsOptions *o = NULL;
	bool tls = false;
	char name[128];
	natsStatus s;

	for (unsigned i = 0; i < c->nservers; i++)
		tls |= !strncmp(c->servers[i], "tls://", 6);
	snprintf(name, sizeof(name), "portcullisd %s", c->gateway);
	s = natsOptions_Create(&o);
	if (s == NATS_OK)
		s = natsOptions_SetServers(o, c->server_list,
					   (int)c->nservers);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, name);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(o, 100);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectJitter(o, 100, 500);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 1000);
	/* A dead server is noticed in seconds, not minutes. */
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(o, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxPingsOut(o, 2);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(o, on_reconnected, c);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(o, on_disconnected, c);
	if (s == NATS_OK)
		s = natsOptions_SetClosedCB(o, on_closed, c);
	if (s == NATS_OK && c->credentials)
		s = natsOptions_SetUserCredentialsFromFiles(o, c->credentials,
							    NULL);
	if (s == NATS_OK && tls) {
		const char *ca = c->ca ? c->ca : SYSTEM_CA;

		s = natsOptions_SetSecure(o, true);
		if (s == NATS_OK && (c->ca || access(ca, R_OK) == 0))
			s = natsOptions_LoadCATrustedCertificates(o, ca);
	}
	if (s != NATS_OK) {
		const char *what = "connection options";

		if (c->credentials && access(c->credentials, R_OK))
			what = c->credentials;
		else if (tls && c->ca && access(c->ca, R_OK))
			what = c->ca;
		set_error(c, what, s);
		natsOptions_Destroy(o);
		return NULL;
	}
	return o;
}

/* The bucket, made when it is not there yet. */
static natsStatus open_bucket(struct cluster *c)
{
	jsErrCode jerr = 0;
	kvConfig kc;
	natsStatus s;

	s = js_KeyValue(&c->kv, c->js, c->bucket);
	if (s == NATS_OK)
		return s;
	kvConfig_Init(&kc);
	kc.Bucket = c->bucket;
	kc.Description = "portcullis: exceptions and quarantines";
	kc.History = CLUSTER_HISTORY;
	kc.TTL = (int64_t)CLUSTER_MAX_AGE_S * 1000000000LL;
	kc.MaxValueSize = 4096;
	kc.StorageType = js_FileStorage;
	/* Replicated as the cluster allows: three, else one (one server). */
	kc.Replicas = 3;
	s = js_CreateKeyValue(&c->kv, c->js, &kc);
	if (s != NATS_OK) {
		kc.Replicas = 1;
		s = js_CreateKeyValue(&c->kv, c->js, &kc);
	}
	if (s == NATS_OK)
		log_info("cluster: bucket %s created (%d replicas, history "
			 "%d)", c->bucket, kc.Replicas, CLUSTER_HISTORY);
	(void)jerr;
	return s;
}

/* The watch, from the revision after the last one seen; a bucket whose
 * last revision is older than that was made anew: from its start. */
static natsStatus subscribe(struct cluster *c)
{
	jsStreamInfo *si = NULL;
	jsSubOptions so;
	jsOptions jo;
	char stream[100];
	uint64_t from;
	natsStatus s;

	snprintf(stream, sizeof(stream), "KV_%s", c->bucket);
	/* A request sent while the stream has no leader gets no answer:
	 * asked again soon (RETRY_MS) rather than waited on long. */
	jsOptions_Init(&jo);
	jo.Wait = c->setup_wait_ms;
	s = js_GetStreamInfo(&si, c->js, stream, &jo, NULL);
	if (s != NATS_OK)
		return s;
	pthread_mutex_lock(&c->mu);
	if (c->delivered > si->State.LastSeq) {
		log_warnx("cluster: bucket %s ends at revision %" PRIu64
			  " but revision %" PRIu64 " was seen: it was made "
			  "anew; reading it whole", c->bucket,
			  si->State.LastSeq, c->delivered);
		c->delivered = c->committed = 0;
		/* Not ledger_free: the changes queued here must still win
		 * over the records read now, and the quarantines held here
		 * stay in the state file. */
		ledger_forget_revisions(&c->ledger);
	}
	from = c->delivered;
	pthread_mutex_unlock(&c->mu);
	jsStreamInfo_Destroy(si);

	if (c->sub) {
		natsSubscription_Unsubscribe(c->sub);
		natsSubscription_Destroy(c->sub);
		c->sub = NULL;
	}
	jsSubOptions_Init(&so);
	so.Ordered = true;
	/* A consumer lost with its server is noticed in seconds. */
	so.Config.Heartbeat = 1000000000LL;
	so.Stream = stream;
	if (from) {
		so.Config.DeliverPolicy = js_DeliverByStartSequence;
		so.Config.OptStartSeq = from + 1;
	} else {
		/* A gateway new to the bucket: its current state. */
		so.Config.DeliverPolicy = js_DeliverLastPerSubject;
	}
	s = js_Subscribe(&c->sub, c->js, c->subjects, on_record, c, &jo, &so,
			 NULL);
	if (s == NATS_OK &&
	    natsSubscription_SetOnCompleteCB(c->sub, on_sub_done, c) ==
	    NATS_OK) {
		pthread_mutex_lock(&c->mu);
		c->subs_live++;
		pthread_mutex_unlock(&c->mu);
	}
	return s;
}

/* Connected: the JetStream context and the bucket. Returns whether both
 * are there. */
static bool setup_bucket(struct cluster *c)
{
	jsOptions jo;
	natsStatus s = NATS_OK;

	if (!c->js) {
		jsOptions_Init(&jo);
		jo.Wait = JS_WAIT_MS;
		s = natsConnection_JetStream(&c->js, c->nc, &jo);
		if (s != NATS_OK) {
			set_error(c, "JetStream", s);
			return false;
		}
	}
	pthread_rwlock_wrlock(&c->use);
	if (!c->kv)
		s = open_bucket(c);
	pthread_rwlock_unlock(&c->use);
	if (s != NATS_OK) {
		set_error(c, "the bucket", s);
		return false;
	}
	return true;
}

/* The watch, made (again). Returns whether it is there. */
static bool setup_watch(struct cluster *c)
{
	natsStatus s = subscribe(c);

	if (s != NATS_OK) {
		/* No answer: the stream is electing its leader, or the
		 * cluster is slow; the next try waits twice as long. */
		if (s == NATS_TIMEOUT && c->setup_wait_ms < WAIT_MAX_MS)
			c->setup_wait_ms *= 2;
		set_error(c, "the watch", s);
		return false;
	}
	c->setup_wait_ms = SETUP_WAIT_MS;
	pthread_mutex_lock(&c->mu);
	c->resubscribe = false;
	c->st.error[0] = '\0';
	pthread_mutex_unlock(&c->mu);
	atomic_store(&c->ready, true);
	log_info("cluster: watching bucket %s", c->bucket);
	return true;
}

/* Whether the watch's consumer is still there: the server that held it
 * may be gone while this connection's server lives (no reconnect then). */
static bool watch_alive(struct cluster *c)
{
	jsConsumerInfo *ci = NULL;
	jsErrCode jerr = 0;
	jsOptions jo;
	natsStatus s;

	if (!c->sub)
		return false;
	jsOptions_Init(&jo);
	jo.Wait = 1000;
	s = natsSubscription_GetConsumerInfo(&ci, c->sub, &jo, &jerr);
	if (s == NATS_OK && ci) {
		/* The server's own count of what is still to come: a
		 * record's metadata said it only as of that record. */
		pthread_mutex_lock(&c->mu);
		c->st.pending = ci->NumPending + (c->in_n - c->in_head);
		pthread_mutex_unlock(&c->mu);
	}
	jsConsumerInfo_Destroy(ci);
	/* Only a consumer the cluster says is gone is made again: a slow
	 * answer (a leader being elected) is no reason. */
	return !(s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr);
}

/* Publish what waits, oldest first, until one fails (returns false). */
static bool publish_queued(struct cluster *c)
{
	char key[CLUSTER_KEY_MAX + 1], val[2048];

	for (;;) {
		struct cluster_record r;
		uint64_t rev = 0;
		natsStatus s;
		int len;

		pthread_mutex_lock(&c->mu);
		if (!c->out_n || c->stop) {
			pthread_mutex_unlock(&c->mu);
			return true;
		}
		r = c->out[c->out_head];
		pthread_mutex_unlock(&c->mu);

		len = cluster_record_encode(&r, val, sizeof(val));
		if (cluster_record_key(&r, key, sizeof(key)) < 0 || len < 0)
			s = NATS_INVALID_ARG;
		else
			s = kvStore_Put(&rev, c->kv, key, val, len);
		if (s != NATS_OK && s != NATS_INVALID_ARG) {
			set_error(c, "publishing", s);
			return false;
		}
		cluster_published(c, s == NATS_OK ? rev : 0);
	}
}

void cluster_published(struct cluster *c, uint64_t rev)
{
	char key[CLUSTER_KEY_MAX + 1];
	struct cluster_record r;
	bool given = false;

	pthread_mutex_lock(&c->mu);
	if (!c->out_n) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	r = c->out[c->out_head];
	c->out_head = (c->out_head + 1) % c->out_cap;
	c->out_n--;
	if (cluster_record_key(&r, key, sizeof(key)) < 0)
		key[0] = '\0';
	ledger_pending(&c->ledger, key, -1, rev);
	if (rev) {
		struct ledger_entry *e = ledger_get(&c->ledger, key);

		r.revision = rev;
		/* A later change to key still queued is what this gateway
		 * holds (cluster_publish noted it): a quarantine published
		 * before its queued release must not become live again. */
		if (e && !e->pending)
			ledger_note(&c->ledger, key, &r);
		c->st.published++;
	} else {
		c->st.dropped++;
	}
	/* Another gateway's record the bucket stored after this one: it
	 * is what every other gateway holds, so it wins here too. */
	if (ledger_unhold(&c->ledger, key, &r) && give(c, key, &r)) {
		given = true;
		/* on_record counted it as not given. */
		if (c->st.ignored)
			c->st.ignored--;
	}
	c->dirty = true;
	pthread_mutex_unlock(&c->mu);
	if (given)
		wake_main(c);
}

/* What the state file says, copied under the lock. */
static int state_snapshot(struct cluster *c, struct cluster_state *s)
{
	size_t i, k;

	memset(s, 0, sizeof(*s));
	s->revision = c->committed;
	s->quarantines = calloc(c->ledger.live + 1, sizeof(*s->quarantines));
	s->queued = calloc(c->out_n + 1, sizeof(*s->queued));
	if (!s->quarantines || !s->queued) {
		cluster_state_free(s);
		return -1;
	}
	for (i = 0; i < c->ledger.cap; i++)
		if (c->ledger.e[i].quarantine)
			s->quarantines[s->nquarantines++] =
				*c->ledger.e[i].quarantine;
	for (i = 0, k = c->out_head; i < c->out_n; i++) {
		s->queued[s->nqueued++] = c->out[k];
		k = (k + 1) % c->out_cap;
	}
	return 0;
}

static void save_state(struct cluster *c)
{
	struct cluster_state s;
	int r;

	pthread_mutex_lock(&c->mu);
	ledger_expire(&c->ledger, wall_ms() / 1000);
	r = c->dirty ? state_snapshot(c, &s) : 1;
	c->dirty = false;
	pthread_mutex_unlock(&c->mu);
	if (r)
		return;
	if (cluster_state_save(c->state_path, &s) < 0) {
		log_warn("cluster: %s", c->state_path);
		pthread_mutex_lock(&c->mu);
		c->dirty = true;
		pthread_mutex_unlock(&c->mu);
	}
	cluster_state_free(&s);
}

static void *run(void *arg)
{
	struct cluster *c = arg;
	natsOptions *o = NULL;
	int64_t next_save = 0, retry_at = 0;

	while (!c->nc) {
		natsStatus s;

		/* The first connection is made here, one try a second, so
		 * that what stops it (refused, a certificate, credentials)
		 * is said; libnats reconnects after that. */
		o = options(c);
		s = o ? natsConnection_Connect(&c->nc, o) : NATS_ERR;
		if (s == NATS_OK) {
			on_connected(c->nc, c);
			break;
		}
		if (o)
			set_error(c, "connecting", s);
		natsConnection_Destroy(c->nc);
		c->nc = NULL;
		natsOptions_Destroy(o);
		o = NULL;
		pthread_mutex_lock(&c->mu);
		if (!c->stop) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		}
		if (c->stop) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		pthread_mutex_unlock(&c->mu);
	}
	natsOptions_Destroy(o);

	for (;;) {
		int64_t now = wall_ms();
		struct timespec ts;
		bool resub, busy;

		pthread_mutex_lock(&c->mu);
		if (c->stop) {
			pthread_mutex_unlock(&c->mu);
			break;
		}
		/* Work to do now: a watch to make, changes to publish; but
		 * not sooner than the last failure's back-off allows. */
		busy = now >= retry_at && atomic_load(&c->up) &&
		       (c->out_n || c->resubscribe || !atomic_load(&c->ready));
		if (!busy) {
			int64_t wait = TICK_MS;

			if (retry_at > now && retry_at - now < wait)
				wait = retry_at - now;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += wait * 1000000L;
			while (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&c->cv, &c->mu, &ts);
		}
		resub = c->resubscribe;
		pthread_mutex_unlock(&c->mu);

		if (wall_ms() >= retry_at && c->nc && atomic_load(&c->up)) {
			/* The bucket, then what waits to be published (the
			 * other gateways wait for it, not for this one's
			 * watch), then the watch. */
			bool ok = setup_bucket(c) && publish_queued(c);

			if (ok && (resub || !atomic_load(&c->ready)))
				ok = setup_watch(c);
			/* A cluster electing its leaders answers "no
			 * responders" at once: tried again soon, not in a
			 * loop. */
			retry_at = ok ? 0 : wall_ms() + RETRY_MS;
		}
		if (wall_ms() >= next_save) {
			save_state(c);
			next_save = wall_ms() + 1000;
			if (atomic_load(&c->ready) && !watch_alive(c)) {
				log_warnx("cluster: the watch's consumer is gone "
					  "(its server left); watching anew");
				pthread_mutex_lock(&c->mu);
				c->resubscribe = true;
				pthread_mutex_unlock(&c->mu);
			}
		}
	}
	return NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The state file's records at the start: the quarantines to the inbox,
 * the queued changes back into the queue. */
static void restore(struct cluster *c, const struct cluster_state *s)
{
	char key[CLUSTER_KEY_MAX + 1];
	int64_t now = wall_ms() / 1000;

	c->delivered = c->committed = s->revision;
	for (size_t i = 0; i < s->nquarantines; i++) {
		const struct cluster_record *r = &s->quarantines[i];

		if ((r->until && r->until <= now) ||
		    cluster_record_key(r, key, sizeof(key)) < 0)
			continue;
		ledger_note(&c->ledger, key, r);
		inbox_push(c, r);
	}
	for (size_t i = 0; i < s->nqueued && c->out_n < c->out_cap; i++) {
		if (cluster_record_key(&s->queued[i], key, sizeof(key)) < 0)
			continue;
		c->out[(c->out_head + c->out_n++) % c->out_cap] = s->queued[i];
		ledger_pending(&c->ledger, key, 1, 0);
	}
}

struct cluster *cluster_open(const struct cluster_config *cfg, char *err,
			     size_t esize)
{
	struct cluster *c = calloc(1, sizeof(*c));
	struct cluster_state s;
	char path[4096], why[300];
	bool ok;

	if (!c) {
		snprintf(err, esize, "out of memory");
		return NULL;
	}
	c->efd = -1;
	c->setup_wait_ms = SETUP_WAIT_MS;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->drained, NULL);
	pthread_rwlock_init(&c->use, NULL);
	c->servers = calloc(cfg->nservers + 1, sizeof(*c->servers));
	c->server_list = calloc(cfg->nservers + 1, sizeof(*c->server_list));
	ok = c->servers && c->server_list;
	for (unsigned i = 0; ok && i < cfg->nservers; i++) {
		ok = (c->servers[c->nservers] = strdup(cfg->servers[i]));
		c->server_list[c->nservers++] = c->servers[i];
	}
	snprintf(path, sizeof(path), "%s/cluster.%s", cfg->state_dir,
		 cfg->bucket);
	c->gateway = strdup(cfg->gateway);
	c->bucket = strdup(cfg->bucket);
	c->credentials = dup_or_null(cfg->credentials);
	c->ca = dup_or_null(cfg->ca);
	c->state_path = strdup(path);
	c->out_cap = cfg->queue_max ? cfg->queue_max : CLUSTER_QUEUE_MAX;
	c->out = calloc(c->out_cap, sizeof(*c->out));
	ok = ok && c->gateway && c->bucket && c->state_path && c->out &&
	     (c->credentials || !cfg->credentials) && (c->ca || !cfg->ca);
	if (!ok) {
		snprintf(err, esize, "out of memory");
		cluster_close(c);
		return NULL;
	}
	snprintf(c->subjects, sizeof(c->subjects), "$KV.%s.>", c->bucket);
	c->prefix_len = strlen(c->subjects) - 1;
	c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd < 0) {
		snprintf(err, esize, "eventfd: %s", strerror(errno));
		cluster_close(c);
		return NULL;
	}
	if (cluster_state_load(c->state_path, &s, why, sizeof(why)) < 0) {
		log_warnx("cluster: %s; the bucket is read whole instead",
			  why);
		memset(&s, 0, sizeof(s));
	}
	restore(c, &s);
	cluster_state_free(&s);
	if (c->in_n)
		wake_main(c);
	errno = pthread_create(&c->thread, NULL, run, c);
	if (errno) {
		snprintf(err, esize, "the cluster's thread: %s",
			 strerror(errno));
		cluster_close(c);
		return NULL;
	}
	return c;
}

/* Whether libnats is done calling back into c (within CLOSE_WAIT_MS). */
static bool wait_callbacks(struct cluster *c)
{
	struct timespec ts;
	bool done;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += CLOSE_WAIT_MS / 1000;
	pthread_mutex_lock(&c->mu);
	while (!(done = (!c->nc || c->nc_closed) && !c->subs_live))
		if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT) {
			done = (!c->nc || c->nc_closed) && !c->subs_live;
			break;
		}
	pthread_mutex_unlock(&c->mu);
	return done;
}

void cluster_close(struct cluster *c)
{
	if (!c)
		return;
	if (c->thread) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_cond_signal(&c->cv);
		pthread_cond_broadcast(&c->drained);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->thread, NULL);
		if (c->sub) {
			natsSubscription_Unsubscribe(c->sub);
			natsSubscription_Destroy(c->sub);
		}
		c->sub = NULL;
		if (c->nc)
			natsConnection_Close(c->nc);
		/* Close returns with callbacks still to come (the
		 * disconnected one, a last on_record): c is freed only
		 * once libnats says none will. */
		if (!wait_callbacks(c)) {
			log_warnx("cluster: libnats did not finish its "
				  "callbacks in %d ms; its memory is kept",
				  CLOSE_WAIT_MS);
			save_state(c);
			return;
		}
		pthread_mutex_lock(&c->mu);
		c->dirty = true;
		pthread_mutex_unlock(&c->mu);
		save_state(c);
	}
	kvStore_Destroy(c->kv);
	jsCtx_Destroy(c->js);
	natsConnection_Destroy(c->nc);
	for (unsigned i = 0; i < c->nservers; i++)
		free(c->servers[i]);
	free(c->servers);
	free(c->server_list);
	free(c->gateway);
	free(c->bucket);
	free(c->credentials);
	free(c->ca);
	free(c->state_path);
	free(c->out);
	free(c->in);
	ledger_free(&c->ledger);
	if (c->efd >= 0)
		close(c->efd);
	pthread_rwlock_destroy(&c->use);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->drained);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool cluster_same(const struct cluster *c, const struct cluster_config *cfg)
{
	if (c->nservers != cfg->nservers || !same_str(c->gateway, cfg->gateway) ||
	    !same_str(c->bucket, cfg->bucket) ||
	    !same_str(c->credentials, cfg->credentials) ||
	    !same_str(c->ca, cfg->ca))
		return false;
	for (unsigned i = 0; i < c->nservers; i++)
		if (strcmp(c->servers[i], cfg->servers[i]))
			return false;
	return true;
}

int cluster_publish(struct cluster *c, const struct cluster_record *r)
{
	char key[CLUSTER_KEY_MAX + 1];
	int ret = 0;

	if (cluster_record_key(r, key, sizeof(key)) < 0)
		return -1;
	pthread_mutex_lock(&c->mu);
	if (c->out_n == c->out_cap) {
		c->st.dropped++;
		ret = -1;
	} else {
		struct cluster_record *q =
			&c->out[(c->out_head + c->out_n++) % c->out_cap];

		*q = *r;
		snprintf(q->gateway, sizeof(q->gateway), "%s", c->gateway);
		ledger_pending(&c->ledger, key, 1, 0);
		/* What this gateway holds from now on, published or not: a
		 * restart before NATS answers must not bring back what was
		 * released here. */
		ledger_note(&c->ledger, key, q);
		c->dirty = true;
		pthread_cond_signal(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return ret;
}

int cluster_fd(const struct cluster *c)
{
	return c->efd;
}

size_t cluster_poll(struct cluster *c, struct cluster_record *out,
		    size_t max)
{
	uint64_t v;
	size_t n;

	pthread_mutex_lock(&c->mu);
	n = c->in_n - c->in_head < max ? c->in_n - c->in_head : max;
	if (n)
		memcpy(out, c->in + c->in_head, n * sizeof(*out));
	c->in_head += n;
	if (n)
		pthread_cond_broadcast(&c->drained);
	if (c->in_head == c->in_n) {
		c->in_head = c->in_n = 0;
		/* A bucket read whole does not keep its size for ever. */
		if (c->in_cap > 4096) {
			free(c->in);
			c->in = NULL;
			c->in_cap = 0;
		}
	}
	if (!c->in_n) {
		c->committed = c->delivered;
		if (read(c->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_warn("cluster: eventfd");
	} else if (n && out[n - 1].revision > c->committed) {
		c->committed = out[n - 1].revision;
	}
	pthread_mutex_unlock(&c->mu);
	return n;
}

void cluster_status(struct cluster *c, struct cluster_status *s)
{
	pthread_mutex_lock(&c->mu);
	*s = c->st;
	s->connected = atomic_load(&c->ready) && atomic_load(&c->up);
	s->revision = c->committed;
	s->queued = c->out_n;
	if (!s->connected)
		s->server[0] = '\0';
	pthread_mutex_unlock(&c->mu);
}

long cluster_history(struct cluster *c, const char *pattern, size_t max,
		     int64_t timeout_ms,
		     void (*fn)(void *ctx, const struct cluster_record *r),
		     void *ctx, char *err, size_t esize)
{
	int64_t end = wall_ms() + timeout_ms;
	kvWatchOptions wo;
	kvWatcher *w = NULL;
	natsStatus s;
	long n = 0;

	pthread_rwlock_rdlock(&c->use);
	if (!c->kv || !atomic_load(&c->up)) {
		pthread_rwlock_unlock(&c->use);
		snprintf(err, esize, "not connected to the cluster (bucket "
			 "%s); the history is the bucket's", c->bucket);
		return -1;
	}
	kvWatchOptions_Init(&wo);
	wo.IncludeHistory = true;
	wo.Timeout = timeout_ms;
	s = kvStore_Watch(&w, c->kv, pattern ? pattern : ">", &wo);
	while (s == NATS_OK && (size_t)n < max) {
		kvEntry *e = NULL;
		struct cluster_record r;
		char why[160];
		int64_t left = end - wall_ms();

		if (left <= 0) {
			s = NATS_TIMEOUT;
			break;
		}
		s = kvWatcher_Next(&e, w, left);
		if (s != NATS_OK || !e)
			break;		/* NULL: the history is all read */
		memset(&r, 0, sizeof(r));
		if (kvEntry_Operation(e) != kvOp_Put) {
			if (cluster_key_parse(kvEntry_Key(e), &r) == 0) {
				r.op = r.kind == CLUSTER_QUARANTINE ?
				       CLUSTER_RELEASED : CLUSTER_DEL;
				snprintf(r.gateway, sizeof(r.gateway), "nats");
			}
		} else if (cluster_record_decode(kvEntry_Value(e),
						 (size_t)kvEntry_ValueLen(e),
						 kvEntry_Key(e), &r, why,
						 sizeof(why)) < 0) {
			snprintf(r.note, sizeof(r.note), "(not applied: %s)",
				 why);
			cluster_key_parse(kvEntry_Key(e), &r);
			snprintf(r.gateway, sizeof(r.gateway), "?");
		}
		r.revision = kvEntry_Revision(e);
		r.stored_ms = kvEntry_Created(e) / 1000000;
		kvEntry_Destroy(e);
		fn(ctx, &r);
		n++;
	}
	kvWatcher_Destroy(w);
	pthread_rwlock_unlock(&c->use);
	if (s != NATS_OK) {
		snprintf(err, esize, "the bucket's history: %s",
			 natsStatus_GetText(s));
		return -1;
	}
	return n;
}

void cluster_library_close(void)
{
	nats_CloseAndWait(2000);
}
