/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * policy/ — the YAML policy compiled into one immutable object, and
 * policy_decide(), the pure function that judges a flow against it.
 *
 * Nothing here opens a socket or reads a clock: time is an argument.
 * Addresses are 16 bytes in network order; an IPv4 address is stored
 * IPv4-mapped (::ffff:a.b.c.d) and is judged as IPv4 wherever it comes from.
 */
#ifndef PORTCULLIS_POLICY_H
#define PORTCULLIS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct policy;

enum policy_action {
	POLICY_ACCEPT = 0,
	POLICY_DROP,
	POLICY_REJECT,
};

enum policy_mode {
	POLICY_MODE_ENFORCE = 0,
	POLICY_MODE_MONITOR,
};

enum policy_reason {
	POLICY_REASON_RELAY = 0,	/* destination is a relay */
	POLICY_REASON_NOT_SUBSCRIBER,	/* source in no live subscriber prefix */
	POLICY_REASON_QUARANTINE,	/* source quarantined: detection profile */
	POLICY_REASON_PORT,		/* the profile names the port */
	POLICY_REASON_DEFAULT,		/* the profile's default (explicit or accept) */
};

/* A subscriber id (DESIGN.md "Sessions"): 1-128 printable characters. */
#define POLICY_SUBSCRIBER_MAX 128

struct policy_flow {
	struct addr src;
	struct addr dst;
	uint16_t dport;
	/* The source's session, if it has one (identity/): its subscriber
	 * id (not NUL-terminated), and the key the stats count it by. */
	uint8_t subscriber_len;		/* 0: no session */
	const char *subscriber;
	uint64_t subscriber_key;
};

struct policy_decision {
	enum policy_action action;	/* what the policy says */
	enum policy_action verdict;	/* what to give the kernel (monitor: accept) */
	enum policy_reason reason;
	int profile;			/* profile index, -1 for none */
	int32_t entry;			/* subscriber entry id, -1 for none */
	int32_t subex;			/* rule 4: the live exception of the
					 * flow's subscriber id that gave the
					 * profile, -1 for none */
};

/* A subscriber entry as the operator wrote it, for explain and logs. */
struct policy_entry_info {
	char prefix[64];		/* "100.64.0.0/10", "2001:db8::/32" */
	const char *profile;
	int profile_id;
	const char *note;		/* NULL when none */
	int64_t expires;		/* UNIX seconds, 0 for never */
	const char *file;		/* where it was written */
	unsigned line;
	int32_t parent;			/* next shorter enclosing entry, -1 none */
};

struct policy_detection {
	bool enabled;			/* the section is present */
	uint16_t ports[64];
	unsigned nports;
	unsigned window_s;
	unsigned syns;
	unsigned distinct_destinations;
	bool quarantine;		/* action: quarantine (else log) */
	unsigned quarantine_for_s;
	int profile;			/* profile index, -1 when none */
	unsigned ipv6_prefix_len;	/* IPv6 subscribers are counted per this (64) */
	unsigned max_subscribers;	/* hard cap of tracked subscribers */
};

struct policy_log {
	const char *blocks;		/* block log path, NULL for none */
	bool syslog;
	int syslog_facility;		/* of the block lines: LOG_MAIL (the
					 * default), LOG_LOCAL0 ... from
					 * <syslog.h> */
	unsigned per_subscriber;	/* block lines per subscriber ... */
	unsigned per_subscriber_s;	/* ... per this many seconds; 0 = unlimited */
};

/* The cluster: section (DESIGN.md "Many gateways"). */
#define POLICY_CLUSTER_SERVERS_MAX 16
struct policy_cluster {
	bool enabled;			/* the section is present */
	const char *servers[POLICY_CLUSTER_SERVERS_MAX];	/* URLs as written */
	unsigned nservers;
	const char *gateway;		/* as written, else the host name */
	const char *bucket;		/* as written, else "portcullis" */
	const char *credentials;	/* resolved against the policy's folder
					 * (absolute stays), NULL when none */
	const char *ca;			/* tls://: the CA bundle to trust,
					 * resolved the same way; NULL: the
					 * system's */
};

/* The errors of one load, each "file:line:col: message". */
struct policy_errors {
	char **msg;
	size_t count;
	size_t cap;
};

/*
 * Load and compile the policy at path. Returns the policy, or NULL with
 * every error found appended to errs (which may then be printed whole).
 * A policy is never returned half-built. errs may be NULL.
 */
struct policy *policy_load(const char *path, struct policy_errors *errs);

/* As policy_load, from a buffer; name is used in messages, and relative
 * `file:` lists are resolved against dir (NULL: the current directory). */
struct policy *policy_load_buffer(const char *name, const char *dir,
				  const char *buf, size_t len,
				  struct policy_errors *errs);

/* The longest note of a live exception, in bytes (the block log's
 * event holds as many: blocklog/blocklog.h). */
#define POLICY_NOTE_MAX 199

/*
 * A live exception (portcullis except add): a subscriber entry added at
 * run time. It beats the policy file's entry for the same prefix; the
 * longest prefix still wins.
 */
