// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Live exceptions: added to the policy's entries at load (replacing a
 * file entry of the same prefix), and kept across restarts in a small
 * YAML state file written atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "load.h"

#define EXCEPTION_SOURCE "live exception"

struct exkey {
	struct policy_addr addr;
	uint8_t len;
	bool v4;
};

static int exkey_cmp(const void *a, const void *b)
{
	const struct exkey *x = a, *y = b;
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static int profile_index(const struct policy *p, const char *name)
{
	for (unsigned i = 0; i < p->nprofiles; i++)
		if (!strcmp(p->profiles[i].name, name))
			return (int)i;
	return -1;
}

/* Drop the file entries whose prefix an exception gives again. */
static void vec_remove(struct entry_vec *v, const struct exkey *keys,
		       size_t nkeys)
{
	size_t out = 0;

	for (size_t i = 0; i < v->n; i++) {
		struct exkey k = { .addr = v->in[i].addr, .len = v->in[i].len };

		if (nkeys && bsearch(&k, keys, nkeys, sizeof(k), exkey_cmp))
			continue;
		v->in[out] = v->in[i];
		v->where[out] = v->where[i];
		out++;
	}
	v->n = out;
}

void exceptions_apply(struct loader *l)
{
	struct exkey *keys = calloc(l->nex, sizeof(*keys));
	int16_t *profiles = calloc(l->nex, sizeof(*profiles));
	size_t nkeys = 0, nkeys4;
	int64_t file;

	if (!keys || !profiles) {
		load_oom(l);
		goto out;
	}
	for (size_t i = 0; i < l->nex; i++) {
		const struct policy_exception *e = &l->ex[i];
		struct exkey k;
		enum prefix_result r = prefix_parse(e->prefix, strlen(e->prefix),
						    &k.addr, &k.len, &k.v4);

		profiles[i] = -1;
		if (r != PREFIX_OK) {
			load_error_nopos(l, "live exception %s: not a network "
					 "prefix", e->prefix);
			continue;
		}
		profiles[i] = (int16_t)profile_index(l->p, e->profile);
		if (profiles[i] < 0) {
			load_error_nopos(l, "live exception %s names profile "
					 "\"%s\", which the policy does not "
					 "define; delete the exception or "
					 "restore the profile", e->prefix,
					 e->profile);
			continue;
		}
		keys[nkeys++] = k;
	}
	if (l->nerrs)
		goto out;
	qsort(keys, nkeys, sizeof(*keys), exkey_cmp);
	nkeys4 = nkeys;
	vec_remove(&l->v4, keys, nkeys4);
	vec_remove(&l->v6, keys, nkeys);
	file = file_add(l, strdup(EXCEPTION_SOURCE));
	if (file < 0)
		goto out;
	for (size_t i = 0; i < l->nex; i++) {
		const struct policy_exception *e = &l->ex[i];
		struct exkey k;
		int64_t meta;
		uint32_t expires = e->expires <= 0 ? 0 :
				   e->expires > UINT32_MAX ? UINT32_MAX :
				   (uint32_t)e->expires;

		prefix_parse(e->prefix, strlen(e->prefix), &k.addr, &k.len,
			     &k.v4);
		meta = meta_add(l, e->note[0] ? strdup(e->note) : NULL,
				(size_t)file, 0, UINT32_MAX, 0);
		if (meta < 0 ||
		    entry_add(l, k.v4, &k.addr, k.len, (uint16_t)profiles[i],
			      expires, (uint32_t)meta, 0, 0) < 0)
			goto out;
	}
out:
	free(keys);
	free(profiles);
}

/* One YAML double-quoted scalar. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int policy_exceptions_save(const char *path,
			   const struct policy_exception *ex, size_t nex)
{
	char tmp[4096], when[32], *slash;
	FILE *f;
	int fd, dfd, err;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		goto fail;
	}
	fprintf(f, "# portcullis live exceptions, written by portcullisd.\n"
		   "# Change them with `portcullis except`, not here.\n");
	if (!nex)
		fprintf(f, "[]\n");
	for (size_t i = 0; i < nex; i++) {
		fprintf(f, "- prefix: ");
		put_quoted(f, ex[i].prefix);
		fprintf(f, "\n  profile: ");
		put_quoted(f, ex[i].profile);
		fprintf(f, "\n  added: %s",
			policy_time_format(ex[i].added, when, sizeof(when)));
		if (ex[i].expires)
			fprintf(f, "\n  expires: %s",
				policy_time_format(ex[i].expires, when,
						   sizeof(when)));
		if (ex[i].note[0]) {
			fprintf(f, "\n  note: ");
			put_quoted(f, ex[i].note);
		}
		fprintf(f, "\n");
	}
	if (fflush(f) != 0 || fsync(fd) != 0) {
		err = errno;
		fclose(f);
		goto fail;
	}
	if (fclose(f) != 0) {
		err = errno;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		err = errno;
		goto fail;
	}
	/* The rename itself must reach the disk too. */
	slash = strrchr(tmp, '/');
	if (slash == tmp)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	dfd = open(slash ? tmp : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	unlink(tmp);
	errno = err;
	return -1;
}

/* Errors of the state file, "path:line:col: message". */
static void st_error(struct policy_errors *errs, const char *path,
		     const yaml_node_t *n, const char *fmt, const char *arg)
{
	char msg[512], *line;

	snprintf(msg, sizeof(msg), fmt, arg);
	if (!errs || asprintf(&line, "%s:%zu:%zu: %s", path,
			      n ? n->start_mark.line + 1 : 1,
			      n ? n->start_mark.column + 1 : 1, msg) < 0)
		return;
	if (errs->count == errs->cap) {
		size_t cap = errs->cap ? 2 * errs->cap : 8;
		char **m = realloc(errs->msg, cap * sizeof(*m));

		if (!m) {
			free(line);
			return;
		}
		errs->msg = m;
		errs->cap = cap;
	}
	errs->msg[errs->count++] = line;
}

static int read_entry(yaml_document_t *doc, yaml_node_t *n,
		      struct policy_exception *e, const char *path,
		      struct policy_errors *errs)
{
	int bad = 0;

	memset(e, 0, sizeof(*e));
	if (n->type != YAML_MAPPING_NODE) {
		st_error(errs, path, n, "expected a mapping%s", "");
		return -1;
	}
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(doc, pr->value);
		const char *key, *val;

		if (!k || !v || k->type != YAML_SCALAR_NODE ||
		    v->type != YAML_SCALAR_NODE) {
			st_error(errs, path, v, "expected key: value%s", "");
			bad = 1;
			continue;
		}
		key = (const char *)k->data.scalar.value;
		val = (const char *)v->data.scalar.value;
		if (!strcmp(key, "prefix"))
			snprintf(e->prefix, sizeof(e->prefix), "%s", val);
		else if (!strcmp(key, "profile"))
			snprintf(e->profile, sizeof(e->profile), "%s", val);
		else if (!strcmp(key, "note"))
			snprintf(e->note, sizeof(e->note), "%s", val);
		else if (!strcmp(key, "added") &&
			 policy_time_parse(val, &e->added) == 0)
			;
		else if (!strcmp(key, "expires") &&
			 policy_time_parse(val, &e->expires) == 0)
			;
		else {
			st_error(errs, path, k, "unexpected \"%s\"", key);
			bad = 1;
		}
	}
	if (!e->prefix[0] || !e->profile[0]) {
		st_error(errs, path, n, "an exception needs prefix and "
			 "profile%s", "");
		bad = 1;
	}
	return bad ? -1 : 0;
}

