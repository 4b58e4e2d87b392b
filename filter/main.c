// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullisd: bind the queues, swap the ruleset in, judge SYNs until told
 * to stop, then swap the fallback back in: the kernel alone applies the
 * last policy to port 25 while no daemon runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/ctlproto.h"
#include "common/log.h"
#include "filter/control.h"
#include "cluster/cluster.h"
#include "filter/cluster.h"
#include "filter/daemon.h"
#include "filter/except.h"
#include "filter/kernel.h"
#include "filter/metrics.h"
#include "filter/notify.h"
#include "filter/session.h"
#include "filter/privdrop.h"

#define QUEUES_MAX 32

static volatile sig_atomic_t got_stop, got_hup, got_usr1;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: portcullisd -c POLICY [--queues N] [--no-rules] "
		"[--backend iptables|nft]\n"
		"                   [--on-stop fallback|remove] "
		"[--no-kernel-quarantine]\n"
		"                   [--control PATH] [--state DIR] "
		"[--max-sessions N]\n"
		"                   [--metrics ADDRESS:PORT|off] "
		"[--user NAME] [-v]\n");
}

static void parse_opts(struct daemon_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "queues", required_argument, NULL, 'q' },
		{ "no-rules", no_argument, NULL, 'n' },
		{ "backend", required_argument, NULL, 'b' },
		{ "on-stop", required_argument, NULL, 'o' },
		{ "no-kernel-quarantine", no_argument, NULL, 'K' },
		{ "control", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "state", required_argument, NULL, 'S' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "max-sessions", required_argument, NULL, 'M' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	long n;
	int c;

	o->queues = 1;
	o->backend = RULES_IPTABLES;
	o->control_path = CTL_SOCKET_DEFAULT;
	o->user = "portcullis";
	o->state_dir = "/var/lib/portcullis";
	o->metrics = "127.0.0.1:9638";
	o->user_default = true;
	o->max_sessions = IDENTITY_DEFAULT_MAX;
	while ((c = getopt_long(argc, argv, "c:q:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->policy_path = optarg;
			break;
		case 'q':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > QUEUES_MAX)
				fatalx("--queues must be from 1 to %d, found "
				       "'%s'", QUEUES_MAX, optarg);
			o->queues = (unsigned)n;
			break;
		case 'n':
			o->no_rules = true;
			break;
		case 'b':
			if (!strcmp(optarg, "iptables"))
				o->backend = RULES_IPTABLES;
			else if (!strcmp(optarg, "nft"))
				o->backend = RULES_NFT;
			else
				fatalx("--backend must be iptables or nft, "
				       "found '%s'", optarg);
			break;
		case 'o':
			if (!strcmp(optarg, "fallback"))
				o->on_stop = DAEMON_STOP_FALLBACK;
			else if (!strcmp(optarg, "remove"))
				o->on_stop = DAEMON_STOP_REMOVE;
			else
				fatalx("--on-stop must be fallback or remove, "
				       "found '%s'", optarg);
			break;
		case 'K':
			o->no_kernel_quarantine = true;
			break;
		case 's':
			o->control_path = optarg;
			break;
		case 'S':
			o->state_dir = optarg;
			break;
		case 'm':
			o->metrics = optarg;
			break;
		case 'M':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || *end || n < 1 || n > IDENTITY_LIMIT)
				fatalx("--max-sessions must be from 1 to %d, "
				       "found '%s'", IDENTITY_LIMIT, optarg);
			o->max_sessions = (size_t)n;
			break;
		case 'u':
			o->user = optarg;
			o->user_default = false;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (!o->policy_path || optind != argc) {
		usage(stderr);
		exit(2);
	}
}


static int open_queues(struct daemon *d)
{
	char err[256];

	d->nworkers = 2 * d->opts.queues;
	d->workers = calloc(d->nworkers, sizeof(*d->workers));
	if (!d->workers)
		fatal("queues");
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct queue_config cfg = {
			/* The second group carries ports that fail open. */
			.fail_open = i >= d->opts.queues,
		};
		struct worker *w = &d->workers[i];
		struct queue *q;

		w->d = d;
		w->index = i;
		w->fail_closed = !cfg.fail_open;
		q = queue_open((uint16_t)i, &cfg, err, sizeof(err));
		if (!q) {
			log_warnx("queue %u: %s", i, err);
			return -1;
		}
		worker_attach(w, q);
	}
	return 0;
}

