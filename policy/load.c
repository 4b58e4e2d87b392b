// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy_load(): the YAML policy (DESIGN.md, version 1) walked section by
 * section into a fresh struct policy. Every problem is reported with its
 * position and the walk goes on, so one run shows all of them; a policy
 * with any error is freed whole and never returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <yaml.h>

#include "load.h"

#define MAX_KEYS 16
#define MAX_PROFILES 65535
#define MAX_ALIAS_ERRORS 10	/* anchors, aliases and tags named */

struct walk {
	struct loader *l;
	yaml_document_t *doc;
};

/* A mapping's values by allowed key, and where each key was written. */
struct fields {
	yaml_node_t *val[MAX_KEYS];
	yaml_node_t *key[MAX_KEYS];
};

static const char *sv(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static uint32_t line0(const yaml_node_t *n)
{
	return (uint32_t)n->start_mark.line;
}

static uint32_t col0(const yaml_node_t *n)
{
	return (uint32_t)n->start_mark.column;
}

static bool is_null(const yaml_node_t *n)
{
	const char *v = sv(n);

	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || !strcmp(v, "~") || !strcasecmp(v, "null"));
}

/* What a node is, for "expected X, found Y". */
static const char *found(const yaml_node_t *n, char *buf, size_t size)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		if (is_null(n))
			return "nothing";
		snprintf(buf, size, "\"%.60s%s\"", sv(n),
			 strlen(sv(n)) > 60 ? "..." : "");
		return buf;
	default:
		return "nothing";
	}
}

/* The scalar as written, for "found 0" after a bound. */
static const char *raw(const yaml_node_t *n, char *buf, size_t size)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return found(n, buf, size);
	snprintf(buf, size, "%.60s%s", sv(n), strlen(sv(n)) > 60 ? "..." : "");
	return buf;
}

static yaml_node_t *node(struct walk *w, int i)
{
	return yaml_document_get_node(w->doc, i);
}

static bool want(struct walk *w, const yaml_node_t *n, yaml_node_type_t t,
		 const char *what)
{
	static const char *const names[] = {
		[YAML_SCALAR_NODE] = "a scalar",
		[YAML_SEQUENCE_NODE] = "a sequence",
		[YAML_MAPPING_NODE] = "a mapping",
	};
	char buf[80];

	if (n->type == t)
		return true;
	load_error(w->l, line0(n), col0(n), "%s: expected %s, found %s", what,
		   names[t], found(n, buf, sizeof(buf)));
	return false;
}

/* A scalar value; a mapping or sequence is reported. */
static bool want_scalar(struct walk *w, const yaml_node_t *n,
			const char *what)
{
	return want(w, n, YAML_SCALAR_NODE, what);
}

/*
 * Sort the pairs of mapping m into f by the allowed keys; report keys
 * that are no scalars, unknown or given twice. Returns false if m is no
 * mapping.
 */
static bool map_fields(struct walk *w, yaml_node_t *m, const char *where,
		       const char *const *keys, size_t nkeys, struct fields *f)
{
	yaml_node_pair_t *pr;
	char buf[80];

	memset(f, 0, sizeof(*f));
	if (!want(w, m, YAML_MAPPING_NODE, where))
		return false;
	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node(w, pr->key), *v = node(w, pr->value);
		size_t i;

		if (k->type != YAML_SCALAR_NODE) {
			load_error(w->l, line0(k), col0(k), "%s: keys must be "
				   "scalars, found %s", where,
				   found(k, buf, sizeof(buf)));
			continue;
		}
		for (i = 0; i < nkeys; i++)
			if (!strcmp(sv(k), keys[i]))
				break;
		if (i == nkeys) {
			char list[256] = "";
			size_t j;

			for (j = 0; j < nkeys; j++) {
				strcat(list, keys[j]);
				if (j + 1 < nkeys)
					strcat(list, ", ");
			}
			load_error(w->l, line0(k), col0(k), "unknown key \"%.60s"
				   "\" in %s; expected one of: %s", sv(k), where,
				   list);
			continue;
		}
		if (f->key[i]) {
			load_error(w->l, line0(k), col0(k), "duplicate key \"%s\""
				   " in %s; first given at line %u, column %u",
				   keys[i], where, line0(f->key[i]) + 1,
				   col0(f->key[i]) + 1);
			continue;
		}
		f->key[i] = k;
		f->val[i] = v;
	}
	return true;
}

/*
 * Decimal digits only. Returns 0; -1 when not a number or above max; -2,
 * with the value in *out, for a leading zero: YAML 1.1 tools (PyYAML,
 * yq, Ansible) read 025 as octal 21, so it means two things.
 */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	const char *d = s;
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *d; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		v = v * 10 + (uint64_t)(*d - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return s[0] == '0' && s[1] ? -2 : 0;
}

