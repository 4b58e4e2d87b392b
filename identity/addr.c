// SPDX-License-Identifier: GPL-2.0-or-later
/* What a session is made of, checked and written as text: subscriber ids
 * and the addresses and prefixes they hold. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/subid.h"
#include "identity.h"

int identity_id_check(const char *s, size_t len, char *why, size_t size)
{
	return subid_check(s, len, why, size);
}

int identity_addr_parse(const char *s, struct identity_addr *out, char *why,
			size_t size)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len = 0;

	memset(out, 0, sizeof(*out));
	if (n >= sizeof(buf))
		goto bad;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (addr_parse(buf, &out->a) < 0)
		goto bad;
	if (slash) {
		char *end;

		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 ||
		    (slash[1] < '0' || slash[1] > '9'))
			goto bad;
	}
	if (addr_is_v4(&out->a)) {
		if (slash && len != 32) {
			snprintf(why, size, "%s: a session holds one IPv4 "
				 "address, not a prefix", s);
			return -1;
		}
		out->len = 32;
		return 0;
	}
	if (!slash)
		len = 64;	/* an IPv6 address stands for its /64 */
	if (len < 1 || len > 64) {
		snprintf(why, size, "%s: an IPv6 prefix of a session is /1 to "
			 "/64", s);
		return -1;
	}
	out->len = (uint8_t)len;
	/* Host bits go: the prefix is what the subscriber holds. */
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = i * 8 >= len ? 0 : len - i * 8 >= 8 ? 8 :
			len - i * 8;

		out->a.b[i] &= (uint8_t)(0xff00u >> bits);
	}
	return 0;
bad:
	snprintf(why, size, "%s: expected an IPv4 address, an IPv6 address or "
		 "an IPv6 prefix (2001:db8:1:100::/56)", s);
	return -1;
}

const char *identity_addr_format(const struct identity_addr *a, char *buf,
				 size_t size)
{
	char ab[64];

	addr_format(&a->a, ab, sizeof(ab));
	if (addr_is_v4(&a->a))
		snprintf(buf, size, "%s", ab);
	else
		snprintf(buf, size, "%s/%u", ab, a->len);
	return buf;
}
