// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy_load(): the YAML policy (DESIGN.md, version 1) read into one
 * document (document.c) and walked section by section into a fresh
 * struct policy: the root, its version, mode and relays here, the other
 * sections in load_*.c (walk.h). Every problem is reported with its
 * position and the walk goes on, so one run shows all of them; a policy
 * with any error is freed whole and never returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "walk.h"

static int addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct addr));
}

static void walk_relays(struct walk *w, yaml_node_t *s)
{
	struct policy *p = w->l->p;
	yaml_node_item_t *it;
	size_t n, i, k;
	char buf[80];

	if (!node_want(w, s, YAML_SEQUENCE_NODE, "relays"))
		return;
	n = (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
	p->relays = calloc(n ? n : 1, sizeof(*p->relays));
	if (!p->relays) {
		load_oom(w->l);
		return;
	}
	for (it = s->data.sequence.items.start; it < s->data.sequence.items.top;
	     it++) {
		yaml_node_t *r = node_get(w, *it);

		if (!node_want_scalar(w, r, "relay"))
			continue;
		if (addr_parse(node_text(r),
			       &p->relays[p->nrelays]) < 0) {
			node_error(w, r, "relay must be an IPv4 or IPv6 "
				   "address, found %s",
				   node_found(r, buf, sizeof(buf)));
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

static void walk_version(struct walk *w, const yaml_node_t *root,
			 const yaml_node_t *n)
{
	char buf[80];
	uint64_t v;

	if (!n)
		node_error(w, root, "version is missing; expected version: 1");
	else if (n->type == YAML_SCALAR_NODE &&
		 node_uint_parse(node_text(n), 1, &v) == -2 && v == 1)
		node_error(w, n, "version must be 1 without a leading zero, "
			   "found %s; write 1", node_raw(n, buf, sizeof(buf)));
	else if (n->type != YAML_SCALAR_NODE || strcmp(node_text(n), "1"))
		node_error(w, n, "version must be 1, found %s",
			   node_raw(n, buf, sizeof(buf)));
}

static void walk_root(struct walk *w, yaml_node_t *root)
{
	enum { VERSION, MODE, PROFILES, SUBSCRIBERS, RELAYS, DETECTION, LOG,
	       CLUSTER };
	static const char *const keys[] = { "version", "mode", "profiles",
					    "subscribers", "relays",
					    "detection", "log", "cluster" };
	struct policy *p = w->l->p;
	struct fields f;
	char buf[80];

	if (!root) {
		load_error(w->l, 0, 0, "the policy is empty; expected a "
			   "mapping that starts with version: 1");
		return;
	}
	if (!node_fields(w, root, "the policy", keys, 8, &f))
		return;
	walk_version(w, root, f.val[VERSION]);
	if (f.val[MODE] && node_want_scalar(w, f.val[MODE], "mode")) {
		if (!strcmp(node_text(f.val[MODE]), "monitor"))
			p->mode = POLICY_MODE_MONITOR;
		else if (strcmp(node_text(f.val[MODE]), "enforce"))
			node_error(w, f.val[MODE], "unknown mode %s; expected "
				   "enforce or monitor",
				   node_found(f.val[MODE], buf, sizeof(buf)));
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
	if (f.val[CLUSTER])
		walk_cluster(w, f.val[CLUSTER]);
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
	if (doc_refuse_extras(&l, buf, len))
		goto out;
	if (doc_load(&l, &parser, &doc, buf, len) < 0)
		goto out;
	w.l = &l;
	w.doc = &doc;
	doc_refuse_nuls(&w);
	walk_root(&w, yaml_document_get_root_node(&doc));
	if (!yaml_parser_load(&parser, &more)) {
		doc_syntax_error(&l, &parser, buf, len);
	} else {
		yaml_node_t *r = yaml_document_get_root_node(&more);

		if (r)
			node_error(&w, r, "a second YAML document; a policy "
				   "is one document");
		yaml_document_delete(&more);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (!l.oom) {
		/* Before the duplicate check: an exception replaces a
		 * file entry of its prefix instead of repeating it. */
		if (l.nex)
			exceptions_apply(&l);
		entries_finish(&l);
	}
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
