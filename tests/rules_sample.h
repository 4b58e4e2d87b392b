/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The description the netlink/rules suites share: the example policy's
 * shape (aggregates in both families, 25 fail-closed, 465 and 587
 * fail-open, residential, business and quarantine profiles, a business
 * /28 inside for an hour).
 */
#ifndef PORTCULLIS_TESTS_RULES_SAMPLE_H
#define PORTCULLIS_TESTS_RULES_SAMPLE_H

#include "netlink/rules.h"

static const char *const sample_v4[] = { "100.64.0.0/10", "198.18.0.0/15" };
static const char *const sample_v6[] = { "2001:db8:1000::/36" };
static const struct rules_port sample_ports[] = {
	{ 25, true }, { 465, false }, { 587, false },
};
/* Actions in the order of sample_ports. */
static const uint8_t act_res[] = { RULES_REJECT, RULES_ACCEPT, RULES_ACCEPT };
static const uint8_t act_biz[] = { RULES_ACCEPT, RULES_ACCEPT, RULES_ACCEPT };
static const uint8_t act_quar[] = { RULES_DROP, RULES_DROP, RULES_DROP };
static const struct rules_profile sample_profiles[] = {
	{ "residential", act_res, RULES_ACCEPT },
	{ "business", act_biz, RULES_ACCEPT },
	{ "quarantine", act_quar, RULES_ACCEPT },
};
static const struct rules_entry sample_entries[] = {
	{ { { 100, 64 }, 10, false, 0 }, 0, 0 },
	{ { { 198, 18 }, 15, false, 0 }, 0, 0 },
	{ { { 100, 64, 12, 0 }, 28, false, 3600 }, 1, 1 },
	{ { { 0x20, 0x01, 0x0d, 0xb8, 0x10 }, 36, true, 0 }, 0, 0 },
};

/* The sample, its timeouts counting from now. */
static inline struct rules_desc rules_sample(int64_t now)
{
	struct rules_desc d = {
		.v4 = sample_v4, .nv4 = 2,
		.v6 = sample_v6, .nv6 = 1,
		.ports = sample_ports, .nports = 3,
		.closed_first = 0, .closed_last = 1,
		.open_first = 2, .open_last = 3,
		.reject_mark = 0x100, .reject_mask = 0x100,
		.profiles = sample_profiles, .nprofiles = 3,
		.quarantine = &sample_profiles[2],
		.entries = sample_entries, .nentries = 4,
		.now = now,
	};

	return d;
}

#endif
