// SPDX-License-Identifier: GPL-2.0-or-later
/* policy_decide(): DESIGN.md's decision order, on the compiled policy. */
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

bool policy_is_relay(const struct policy *p, const struct addr *dst)
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

int32_t policy_lookup(const struct policy *p, const struct addr *src,
		      int64_t now)
{
	int32_t id;

	if (addr_is_v4(src))
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
			      const struct addr *src, int64_t now,
			      uint16_t *profile)
{
	int32_t id;

	if (addr_is_v4(src))
		return table_lookup_profile(p->v4, src, now, profile);
	id = table_lookup_profile(p->v6, src, now, profile);
	return id < 0 ? -1 : id + (int32_t)table_count(p->v4);
}

void policy_decide_quarantined(const struct policy *p,
			       const struct policy_flow *flow,
			       struct policy_decision *d)
{
	if (p->detection.profile < 0)
		return;
	d->profile = p->detection.profile;
	d->action = policy_profile_action(p, d->profile, flow->dport, NULL);
	d->reason = POLICY_REASON_QUARANTINE;
	d->verdict = p->mode == POLICY_MODE_MONITOR ? POLICY_ACCEPT : d->action;
}

/* The decision for a flow from a subscriber source (entry id, with its
 * profile), or from none (id -1). */
static void judge(const struct policy *p, const struct policy_flow *flow,
		  int32_t id, uint16_t profile, bool quarantined, int64_t now,
		  struct policy_decision *d)
{
	bool listed;

	d->entry = id;
	if (id < 0) {
		d->reason = POLICY_REASON_NOT_SUBSCRIBER;
		goto out;
	}
	if (quarantined && p->detection.profile >= 0) {
		policy_decide_quarantined(p, flow, d);
		return;
	}
	/* Rule 4: an exception for the subscriber, wherever it is. */
	if (p->nsubex && flow->subscriber_len) {
		int32_t x = subex_find(p, flow->subscriber,
				       flow->subscriber_len);

		if (x >= 0 && (!p->subex[x].expires ||
			       now < p->subex[x].expires)) {
			d->subex = x;
			profile = p->subex[x].profile;
		}
	}
	d->profile = profile;
	d->action = policy_profile_action(p, d->profile, flow->dport, &listed);
	d->reason = listed ? POLICY_REASON_PORT : POLICY_REASON_DEFAULT;
out:
	d->verdict = p->mode == POLICY_MODE_MONITOR ? POLICY_ACCEPT : d->action;
}

/* Start d; true when a relay decides it (accept) and no lookup is due. */
static bool judge_relay(const struct policy *p, const struct policy_flow *flow,
			struct policy_decision *d)
{
	d->profile = -1;
	d->entry = -1;
	d->subex = -1;
	d->action = POLICY_ACCEPT;
	if (!policy_is_relay(p, &flow->dst))
		return false;
	d->reason = POLICY_REASON_RELAY;
	d->verdict = POLICY_ACCEPT;
	return true;
}

void policy_decide(const struct policy *p, const struct policy_flow *flow,
		   int64_t now, bool quarantined, struct policy_decision *d)
{
	uint16_t profile = 0;
	int32_t id;

	if (judge_relay(p, flow, d))
		return;
	id = lookup_profile(p, &flow->src, now, &profile);
	judge(p, flow, id, profile, quarantined, now, d);
}

/* Flows judged per round of policy_decide_many(). */
#define DECIDE_CHUNK 64

void policy_decide_many(const struct policy *p,
			const struct policy_flow *const *flows, size_t n,
			int64_t now, struct policy_decision *const *d)
{
	const struct addr *a[2][DECIDE_CHUNK];
	uint16_t prof[DECIDE_CHUNK];
	int32_t id[DECIDE_CHUNK];
	size_t at[2][DECIDE_CHUNK], cnt[2], base, m, i, k;
	int32_t off;

	for (base = 0; base < n; base += m) {
		m = n - base < DECIDE_CHUNK ? n - base : DECIDE_CHUNK;
		cnt[0] = cnt[1] = 0;
		for (i = base; i < base + m; i++) {
			int f;

			if (judge_relay(p, flows[i], d[i]))
				continue;
			f = !addr_is_v4(&flows[i]->src);
			a[f][cnt[f]] = &flows[i]->src;
			at[f][cnt[f]++] = i;
		}
		for (int f = 0; f < 2; f++) {
			if (!cnt[f])
				continue;
			table_lookup_many(f ? p->v6 : p->v4, a[f], cnt[f], now,
					  id, prof);
			off = f ? (int32_t)table_count(p->v4) : 0;
			for (k = 0; k < cnt[f]; k++)
				judge(p, flows[at[f][k]],
				      id[k] < 0 ? -1 : id[k] + off,
				      id[k] < 0 ? 0 : prof[k], false, now,
				      d[at[f][k]]);
		}
	}
}
