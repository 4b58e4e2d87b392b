// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The names of the block log's events, except ops, release reasons,
 * session states and ends: one table each, from which the writer writes
 * and the reader reads; and what a subscriber id is.
 */
#include <string.h>

#include "blocklog/schema.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kind_names[] = {
	[BLOCKLOG_BLOCK] = "block",
	[BLOCKLOG_SUMMARY] = "summary",
	[BLOCKLOG_QUARANTINE] = "quarantine",
	[BLOCKLOG_RELEASE] = "release",
	[BLOCKLOG_DETECTION] = "detection",
	[BLOCKLOG_EXCEPT] = "except",
	[BLOCKLOG_FALLBACK] = "fallback",
	[BLOCKLOG_SESSION] = "session",
	[BLOCKLOG_SHADOW] = "shadow",
	[BLOCKLOG_SHADOW_SUMMARY] = "shadow_summary",
};

static const char *const dir_names[] = {
	[BLOCKLOG_SHADOW_BLOCK] = "would_block",
	[BLOCKLOG_SHADOW_PASS] = "would_pass",
	[BLOCKLOG_SHADOW_CHANGE] = "would_change",
};

static const char *const op_names[] = {
	[BLOCKLOG_EXCEPT_ADD] = "add",
	[BLOCKLOG_EXCEPT_DEL] = "del",
	[BLOCKLOG_EXCEPT_EXPIRE] = "expire",
};

static const char *const release_names[] = {
	[BLOCKLOG_RELEASE_EXPIRED] = "expired",
	[BLOCKLOG_RELEASE_MANUAL] = "manual",
	[BLOCKLOG_RELEASE_CLUSTER] = "cluster",
};

static const char *const state_names[] = {
	[BLOCKLOG_SESSION_START] = "start",
	[BLOCKLOG_SESSION_STOP] = "stop",
};

static const char *const end_names[] = {
	[BLOCKLOG_SESSION_STOPPED] = "stopped",
	[BLOCKLOG_SESSION_EXPIRED] = "expired",
	[BLOCKLOG_SESSION_MOVED] = "moved",
};

_Static_assert(COUNT(kind_names) == BLOCKLOG_KINDS,
	       "every event kind has its name");
_Static_assert(COUNT(dir_names) == BLOCKLOG_SHADOW_DIRS,
	       "every shadow direction has its name");
_Static_assert(COUNT(op_names) == BLOCKLOG_EXCEPT_EXPIRE + 1,
	       "every except op has its name");
_Static_assert(COUNT(release_names) == BLOCKLOG_RELEASE_CLUSTER + 1,
	       "every release reason has its name");
_Static_assert(COUNT(state_names) == BLOCKLOG_SESSION_STOP + 1,
	       "every session state has its name");
_Static_assert(COUNT(end_names) == BLOCKLOG_SESSION_MOVED + 1,
	       "every session end has its name");

/* s's index in names[0 .. n), or -1. */
static int find(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

const char *blocklog_kind_name(enum blocklog_kind k)
{
	return (unsigned)k < COUNT(kind_names) ? kind_names[k] : "unknown";
}

const char *blocklog_except_op_name(enum blocklog_except_op op)
{
	return op_names[(unsigned)op < COUNT(op_names) ? op : 0];
}

const char *blocklog_release_name(enum blocklog_release r)
{
	return release_names[(unsigned)r < COUNT(release_names) ? r : 0];
}

const char *blocklog_session_state_name(enum blocklog_session_state s)
{
	return state_names[(unsigned)s < COUNT(state_names) ? s : 0];
}

const char *blocklog_session_end_name(enum blocklog_session_end e)
{
	return end_names[(unsigned)e < COUNT(end_names) ? e : 0];
}

const char *blocklog_shadow_dir_name(enum blocklog_shadow_dir d)
{
	return dir_names[(unsigned)d < COUNT(dir_names) ? d : 0];
}

bool blocklog_subscriber_valid(const char *s)
{
	size_t n = strnlen(s, BLOCKLOG_SUBSCRIBER_MAX + 1);

	if (!n || n > BLOCKLOG_SUBSCRIBER_MAX || s[0] == ' ' ||
	    s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

int blocklog_kind_find(const char *s, enum blocklog_kind *out)
{
	int i = find(kind_names, COUNT(kind_names), s);

	if (i < 0)
		return -1;
	*out = (enum blocklog_kind)i;
	return 0;
}

int blocklog_except_op_find(const char *s, enum blocklog_except_op *out)
{
	int i = find(op_names, COUNT(op_names), s);

	if (i < 0)
		return -1;
	*out = (enum blocklog_except_op)i;
	return 0;
}

int blocklog_release_find(const char *s, enum blocklog_release *out)
{
	int i = find(release_names, COUNT(release_names), s);

	if (i < 0)
		return -1;
	*out = (enum blocklog_release)i;
	return 0;
}

int blocklog_session_state_find(const char *s,
				enum blocklog_session_state *out)
{
	int i = find(state_names, COUNT(state_names), s);

	if (i < 0)
		return -1;
	*out = (enum blocklog_session_state)i;
	return 0;
}

int blocklog_session_end_find(const char *s, enum blocklog_session_end *out)
{
	int i = find(end_names, COUNT(end_names), s);

	if (i < 0)
		return -1;
	*out = (enum blocklog_session_end)i;
	return 0;
}

bool blocklog_gateway_valid(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}