struct policy_exception {
	char prefix[64];		/* as given: "100.64.12.0/28"; "" for
					 * an exception by subscriber id */
	/* Rule 4 (DESIGN.md "Decision"): the subscriber id it is for, ""
	 * for one by prefix. Wherever the subscriber's session puts it. */
	char subscriber[POLICY_SUBSCRIBER_MAX + 1];
	char profile[64];
	int64_t added;			/* UNIX seconds */
	int64_t expires;		/* UNIX seconds, 0 for never */
	char note[POLICY_NOTE_MAX + 1];	/* policy_note_check() holds */
};

/*
 * Check s[0 .. len) as the note of a live exception: UTF-8, no control
 * character (C0, DEL, C1 U+0080-U+009F), at most POLICY_NOTE_MAX bytes.
 * Returns 0, or -1 with what was expected and what was found, and at
 * which byte, in why ("expected UTF-8 text, found the byte 0xfc at byte
 * 2, ...").
 */
int policy_note_check(const char *s, size_t len, char *why, size_t size);

/* As policy_load, with ex[0 .. nex) added. An exception that names a
 * profile the file does not define, or a malformed prefix, is an error
 * like any other: no policy is returned. */
struct policy *policy_load_ex(const char *path,
			      const struct policy_exception *ex, size_t nex,
			      struct policy_errors *errs);

/*
 * Normalise prefix text s ("100.64.12.0/28"; a bare address is a host
 * route) into out (64 bytes hold any prefix; what is wrong may take up
 * to 200). Returns 0, or -1 with what is wrong in out (e.g. "has host
 * bits set; did you mean 100.64.12.0/28?", "is an IPv4-mapped IPv6
 * prefix; write the IPv4 prefix 100.64.0.0/10 instead").
 */
int policy_prefix_normalize(const char *s, char *out, size_t len);

/* Read the exceptions state file at path. A missing file is an empty
 * list. Returns 0 with *ex (malloc'd, caller frees) and *nex, or -1 with
 * the errors in errs. */
int policy_exceptions_load(const char *path, struct policy_exception **ex,
			   size_t *nex, struct policy_errors *errs);

/* Write the state file atomically (temporary file, fsync, rename, fsync
 * of the folder). Returns 0, or -1 with errno. */
int policy_exceptions_save(const char *path,
			   const struct policy_exception *ex, size_t nex);

/* Live exceptions by subscriber id in p: their number, and the one a
 * decision's subex names (its subscriber, profile, expiry and note into
 * out). Returns 0, or -1 with errno EINVAL when i is out of range. */
size_t policy_subscriber_exception_count(const struct policy *p);
int policy_subscriber_exception(const struct policy *p, int32_t i,
				struct policy_exception *out);

/* Free the policy and everything it owns. NULL-safe. */
void policy_free(struct policy *p);

/* Free the messages held by errs (not errs itself). NULL-safe. */
void policy_errors_free(struct policy_errors *errs);

/*
 * Judge flow at time now (UNIX seconds) in DESIGN.md's order. quarantined
 * says whether the caller's stats hold the source in quarantine. Never
 * fails, allocates nothing, and is safe from any number of threads.
 */
void policy_decide(const struct policy *p, const struct policy_flow *flow,
		   int64_t now, bool quarantined, struct policy_decision *d);

/*
 * Decision rule 3 (DESIGN.md), the one place it is made: flow's source is
 * quarantined, so the detection profile decides its port. d, a decision
 * policy_decide() made for a subscriber source, is rewritten (profile,
 * action, reason, verdict); nothing changes when the policy names no
 * detection profile. policy_decide(..., true, ...) calls it; so do the
 * daemon's stats, which learn of a quarantine on the verdict path, and the
 * kernel fallback's description. Allocates nothing.
 */
void policy_decide_quarantined(const struct policy *p,
			       const struct policy_flow *flow,
			       struct policy_decision *d);

/*
 * policy_decide(flows[i], now, not quarantined, d[i]) for i < n, the
 * lookups interleaved so that their cache misses overlap: what a burst
 * of queued SYNs costs is then nearer one miss than n.
 */
void policy_decide_many(const struct policy *p,
			const struct policy_flow *const *flows, size_t n,
			int64_t now, struct policy_decision *const *d);

/* Only the subscriber lookup: the live entry that decides src at now,
 * or -1 when the source is no subscriber. */
int32_t policy_lookup(const struct policy *p, const struct addr *src,
		      int64_t now);

/* Describe entry id (from a decision or policy_lookup). Returns 0, or -1
 * with errno EINVAL when id is out of range. */
int policy_entry_info(const struct policy *p, int32_t id,
		      struct policy_entry_info *info);

/* Where entry e was written, for people: "policy.yaml:27", a list's
 * "business.list" (its lines are not kept), or "a live exception".
 * Returns buf. */
const char *policy_entry_where(const struct policy_entry_info *e, char *buf,
			       size_t len);

/* Start loading entry id's record (policy_entry_prefix will read it). */
void policy_entry_prefetch(const struct policy *p, int32_t id);

/* Entry id's prefix without making text (the verdict path): address
 * and length, an IPv4 one mapped with its IPv4 length. Returns 0, or -1
 * with errno EINVAL when id is out of range. */
