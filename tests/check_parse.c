// SPDX-License-Identifier: GPL-2.0-or-later
/* filter/parse: crafted IPv4 and IPv6 packets, whole, cut and lying. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "filter/parse.h"

Suite *parse_suite(void);

/* 100.64.3.7:40000 -> 198.51.100.9:25, SYN with an MSS option (doff 6). */
static size_t build_v4(uint8_t *p, uint8_t proto, uint8_t flags)
{
	static const uint8_t ip[20] = {
		0x45, 0x00, 0x00, 44, 0x12, 0x34, 0x40, 0x00,
		64, 6, 0, 0, 100, 64, 3, 7, 198, 51, 100, 9,
	};
	static const uint8_t tcp[24] = {
		0x9c, 0x40, 0x00, 25, 0, 0, 0, 1, 0, 0, 0, 0,
		0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4,
	};

	memcpy(p, ip, sizeof(ip));
	memcpy(p + 20, tcp, sizeof(tcp));
	p[9] = proto;
	p[20 + 13] = flags;
	return 44;
}

static void v6_header(uint8_t *p, uint16_t plen, uint8_t nh)
{
	static const uint8_t src[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0,
					 0, 0, 0, 0, 0, 0, 0, 0x10 };
	static const uint8_t dst[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 2, 0, 0,
					 0, 0, 0, 0, 0, 0, 0, 0x25 };

	memset(p, 0, 40);
	p[0] = 0x60;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
}

static size_t put_tcp(uint8_t *p, uint8_t flags)
{
	static const uint8_t tcp[20] = {
		0xa4, 0x10, 0x00, 25, 0, 0, 0, 1, 0, 0, 0, 0,
		0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
	};

	memcpy(p, tcp, sizeof(tcp));
	p[13] = flags;
	return sizeof(tcp);
}

/* An options header (hop-by-hop, routing, destination) of 8 * (1 + hl). */
static size_t put_opts(uint8_t *p, uint8_t next, uint8_t hl)
{
	memset(p, 0, 8 * (1 + (size_t)hl));
	p[0] = next;
	p[1] = hl;
	return 8 * (1 + (size_t)hl);
}

static size_t put_frag(uint8_t *p, uint8_t next, uint16_t offset, int more)
{
	uint16_t fo = (uint16_t)(offset << 3 | (more ? 1 : 0));

	memset(p, 0, 8);
	p[0] = next;
	p[2] = (uint8_t)(fo >> 8);
	p[3] = (uint8_t)fo;
	p[7] = 0x42;
	return 8;
}

/* A whole IPv6 packet: header, then the bytes built after it. */
static size_t finish_v6(uint8_t *p, uint8_t first_nh, size_t body)
{
	v6_header(p, (uint16_t)body, first_nh);
	return 40 + body;
}

/* The IPv6 SYN through hop-by-hop, routing (24 bytes), destination options. */
static size_t build_v6_chain(uint8_t *p)
{
	size_t off = 40;

	off += put_opts(p + off, 43, 0);
	off += put_opts(p + off, 60, 2);
	off += put_opts(p + off, 6, 0);
	off += put_tcp(p + off, 0x02);
	return finish_v6(p, 0, off - 40);
}

/* Parse a heap copy of exactly len bytes so ASan sees any overread. */
static enum parse_status parse_exact(const uint8_t *pkt, size_t len,
				     struct parse_syn *out)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum parse_status st;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, pkt, len);
	st = parse_syn(copy, len, out);
	free(copy);
	return st;
}

START_TEST(test_v4_syn_is_parsed)
{
	static const uint8_t src[16] = { [10] = 0xff, [11] = 0xff,
					 100, 64, 3, 7 };
	static const uint8_t dst[16] = { [10] = 0xff, [11] = 0xff,
					 198, 51, 100, 9 };
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	ck_assert_int_eq(s.family, AF_INET);
	ck_assert_mem_eq(s.flow.src.b, src, 16);
	ck_assert_mem_eq(s.flow.dst.b, dst, 16);
	ck_assert_uint_eq(s.sport, 40000);
	ck_assert_uint_eq(s.flow.dport, 25);
	ck_assert_uint_eq(s.l4_offset, 20);
}
END_TEST

