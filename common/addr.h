/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An IPv4 or IPv6 address as every room here holds it: 16 bytes, IPv4
 * mapped into ::ffff:0:0/96, so one comparison and one table serve both
 * families (the policy's lookups, the SYN parser, stats, the block log).
 */
#ifndef PORTCULLIS_ADDR_H
#define PORTCULLIS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addr {
	uint8_t b[16];
};

/* Parse "a.b.c.d" or an IPv6 address. Returns 0, or -1 if malformed. */
int addr_parse(const char *s, struct addr *a);
/* Format into buf (at least 46 bytes); IPv4-mapped as dotted quad. */
const char *addr_format(const struct addr *a, char *buf, size_t len);
bool addr_is_v4(const struct addr *a);
void addr_from_v4(struct addr *a, uint32_t v4_host_order);

#endif