/* An integer key within [min, max]. Returns 0, or -1 reported. */
static int uint_field(struct walk *w, const yaml_node_t *n, const char *name,
		      unsigned min, unsigned max, unsigned *out)
{
	char buf[80], octal[80];
	uint64_t v;
	int r;

	if (!want_scalar(w, n, name))
		return -1;
	r = parse_uint(sv(n), max, &v);
	if (r == -2 && v >= min) {
		load_error(w->l, line0(n), col0(n), "%s must be an integer from "
			   "%u to %u without a leading zero, found %s%s; write "
			   "%llu", name, min, max, raw(n, buf, sizeof(buf)),
			   text_octal_note(sv(n), strlen(sv(n)), octal,
					   sizeof(octal)),
			   (unsigned long long)v);
		return -1;
	}
	if (r < 0 || v < min) {
		load_error(w->l, line0(n), col0(n), "%s must be an integer from "
			   "%u to %u, found %s", name, min, max,
			   raw(n, buf, sizeof(buf)));
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

static int port_parse(struct walk *w, const yaml_node_t *n, uint16_t *port)
{
	unsigned v;

	if (uint_field(w, n, "port", 1, 65535, &v) < 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static const char *dur_text(unsigned s, char *buf, size_t size)
{
	if (s % 86400 == 0)
		snprintf(buf, size, "%ud", s / 86400);
	else if (s % 3600 == 0)
		snprintf(buf, size, "%uh", s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, size, "%um", s / 60);
	else
		snprintf(buf, size, "%us", s);
	return buf;
}

/* A duration (integer and s, m, h or d) within [min, max] seconds. */
static int duration_field(struct walk *w, const yaml_node_t *n,
			  const char *name, unsigned min, unsigned max,
			  unsigned *out)
{
	char buf[80], lo[16], hi[16], num[24];
	uint64_t v, mult;
	size_t len;
	int r;

	if (!want_scalar(w, n, name))
		return -1;
	len = strlen(sv(n));
	if (len < 2 || len > sizeof(num))
		goto bad;
	switch (sv(n)[len - 1]) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		goto bad;
	}
	memcpy(num, sv(n), len - 1);
	num[len - 1] = '\0';
	r = parse_uint(num, UINT32_MAX, &v);
	if (r == -1 || v * mult < min || v * mult > max)
		goto bad;
	if (r == -2) {
		load_error(w->l, line0(n), col0(n), "%s must be a duration from "
			   "%s to %s (an integer and s, m, h or d) without a "
			   "leading zero, found %s; write %llu%c", name,
			   dur_text(min, lo, sizeof(lo)),
			   dur_text(max, hi, sizeof(hi)),
			   raw(n, buf, sizeof(buf)), (unsigned long long)v,
			   sv(n)[len - 1]);
		return -1;
	}
	*out = (unsigned)(v * mult);
	return 0;
bad:
	load_error(w->l, line0(n), col0(n), "%s must be a duration from %s to "
		   "%s (an integer and s, m, h or d), found %s", name,
		   dur_text(min, lo, sizeof(lo)), dur_text(max, hi, sizeof(hi)),
		   raw(n, buf, sizeof(buf)));
	return -1;
}

static int action_parse(struct walk *w, const yaml_node_t *n,
			enum policy_action *a)
{
	char buf[80];

	if (!want_scalar(w, n, "action"))
		return -1;
	if (!strcmp(sv(n), "accept"))
		*a = POLICY_ACCEPT;
	else if (!strcmp(sv(n), "drop"))
		*a = POLICY_DROP;
	else if (!strcmp(sv(n), "reject"))
		*a = POLICY_REJECT;
	else {
		load_error(w->l, line0(n), col0(n), "unknown action %s; "
			   "expected accept, drop or reject",
			   found(n, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

/* The profile named by n: its index, or -1 reported. */
static int profile_find(struct walk *w, const yaml_node_t *n,
			const char *what)
{
	const struct policy *p = w->l->p;
	char list[512] = "", buf[80];
	size_t used = 0;
	unsigned i;

	if (!want_scalar(w, n, what))
		return -1;
	for (i = 0; i < p->nprofiles; i++)
		if (!strcmp(p->profiles[i].name, sv(n)))
			return (int)i;
	for (i = 0; i < p->nprofiles && used + 4 < sizeof(list); i++) {
		int r = snprintf(list + used, sizeof(list) - used, "%s%s",
				 i ? ", " : "", p->profiles[i].name);

		if (r < 0 || (size_t)r >= sizeof(list) - used) {
			strcpy(list + sizeof(list) - 5, "...");
			break;
		}
		used += (size_t)r;
	}
	load_error(w->l, line0(n), col0(n), "unknown %s %s; %s%s", what,
		   found(n, buf, sizeof(buf)),
		   p->nprofiles ? "defined profiles: " : "no profiles are defined",
		   list);
	return -1;
}

struct port_action {
	uint16_t port;
	uint8_t action;
	const yaml_node_t *key;
};

static int port_cmp(const void *a, const void *b)
{
	const struct port_action *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->key->start_mark.index < y->key->start_mark.index ? -1 : 1;
}

static void walk_ports(struct walk *w, yaml_node_t *m, const char *where,
		       struct profile *pr)
{
	size_t n = (size_t)(m->data.mapping.pairs.top -
			    m->data.mapping.pairs.start), i, k = 0, run;
	struct port_action *pa;

	pa = calloc(n ? n : 1, sizeof(*pa));
	pr->ports = calloc(n ? n : 1, sizeof(*pr->ports));
	pr->actions = calloc(n ? n : 1, sizeof(*pr->actions));
	if (!pa || !pr->ports || !pr->actions) {
		free(pa);
		load_oom(w->l);
		return;
	}
	for (i = 0; i < n; i++) {
		yaml_node_pair_t *pp = &m->data.mapping.pairs.start[i];
		yaml_node_t *kn = node(w, pp->key), *vn = node(w, pp->value);
		enum policy_action a;
		uint16_t port;
		int bad;

		bad = port_parse(w, kn, &port);
		bad |= action_parse(w, vn, &a);
		if (bad)
			continue;
		pa[k].port = port;
		pa[k].action = (uint8_t)a;
		pa[k].key = kn;
		k++;
	}
	qsort(pa, k, sizeof(*pa), port_cmp);
	for (i = 0, run = 0; i < k; i++) {
		if (i && pa[i].port == pa[run].port) {
			const yaml_node_t *kn = pa[i].key;

			load_error(w->l, line0(kn), col0(kn), "duplicate key "
				   "\"%s\" in %s; first given at line %u, "
				   "column %u", sv(kn), where,
				   line0(pa[run].key) + 1,
				   col0(pa[run].key) + 1);
			continue;
		}
		run = i;
		pr->ports[pr->nports] = pa[i].port;
		pr->actions[pr->nports] = pa[i].action;
		pr->nports++;
	}
	free(pa);
}

struct name_at {
	const char *name;
	size_t at;			/* the pair's index */
};

static int name_at_cmp(const void *a, const void *b)
{
	const struct name_at *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->at > y->at) - (x->at < y->at);
}

/*
 * For each pair of mapping m whose key repeats an earlier one, the index
 * of the earlier pair in first[], else SIZE_MAX. Sorted rather than
 * compared pair by pair: 65535 profiles are allowed. Returns first
 * (malloc'd), or NULL when out of memory.
 */
static size_t *repeated_keys(struct walk *w, yaml_node_t *m, size_t n)
{
	struct name_at *na = calloc(n ? n : 1, sizeof(*na));
	size_t *first = malloc((n ? n : 1) * sizeof(*first));
	size_t i, k = 0;

	if (!na || !first) {
		free(na);
		free(first);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		yaml_node_t *kn = node(w, m->data.mapping.pairs.start[i].key);

		first[i] = SIZE_MAX;
		if (kn->type == YAML_SCALAR_NODE && *sv(kn))
			na[k++] = (struct name_at){ sv(kn), i };
	}
	qsort(na, k, sizeof(*na), name_at_cmp);
	for (i = 1; i < k; i++)
		if (!strcmp(na[i].name, na[i - 1].name))
			first[na[i].at] = first[na[i - 1].at] != SIZE_MAX ?
					  first[na[i - 1].at] : na[i - 1].at;
	free(na);
	return first;
}

static void walk_profiles(struct walk *w, yaml_node_t *m)
{
	static const char *const keys[] = { "ports", "default" };
	struct policy *p = w->l->p;
	size_t n, i, *first;

	if (!want(w, m, YAML_MAPPING_NODE, "profiles"))
		return;
	n = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
	if (n > MAX_PROFILES) {
		load_error(w->l, line0(m), col0(m), "profiles: at most %u "
			   "profiles, found %zu", MAX_PROFILES, n);
		return;
	}
	p->profiles = calloc(n ? n : 1, sizeof(*p->profiles));
	first = repeated_keys(w, m, n);
	if (!p->profiles || !first) {
		free(first);
		load_oom(w->l);
		return;
	}
	for (i = 0; i < n; i++) {
		yaml_node_pair_t *pp = &m->data.mapping.pairs.start[i];
		yaml_node_t *kn = node(w, pp->key), *vn = node(w, pp->value);
		struct profile *pr;
		struct fields f;
		char where[128];

		if (!want_scalar(w, kn, "profile name"))
			continue;
		if (first[i] != SIZE_MAX) {
			yaml_node_t *q = node(w, m->data.mapping.pairs
						  .start[first[i]].key);

			load_error(w->l, line0(kn), col0(kn), "duplicate key "
				   "\"%.60s\" in profiles; first given at line "
				   "%u, column %u", sv(kn), line0(q) + 1,
				   col0(q) + 1);
			continue;
		}
		if (!*sv(kn)) {
			load_error(w->l, line0(kn), col0(kn), "a profile needs "
				   "a name");
			continue;
		}
		pr = &p->profiles[p->nprofiles++];
		pr->name = strdup(sv(kn));
		if (!pr->name) {
			load_oom(w->l);
			continue;
		}
		pr->def = POLICY_ACCEPT;
		snprintf(where, sizeof(where), "profile \"%.60s\"", pr->name);
		if (!map_fields(w, vn, where, keys, 2, &f))
			continue;
		if (f.val[0]) {
			snprintf(where, sizeof(where), "profiles.%.60s.ports",
				 pr->name);
			if (want(w, f.val[0], YAML_MAPPING_NODE, where))
				walk_ports(w, f.val[0], where, pr);
		}
		if (f.val[1])
			action_parse(w, f.val[1], &pr->def);
	}
	free(first);
}

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
		if (policy_time_parse(t, &x) == 0)
			return "expires needs a T between the date and the "
			       "time";
	}
	snprintf(t, sizeof(t), "%sZ", s);
	if (policy_time_parse(t, &x) == 0)
		return "expires needs a time zone: Z for UTC or an offset "
		       "like +01:00";
	/* Right form, wrong values: the same with every digit of a date
	 * that exists parses. */
	for (i = 0; s[i] && i < sizeof(form) - 1; i++)
		if (s[i] >= '0' && s[i] <= '9' && form[i] >= '0' &&
		    form[i] <= '9')
			t[i] = form[i];
	t[strlen(s)] = '\0';
	if (policy_time_parse(t, &x) == 0)
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

	if (!map_fields(w, m, "subscriber entry", keys, 5, &f))
		return;
	if (!!f.val[PREFIX] == !!f.val[FILE_])
		load_error(l, line0(m), col0(m), "subscriber entry needs "
			   "exactly one of prefix and file, found %s",
			   f.val[PREFIX] ? "both" : "neither");
	if (!f.val[PROFILE])
		load_error(l, line0(m), col0(m), "subscriber entry needs a "
			   "profile");
	else if ((profile = profile_find(w, f.val[PROFILE], "profile")) < 0)
		profile = 0;	/* reported; go on to find more */
	if (f.val[EXPIRES] && want_scalar(w, f.val[EXPIRES], "expires")) {
		yaml_node_t *e = f.val[EXPIRES];

		if (policy_time_parse(sv(e), &expires) < 0)
			load_error(l, line0(e), col0(e), "%s, found %s",
				   expires_problem(sv(e)),
				   raw(e, buf, sizeof(buf)));
		else if (expires < 1 || expires > UINT32_MAX)
			load_error(l, line0(e), col0(e), "expires must be "
				   "from 1970-01-01T00:00:01Z to "
				   "2106-02-07T06:28:15Z, found %s",
				   raw(e, buf, sizeof(buf)));
	}
	if (f.val[NOTE] && want_scalar(w, f.val[NOTE], "note")) {
		if (!is_null(f.val[NOTE])) {
			note = strdup(sv(f.val[NOTE]));
			if (!note)
				load_oom(l);
		}
	}
	if (f.val[PREFIX] && !f.val[FILE_] &&
	    want_scalar(w, f.val[PREFIX], "prefix")) {
		yaml_node_t *pn = f.val[PREFIX];
		const char *s = sv(pn);
		enum prefix_result r;
		struct policy_addr a;
		uint8_t len;
		int64_t meta;
		bool v4;

		r = prefix_parse(s, strlen(s), &a, &len, &v4);
		if (r != PREFIX_OK) {
			prefix_report(l, r, s, strlen(s), &a, len, v4,
				      line0(pn), col0(pn), NULL, 0, 0);
			free(note);
			return;
		}
		meta = meta_add(l, note, 0, line0(pn) + 1, line0(pn),
				col0(pn));
		if (meta >= 0)
			entry_add(l, v4, &a, len, (uint16_t)profile,
				  (uint32_t)expires, (uint32_t)meta,
				  line0(pn) + 1, col0(pn) + 1);
		return;
	}
	if (f.val[FILE_] && !f.val[PREFIX] &&
	    want_scalar(w, f.val[FILE_], "file")) {
		yaml_node_t *fn = f.val[FILE_];
		char *path;

		if (!*sv(fn)) {
			load_error(l, line0(fn), col0(fn), "file: expected a "
				   "path, found nothing");
			free(note);
			return;
		}
		path = resolve(l, sv(fn));
		if (!path) {
			load_oom(l);
			free(note);
			return;
		}
		list_load(l, path, (uint16_t)profile, (uint32_t)expires, note,
			  line0(fn), col0(fn));
		free(path);
		return;
	}
	free(note);
}

static void walk_subscribers(struct walk *w, yaml_node_t *s)
{
	yaml_node_item_t *it;

	if (!want(w, s, YAML_SEQUENCE_NODE, "subscribers"))
		return;
	for (it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++)
		walk_subscriber(w, node(w, *it));
}

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct policy_addr));
}

static void walk_relays(struct walk *w, yaml_node_t *s)
{
	struct policy *p = w->l->p;
	yaml_node_item_t *it;
	size_t n, i, k;
	char buf[80];

	if (!want(w, s, YAML_SEQUENCE_NODE, "relays"))
		return;
	n = (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
	p->relays = calloc(n ? n : 1, sizeof(*p->relays));
	if (!p->relays) {
		load_oom(w->l);
		return;
	}
	for (it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++) {
		yaml_node_t *r = node(w, *it);

		if (!want_scalar(w, r, "relay"))
			continue;
		if (policy_addr_parse(sv(r), &p->relays[p->nrelays]) < 0) {
			load_error(w->l, line0(r), col0(r), "relay must be an "
				   "IPv4 or IPv6 address, found %s",
				   found(r, buf, sizeof(buf)));
			continue;
		}
		p->nrelays++;
	}
	qsort(p->relays, p->nrelays, sizeof(*p->relays), addr_cmp);
	for (i = k = 0; i < p->nrelays; i++)
		if (!k || memcmp(&p->relays[k - 1], &p->relays[i],
				 sizeof(p->relays[i])))
			p->relays[k++] = p->relays[i];
	p->nrelays = k;
}

static void walk_detection_ports(struct walk *w, yaml_node_t *s,
				 struct policy_detection *d)
{
	const unsigned max = sizeof(d->ports) / sizeof(d->ports[0]);
	yaml_node_item_t *it;
	unsigned i;

	if (!want(w, s, YAML_SEQUENCE_NODE, "detection.ports"))
		return;
	d->nports = 0;
	if (s->data.sequence.items.top == s->data.sequence.items.start) {
		load_error(w->l, line0(s), col0(s), "detection.ports must list "
			   "from 1 to %u ports, found none", max);
		return;
	}
	for (it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++) {
		yaml_node_t *pn = node(w, *it);
		uint16_t port;

		if (port_parse(w, pn, &port) < 0)
			continue;
		for (i = 0; i < d->nports; i++)
			if (d->ports[i] == port)
				break;
		if (i < d->nports) {
			load_error(w->l, line0(pn), col0(pn), "port %u is listed "
				   "twice in detection.ports", port);
			continue;
		}
		if (d->nports == max) {
			load_error(w->l, line0(pn), col0(pn), "detection.ports "
				   "must list from 1 to %u ports, found more",
				   max);
			return;
		}
		d->ports[d->nports++] = port;
	}
}

static void walk_detection(struct walk *w, yaml_node_t *m)
{
	enum { PORTS, WINDOW, SYNS, DISTINCT, ACTION, QFOR, PROFILE, V6LEN,
	       MAXSUB };
	static const char *const keys[] = {
		"ports", "window", "syns", "distinct_destinations", "action",
		"quarantine_for", "profile", "ipv6_prefix", "max_subscribers",
	};
	struct policy_detection *d = &w->l->p->detection;
	struct fields f;
	char buf[80];

	if (!map_fields(w, m, "detection", keys, 9, &f))
		return;
	d->enabled = true;
	if (f.val[PORTS])
		walk_detection_ports(w, f.val[PORTS], d);
	if (f.val[WINDOW])
		duration_field(w, f.val[WINDOW], "window", 1, 86400,
			       &d->window_s);
	if (f.val[SYNS])
		uint_field(w, f.val[SYNS], "syns", 1, 1000000, &d->syns);
	if (f.val[DISTINCT])
		uint_field(w, f.val[DISTINCT], "distinct_destinations", 1,
			   1000000, &d->distinct_destinations);
	if (f.val[ACTION] && want_scalar(w, f.val[ACTION], "detection.action")) {
		yaml_node_t *a = f.val[ACTION];

		if (!strcmp(sv(a), "quarantine"))
			d->quarantine = true;
		else if (strcmp(sv(a), "log"))
			load_error(w->l, line0(a), col0(a), "unknown detection "
				   "action %s; expected log or quarantine",
				   found(a, buf, sizeof(buf)));
	}
	if (f.val[QFOR])
		duration_field(w, f.val[QFOR], "quarantine_for", 1,
			       30 * 86400, &d->quarantine_for_s);
	if (f.val[PROFILE])
		d->profile = profile_find(w, f.val[PROFILE],
					  "detection profile");
	else if (d->quarantine)
		load_error(w->l, line0(f.key[ACTION]), col0(f.key[ACTION]),
			   "detection action quarantine needs a profile "
			   "(detection.profile)");
	if (f.val[V6LEN])
		uint_field(w, f.val[V6LEN], "ipv6_prefix", 1, 64,
			   &d->ipv6_prefix_len);
	if (f.val[MAXSUB])
		uint_field(w, f.val[MAXSUB], "max_subscribers", 1, 100000000,
			   &d->max_subscribers);
}

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

	if (!want_scalar(w, n, "log.syslog_facility"))
		return;
	for (i = 0; i < nf; i++) {
		if (!strcmp(sv(n), facilities[i].name)) {
			*out = facilities[i].value;
			return;
		}
		used += (size_t)snprintf(list + used, sizeof(list) - used,
					 "%s%s", i ? ", " : "",
					 facilities[i].name);
	}
	load_error(w->l, line0(n), col0(n), "unknown syslog_facility %s; "
		   "expected one of: %s", found(n, buf, sizeof(buf)), list);
}

static void walk_log(struct walk *w, yaml_node_t *m)
{
	enum { BLOCKS, SYSLOG, FACILITY, PER_SUB };
	static const char *const keys[] = { "blocks", "syslog",
					    "syslog_facility",
					    "per_subscriber" };
	struct policy *p = w->l->p;
	struct fields f;
	char buf[80];

	if (!map_fields(w, m, "log", keys, 4, &f))
		return;
	if (f.val[BLOCKS] && want_scalar(w, f.val[BLOCKS], "log.blocks")) {
		yaml_node_t *b = f.val[BLOCKS];

		if (is_null(b)) {
			load_error(w->l, line0(b), col0(b), "log.blocks: "
				   "expected a path, found nothing");
		} else {
			p->log_blocks = strdup(sv(b));
			if (!p->log_blocks)
				load_oom(w->l);
			p->log.blocks = p->log_blocks;
		}
	}
	if (f.val[SYSLOG] && want_scalar(w, f.val[SYSLOG], "log.syslog")) {
		const char *v = sv(f.val[SYSLOG]);

		if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
		    !strcasecmp(v, "on"))
			p->log.syslog = true;
		else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") ||
			 !strcasecmp(v, "off"))
			p->log.syslog = false;
		else
			load_error(w->l, line0(f.val[SYSLOG]),
				   col0(f.val[SYSLOG]), "syslog must be true or "
				   "false, found %s",
				   raw(f.val[SYSLOG], buf, sizeof(buf)));
	}
	if (f.val[FACILITY])
		facility_parse(w, f.val[FACILITY], &p->log.syslog_facility);
	if (f.val[PER_SUB] &&
	    want_scalar(w, f.val[PER_SUB], "log.per_subscriber")) {
		yaml_node_t *r = f.val[PER_SUB];
		const char *v = sv(r), *slash = strchr(v, '/');
		char num[16];
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
			pr = parse_uint(num, 1000000, &n);
		if (pr == -2 && slash) {
			load_error(w->l, line0(r), col0(r), "per_subscriber "
				   "must be a rate like 10/min without a leading "
				   "zero, found %s; write %llu%s",
				   raw(r, buf, sizeof(buf)),
				   (unsigned long long)n, slash);
		} else if (pr < 0 || (!slash && n != 0)) {
			load_error(w->l, line0(r), col0(r), "per_subscriber "
				   "must be a rate like 10/min (N/s, N/min or "
				   "N/h, N from 0 to 1000000; 0 for unlimited), "
				   "found %s", raw(r, buf, sizeof(buf)));
		} else {
			p->log.per_subscriber = (unsigned)n;
			p->log.per_subscriber_s = n ? per : 0;
		}
	}
}

