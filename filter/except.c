// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "common/rfc3339.h"
#include "common/subid.h"
#include "filter/daemon.h"
#include "filter/cmdargs.h"
#include "filter/cluster.h"
#include "filter/except.h"
#include "filter/reply_json.h"

#define STATE_FILE "exceptions.yaml"
#define EXCEPTIONS_MAX 100000

static void state_path(const struct daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/" STATE_FILE, d->opts.state_dir);
}

int except_load_state(struct daemon *d)
{
	struct policy_errors errs = { 0 };
	char path[4096];

	state_path(d, path, sizeof(path));
	if (policy_exceptions_load(path, &d->ex, &d->nex, &errs) == 0) {
		policy_errors_free(&errs);
		return 0;
	}
	for (size_t i = 0; i < errs.count; i++)
		log_warnx("%s", errs.msg[i]);
	log_warnx("%s: the live exceptions cannot be read; fix or remove "
		  "the file", path);
	policy_errors_free(&errs);
	return -1;
}

static void audit_from(struct daemon *d, uint8_t op,
		       const struct policy_exception *e, const char *gateway)
{
	struct blocklog_event ev = {
		.kind = BLOCKLOG_EXCEPT,
		.op = op,
		.ts_ms = (int64_t)time(NULL) * 1000,
		.until = e->expires,
	};

	if (!d->blocklog)
		return;
	snprintf(ev.prefix, sizeof(ev.prefix), "%s", e->prefix);
	snprintf(ev.subscriber, sizeof(ev.subscriber), "%s", e->subscriber);
	snprintf(ev.profile, sizeof(ev.profile), "%s", e->profile);
	snprintf(ev.note, sizeof(ev.note), "%s", e->note);
	snprintf(ev.gateway, sizeof(ev.gateway), "%s", gateway ? gateway : "");
	/* The main thread's own ring is the last one. */
	blocklog_push(d->blocklog, d->nworkers, &ev);
}

static void audit(struct daemon *d, uint8_t op,
		  const struct policy_exception *e)
{
	audit_from(d, op, e, NULL);
}

/*
 * Make ex[0 .. nex) (owned by the caller until this succeeds, then by d)
 * the live exceptions: rebuild, save, swap. On failure d is unchanged.
 */
static int commit(struct daemon *d, struct policy_exception *ex, size_t nex,
		  struct strbuf *out)
{
	char path[4096];

	state_path(d, path, sizeof(path));
	/* Load first: an exception the policy refuses is never saved. */
	if (daemon_rebuild(d, ex, nex, out) < 0) {
		strbuf_printf(out, "the change was not made\n");
		return -1;
	}
	if ((mkdir(d->opts.state_dir, 0750) < 0 && errno != EEXIST) ||
	    policy_exceptions_save(path, ex, nex) < 0) {
		int err = errno;

		strbuf_printf(out, "%s: %s; the change was not made\n", path,
			      strerror(err));
		log_warnx("%s: %s", path, strerror(err));
		/* Back to what the state file still says. */
		if (daemon_rebuild(d, d->ex, d->nex, NULL) == 0)
			shadow_exceptions(d, d->ex, d->nex);
		return -1;
	}
	/* The shadow decides with the same live exceptions: they are no
	 * disagreement. */
	shadow_exceptions(d, ex, nex);
	free(d->ex);
	d->ex = ex;
	d->nex = nex;
	atomic_store(&d->nex_live, nex);
	return 0;
}

/* The exception of ex[0 .. n) for prefix, or (sub) for subscriber id
 * key. */
static long find_in(const struct policy_exception *ex, size_t n,
		    const char *key, bool sub)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(sub ? ex[i].subscriber : ex[i].prefix, key) &&
		    (sub || !ex[i].subscriber[0]))
			return (long)i;
	return -1;
}

static long find(const struct daemon *d, const char *key, bool sub)
{
	return find_in(d->ex, d->nex, key, sub);
}

/* What an exception is for, for messages. */
static const char *ex_name(const struct policy_exception *e, char *buf,
			   size_t len)
{
	if (e->subscriber[0])
		snprintf(buf, len, "subscriber %s", e->subscriber);
	else
		snprintf(buf, len, "%s", e->prefix);
	return buf;
}

/* --subscriber ID's value, checked, into e. Returns 0, or -1 with the
 * line into out. */
static int set_subscriber(struct policy_exception *e, const char *val,
			  struct strbuf *out)
{
	char why[200];

	if (subid_check(val, strlen(val), why, sizeof(why)) < 0) {
		strbuf_printf(out, "--subscriber: %s\n", why);
		return -1;
	}
	snprintf(e->subscriber, sizeof(e->subscriber), "%s", val);
	return 0;
}


