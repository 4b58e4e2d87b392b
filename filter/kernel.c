// SPDX-License-Identifier: GPL-2.0-or-later
/* The daemon's side of the kernel ruleset (filter/kernel.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/rfc3339.h"
#include "filter/daemon.h"
#include "filter/kernel.h"

/* nft's own words for a kernel without its queue expression are "No
 * such file or directory" on each queue rule, over many lines: say what
 * that means instead. */
static bool lacks_nft_queue(const struct daemon *d, const char *err)
{
	return d->opts.backend == RULES_NFT && strstr(err, " queue ") &&
	       strstr(err, "No such file or directory");
}

static void fallback_line(struct daemon *d,
			  const struct rules_fallback_counts *fc, int64_t now)
{
	struct blocklog_event ev = {
		.kind = BLOCKLOG_FALLBACK,
		.ts_ms = now * 1000,
		.since = fc->since,
		.until = now,
		.fb = { fc->accepted, fc->dropped, fc->rejected },
	};
	char since[32];

	log_info("the kernel judged alone since %s: %llu SYNs rejected, "
		 "%llu dropped, %llu accepted",
		 rfc3339_format(fc->since, since, sizeof(since)),
		 (unsigned long long)fc->rejected,
		 (unsigned long long)fc->dropped,
		 (unsigned long long)fc->accepted);
	if (d->blocklog)
		blocklog_push(d->blocklog, d->nworkers, &ev);
}

int kernel_ruleset(struct daemon *d, const struct policy *p, int64_t now,
		   struct policy_ruleset *rs)
{
	if (policy_ruleset_build(rs, p, d->opts.queues, now) < 0)
		return -1;
	rs->desc.kernel_quarantine = !d->opts.no_kernel_quarantine;
	return 0;
}

int kernel_start(struct daemon *d, const struct policy *p)
{
	struct rules_fallback_counts fc = { 0 };
	int64_t now = time(NULL);
	char err[1024];

	if (kernel_ruleset(d, p, now, &d->rules) < 0) {
		log_warn("ruleset");
		return -1;
	}
	if (d->opts.no_rules)
		return 0;
	d->kernel = rules_kernel_new(d->rules.desc.chain, d->opts.backend);
	if (!d->kernel) {
		log_warn("ruleset");
		return -1;
	}
	if (rules_fallback_read(d->kernel, &fc, err, sizeof(err)) < 0) {
		log_warnx("reading what the fallback judged: %s", err);
		memset(&fc, 0, sizeof(fc));
	}
	if (rules_install(d->kernel, &d->rules.desc, err, sizeof(err)) < 0) {
		if (lacks_nft_queue(d, err))
			log_warnx("installing the ruleset: this kernel lacks "
				  "nft's queue expression (nft_queue): use "
				  "--backend iptables");
		else
			log_warnx("installing the ruleset: %s", err);
		/* One family may be in already, with no daemon behind it:
		 * back to the fallback (nothing changes where none is). */
		rules_to_fallback(d->kernel, &d->rules.desc,
				  fc.active ? fc.since : now, err, sizeof(err));
		rules_kernel_free(d->kernel);
		d->kernel = NULL;
		return -1;
	}
	if (fc.active)
		fallback_line(d, &fc, now);
	/* The quarantine sets hold what this run holds (nothing yet), not
	 * what an earlier one left: its quarantines died with it. */
	kernel_sync_quarantine(d);
	return 0;
}

void kernel_stop(struct daemon *d)
{
	char err[1024];

	if (!d->kernel)
		return;
	/* The last second's counts, and (for the fallback) the set as the
	 * daemon holds it. */
	kernel_sync_quarantine(d);
	if (d->opts.on_stop == DAEMON_STOP_REMOVE) {
		if (rules_remove(d->rules.desc.chain, d->opts.backend, err,
				 sizeof(err)) < 0)
			log_warnx("removing the ruleset: %s", err);
	} else {
		if (rules_to_fallback(d->kernel, &d->rules.desc, time(NULL),
				      err, sizeof(err)) < 0)
			log_warnx("putting the fallback rules in: %s; the "
				  "queue rules stay (port 25 fails closed)",
				  err);
	}
	rules_kernel_free(d->kernel);
	d->kernel = NULL;
	free(d->kq_own);
	d->kq_own = NULL;
	d->nkq_own = 0;
}

