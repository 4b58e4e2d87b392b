// SPDX-License-Identifier: GPL-2.0-or-later
/* The daemon context's shared operations: policy loads and counters. */
#include <sys/socket.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "filter/cluster.h"
#include "filter/daemon.h"
#include "filter/kernel.h"

struct policy *daemon_load(const char *path,
			   const struct policy_exception *ex, size_t nex,
			   struct strbuf *errs)
{
	struct policy_errors pe = { 0 };
	struct policy *p = policy_load_ex(path, ex, nex, &pe);

	for (size_t i = 0; i < pe.count; i++) {
		log_warnx("%s", pe.msg[i]);
		if (errs)
			strbuf_printf(errs, "%s\n", pe.msg[i]);
	}
	if (!p) {
		log_warnx("%s: %zu error%s, policy not loaded", path,
			  pe.count, pe.count == 1 ? "" : "s");
		if (errs)
			strbuf_printf(errs, "%s: %zu error%s, policy not "
				      "loaded\n", path, pe.count,
				      pe.count == 1 ? "" : "s");
	}
	policy_errors_free(&pe);
	return p;
}


/* Wait until no verdict thread still reads old: each holds the policy
 * only for one burst, so this takes at most a burst's time. */
static void wait_unused(struct daemon *d, const struct generation *old)
{
	const struct timespec nap = { 0, 100 * 1000 };

	for (unsigned i = 0; i < d->nworkers; i++)
		while (atomic_load(&d->workers[i].in_use) == old)
			nanosleep(&nap, NULL);
}

/* Put rs in the kernel; errors to the log and errs. */
static int install(struct daemon *d, const struct policy_ruleset *rs,
		   struct strbuf *errs)
{
	char err[512];

	if (rules_install(d->kernel, &rs->desc, err, sizeof(err)) == 0)
		return 0;
	log_warnx("installing the ruleset: %s", err);
	if (errs)
		strbuf_printf(errs, "installing the ruleset: %s\n", err);
	return -1;
}

int daemon_rebuild(struct daemon *d, const struct policy_exception *ex,
		   size_t nex, struct strbuf *errs)
{
	struct policy_ruleset next = { 0 }, both = { 0 };
	struct policy *p;
	bool change;

	p = daemon_load(d->opts.policy_path, ex, nex, errs);
	if (!p)
		goto fail;
	if (kernel_ruleset(d, p, time(NULL), &next) < 0) {
		strbuf_printf(errs, "out of memory\n");
		goto fail;
	}
	/* What the kernel holds is checked, not assumed: a flushed FORWARD
	 * is put back before anything else. */
	kernel_check(d, true, errs);
	change = d->kernel && !policy_ruleset_equal(&next, &d->rules);
	/* Both policies' SYNs queue while the pointer swaps. */
	if (change && (policy_ruleset_union(&both, &d->rules, &next) < 0 ||
		       install(d, &both, errs) < 0))
		goto fail;
	if (daemon_swap(d, p) < 0) {
		p = NULL;
		strbuf_printf(errs, "out of memory\n");
		/* The union is in, the old policy runs: its ruleset back, or
		 * the check once a second tries again. */
		if (change && install(d, &d->rules, errs) < 0)
			d->rules_stale = true;
		goto fail;
	}
	/* The new queue rules, fallback and sets (refilled only when their
	 * content changed). */
	if (d->kernel && install(d, &next, NULL) < 0) {
		log_warnx("the %s ruleset stays installed; the check once a "
			  "second tries again", change ? "union of the old and "
			  "new" : "old");
		d->rules_stale = true;
	}
	policy_ruleset_free(&d->rules);
	d->rules = next;
	{
		struct stats_config sc = { 0 };

		/* New thresholds and rates; tracked subscribers stay. */
		stats_config_from_policy(&sc, p);
		sc.threads = d->nworkers;
		if (stats_configure(d->stats, &sc) < 0)
			log_warnx("detection settings of the new policy "
				  "refused; the old ones stay");
	}
	policy_ruleset_free(&both);
	log_syslog(policy_log_config(p)->syslog);
	d->loads++;
	d->loaded = time(NULL);
	log_info("loaded %s: %zu IPv4 and %zu IPv6 entries, %zu live "
		 "exceptions%s", d->opts.policy_path,
		 policy_entry_count(p, AF_INET),
		 policy_entry_count(p, AF_INET6), nex,
		 change ? ", ruleset updated" : "");
	return 0;
fail:
	policy_free(p);
	policy_ruleset_free(&next);
	policy_ruleset_free(&both);
	d->load_failures++;
	return -1;
}

int daemon_reload(struct daemon *d, struct strbuf *errs)
{
	log_info("reloading %s", d->opts.policy_path);
	if (daemon_rebuild(d, d->ex, d->nex, errs) < 0) {
		log_warnx("reload failed; the running policy stays");
		return -1;
	}
	/* The cluster: section may have changed too. */
	shared_reconfigure(d);
	return 0;
}

void daemon_totals(struct daemon *d, struct daemon_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct worker *w = &d->workers[i];
		struct queue_stats qs;

		for (int a = 0; a < 3; a++)
			t->verdicts[a] += atomic_load(&w->verdicts[a]);
		for (int s = 0; s <= PARSE_MALFORMED; s++)
			t->parse[s] += atomic_load(&w->parse[s]);
		if (!w->q)
			continue;
		queue_stats(w->q, &qs);
		t->packets += qs.packets;
		t->enobufs += qs.enobufs;
		t->verdict_errors += qs.verdict_errors;
	}
}

int daemon_swap(struct daemon *d, struct policy *p)
{
	/* One count slot a verdict thread, and the main thread's for what
	 * the kernel quarantine blocked. */
	struct generation *g = generation_new(p, d->nworkers + 1), *old;

	if (!g) {
		policy_free(p);
		return -1;
	}
	old = atomic_exchange(&d->generation, g);
	if (!old)
		return 0;
	wait_unused(d, old);
	pthread_mutex_lock(&d->generation_lock);
	if (generation_fold(old, &d->retired) < 0)
		log_warnx("metrics: out of memory; counts of the old policy "
			  "are lost");
	generation_free(old);
	pthread_mutex_unlock(&d->generation_lock);
	return 0;
}

int64_t daemon_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