static struct policy_exception *copy_with_room(const struct daemon *d)
{
	struct policy_exception *ex = calloc(d->nex + 1, sizeof(*ex));

	if (ex && d->nex)
		memcpy(ex, d->ex, d->nex * sizeof(*ex));
	return ex;
}

/* argv[0] is "add", as the subcommands' below. */
static int cmd_add(struct daemon *d, int argc, char **argv,
		   struct strbuf *out)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "for", required_argument, NULL, 'f' },
		{ "until", required_argument, NULL, 'u' },
		{ "note", required_argument, NULL, 'n' },
		{ "subscriber", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct policy_exception e = { .added = time(NULL) }, *ex;
	char name[200];
	char canon[256], when[32];
	size_t nex = d->nex;
	bool expiry = false;
	long at;
	int c;

	optind = 0;		/* glibc: start afresh */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		const char *val = optarg;

		switch (c) {
		case 'p':
			snprintf(e.profile, sizeof(e.profile), "%s", val);
			break;
		case 's':
			if (set_subscriber(&e, val, out) < 0)
				return 1;
			break;
		case 'n': {
			/* UTF-8 text without controls: it goes into JSON
			 * lines, the state file and terminals. */
			char why[192];

			if (policy_note_check(val, strlen(val), why,
					      sizeof(why)) < 0) {
				strbuf_printf(out, "--note: %s\n", why);
				return 1;
			}
			snprintf(e.note, sizeof(e.note), "%s", val);
			break;
		}
		case 'f':
		case 'u':
			if (cmdargs_expiry("except add", c, val, e.added,
					   &e.expires, &expiry, out) < 0)
				return 1;
			break;
		default:
			cmdargs_bad_option(out, "except add", c, argv);
			return 1;
		}
	}
	if (e.subscriber[0]) {
		if (cmdargs_operands(argc, argv, 0, 0, "except add", "", out) < 0)
			return 1;
	} else {
		if (cmdargs_operands(argc, argv, 1, 1, "except add",
				     "PREFIX or --subscriber ID", out) < 0)
			return 1;
		if (policy_prefix_normalize(argv[optind], canon,
					    sizeof(canon)) < 0) {
			strbuf_printf(out, "%s\n", canon);
			return 1;
		}
		/* A prefix normalised fits its 64 bytes; the 256 are for
		 * errors. */
		memcpy(e.prefix, canon, strnlen(canon, sizeof(e.prefix) - 1));
		e.prefix[strnlen(canon, sizeof(e.prefix) - 1)] = '\0';
	}
	if (!e.profile[0]) {
		strbuf_printf(out, "except add: missing --profile NAME\n");
		return 1;
	}
	at = e.subscriber[0] ? find(d, e.subscriber, true) :
			       find(d, e.prefix, false);
	if (at < 0 && d->nex >= EXCEPTIONS_MAX) {
		strbuf_printf(out, "already %d live exceptions; put them in "
			      "the policy file\n", EXCEPTIONS_MAX);
		return 1;
	}
	ex = copy_with_room(d);
	if (!ex) {
		strbuf_printf(out, "out of memory\n");
		return 1;
	}
	if (at >= 0)
		ex[at] = e;
	else
		ex[nex++] = e;
	if (commit(d, ex, nex, out) < 0) {
		free(ex);
		return 1;
	}
	audit(d, BLOCKLOG_EXCEPT_ADD, &e);
	shared_except(d, false, &e);
	strbuf_printf(out, "%s %s: profile %s, %s%s%s%s\n",
		      at >= 0 ? "replaced" : "added",
		      ex_name(&e, name, sizeof(name)), e.profile,
		      e.expires ? "until " : "no expiry",
		      e.expires ? rfc3339_format(e.expires, when,
						 sizeof(when)) : "",
		      e.note[0] ? ", note: " : "", e.note);
	return 0;
}