/* Element e of a quarantine set as the subscriber stats keys. */
static void elem_addr(const struct rules_elem *e, struct addr *a)
{
	if (e->v6) {
		memcpy(a->b, e->addr, 16);
	} else {
		addr_from_v4(a, (uint32_t)e->addr[0] << 24 |
				(uint32_t)e->addr[1] << 16 |
				(uint32_t)e->addr[2] << 8 | e->addr[3]);
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The metric's series for each port the quarantine blocks, at 0 until
 * the kernel blocks one. */
static void note_ports(struct daemon *d)
{
	const struct rules_desc *rd = &d->rules.desc;
	const struct rules_profile *q = rd->quarantine;

	for (size_t i = 0; q && !rd->monitor && i < rd->nports; i++)
		if (q->action[i] != RULES_ACCEPT)
			(void)generation_total(&d->kq_totals, q->action[i], "",
					       rd->ports[i].port);
	if (q && !rd->monitor && rd->all_ports && q->other != RULES_ACCEPT)
		(void)generation_total(&d->kq_totals, q->other, "", 0);
}

static int owner_cmp(const void *a, const void *b)
{
	const struct rules_elem *x = &((const struct kq_owner *)a)->e;
	const struct rules_elem *y = &((const struct kq_owner *)b)->e;
	int c = (int)x->v6 - (int)y->v6;

	if (c)
		return c;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	return c ? c : (int)x->len - (int)y->len;
}

/*
 * What the kernel quarantine blocked since the last read: into the
 * subscribers' counts and summaries, the verdict counters (the main
 * thread's slot, the detection profile's name) and its own metric.
 * Before each sync, so that an element about to go is read first.
 */
static void quarantine_counts(struct daemon *d, int64_t now_ms)
{
	struct generation *g = atomic_load(&d->generation);
	int profile = policy_detection(g->p)->profile;
	struct stats_kernel_count *kc;
	struct rules_qcount *c;
	char err[512];
	int64_t t0;
	size_t n;
	int r;

	if (!d->rules.desc.kernel_quarantine)
		return;
	t0 = mono_ms();
	r = rules_quarantine_counts(d->kernel, &c, &n, err, sizeof(err));
	/* A read costs the main loop in proportion to the subscribers held
	 * (100,000: 0.36 s, make bench-qcount): the periodic read waits
	 * three times what this one took, so that it takes at most a
	 * quarter of the loop. Counts are exact, only later. */
	d->kq_next_ms = mono_ms() + 3 * (mono_ms() - t0);
	if (r < 0) {
		if (!d->kq_unread)
			log_warnx("%s (tried again each second)", err);
		d->kq_unread = true;
		return;
	}
	if (d->kq_unread)
		log_info("the kernel quarantine's counters are read again");
	d->kq_unread = false;
	kc = calloc(n ? n : 1, sizeof(*kc));
	pthread_mutex_lock(&d->generation_lock);
	note_ports(d);
	for (size_t i = 0; i < n; i++) {
		struct generation_total *t;

		generation_count_n(g, d->nworkers, c[i].action, profile,
				   c[i].port, c[i].packets);
		t = generation_total(&d->kq_totals, c[i].action, "",
				     c[i].port);
		if (t)
			t->count += c[i].packets;
		if (kc) {
			const struct kq_owner *o;
			struct kq_owner want = { .e = c[i].e };

			elem_addr(&c[i].e, &kc[i].src);
			/* An element of a subscriber quarantined by id: its
			 * counts are the subscriber's, the one it was put in
			 * for (the address may have moved since). */
			o = d->nkq_own ? bsearch(&want, d->kq_own, d->nkq_own,
						 sizeof(*o), owner_cmp) : NULL;
			if (o && o->id[0]) {
				kc[i].subscriber_key = o->key;
				kc[i].subscriber = o->id;
				kc[i].subscriber_len = strlen(o->id);
			}
			kc[i].dport = c[i].port;
			kc[i].action = c[i].action;
			kc[i].packets = c[i].packets;
		}
	}
	pthread_mutex_unlock(&d->generation_lock);
	if (n && kc)
		stats_kernel(d->stats, kc, n, now_ms);
	else if (n)
		log_warnx("the kernel quarantine's counts: out of memory; "
			  "%zu subscribers' are not in the summaries", n);
	free(kc);
	free(c);
}

/* Whether src (a quarantined address or prefix) is in a live subscriber
 * prefix of p at now: the only sources decision rule 3 applies to. */
static bool is_subscriber(const struct policy *p, const struct addr *src,
			  int64_t now)
{
	struct policy_flow f = { .src = *src, .dport = 25 };
	struct policy_decision dec;

	/* No relay is the unspecified address (or ::ffff:0.0.0.0). */
	if (addr_is_v4(src))
		addr_from_v4(&f.dst, 0);
	policy_decide(p, &f, now, false, &dec);
	return dec.entry >= 0;
}

void kernel_sync_quarantine(struct daemon *d)
{
	struct timespec ts;
	struct stats_subscriber *q = NULL;
	struct rules_elem *e = NULL;
	struct kq_owner *own = NULL;
	size_t n = 0, got, m, k = 0;
	size_t budget = 1u << 20;	/* index probes for nested prefixes */
	int64_t now_ms;
	char err[512];

	if (!d->kernel)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	quarantine_counts(d, now_ms);
	/* Monitor mode blocks nothing, not even a quarantined source. */
	if (policy_mode(daemon_policy(d)) != POLICY_MODE_MONITOR) {
		n = stats_quarantined_list(d->stats, now_ms, NULL, 0);
		q = calloc(n ? n : 1, sizeof(*q));
		/* A subscriber by id holds an address and prefixes. */
		e = calloc(n ? n * (1 + IDENTITY_V6_MAX) : 1, sizeof(*e));
		own = calloc(n ? n * (1 + IDENTITY_V6_MAX) : 1, sizeof(*own));
		if (!q || !e || !own) {
			log_warnx("quarantine sets: out of memory");
			goto out;
		}
		/* A verdict thread may quarantine one more meanwhile: the
		 * count is of all there are, not of those copied. */
		got = stats_quarantined_list(d->stats, now_ms, q, n);
		if (got < n)
			n = got;
	}
	for (m = 0; m < n; m++) {
		struct identity_addr held[1 + IDENTITY_V6_MAX];
		unsigned nheld = 0;
		uint32_t timeout = q[m].until_ms > now_ms ?
			(uint32_t)((q[m].until_ms - now_ms + 999) / 1000) : 1;

		if (q[m].by_subscriber) {
			/* Quarantined by subscriber id: whatever addresses
			 * it holds now (none: nothing in the kernel). */
			struct identity_session ses;

			if (d->ident && q[m].subscriber[0] &&
			    identity_get(d->ident, q[m].subscriber, ts.tv_sec,
					 &ses) == 0) {
				if (ses.has_v4)
					held[nheld++] = ses.v4;
				for (unsigned i = 0; i < ses.nv6; i++)
					held[nheld++] = ses.v6[i];
			}
		} else {
			struct identity_hit hit;

			/* An address quarantined by itself that a session
			 * holds now: its subscriber's state decides. */
			if (d->ident && identity_lookup(d->ident, &q[m].addr,
							ts.tv_sec, &hit))
				continue;
			held[0].a = q[m].addr;
			held[0].len = (uint8_t)(q[m].ipv6 ? q[m].prefix_len
							  : 32);
			nheld = 1;
		}
		for (unsigned i = 0; i < nheld; i++) {
			bool v6 = !addr_is_v4(&held[i].a);

			/* Decision rule 2 comes before 3: a source the policy
			 * no longer counts as a subscriber (a range taken out
			 * at a reload) is accepted, and the kernel must not
			 * hold it. */
			if (!is_subscriber(daemon_policy(d), &held[i].a,
					   ts.tv_sec))
				continue;
			/* Another subscriber holds a prefix inside it (or it
			 * may): the kernel would drop that one's SYNs too.
			 * The daemon judges them apart instead. */
			if (v6 && d->ident &&
			    identity_nested(d->ident, &held[i],
					    q[m].by_subscriber ?
					    q[m].subscriber_key : 0,
					    ts.tv_sec, &budget) != 0)
				continue;
			e[k].v6 = v6;
			memcpy(e[k].addr, v6 ? held[i].a.b : held[i].a.b + 12,
			       v6 ? 16 : 4);
			e[k].len = held[i].len;
			e[k].timeout = timeout;
			own[k].e = e[k];
			if (q[m].by_subscriber) {
				own[k].key = q[m].subscriber_key;
				snprintf(own[k].id, sizeof(own[k].id), "%s",
					 q[m].subscriber);
			}
			k++;
		}
	}
	if (rules_quarantine_sync(d->kernel, e, k, ts.tv_sec, err,
				  sizeof(err)) < 0) {
		log_warnx("quarantine sets: %s", err);
	} else if (own || !n) {
		if (own)
			qsort(own, k, sizeof(*own), owner_cmp);
		free(d->kq_own);
		d->kq_own = own;
		d->nkq_own = own ? k : 0;
		own = NULL;
	}
out:
	free(q);
	free(e);
	free(own);
}

int kernel_check(struct daemon *d, bool full, struct strbuf *errs)
{
	char what[512], err[1024];
	int r;

	if (!d->kernel)
		return 0;
	if (mono_ms() >= d->kq_next_ms)
		kernel_sync_quarantine(d);
	if (rules_refill_due(d->kernel, time(NULL))) {
		/* Entries longer than the kernel's longest timeout: their
		 * elements are renewed before they run out. */
		struct policy_ruleset next;

		if (kernel_ruleset(d, daemon_policy(d), time(NULL),
				   &next) == 0) {
			policy_ruleset_free(&d->rules);
			d->rules = next;
			d->rules_stale = true;
		}
	}
	if (d->rules_stale) {
		if (rules_install(d->kernel, &d->rules.desc, err,
				  sizeof(err)) < 0) {
			if (errs)
				strbuf_printf(errs, "installing the ruleset: "
					      "%s\n", err);
			return -1;
		}
		d->rules_stale = false;
		log_info("the ruleset is up to date again");
	}
	r = rules_verify(d->kernel, full, time(NULL), what, sizeof(what));
	if (r == 0) {
		d->rules_broken = false;
		return 0;
	}
	if (r < 0) {
		if (!d->rules_broken)
			log_warnx("checking the kernel ruleset: %s", what);
		if (errs)
			strbuf_printf(errs, "checking the kernel ruleset: %s\n",
				      what);
		d->rules_broken = true;
		return -1;
	}
	log_warnx("the kernel ruleset was changed (%s): putting it back",
		  what);
	if (rules_install(d->kernel, &d->rules.desc, err, sizeof(err)) < 0) {
		log_warnx("putting the ruleset back: %s", err);
		if (errs)
			strbuf_printf(errs, "the kernel ruleset was changed "
				      "(%s) and could not be put back: %s\n",
				      what, err);
		d->rules_broken = true;
		return -1;
	}
	kernel_sync_quarantine(d);
	atomic_fetch_add(&d->rules_restored, 1);
	d->rules_broken = false;
	if (errs)
		strbuf_printf(errs, "the kernel ruleset was changed (%s): put "
			      "back\n", what);
	return 1;
}
