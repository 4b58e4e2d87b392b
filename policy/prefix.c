// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Prefixes and times as the operator writes them. The IPv4 parser is by
 * hand because a `file:` list may hold ten million of them; it is as
 * strict as inet_pton (four decimal parts, no leading zeros).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "load.h"

/* Returns 0 and the address in host order, or -1. */
static int v4_parse(const char *s, size_t n, uint32_t *out)
{
	uint32_t a = 0;
	unsigned parts = 0;
	size_t i = 0;

	while (parts < 4) {
		unsigned v = 0, digits = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && v == 0)
				return -1;	/* leading zero */
			v = v * 10 + (unsigned)(s[i] - '0');
			if (++digits > 3 || v > 255)
				return -1;
			i++;
		}
		if (!digits)
			return -1;
		a = a << 8 | v;
		if (++parts < 4) {
			if (i == n || s[i] != '.')
				return -1;
			i++;
		}
	}
	if (i != n)
		return -1;
	*out = a;
	return 0;
}

static void mask(struct policy_addr *a, unsigned bits)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (bits >= 8) {
			bits -= 8;
			continue;
		}
		a->b[i] &= (uint8_t)(0xff00 >> bits);
		bits = 0;
	}
}

enum prefix_result prefix_parse(const char *s, size_t n,
				struct policy_addr *addr, uint8_t *len,
				bool *v4)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	unsigned max, bits, full;
	struct policy_addr net;
	uint32_t a4;

	*v4 = false;
	*len = 0;
	/* inet_pton would stop at a NUL and take "::1\0junk" for ::1. */
	if (memchr(s, '\0', n))
		return PREFIX_MALFORMED;
	if (v4_parse(s, alen, &a4) == 0) {
		policy_addr_from_v4(addr, a4);
		*v4 = true;
		max = 32;
	} else {
		char buf[INET6_ADDRSTRLEN];

		if (alen == 0 || alen >= sizeof(buf) || !memchr(s, ':', alen))
			return PREFIX_MALFORMED;
		memcpy(buf, s, alen);
		buf[alen] = '\0';
		if (inet_pton(AF_INET6, buf, addr->b) != 1)
			return PREFIX_MALFORMED;
		*v4 = false;
		max = 128;
	}
	bits = max;
	if (slash) {
		const char *d = slash + 1, *end = s + n;

		if (d == end || end - d > 3)
			return PREFIX_BAD_LENGTH;
		for (bits = 0; d < end; d++) {
			if (*d < '0' || *d > '9')
				return PREFIX_BAD_LENGTH;
			bits = bits * 10 + (unsigned)(*d - '0');
		}
		if (bits > max)
			return PREFIX_BAD_LENGTH;
	}
	/* ::ffff:a.b.c.d/104 is the IPv4 prefix a.b.c.d/8. */
	if (!*v4 && bits >= 96 && policy_addr_is_v4(addr)) {
		*v4 = true;
		bits -= 96;
	}
	full = *v4 ? bits + 96 : bits;
	*len = (uint8_t)bits;
	net = *addr;
	mask(&net, full);
	if (memcmp(&net, addr, sizeof(net)) != 0) {
		*addr = net;
		return PREFIX_HOST_BITS;
	}
	return PREFIX_OK;
}

const char *prefix_format(const struct policy_addr *addr, uint8_t len,
			  bool v4, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	(void)v4;
	if (!policy_addr_format(addr, a, sizeof(a)))
		strcpy(a, "?");
	snprintf(buf, size, "%s/%u", a, len);
	return buf;
}

/* "::ffff:100.64.0.0/10" is an IPv4 prefix written with the IPv4 length:
 * the mapped form counts the 96 bits before it. Say so, else "". */
static const char *mapped_hint(const char *s, size_t n, bool v4,
			       uint8_t len, char *buf, size_t size)
{
	const char *slash = memchr(s, '/', n);
	char a[INET_ADDRSTRLEN];
	struct in_addr in;
	size_t alen;

	if (v4 || len > 32 || !slash || n < 7 || strncasecmp(s, "::ffff:", 7))
		return "";
	alen = (size_t)(slash - s) - 7;
	if (alen >= sizeof(a))
		return "";
	memcpy(a, s + 7, alen);
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, &in) != 1)
		return "";
	snprintf(buf, size, " For the IPv4 prefix write %s/%u or "
		 "::ffff:%s/%u (a mapped length counts the 96 bits before the "
		 "IPv4 address)", a, len, a, len + 96u);
	return buf;
}

void prefix_report(struct loader *l, enum prefix_result r, const char *s,
		   size_t n, const struct policy_addr *net, uint8_t len,
		   bool v4, uint32_t aline0, uint32_t acol0, const char *file,
		   uint32_t line, uint32_t col)
{
	char text[256], msg[640], want[64], hint[192];
	size_t i, t = 0;

	/* Byte by byte: a NUL in a list line is shown, not an end. */
	for (i = 0; i < n && i < 100; i++) {
		if (s[i]) {
			text[t++] = s[i];
		} else {
			text[t++] = '\\';
			text[t++] = '0';
		}
	}
	strcpy(text + t, n > 100 ? "..." : "");
	switch (r) {
	case PREFIX_OK:
		return;
	case PREFIX_MALFORMED:
		snprintf(msg, sizeof(msg), "malformed prefix \"%s\": expected "
			 "an IPv4 or IPv6 address, optionally with /LENGTH%s",
			 text, memchr(s, '%', n) ? "; a zone index (%) has no "
			 "place in a prefix" : "");
		break;
	case PREFIX_BAD_LENGTH:
		snprintf(msg, sizeof(msg), "malformed prefix \"%s\": the "
			 "length must be from 0 to %u", text, v4 ? 32 : 128);
		break;
	case PREFIX_HOST_BITS:
		snprintf(msg, sizeof(msg), "%s has host bits set; did you "
			 "mean %s?%s", text,
			 prefix_format(net, len, v4, want, sizeof(want)),
			 mapped_hint(s, n, v4, len, hint, sizeof(hint)));
		break;
	}
	if (file)
		load_error_in(l, aline0, acol0, file, line, col, "%s", msg);
	else
		load_error(l, aline0, acol0, "%s", msg);
}

int policy_prefix_normalize(const char *s, char *out, size_t len)
{
	struct policy_addr addr;
	char net[64];
	uint8_t plen;
	bool v4;

	switch (prefix_parse(s, strlen(s), &addr, &plen, &v4)) {
	case PREFIX_OK:
		prefix_format(&addr, plen, v4, out, len);
		return 0;
	case PREFIX_HOST_BITS:
		snprintf(out, len, "%s has host bits set; did you mean %s?", s,
			 prefix_format(&addr, plen, v4, net, sizeof(net)));
		return -1;
	case PREFIX_BAD_LENGTH:
		snprintf(out, len, "%s: the length must be 0-32 for IPv4, "
			 "0-128 for IPv6", s);
		return -1;
	default:
		snprintf(out, len, "%s is not an IPv4 or IPv6 prefix", s);
		return -1;
	}
}
