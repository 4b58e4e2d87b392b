// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Live exceptions by subscriber id (DESIGN.md "Decision", rule 4): a
 * profile for a subscriber wherever its session puts it. Compiled into
 * an open-addressing index of the ids, looked up on the verdict path
 * only for a source that has a session and only when there are any.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/subid.h"
#include "internal.h"
#include "load.h"

static uint64_t id_hash(const char *s, size_t len)
{
	uint64_t h = 0x84222325cbf29ce4ULL ^ len;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return hash_mix64(h);
}

int32_t subex_find(const struct policy *p, const char *id, size_t len)
{
	size_t i;

	if (!p->nsubex || !len)
		return -1;
	i = id_hash(id, len) & (p->subex_slots - 1);
	for (;;) {
		uint32_t s = p->subex_ix[i];
		const struct subex *e;

		if (!s)
			return -1;
		e = &p->subex[s - 1];
		if (e->len == len && !memcmp(e->id, id, len))
			return (int32_t)(s - 1);
		i = (i + 1) & (p->subex_slots - 1);
	}
}

/* The exception by id at i of l->ex, with its profile. Returns 0, or -1
 * (no memory: reported). */
static int add(struct loader *l, const struct policy_exception *e,
	       int profile)
{
	struct policy *p = l->p;
	struct subex *x = &p->subex[p->nsubex];

	x->len = strlen(e->subscriber);
	x->id = strdup(e->subscriber);
	x->note = e->note[0] ? strdup(e->note) : NULL;
	if (!x->id || (e->note[0] && !x->note)) {
		free(x->id);
		free(x->note);
		load_oom(l);
		return -1;
	}
	x->profile = (uint16_t)profile;
	x->expires = e->expires > 0 ? e->expires : 0;
	x->added = e->added;
	p->nsubex++;
	return 0;
}

void subex_compile(struct loader *l, const int *profiles)
{
	struct policy *p = l->p;
	size_t n = 0;

	for (size_t i = 0; i < l->nex; i++)
		if (l->ex[i].subscriber[0])
			n++;
	if (!n)
		return;
	p->subex = calloc(n, sizeof(*p->subex));
	for (p->subex_slots = 16; p->subex_slots < 2 * n; p->subex_slots *= 2)
		;
	p->subex_ix = calloc(p->subex_slots, sizeof(*p->subex_ix));
	if (!p->subex || !p->subex_ix) {
		load_oom(l);
		return;
	}
	for (size_t i = 0; i < l->nex; i++) {
		const struct policy_exception *e = &l->ex[i];
		size_t len = strlen(e->subscriber);
		size_t k;

		if (!len || subex_find(p, e->subscriber, len) >= 0)
			continue;	/* a later one of the same id: the first */
		if (add(l, e, profiles[i]) < 0)
			return;
		k = id_hash(e->subscriber, len) & (p->subex_slots - 1);
		while (p->subex_ix[k])
			k = (k + 1) & (p->subex_slots - 1);
		p->subex_ix[k] = (uint32_t)p->nsubex;
	}
}

size_t policy_subscriber_exception_count(const struct policy *p)
{
	return p->nsubex;
}

int policy_subscriber_exception(const struct policy *p, int32_t i,
				struct policy_exception *out)
{
	const struct subex *x;

	if (i < 0 || (size_t)i >= p->nsubex) {
		errno = EINVAL;
		return -1;
	}
	x = &p->subex[i];
	memset(out, 0, sizeof(*out));
	memcpy(out->subscriber, x->id, x->len);
	strncpy(out->profile, p->profiles[x->profile].name,
		sizeof(out->profile) - 1);
	out->expires = x->expires;
	out->added = x->added;
	if (x->note)
		strncpy(out->note, x->note, sizeof(out->note) - 1);
	return 0;
}
