/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading a libyaml document, shared by the policy's walk (load*.c) and
 * the state file's reader (state_file.c): node.c reads nodes (their text
 * and place, mappings of known keys, integers with their bounds,
 * durations, booleans), document.c reads the text into one document.
 * Every problem goes to the loader's error list (errors.c) at its
 * position. Internal to policy/.
 */
#ifndef PORTCULLIS_POLICY_NODE_H
#define PORTCULLIS_POLICY_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

#include "load.h"

#define NODE_MAX_KEYS 16

/* One document being read, and the load it reports to. */
struct walk {
	struct loader *l;
	yaml_document_t *doc;
};

/* A mapping's values by allowed key, and where each key was written. */
struct fields {
	yaml_node_t *val[NODE_MAX_KEYS];
	yaml_node_t *key[NODE_MAX_KEYS];
};

/* Nodes. Inline: the walk asks these several times for each of a
 * million entries a policy may give. */
/* A scalar's text (NUL-terminated; see node_has_nul). */
static inline const char *node_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* Where n starts, 0-based as libyaml counts. */
static inline uint32_t node_line0(const yaml_node_t *n)
{
	return (uint32_t)n->start_mark.line;
}

static inline uint32_t node_col0(const yaml_node_t *n)
{
	return (uint32_t)n->start_mark.column;
}

/* Node i of the document. */
static inline yaml_node_t *node_get(const struct walk *w, int i)
{
	return yaml_document_get_node(w->doc, i);
}

/* A scalar with a NUL inside (a "\0" escape): its C string is shorter. */
static inline bool node_has_nul(const yaml_node_t *n)
{
	return strlen(node_text(n)) != n->data.scalar.length;
}

/* The rest is node.c's. */
/* A plain empty, ~ or null scalar. */
bool node_is_null(const yaml_node_t *n);
/* What n is, for "expected X, found Y": "a mapping", "a sequence",
 * "nothing" or the scalar quoted (buf holds it). */
const char *node_found(const yaml_node_t *n, char *buf, size_t size);
/* The scalar as written, for "found 0" after a bound; else node_found. */
const char *node_raw(const yaml_node_t *n, char *buf, size_t size);
/* "a mapping", "a sequence" or "a scalar". */
const char *node_kind(const yaml_node_t *n);

/* An error at n's position (load_error). */
void node_error(struct walk *w, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Returns true if n is of type t; else reports "what: expected ..., found
 * ..." and returns false. */
bool node_want(struct walk *w, const yaml_node_t *n, yaml_node_type_t t,
	       const char *what);
bool node_want_scalar(struct walk *w, const yaml_node_t *n, const char *what);
/*
 * Sort the pairs of mapping m into f by the allowed keys (at most
 * NODE_MAX_KEYS); report keys that are no scalars, unknown or given twice.
 * Returns false if m is no mapping (reported as "where: expected a
 * mapping").
 */
bool node_fields(struct walk *w, yaml_node_t *m, const char *where,
		 const char *const *keys, size_t nkeys, struct fields *f);

/*
 * Decimal digits only. Returns 0; -1 when not a number or above max; -2,
 * with the value in *out, for a leading zero: YAML 1.1 tools (PyYAML,
 * yq, Ansible) read 025 as octal 21, so it means two things.
 */
int node_uint_parse(const char *s, uint64_t max, uint64_t *out);
/* An integer key within [min, max]. Returns 0, or -1 reported. */
int node_uint(struct walk *w, const yaml_node_t *n, const char *name,
	      unsigned min, unsigned max, unsigned *out);
/* A port, 1 to 65535. Returns 0, or -1 reported. */
int node_port(struct walk *w, const yaml_node_t *n, uint16_t *port);
/* A duration (integer and s, m, h or d) within [min, max] seconds.
 * Returns 0, or -1 reported. */
int node_duration(struct walk *w, const yaml_node_t *n, const char *name,
		  unsigned min, unsigned max, unsigned *out);
/* Scalar n as true (true, yes, on) or false (false, no, off), in any
 * case. Returns 0, or -1 reported ("name must be true or false"). */
int node_bool(struct walk *w, const yaml_node_t *n, const char *name,
	      bool *out);

/* Documents (document.c). */
/*
 * Parse buf[0 .. len) into doc with ps, set up here. Returns 0: the caller
 * deletes doc and ps (ps may read a next document). Returns -1 with the
 * syntax error (or out of memory) reported, nothing left to delete.
 */
int doc_load(struct loader *l, yaml_parser_t *ps, yaml_document_t *doc,
	     const char *buf, size_t len);
/* A YAML parse that failed, as one error at its position. */
void doc_syntax_error(struct loader *l, const yaml_parser_t *ps,
		      const char *buf, size_t len);
/*
 * Report every anchor, alias and tag of buf[0 .. len) (at most 10, then
 * how many more). Returns the number of aliases (the walk is skipped
 * then).
 */
size_t doc_refuse_extras(struct loader *l, const char *buf, size_t len);
/* Report every scalar with a NUL inside. */
void doc_refuse_nuls(struct walk *w);

#endif
