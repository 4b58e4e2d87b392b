// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The text read into one YAML document. libyaml's syntax errors are said
 * at their position, with what an operator likely did; what a document
 * could hold but a policy never does (anchors, aliases and tags; a NUL
 * inside a scalar) is refused here too.
 */
#include <stdio.h>
#include <string.h>

#include "node.h"

#define MAX_ALIAS_ERRORS 10	/* anchors, aliases and tags named */

int doc_load(struct loader *l, yaml_parser_t *ps, yaml_document_t *doc,
	     const char *buf, size_t len)
{
	if (!yaml_parser_initialize(ps)) {
		load_oom(l);
		return -1;
	}
	yaml_parser_set_input_string(ps, (const unsigned char *)buf, len);
	if (!yaml_parser_load(ps, doc)) {
		doc_syntax_error(l, ps, buf, len);
		yaml_parser_delete(ps);
		return -1;
	}
	return 0;
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

void doc_syntax_error(struct loader *l, const yaml_parser_t *ps,
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
		load_error(l, line, col, "YAML syntax error: %s (%s that "
			   "starts at line %u)%s", problem, ps->context,
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
		[EXTRA_ALIAS] = "YAML alias *%.60s: anchors and aliases are "
				"not supported; write the value out in full",
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
size_t doc_refuse_extras(struct loader *l, const char *buf, size_t len)
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
		doc_syntax_error(l, &ps, buf, len);
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
void doc_refuse_nuls(struct walk *w)
{
	yaml_node_t *n;
	char buf[80];

	for (n = w->doc->nodes.start; n < w->doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && node_has_nul(n))
			node_error(w, n, "expected text without NUL "
				   "characters, found \\0 after %s",
				   node_found(n, buf, sizeof(buf)));
}
