// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Live exceptions added to a policy being loaded: each replaces a file
 * entry of the same prefix, under the profile it names. (The state file
 * that keeps them across restarts is state_file.c.)
 */
#include <stdlib.h>
#include <string.h>

#include "common/subid.h"
#include "load.h"

#define EXCEPTION_SOURCE "live exception"

struct exkey {
	struct addr addr;
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
		enum prefix_result r;
		char why[200];

		profiles[i] = -1;
		if (e->subscriber[0]) {
			/* Rule 4's: no prefix, its subscriber's anywhere. */
			if (subid_check(e->subscriber, strlen(e->subscriber),
					why, sizeof(why)) < 0) {
				load_error_nopos(l, "live exception for a "
						 "subscriber: %s", why);
				continue;
			}
			profiles[i] = profile_index(names, p->nprofiles,
						    e->profile);
			if (profiles[i] < 0)
				load_error_nopos(l, "live exception for "
						 "subscriber %s names profile "
						 "\"%s\", which the policy "
						 "does not define; delete the "
						 "exception or restore the "
						 "profile", e->subscriber,
						 e->profile);
			continue;
		}
		r = prefix_parse(e->prefix, n, &k.addr, &k.len, &k.v4);
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

		if (e->subscriber[0])
			continue;
		prefix_parse(e->prefix, strlen(e->prefix), &k.addr, &k.len,
			     &k.v4);
		meta = meta_add(l, e->note[0] ? strdup(e->note) : NULL,
				(size_t)file, 0, UINT32_MAX, 0);
		if (meta < 0 ||
		    entry_add(l, k.v4, &k.addr, k.len, (uint16_t)profiles[i],
			      expires, (uint32_t)meta, 0, 0) < 0)
			goto out;
	}
	subex_compile(l, profiles);
out:
	free(keys);
	free(profiles);
	free(names);
}
