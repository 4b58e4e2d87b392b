// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The nodes of a libyaml document as the policy and the state file read
 * them: text and place, what a node is in messages, mappings of known
 * keys, and scalars checked against their bounds. Each problem is
 * reported at the node's position and the caller goes on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/duration.h"
#include "node.h"

bool node_is_null(const yaml_node_t *n)
{
	const char *v = node_text(n);

	return n->type == YAML_SCALAR_NODE &&
	       n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || !strcmp(v, "~") || !strcasecmp(v, "null"));
}

const char *node_found(const yaml_node_t *n, char *buf, size_t size)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_SCALAR_NODE:
		if (node_is_null(n))
			return "nothing";
		snprintf(buf, size, "\"%.60s%s\"", node_text(n),
			 strlen(node_text(n)) > 60 ? "..." : "");
		return buf;
	default:
		return "nothing";
	}
}

const char *node_raw(const yaml_node_t *n, char *buf, size_t size)
{
	if (n->type != YAML_SCALAR_NODE || node_is_null(n))
		return node_found(n, buf, size);
	snprintf(buf, size, "%.60s%s", node_text(n),
		 strlen(node_text(n)) > 60 ? "..." : "");
	return buf;
}

const char *node_kind(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ? "a mapping" :
	       n->type == YAML_SEQUENCE_NODE ? "a sequence" : "a scalar";
}

void node_error(struct walk *w, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	load_verror(w->l, node_line0(n), node_col0(n), fmt, ap);
	va_end(ap);
}

bool node_want(struct walk *w, const yaml_node_t *n, yaml_node_type_t t,
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
	node_error(w, n, "%s: expected %s, found %s", what, names[t],
		   node_found(n, buf, sizeof(buf)));
	return false;
}

bool node_want_scalar(struct walk *w, const yaml_node_t *n, const char *what)
{
	return node_want(w, n, YAML_SCALAR_NODE, what);
}

bool node_fields(struct walk *w, yaml_node_t *m, const char *where,
		 const char *const *keys, size_t nkeys, struct fields *f)
{
	yaml_node_pair_t *pr;
	char buf[80];

	memset(f, 0, sizeof(*f));
	if (!node_want(w, m, YAML_MAPPING_NODE, where))
		return false;
	for (pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = node_get(w, pr->key);
		yaml_node_t *v = node_get(w, pr->value);
		size_t i;

		if (k->type != YAML_SCALAR_NODE) {
			node_error(w, k, "%s: keys must be scalars, found %s",
				   where, node_found(k, buf, sizeof(buf)));
			continue;
		}
		for (i = 0; i < nkeys; i++)
			if (!strcmp(node_text(k), keys[i]))
				break;
		if (i == nkeys) {
			char list[256] = "";
			size_t j;

			for (j = 0; j < nkeys; j++) {
				strcat(list, keys[j]);
				if (j + 1 < nkeys)
					strcat(list, ", ");
			}
			node_error(w, k, "unknown key \"%.60s\" in %s; "
				   "expected one of: %s", node_text(k), where,
				   list);
			continue;
		}
		if (f->key[i]) {
			node_error(w, k, "duplicate key \"%s\" in %s; first "
				   "given at line %u, column %u", keys[i],
				   where,
				   node_line0(f->key[i]) + 1,
				   node_col0(f->key[i]) + 1);
			continue;
		}
		f->key[i] = k;
		f->val[i] = v;
	}
	return true;
}

int node_uint_parse(const char *s, uint64_t max, uint64_t *out)
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

int node_uint(struct walk *w, const yaml_node_t *n, const char *name,
	      unsigned min, unsigned max, unsigned *out)
{
	char buf[80], octal[80];
	uint64_t v;
	int r;

	if (!node_want_scalar(w, n, name))
		return -1;
	r = node_uint_parse(node_text(n), max, &v);
	if (r == -2 && v >= min) {
		node_error(w, n, "%s must be an integer from %u to %u without "
			   "a leading zero, found %s%s; write %llu", name, min,
			   max, node_raw(n, buf, sizeof(buf)),
			   text_octal_note(node_text(n), strlen(node_text(n)),
					   octal, sizeof(octal)),
			   (unsigned long long)v);
		return -1;
	}
	if (r < 0 || v < min) {
		node_error(w, n, "%s must be an integer from %u to %u, found "
			   "%s", name, min, max, node_raw(n, buf, sizeof(buf)));
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int node_port(struct walk *w, const yaml_node_t *n, uint16_t *port)
{
	unsigned v;

	if (node_uint(w, n, "port", 1, 65535, &v) < 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* s with each number's leading zeros dropped: "01h05m" → "1h5m". */
static const char *without_zeros(const char *s, char *buf, size_t size)
{
	size_t n = 0;

	for (const char *p = s; *p && n + 1 < size; p++) {
		if (digit(*p) && (p == s || !digit(p[-1])))
			while (*p == '0' && digit(p[1]))
				p++;
		buf[n++] = *p;
	}
	buf[n] = '\0';
	return buf;
}

int node_duration(struct walk *w, const yaml_node_t *n, const char *name,
		  unsigned min, unsigned max, unsigned *out)
{
	char buf[80], lo[32], hi[32], fix[80];
	uint64_t v;
	int r;

	if (!node_want_scalar(w, n, name))
		return -1;
	r = duration_parse(node_text(n), max, &v);
	if (r == -1 || v < min)
		goto bad;
	if (r == -2) {
		node_error(w, n, "%s must be a duration from %s to %s (%s) "
			   "without a leading zero, found %s; write %s", name,
			   duration_format(min, lo, sizeof(lo)),
			   duration_format(max, hi, sizeof(hi)),
			   DURATION_EXAMPLES, node_raw(n, buf, sizeof(buf)),
			   without_zeros(node_text(n), fix, sizeof(fix)));
		return -1;
	}
	*out = (unsigned)v;
	return 0;
bad:
	node_error(w, n, "%s must be a duration from %s to %s (%s), found %s",
		   name, duration_format(min, lo, sizeof(lo)),
		   duration_format(max, hi, sizeof(hi)), DURATION_EXAMPLES,
		   node_raw(n, buf, sizeof(buf)));
	return -1;
}

int node_bool(struct walk *w, const yaml_node_t *n, const char *name,
	      bool *out)
{
	const char *v = node_text(n);
	char buf[80];

	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
	    !strcasecmp(v, "on")) {
		*out = true;
	} else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") ||
		   !strcasecmp(v, "off")) {
		*out = false;
	} else {
		node_error(w, n, "%s must be true or false, found %s", name,
			   node_raw(n, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}
