// SPDX-License-Identifier: GPL-2.0-or-later
/* The names of the policy's actions and reasons. */
#include "policy.h"

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
