// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The ledger: what the bucket last said of each key, as far as this
 * gateway knows. It makes "the newest revision wins" hold whatever order
 * the records and this gateway's own changes meet in: a record is given
 * to the daemon only if it is newer than every one seen for its key, and
 * not while a local change to that key waits (that change, published
 * later, gets a newer revision and wins everywhere).
 *
 * Open addressing, linear probing, string keys; entries are never taken
 * out (a key once seen stays a few dozen bytes until the daemon stops).
 */
#include <stdlib.h>
#include <string.h>

#include "cluster/internal.h"
#include "common/hash.h"

static uint64_t key_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return hash_mix64(h);
}

void ledger_free(struct ledger *l)
{
	for (size_t i = 0; i < l->cap; i++) {
		free(l->e[i].key);
		free(l->e[i].quarantine);
		free(l->e[i].held);
	}
	free(l->e);
	memset(l, 0, sizeof(*l));
}

static struct ledger_entry *slot(struct ledger_entry *e, size_t cap,
				 const char *key)
{
	size_t i = key_hash(key) & (cap - 1);

	while (e[i].key && strcmp(e[i].key, key))
		i = (i + 1) & (cap - 1);
	return &e[i];
}

static int grow(struct ledger *l)
{
	size_t cap = l->cap ? l->cap * 2 : 1024;
	struct ledger_entry *e = calloc(cap, sizeof(*e));

	if (!e)
		return -1;
	for (size_t i = 0; i < l->cap; i++)
		if (l->e[i].key)
			*slot(e, cap, l->e[i].key) = l->e[i];
	free(l->e);
	l->e = e;
	l->cap = cap;
	return 0;
}

struct ledger_entry *ledger_get(struct ledger *l, const char *key)
{
	struct ledger_entry *e;

	if ((l->n + 1) * 10 > l->cap * 7 && grow(l) < 0)
		return NULL;
	e = slot(l->e, l->cap, key);
	if (!e->key) {
		e->key = strdup(key);
		if (!e->key)
			return NULL;
		l->n++;
	}
	return e;
}

bool ledger_take(struct ledger *l, const char *key, uint64_t rev)
{
	struct ledger_entry *e = ledger_get(l, key);

	/* Out of memory: apply it (a record lost would be worse than one
	 * applied out of turn). */
	if (!e)
		return true;
	if (e->pending || rev <= e->rev)
		return false;
	e->rev = rev;
	return true;
}

void ledger_pending(struct ledger *l, const char *key, int delta,
		    uint64_t rev)
{
	struct ledger_entry *e = ledger_get(l, key);

	if (!e)
		return;
	if (delta > 0)
		e->pending++;
	else if (e->pending)
		e->pending--;
	if (rev > e->rev)
		e->rev = rev;
}

void ledger_note(struct ledger *l, const char *key,
		 const struct cluster_record *r)
{
	struct ledger_entry *e = ledger_get(l, key);

	if (!e)
		return;
	if (r->kind == CLUSTER_QUARANTINE && r->op == CLUSTER_QUARANTINED) {
		if (!e->quarantine) {
			e->quarantine = malloc(sizeof(*e->quarantine));
			if (!e->quarantine)
				return;
			l->live++;
		}
		*e->quarantine = *r;
	} else if (e->quarantine) {
		free(e->quarantine);
		e->quarantine = NULL;
		l->live--;
	}
}

void ledger_expire(struct ledger *l, int64_t now)
{
	for (size_t i = 0; i < l->cap; i++) {
		struct ledger_entry *e = &l->e[i];

		if (e->quarantine && e->quarantine->until &&
		    e->quarantine->until <= now) {
			free(e->quarantine);
			e->quarantine = NULL;
			l->live--;
		}
	}
}

void ledger_hold(struct ledger *l, const char *key,
		 const struct cluster_record *r)
{
	struct ledger_entry *e = ledger_get(l, key);

	if (!e || !e->pending || r->revision <= e->rev ||
	    (e->held && r->revision <= e->held->revision))
		return;
	if (!e->held) {
		e->held = malloc(sizeof(*e->held));
		if (!e->held)
			return;
	}
	*e->held = *r;
}

bool ledger_unhold(struct ledger *l, const char *key,
		   struct cluster_record *r)
{
	struct ledger_entry *e = ledger_get(l, key);
	bool newer;

	if (!e || e->pending || !e->held)
		return false;
	newer = e->held->revision > e->rev;
	if (newer) {
		*r = *e->held;
		e->rev = r->revision;
	}
	free(e->held);
	e->held = NULL;
	return newer;
}

void ledger_forget_revisions(struct ledger *l)
{
	for (size_t i = 0; i < l->cap; i++) {
		l->e[i].rev = 0;
		free(l->e[i].held);
		l->e[i].held = NULL;
	}
}