START_TEST(test_v4_syn_with_ecn_flags_is_syn)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0xc2);	/* SYN + ECE + CWR */

	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
}
END_TEST

START_TEST(test_v4_syn_ack_is_not_syn)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x12);

	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_NOT_SYN);
	ck_assert_uint_eq(s.flow.dport, 25);
	n = build_v4(p, 6, 0x10);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_NOT_SYN);
}
END_TEST

START_TEST(test_v4_udp_is_not_tcp)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 17, 0x02);

	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_NOT_TCP);
	ck_assert_int_eq(s.family, AF_INET);
	ck_assert_uint_eq(s.flow.src.b[12], 100);
}
END_TEST

START_TEST(test_v4_truncated_at_every_length)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02), k;

	for (k = 0; k < n; k++)
		ck_assert_msg(parse_exact(p, k, &s) == PARSE_TRUNCATED,
			      "cut at %zu bytes: %s", k,
			      parse_status_name(parse_syn(p, k, &s)));
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
}
END_TEST

START_TEST(test_v4_ihl_below_five_is_malformed)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);
	unsigned ihl;

	for (ihl = 0; ihl < 5; ihl++) {
		p[0] = (uint8_t)(0x40 | ihl);
		ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
	}
}
END_TEST

START_TEST(test_v4_total_length_beyond_copy_is_parsed)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	/* The queue copies only the headers of a 1500-byte packet. */
	p[2] = 1500 >> 8;
	p[3] = 1500 & 0xff;
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	/* ... but the TCP header must still be all there. */
	ck_assert_int_eq(parse_exact(p, n - 1, &s), PARSE_TRUNCATED);
}
END_TEST

START_TEST(test_v4_total_length_below_headers_is_malformed)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	p[3] = 19;	/* shorter than the IP header */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
	p[3] = 30;	/* no room for the TCP header */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
	p[3] = 40;	/* no room for the TCP options doff announces */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
}
END_TEST

START_TEST(test_v4_trailing_bytes_are_ignored)
{
	uint8_t p[64] = { 0 };
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	ck_assert_int_eq(parse_exact(p, n + 6, &s), PARSE_SYN);
}
END_TEST

START_TEST(test_tcp_doff_below_five_is_malformed)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);
	unsigned doff;

	for (doff = 0; doff < 5; doff++) {
		p[20 + 12] = (uint8_t)(doff << 4);
		ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
	}
}
END_TEST

START_TEST(test_tcp_options_past_copy_are_truncated)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	p[3] = 80;		/* total length allows doff 15 ... */
	p[20 + 12] = 0xf0;	/* ... but the copy ends at 44 bytes */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_TRUNCATED);
}
END_TEST

START_TEST(test_bad_version_is_malformed)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	p[0] = 0x55;
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
	p[0] = 0x05;
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
}
END_TEST

START_TEST(test_v4_first_fragment_is_parsed)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	p[6] = 0x20;	/* MF, offset 0 */
	p[7] = 0;
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	ck_assert_uint_eq(s.flow.dport, 25);
}
END_TEST

START_TEST(test_v4_first_fragment_without_tcp_header_is_fragment)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	p[6] = 0x20;	/* MF, offset 0, and only 8 bytes of TCP in it */
	p[3] = 28;
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_FRAGMENT);
}
END_TEST

START_TEST(test_v4_non_first_fragment_is_fragment)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	p[6] = 0x00;	/* last fragment at offset 8 * 185 */
	p[7] = 185;
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_FRAGMENT);
	ck_assert_int_eq(s.family, AF_INET);
	p[6] = 0x20;	/* a middle one */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_FRAGMENT);
}
END_TEST

START_TEST(test_v6_syn_is_parsed)
{
	uint8_t p[128];
	struct parse_syn s;
	size_t n;

	n = finish_v6(p, 6, put_tcp(p + 40, 0x02));
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	ck_assert_int_eq(s.family, AF_INET6);
	ck_assert_mem_eq(s.flow.src.b, p + 8, 16);
	ck_assert_mem_eq(s.flow.dst.b, p + 24, 16);
	ck_assert_uint_eq(s.sport, 42000);
	ck_assert_uint_eq(s.flow.dport, 25);
	ck_assert_uint_eq(s.l4_offset, 40);
}
END_TEST

