// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The timeline of portcullis log: lines formatted for a person, and the
 * store that puts them in time order. Files are read in age order and a
 * file is almost in order already, but the writer drains its producers'
 * rings one after another and files may be named in any order: so the
 * matching lines are kept (their text, in one growing arena) and sorted.
 * Memory follows the lines that match; --src and --since narrow it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "blocklog/blocklog.h"
#include "common/rfc3339.h"

struct rec {
	int64_t ts_ms;
	uint64_t seq;			/* order added: equal times keep it */
	size_t off;
	size_t len;
};

struct blocklog_timeline {
	struct rec *recs;
	size_t n, cap;
	char *text;
	size_t used, size;
};

const char *blocklog_ts_format(int64_t ms, char *buf, size_t len)
{
	int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
	char t[40];
	size_t n;

	rfc3339_format(sec, t, sizeof(t));
	n = strlen(t);
	snprintf(buf, len, "%.*s.%03dZ", (int)(n - 1), t,
		 (int)(ms - sec * 1000));
	return buf;
}

/* A session line after its kind: "100.64.3.7  start  cust-88412  from
 * kea  expires …", "2001:db8:1:100::/56  stop (moved)  cust-9". */
static size_t format_session(const struct blocklog_line *l, const char *src,
			     char *buf, size_t len)
{
	char until[40];
	size_t w;

	if (l->prefix[0])
		src = l->prefix;
	if (l->state == BLOCKLOG_SESSION_STOP)
		w = (size_t)snprintf(buf, len, "%s  stop (%s)  %s", src,
				     blocklog_session_end_name(l->end),
				     l->subscriber);
	else
		w = (size_t)snprintf(buf, len, "%s  start  %s", src,
				     l->subscriber);
	if (w < len && l->source[0])
		w += (size_t)snprintf(buf + w, len - w, "  from %s",
				      l->source);
	if (w < len && l->state == BLOCKLOG_SESSION_START && l->until)
		w += (size_t)snprintf(buf + w, len - w, "  expires %s",
				      rfc3339_format(l->until, until,
						     sizeof(until)));
	return w;
}

