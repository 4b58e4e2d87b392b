/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * portcullis(8): one file per command. Each command is a struct cli_cmd
 * (its usage, its options, its operands) parsed by cli_args_next() the
 * same way: --help prints its usage on stdout and exits 0; an unknown
 * option, a missing or an extra argument is one line on stderr naming
 * it, then the usage, and exit 2. The live daemon's commands are parsed
 * whole before anything is sent (cli_remote).
 */
#ifndef PORTCULLIS_CLI_H
#define PORTCULLIS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "policy/policy.h"

#define CLI_ANY (-1)		/* max operands: no limit */
#define CLI_NEED_MAX 4
#define CLI_OPTS_MAX 12

/* The request to the live daemon: its socket, and the arguments as sent
 * (from the command's name on: "except", "add", …). */
struct cli_req {
	const char *control;
	int argc;
	char **argv;
};

struct cli_cmd {
	const char *name;	/* "explain", "except add"; NULL: portcullis */
	/* After "portcullis NAME ": its usage, lines split by '\n'. NULL:
	 * the usage of each of subs. */
	const char *synopsis;
	const char *help;	/* for --help, after the usage: what and how */
	const char *shortopts;	/* getopt's, without 'h' ("o:": -o takes a value) */
	/* { 0 }-ended, at most CLI_OPTS_MAX; NULL: none. --help and -h are
	 * added (val 'h' is theirs). */
	const struct option *opts;
	const char *need[CLI_NEED_MAX];	/* required operands, in order */
	int max;		/* operands at most, or CLI_ANY */
	bool remote;		/* the live daemon's: [--control PATH] */
	bool in_order;		/* options end at the first operand (a
				 * group: the rest is its subcommand's) */
	const struct cli_cmd *const *subs;	/* a group's, NULL-ended */
	/* Run with argv[0] the command's own word; returns the exit code. */
	int (*run)(const struct cli_cmd *c, const struct cli_req *r, int argc,
		   char **argv);
};

/* One parse of argv by a command's rules (cli_args_init). */
struct cli_args {
	const struct cli_cmd *cmd;
	int argc;
	char **argv;
	const char *arg;	/* the value of the option just returned */
	char **operands;	/* once done: the operands … */
	int noperands;		/* … and how many */
	int exit;		/* once stopped: the exit code */
	struct option opts[CLI_OPTS_MAX + 2];
	char shortopts[32];
};

/* Begin parsing argv (argv[0]: the command's own word) by c's rules.
 * getopt_long's state is global: one parse at a time. */
void cli_args_init(struct cli_args *a, const struct cli_cmd *c, int argc,
		   char **argv);

/*
 * The next option of a's argv: its val (> 0), with a->arg its value.
 * 0: the options are done and the operands (a->operands) are as many as
 * c->need and c->max allow. -1: stop with exit code a->exit: 0 once
 * --help printed the usage and help on stdout; 2 once an unknown option,
 * a missing value or operand, or an extra operand was named on stderr,
 * with the usage after it.
 */
int cli_args_next(struct cli_args *a);

/* A usage error of c: "portcullis: NAME: " and the message on stderr,
 * then c's usage. Returns 2, the exit code. */
int cli_fail(const struct cli_cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A count N from 1 to max in s (decimal digits only) into *out: 0, or
 * the usage error "WHAT: N must be a number from 1 to MAX, found 'S'"
 * (what NULL: no "WHAT: ") and its exit code, 2. */
int cli_count(const struct cli_cmd *c, const char *what, const char *s,
	      unsigned long max, unsigned long *out);

/* c's usage lines ("usage: portcullis …") to f. */
void cli_usage(const struct cli_cmd *c, FILE *f);

/* Run the subcommand of group that argv[0] names (argv: what follows
 * the group's own options). Returns the exit code. */
int cli_dispatch(const struct cli_cmd *group, const struct cli_req *r,
		 int argc, char **argv);

/* The run of a group with no options of its own: parse, dispatch. */
int cli_group_run(const struct cli_cmd *group, const struct cli_req *r,
		  int argc, char **argv);

/* The run of a live daemon's command whose values only the daemon
 * checks: parse by c's rules, then send r. Returns the exit code. */
int cli_remote_run(const struct cli_cmd *c, const struct cli_req *r,
		   int argc, char **argv);

/* Send r to the daemon's control socket; print its answer (stdout on
 * success, stderr on failure). Returns the exit code: 0, 1, or 2 when
 * r cannot be encoded. */
int cli_remote(const struct cli_req *r);

/* Load path, printing every error to stderr. NULL on failure. */
struct policy *cli_load_policy(const char *path);
/* The same, with the live exceptions of the state file at state (NULL:
 * none; a missing file: none). */
struct policy *cli_load_policy_ex(const char *path, const char *state);

extern const struct cli_cmd cli_cmd_check, cli_cmd_explain, cli_cmd_rules,
	cli_cmd_log, cli_cmd_stats, cli_cmd_top, cli_cmd_quarantine,
	cli_cmd_release, cli_cmd_reload, cli_cmd_except, cli_cmd_session,
	cli_cmd_report, cli_cmd_diff, cli_cmd_shadow;

#endif
