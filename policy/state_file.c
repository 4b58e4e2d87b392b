// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The live exceptions' state file, kept across restarts: written
 * atomically (a new temporary file, fsync, rename, fsync of the folder),
 * and read back as strictly as a policy is, with the policy's node
 * helpers and error list (node.c, errors.c). What the exceptions do to a
 * policy is exceptions.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/rfc3339.h"
#include "common/statefile.h"
#include "common/subid.h"
#include "common/utf8.h"
#include "node.h"

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

int policy_exceptions_save(const char *path,
			   const struct policy_exception *ex, size_t nex)
{
	char tmp[4096], when[32];
	FILE *f = statefile_begin(path, tmp, sizeof(tmp));

	if (!f)
		return -1;
	fprintf(f, "# portcullis live exceptions, written by portcullisd.\n"
		   "# Change them with `portcullis except`, not here.\n");
	if (!nex)
		fprintf(f, "[]\n");
	for (size_t i = 0; i < nex; i++) {
		if (ex[i].subscriber[0]) {
			fprintf(f, "- subscriber: ");
			put_quoted(f, ex[i].subscriber);
		} else {
			fprintf(f, "- prefix: ");
			put_quoted(f, ex[i].prefix);
		}
		fprintf(f, "\n  profile: ");
		put_quoted(f, ex[i].profile);
		fprintf(f, "\n  added: %s",
			rfc3339_format(ex[i].added, when, sizeof(when)));
		if (ex[i].expires)
			fprintf(f, "\n  expires: %s",
				rfc3339_format(ex[i].expires, when,
					       sizeof(when)));
		if (ex[i].note[0]) {
			fprintf(f, "\n  note: ");
			put_quoted(f, ex[i].note);
		}
		fprintf(f, "\n");
	}
	return statefile_commit(f, tmp, path);
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

/* "100.64.0.0/24" for messages, or "at line 3" when it has no prefix. */
static const char *entry_name(const struct policy_exception *e,
			      const yaml_node_t *n, char *buf, size_t size)
{
	if (e->prefix[0])
		snprintf(buf, size, "%s", e->prefix);
	else if (e->subscriber[0])
		snprintf(buf, size, "for subscriber %.60s", e->subscriber);
	else
		snprintf(buf, size, "at line %u", node_line0(n) + 1);
	return buf;
}

static int read_entry(struct walk *w, yaml_node_t *n,
		      struct policy_exception *e)
{
	enum { PREFIX, PROFILE, ADDED, EXPIRES, NOTE, SUBSCRIBER, NKEYS };
	static const char *const keys[NKEYS] = { "prefix", "profile", "added",
						 "expires", "note",
						 "subscriber" };
	const size_t nerrs = w->l->nerrs;
	yaml_node_t *val[NKEYS] = { 0 };
	char name[80], why[256];
	struct fields f;

	memset(e, 0, sizeof(*e));
	/* "found a scalar": the state file's words, not node_want's. */
	if (n->type != YAML_MAPPING_NODE) {
		node_error(w, n, "a live exception: expected a mapping, found "
			   "%s", node_kind(n));
		return -1;
	}
	node_fields(w, n, "a live exception", keys, NKEYS, &f);
	for (int i = 0; i < NKEYS; i++) {
		if (!f.val[i] || !node_want_scalar(w, f.val[i], keys[i]))
			continue;
		if (i != NOTE && node_has_nul(f.val[i])) {
			node_error(w, f.val[i], "%s: expected text without NUL "
				   "characters, found \\0", keys[i]);
			continue;
		}
		val[i] = f.val[i];
	}
	if (val[PREFIX]) {
		const char *ps = node_text(val[PREFIX]);
		struct addr a;
		enum prefix_result r;
		uint8_t len;
		bool v4;

		r = prefix_parse(ps, strlen(ps), &a, &len, &v4);
		if (r != PREFIX_OK)
			prefix_report(w->l, r, ps, strlen(ps), &a, len, v4,
				      node_line0(val[PREFIX]),
				      node_col0(val[PREFIX]), NULL, 0, 0);
		else
			snprintf(e->prefix, sizeof(e->prefix), "%s", ps);
	} else if (!f.key[PREFIX] && !f.key[SUBSCRIBER]) {
		node_error(w, n, "a live exception needs a prefix or a "
			   "subscriber");
	}
	if (val[SUBSCRIBER]) {
		const char *ss = node_text(val[SUBSCRIBER]);
		size_t slen = val[SUBSCRIBER]->data.scalar.length;

		if (f.key[PREFIX])
			node_error(w, val[SUBSCRIBER], "a live exception is "
				   "for a prefix or for a subscriber, not "
				   "both");
		else if (subid_check(ss, slen, why, sizeof(why)) < 0)
			node_error(w, val[SUBSCRIBER], "subscriber of a live "
				   "exception: %s", why);
		else
			memcpy(e->subscriber, ss, slen + 1);
	}
	if (val[PROFILE]) {
		const char *ps = node_text(val[PROFILE]);

		if (!*ps || strlen(ps) >= sizeof(e->profile))
			node_error(w, val[PROFILE], "profile of the live "
				   "exception %s: expected a name of 1 to %zu "
				   "bytes, found %zu bytes",
				   entry_name(e, n, name, sizeof(name)),
				   sizeof(e->profile) - 1, strlen(ps));
		else
			snprintf(e->profile, sizeof(e->profile), "%s", ps);
	} else if (!f.key[PROFILE]) {
		node_error(w, n, "the live exception %s needs a profile",
			   entry_name(e, n, name, sizeof(name)));
	}
	for (int t = ADDED; t <= EXPIRES; t++) {
		const char *ts;

		if (!val[t])
			continue;
		ts = node_text(val[t]);
		if (rfc3339_parse(ts, t == ADDED ? &e->added
						     : &e->expires) < 0)
			node_error(w, val[t], "%s of the live exception %s: "
				   "expected an RFC 3339 time like "
				   "2027-03-01T00:00:00Z, found \"%.60s\"",
				   keys[t],
				   entry_name(e, n, name, sizeof(name)), ts);
	}
	if (val[NOTE]) {
		const char *ns = node_text(val[NOTE]);
		size_t nlen = val[NOTE]->data.scalar.length;

		if (policy_note_check(ns, nlen, why, sizeof(why)) < 0)
			node_error(w, val[NOTE], "note of the live exception "
				   "%s: %s; correct the note or delete the "
				   "entry",
				   entry_name(e, n, name, sizeof(name)), why);
		else
			memcpy(e->note, ns, nlen + 1);
	}
	return w->l->nerrs > nerrs ? -1 : 0;
}

/* The root: a sequence of entries into *ex (allocated here), the good
 * ones counted in *nex. Returns 0, or -1 reported. */
static int read_entries(struct walk *w, yaml_node_t *root,
			struct policy_exception **ex, size_t *nex)
{
	yaml_node_item_t *it;
	size_t n;

	if (root->type != YAML_SEQUENCE_NODE) {
		node_error(w, root, "expected a sequence of live exceptions, "
			   "found %s", node_kind(root));
		return -1;
	}
	n = (size_t)(root->data.sequence.items.top -
		     root->data.sequence.items.start);
	*ex = calloc(n ? n : 1, sizeof(**ex));
	if (!*ex) {
		load_oom(w->l);
		return -1;
	}
	for (it = root->data.sequence.items.start;
	     it < root->data.sequence.items.top; it++)
		if (read_entry(w, node_get(w, *it), &(*ex)[*nex]) == 0)
			(*nex)++;
	return 0;
}

int policy_exceptions_load(const char *path, struct policy_exception **ex,
			   size_t *nex, struct policy_errors *errs)
{
	struct loader l = { .name = path, .state = true };
	yaml_parser_t parser;
	yaml_document_t doc;
	struct walk w = { .l = &l, .doc = &doc };
	yaml_node_t *root;
	char *buf = NULL, enc[80];
	size_t len = 0;
	int ret = -1, r;

	*ex = NULL;
	*nex = 0;
	r = state_read(&l, path, &buf, &len);
	if (r == 0)
		ret = 0;
	if (r <= 0)
		goto out;
	if (text_encoding_problem(buf, len, enc, sizeof(enc))) {
		load_error(&l, 0, 0, "expected UTF-8 text, found %s", enc);
		goto out;
	}
	if (doc_load(&l, &parser, &doc, buf, len) < 0)
		goto out;
	root = yaml_document_get_root_node(&doc);
	ret = root ? read_entries(&w, root, ex, nex) : 0;
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
out:
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