int policy_exceptions_load(const char *path, struct policy_exception **ex,
			   size_t *nex, struct policy_errors *errs)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	FILE *f;
	int ret = -1;

	*ex = NULL;
	*nex = 0;
	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		st_error(errs, path, NULL, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		fclose(f);
		return -1;
	}
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s:%zu:%zu: %s", path,
			 parser.problem_mark.line + 1,
			 parser.problem_mark.column + 1,
			 parser.problem ? parser.problem : "not YAML");
		st_error(errs, path, NULL, "%s", msg);
		goto out_parser;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		ret = 0;
	} else if (root->type != YAML_SEQUENCE_NODE) {
		st_error(errs, path, root, "expected a list of exceptions%s",
			 "");
	} else {
		size_t n = (size_t)(root->data.sequence.items.top -
				    root->data.sequence.items.start);

		*ex = calloc(n ? n : 1, sizeof(**ex));
		ret = *ex ? 0 : -1;
		for (size_t i = 0; *ex && i < n; i++) {
			yaml_node_t *it = yaml_document_get_node(
				&doc, root->data.sequence.items.start[i]);

			if (read_entry(&doc, it, &(*ex)[*nex], path, errs) < 0)
				ret = -1;
			else
				(*nex)++;
		}
		if (ret < 0) {
			free(*ex);
			*ex = NULL;
			*nex = 0;
		}
	}
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	fclose(f);
	return ret;
}
