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

static void mask(struct addr *a, unsigned bits)
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
				struct addr *addr, uint8_t *len,
				bool *v4)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	unsigned max, bits, full;
	struct addr net;
	uint32_t a4;

	*v4 = false;
	*len = 0;
	/* inet_pton would stop at a NUL and take "::1\0junk" for ::1. */
	if (memchr(s, '\0', n))
		return PREFIX_MALFORMED;
	if (v4_parse(s, alen, &a4) == 0) {
		addr_from_v4(addr, a4);
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
		/* YAML 1.1 tools read 010 as octal; a length is decimal. */
		if (end - slash > 2 && slash[1] == '0') {
			*len = (uint8_t)bits;
			return PREFIX_LENGTH_ZERO;
		}
	}
	/*
	 * ::ffff:a.b.c.d is how policy/ holds an IPv4 address, but written
	 * as a prefix it is ambiguous: ::ffff:0:0/96 would become
	 * 0.0.0.0/0, a shorter length reaches outside IPv4. The operator
	 * writes the IPv4 prefix.
	 */
	if (!*v4 && addr_is_v4(addr)) {
		if (bits >= 96) {
			*v4 = true;
			*len = (uint8_t)(bits - 96);
			mask(addr, bits);
		} else {
			*len = (uint8_t)bits;
		}
		return PREFIX_V4_MAPPED;
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

const char *prefix_format(const struct addr *addr, uint8_t len,
			  bool v4, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	(void)v4;
	if (!addr_format(addr, a, sizeof(a)))
		strcpy(a, "?");
	snprintf(buf, size, "%s/%u", a, len);
	return buf;
}

/*
 * What is wrong with text (s as shown) for the results that need no
 * loader: a length with a leading zero, an IPv4-mapped prefix.
 */
static void problem_text(enum prefix_result r, const char *s, size_t n,
			 const struct addr *net, uint8_t len, bool v4,
			 const char *text, char *msg, size_t size)
{
	const char *slash = memchr(s, '/', n);
	char a[INET6_ADDRSTRLEN], want[64], octal[64];

	if (r == PREFIX_LENGTH_ZERO) {
		snprintf(msg, size, "malformed prefix \"%s\": expected a "
			 "length without a leading zero%s; write %.*s/%u", text,
			 text_octal_note(slash + 1, (size_t)(s + n - slash - 1),
					 octal, sizeof(octal)),
			 (int)(slash - s), s, len);
		return;
	}
	if (!v4 && len <= 32) {
		/* ::ffff:100.64.0.0/10: the IPv4 length, most likely. */
		struct addr a4 = *net;

		mask(&a4, 96u + len);
		snprintf(msg, size, "%s is an IPv4-mapped IPv6 address with a "
			 "length below 96; write the IPv4 prefix %s instead",
			 text, prefix_format(&a4, len, true, want,
					     sizeof(want)));
		return;
	}
	if (!v4) {
		snprintf(msg, size, "%s is an IPv4-mapped IPv6 address with a "
			 "length below 96, which reaches outside IPv4; write "
			 "an IPv4 prefix instead (0.0.0.0/0 for all of IPv4)",
			 text);
		return;
	}
	if (!slash) {
		if (!addr_format(net, a, sizeof(a)))
			strcpy(a, "?");
		snprintf(msg, size, "%s is an IPv4-mapped IPv6 address; write "
			 "the IPv4 address %s instead", text, a);
		return;
	}
	snprintf(msg, size, "%s is an IPv4-mapped IPv6 prefix; write the IPv4 "
		 "prefix %s instead", text,
		 prefix_format(net, len, true, want, sizeof(want)));
}

void prefix_report(struct loader *l, enum prefix_result r, const char *s,
		   size_t n, const struct addr *net, uint8_t len,
		   bool v4, uint32_t aline0, uint32_t acol0, const char *file,
		   uint32_t line, uint32_t col)
{
	char text[256], msg[640], want[64];
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
			 "mean %s?", text,
			 prefix_format(net, len, v4, want, sizeof(want)));
		break;
	case PREFIX_LENGTH_ZERO:
	case PREFIX_V4_MAPPED:
		problem_text(r, s, n, net, len, v4, text, msg, sizeof(msg));
		break;
	}
	if (file)
		load_error_in(l, aline0, acol0, file, line, col, "%s", msg);
	else
		load_error(l, aline0, acol0, "%s", msg);
}

int policy_prefix_normalize(const char *s, char *out, size_t len)
{
	struct addr addr;
	enum prefix_result r;
	char net[64];
	uint8_t plen;
	bool v4;

	r = prefix_parse(s, strlen(s), &addr, &plen, &v4);
	switch (r) {
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
	case PREFIX_LENGTH_ZERO:
	case PREFIX_V4_MAPPED:
		problem_text(r, s, strlen(s), &addr, plen, v4, s, out, len);
		return -1;
	default:
		snprintf(out, len, "%s is not an IPv4 or IPv6 prefix", s);
		return -1;
	}
}