static void counters_line(struct daemon *d)
{
	struct daemon_totals t;
	uint64_t bad = 0;

	daemon_totals(d, &t);
	for (int s = PARSE_NOT_SYN; s <= PARSE_MALFORMED; s++)
		bad += t.parse[s];
	log_info("verdicts: %llu accepted, %llu dropped, %llu rejected; "
		 "%llu not judged (not a SYN, malformed); %llu socket overruns",
		 (unsigned long long)t.verdicts[POLICY_ACCEPT],
		 (unsigned long long)t.verdicts[POLICY_DROP],
		 (unsigned long long)t.verdicts[POLICY_REJECT],
		 (unsigned long long)bad, (unsigned long long)t.enobufs);
}

/*
 * portcullisd.pid beside the control socket (which only this daemon may
 * hold), for whoever must signal this daemon and no other without
 * systemd: logrotate's SIGUSR1. Never through a link; not fatal.
 */
static void pid_file(struct daemon *d, bool create)
{
	char path[4096], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s", d->opts.control_path);
	slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path,
		 sizeof(path) - (size_t)(slash ? slash + 1 - path : 0),
		 "portcullisd.pid");
	if (!create) {
		unlink(path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0 || dprintf(fd, "%d\n", (int)getpid()) < 0)
		log_warn("pid file %s", path);
	if (fd >= 0)
		close(fd);
}

/* Packets our queues hold in the kernel, or -1 when it cannot say. */
static long waiting(struct daemon *d)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
	unsigned q, portid, total;
	long n = 0;
	char line[256];

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %u %u", &q, &portid, &total) == 3 &&
		    q < d->nworkers)
			n += total;
	fclose(f);
	return n;
}

/* Let the verdict threads answer what the kernel queued before the
 * fallback went in (half a second at most): a clean stop loses no SYN,
 * not even one to 587 caught in the switch. */
static void drain(struct daemon *d)
{
	const struct timespec nap = { 0, 5 * 1000 * 1000 };

	for (int i = 0; i < 100 && d->workers; i++) {
		bool started = false;

		for (unsigned w = 0; w < d->nworkers; w++)
			started |= d->workers[w].started;
		if (!started || waiting(d) <= 0)
			return;
		nanosleep(&nap, NULL);
	}
}

/* Once a second, and at the watchdog's pace: live counters for systemd,
 * the watchdog fed only while every verdict thread goes round, and live
 * exceptions expired. */
static void tick(struct daemon *d, uint64_t watchdog_ms)
{
	struct daemon_totals t;
	int64_t now = daemon_mono_ms(), limit;
	char status[256];
	bool alive = true;

	limit = watchdog_ms ? (int64_t)watchdog_ms / 2 : 5000;
	for (unsigned i = 0; i < d->nworkers; i++) {
		int64_t age = now - atomic_load(&d->workers[i].beat_ms);

		if (age > limit) {
			alive = false;
			log_warnx("verdict thread of queue %u has not gone "
				  "round for %lld ms", i, (long long)age);
		}
	}
	if (alive && watchdog_ms)
		notify_watchdog();
	daemon_totals(d, &t);
	snprintf(status, sizeof(status), "%llu SYNs judged: %llu accepted, "
		 "%llu dropped, %llu rejected",
		 (unsigned long long)(t.verdicts[0] + t.verdicts[1] +
				      t.verdicts[2]),
		 (unsigned long long)t.verdicts[POLICY_ACCEPT],
		 (unsigned long long)t.verdicts[POLICY_DROP],
		 (unsigned long long)t.verdicts[POLICY_REJECT]);
	notify_status(status);
	except_expire(d, time(NULL));
	session_tick(d, time(NULL));
	shared_tick(d);
	kernel_check(d, false, NULL);
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		stats_tick(d->stats, (int64_t)ts.tv_sec * 1000 +
				     ts.tv_nsec / 1000000);
		shadow_daemon_tick(d, (int64_t)ts.tv_sec * 1000 +
				   ts.tv_nsec / 1000000);
	}
}

