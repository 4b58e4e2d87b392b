/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside blocklog/: the schema. Its enums (event kinds, except ops,
 * release reasons, session states and ends) are public, in blocklog.h;
 * here are the one list of the field names a line carries and the
 * look-ups of the enums' names
 * (schema.c), shared by the writer and the reader so that what one
 * writes is what the other reads. The field names are string literals:
 * the writer's hand-made lines paste them in at compile time, at no cost
 * per line.
 */
#ifndef PORTCULLIS_BLOCKLOG_SCHEMA_H
#define PORTCULLIS_BLOCKLOG_SCHEMA_H

#include "blocklog/blocklog.h"

/* Every line */
#define BLOCKLOG_F_TS		"ts"
#define BLOCKLOG_F_EVENT	"event"
#define BLOCKLOG_F_LOST		"lost"
/* block, summary, quarantine, release, detection */
#define BLOCKLOG_F_SRC		"src"
/* block */
#define BLOCKLOG_F_DST		"dst"
#define BLOCKLOG_F_DPORT	"dport"
#define BLOCKLOG_F_ACTION	"action"	/* policy_action_name() */
#define BLOCKLOG_F_PROFILE	"profile"	/* and except */
#define BLOCKLOG_F_PREFIX	"prefix"	/* and except */
#define BLOCKLOG_F_MODE		"mode"
#define BLOCKLOG_MODE_MONITOR	"monitor"	/* its one value */
/* summary, detection, quarantine */
#define BLOCKLOG_F_BLOCKED	"blocked"	/* summary */
#define BLOCKLOG_F_KERNEL	"kernel"	/* summary: of blocked, by the
						 * kernel's quarantine rule */
#define BLOCKLOG_F_SYNS		"syns"		/* detection, quarantine */
#define BLOCKLOG_F_DISTINCT	"distinct_destinations"
#define BLOCKLOG_F_WINDOW	"window_s"	/* summary, detection */
#define BLOCKLOG_F_UNTIL	"until"		/* and except, fallback */
/* release */
#define BLOCKLOG_F_REASON	"reason"	/* blocklog_release_name() */
/* except */
#define BLOCKLOG_F_OP		"op"		/* blocklog_except_op_name() */
#define BLOCKLOG_F_NOTE		"note"
/* fallback: SYNs the kernel judged, by its verdict */
#define BLOCKLOG_F_SINCE	"since"
#define BLOCKLOG_F_REJECTED	"rejected"
#define BLOCKLOG_F_DROPPED	"dropped"
#define BLOCKLOG_F_ACCEPTED	"accepted"
/* block, summary, quarantine, release, detection (when the source has a
 * session), session */
#define BLOCKLOG_F_SUBSCRIBER	"subscriber"
/* session: also src, prefix (IPv6), reason (stop:
 * blocklog_session_end_name()) and until (start); state is
 * blocklog_session_state_name() */
#define BLOCKLOG_F_STATE	"state"
#define BLOCKLOG_F_SOURCE	"source"
/* quarantine, release, except: the gateway that made the change */
#define BLOCKLOG_F_GATEWAY	"gateway"
/* shadow: also src, dst, dport, action, profile and prefix (the running
 * policy's; profile and prefix when it has them), subscriber */
#define BLOCKLOG_F_SHADOW_ACTION	"shadow_action"
#define BLOCKLOG_F_SHADOW_PROFILE	"shadow_profile"
#define BLOCKLOG_F_SHADOW_PREFIX	"shadow_prefix"
/* shadow_summary: also src, window_s, subscriber; the counts by
 * direction are blocklog_shadow_dir_name()'s names */

/* The value s names in its enum's table (schema.c): 0 with *out, or -1
 * when it names none. */
int blocklog_kind_find(const char *s, enum blocklog_kind *out);
int blocklog_except_op_find(const char *s, enum blocklog_except_op *out);
int blocklog_release_find(const char *s, enum blocklog_release *out);
int blocklog_session_state_find(const char *s,
				enum blocklog_session_state *out);
int blocklog_session_end_find(const char *s, enum blocklog_session_end *out);

#endif
