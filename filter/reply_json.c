// SPDX-License-Identifier: GPL-2.0-or-later
/* The control socket's --json replies through json-c (filter/reply_json.h). */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "filter/reply_json.h"

/* A failed add marks the object (its user data), so that one check at
 * the end, in reply_json_write, stands for all of them. */
static void torn(struct json_object *j)
{
	json_object_set_userdata(j, j, NULL);
}

void reply_json_add(struct json_object *obj, const char *key,
		    struct json_object *v)
{
	if (!obj) {
		json_object_put(v);
		return;
	}
	if (!v || json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		torn(obj);
	}
}

void reply_json_push(struct json_object *arr, struct json_object *v)
{
	if (!arr) {
		json_object_put(v);
		return;
	}
	if (!v || json_object_array_add(arr, v) < 0) {
		json_object_put(v);
		torn(arr);
	}
}

/*
 * A json-c string of s's bytes, each byte that is no UTF-8 (Latin-1, a
 * cut sequence) replaced by U+FFFD as common/json.h does for the block
 * log: json-c would copy it, and the reply would be no JSON at all.
 */
static struct json_object *utf8_string(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), at = 0, len = 0;
	struct json_object *v;
	char *clean, esc[8];

	clean = malloc(3 * n + 1);
	if (!clean)
		return NULL;
	while (at < n) {
		size_t elen, step = json_char(u + at, n - at, esc, &elen);

		if (elen == 6 && !memcmp(esc, "\\ufffd", 6)) {
			memcpy(clean + len, "\xef\xbf\xbd", 3);
			len += 3;
		} else {
			memcpy(clean + len, s + at, step);
			len += step;
		}
		at += step;
	}
	v = json_object_new_string_len(clean, (int)len);
	free(clean);
	return v;
}

void reply_json_str(struct json_object *obj, const char *key, const char *s)
{
	struct json_object *v = s ? utf8_string(s) : NULL;

	if (!obj) {
		json_object_put(v);
		return;
	}
	if ((s && !v) || json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		torn(obj);
	}
}

void reply_json_u64(struct json_object *obj, const char *key, uint64_t v)
{
	reply_json_add(obj, key, json_object_new_uint64(v));
}

void reply_json_i64(struct json_object *obj, const char *key, int64_t v)
{
	reply_json_add(obj, key, json_object_new_int64(v));
}

void reply_json_bool(struct json_object *obj, const char *key, bool v)
{
	reply_json_add(obj, key, json_object_new_boolean(v));
}

static bool whole(struct json_object *j)
{
	size_t n;

	if (json_object_get_userdata(j))
		return false;
	if (json_object_is_type(j, json_type_object)) {
		json_object_object_foreach(j, k, v) {
			(void)k;
			if (v && !whole(v))
				return false;
		}
	} else if (json_object_is_type(j, json_type_array)) {
		n = json_object_array_length(j);
		for (size_t i = 0; i < n; i++)
			if (!whole(json_object_array_get_idx(j, i)))
				return false;
	}
	return true;
}

int reply_json_write(struct strbuf *out, struct json_object *j)
{
	const char *s = NULL;

	if (j && whole(j))
		s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s)
		strbuf_printf(out, "%s\n", s);
	else
		strbuf_printf(out, "out of memory\n");
	json_object_put(j);
	return s ? 0 : -1;
}
