/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy's kernel ruleset: which aggregates and ports go to which
 * queues, and the fallback that judges them with no daemon. The one place
 * that turns a policy into the plain description of common/rules_desc.h
 * (which netlink/rules writes and installs), used by portcullisd and by
 * `portcullis rules`. Pure, as the rest of policy/: time is an argument.
 */
#ifndef PORTCULLIS_POLICY_RULESET_H
#define PORTCULLIS_POLICY_RULESET_H

#include "common/rules_desc.h"
#include "policy/policy.h"

struct policy_ruleset {
	struct rules_desc desc;
	char **v4, **v6;		/* owned strings behind desc */
	char **r4, **r6;
	struct rules_port *ports;
	struct rules_profile *profiles;	/* the fallback's, owned */
	uint8_t *actions;		/* behind profiles[].action */
	struct rules_entry *entries;
};

/*
 * Describe p's ruleset for `queues` queues per group: fail-closed queues
 * 0 .. queues-1, fail-open queues queues .. 2*queues-1; and its fallback
 * as decided at now (UNIX seconds): every entry live then, with the rest
 * of its life as its timeout, but those that decide the named ports as
 * the entry around them does for at least as long (they would change
 * nothing in the kernel). Returns 0, or -1 with errno ENOMEM.
 */
int policy_ruleset_build(struct policy_ruleset *rs, const struct policy *p,
			 unsigned queues, int64_t now);

/* Whether a and b queue the same SYNs (their fallbacks aside). */
bool policy_ruleset_equal(const struct policy_ruleset *a,
			  const struct policy_ruleset *b);

/*
 * The union of a and b into out, for the moment between two policies:
 * every aggregate and port either queues, a port fails closed if either
 * says so, and only relays both know skip the queue. Installed before the
 * policy swap, it leaves no moment where a SYN either policy judges
 * passes unjudged. Its fallback is b's (borrowed: b must outlive it).
 * Returns 0, or -1 with errno ENOMEM.
 */
int policy_ruleset_union(struct policy_ruleset *out,
			 const struct policy_ruleset *a,
			 const struct policy_ruleset *b);

/* NULL-safe on a zeroed ruleset. */
void policy_ruleset_free(struct policy_ruleset *rs);

#endif