int policy_entry_prefix(const struct policy *p, int32_t id,
			struct addr *addr, unsigned *len);

/* Profile name, action for a port, number of profiles. */
const char *policy_profile_name(const struct policy *p, int profile);
enum policy_action policy_profile_action(const struct policy *p, int profile,
					 uint16_t port, bool *listed);
unsigned policy_profile_count(const struct policy *p);
/* The profile's default action for ports it does not list. */
enum policy_action policy_profile_default(const struct policy *p, int profile);
/* Ports the profile lists, in ascending order; returns their number and
 * stores up to max of them in ports. */
unsigned policy_profile_ports(const struct policy *p, int profile,
			      uint16_t *ports, unsigned max);

enum policy_mode policy_mode(const struct policy *p);
const char *policy_path(const struct policy *p);
const struct policy_detection *policy_detection(const struct policy *p);
const struct policy_log *policy_log_config(const struct policy *p);
/* The cluster: section; ->enabled is false when there is none. */
const struct policy_cluster *policy_cluster(const struct policy *p);

/* Counts for summaries. */
size_t policy_entry_count(const struct policy *p, int family);
size_t policy_relay_count(const struct policy *p);
bool policy_is_relay(const struct policy *p, const struct addr *dst);
/* Relay i (0 .. policy_relay_count() - 1). */
const struct addr *policy_relay(const struct policy *p, size_t i);

/*
 * The subscriber aggregates: entries that no other entry encloses, of
 * family AF_INET or AF_INET6, in address order. Returns their number and
 * fills up to max ids into ids. With ids NULL only counts.
 */
size_t policy_aggregates(const struct policy *p, int family,
			 int32_t *ids, size_t max);

/*
 * The ports the kernel must queue: every port some profile or detection
 * names, ascending. A port is fail_closed when a profile that subscriber
 * entries use blocks it (drop or reject): without the daemon it must not
 * pass. Others fail open. Returns the number of ports, storing up to max.
 * *all_ports (if not NULL) is set when such a profile's default blocks,
 * so every port must be queued (then fail-closed).
 */
struct policy_port {
	uint16_t port;
	bool fail_closed;
};
unsigned policy_ports(const struct policy *p, struct policy_port *ports,
		      unsigned max, bool *all_ports);

/* Entries expiring within (now, now + within]; fills up to max ids. */
size_t policy_expiring(const struct policy *p, int64_t now, int64_t within,
		       int32_t *ids, size_t max);

/* ---- what changes between two policies (portcullis diff) ---------------- */

enum policy_diff_kind {
	POLICY_DIFF_MODE,		/* old_text → new_text */
	POLICY_DIFF_PROFILE_ADDED,	/* name */
	POLICY_DIFF_PROFILE_REMOVED,	/* name */
	POLICY_DIFF_PROFILE_PORT,	/* name, port (-1: its default),
					 * old_action → new_action */
	POLICY_DIFF_RELAY_ADDED,	/* name: the address */
	POLICY_DIFF_RELAY_REMOVED,
	POLICY_DIFF_DETECTION,		/* name: the field; old_text, new_text */
	POLICY_DIFF_ENTRY_ADDED,	/* name: the prefix; new_e */
	POLICY_DIFF_ENTRY_REMOVED,	/* old_e */
	POLICY_DIFF_ENTRY_CHANGED,	/* old_e, new_e: profile, note or
					 * expiry differ */
	POLICY_DIFF_RANGE,		/* name: a prefix; port (-1: the ports
					 * no profile names), old_action →
					 * new_action, why */
};

/* One change. The entries' strings point into the policies. */
struct policy_diff_item {
	enum policy_diff_kind kind;
	char name[64];
	int port;
	int old_action, new_action;	/* enum policy_action */
	char old_text[64], new_text[64];
	bool has_old, has_new;
	struct policy_entry_info old_e, new_e;
	char why[1024];
};

/* Called for each change; returns 0 to go on, -1 to stop. */
typedef int (*policy_diff_fn)(void *ctx, const struct policy_diff_item *it);

/*
 * What changes from a to b, entries live at now: the mode, profiles
 * (added, removed, each port whose action moved and the default),
 * relays, detection's fields, entries matched by prefix (added, removed,
 * changed), then every source range whose decision changes on a port
 * any profile names, or on the others, as the fewest prefixes, with why
 * (the entries deciding it on each side). In that order, each in address
 * or name order. Returns the number of changes, or -1 with errno (ENOMEM,
 * or fn stopped it: errno as fn left it).
 */
long policy_diff(const struct policy *a, const struct policy *b, int64_t now,
		 policy_diff_fn fn, void *ctx);

/* The change as one line for a person, without '\n' (cut to len):
 * "100.64.12.0/28 port 25: accept → reject (entry 100.64.12.0/28
 * removed, old policy.yaml:27)". Returns buf. */
const char *policy_diff_format(const struct policy_diff_item *it, char *buf,
			       size_t len);

/* Helpers shared by every module that prints or parses addresses. */
const char *policy_action_name(enum policy_action a);
const char *policy_reason_name(enum policy_reason r);

#endif
