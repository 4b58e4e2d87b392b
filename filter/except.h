/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live exceptions: `portcullis except add|del|list` over the control
 * socket. A change rebuilds the policy (file plus exceptions) away from
 * the verdict threads, writes the state file atomically, swaps the policy
 * in, and leaves an audit line in the block log. Expired ones are removed
 * the same way, so the file's own entry for that prefix decides again.
 */
#ifndef PORTCULLIS_EXCEPT_H
#define PORTCULLIS_EXCEPT_H

#include <stdint.h>

#include "common/strbuf.h"
#include "policy/policy.h"

struct daemon;

/* Read the state file into d at start-up. Returns 0, or -1 (printed). */
int except_load_state(struct daemon *d);

/* The `except` command: argv[0] is "except". Returns 0 or 1 (failed). */
int except_command(struct daemon *d, int argc, char **argv,
		   struct strbuf *out);

/* A change another gateway made (filter/cluster.c): applied as if made
 * here, in one commit, not published again. */
struct except_change {
	bool del;
	struct policy_exception e;
	char gateway[64];
};
void except_apply(struct daemon *d, const struct except_change *c, size_t n);

/* Remove exceptions whose time has come (from the main loop's tick). */
void except_expire(struct daemon *d, int64_t now);

#endif