START_TEST(test_v6_syn_ack_is_not_syn)
{
	uint8_t p[128];
	struct parse_syn s;
	size_t n = finish_v6(p, 6, put_tcp(p + 40, 0x12));

	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_NOT_SYN);
}
END_TEST

START_TEST(test_v6_icmp_and_no_next_header_are_not_tcp)
{
	uint8_t p[128] = { 0 };
	struct parse_syn s;
	size_t n = finish_v6(p, 58, 8);

	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_NOT_TCP);
	ck_assert_int_eq(s.family, AF_INET6);
	n = finish_v6(p, 59, 0);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_NOT_TCP);
}
END_TEST

START_TEST(test_v6_extension_chain_is_walked)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t n = build_v6_chain(p);

	ck_assert_uint_eq(n, 40 + 8 + 24 + 8 + 20);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	ck_assert_uint_eq(s.l4_offset, 80);
	ck_assert_uint_eq(s.flow.dport, 25);
}
END_TEST

START_TEST(test_v6_truncated_at_every_length)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t n = build_v6_chain(p), k;

	for (k = 0; k < n; k++)
		ck_assert_msg(parse_exact(p, k, &s) == PARSE_TRUNCATED,
			      "cut at %zu bytes: %s", k,
			      parse_status_name(parse_syn(p, k, &s)));
}
END_TEST

START_TEST(test_v6_chain_longer_than_copy_is_truncated)
{
	uint8_t p[512];
	struct parse_syn s;
	size_t off = 40, n;

	off += put_opts(p + off, 60, 0);
	off += put_opts(p + off, 6, 30);	/* 248 bytes of options */
	off += put_tcp(p + off, 0x02);
	n = finish_v6(p, 0, off - 40);
	/* The queue copied 256 bytes of a 336-byte SYN. */
	ck_assert_int_eq(parse_exact(p, 256, &s), PARSE_TRUNCATED);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
}
END_TEST

START_TEST(test_v6_payload_length_below_chain_is_malformed)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t n = build_v6_chain(p);

	p[4] = 0;
	p[5] = 30;	/* ends inside the routing header */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
	p[5] = 50;	/* ends inside the TCP header */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
}
END_TEST

START_TEST(test_v6_late_hop_by_hop_is_malformed)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t off = 40, n;

	off += put_opts(p + off, 0, 0);
	off += put_opts(p + off, 6, 0);
	off += put_tcp(p + off, 0x02);
	n = finish_v6(p, 60, off - 40);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
}
END_TEST

START_TEST(test_v6_first_fragment_is_parsed)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t off = 40, n;

	off += put_frag(p + off, 6, 0, 1);
	off += put_tcp(p + off, 0x02);
	n = finish_v6(p, 44, off - 40);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	ck_assert_uint_eq(s.flow.dport, 25);
}
END_TEST

START_TEST(test_v6_first_fragment_without_tcp_header_is_fragment)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t off = 40, n;

	off += put_frag(p + off, 6, 0, 1);
	off += put_tcp(p + off, 0x02);
	n = finish_v6(p, 44, 16);	/* 8 bytes of TCP in this fragment */
	(void)off;
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_FRAGMENT);
}
END_TEST

START_TEST(test_v6_non_first_fragment_is_fragment)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t off = 40, n;

	off += put_opts(p + off, 44, 0);
	off += put_frag(p + off, 6, 181, 0);
	off += put_tcp(p + off, 0x02);	/* looks like TCP, is data */
	n = finish_v6(p, 0, off - 40);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_FRAGMENT);
	ck_assert_int_eq(s.family, AF_INET6);
}
END_TEST

START_TEST(test_v6_atomic_fragment_is_parsed)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t off = 40, n;

	off += put_frag(p + off, 6, 0, 0);
	off += put_tcp(p + off, 0x02);
	n = finish_v6(p, 44, off - 40);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
}
END_TEST

START_TEST(test_v6_jumbo_payload_length_zero_is_parsed)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t off = 40;

	off += put_opts(p + off, 6, 0);
	off += put_tcp(p + off, 0x02);
	v6_header(p, 0, 0);
	ck_assert_int_eq(parse_exact(p, off, &s), PARSE_SYN);
	/* Without a hop-by-hop header, 0 means no payload at all. */
	v6_header(p, 0, 6);
	put_tcp(p + 40, 0x02);
	ck_assert_int_eq(parse_exact(p, 60, &s), PARSE_MALFORMED);
}
END_TEST

