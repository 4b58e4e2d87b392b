// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The block-log reader under libFuzzer: any bytes as one line of a block
 * log (a log may be damaged, or written by someone else). A line that
 * parses must name a known event, keep its strings terminated, carry a
 * subscriber id only if it is one, and, for a block, except, fallback,
 * session, shadow or shadow_summary line, read back the same after the
 * writer formats it again.
 */
#include <string.h>

#include "blocklog/blocklog.h"
#include "tests/fuzz/fuzz.h"

static struct blocklog_parser *parser;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	parser = blocklog_parser_new();
	FUZZ_ASSERT(parser);
	return 0;
}

static void check_block_round_trip(const struct blocklog_line *l)
{
	struct blocklog_event ev = {
		.kind = BLOCKLOG_BLOCK,
		.action = (uint8_t)l->action,
		.monitor = l->monitor,
		.dport = l->dport,
		.ts_ms = l->ts_ms,
		.src = l->src,
		.dst = l->dst,
	};
	struct blocklog_line again;
	char buf[2048];
	int n;

	memcpy(ev.profile, l->profile, sizeof(ev.profile));
	memcpy(ev.prefix, l->prefix, sizeof(ev.prefix));
	memcpy(ev.subscriber, l->subscriber, sizeof(ev.subscriber));
	n = blocklog_format(&ev, 0, buf, sizeof(buf));
	FUZZ_ASSERT(n > 0);
	FUZZ_ASSERT(blocklog_line_parse(parser, buf, (size_t)n - 1,
					&again) == 0);
	FUZZ_ASSERT(again.kind == BLOCKLOG_BLOCK);
	FUZZ_ASSERT(!strcmp(again.subscriber, l->subscriber));
	FUZZ_ASSERT(again.dport == l->dport && again.action == l->action);
	FUZZ_ASSERT(!memcmp(&again.src, &l->src, sizeof(l->src)));
	FUZZ_ASSERT(!memcmp(&again.dst, &l->dst, sizeof(l->dst)));
	FUZZ_ASSERT(!strcmp(again.profile, l->profile));
	FUZZ_ASSERT(!strcmp(again.prefix, l->prefix));
}

/* The lines json-c builds (except, fallback) read back the same too. */
static void check_json_round_trip(const struct blocklog_line *l)
{
	struct blocklog_event ev = {
		.kind = (uint8_t)l->kind,
		.op = (uint8_t)l->op,
		.ts_ms = l->ts_ms,
		.until = l->until,
		.since = l->since,
	};
	struct blocklog_line again;
	char buf[4096];
	int n;

	/* The event holds a note of POLICY_NOTE_MAX bytes, a line more. */
	if (strlen(l->note) >= sizeof(ev.note))
		return;
	memcpy(ev.profile, l->profile, sizeof(ev.profile));
	memcpy(ev.prefix, l->prefix, sizeof(ev.prefix));
	memcpy(ev.note, l->note, strlen(l->note) + 1);
	memcpy(ev.fb, l->fallback, sizeof(ev.fb));
	n = blocklog_format(&ev, l->lost, buf, sizeof(buf));
	FUZZ_ASSERT(n > 0);
	FUZZ_ASSERT(blocklog_line_parse(parser, buf, (size_t)n - 1,
					&again) == 0);
	FUZZ_ASSERT(again.kind == l->kind && again.ts_ms == l->ts_ms);
	FUZZ_ASSERT(again.lost == l->lost);
	FUZZ_ASSERT(again.until == l->until && again.since == l->since);
	FUZZ_ASSERT(!memcmp(again.fallback, l->fallback, sizeof(l->fallback)));
	FUZZ_ASSERT(again.op == l->op);
	FUZZ_ASSERT(!strcmp(again.profile, l->profile));
	FUZZ_ASSERT(!strcmp(again.prefix, l->prefix));
	FUZZ_ASSERT(!strcmp(again.note, l->note));
}

static void check_session_round_trip(const struct blocklog_line *l)
{
	struct blocklog_event ev = {
		.kind = BLOCKLOG_SESSION,
		.state = (uint8_t)l->state,
		.reason = (uint8_t)l->end,
		.ts_ms = l->ts_ms,
		.src = l->src,
		.until = l->until,
	};
	struct blocklog_line again;
	char buf[2048];
	int n;

	memcpy(ev.prefix, l->prefix, sizeof(ev.prefix));
	memcpy(ev.subscriber, l->subscriber, sizeof(ev.subscriber));
	memcpy(ev.source, l->source, sizeof(ev.source));
	n = blocklog_format(&ev, l->lost, buf, sizeof(buf));
	FUZZ_ASSERT(n > 0);
	FUZZ_ASSERT(blocklog_line_parse(parser, buf, (size_t)n - 1,
					&again) == 0);
	FUZZ_ASSERT(again.kind == BLOCKLOG_SESSION && again.ts_ms == l->ts_ms);
	FUZZ_ASSERT(again.state == l->state && again.until == l->until);
	FUZZ_ASSERT(again.state != BLOCKLOG_SESSION_STOP ||
		    again.end == l->end);
	FUZZ_ASSERT(again.src_len == l->src_len && again.lost == l->lost);
	FUZZ_ASSERT(!memcmp(&again.src, &l->src, sizeof(l->src)));
	FUZZ_ASSERT(!strcmp(again.prefix, l->prefix));
	FUZZ_ASSERT(!strcmp(again.subscriber, l->subscriber));
	FUZZ_ASSERT(!strcmp(again.source, l->source));
}