static void run(struct daemon *d)
{
	uint64_t watchdog_ms = notify_watchdog_ms();
	int64_t period = watchdog_ms && watchdog_ms / 3 < 1000 ?
			 (int64_t)watchdog_ms / 3 : 1000;
	struct pollfd pfd[CONTROL_POLLFDS + 2];
	struct control *ctl = control_open(d, d->control_fd);
	int64_t next = daemon_mono_ms() + period;
	sigset_t none;

	if (!ctl)
		log_warn("control socket: not served");
	sigemptyset(&none);
	while (!got_stop) {
		/* No client is waited on: the poll sleeps until the tick or
		 * the first connection's deadline, whichever comes first. */
		int64_t due = control_pollfds(ctl, pfd, daemon_mono_ms());
		int64_t wait = (due < next ? due : next) - daemon_mono_ms();
		struct timespec timeout = {
			.tv_sec = wait > 0 ? wait / 1000 : 0,
			.tv_nsec = wait > 0 ? (wait % 1000) * 1000000 : 0,
		};

		/* The other gateways' records: applied as they come. */
		pfd[CONTROL_POLLFDS].fd = shared_fd(d);
		pfd[CONTROL_POLLFDS + 1].fd = shared_hook_fd(d);
		for (int i = CONTROL_POLLFDS; i < CONTROL_POLLFDS + 2; i++) {
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		/* Signals are blocked everywhere but here, so they wake us. */
		if (ppoll(pfd, CONTROL_POLLFDS + 2, &timeout, &none) >= 0) {
			control_dispatch(ctl, pfd, daemon_mono_ms());
			if (pfd[CONTROL_POLLFDS].revents & POLLIN)
				shared_apply(d);
			/* This gateway's own quarantines, to publish. */
			if (pfd[CONTROL_POLLFDS + 1].revents & POLLIN)
				shared_hook_drain(d);
		}
		if (daemon_mono_ms() >= next) {
			tick(d, watchdog_ms);
			next = daemon_mono_ms() + period;
		}
		/* A quarantined subscriber's address moved: the kernel's set
		 * follows now, not at the next tick (an innocent new holder
		 * of the old address must not wait a second). */
		if (d->kq_dirty) {
			d->kq_dirty = false;
			kernel_sync_quarantine(d);
		}
		if (got_hup) {
			got_hup = 0;
			notify_reloading();
			daemon_reload(d, NULL);
			notify_ready("reloaded");
		}
		if (got_usr1) {
			got_usr1 = 0;
			if (d->blocklog)
				blocklog_reopen(d->blocklog);
		}
	}
	control_close(ctl);
}

/* Leave root, keeping CAP_NET_ADMIN, before any verdict thread starts:
 * they inherit the main thread's capabilities. */
static int drop_privileges(struct daemon *d)
{
	const struct policy_log *lc = policy_log_config(daemon_policy(d));
	/* The state folder and its files too: the sessions' snapshot and
	 * the exceptions are written anew (a temporary file renamed) and
	 * the journal reopened after the drop. */
	char sdir[4096], snap[4200], jour[4200], exc[4200], clu[4200] = "";
	const char *paths[] = { sdir, snap, jour, exc, clu,
				d->opts.control_path,
				d->blocklog ? lc->blocks : NULL, NULL };
	char err[256];
	int r;

	/* The folder as the operator named it may be a link (to another
	 * disk); what is inside it never. */
	if (!realpath(d->opts.state_dir, sdir))
		snprintf(sdir, sizeof(sdir), "%s", d->opts.state_dir);
	snprintf(snap, sizeof(snap), "%s/sessions", sdir);
	snprintf(jour, sizeof(jour), "%s/sessions.journal", sdir);
	snprintf(exc, sizeof(exc), "%s/exceptions.yaml", sdir);
	if (policy_cluster(daemon_policy(d))->enabled)
		snprintf(clu, sizeof(clu), "%s/cluster.%s", sdir,
			 policy_cluster(daemon_policy(d))->bucket);

	if (!strcmp(d->opts.user, "root"))
		return 0;
	r = privdrop(d->opts.user, paths, err, sizeof(err));
	if (r == 0) {
		log_info("running as %s with CAP_NET_ADMIN only (CAP_NET_RAW "
			 "for the firewall tools it runs)", d->opts.user);
		if (access(d->opts.policy_path, R_OK) < 0)
			log_warnx("%s cannot read %s (%s): reloads and live "
				  "exceptions will fail until it can",
				  d->opts.user, d->opts.policy_path,
				  strerror(errno));
	}
	if (r >= 0)
		return 0;
	if (errno == ENOENT && d->opts.user_default) {
		log_info("%s; staying root (--user names another)", err);
		return 0;
	}
	log_warnx("dropping privileges: %s", err);
	return -1;
}

static struct blocklog *open_blocklog(const struct policy *p, unsigned n)
{
	const struct policy_log *lc = policy_log_config(p);
	struct blocklog_config cfg = {
		.path = lc->blocks,
		.syslog = lc->syslog,
		.facility = lc->syslog_facility,
		.producers = stats_log_producers(n),	/* + the main thread */
	};
	struct blocklog *bl;

	if (!cfg.path && !cfg.syslog)
		return NULL;
	bl = blocklog_open(&cfg);
	if (!bl)
		fatal("block log %s", cfg.path ? cfg.path : "(syslog)");
	return bl;
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, old;
	struct policy *p;
	bool judged;
	int ret = 1;

	parse_opts(&d.opts, argc, argv);
	log_init("portcullisd", d.opts.verbose ? LOG_LEVEL_DEBUG
					       : LOG_LEVEL_INFO, false);
	d.control_fd = -1;
	d.started = time(NULL);
	if (except_load_state(&d) < 0)
		return 1;
	atomic_store(&d.nex_live, d.nex);
	p = daemon_load(d.opts.policy_path, d.ex, d.nex, NULL);
	if (!p) {
		free(d.ex);
		return 1;
	}
	pthread_mutex_init(&d.generation_lock, NULL);
	pthread_mutex_init(&d.cluster_lock, NULL);
	d.hook.fd = -1;
	if (shared_hook_init(&d) < 0)
		fatal("the cluster's hook");
	d.nworkers = 2 * d.opts.queues;
	if (daemon_swap(&d, p) < 0)
		fatal("policy");
	d.loaded = d.started;
	d.loads = 1;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* What takes time (the subscriber table is faulted in) comes before
	 * the queues: from their bind to the verdict threads' start, SYNs
	 * wait in the kernel. */
	d.blocklog = open_blocklog(p, d.nworkers);
	{
		struct stats_config sc = { 0 };

		stats_config_from_policy(&sc, p);
		sc.threads = d.nworkers;
		sc.on_quarantine = shared_quarantined;
		sc.hook_ctx = &d;
		d.stats = stats_open(&sc, d.blocklog);
		if (!d.stats) {
			log_warn("subscriber table (%zu subscribers)",
				 sc.max_subscribers);
			goto out;
		}
	}
	if (session_open(&d) < 0)
		goto out;
	/* Queues before anything of the firewall: a second daemon stops
	 * here, before it could touch the first one's rules. */
	if (open_queues(&d) < 0)
		goto out;
	d.control_fd = control_listen(d.opts.control_path);
	if (d.control_fd < 0) {
		log_warn("control socket %s%s", d.opts.control_path,
			 errno == EADDRINUSE ? " (another portcullisd answers "
			 "there)" : "");
		goto out;
	}
	pid_file(&d, true);
	if (strcmp(d.opts.metrics, "off")) {
		char err[256];

		d.metrics = metrics_start(&d, d.opts.metrics, err, sizeof(err));
		if (!d.metrics) {
			log_warnx("%s", err);
			goto out;
		}
	}
	/* Last of what may fail: a start that fails before this leaves
	 * the kernel as it found it (the fallback, or a crashed run's
	 * queue rules); one that fails after puts the fallback back. */
	if (kernel_start(&d, p) < 0)
		goto out;
	if (drop_privileges(&d) < 0)
		goto out;
	/* The cluster's quarantines as the state folder kept them, before
	 * the first verdict: NATS may not answer for a while. */
	shared_open(&d);
	shared_apply(&d);
	for (unsigned i = 0; i < d.nworkers; i++)
		if (worker_start(&d.workers[i]) < 0) {
			log_warn("verdict thread %u", i);
			goto out;
		}
	log_info("ready: %u queue%s (%u-%u fail closed, %u-%u fail open), "
		 "%s, %zu IPv4 and %zu IPv6 entries, rules %s",
		 d.nworkers, d.nworkers == 1 ? "" : "s", 0, d.opts.queues - 1,
		 d.opts.queues, d.nworkers - 1,
		 policy_mode(p) == POLICY_MODE_MONITOR ? "monitor mode"
						       : "enforcing",
		 policy_entry_count(p, AF_INET), policy_entry_count(p, AF_INET6),
		 d.opts.no_rules ? "left to the operator" :
		 d.opts.backend == RULES_NFT ? "installed (nft)" :
					       "installed (iptables)");
	/* The policy's log.syslog: what the start said went to stderr,
	 * where whoever started it looks; from here on, to syslog. */
	log_syslog(policy_log_config(p)->syslog);
	notify_ready("judging SYNs");
	run(&d);
	notify_stopping();
	log_info("stopping");
	ret = 0;
out:
	/* The fallback first, so no SYN waits on a queue nobody reads;
	 * then the verdict threads judge what was queued before it. */
	kernel_stop(&d);
	drain(&d);
	/* Only a daemon that judged has verdicts to sum up. */
	judged = d.workers && d.workers[0].started;
	/* nworkers is set before the workers exist (the generation needs
	 * it): a start that fails earlier has none to stop. */
	for (unsigned i = 0; d.workers && i < d.nworkers; i++)
		worker_stop(&d.workers[i]);
	/* Its queue and revision saved; no verdict thread calls it now. */
	shared_hook_drain(&d);
	shared_close(&d);
	if (d.stats) {
		struct timespec ts;

		/* What the open block-log windows held back is said. */
		clock_gettime(CLOCK_REALTIME, &ts);
		stats_flush(d.stats, (int64_t)ts.tv_sec * 1000 +
				     ts.tv_nsec / 1000000);
	}
	{
		struct timespec ts;

		/* What the shadow's windows held back is said too. */
		clock_gettime(CLOCK_REALTIME, &ts);
		shadow_daemon_stop(&d, (int64_t)ts.tv_sec * 1000 +
				   ts.tv_nsec / 1000000);
	}
	metrics_stop(d.metrics);
	session_flush(&d);
	if (judged)
		counters_line(&d);
	for (unsigned i = 0; d.workers && i < d.nworkers; i++)
		queue_close(d.workers[i].q);
	free(d.workers);
	if (d.control_fd >= 0) {
		close(d.control_fd);
		unlink(d.opts.control_path);
		pid_file(&d, false);
	}
	stats_close(d.stats);
	/* After the verdict threads: nothing reads the table any more. */
	session_close(&d);
	blocklog_close(d.blocklog);
	policy_ruleset_free(&d.rules);
	free(d.ex);
	generation_free(atomic_load(&d.generation));
	generation_totals_free(&d.retired);
	generation_totals_free(&d.kq_totals);
	shared_hook_free(&d);
	cluster_library_close();
	return ret;
}
