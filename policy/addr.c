// SPDX-License-Identifier: GPL-2.0-or-later
/* Addresses as policy/ sees them: 16 bytes, IPv4 mapped into ::ffff:0:0/96. */
#include <arpa/inet.h>
#include <string.h>

#include "policy.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool policy_addr_is_v4(const struct policy_addr *a)
{
	return memcmp(a->b, v4_mapped, sizeof(v4_mapped)) == 0;
}

void policy_addr_from_v4(struct policy_addr *a, uint32_t v4)
{
	memcpy(a->b, v4_mapped, sizeof(v4_mapped));
	a->b[12] = v4 >> 24;
	a->b[13] = v4 >> 16;
	a->b[14] = v4 >> 8;
	a->b[15] = v4;
}

int policy_addr_parse(const char *s, struct policy_addr *a)
{
	struct in_addr v4;

	if (inet_pton(AF_INET, s, &v4) == 1) {
		policy_addr_from_v4(a, ntohl(v4.s_addr));
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1)
		return 0;
	return -1;
}

const char *policy_addr_format(const struct policy_addr *a, char *buf,
			       size_t len)
{
	if (policy_addr_is_v4(a))
		return inet_ntop(AF_INET, &a->b[12], buf, len);
	return inet_ntop(AF_INET6, a->b, buf, len);
}

const char *policy_action_name(enum policy_action a)
{
	switch (a) {
	case POLICY_ACCEPT:
		return "accept";
	case POLICY_DROP:
		return "drop";
	case POLICY_REJECT:
		return "reject";
	}
	return "?";
}

const char *policy_reason_name(enum policy_reason r)
{
	switch (r) {
	case POLICY_REASON_RELAY:
		return "relay";
	case POLICY_REASON_NOT_SUBSCRIBER:
		return "not-subscriber";
	case POLICY_REASON_QUARANTINE:
		return "quarantine";
	case POLICY_REASON_PORT:
		return "port";
	case POLICY_REASON_DEFAULT:
		return "default";
	}
	return "?";
}
