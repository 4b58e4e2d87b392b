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
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "common/utf8.h"
#include "node.h"

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

/* The profiles by name, for many look-ups (65535 profiles are allowed,
 * 100000 live exceptions too). */
struct pname {
	const char *name;
	int index;
};

static int pname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pname *)a)->name,
		      ((const struct pname *)b)->name);
}

static int profile_index(const struct pname *names, size_t n,
			 const char *name)
{
	struct pname key = { .name = name };
	const struct pname *f = bsearch(&key, names, n, sizeof(*names),
					pname_cmp);

	return f ? f->index : -1;
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
	const struct policy *p = l->p;
	struct exkey *keys = calloc(l->nex ? l->nex : 1, sizeof(*keys));
	/* A profile index is up to 65534: int, not int16_t. */
	int *profiles = calloc(l->nex ? l->nex : 1, sizeof(*profiles));
	struct pname *names = calloc(p->nprofiles ? p->nprofiles : 1,
				     sizeof(*names));
	size_t nkeys = 0, nkeys4;
	int64_t file;

	if (!keys || !profiles || !names) {
		load_oom(l);
		goto out;
	}
	for (unsigned i = 0; i < p->nprofiles; i++)
		names[i] = (struct pname){ p->profiles[i].name, (int)i };
	qsort(names, p->nprofiles, sizeof(*names), pname_cmp);
	for (size_t i = 0; i < l->nex; i++) {
		const struct policy_exception *e = &l->ex[i];
		size_t n = strlen(e->prefix);
		struct exkey k;
		enum prefix_result r = prefix_parse(e->prefix, n, &k.addr,
						    &k.len, &k.v4);

		profiles[i] = -1;
		if (r != PREFIX_OK) {
			load_error_nopos(l, "live exception %s: not a network "
					 "prefix", e->prefix);
			continue;
		}
		profiles[i] = profile_index(names, p->nprofiles, e->profile);
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
	free(names);
}

/*
 * One YAML double-quoted scalar that reads back as s, whatever s holds:
 * quotes, backslashes, control characters (C0, DEL, C1) and what YAML
 * counts as a line break or no printable character (U+2028, U+2029,
 * U+FEFF, U+FFFE, U+FFFF) are escapes. A byte that is no UTF-8 cannot be
 * in a YAML string at all: it is written as U+FFFD, the replacement
 * character (policy_note_check() keeps such notes out).
 */
static void put_quoted(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;
	uint32_t c;

	fputc('"', f);
	while (i < n) {
		k = utf8_char(u + i, n - i, &c);
		if (!k) {
			fputs("\\uFFFD", f);
			i++;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", (char)c);
		else if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
			fprintf(f, "\\x%02X", (unsigned)c);
		else if (c == 0x2028 || c == 0x2029 || c == 0xfeff ||
			 c == 0xfffe || c == 0xffff)
			fprintf(f, "\\u%04X", (unsigned)c);
		else
			fwrite(u + i, 1, k, f);
		i += k;
	}
	fputc('"', f);
}

/*
 * The temporary file, created new: O_EXCL never opens what is there and
 * never follows a symbolic link (O_NOFOLLOW says so again), so nothing
 * planted in the state folder can redirect this write. One left by a
 * crash is removed first (unlink removes a link, not its target).
 */
static int open_new(const char *tmp)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = open(tmp, flags, 0640);

	if (fd < 0 && errno == EEXIST) {
		if (unlink(tmp) < 0 && errno != ENOENT)
			return -1;
		fd = open(tmp, flags, 0640);
	}
	return fd;
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
	fd = open_new(tmp);
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

/* The state file is the daemon's; a hand-edited one is read as strictly. */
#define STATE_MAX_BYTES (256u << 20)

static const char *file_type(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	return "no regular file";
}

/*
 * Read the state file whole into *buf (NUL-terminated). O_NONBLOCK: a
 * FIFO put there must not hang the start; O_NOFOLLOW: neither must a
 * link lead elsewhere. Returns 1 read, 0 no file, -1 reported.
 */
static int state_read(struct loader *l, const char *path, char **buf,
		      size_t *len)
{
	size_t cap, n = 0;
	struct stat st;
	char *b = NULL;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			load_error_nopos(l, "cannot read: a symbolic link; the "
					 "state file must be a regular file");
		else
			load_error_nopos(l, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		load_error_nopos(l, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		load_error_nopos(l, "cannot read: %s; the state file must be a "
				 "regular file", file_type(st.st_mode));
		goto out;
	}
	if ((uint64_t)st.st_size > STATE_MAX_BYTES) {
		load_error_nopos(l, "cannot read: %lld bytes, at most %u MiB "
				 "expected", (long long)st.st_size,
				 STATE_MAX_BYTES >> 20);
		goto out;
	}
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (!b) {
		load_oom(l);
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *g = cap <= STATE_MAX_BYTES ? realloc(b, 2 * cap)
							 : NULL;

			if (!g) {
				load_error_nopos(l, "cannot read: it grows as "
						 "it is read");
				goto out;
			}
			b = g;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			load_error_nopos(l, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	ret = 1;
out:
	free(b);
	close(fd);
	return ret;
}

static uint32_t ln0(const yaml_node_t *n)
{
	return (uint32_t)n->start_mark.line;
}

static uint32_t cl0(const yaml_node_t *n)
{
	return (uint32_t)n->start_mark.column;
}

static const char *kind(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE ? "a mapping" :
	       n->type == YAML_SEQUENCE_NODE ? "a sequence" : "a scalar";
}

/* "100.64.0.0/24" for messages, or "at line 3" when it has no prefix. */
static const char *entry_name(const struct policy_exception *e,
			      const yaml_node_t *n, char *buf, size_t size)
{
	if (e->prefix[0])
		snprintf(buf, size, "%s", e->prefix);
	else
		snprintf(buf, size, "at line %u", ln0(n) + 1);
	return buf;
}

static int read_entry(struct loader *l, yaml_document_t *doc, yaml_node_t *n,
		      struct policy_exception *e)
{
	enum { PREFIX, PROFILE, ADDED, EXPIRES, NOTE, NKEYS };
	static const char *const keys[NKEYS] = { "prefix", "profile", "added",
						 "expires", "note" };
	yaml_node_t *val[NKEYS] = { 0 }, *key[NKEYS] = { 0 };
	const size_t nerrs = l->nerrs;
	char name[80], why[256];

	memset(e, 0, sizeof(*e));
	if (n->type != YAML_MAPPING_NODE) {
		load_error(l, ln0(n), cl0(n), "a live exception: expected a "
			   "mapping, found %s", kind(n));
		return -1;
	}
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(doc, pr->value);
		const char *ks;
		size_t i;

		if (k->type != YAML_SCALAR_NODE) {
			load_error(l, ln0(k), cl0(k), "a live exception: keys "
				   "must be scalars, found %s", kind(k));
			continue;
		}
		ks = (const char *)k->data.scalar.value;
		for (i = 0; i < NKEYS && strcmp(ks, keys[i]); i++)
			;
		if (i == NKEYS) {
			load_error(l, ln0(k), cl0(k), "unknown key \"%.60s\" in "
				   "a live exception; expected one of: prefix, "
				   "profile, added, expires, note", ks);
			continue;
		}
		if (key[i]) {
			load_error(l, ln0(k), cl0(k), "duplicate key \"%s\" in "
				   "a live exception; first given at line %u, "
				   "column %u", keys[i], ln0(key[i]) + 1,
				   cl0(key[i]) + 1);
			continue;
		}
		key[i] = k;
		if (v->type != YAML_SCALAR_NODE) {
			load_error(l, ln0(v), cl0(v), "%s: expected a scalar, "
				   "found %s", keys[i], kind(v));
			continue;
		}
		if (i != NOTE && strlen((const char *)v->data.scalar.value) !=
				 v->data.scalar.length) {
			load_error(l, ln0(v), cl0(v), "%s: expected text "
				   "without NUL characters, found \\0",
				   keys[i]);
			continue;
		}
		val[i] = v;
	}
	if (val[PREFIX]) {
		const char *ps = (const char *)val[PREFIX]->data.scalar.value;
		struct policy_addr a;
		enum prefix_result r;
		uint8_t len;
		bool v4;

		r = prefix_parse(ps, strlen(ps), &a, &len, &v4);
		if (r != PREFIX_OK)
			prefix_report(l, r, ps, strlen(ps), &a, len, v4,
				      ln0(val[PREFIX]), cl0(val[PREFIX]), NULL,
				      0, 0);
		else
			snprintf(e->prefix, sizeof(e->prefix), "%s", ps);
	} else if (!key[PREFIX]) {
		load_error(l, ln0(n), cl0(n), "a live exception needs a "
			   "prefix");
	}
	if (val[PROFILE]) {
		const char *ps = (const char *)val[PROFILE]->data.scalar.value;

		if (!*ps || strlen(ps) >= sizeof(e->profile))
			load_error(l, ln0(val[PROFILE]), cl0(val[PROFILE]),
				   "profile of the live exception %s: expected "
				   "a name of 1 to %zu bytes, found %zu bytes",
				   entry_name(e, n, name, sizeof(name)),
				   sizeof(e->profile) - 1, strlen(ps));
		else
			snprintf(e->profile, sizeof(e->profile), "%s", ps);
	} else if (!key[PROFILE]) {
		load_error(l, ln0(n), cl0(n), "the live exception %s needs a "
			   "profile", entry_name(e, n, name, sizeof(name)));
	}
	for (int t = ADDED; t <= EXPIRES; t++) {
		const char *ts;

		if (!val[t])
			continue;
		ts = (const char *)val[t]->data.scalar.value;
		if (policy_time_parse(ts, t == ADDED ? &e->added
						     : &e->expires) < 0)
			load_error(l, ln0(val[t]), cl0(val[t]), "%s of the live "
				   "exception %s: expected an RFC 3339 time "
				   "like 2027-03-01T00:00:00Z, found \"%.60s\"",
				   keys[t], entry_name(e, n, name, sizeof(name)),
				   ts);
	}
	if (val[NOTE]) {
		const char *ns = (const char *)val[NOTE]->data.scalar.value;
		size_t nlen = val[NOTE]->data.scalar.length;

		if (policy_note_check(ns, nlen, why, sizeof(why)) < 0)
			load_error(l, ln0(val[NOTE]), cl0(val[NOTE]), "note of "
				   "the live exception %s: %s; correct the note "
				   "or delete the entry",
				   entry_name(e, n, name, sizeof(name)), why);
		else
			memcpy(e->note, ns, nlen + 1);
	}
	return l->nerrs > nerrs ? -1 : 0;
}

int policy_exceptions_load(const char *path, struct policy_exception **ex,
			   size_t *nex, struct policy_errors *errs)
{
	struct loader l = { .name = path, .state = true };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	char *buf = NULL, enc[80];
	size_t len = 0;
	int ret = -1, r;

	*ex = NULL;
	*nex = 0;
	r = state_read(&l, path, &buf, &len);
	if (r <= 0)
		goto out;
	if (text_encoding_problem(buf, len, enc, sizeof(enc))) {
		load_error(&l, 0, 0, "expected UTF-8 text, found %s", enc);
		goto out;
	}
	if (doc_load(&l, &parser, &doc, buf, len) < 0)
		goto out;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		ret = 0;
	} else if (root->type != YAML_SEQUENCE_NODE) {
		load_error(&l, ln0(root), cl0(root), "expected a sequence of "
			   "live exceptions, found %s", kind(root));
	} else {
		size_t n = (size_t)(root->data.sequence.items.top -
				    root->data.sequence.items.start);

		*ex = calloc(n ? n : 1, sizeof(**ex));
		if (!*ex)
			load_oom(&l);
		for (size_t i = 0; *ex && i < n; i++) {
			yaml_node_t *it = yaml_document_get_node(
				&doc, root->data.sequence.items.start[i]);

			if (read_entry(&l, &doc, it, &(*ex)[*nex]) == 0)
				(*nex)++;
		}
		ret = 0;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
out:
	if (r == 0)
		ret = 0;
	if (l.nerrs || l.oom) {
		free(*ex);
		*ex = NULL;
		*nex = 0;
		ret = -1;
	}
	load_errors_flush(&l, errs);
	free(buf);
	return ret;
}