static void walk_root(struct walk *w, yaml_node_t *root)
{
	enum { VERSION, MODE, PROFILES, SUBSCRIBERS, RELAYS, DETECTION, LOG };
	static const char *const keys[] = { "version", "mode", "profiles",
					    "subscribers", "relays",
					    "detection", "log" };
	struct policy *p = w->l->p;
	struct fields f;
	char buf[80];
	uint64_t v;

	if (!root) {
		load_error(w->l, 0, 0, "the policy is empty; expected a "
			   "mapping that starts with version: 1");
		return;
	}
	if (!map_fields(w, root, "the policy", keys, 7, &f))
		return;
	if (!f.val[VERSION]) {
		load_error(w->l, line0(root), col0(root), "version is missing; "
			   "expected version: 1");
	} else if (f.val[VERSION]->type == YAML_SCALAR_NODE &&
		   parse_uint(sv(f.val[VERSION]), 1, &v) == -2 && v == 1) {
		load_error(w->l, line0(f.val[VERSION]), col0(f.val[VERSION]),
			   "version must be 1 without a leading zero, found "
			   "%s; write 1", raw(f.val[VERSION], buf, sizeof(buf)));
	} else if (f.val[VERSION]->type != YAML_SCALAR_NODE ||
		   strcmp(sv(f.val[VERSION]), "1")) {
		load_error(w->l, line0(f.val[VERSION]), col0(f.val[VERSION]),
			   "version must be 1, found %s",
			   raw(f.val[VERSION], buf, sizeof(buf)));
	}
	if (f.val[MODE] && want_scalar(w, f.val[MODE], "mode")) {
		if (!strcmp(sv(f.val[MODE]), "monitor"))
			p->mode = POLICY_MODE_MONITOR;
		else if (strcmp(sv(f.val[MODE]), "enforce"))
			load_error(w->l, line0(f.val[MODE]), col0(f.val[MODE]),
				   "unknown mode %s; expected enforce or "
				   "monitor", found(f.val[MODE], buf,
						    sizeof(buf)));
	}
	/* Profiles first: the other sections name them. */
	if (f.val[PROFILES])
		walk_profiles(w, f.val[PROFILES]);
	if (f.val[SUBSCRIBERS])
		walk_subscribers(w, f.val[SUBSCRIBERS]);
	if (f.val[RELAYS])
		walk_relays(w, f.val[RELAYS]);
	if (f.val[DETECTION])
		walk_detection(w, f.val[DETECTION]);
	if (f.val[LOG])
		walk_log(w, f.val[LOG]);
}

