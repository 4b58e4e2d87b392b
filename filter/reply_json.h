/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket's --json replies, built with json-c: an object or
 * array is filled with the helpers below, then written out on one line.
 * Off the SYN path, so a library's allocations cost nothing that matters.
 */
#ifndef PORTCULLIS_REPLY_JSON_H
#define PORTCULLIS_REPLY_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/strbuf.h"

/* Add key → v (a new object or array, owned from now on) to obj, or v to
 * the array arr; v NULL (json-c out of memory) marks the reply torn. */
void reply_json_add(struct json_object *obj, const char *key,
		    struct json_object *v);
void reply_json_push(struct json_object *arr, struct json_object *v);
/* Add key → a value to obj; s NULL adds null. */
void reply_json_str(struct json_object *obj, const char *key, const char *s);
void reply_json_u64(struct json_object *obj, const char *key, uint64_t v);
void reply_json_i64(struct json_object *obj, const char *key, int64_t v);
void reply_json_bool(struct json_object *obj, const char *key, bool v);

/*
 * Write j (then a newline) to out and put it. Returns 0, or -1 having
 * written "out of memory" instead when j is NULL or json-c ran out of
 * memory (a reply is whole or it is an error, never a torn document).
 */
int reply_json_write(struct strbuf *out, struct json_object *j);

#endif
