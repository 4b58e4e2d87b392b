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

struct daemon;

/* Read the state file into d at start-up. Returns 0, or -1 (printed). */
int except_load_state(struct daemon *d);

/* The `except` command: argv[0] is "except". Returns 0 or 1 (failed). */
int except_command(struct daemon *d, int argc, char **argv,
		   struct strbuf *out);

/* Remove exceptions whose time has come (from the main loop's tick). */
void except_expire(struct daemon *d, int64_t now);

#endif