static int cmd_del(struct daemon *d, int argc, char **argv,
		   struct strbuf *out)
{
	static const struct option opts[] = {
		{ "subscriber", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct policy_exception *ex, gone, key = { 0 };
	char canon[256], name[200];
	long at;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c != 's') {
			cmdargs_bad_option(out, "except del", c, argv);
			return 1;
		}
		if (set_subscriber(&key, optarg, out) < 0)
			return 1;
	}
	if (key.subscriber[0]) {
		if (cmdargs_operands(argc, argv, 0, 0, "except del", "", out) < 0)
			return 1;
		at = find(d, key.subscriber, true);
	} else {
		if (cmdargs_operands(argc, argv, 1, 1, "except del",
				     "PREFIX or --subscriber ID", out) < 0)
			return 1;
		if (policy_prefix_normalize(argv[optind], canon,
					    sizeof(canon)) < 0) {
			strbuf_printf(out, "%s\n", canon);
			return 1;
		}
		snprintf(key.prefix, sizeof(key.prefix), "%.63s", canon);
		at = find(d, key.prefix, false);
	}
	if (at < 0) {
		strbuf_printf(out, "no live exception for %s\n",
			      ex_name(&key, name, sizeof(name)));
		return 1;
	}
	gone = d->ex[at];
	ex = copy_with_room(d);
	if (!ex) {
		strbuf_printf(out, "out of memory\n");
		return 1;
	}
	memmove(&ex[at], &ex[at + 1], (d->nex - (size_t)at - 1) * sizeof(*ex));
	if (commit(d, ex, d->nex - 1, out) < 0) {
		free(ex);
		return 1;
	}
	audit(d, BLOCKLOG_EXCEPT_DEL, &gone);
	shared_except(d, true, &gone);
	strbuf_printf(out, "deleted %s\n", ex_name(&gone, name, sizeof(name)));
	return 0;
}

/* The live exceptions as a JSON array: expires null when never. */
static int list_json(const struct daemon *d, struct strbuf *out)
{
	struct json_object *arr = json_object_new_array();
	char t[32];

	for (size_t i = 0; i < d->nex; i++) {
		const struct policy_exception *e = &d->ex[i];
		struct json_object *j = json_object_new_object();

		if (e->subscriber[0])
			reply_json_str(j, "subscriber", e->subscriber);
		else
			reply_json_str(j, "prefix", e->prefix);
		reply_json_str(j, "profile", e->profile);
		reply_json_str(j, "added",
			       rfc3339_format(e->added, t, sizeof(t)));
		reply_json_str(j, "expires", e->expires ?
			       rfc3339_format(e->expires, t, sizeof(t)) :
			       NULL);
		reply_json_str(j, "note", e->note);
		reply_json_push(arr, j);
	}
	return reply_json_write(out, arr) < 0;
}

static int cmd_list(struct daemon *d, int argc, char **argv,
		    struct strbuf *out)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	char added[32], until[32];
	bool json = false;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c != 'j') {
			cmdargs_bad_option(out, "except list", c, argv);
			return 1;
		}
		json = true;
	}
	if (cmdargs_operands(argc, argv, 0, 0, "except list", "", out) < 0)
		return 1;

	if (json)
		return list_json(d, out);
	if (!d->nex)
		strbuf_printf(out, "no live exceptions\n");
	else
		strbuf_printf(out, "%-24s %-14s %-21s %-21s %s\n",
			      "PREFIX|SUBSCRIBER",
			      "PROFILE", "ADDED", "EXPIRES", "NOTE");
	for (size_t i = 0; i < d->nex; i++) {
		const struct policy_exception *e = &d->ex[i];

		rfc3339_format(e->added, added, sizeof(added));
		if (e->expires)
			rfc3339_format(e->expires, until, sizeof(until));
		else
			strcpy(until, "never");
		strbuf_printf(out, "%-24s %-14s %-21s %-21s %s\n",
			      e->subscriber[0] ? e->subscriber : e->prefix,
			      e->profile, added, until, e->note);
	}
	return 0;
}

int except_command(struct daemon *d, int argc, char **argv,
		   struct strbuf *out)
{
	if (argc < 2) {
		strbuf_printf(out, "except: missing add, del, list or "
			      "history\n");
		return 1;
	}
	if (!strcmp(argv[1], "add"))
		return cmd_add(d, argc - 1, argv + 1, out) ? 1 : 0;
	if (!strcmp(argv[1], "del"))
		return cmd_del(d, argc - 1, argv + 1, out) ? 1 : 0;
	if (!strcmp(argv[1], "list"))
		return cmd_list(d, argc - 1, argv + 1, out);
	if (!strcmp(argv[1], "history"))
		return shared_history_command(d, argc - 1, argv + 1, out);
	strbuf_printf(out, "except: unknown command '%s'; expected add, del, "
		      "list or history\n", argv[1]);
	return 1;
}

