// SPDX-License-Identifier: GPL-2.0-or-later
/* policy_decide(): DESIGN.md's decision order, on the compiled policy. */
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

bool policy_is_relay(const struct policy *p, const struct policy_addr *dst)
{
	size_t lo = 0, hi = p->nrelays;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(&p->relays[mid], dst, sizeof(*dst));

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int32_t policy_lookup(const struct policy *p, const struct policy_addr *src,
		      int64_t now)
{
	int32_t id;

	if (policy_addr_is_v4(src))
		return table_lookup(p->v4, src, now);
	id = table_lookup(p->v6, src, now);
	return id < 0 ? -1 : id + (int32_t)table_count(p->v4);
}

enum policy_action policy_profile_action(const struct policy *p, int profile,
					 uint16_t port, bool *listed)
{
	const struct profile *pr = &p->profiles[profile];
	unsigned lo = 0, hi = pr->nports;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (pr->ports[mid] == port) {
			if (listed)
				*listed = true;
			return pr->actions[mid];
		}
		if (pr->ports[mid] < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (listed)
		*listed = false;
	return pr->def;
}

/* policy_lookup, with the entry's profile. */
static int32_t lookup_profile(const struct policy *p,
			      const struct policy_addr *src, int64_t now,
			      uint16_t *profile)
{
	int32_t id;

	if (policy_addr_is_v4(src))
		return table_lookup_profile(p->v4, src, now, profile);
	id = table_lookup_profile(p->v6, src, now, profile);
	return id < 0 ? -1 : id + (int32_t)table_count(p->v4);
}

void policy_decide(const struct policy *p, const struct policy_flow *flow,
		   int64_t now, bool quarantined, struct policy_decision *d)
{
	uint16_t profile = 0;
	bool listed;

	d->profile = -1;
	d->entry = -1;
	d->action = POLICY_ACCEPT;
	if (policy_is_relay(p, &flow->dst)) {
		d->reason = POLICY_REASON_RELAY;
		goto out;
	}
	d->entry = lookup_profile(p, &flow->src, now, &profile);
	if (d->entry < 0) {
		d->reason = POLICY_REASON_NOT_SUBSCRIBER;
		goto out;
	}
	if (quarantined && p->detection.profile >= 0) {
		d->profile = p->detection.profile;
		d->action = policy_profile_action(p, d->profile, flow->dport,
						  NULL);
		d->reason = POLICY_REASON_QUARANTINE;
		goto out;
	}
	d->profile = profile;
	d->action = policy_profile_action(p, d->profile, flow->dport, &listed);
	d->reason = listed ? POLICY_REASON_PORT : POLICY_REASON_DEFAULT;
out:
	d->verdict = p->mode == POLICY_MODE_MONITOR ? POLICY_ACCEPT : d->action;
}
