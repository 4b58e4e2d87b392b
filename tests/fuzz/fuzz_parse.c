// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * filter/parse under libFuzzer: any bytes as the packet NFQUEUE hands
 * over. libFuzzer passes a heap copy of exactly size bytes, so ASan sees
 * any read past len; the invariants say what a caller may rely on.
 */
#include <string.h>
#include <sys/socket.h>

#include "filter/parse.h"
#include "tests/fuzz/fuzz.h"

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void check_v4(const uint8_t *data, const struct parse_syn *s)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	FUZZ_ASSERT(!memcmp(s->flow.src.b, mapped, 12));
	FUZZ_ASSERT(!memcmp(s->flow.dst.b, mapped, 12));
	FUZZ_ASSERT(!memcmp(s->flow.src.b + 12, data + 12, 4));
	FUZZ_ASSERT(!memcmp(s->flow.dst.b + 12, data + 16, 4));
	FUZZ_ASSERT(addr_is_v4(&s->flow.src));
}

static void check_v6(const uint8_t *data, const struct parse_syn *s)
{
	FUZZ_ASSERT(!memcmp(s->flow.src.b, data + 8, 16));
	FUZZ_ASSERT(!memcmp(s->flow.dst.b, data + 24, 16));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parse_syn s;
	enum parse_status st;

	/* The kernel hands over at most 64 KiB (the copy range's bound). */
	if (size > 0xffff)
		return 0;
	memset(&s, 0xa5, sizeof(s));	/* parse_syn must zero it */
	st = parse_syn(data, size, &s);
	FUZZ_ASSERT(st >= PARSE_SYN && st <= PARSE_MALFORMED);
	FUZZ_ASSERT(strcmp(parse_status_name(st), "unknown") != 0);
	FUZZ_ASSERT(s.family == 0 || s.family == AF_INET ||
		    s.family == AF_INET6);

	if (s.family == AF_INET) {
		FUZZ_ASSERT(size >= 20 && data[0] >> 4 == 4);
		check_v4(data, &s);
	} else if (s.family == AF_INET6) {
		FUZZ_ASSERT(size >= 40 && data[0] >> 4 == 6);
		check_v6(data, &s);
	}

	if (st == PARSE_SYN || st == PARSE_NOT_SYN) {
		const uint8_t *tcp = data + s.l4_offset;

		FUZZ_ASSERT(s.family == AF_INET || s.family == AF_INET6);
		FUZZ_ASSERT(s.l4_offset >= (s.family == AF_INET ? 20 : 40));
		FUZZ_ASSERT((size_t)s.l4_offset + 20 <= size);
		/* Options included: the whole TCP header is in the copy. */
		FUZZ_ASSERT((size_t)s.l4_offset + (tcp[12] >> 4) * 4u <= size);
		FUZZ_ASSERT(tcp[12] >> 4 >= 5);
		FUZZ_ASSERT(s.sport == be16(tcp));
		FUZZ_ASSERT(s.flow.dport == be16(tcp + 2));
		FUZZ_ASSERT(s.tcp_flags == tcp[13]);
		FUZZ_ASSERT(((s.tcp_flags & 0x12) == 0x02) ==
			    (st == PARSE_SYN));
		if (s.family == AF_INET)
			FUZZ_ASSERT(s.l4_offset == (data[0] & 0x0f) * 4);
	} else {
		if (st == PARSE_NOT_TCP || st == PARSE_FRAGMENT)
			FUZZ_ASSERT(s.family != 0);
		FUZZ_ASSERT(s.sport == 0 && s.flow.dport == 0 &&
			    s.tcp_flags == 0 && s.l4_offset == 0);
	}
	return 0;
}