/* The byte at 0-based line and column (counted in characters, as libyaml
 * counts them) of buf, or NUL if there is none. */
static char char_at(const char *buf, size_t len, uint32_t line, uint32_t col)
{
	size_t i;

	for (i = 0; line && i < len; i++)
		if (buf[i] == '\n')
			line--;
	for (; i < len && buf[i] != '\n'; i++) {
		if (((unsigned char)buf[i] & 0xc0) == 0x80)
			continue;	/* inside a UTF-8 sequence */
		if (!col--)
			return buf[i];
	}
	return '\0';
}

/* What an operator likely did, for libyaml's terser problems. */
static const char *syntax_hint(const struct loader *l,
			       const yaml_parser_t *ps, const char *buf,
			       size_t len, uint32_t line, uint32_t col)
{
	const char *problem = ps->problem ? ps->problem : "";
	char c = char_at(buf, len, line, col);

	if (ps->error == YAML_READER_ERROR && strstr(problem, "UTF-8"))
		return l->state ? "; the state file is UTF-8 text"
				: "; a policy is UTF-8 text";
	if (c == '\t' && !strstr(problem, "tab"))
		return "; YAML indents with spaces, not tabs";
	if (c == ':' && !strcmp(problem, "did not find expected node content"))
		return "; quote a value that starts with ':', like \"::/0\"";
	if (!strcmp(problem, "could not find expected ':'") &&
	    col > ps->context_mark.column + 1024)
		return "; a key is at most 1024 characters";
	return "";
}

