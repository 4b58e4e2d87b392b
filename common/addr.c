// SPDX-License-Identifier: GPL-2.0-or-later
/* Addresses: 16 bytes, IPv4 mapped into ::ffff:0:0/96 (common/addr.h). */
#include <arpa/inet.h>
#include <string.h>

#include "common/addr.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool addr_is_v4(const struct addr *a)
{
	return memcmp(a->b, v4_mapped, sizeof(v4_mapped)) == 0;
}

void addr_from_v4(struct addr *a, uint32_t v4)
{
	memcpy(a->b, v4_mapped, sizeof(v4_mapped));
	a->b[12] = v4 >> 24;
	a->b[13] = v4 >> 16;
	a->b[14] = v4 >> 8;
	a->b[15] = v4;
}

int addr_parse(const char *s, struct addr *a)
{
	struct in_addr v4;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		addr_from_v4(a, ntohl(v4.s_addr));
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1)
		return 0;
	return -1;
}

const char *addr_format(const struct addr *a, char *buf,
			       size_t len)
{
	if (addr_is_v4(a))
		return inet_ntop(AF_INET, &a->b[12], buf, len);
	return inet_ntop(AF_INET6, a->b, buf, len);
}
