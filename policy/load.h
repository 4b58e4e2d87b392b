/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The loader's working state, shared by load.c and load_*.c (the YAML
 * walk, with node.c and document.c: node.h), list.c (`file:` lists),
 * prefix.c (prefix parsing), errors.c (the error list), entries.c
 * (duplicate check and table build), exceptions.c (live exceptions
 * added) and state_file.c (the exceptions' state file). Internal to
 * policy/; nothing here outlives one policy_load().
 */
#ifndef PORTCULLIS_POLICY_LOAD_H
#define PORTCULLIS_POLICY_LOAD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* One error, with what it sorts by: the YAML position it belongs to
 * (for a list file, the `file:` entry naming it), then the list line. */
struct load_err {
	uint32_t aline, acol;
	uint32_t sline;
	uint32_t seq;
	char *msg;
};

/* Where an entry was written: meta says the file, line/col the place. */
struct entry_where {
	uint32_t line;
	uint32_t col;
	uint32_t meta;
};

/* The entries of one family in the order given, before table_build. */
struct entry_vec {
	struct table_input *in;
	struct entry_where *where;
	size_t n, cap;
};

/* YAML position a meta belongs to, for sorting errors. */
struct meta_anchor {
	uint32_t line, col;
};

struct loader {
	const char *name;		/* the policy as named in messages */
	const char *dir;		/* `file:` lists are relative to it */
	bool state;			/* reading the exceptions' state file */
	struct policy *p;		/* being built; owned until returned */

	struct load_err *errs;
	size_t nerrs, caperrs;
	uint32_t seq;
	bool oom;

	const struct policy_exception *ex;	/* live exceptions to add */
	size_t nex;

	struct entry_vec v4, v6;
	struct meta_anchor *anchors;	/* parallel to p->meta */
	size_t capmeta, capfiles;
};

/* Errors. The message is "name:line:col: text" with 1-based line/col. */
void load_error(struct loader *l, uint32_t line0, uint32_t col0,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void load_verror(struct loader *l, uint32_t line0, uint32_t col0,
		 const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
/* An error in another file (a list): file:line:col: text, sorted under
 * the YAML anchor (0-based) that named the file. line/col are 1-based. */
void load_error_in(struct loader *l, uint32_t aline0, uint32_t acol0,
		   const char *file, uint32_t line, uint32_t col,
		   const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void load_error_nopos(struct loader *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The whole message is fmt's; it sorts at (aline0, acol0, sline). */
void load_error_raw(struct loader *l, uint32_t aline0, uint32_t acol0,
		    uint32_t sline, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void load_oom(struct loader *l);
/* Sort the errors and move them into errs (may be NULL); frees them. */
void load_errors_flush(struct loader *l, struct policy_errors *errs);

/* Text. */
/* What buf is when it is no UTF-8 but UTF-16 or UTF-32 ("UTF-16
 * (little-endian, byte order mark FF FE)", written into out), or NULL. */
const char *text_encoding_problem(const char *buf, size_t len, char *out,
				  size_t size);

/* For digits d[0 .. n) with a leading zero: " (YAML 1.1 tools read 025
 * as octal, 21)" in out, or "" when they are no octal number. */
const char *text_octal_note(const char *d, size_t n, char *out, size_t size);

/* Prefixes. */
enum prefix_result {
	PREFIX_OK = 0,
	PREFIX_MALFORMED,		/* not an address */
	PREFIX_BAD_LENGTH,		/* /len missing digits or too long */
	PREFIX_HOST_BITS,		/* out holds the network it should be */
	PREFIX_LENGTH_ZERO,		/* /010: len holds 10 */
	PREFIX_V4_MAPPED,		/* ::ffff:a.b.c.d[/len], refused */
};
/* Parse s[0..n) as ADDR[/LEN]; a bare address is a host route. On
 * PREFIX_HOST_BITS, addr/len hold the masked network. *v4 says the family.
 * An IPv4-mapped IPv6 prefix (::ffff:0:0/96 and what it holds, also
 * written with a shorter length) is PREFIX_V4_MAPPED: with a length of 96
 * or more, addr/len hold the IPv4 network to write instead (*v4 set),
 * else *v4 is clear. */
enum prefix_result prefix_parse(const char *s, size_t n,
				struct addr *addr, uint8_t *len,
				bool *v4);
/* Format addr/len (len in the family's terms) into buf (>= 64 bytes). */
const char *prefix_format(const struct addr *addr, uint8_t len,
			  bool v4, char *buf, size_t size);
/* Report a bad prefix result for text s in the right words. */
void prefix_report(struct loader *l, enum prefix_result r, const char *s,
		   size_t n, const struct addr *net, uint8_t len,
		   bool v4, uint32_t aline0, uint32_t acol0, const char *file,
		   uint32_t line, uint32_t col);


/* Entries. Append one; returns 0 or -1 (out of memory, reported). */
int entry_add(struct loader *l, bool v4, const struct addr *addr,
	      uint8_t len, uint16_t profile, uint32_t expires, uint32_t meta,
	      uint32_t line, uint32_t col);
/* A new meta (file is an index into p->files). Returns its index or -1. */
int64_t meta_add(struct loader *l, char *note, size_t file, uint32_t line,
		 uint32_t aline0, uint32_t acol0);
/* Keep a file name; takes ownership of name. Returns its index or -1. */
int64_t file_add(struct loader *l, char *name);
/* Report every prefix given twice, then, if no error at all was found,
 * build both tables. Returns 0, or -1 when the policy cannot be built. */
int entries_finish(struct loader *l);
void entries_free(struct loader *l);
/* Add the live exceptions, replacing file entries of the same prefix
 * (exceptions.c). Called before entries_finish. */
void exceptions_apply(struct loader *l);
/* The exceptions by subscriber id of l->ex (profiles[i]: each one's
 * profile index) into l->p's index (subex.c). */
void subex_compile(struct loader *l, const int *profiles);

/* Read the list file at path (as named in messages), adding its
 * prefixes with profile and expires; the list's meta takes ownership of
 * note. aline0/acol0: the `file:` value in the YAML. */
void list_load(struct loader *l, const char *path, uint16_t profile,
	       uint32_t expires, char *note, uint32_t aline0, uint32_t acol0);

#endif