void load_syntax_error(struct loader *l, const yaml_parser_t *ps,
		       const char *buf, size_t len)
{
	const char *problem = ps->problem ? ps->problem : "unknown problem";
	uint32_t line = (uint32_t)ps->problem_mark.line;
	uint32_t col = (uint32_t)ps->problem_mark.column;

	if (ps->error == YAML_MEMORY_ERROR) {
		load_oom(l);
		return;
	}
	if (ps->error == YAML_READER_ERROR) {
		/* The reader knows only the byte offset. */
		size_t i, off = ps->problem_offset < len ? ps->problem_offset
							 : len;

		line = col = 0;
		for (i = 0; i < off; i++) {
			if (buf[i] == '\n') {
				line++;
				col = 0;
			} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
				col++;	/* a character, not a UTF-8 octet */
			}
		}
	}
	if (ps->context)
		load_error(l, line, col, "YAML syntax error: %s (%s that starts "
			   "at line %u)%s", problem, ps->context,
			   (unsigned)ps->context_mark.line + 1,
			   syntax_hint(l, ps, buf, len, line, col));
	else
		load_error(l, line, col, "YAML syntax error: %s%s", problem,
			   syntax_hint(l, ps, buf, len, line, col));
}

enum extra { EXTRA_ANCHOR, EXTRA_ALIAS, EXTRA_TAG };

