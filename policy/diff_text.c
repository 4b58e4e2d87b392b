// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A change of policy_diff as one line for a person: the same text from
 * portcullis diff and from the daemon's reload --dry-run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/rfc3339.h"
#include "policy/policy.h"

struct line {
	char *p;
	size_t len, used;
};

static void put(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->used >= l->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->p + l->used, l->len - l->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->used += (size_t)n < l->len - l->used ? (size_t)n :
			   l->len - l->used - 1;
}

/* s with quotes, backslashes and controls escaped as in JSON: a note,
 * a file name or a why cannot break the line or fake another. */
static void put_esc(struct line *l, const char *s)
{
	size_t n = strlen(s);

	while (n) {
		char esc[8];
		size_t elen, k = json_char((const unsigned char *)s, n, esc,
					   &elen);

		if (elen)
			put(l, "%.*s", (int)elen, esc);
		else
			put(l, "%.*s", (int)k, s);
		s += k;
		n -= k;
	}
}

static const char *port_name(int port, char *buf, size_t len)
{
	if (port < 0)
		snprintf(buf, len, "other ports");
	else
		snprintf(buf, len, "port %d", port);
	return buf;
}

/* The file named as policy text is: escaped. */
static void where(struct line *l, const struct policy_entry_info *e)
{
	char w[4200];

	put_esc(l, policy_entry_where(e, w, sizeof(w)));
}

static const char *expiry(int64_t t, char *buf, size_t len)
{
	return t ? rfc3339_format(t, buf, len) : "never";
}

/* "profile P, note "N", expires T" of an entry. */
static void entry_text(struct line *l, const struct policy_entry_info *e)
{
	char t[32];

	put(l, "profile %s", e->profile);
	if (e->note) {
		put(l, ", note \"");
		put_esc(l, e->note);
		put(l, "\"");
	}
	if (e->expires)
		put(l, ", expires %s", expiry(e->expires, t, sizeof(t)));
}

static void changed(struct line *l, const struct policy_diff_item *it)
{
	const struct policy_entry_info *x = &it->old_e, *y = &it->new_e;
	char a[32], b[32];
	const char *sep = "";

	put(l, "entry %s:", it->name);
	if (strcmp(x->profile, y->profile)) {
		put(l, " profile %s → %s", x->profile, y->profile);
		sep = ";";
	}
	if ((x->note == NULL) != (y->note == NULL) ||
	    (x->note && strcmp(x->note, y->note))) {
		put(l, "%s note \"", sep);
		put_esc(l, x->note ? x->note : "");
		put(l, "\" → \"");
		put_esc(l, y->note ? y->note : "");
		put(l, "\"");
		sep = ";";
	}
	if (x->expires != y->expires)
		put(l, "%s expires %s → %s", sep,
		    expiry(x->expires, a, sizeof(a)),
		    expiry(y->expires, b, sizeof(b)));
	put(l, " (old ");
	where(l, x);
	put(l, ", new ");
	where(l, y);
	put(l, ")");
}

const char *policy_diff_format(const struct policy_diff_item *it, char *buf,
			       size_t len)
{
	struct line l = { .p = buf, .len = len };
	char p[32];

	if (!len)
		return buf;
	buf[0] = '\0';
	switch (it->kind) {
	case POLICY_DIFF_MODE:
		put(&l, "mode: %s → %s", it->old_text, it->new_text);
		break;
	case POLICY_DIFF_PROFILE_ADDED:
	case POLICY_DIFF_PROFILE_REMOVED:
		put(&l, "profile %s: %s", it->name,
		    it->kind == POLICY_DIFF_PROFILE_ADDED ? "added" : "removed");
		break;
	case POLICY_DIFF_PROFILE_PORT:
		put(&l, "profile %s %s: %s → %s", it->name,
		    it->port < 0 ? "default" : port_name(it->port, p, sizeof(p)),
		    policy_action_name(it->old_action),
		    policy_action_name(it->new_action));
		break;
	case POLICY_DIFF_RELAY_ADDED:
	case POLICY_DIFF_RELAY_REMOVED:
		put(&l, "relay %s: %s", it->name,
		    it->kind == POLICY_DIFF_RELAY_ADDED ? "added" : "removed");
		break;
	case POLICY_DIFF_DETECTION:
		put(&l, "detection %s: %s → %s", it->name,
		    it->old_text[0] ? it->old_text : "none",
		    it->new_text[0] ? it->new_text : "none");
		break;
	case POLICY_DIFF_ENTRY_ADDED:
		put(&l, "entry %s: added, ", it->name);
		entry_text(&l, &it->new_e);
		put(&l, " (new ");
		where(&l, &it->new_e);
		put(&l, ")");
		break;
	case POLICY_DIFF_ENTRY_REMOVED:
		put(&l, "entry %s: removed, was ", it->name);
		entry_text(&l, &it->old_e);
		put(&l, " (old ");
		where(&l, &it->old_e);
		put(&l, ")");
		break;
	case POLICY_DIFF_ENTRY_CHANGED:
		changed(&l, it);
		break;
	case POLICY_DIFF_RANGE:
		put(&l, "%s %s: %s → %s (", it->name,
		    port_name(it->port, p, sizeof(p)),
		    policy_action_name(it->old_action),
		    policy_action_name(it->new_action));
		put_esc(&l, it->why);
		put(&l, ")");
		break;
	}
	return buf;
}
