// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Every command's arguments, parsed one way: getopt_long over the
 * command's options with --help added, then its operands counted. A
 * mistake is one line naming it, the usage, exit 2.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void usage_lines(const struct cli_cmd *c, FILE *f, bool *first)
{
	const char *s = c->synopsis;

	if (!s) {
		for (size_t i = 0; c->subs && c->subs[i]; i++)
			usage_lines(c->subs[i], f, first);
		return;
	}
	do {
		size_t len = strcspn(s, "\n");

		fprintf(f, "%s portcullis %s%s%s%.*s\n",
			*first ? "usage:" : "      ",
			c->remote ? "[--control PATH] " : "", c->name,
			len ? " " : "", (int)len, s);
		*first = false;
		s += len;
	} while (*s++);
}

void cli_usage(const struct cli_cmd *c, FILE *f)
{
	bool first = true;

	usage_lines(c, f, &first);
}

int cli_fail(const struct cli_cmd *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "portcullis: ");
	if (c->name)
		fprintf(stderr, "%s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	cli_usage(c, stderr);
	return 2;
}

void cli_args_init(struct cli_args *a, const struct cli_cmd *c, int argc,
		   char **argv)
{
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	a->cmd = c;
	a->argc = argc;
	a->argv = argv;
	for (; c->opts && c->opts[n].name && n < CLI_OPTS_MAX; n++)
		a->opts[n] = c->opts[n];
	a->opts[n] = (struct option){ "help", no_argument, NULL, 'h' };
	/* '+': a group's options end where its subcommand begins; ':': a
	 * missing value is told from an unknown option. */
	snprintf(a->shortopts, sizeof(a->shortopts), "%s:h%s",
		 c->in_order ? "+" : "", c->shortopts ? c->shortopts : "");
	optind = 0;		/* glibc: start afresh, argv[0] skipped */
	opterr = 0;		/* the messages are ours */
}

static const char *long_name(const struct cli_args *a, int val)
{
	for (const struct option *o = a->opts; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

/* getopt_long refused the option at argv[optind - 1]: say which. */
static int bad_option(struct cli_args *a)
{
	const char *el = a->argv[optind - 1];
	size_t len;
	char cand[160] = "";
	int n = 0;

	if (optopt && !strncmp(el, "--", 2) && strchr(el, '='))
		return cli_fail(a->cmd, "option '--%s' takes no value",
				long_name(a, optopt));
	if (optopt)
		return cli_fail(a->cmd, "unknown option '-%c'", optopt);
	el += strspn(el, "-");
	len = strcspn(el, "=");
	for (const struct option *o = a->opts; o->name; o++) {
		if (strncmp(o->name, el, len))
			continue;
		snprintf(cand + strlen(cand), sizeof(cand) - strlen(cand),
			 "%s--%s", n++ ? ", " : "", o->name);
	}
	if (n > 1)
		return cli_fail(a->cmd, "ambiguous option '--%.*s' (%s)",
				(int)len, el, cand);
	return cli_fail(a->cmd, "unknown option '--%.*s'", (int)len, el);
}

static int missing_value(struct cli_args *a)
{
	if (!strncmp(a->argv[optind - 1], "--", 2))
		return cli_fail(a->cmd, "option '--%s' needs a value",
				long_name(a, optopt));
	return cli_fail(a->cmd, "option '-%c' needs a value", optopt);
}

static int check_operands(struct cli_args *a)
{
	const struct cli_cmd *c = a->cmd;
	char missing[160] = "";
	int i;

	a->operands = a->argv + optind;
	a->noperands = a->argc - optind;
	for (i = a->noperands; i < CLI_NEED_MAX && c->need[i]; i++)
		snprintf(missing + strlen(missing),
			 sizeof(missing) - strlen(missing), "%s%s",
			 *missing ? " " : "", c->need[i]);
	if (*missing) {
		a->exit = cli_fail(c, "missing %s", missing);
		return -1;
	}
	if (c->max != CLI_ANY && a->noperands > c->max) {
		a->exit = cli_fail(c, "unexpected argument '%s'",
				   a->operands[c->max]);
		return -1;
	}
	return 0;
}

int cli_args_next(struct cli_args *a)
{
	int o = getopt_long(a->argc, a->argv, a->shortopts, a->opts, NULL);

	a->arg = optarg;
	switch (o) {
	case -1:
		return check_operands(a);
	case 'h':
		cli_usage(a->cmd, stdout);
		if (a->cmd->help)
			printf("\n%s", a->cmd->help);
		a->exit = 0;
		return -1;
	case ':':
		a->exit = missing_value(a);
		return -1;
	case '?':
		a->exit = bad_option(a);
		return -1;
	}
	return o;
}

int cli_dispatch(const struct cli_cmd *group, const struct cli_req *r,
		 int argc, char **argv)
{
	for (size_t i = 0; group->subs[i]; i++) {
		const struct cli_cmd *c = group->subs[i];
		const char *word = strrchr(c->name, ' ');

		if (!strcmp(word ? word + 1 : c->name, argv[0]))
			return c->run(c, r, argc, argv);
	}
	return cli_fail(group, "unknown command '%s'", argv[0]);
}

int cli_group_run(const struct cli_cmd *group, const struct cli_req *r,
		  int argc, char **argv)
{
	struct cli_args a;
	int o;

	cli_args_init(&a, group, argc, argv);
	while ((o = cli_args_next(&a)) > 0)
		;
	if (o < 0)
		return a.exit;
	return cli_dispatch(group, r, a.noperands, a.operands);
}

int cli_count(const struct cli_cmd *c, const char *what, const char *s,
	      unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || s[0] < '0' || s[0] > '9' || *out < 1 ||
	    *out > max)
		return cli_fail(c, "%s%sN must be a number from 1 to %lu, "
				"found '%s'", what ? what : "",
				what ? ": " : "", max, s);
	return 0;
}