struct extras {
	struct loader *l;
	const char *buf;
	size_t len;
	size_t n[3];			/* found, by enum extra */
	size_t hidden[3];		/* of them, not reported */
	size_t shown;
};

/* The byte of buf at mark m (libyaml counts characters, not bytes, and
 * not the byte order mark), or len. */
static size_t mark_byte(const struct extras *x, yaml_mark_t m)
{
	size_t i = x->len >= 3 && !memcmp(x->buf, "\xef\xbb\xbf", 3) ? 3 : 0;
	size_t line = m.line, col = m.column;

	for (; line && i < x->len; i++)
		if (x->buf[i] == '\n')
			line--;
	for (; i < x->len; i++) {
		if (((unsigned char)x->buf[i] & 0xc0) == 0x80)
			continue;	/* inside a UTF-8 sequence */
		if (!col--)
			break;
	}
	return i;
}

/* The mark of the first c at or after m (a tag after an anchor). */
static yaml_mark_t mark_next(const struct extras *x, yaml_mark_t m, char c)
{
	size_t i = mark_byte(x, m);

	for (; i < x->len && x->buf[i] != c; i++) {
		if (x->buf[i] == '\n') {
			m.line++;
			m.column = 0;
		} else if (((unsigned char)x->buf[i] & 0xc0) != 0x80) {
			m.column++;	/* a character, not a UTF-8 octet */
		}
	}
	return m;
}

