/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Running the firewall tools: an argument vector, never a shell, with
 * standard input, output and error in memory files, so that neither side
 * can block on a pipe or take SIGPIPE.
 */
#ifndef PORTCULLIS_SPAWN_H
#define PORTCULLIS_SPAWN_H

#include <stddef.h>

/*
 * Run argv (argv[0] searched in PATH) with in[0 .. inlen) as standard
 * input. With out, its standard output is returned there (malloc'd,
 * NUL-terminated; caller frees). Returns 0 if it exited 0; else -1 with
 * errno (ENOENT: "argv[0]: not found in PATH (…)"; EPROTO: it ran and
 * failed, "argv[0] failed (exit N): its standard error") and the message,
 * on one line, in err (errlen bytes).
 */
int spawn_run(char *const argv[], const char *in, size_t inlen, char **out,
	      char *err, size_t errlen);

#endif
