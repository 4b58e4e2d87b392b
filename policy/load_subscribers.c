// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The policy's subscribers: section. Each entry is a prefix or a `file:`
 * list of them, with a profile, and optionally a note and a time from
 * which it no longer matches; the entries go to entries.c (or list.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rfc3339.h"
#include "walk.h"

/* A list's path: relative to the policy's folder. NULL when out of
 * memory. */
static char *resolve(const struct loader *l, const char *file)
{
	char *s;

	if (file[0] == '/' || !l->dir)
		return strdup(file);
	if (asprintf(&s, "%s/%s", l->dir, file) < 0)
		return NULL;
	return s;
}

/* Why s is no RFC 3339 time, in the words of the message: a missing
 * zone and a date that does not exist are said as such. */
static const char *expires_problem(const char *s)
{
	static const char form[] = "2000-01-01T00:00:00";
	char t[64];
	int64_t x;
	size_t i;

	if (strlen(s) + 2 > sizeof(t))
		goto other;
	snprintf(t, sizeof(t), "%s", s);
	if (strlen(t) > 10 && t[10] == ' ') {
		t[10] = 'T';
		if (rfc3339_parse(t, &x) == 0)
			return "expires needs a T between the date and the "
			       "time";
	}
	snprintf(t, sizeof(t), "%sZ", s);
	if (rfc3339_parse(t, &x) == 0)
		return "expires needs a time zone: Z for UTC or an offset "
		       "like +01:00";
	/* Right form, wrong values: the same with every digit of a date
	 * that exists parses. */
	for (i = 0; s[i] && i < sizeof(form) - 1; i++)
		if (s[i] >= '0' && s[i] <= '9' && form[i] >= '0' &&
		    form[i] <= '9')
			t[i] = form[i];
	t[strlen(s)] = '\0';
	if (rfc3339_parse(t, &x) == 0)
		return "expires must be a date and time that exist";
other:
	return "expires must be an RFC 3339 time like 2027-03-01T00:00:00Z";
}

static void walk_subscriber(struct walk *w, yaml_node_t *m)
{
	enum { PREFIX, FILE_, PROFILE, NOTE, EXPIRES };
	static const char *const keys[] = { "prefix", "file", "profile", "note",
					    "expires" };
	struct loader *l = w->l;
	int profile = 0;
	int64_t expires = 0;
	char *note = NULL;
	struct fields f;
	char buf[80];

	if (!node_fields(w, m, "subscriber entry", keys, 5, &f))
		return;
	if (!!f.val[PREFIX] == !!f.val[FILE_])
		node_error(w, m, "subscriber entry needs exactly one of prefix "
			   "and file, found %s",
			   f.val[PREFIX] ? "both" : "neither");
	if (!f.val[PROFILE])
		node_error(w, m, "subscriber entry needs a profile");
	else if ((profile = profile_find(w, f.val[PROFILE], "profile")) < 0)
		profile = 0;	/* reported; go on to find more */
	if (f.val[EXPIRES] && node_want_scalar(w, f.val[EXPIRES], "expires")) {
		yaml_node_t *e = f.val[EXPIRES];

		if (rfc3339_parse(node_text(e), &expires) < 0)
			node_error(w, e, "%s, found %s",
				   expires_problem(node_text(e)),
				   node_raw(e, buf, sizeof(buf)));
		else if (expires < 1 || expires > UINT32_MAX)
			node_error(w, e, "expires must be from "
				   "1970-01-01T00:00:01Z to "
				   "2106-02-07T06:28:15Z, found %s",
				   node_raw(e, buf, sizeof(buf)));
	}
	if (f.val[NOTE] && node_want_scalar(w, f.val[NOTE], "note")) {
		if (!node_is_null(f.val[NOTE])) {
			note = strdup(node_text(f.val[NOTE]));
			if (!note)
				load_oom(l);
		}
	}
	if (f.val[PREFIX] && !f.val[FILE_] &&
	    node_want_scalar(w, f.val[PREFIX], "prefix")) {
		yaml_node_t *pn = f.val[PREFIX];
		const char *s = node_text(pn);
		enum prefix_result r;
		struct addr a;
		uint8_t len;
		int64_t meta;
		bool v4;

		r = prefix_parse(s, strlen(s), &a, &len, &v4);
		if (r != PREFIX_OK) {
			prefix_report(l, r, s, strlen(s), &a, len, v4,
				      node_line0(pn), node_col0(pn), NULL, 0,
				      0);
			free(note);
			return;
		}
		meta = meta_add(l, note, 0, node_line0(pn) + 1, node_line0(pn),
				node_col0(pn));
		if (meta >= 0)
			entry_add(l, v4, &a, len, (uint16_t)profile,
				  (uint32_t)expires, (uint32_t)meta,
				  node_line0(pn) + 1, node_col0(pn) + 1);
		return;
	}
	if (f.val[FILE_] && !f.val[PREFIX] &&
	    node_want_scalar(w, f.val[FILE_], "file")) {
		yaml_node_t *fn = f.val[FILE_];
		char *path;

		if (!*node_text(fn)) {
			node_error(w, fn, "file: expected a path, found "
				   "nothing");
			free(note);
			return;
		}
		path = resolve(l, node_text(fn));
		if (!path) {
			load_oom(l);
			free(note);
			return;
		}
		list_load(l, path, (uint16_t)profile, (uint32_t)expires, note,
			  node_line0(fn), node_col0(fn));
		free(path);
		return;
	}
	free(note);
}

void walk_subscribers(struct walk *w, yaml_node_t *s)
{
	yaml_node_item_t *it;

	if (!node_want(w, s, YAML_SEQUENCE_NODE, "subscribers"))
		return;
	for (it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++)
		walk_subscriber(w, node_get(w, *it));
}