/* A tag as it is usually written: "!!str" for the standard ones. */
static const char *tag_text(const char *tag, char *buf, size_t size)
{
	static const char std[] = "tag:yaml.org,2002:";

	if (!strncmp(tag, std, sizeof(std) - 1))
		snprintf(buf, size, "!!%.60s", tag + sizeof(std) - 1);
	else if (tag[0] == '!')
		snprintf(buf, size, "%.60s", tag);
	else
		snprintf(buf, size, "!<%.60s>", tag);
	return buf;
}

static void extra_found(struct extras *x, enum extra kind, yaml_mark_t m,
			const yaml_char_t *what)
{
	static const char *const fmt[] = {
		[EXTRA_ANCHOR] = "YAML anchor &%.60s: anchors and aliases are "
				 "not supported; remove the anchor",
		[EXTRA_ALIAS] = "YAML alias *%.60s: anchors and aliases are not "
				"supported; write the value out in full",
		[EXTRA_TAG] = "YAML tag %s: tags are not supported; write the "
			      "plain value without it",
	};
	char buf[80];
	const char *arg = (const char *)what;

	x->n[kind]++;
	if (++x->shown > MAX_ALIAS_ERRORS) {
		x->hidden[kind]++;
		return;
	}
	if (kind == EXTRA_TAG)
		arg = tag_text(arg, buf, sizeof(buf));
	load_error(x->l, (uint32_t)m.line, (uint32_t)m.column, fmt[kind], arg);
}

/* The properties of a node: &anchor and !tag, in either order. */
static void extra_props(struct extras *x, const yaml_event_t *ev,
			const yaml_char_t *anchor, const yaml_char_t *tag)
{
	yaml_mark_t m = ev->start_mark;

	if (anchor)
		extra_found(x, EXTRA_ANCHOR, m, anchor);
	if (tag) {
		size_t at = mark_byte(x, m);

		if (anchor && at < x->len && x->buf[at] == '&')
			m = mark_next(x, m, '!');
		extra_found(x, EXTRA_TAG, m, tag);
	}
}

/*
 * Anchors, aliases and tags are refused. A policy is reviewed line by
 * line: an alias makes one written value count in several places, and an
 * error in it would be reported at the anchor once per use. (libyaml's
 * loader shares aliased nodes, so an alias bomb costs no memory, but
 * refusing also keeps the walk linear in the text.) A tag (!!str,
 * !!python/object:...) changes what a value means to other YAML tools,
 * never to this loader: the value is read as the text it is, and the tag
 * would be a silent difference. Only a text with a '*', '&' or '!' is
 * scanned. Returns the number of aliases found (the walk is skipped
 * then); a syntax error ends the scan and is reported here only in that
 * case (else the load reports it).
 */