/* A shadow or shadow_summary line read back the same; a shadow_prefix
 * the writer makes from an address, so only its absence is compared. */
static void check_shadow_round_trip(const struct blocklog_line *l)
{
	struct blocklog_event ev = {
		.kind = (uint8_t)l->kind,
		.action = (uint8_t)l->action,
		.shadow_action = (uint8_t)l->shadow_action,
		.dport = l->dport,
		.ts_ms = l->ts_ms,
		.src = l->src,
		.dst = l->dst,
		.window_s = l->window_s,
	};
	struct blocklog_line again;
	char buf[2048];
	int n;

	memcpy(ev.profile, l->profile, sizeof(ev.profile));
	memcpy(ev.prefix, l->prefix, sizeof(ev.prefix));
	memcpy(ev.shadow_profile, l->shadow_profile, sizeof(ev.shadow_profile));
	memcpy(ev.subscriber, l->subscriber, sizeof(ev.subscriber));
	memcpy(ev.shadow, l->shadow, sizeof(ev.shadow));
	n = blocklog_format(&ev, l->lost, buf, sizeof(buf));
	FUZZ_ASSERT(n > 0);
	FUZZ_ASSERT(blocklog_line_parse(parser, buf, (size_t)n - 1,
					&again) == 0);
	FUZZ_ASSERT(again.kind == l->kind && again.ts_ms == l->ts_ms);
	FUZZ_ASSERT(again.lost == l->lost);
	FUZZ_ASSERT(!memcmp(&again.src, &l->src, sizeof(l->src)));
	FUZZ_ASSERT(!strcmp(again.subscriber, l->subscriber));
	if (l->kind == BLOCKLOG_SHADOW_SUMMARY) {
		FUZZ_ASSERT(!memcmp(again.shadow, l->shadow,
				    sizeof(l->shadow)));
		FUZZ_ASSERT(again.window_s == l->window_s);
		return;
	}
	FUZZ_ASSERT(!memcmp(&again.dst, &l->dst, sizeof(l->dst)));
	FUZZ_ASSERT(again.dport == l->dport && again.action == l->action);
	FUZZ_ASSERT(again.shadow_action == l->shadow_action);
	FUZZ_ASSERT(!strcmp(again.profile, l->profile));
	FUZZ_ASSERT(!strcmp(again.prefix, l->prefix));
	FUZZ_ASSERT(!strcmp(again.shadow_profile, l->shadow_profile));
	FUZZ_ASSERT(!again.shadow_prefix[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blocklog_line l;

	if (blocklog_line_parse(parser, (const char *)data, size, &l) < 0)
		return 0;
	FUZZ_ASSERT(l.kind >= BLOCKLOG_BLOCK && l.kind < BLOCKLOG_KINDS);
	FUZZ_ASSERT(memchr(l.shadow_profile, '\0', sizeof(l.shadow_profile)));
	FUZZ_ASSERT(memchr(l.shadow_prefix, '\0', sizeof(l.shadow_prefix)));
	FUZZ_ASSERT(memchr(l.profile, '\0', sizeof(l.profile)));
	FUZZ_ASSERT(memchr(l.prefix, '\0', sizeof(l.prefix)));
	FUZZ_ASSERT(memchr(l.note, '\0', sizeof(l.note)));
	FUZZ_ASSERT(memchr(l.subscriber, '\0', sizeof(l.subscriber)));
	FUZZ_ASSERT(memchr(l.source, '\0', sizeof(l.source)));
	FUZZ_ASSERT(!l.subscriber[0] || blocklog_subscriber_valid(l.subscriber));
	FUZZ_ASSERT(l.kind != BLOCKLOG_SESSION || l.subscriber[0]);
	FUZZ_ASSERT(l.op <= BLOCKLOG_EXCEPT_EXPIRE);
	FUZZ_ASSERT(l.reason <= BLOCKLOG_RELEASE_MANUAL);
	FUZZ_ASSERT(l.state <= BLOCKLOG_SESSION_STOP);
	FUZZ_ASSERT(l.end <= BLOCKLOG_SESSION_MOVED);
	if (l.kind == BLOCKLOG_BLOCK)
		check_block_round_trip(&l);
	if (l.kind == BLOCKLOG_EXCEPT || l.kind == BLOCKLOG_FALLBACK)
		check_json_round_trip(&l);
	if (l.kind == BLOCKLOG_SESSION)
		check_session_round_trip(&l);
	if (l.kind == BLOCKLOG_SHADOW || l.kind == BLOCKLOG_SHADOW_SUMMARY)
		check_shadow_round_trip(&l);
	return 0;
}
