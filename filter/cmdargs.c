// SPDX-License-Identifier: GPL-2.0-or-later
#include <getopt.h>
#include <string.h>

#include "filter/cmdargs.h"

void cmdargs_bad_option(struct strbuf *out, const char *cmd, int c,
			char **argv)
{
	const char *el = argv[optind - 1];

	if (c == ':')
		strbuf_printf(out, "%s: option '%s' needs a value\n", cmd, el);
	else if (!strncmp(el, "--", 2) && (!optopt || strchr(el, '=')))
		strbuf_printf(out, optopt ? "%s: option '%.*s' takes no value\n"
			      : "%s: unknown option '%.*s'\n", cmd,
			      (int)strcspn(el, "="), el);
	else
		strbuf_printf(out, "%s: unknown option '-%c'\n", cmd, optopt);
}

int cmdargs_operands(int argc, char **argv, int min, int max,
		     const char *cmd, const char *need, struct strbuf *out)
{
	if (argc - optind < min) {
		strbuf_printf(out, "%s: missing %s\n", cmd, need);
		return -1;
	}
	if (argc - optind > max) {
		strbuf_printf(out, "%s: unexpected argument '%s'\n", cmd,
			      argv[optind + max]);
		return -1;
	}
	return 0;
}