START_TEST(test_v4_options_past_copy_are_truncated)
{
	uint8_t p[128] = { 0 };
	struct parse_syn s;

	build_v4(p, 6, 0x02);
	p[0] = 0x4f;		/* 60 bytes of IP header ... */
	p[3] = 100;
	ck_assert_int_eq(parse_exact(p, 40, &s), PARSE_TRUNCATED);
	ck_assert_int_eq(s.family, 0);
	p[3] = 50;		/* ... in a packet said to be 50 long */
	ck_assert_int_eq(parse_exact(p, 80, &s), PARSE_MALFORMED);
}
END_TEST

START_TEST(test_v4_options_are_stepped_over)
{
	uint8_t p[128];
	struct parse_syn s;
	size_t n = build_v4(p, 6, 0x02);

	/* IHL 6: four bytes of options (NOP NOP NOP EOL) before TCP. */
	memmove(p + 24, p + 20, n - 20);
	memcpy(p + 20, "\x01\x01\x01\x00", 4);
	p[0] = 0x46;
	p[3] = (uint8_t)(n + 4);
	ck_assert_int_eq(parse_exact(p, n + 4, &s), PARSE_SYN);
	ck_assert_uint_eq(s.l4_offset, 24);
	ck_assert_uint_eq(s.flow.dport, 25);
}
END_TEST

START_TEST(test_syn_with_fin_or_rst_is_still_judged)
{
	uint8_t p[64];
	struct parse_syn s;
	size_t n;

	/* The kernel's --syn never queues these; if one comes, it is
	 * judged as the SYN it is rather than let through. */
	n = build_v4(p, 6, 0x03);	/* SYN|FIN */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	n = build_v4(p, 6, 0x06);	/* SYN|RST */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	n = build_v4(p, 6, 0x00);	/* no flag at all */
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_NOT_SYN);
	ck_assert_uint_eq(s.tcp_flags, 0);
}
END_TEST

START_TEST(test_v6_tcp_doff_below_five_is_malformed)
{
	uint8_t p[128];
	struct parse_syn s;
	size_t n = finish_v6(p, 6, put_tcp(p + 40, 0x02));
	unsigned doff;

	for (doff = 0; doff < 5; doff++) {
		p[40 + 12] = (uint8_t)(doff << 4);
		ck_assert_int_eq(parse_exact(p, n, &s), PARSE_MALFORMED);
		ck_assert_uint_eq(s.flow.dport, 0);
	}
}
END_TEST

START_TEST(test_v6_ah_is_walked)
{
	uint8_t p[256] = { 0 };
	struct parse_syn s;
	size_t n;

	/* AH counts its length in 4-byte units, minus 2: 4 means 24. */
	p[40] = 6;
	p[41] = 4;
	n = finish_v6(p, 51, 24 + put_tcp(p + 64, 0x02));
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	ck_assert_uint_eq(s.l4_offset, 64);
	ck_assert_int_eq(parse_exact(p, 63, &s), PARSE_TRUNCATED);
}
END_TEST

START_TEST(test_v6_many_small_extension_headers_end)
{
	enum { HEADERS = 300 };
	uint8_t *p = calloc(1, 40 + HEADERS * 8 + 20);
	struct parse_syn s;
	size_t off = 40, n;
	int i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < HEADERS; i++)
		off += put_opts(p + off, i + 1 < HEADERS ? 60 : 6, 0);
	off += put_tcp(p + off, 0x02);
	n = finish_v6(p, 60, off - 40);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
	ck_assert_uint_eq(s.l4_offset, 40 + HEADERS * 8);
	/* What the default 256-byte copy range shows of it. */
	ck_assert_int_eq(parse_exact(p, 256, &s), PARSE_TRUNCATED);
	free(p);
}
END_TEST

