// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The block-log reader under libFuzzer: any bytes as one line of a block
 * log (a log may be damaged, or written by someone else). A line that
 * parses must name a known event, keep its strings terminated, and, for a
 * block line, read back the same after the writer formats it again.
 */
#include <string.h>

#include "cli/logread.h"
#include "stats/blocklog.h"
#include "tests/fuzz/fuzz.h"

static struct logread_parser *parser;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	parser = logread_parser_new();
	FUZZ_ASSERT(parser);
	return 0;
}

static void check_block_round_trip(const struct logread_line *l)
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
	struct logread_line again;
	char buf[2048];
	int n;

	memcpy(ev.profile, l->profile, sizeof(ev.profile));
	memcpy(ev.prefix, l->prefix, sizeof(ev.prefix));
	n = blocklog_format(&ev, 0, buf, sizeof(buf));
	FUZZ_ASSERT(n > 0);
	FUZZ_ASSERT(logread_line_parse(parser, buf, (size_t)n - 1, &again) == 0);
	FUZZ_ASSERT(again.kind == LOGREAD_BLOCK);
	FUZZ_ASSERT(again.dport == l->dport && again.action == l->action);
	FUZZ_ASSERT(!memcmp(&again.src, &l->src, sizeof(l->src)));
	FUZZ_ASSERT(!memcmp(&again.dst, &l->dst, sizeof(l->dst)));
	FUZZ_ASSERT(!strcmp(again.profile, l->profile));
	FUZZ_ASSERT(!strcmp(again.prefix, l->prefix));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct logread_line l;

	if (logread_line_parse(parser, (const char *)data, size, &l) < 0)
		return 0;
	FUZZ_ASSERT(l.kind >= LOGREAD_BLOCK && l.kind <= LOGREAD_FALLBACK);
	FUZZ_ASSERT(memchr(l.profile, '\0', sizeof(l.profile)));
	FUZZ_ASSERT(memchr(l.prefix, '\0', sizeof(l.prefix)));
	FUZZ_ASSERT(memchr(l.note, '\0', sizeof(l.note)));
	FUZZ_ASSERT(memchr(l.op, '\0', sizeof(l.op)));
	FUZZ_ASSERT(memchr(l.reason, '\0', sizeof(l.reason)));
	if (l.kind == LOGREAD_BLOCK)
		check_block_round_trip(&l);
	return 0;
}
