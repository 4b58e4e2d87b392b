// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * portcullis diff OLD NEW [--json]: what a policy change changes, from
 * the two compiled policies (policy_diff), down to the address ranges
 * whose decision moves. Exit 0 when nothing does, 1 when something does,
 * 2 on error, as diff(1).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/rfc3339.h"

struct diff_out {
	bool json;
	size_t n;
	size_t ranges, entries;
};

static const char *expiry(int64_t t, char *buf, size_t len)
{
	return t ? rfc3339_format(t, buf, len) : "never";
}

static const char *const kind_name[] = {
	[POLICY_DIFF_MODE] = "mode",
	[POLICY_DIFF_PROFILE_ADDED] = "profile_added",
	[POLICY_DIFF_PROFILE_REMOVED] = "profile_removed",
	[POLICY_DIFF_PROFILE_PORT] = "profile_port",
	[POLICY_DIFF_RELAY_ADDED] = "relay_added",
	[POLICY_DIFF_RELAY_REMOVED] = "relay_removed",
	[POLICY_DIFF_DETECTION] = "detection",
	[POLICY_DIFF_ENTRY_ADDED] = "entry_added",
	[POLICY_DIFF_ENTRY_REMOVED] = "entry_removed",
	[POLICY_DIFF_ENTRY_CHANGED] = "entry_changed",
	[POLICY_DIFF_RANGE] = "range",
};

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static json_object *entry_json(const struct policy_entry_info *e)
{
	json_object *o = json_object_new_object();
	char t[32], w[300];

	add_str(o, "prefix", e->prefix);
	add_str(o, "profile", e->profile);
	add_str(o, "note", e->note);
	add_str(o, "expires", e->expires ? expiry(e->expires, t, sizeof(t)) :
		NULL);
	add_str(o, "where", policy_entry_where(e, w, sizeof(w)));
	return o;
}

static void add_port(json_object *o, int port)
{
	json_object_object_add(o, "port", port < 0 ?
			       json_object_new_string("other") :
			       json_object_new_int(port));
}

static void print_json(const struct policy_diff_item *it, size_t n)
{
	json_object *o = json_object_new_object();

	add_str(o, "kind", kind_name[it->kind]);
	switch (it->kind) {
	case POLICY_DIFF_MODE:
	case POLICY_DIFF_DETECTION:
		if (it->kind == POLICY_DIFF_DETECTION)
			add_str(o, "field", it->name);
		add_str(o, "old", it->old_text);
		add_str(o, "new", it->new_text);
		break;
	case POLICY_DIFF_PROFILE_PORT:
		add_str(o, "profile", it->name);
		if (it->port < 0)
			add_str(o, "port", "default");
		else
			add_port(o, it->port);
		add_str(o, "old", policy_action_name(it->old_action));
		add_str(o, "new", policy_action_name(it->new_action));
		break;
	case POLICY_DIFF_ENTRY_ADDED:
	case POLICY_DIFF_ENTRY_REMOVED:
	case POLICY_DIFF_ENTRY_CHANGED:
		add_str(o, "prefix", it->name);
		if (it->has_old)
			json_object_object_add(o, "old", entry_json(&it->old_e));
		if (it->has_new)
			json_object_object_add(o, "new", entry_json(&it->new_e));
		break;
	case POLICY_DIFF_RANGE:
		add_str(o, "range", it->name);
		add_port(o, it->port);
		add_str(o, "old", policy_action_name(it->old_action));
		add_str(o, "new", policy_action_name(it->new_action));
		add_str(o, "why", it->why);
		break;
	default:
		add_str(o, "name", it->name);
		break;
	}
	printf("%s%s", n ? ",\n" : "", json_object_to_json_string_ext(o,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static int on_change(void *ctx, const struct policy_diff_item *it)
{
	struct diff_out *out = ctx;

	char line[2048];

	if (out->json) {
		print_json(it, out->n);
	} else {
		policy_diff_format(it, line, sizeof(line));
		printf("%s\n", line);
	}
	out->n++;
	out->ranges += it->kind == POLICY_DIFF_RANGE;
	out->entries += it->kind >= POLICY_DIFF_ENTRY_ADDED &&
			it->kind <= POLICY_DIFF_ENTRY_CHANGED;
	return ferror(stdout) ? -1 : 0;
}

static const struct option diff_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ NULL, 0, NULL, 0 },
};

static int run_diff(const struct cli_cmd *c, const struct cli_req *r,
		    int argc, char **argv)
{
	struct diff_out out = { 0 };
	struct policy *a = NULL, *b = NULL;
	struct cli_args args;
	long n;
	int opt, ret = 2;

	(void)r;
	cli_args_init(&args, c, argc, argv);
	while ((opt = cli_args_next(&args)) > 0)
		out.json = true;
	if (opt < 0)
		return args.exit;
	a = cli_load_policy(args.operands[0]);
	b = cli_load_policy(args.operands[1]);
	if (!a || !b)
		goto out;
	if (out.json)
		printf("[");
	n = policy_diff(a, b, time(NULL), on_change, &out);
	if (out.json)
		printf("%s]\n", out.n ? "\n" : "");
	if (n < 0) {
		fprintf(stderr, "portcullis diff: %s\n", strerror(errno));
		goto out;
	}
	if (!out.json && n)
		printf("%ld change%s: %zu of entries, %zu of ranges, %zu other\n",
		       n, n == 1 ? "" : "s", out.entries, out.ranges,
		       (size_t)n - out.entries - out.ranges);
	ret = n ? 1 : 0;
	if (fflush(stdout) == EOF)
		ret = 2;
out:
	policy_free(a);
	policy_free(b);
	return ret;
}

const struct cli_cmd cli_cmd_diff = {
	.name = "diff",
	.synopsis = "OLD NEW [--json]",
	.help = "What changes from policy OLD to policy NEW, from the two as "
		"loaded (not their\ntext): the mode, profiles' port actions, "
		"relays, detection, entries added,\nremoved or changed "
		"(profile, note, expiry, with file and line on each side),\n"
		"and every source range whose decision changes on a port, as "
		"the fewest\nprefixes, with the entries that decide it on "
		"each side. Entries are taken as\nthey stand now (an expired "
		"one decides nothing). Nothing printed and exit 0\nwhen "
		"nothing changes; exit 1 when something does, 2 on an error "
		"(as diff(1)).\n\n"
		"  --json   one JSON array of the changes\n",
	.opts = diff_opts,
	.need = { "OLD", "NEW" },
	.max = 2,
	.run = run_diff,
};
