/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's requests, refused as the command line refuses them
 * (cli/args.c) for clients other than portcullis(8): an unknown option, a
 * missing or an extra operand is one line naming it.
 */
#ifndef PORTCULLIS_CMDARGS_H
#define PORTCULLIS_CMDARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"

/* getopt_long (opterr 0, optstring starting ':') returned c, ':' or '?',
 * for argv[optind - 1]: the line saying so into out. */
void cmdargs_bad_option(struct strbuf *out, const char *cmd, int c,
			char **argv);

/* From argv[optind] on, min to max operands (need: the first required).
 * Returns 0, or -1 with the line into out. */
int cmdargs_operands(int argc, char **argv, int min, int max,
		     const char *cmd, const char *need, struct strbuf *out);

/* Option c ('f': --for DURATION, 'u': --until TIME) of cmd, value val,
 * into *expires (UNIX s) at now; *seen says one came before (they
 * exclude each other). Returns 0, or -1 with the line into out. */
int cmdargs_expiry(const char *cmd, int c, const char *val, int64_t now,
		   int64_t *expires, bool *seen, struct strbuf *out);

#endif
