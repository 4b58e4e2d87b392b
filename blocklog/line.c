// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One block-log line → struct blocklog_line. Pure (no I/O), so that a fuzz
 * target can call blocklog_line_parse() on any bytes. JSON is json-c's job;
 * this file only checks that the object is one the writer writes, by the
 * schema's names (schema.h, schema.c).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "blocklog/schema.h"
#include "common/rfc3339.h"
#include "common/utf8.h"

/* The writer nests nothing; a deep line is malformed early. */
#define MAX_DEPTH 4

struct blocklog_parser {
	struct json_tokener *tok;
};

struct blocklog_parser *blocklog_parser_new(void)
{
	struct blocklog_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->tok = json_tokener_new_ex(MAX_DEPTH);
	if (!p->tok) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT);
	return p;
}

void blocklog_parser_free(struct blocklog_parser *p)
{
	if (!p)
		return;
	json_tokener_free(p->tok);
	free(p);
}

/* A string member into buf. Returns 0, 1 when absent, -1 when of another
 * type, too long for buf or holding a NUL. */
static int get_str(struct json_object *o, const char *key, char *buf,
		   size_t len)
{
	struct json_object *v;
	const char *s;
	size_t n;

	if (!json_object_object_get_ex(o, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	/* The writer writes UTF-8 only (common/json.c): anything else is
	 * a damaged or forged line. */
	if (n >= len || strlen(s) != n || !utf8_valid(s, n))
		return -1;
	memcpy(buf, s, n + 1);
	return 0;
}

/* As get_str, for a member that must be there. */
static int need_str(struct json_object *o, const char *key, char *buf,
		    size_t len)
{
	return get_str(o, key, buf, len) == 0 ? 0 : -1;
}

/* A non-negative integer member no larger than max. Returns 0, 1 when
 * absent, -1 when of another type or out of range. */
static int get_uint(struct json_object *o, const char *key, uint64_t max,
		    uint64_t *out)
{
	struct json_object *v;
	uint64_t u;

	if (!json_object_object_get_ex(o, key, &v))
		return 1;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0)
		return -1;
	u = json_object_get_uint64(v);
	if (u > max)
		return -1;
	*out = u;
	return 0;
}

static int need_uint(struct json_object *o, const char *key, uint64_t max,
		     uint64_t *out)
{
	return get_uint(o, key, max, out) == 0 ? 0 : -1;
}

static int parse_addr(struct json_object *o, const char *key,
		      struct addr *a)
{
	char buf[64];

	if (need_str(o, key, buf, sizeof(buf)) < 0)
		return -1;
	return addr_parse(buf, a);
}

/* The action the writer named with policy_action_name(); reject, the
 * most lines' action, is tried first. */
static int parse_action(const char *s, enum policy_action *out)
{
	for (int a = POLICY_REJECT; a >= POLICY_ACCEPT; a--) {
		if (!strcmp(s, policy_action_name((enum policy_action)a))) {
			*out = (enum policy_action)a;
			return 0;
		}
	}
	return -1;
}

/* A block or shadow line's SYN: dst, dport, and the running policy's
 * action. */
static int parse_syn(struct json_object *o, struct blocklog_line *l)
{
	char action[16];
	uint64_t port;

	if (parse_addr(o, BLOCKLOG_F_DST, &l->dst) < 0 ||
	    need_uint(o, BLOCKLOG_F_DPORT, 65535, &port) < 0 ||
	    need_str(o, BLOCKLOG_F_ACTION, action, sizeof(action)) < 0 ||
	    parse_action(action, &l->action) < 0)
		return -1;
	l->dport = (uint16_t)port;
	return 0;
}

static int parse_block(struct json_object *o, struct blocklog_line *l)
{
	char mode[16];
	int r;

	if (parse_syn(o, l) < 0 ||
	    need_str(o, BLOCKLOG_F_PROFILE, l->profile,
		     sizeof(l->profile)) < 0 ||
	    need_str(o, BLOCKLOG_F_PREFIX, l->prefix, sizeof(l->prefix)) < 0)
		return -1;
	r = get_str(o, BLOCKLOG_F_MODE, mode, sizeof(mode));
	if (r < 0)
		return -1;
	l->monitor = r == 0 && !strcmp(mode, BLOCKLOG_MODE_MONITOR);
	return 0;
}

/* summary: blocked; detection: syns; both distinct and window_s. */
static int parse_window(struct json_object *o, const char *count,
			struct blocklog_line *l)
{
	uint64_t w;

	if (need_uint(o, count, UINT64_MAX, &l->count) < 0 ||
	    need_uint(o, BLOCKLOG_F_DISTINCT, UINT64_MAX, &l->distinct) < 0 ||
	    need_uint(o, BLOCKLOG_F_WINDOW, UINT32_MAX, &w) < 0)
		return -1;
	l->window_s = (uint32_t)w;
	return 0;
}

static int parse_until(struct json_object *o, bool required,
		       struct blocklog_line *l)
{
	char buf[64];
	int r = get_str(o, BLOCKLOG_F_UNTIL, buf, sizeof(buf));

	if (r == 1 && !required)
		return 0;
	if (r != 0)
		return -1;
	return rfc3339_parse(buf, &l->until);
}

static int parse_subscriber(struct json_object *o, bool required,
			    struct blocklog_line *l);

/* An exception for a prefix, or (rule 4) for a subscriber id. */
/* The gateway that made a change, when the line names one. */
static int parse_gateway(struct json_object *o, struct blocklog_line *l)
{
	int r = get_str(o, BLOCKLOG_F_GATEWAY, l->gateway, sizeof(l->gateway));

	if (r == 1)
		return 0;
	if (r != 0 || !blocklog_gateway_valid(l->gateway))
		return -1;
	return 0;
}

static int parse_except(struct json_object *o, struct blocklog_line *l)
{
	char op[16];

	if (need_str(o, BLOCKLOG_F_OP, op, sizeof(op)) < 0 ||
	    blocklog_except_op_find(op, &l->op) < 0 ||
	    parse_subscriber(o, false, l) < 0 ||
	    (!l->subscriber[0] &&
	     need_str(o, BLOCKLOG_F_PREFIX, l->prefix, sizeof(l->prefix)) < 0) ||
	    need_str(o, BLOCKLOG_F_PROFILE, l->profile,
		     sizeof(l->profile)) < 0 ||
	    parse_until(o, false, l) < 0 ||
	    get_str(o, BLOCKLOG_F_NOTE, l->note, sizeof(l->note)) < 0 ||
	    parse_gateway(o, l) < 0)
		return -1;
	return 0;
}

static int parse_fallback(struct json_object *o, struct blocklog_line *l)
{
	char buf[64];

	if (need_str(o, BLOCKLOG_F_SINCE, buf, sizeof(buf)) < 0 ||
	    rfc3339_parse(buf, &l->since) < 0 ||
	    parse_until(o, true, l) < 0 ||
	    need_uint(o, BLOCKLOG_F_REJECTED, UINT64_MAX,
		      &l->fallback[POLICY_REJECT]) < 0 ||
	    need_uint(o, BLOCKLOG_F_DROPPED, UINT64_MAX,
		      &l->fallback[POLICY_DROP]) < 0 ||
	    need_uint(o, BLOCKLOG_F_ACCEPTED, UINT64_MAX,
		      &l->fallback[POLICY_ACCEPT]) < 0)
		return -1;
	return 0;
}

/* A release line's reason is optional; when given it is one of the
 * schema's. */
static int parse_release(struct json_object *o, struct blocklog_line *l)
{
	char buf[16];
	int r = get_str(o, BLOCKLOG_F_REASON, buf, sizeof(buf));

	if (r == 1)
		return 0;
	if (r < 0 || blocklog_release_find(buf, &l->reason) < 0)
		return -1;
	l->has_reason = true;
	return 0;
}

/* The source's subscriber id: a session line needs one, the others
 * name it when the source has a session. Anything but an id the
 * daemon accepts (blocklog_subscriber_valid) is damage. */
static int parse_subscriber(struct json_object *o, bool required,
			    struct blocklog_line *l)
{
	int r = get_str(o, BLOCKLOG_F_SUBSCRIBER, l->subscriber,
			sizeof(l->subscriber));

	if (r == 1 && !required)
		return 0;
	if (r != 0 || !blocklog_subscriber_valid(l->subscriber))
		return -1;
	return 0;
}

/* A session's "prefix", when given, is src's own: its network, no host
 * bits, the same family. Without one, src is a single address. */
static int parse_session_prefix(struct json_object *o,
				struct blocklog_line *l)
{
	struct blocklog_filter f = { 0 };
	bool v4 = addr_is_v4(&l->src);
	char err[8];
	int r = get_str(o, BLOCKLOG_F_PREFIX, l->prefix, sizeof(l->prefix));

	l->src_len = v4 ? 32 : 128;
	if (r == 1)
		return 0;
	if (r < 0 || blocklog_filter_src(&f, l->prefix, err, sizeof(err)) < 0 ||
	    memcmp(f.src.b, l->src.b, sizeof(f.src.b)))
		return -1;
	l->src_len = f.src_len - (v4 ? 96 : 0);
	return 0;
}

/* subscriber, src[, prefix], state; a stop's reason; source; a start's
 * until. A reason on a start, an until on a stop: not the writer's, so
 * ignored. */
static int parse_session(struct json_object *o, struct blocklog_line *l)
{
	char buf[16];

	if (parse_subscriber(o, true, l) < 0 ||
	    parse_session_prefix(o, l) < 0 ||
	    need_str(o, BLOCKLOG_F_STATE, buf, sizeof(buf)) < 0 ||
	    blocklog_session_state_find(buf, &l->state) < 0 ||
	    get_str(o, BLOCKLOG_F_SOURCE, l->source, sizeof(l->source)) < 0)
		return -1;
	if (l->state == BLOCKLOG_SESSION_START)
		return parse_until(o, false, l);
	if (need_str(o, BLOCKLOG_F_REASON, buf, sizeof(buf)) < 0 ||
	    blocklog_session_end_find(buf, &l->end) < 0)
		return -1;
	return 0;
}

/* dst, dport, action[, profile][, prefix], shadow_action
 * [, shadow_profile][, shadow_prefix]. */
static int parse_shadow(struct json_object *o, struct blocklog_line *l)
{
	char action[16];

	if (parse_syn(o, l) < 0 ||
	    need_str(o, BLOCKLOG_F_SHADOW_ACTION, action,
		     sizeof(action)) < 0 ||
	    parse_action(action, &l->shadow_action) < 0 ||
	    get_str(o, BLOCKLOG_F_PROFILE, l->profile,
		    sizeof(l->profile)) < 0 ||
	    get_str(o, BLOCKLOG_F_PREFIX, l->prefix, sizeof(l->prefix)) < 0 ||
	    get_str(o, BLOCKLOG_F_SHADOW_PROFILE, l->shadow_profile,
		    sizeof(l->shadow_profile)) < 0 ||
	    get_str(o, BLOCKLOG_F_SHADOW_PREFIX, l->shadow_prefix,
		    sizeof(l->shadow_prefix)) < 0)
		return -1;
	return 0;
}

/* The held-back disagreements by direction, and window_s. */
static int parse_shadow_summary(struct json_object *o,
				struct blocklog_line *l)
{
	uint64_t w;

	for (int d = 0; d < BLOCKLOG_SHADOW_DIRS; d++)
		if (need_uint(o, blocklog_shadow_dir_name(d), UINT64_MAX,
			      &l->shadow[d]) < 0)
			return -1;
	if (need_uint(o, BLOCKLOG_F_WINDOW, UINT32_MAX, &w) < 0)
		return -1;
	l->window_s = (uint32_t)w;
	return 0;
}

static int parse_object(struct json_object *o, struct blocklog_line *l)
{
	char buf[64];

	if (need_str(o, BLOCKLOG_F_TS, buf, sizeof(buf)) < 0 ||
	    rfc3339_parse_ms(buf, &l->ts_ms) < 0 ||
	    need_str(o, BLOCKLOG_F_EVENT, buf, sizeof(buf)) < 0 ||
	    blocklog_kind_find(buf, &l->kind) < 0 ||
	    get_uint(o, BLOCKLOG_F_LOST, UINT64_MAX, &l->lost) < 0)
		return -1;
	if (l->kind == BLOCKLOG_EXCEPT)
		return parse_except(o, l);
	if (l->kind == BLOCKLOG_FALLBACK)
		return parse_fallback(o, l);
	if (parse_addr(o, BLOCKLOG_F_SRC, &l->src) < 0)
		return -1;
	l->has_src = true;
	if (l->kind == BLOCKLOG_SESSION)
		return parse_session(o, l);
	if (parse_subscriber(o, false, l) < 0)
		return -1;
	switch (l->kind) {
	case BLOCKLOG_BLOCK:
		return parse_block(o, l);
	case BLOCKLOG_SUMMARY:
		/* "kernel" is a part of "blocked", and optional. */
		if (parse_window(o, BLOCKLOG_F_BLOCKED, l) < 0 ||
		    get_uint(o, BLOCKLOG_F_KERNEL, l->count, &l->kernel) < 0)
			return -1;
		return 0;
	case BLOCKLOG_DETECTION:
		return parse_window(o, BLOCKLOG_F_SYNS, l);
	case BLOCKLOG_QUARANTINE:
		if (parse_gateway(o, l) < 0 || parse_until(o, true, l) < 0 ||
		    need_uint(o, BLOCKLOG_F_SYNS, UINT64_MAX, &l->count) < 0 ||
		    need_uint(o, BLOCKLOG_F_DISTINCT, UINT64_MAX,
			      &l->distinct) < 0)
			return -1;
		return 0;
	case BLOCKLOG_RELEASE:
		if (parse_gateway(o, l) < 0)
			return -1;
		return parse_release(o, l);
	case BLOCKLOG_SHADOW:
		return parse_shadow(o, l);
	case BLOCKLOG_SHADOW_SUMMARY:
		return parse_shadow_summary(o, l);
	default:
		return -1;
	}
}

/*
 * json-c (0.16) keeps a pending UTF-16 high surrogate across
 * json_tokener_reset(): after a line cut just past one ("\ud83d), the
 * next line's first \u escape would come out with a U+FFFD glued on. A
 * parse that completes leaves none pending, so only a line that did not
 * parse needs a fresh tokener. Out of memory, the old one stays.
 */
static void parser_renew(struct blocklog_parser *p)
{
	struct json_tokener *tok = json_tokener_new_ex(MAX_DEPTH);

	if (!tok)
		return;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_tokener_free(p->tok);
	p->tok = tok;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int blocklog_line_parse(struct blocklog_parser *p, const char *buf,
			size_t len, struct blocklog_line *out)
{
	struct json_object *o;
	size_t end;
	int ret = -1;

	while (len && blank(buf[len - 1]))
		len--;
	if (!len || len > INT32_MAX)
		return -1;
	memset(out, 0, sizeof(*out));
	json_tokener_reset(p->tok);
	o = json_tokener_parse_ex(p->tok, buf, (int)len);
	if (!o) {
		parser_renew(p);
		return -1;
	}
	end = json_tokener_get_parse_end(p->tok);
	while (end < len && blank(buf[end]))
		end++;
	if (end == len && json_object_is_type(o, json_type_object))
		ret = parse_object(o, out);
	json_object_put(o);
	return ret;
}
