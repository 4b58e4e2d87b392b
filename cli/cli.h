/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The subcommands of portcullis(8); each returns the process exit code. */
#ifndef PORTCULLIS_CLI_H
#define PORTCULLIS_CLI_H

#include "policy/policy.h"

int cmd_check(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_rules(int argc, char **argv);
/* Review block logs (cli/log.c). */
int cmd_log(int argc, char **argv);
/* Send argv to the daemon's control socket at path; print its answer. */
int cmd_remote(const char *path, int argc, char **argv);

/* Load path, printing every error to stderr. NULL on failure. */
struct policy *cli_load_policy(const char *path);

#endif