void except_expire(struct daemon *d, int64_t now)
{
	struct policy_exception *ex;
	size_t n = 0;
	bool any = false;

	for (size_t i = 0; i < d->nex; i++)
		any |= d->ex[i].expires && d->ex[i].expires <= now;
	if (!any || !(ex = copy_with_room(d)))
		return;
	for (size_t i = 0; i < d->nex; i++)
		if (!d->ex[i].expires || d->ex[i].expires > now)
			ex[n++] = d->ex[i];
	{
		struct policy_exception *old = copy_with_room(d);
		size_t nold = d->nex;
		struct strbuf err = { 0 };

		if (!old || commit(d, ex, n, &err) < 0) {
			/* The table already ignores them; try again later. */
			log_warnx("expiring live exceptions: %s",
				  err.s ? err.s : "out of memory");
			free(ex);
			free(old);
			strbuf_free(&err);
			return;
		}
		for (size_t i = 0; i < nold; i++)
			if (old[i].expires && old[i].expires <= now) {
				char name[200];

				log_info("live exception %s (%s) expired",
					 ex_name(&old[i], name, sizeof(name)),
					 old[i].profile);
				audit(d, BLOCKLOG_EXCEPT_EXPIRE, &old[i]);
			}
		free(old);
		strbuf_free(&err);
	}
}

/* One change into ex[0 .. *n) (room for one more). Returns whether it
 * changed anything. */
static bool change_one(struct policy_exception *ex, size_t *n,
		       const struct except_change *c)
{
	bool sub = c->e.subscriber[0] != '\0';
	long at = find_in(ex, *n, sub ? c->e.subscriber : c->e.prefix, sub);

	if (c->del) {
		if (at < 0)
			return false;
		memmove(&ex[at], &ex[at + 1],
			(*n - (size_t)at - 1) * sizeof(*ex));
		--*n;
		return true;
	}
	if (at >= 0) {
		if (!memcmp(&ex[at], &c->e, sizeof(c->e)))
			return false;
		ex[at] = c->e;
		return true;
	}
	if (*n >= EXCEPTIONS_MAX) {
		log_warnx("cluster: already %d live exceptions; %s from %s "
			  "not added", EXCEPTIONS_MAX,
			  sub ? c->e.subscriber : c->e.prefix, c->gateway);
		return false;
	}
	ex[(*n)++] = c->e;
	return true;
}

/* Whether the running policy has a profile of that name. */
static bool has_profile(struct daemon *d, const char *name)
{
	const struct policy *p = daemon_policy(d);
	unsigned n = policy_profile_count(p);

	for (unsigned i = 0; i < n; i++)
		if (!strcmp(policy_profile_name(p, (int)i), name))
			return true;
	return false;
}

void except_apply(struct daemon *d, const struct except_change *c, size_t n)
{
	struct policy_exception *ex = calloc(d->nex + n + 1, sizeof(*ex));
	struct strbuf err = { 0 };
	bool *did = calloc(n + 1, sizeof(*did)), any = false;
	size_t nex = d->nex;
	char name[200];

	if (!ex || !did) {
		log_warnx("cluster: out of memory; %zu exception changes not "
			  "applied", n);
		free(ex);
		free(did);
		return;
	}
	if (nex)
		memcpy(ex, d->ex, nex * sizeof(*ex));
	for (size_t i = 0; i < n; i++) {
		/* Refused before the load, not by it: a failed load is a
		 * whole policy read for nothing, for each record of the
		 * batch (and counted as a failed reload). */
		if (!c[i].del && !has_profile(d, c[i].e.profile)) {
			log_warnx("cluster: exception for %s from %s not "
				  "applied: this policy has no profile %s",
				  ex_name(&c[i].e, name, sizeof(name)),
				  c[i].gateway, c[i].e.profile);
			continue;
		}
		any |= did[i] = change_one(ex, &nex, &c[i]);
	}
	if (!any)
		goto out;
	if (commit(d, ex, nex, &err) < 0) {
		free(ex);
		ex = NULL;
		/* One record the policy refuses (a profile it does not have)
		 * must not keep out the others: halves, until it is alone
		 * (a few rebuilds a bad record, not one a record). */
		if (n > 1) {
			except_apply(d, c, n / 2);
			except_apply(d, c + n / 2, n - n / 2);
		} else {
			log_warnx("cluster: exception for %s from %s not "
				  "applied: %s", ex_name(&c->e, name,
							 sizeof(name)),
				  c->gateway, err.s ? err.s : "");
		}
		goto out;
	}
	ex = NULL;		/* d's now */
	for (size_t i = 0; i < n; i++) {
		if (!did[i])
			continue;
		audit_from(d, c[i].del ? BLOCKLOG_EXCEPT_DEL :
			   BLOCKLOG_EXCEPT_ADD, &c[i].e, c[i].gateway);
		log_info("cluster: exception for %s %s by %s",
			 ex_name(&c[i].e, name, sizeof(name)),
			 c[i].del ? "deleted" : "added", c[i].gateway);
	}
out:
	free(ex);
	free(did);
	strbuf_free(&err);
}
