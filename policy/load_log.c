// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The policy's log: section: the block log's path, syslog and the block
 * lines' facility, and how many block lines a subscriber may cause.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "walk.h"

static const struct facility {
	const char *name;
	int value;
} facilities[] = {
	{ "kern", LOG_KERN }, { "user", LOG_USER }, { "mail", LOG_MAIL },
	{ "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },
	{ "syslog", LOG_SYSLOG }, { "lpr", LOG_LPR }, { "news", LOG_NEWS },
	{ "uucp", LOG_UUCP }, { "cron", LOG_CRON },
	{ "authpriv", LOG_AUTHPRIV }, { "ftp", LOG_FTP },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static void facility_parse(struct walk *w, const yaml_node_t *n, int *out)
{
	const size_t nf = sizeof(facilities) / sizeof(facilities[0]);
	char list[256] = "", buf[80];
	size_t i, used = 0;

	if (!node_want_scalar(w, n, "log.syslog_facility"))
		return;
	for (i = 0; i < nf; i++) {
		if (!strcmp(node_text(n), facilities[i].name)) {
			*out = facilities[i].value;
			return;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", i ? ", " : "",
					 facilities[i].name);
	}
	node_error(w, n, "unknown syslog_facility %s; expected one of: %s",
		   node_found(n, buf, sizeof(buf)), list);
}

/* per_subscriber: N/s, N/min or N/h, or 0 for unlimited. */
static void rate_parse(struct walk *w, const yaml_node_t *r,
		       struct policy_log *log)
{
	const char *v = node_text(r), *slash = strchr(v, '/');
	char num[16], buf[80];
	unsigned per = 0;
	uint64_t n;
	int pr = -1;

	if (slash && (size_t)(slash - v) < sizeof(num)) {
		memcpy(num, v, (size_t)(slash - v));
		num[slash - v] = '\0';
		if (!strcmp(slash + 1, "s"))
			per = 1;
		else if (!strcmp(slash + 1, "min"))
			per = 60;
		else if (!strcmp(slash + 1, "h"))
			per = 3600;
	} else if (!slash && strlen(v) < sizeof(num)) {
		strcpy(num, v);
		per = 1;	/* only 0 is valid without a unit */
	}
	if (per)
		pr = node_uint_parse(num, 1000000, &n);
	if (pr == -2 && slash) {
		node_error(w, r, "per_subscriber must be a rate like 10/min "
			   "without a leading zero, found %s; write %llu%s",
			   node_raw(r, buf, sizeof(buf)),
			   (unsigned long long)n, slash);
	} else if (pr < 0 || (!slash && n != 0)) {
		node_error(w, r, "per_subscriber must be a rate like 10/min "
			   "(N/s, N/min or N/h, N from 0 to 1000000; 0 for "
			   "unlimited), found %s",
			   node_raw(r, buf, sizeof(buf)));
	} else {
		log->per_subscriber = (unsigned)n;
		log->per_subscriber_s = n ? per : 0;
	}
}

void walk_log(struct walk *w, yaml_node_t *m)
{
	enum { BLOCKS, SYSLOG, FACILITY, PER_SUB };
	static const char *const keys[] = { "blocks", "syslog",
					    "syslog_facility",
					    "per_subscriber" };
	struct policy *p = w->l->p;
	struct fields f;

	if (!node_fields(w, m, "log", keys, 4, &f))
		return;
	if (f.val[BLOCKS] && node_want_scalar(w, f.val[BLOCKS], "log.blocks")) {
		yaml_node_t *b = f.val[BLOCKS];

		if (node_is_null(b)) {
			node_error(w, b, "log.blocks: expected a path, found "
				   "nothing");
		} else {
			p->log_blocks = strdup(node_text(b));
			if (!p->log_blocks)
				load_oom(w->l);
			p->log.blocks = p->log_blocks;
		}
	}
	if (f.val[SYSLOG] && node_want_scalar(w, f.val[SYSLOG], "log.syslog"))
		node_bool(w, f.val[SYSLOG], "syslog", &p->log.syslog);
	if (f.val[FACILITY])
		facility_parse(w, f.val[FACILITY], &p->log.syslog_facility);
	if (f.val[PER_SUB] &&
	    node_want_scalar(w, f.val[PER_SUB], "log.per_subscriber"))
		rate_parse(w, f.val[PER_SUB], &p->log);
}