START_TEST(test_v6_fragment_header_cut_is_truncated)
{
	uint8_t p[256];
	struct parse_syn s;
	size_t off = 40, n;

	off += put_frag(p + off, 6, 0, 1);
	off += put_tcp(p + off, 0x02);
	n = finish_v6(p, 44, off - 40);
	for (size_t k = 40; k < 48 + 20; k++)
		ck_assert_int_eq(parse_exact(p, k, &s), PARSE_TRUNCATED);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_SYN);
}
END_TEST

START_TEST(test_v6_udp_after_extension_headers_is_not_tcp)
{
	uint8_t p[256] = { 0 };
	struct parse_syn s;
	size_t off = 40, n;

	off += put_opts(p + off, 17, 0);
	off += 8;			/* a UDP header */
	n = finish_v6(p, 60, off - 40);
	ck_assert_int_eq(parse_exact(p, n, &s), PARSE_NOT_TCP);
	ck_assert_int_eq(s.family, AF_INET6);
}
END_TEST

START_TEST(test_status_names)
{
	ck_assert_str_eq(parse_status_name(PARSE_SYN), "syn");
	ck_assert_str_eq(parse_status_name(PARSE_FRAGMENT), "fragment");
	ck_assert_str_eq(parse_status_name(PARSE_MALFORMED), "malformed");
}
END_TEST

Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *v4 = tcase_create("ipv4");
	TCase *v6 = tcase_create("ipv6");

	tcase_add_test(v4, test_v4_syn_is_parsed);
	tcase_add_test(v4, test_v4_syn_with_ecn_flags_is_syn);
	tcase_add_test(v4, test_v4_syn_ack_is_not_syn);
	tcase_add_test(v4, test_v4_udp_is_not_tcp);
	tcase_add_test(v4, test_v4_truncated_at_every_length);
	tcase_add_test(v4, test_v4_ihl_below_five_is_malformed);
	tcase_add_test(v4, test_v4_total_length_beyond_copy_is_parsed);
	tcase_add_test(v4, test_v4_total_length_below_headers_is_malformed);
	tcase_add_test(v4, test_v4_trailing_bytes_are_ignored);
	tcase_add_test(v4, test_tcp_doff_below_five_is_malformed);
	tcase_add_test(v4, test_tcp_options_past_copy_are_truncated);
	tcase_add_test(v4, test_bad_version_is_malformed);
	tcase_add_test(v4, test_v4_first_fragment_is_parsed);
	tcase_add_test(v4, test_v4_first_fragment_without_tcp_header_is_fragment);
	tcase_add_test(v4, test_v4_non_first_fragment_is_fragment);
	tcase_add_test(v4, test_v4_options_past_copy_are_truncated);
	tcase_add_test(v4, test_v4_options_are_stepped_over);
	tcase_add_test(v4, test_syn_with_fin_or_rst_is_still_judged);
	tcase_add_test(v4, test_status_names);
	suite_add_tcase(s, v4);

	tcase_add_test(v6, test_v6_syn_is_parsed);
	tcase_add_test(v6, test_v6_syn_ack_is_not_syn);
	tcase_add_test(v6, test_v6_icmp_and_no_next_header_are_not_tcp);
	tcase_add_test(v6, test_v6_extension_chain_is_walked);
	tcase_add_test(v6, test_v6_truncated_at_every_length);
	tcase_add_test(v6, test_v6_chain_longer_than_copy_is_truncated);
	tcase_add_test(v6, test_v6_payload_length_below_chain_is_malformed);
	tcase_add_test(v6, test_v6_late_hop_by_hop_is_malformed);
	tcase_add_test(v6, test_v6_first_fragment_is_parsed);
	tcase_add_test(v6, test_v6_first_fragment_without_tcp_header_is_fragment);
	tcase_add_test(v6, test_v6_non_first_fragment_is_fragment);
	tcase_add_test(v6, test_v6_atomic_fragment_is_parsed);
	tcase_add_test(v6, test_v6_jumbo_payload_length_zero_is_parsed);
	tcase_add_test(v6, test_v6_tcp_doff_below_five_is_malformed);
	tcase_add_test(v6, test_v6_ah_is_walked);
	tcase_add_test(v6, test_v6_many_small_extension_headers_end);
	tcase_add_test(v6, test_v6_fragment_header_cut_is_truncated);
	tcase_add_test(v6, test_v6_udp_after_extension_headers_is_not_tcp);
	suite_add_tcase(s, v6);
	return s;
}
