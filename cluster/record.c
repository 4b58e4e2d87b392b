// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A shared record: its key and its JSON value, both ways. Pure: no NATS
 * here, so the format is tested (and fuzzed) without a server. What a
 * value says is checked as far as this room can (lengths, characters,
 * the key it came under); whether its profile exists or its prefix
 * parses is the applier's to say (filter/cluster.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cluster/cluster.h"
#include "common/rfc3339.h"
#include "common/strbuf.h"
#include "common/utf8.h"

static const char *const kinds[] = { "exception", "quarantine" };
static const char *const ops[] = { "add", "del", "quarantine", "release" };

const char *cluster_op_name(uint8_t op)
{
	return op < 4 ? ops[op] : "?";
}

bool cluster_gateway_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 63)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return false;
	return true;
}

/* subject escaped into out: [A-Za-z0-9-] as they are, else _XX. */
static int escape(const char *subject, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (!subject[0])
		return -1;
	for (const unsigned char *s = (const unsigned char *)subject; *s; s++) {
		if (o + 4 > size)
			return -1;
		if ((*s < 0x80 && isalnum(*s)) || *s == '-') {
			out[o++] = (char)*s;
		} else {
			out[o++] = '_';
			out[o++] = hex[*s >> 4];
			out[o++] = hex[*s & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

int cluster_subject_pattern(const char *subject, bool by_subscriber,
			    char *out, size_t size)
{
	int n = snprintf(out, size, "*.%s.", by_subscriber ? "sub" : "net");

	if (n < 0 || (size_t)n >= size)
		return -1;
	return escape(subject, out + n, size - (size_t)n);
}

int cluster_record_key(const struct cluster_record *r, char *key,
		       size_t size)
{
	if (cluster_subject_pattern(r->subject, r->by_subscriber, key,
				    size) < 0)
		return -1;
	key[0] = r->kind == CLUSTER_QUARANTINE ? 'q' : 'x';
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cluster_key_parse(const char *key, struct cluster_record *r)
{
	const char *s = key + 6;
	size_t o = 0;

	if ((key[0] != 'x' && key[0] != 'q') ||
	    (strncmp(key + 1, ".sub.", 5) && strncmp(key + 1, ".net.", 5)) ||
	    !*s)
		return -1;
	r->kind = key[0] == 'q' ? CLUSTER_QUARANTINE : CLUSTER_EXCEPTION;
	r->by_subscriber = key[2] == 's';
	while (*s) {
		int hi, lo;

		if (o >= sizeof(r->subject) - 1)
			return -1;
		if (*s != '_') {
			if (!isalnum((unsigned char)*s) && *s != '-')
				return -1;
			r->subject[o++] = *s++;
			continue;
		}
		hi = hexval(s[1]);
		lo = hi < 0 ? -1 : hexval(s[2]);
		/* Only what escape() escapes: one subject, one key. */
		if (lo < 0 || !(hi << 4 | lo) ||
		    (hi < 8 && (isalnum(hi << 4 | lo) || (hi << 4 | lo) == '-')))
			return -1;
		r->subject[o++] = (char)(hi << 4 | lo);
		s += 3;
	}
	r->subject[o] = '\0';
	return 0;
}

int cluster_record_encode(const struct cluster_record *r, char *buf,
			  size_t size)
{
	struct strbuf b = { 0 };
	char t[32];
	int ret = -1;

	strbuf_printf(&b, "{\"v\":1,\"kind\":\"%s\",\"op\":\"%s\",\"%s\":",
		      kinds[r->kind == CLUSTER_QUARANTINE],
		      cluster_op_name(r->op),
		      r->by_subscriber ? "subscriber" : "prefix");
	strbuf_json(&b, r->subject);
	if (r->profile[0]) {
		strbuf_printf(&b, ",\"profile\":");
		strbuf_json(&b, r->profile);
	}
	if (r->note[0]) {
		strbuf_printf(&b, ",\"note\":");
		strbuf_json(&b, r->note);
	}
	if (r->until)
		strbuf_printf(&b, ",\"until\":\"%s\"",
			      rfc3339_format(r->until, t, sizeof(t)));
	strbuf_printf(&b, ",\"gateway\":");
	strbuf_json(&b, r->gateway);
	strbuf_printf(&b, ",\"time\":\"%s\"",
		      rfc3339_format(r->time, t, sizeof(t)));
	if (r->kind == CLUSTER_QUARANTINE && r->op == CLUSTER_QUARANTINED)
		strbuf_printf(&b, ",\"syns\":%u,\"distinct_destinations\":%u",
			      r->syns, r->distinct);
	strbuf_printf(&b, "}");
	if (!b.oom && b.s && b.len < size) {
		memcpy(buf, b.s, b.len + 1);
		ret = (int)b.len;
	}
	strbuf_free(&b);
	return ret;
}

/* A string member into out (size bytes with the NUL); absent is "" when
 * optional. Returns 0 or -1 with why. */
static int get_str(struct json_object *o, const char *name, bool optional,
		   char *out, size_t size, char *why, size_t wsize)
{
	struct json_object *v;
	const char *s;
	size_t n;

	if (!json_object_object_get_ex(o, name, &v) ||
	    json_object_is_type(v, json_type_null)) {
		out[0] = '\0';
		if (optional)
			return 0;
		snprintf(why, wsize, "no \"%s\"", name);
		return -1;
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(why, wsize, "\"%s\" is not a string", name);
		return -1;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n >= size || strlen(s) != n) {
		snprintf(why, wsize, "\"%s\" is longer than %zu bytes or "
			 "holds a NUL", name, size - 1);
		return -1;
	}
	if (!utf8_valid(s, n)) {
		snprintf(why, wsize, "\"%s\" is not UTF-8", name);
		return -1;
	}
	memcpy(out, s, n + 1);
	return 0;
}

static int get_time(struct json_object *o, const char *name, bool optional,
		    int64_t *t, char *why, size_t wsize)
{
	char s[40];

	*t = 0;
	if (get_str(o, name, optional, s, sizeof(s), why, wsize) < 0)
		return -1;
	if (s[0] && rfc3339_parse(s, t) < 0) {
		snprintf(why, wsize, "\"%s\" is no RFC 3339 time", name);
		return -1;
	}
	return 0;
}

static int get_u32(struct json_object *o, const char *name, uint32_t *out)
{
	struct json_object *v;
	int64_t n;

	*out = 0;
	if (!json_object_object_get_ex(o, name, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	n = json_object_get_int64(v);
	if (n < 0 || n > UINT32_MAX)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

static int pick(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static int decode(struct json_object *o, const char *key,
		  struct cluster_record *r, char *why, size_t wsize)
{
	char kind[16], op[16], mine[CLUSTER_KEY_MAX + 1];
	struct json_object *v;
	int k, p;

	if (!json_object_is_type(o, json_type_object)) {
		snprintf(why, wsize, "not a JSON object");
		return -1;
	}
	if (!json_object_object_get_ex(o, "v", &v) ||
	    json_object_get_int(v) != 1) {
		snprintf(why, wsize, "not version 1");
		return -1;
	}
	if (get_str(o, "kind", false, kind, sizeof(kind), why, wsize) < 0 ||
	    get_str(o, "op", false, op, sizeof(op), why, wsize) < 0)
		return -1;
	k = pick(kind, kinds, 2);
	p = pick(op, ops, 4);
	if (k < 0 || p < 0 || (k == CLUSTER_EXCEPTION) != (p < 2)) {
		snprintf(why, wsize, "no such record: %s %s", kind, op);
		return -1;
	}
	r->kind = (uint8_t)k;
	r->op = (uint8_t)p;
	r->by_subscriber = json_object_object_get_ex(o, "subscriber", NULL);
	if (get_str(o, r->by_subscriber ? "subscriber" : "prefix", false,
		    r->subject, sizeof(r->subject), why, wsize) < 0 ||
	    get_str(o, "profile", true, r->profile, sizeof(r->profile), why,
		    wsize) < 0 ||
	    get_str(o, "note", true, r->note, sizeof(r->note), why,
		    wsize) < 0 ||
	    get_str(o, "gateway", false, r->gateway, sizeof(r->gateway), why,
		    wsize) < 0 ||
	    get_time(o, "until", true, &r->until, why, wsize) < 0 ||
	    get_time(o, "time", false, &r->time, why, wsize) < 0)
		return -1;
	if (get_u32(o, "syns", &r->syns) < 0 ||
	    get_u32(o, "distinct_destinations", &r->distinct) < 0) {
		snprintf(why, wsize, "a count is not a 32-bit number");
		return -1;
	}
	/* A quarantine begun's own (encode writes them for it only). */
	if (r->kind != CLUSTER_QUARANTINE || r->op != CLUSTER_QUARANTINED)
		r->syns = r->distinct = 0;
	if (!r->subject[0]) {
		snprintf(why, wsize, "an empty %s",
			 r->by_subscriber ? "subscriber" : "prefix");
		return -1;
	}
	if (!cluster_gateway_valid(r->gateway)) {
		snprintf(why, wsize, "gateway is not 1-63 of [A-Za-z0-9._-]");
		return -1;
	}
	if (r->kind == CLUSTER_EXCEPTION && r->op == CLUSTER_ADD &&
	    !r->profile[0]) {
		snprintf(why, wsize, "an exception without a profile");
		return -1;
	}
	/* Detection always gives one; held until 0, stats would release
	 * it at once, its line dated 1970. */
	if (r->kind == CLUSTER_QUARANTINE && r->op == CLUSTER_QUARANTINED &&
	    r->until <= 0) {
		snprintf(why, wsize, "a quarantine without \"until\"");
		return -1;
	}
	if (key && (cluster_record_key(r, mine, sizeof(mine)) < 0 ||
		    strcmp(mine, key))) {
		snprintf(why, wsize, "its key should be %s", mine);
		return -1;
	}
	return 0;
}

int cluster_record_decode(const char *buf, size_t len, const char *key,
			  struct cluster_record *r, char *why, size_t wsize)
{
	struct json_tokener *tok;
	struct json_object *o;
	int ret;

	memset(r, 0, sizeof(*r));
	if (len > 4096 || len > INT32_MAX) {
		snprintf(why, wsize, "longer than 4096 bytes");
		return -1;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(why, wsize, "out of memory");
		return -1;
	}
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		snprintf(why, wsize, "not one JSON object");
		json_object_put(o);
		json_tokener_free(tok);
		return -1;
	}
	json_tokener_free(tok);
	ret = decode(o, key, r, why, wsize);
	json_object_put(o);
	return ret;
}