const char *blocklog_line_format(const struct blocklog_line *l, char *buf,
				 size_t len)
{
	char ts[40], src[64], dst[64], until[40];
	size_t w;

	blocklog_ts_format(l->ts_ms, ts, sizeof(ts));
	if (l->has_src)
		addr_format(&l->src, src, sizeof(src));
	w = (size_t)snprintf(buf, len, "%s  %-10s  ", ts,
			     blocklog_kind_name(l->kind));
	if (w >= len)
		return buf;
	switch (l->kind) {
	case BLOCKLOG_BLOCK:
		addr_format(&l->dst, dst, sizeof(dst));
		w += (size_t)snprintf(buf + w, len - w,
				      addr_is_v4(&l->dst) ?
				      "%s → %s:%u  %s  %s  %s%s" :
				      "%s → [%s]:%u  %s  %s  %s%s",
				      src, dst, l->dport,
				      policy_action_name(l->action),
				      l->profile, l->prefix,
				      l->monitor ? "  (monitor: accepted)" :
				      "");
		break;
	case BLOCKLOG_SUMMARY:
		w += (size_t)snprintf(buf + w, len - w,
				      "%s  %llu more blocked SYNs to %llu "
				      "destinations in %us (not logged one "
				      "by one)", src,
				      (unsigned long long)l->count,
				      (unsigned long long)l->distinct,
				      l->window_s);
		break;
	case BLOCKLOG_DETECTION:
		w += (size_t)snprintf(buf + w, len - w,
				      "%s  %llu SYNs to %llu destinations in "
				      "%us", src,
				      (unsigned long long)l->count,
				      (unsigned long long)l->distinct,
				      l->window_s);
		break;
	case BLOCKLOG_QUARANTINE:
		w += (size_t)snprintf(buf + w, len - w,
				      "%s  quarantined until %s (%llu SYNs "
				      "to %llu destinations)", src,
				      rfc3339_format(l->until, until,
						     sizeof(until)),
				      (unsigned long long)l->count,
				      (unsigned long long)l->distinct);
		break;
	case BLOCKLOG_RELEASE:
		w += (size_t)snprintf(buf + w, len - w, "%s  released%s%s%s",
				      src, l->has_reason ? " (" : "",
				      l->has_reason ?
				      blocklog_release_name(l->reason) : "",
				      l->has_reason ? ")" : "");
		break;
	case BLOCKLOG_EXCEPT:
		w += (size_t)snprintf(buf + w, len - w, "%s %s  profile %s",
				      blocklog_except_op_name(l->op),
				      l->prefix, l->profile);
		if (w < len && l->until)
			w += (size_t)snprintf(buf + w, len - w, "  until %s",
					      rfc3339_format(l->until,
						until, sizeof(until)));
		if (w < len && l->note[0])
			w += (size_t)snprintf(buf + w, len - w, "  \"%s\"",
					      l->note);
		break;
	case BLOCKLOG_FALLBACK: {
		char since[40];

		w += (size_t)snprintf(buf + w, len - w, "no daemon from %s to "
				      "%s: the kernel rejected %llu SYNs, "
				      "dropped %llu, accepted %llu",
				      rfc3339_format(l->since, since,
						     sizeof(since)),
				      rfc3339_format(l->until, until,
						     sizeof(until)),
				      (unsigned long long)
				      l->fallback[POLICY_REJECT],
				      (unsigned long long)
				      l->fallback[POLICY_DROP],
				      (unsigned long long)
				      l->fallback[POLICY_ACCEPT]);
		break;
	}
	case BLOCKLOG_SESSION:
		w += format_session(l, src, buf + w, len - w);
		break;
	case BLOCKLOG_SHADOW:
		addr_format(&l->dst, dst, sizeof(dst));
		w += (size_t)snprintf(buf + w, len - w,
				      addr_is_v4(&l->dst) ?
				      "%s → %s:%u  %s (%s%s%s), shadow %s "
				      "(%s%s%s)" :
				      "%s → [%s]:%u  %s (%s%s%s), shadow %s "
				      "(%s%s%s)", src, dst, l->dport,
				      policy_action_name(l->action),
				      l->profile[0] ? l->profile : "none",
				      l->prefix[0] ? " " : "", l->prefix,
				      policy_action_name(l->shadow_action),
				      l->shadow_profile[0] ?
				      l->shadow_profile : "none",
				      l->shadow_prefix[0] ? " " : "",
				      l->shadow_prefix);
		break;
	case BLOCKLOG_SHADOW_SUMMARY:
		w += (size_t)snprintf(buf + w, len - w,
				      "%s  %llu more disagreements in %us "
				      "(not logged one by one): %llu would "
				      "block, %llu would pass, %llu would "
				      "change", src,
				      (unsigned long long)(l->shadow[0] +
							   l->shadow[1] +
							   l->shadow[2]),
				      l->window_s,
				      (unsigned long long)l->shadow[0],
				      (unsigned long long)l->shadow[1],
				      (unsigned long long)l->shadow[2]);
		break;
	}
	if (w < len && l->subscriber[0] && l->kind != BLOCKLOG_SESSION)
		w += (size_t)snprintf(buf + w, len - w, "  subscriber %s",
				      l->subscriber);
	if (w < len && l->gateway[0])
		w += (size_t)snprintf(buf + w, len - w, "  by %s", l->gateway);
	if (w < len && l->lost)
		snprintf(buf + w, len - w, "  [%llu lines lost before this]",
			 (unsigned long long)l->lost);
	return buf;
}

struct blocklog_timeline *blocklog_timeline_new(void)
{
	return calloc(1, sizeof(struct blocklog_timeline));
}

void blocklog_timeline_free(struct blocklog_timeline *t)
{
	if (!t)
		return;
	free(t->recs);
	free(t->text);
	free(t);
}

int blocklog_timeline_add(struct blocklog_timeline *t, int64_t ts_ms,
			  const char *text, size_t len)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct rec *r = realloc(t->recs, cap * sizeof(*r));

		if (!r)
			return -1;
		t->recs = r;
		t->cap = cap;
	}
	if (t->used + len > t->size) {
		size_t size = t->size ? t->size * 2 : 64 * 1024;
		char *x;

		while (size < t->used + len)
			size *= 2;
		x = realloc(t->text, size);
		if (!x)
			return -1;
		t->text = x;
		t->size = size;
	}
	memcpy(t->text + t->used, text, len);
	t->recs[t->n] = (struct rec){ ts_ms, t->n, t->used, len };
	t->n++;
	t->used += len;
	return 0;
}

static int cmp_rec(const void *x, const void *y)
{
	const struct rec *a = x, *b = y;

	if (a->ts_ms != b->ts_ms)
		return a->ts_ms < b->ts_ms ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

size_t blocklog_timeline_print(struct blocklog_timeline *t, FILE *f)
{
	if (t->n)
		qsort(t->recs, t->n, sizeof(*t->recs), cmp_rec);
	for (size_t i = 0; i < t->n; i++) {
		fwrite(t->text + t->recs[i].off, 1, t->recs[i].len, f);
		fputc('\n', f);
	}
	return t->n;
}
