/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's side of the cluster (DESIGN.md "Many gateways"): what this
 * gateway changes is published, what the others change is applied here as
 * if made here. cluster/ speaks NATS; this file speaks the daemon.
 */
#ifndef PORTCULLIS_FILTER_CLUSTER_H
#define PORTCULLIS_FILTER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "policy/policy.h"

struct daemon;
struct json_object;

/* Start sharing if the running policy has a cluster: section. */
void shared_open(struct daemon *d);
/* After a reload: start, stop or restart as the new policy says. */
void shared_reconfigure(struct daemon *d);
void shared_close(struct daemon *d);
/* The fd the main loop polls (-1: none), and its work when readable. */
int shared_fd(const struct daemon *d);
void shared_apply(struct daemon *d);
/* Once a second: what the queue could not keep is said. */
void shared_tick(struct daemon *d);

/* This gateway's own changes, to publish (nothing without a cluster). */
void shared_except(struct daemon *d, bool del,
		   const struct policy_exception *e);
void shared_release(struct daemon *d, bool by_subscriber,
		    const char *subject);

/* The stats' hook: a quarantine detection began, any verdict thread;
 * held for the main thread, which shared_hook_drain()s it when
 * shared_hook_fd() is readable. init before the stats, free after. */
struct blocklog_event;
void shared_quarantined(void *ctx, const struct blocklog_event *ev);
int shared_hook_init(struct daemon *d);
int shared_hook_fd(const struct daemon *d);
void shared_hook_drain(struct daemon *d);
void shared_hook_free(struct daemon *d);

/* An address as the quarantine records name it (IPv6: the network of
 * the prefix its subscriber is counted per), into out. */
struct addr;
void shared_addr_subject(struct daemon *d, const struct addr *a, char *out,
			 size_t size);

/* stats: the text line and the JSON object ("cluster"). */
void shared_stats_text(struct daemon *d, struct strbuf *out);
void shared_stats_json(struct daemon *d, struct json_object *j);
/* The metrics' lines. */
void shared_metrics(struct daemon *d, struct strbuf *out);
/* `except history [KEY] [--json]`: argv[0] is "history". */
int shared_history_command(struct daemon *d, int argc, char **argv,
			   struct strbuf *out);

#endif