static size_t refuse_extras(struct loader *l, const char *buf, size_t len)
{
	struct extras x = { .l = l, .buf = buf, .len = len };
	yaml_parser_t ps;
	yaml_event_t ev;
	bool end = false;

	if (!memchr(buf, '*', len) && !memchr(buf, '&', len) &&
	    !memchr(buf, '!', len))
		return 0;
	if (!yaml_parser_initialize(&ps)) {
		load_oom(l);
		return 0;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);
	while (!end && yaml_parser_parse(&ps, &ev)) {
		switch (ev.type) {
		case YAML_ALIAS_EVENT:
			extra_found(&x, EXTRA_ALIAS, ev.start_mark,
				    ev.data.alias.anchor);
			break;
		case YAML_SCALAR_EVENT:
			extra_props(&x, &ev, ev.data.scalar.anchor,
				    ev.data.scalar.tag);
			break;
		case YAML_SEQUENCE_START_EVENT:
			extra_props(&x, &ev, ev.data.sequence_start.anchor,
				    ev.data.sequence_start.tag);
			break;
		case YAML_MAPPING_START_EVENT:
			extra_props(&x, &ev, ev.data.mapping_start.anchor,
				    ev.data.mapping_start.tag);
			break;
		default:
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	if (!end && x.n[EXTRA_ALIAS])
		load_syntax_error(l, &ps, buf, len);
	if (x.shown > MAX_ALIAS_ERRORS) {
		static const char *const names[] = {
			"", "anchors", "aliases", "anchors and aliases", "tags",
			"anchors and tags", "aliases and tags",
			"anchors, aliases and tags",
		};
		unsigned kinds = 0;

		for (int i = 0; i < 3; i++)
			if (x.hidden[i])
				kinds |= 1u << i;
		load_error_raw(l, UINT32_MAX, 0, 0, "%s: %zu more %s not shown",
			       l->name, x.shown - MAX_ALIAS_ERRORS,
			       names[kinds]);
	}
	yaml_parser_delete(&ps);
	return x.n[EXTRA_ALIAS];
}

/* A "\0" escape puts a NUL inside a scalar: the walk reads C strings and
 * would silently take only what comes before it. */
static void refuse_nuls(struct walk *w)
{
	yaml_node_t *n;
	char buf[80];

	for (n = w->doc->nodes.start; n < w->doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE &&
		    strlen(sv(n)) != n->data.scalar.length)
			load_error(w->l, line0(n), col0(n), "expected text "
				   "without NUL characters, found \\0 after "
				   "%s", found(n, buf, sizeof(buf)));
}

static void policy_defaults(struct policy *p)
{
	struct policy_detection *d = &p->detection;

	p->mode = POLICY_MODE_ENFORCE;
	d->ports[0] = 25;
	d->nports = 1;
	d->window_s = 60;
	d->syns = 100;
	d->distinct_destinations = 20;
	d->quarantine_for_s = 3600;
	d->profile = -1;
	d->ipv6_prefix_len = 64;
	d->max_subscribers = 1000000;
	p->log.syslog_facility = LOG_MAIL;
}

static struct policy *load_buffer(const char *name, const char *dir,
				  const char *buf, size_t len,
				  const struct policy_exception *ex, size_t nex,
				  struct policy_errors *errs)
{
	struct loader l = { .name = name, .dir = dir, .ex = ex, .nex = nex };
	yaml_document_t doc, more;
	yaml_parser_t parser;
	struct policy *p;
	struct walk w;
	char enc[80];

	p = l.p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(name)) || file_add(&l, strdup(name)) < 0) {
		load_oom(&l);
		goto out;
	}
	policy_defaults(p);
	/* libyaml reads UTF-16 too; a policy is UTF-8 (README), and what
	 * was saved by an editor as UTF-16 is best said as such. */
	if (text_encoding_problem(buf, len, enc, sizeof(enc))) {
		load_error(&l, 0, 0, "expected UTF-8 text, found %s; save the "
			   "policy as UTF-8", enc);
		goto out;
	}
	if (refuse_extras(&l, buf, len))
		goto out;
	if (!yaml_parser_initialize(&parser)) {
		load_oom(&l);
		goto out;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		load_syntax_error(&l, &parser, buf, len);
		yaml_parser_delete(&parser);
		goto out;
	}
	w.l = &l;
	w.doc = &doc;
	refuse_nuls(&w);
	walk_root(&w, yaml_document_get_root_node(&doc));
	if (!yaml_parser_load(&parser, &more)) {
		load_syntax_error(&l, &parser, buf, len);
	} else {
		yaml_node_t *r = yaml_document_get_root_node(&more);

		if (r)
			load_error(&l, line0(r), col0(r), "a second YAML "
				   "document; a policy is one document");
		yaml_document_delete(&more);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (!l.oom)
		entries_finish(&l);
out:
	entries_free(&l);
	if (l.nerrs || l.oom) {
		load_errors_flush(&l, errs);
		policy_free(p);
		return NULL;
	}
	free(l.errs);
	return p;
}

struct policy *policy_load_buffer(const char *name, const char *dir,
				  const char *buf, size_t len,
				  struct policy_errors *errs)
{
	return load_buffer(name, dir, buf, len, NULL, 0, errs);
}

/* "dir/name" → "dir", "/name" → "/", "name" → NULL. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return NULL;
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

struct policy *policy_load(const char *path, struct policy_errors *errs)
{
	return policy_load_ex(path, NULL, 0, errs);
}

struct policy *policy_load_ex(const char *path,
			      const struct policy_exception *ex, size_t nex,
			      struct policy_errors *errs)
{
	struct loader l = { .name = path };
	struct policy *p = NULL;
	char *buf = NULL, *dir = NULL;
	size_t cap = 0, len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *b = realloc(buf, cap ? 2 * cap : 65536);

			if (!b)
				goto fail;
			buf = b;
			cap = cap ? 2 * cap : 65536;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	fd = -1;
	dir = dir_of(path);
	if (strchr(path, '/') && !dir) {
		errno = ENOMEM;
		goto fail;
	}
	p = load_buffer(path, dir, buf, len, ex, nex, errs);
	free(buf);
	free(dir);
	return p;
fail:
	load_error_nopos(&l, "cannot read: %s", strerror(errno));
	load_errors_flush(&l, errs);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(dir);
	return NULL;
}
