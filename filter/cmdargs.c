// SPDX-License-Identifier: GPL-2.0-or-later
#include <getopt.h>
#include <string.h>

#include "common/duration.h"
#include "common/rfc3339.h"

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

/* The longest --for: a century, so now + it stays a time. */
#define FOR_MAX (100ULL * 36525 * 864)

int cmdargs_expiry(const char *cmd, int c, const char *val, int64_t now,
		   int64_t *expires, bool *seen, struct strbuf *out)
{
	uint64_t secs;

	if (*seen) {
		strbuf_printf(out, "%s: --for and --until exclude each other\n",
			      cmd);
		return -1;
	}
	*seen = true;
	if (c == 'f') {
		/* A leading zero is no octal here, as in YAML. */
		if (duration_parse(val, FOR_MAX, &secs) == -1 || !secs) {
			strbuf_printf(out, "--for: expected a duration "
				      DURATION_EXAMPLES ", up to 36525d, found "
				      "'%s'\n", val);
			return -1;
		}
		*expires = now + (int64_t)secs;
		return 0;
	}
	if (rfc3339_parse(val, expires) < 0) {
		strbuf_printf(out, "--until: expected an RFC 3339 time such as "
			      "2027-03-01T00:00:00Z, found '%s'\n", val);
		return -1;
	}
	if (*expires <= now) {
		strbuf_printf(out, "--until: %s is not in the future\n", val);
		return -1;
	}
	return 0;
}
