// SPDX-License-Identifier: GPL-2.0-or-later
/* The errors of one load: collected, sorted by position, handed over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"

static void err_push(struct loader *l, uint32_t aline, uint32_t acol,
		     uint32_t sline, char *msg)
{
	struct load_err *e;

	if (!msg) {
		l->oom = true;
		return;
	}
	if (l->nerrs == l->caperrs) {
		size_t cap = l->caperrs ? 2 * l->caperrs : 16;

		e = realloc(l->errs, cap * sizeof(*e));
		if (!e) {
			free(msg);
			l->oom = true;
			return;
		}
		l->errs = e;
		l->caperrs = cap;
	}
	e = &l->errs[l->nerrs++];
	e->aline = aline;
	e->acol = acol;
	e->sline = sline;
	e->seq = l->seq++;
	e->msg = msg;
}

/*
 * Every error is one line: a control character that came from the policy
 * (a quoted "a\nb", a list file's raw bytes, a file name) is shown as
 * \n, \r, \t or \xNN. Takes ownership of msg; NULL when out of memory.
 */
static char *one_line(char *msg)
{
	const unsigned char *s;
	size_t n = 0;
	char *out, *o;

	for (s = (const unsigned char *)msg; *s; s++)
		if (*s < 0x20 || *s == 0x7f)
			n++;
	if (!n)
		return msg;
	out = malloc(strlen(msg) + 3 * n + 1);
	if (out) {
		for (s = (const unsigned char *)msg, o = out; *s; s++) {
			if (*s >= 0x20 && *s != 0x7f)
				*o++ = (char)*s;
			else if (*s == '\n' || *s == '\r' || *s == '\t')
				o += sprintf(o, "\\%c", *s == '\n' ? 'n' :
					     *s == '\r' ? 'r' : 't');
			else
				o += sprintf(o, "\\x%02x", *s);
		}
		*o = '\0';
	}
	free(msg);
	return out;
}

/* "head" then the formatted text; NULL when out of memory. */
static char *vformat(const char *head, const char *fmt, va_list ap)
{
	char *body = NULL, *msg = NULL;

	if (vasprintf(&body, fmt, ap) < 0)
		return NULL;
	if (asprintf(&msg, "%s%s", head, body) < 0)
		msg = NULL;
	free(body);
	return msg ? one_line(msg) : NULL;
}

void load_verror(struct loader *l, uint32_t line0, uint32_t col0,
		 const char *fmt, va_list ap)
{
	char head[4352];

	snprintf(head, sizeof(head), "%s:%u:%u: ", l->name, line0 + 1,
		 col0 + 1);
	err_push(l, line0, col0, 0, vformat(head, fmt, ap));
}

void load_error(struct loader *l, uint32_t line0, uint32_t col0,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	load_verror(l, line0, col0, fmt, ap);
	va_end(ap);
}

void load_error_in(struct loader *l, uint32_t aline0, uint32_t acol0,
		   const char *file, uint32_t line, uint32_t col,
		   const char *fmt, ...)
{
	char head[4352];
	va_list ap;
	char *msg;

	snprintf(head, sizeof(head), "%s:%u:%u: ", file, line, col);
	va_start(ap, fmt);
	msg = vformat(head, fmt, ap);
	va_end(ap);
	err_push(l, aline0, acol0, line, msg);
}

void load_error_nopos(struct loader *l, const char *fmt, ...)
{
	char head[4352];
	va_list ap;
	char *msg;

	snprintf(head, sizeof(head), "%s: ", l->name);
	va_start(ap, fmt);
	msg = vformat(head, fmt, ap);
	va_end(ap);
	err_push(l, 0, 0, 0, msg);
}

void load_error_raw(struct loader *l, uint32_t aline0, uint32_t acol0,
		    uint32_t sline, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat("", fmt, ap);
	va_end(ap);
	err_push(l, aline0, acol0, sline, msg);
}

void load_oom(struct loader *l)
{
	l->oom = true;
}

static int err_cmp(const void *a, const void *b)
{
	const struct load_err *x = a, *y = b;

	if (x->aline != y->aline)
		return x->aline < y->aline ? -1 : 1;
	if (x->acol != y->acol)
		return x->acol < y->acol ? -1 : 1;
	if (x->sline != y->sline)
		return x->sline < y->sline ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int errs_push(struct policy_errors *errs, char *msg)
{
	if (errs->count == errs->cap) {
		size_t cap = errs->cap ? 2 * errs->cap : 16;
		char **m = realloc(errs->msg, cap * sizeof(*m));

		if (!m)
			return -1;
		errs->msg = m;
		errs->cap = cap;
	}
	errs->msg[errs->count++] = msg;
	return 0;
}

void load_errors_flush(struct loader *l, struct policy_errors *errs)
{
	size_t i;

	if (l->nerrs)
		qsort(l->errs, l->nerrs, sizeof(*l->errs), err_cmp);
	for (i = 0; i < l->nerrs; i++) {
		if (!errs || errs_push(errs, l->errs[i].msg) < 0)
			free(l->errs[i].msg);
	}
	/* Out of memory is said last, and only once, if there is room. */
	if (l->oom && errs) {
		char *msg = NULL;

		if (asprintf(&msg, "%s: out of memory", l->name) < 0 ||
		    errs_push(errs, msg) < 0)
			free(msg);
	}
	free(l->errs);
	l->errs = NULL;
	l->nerrs = l->caperrs = 0;
}

void policy_errors_free(struct policy_errors *errs)
{
	size_t i;

	if (!errs)
		return;
	for (i = 0; i < errs->count; i++)
		free(errs->msg[i]);
	free(errs->msg);
	errs->msg = NULL;
	errs->count = errs->cap = 0;
}
