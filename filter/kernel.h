/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's side of the kernel ruleset: in at start (the fallback
 * swapped out, what it judged logged), kept up to date and checked while
 * running (quarantine set, anything taken away put back), and swapped
 * back for the fallback at a clean stop. Main thread only.
 */
#ifndef PORTCULLIS_KERNEL_H
#define PORTCULLIS_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/strbuf.h"

struct daemon;
struct policy;
struct policy_ruleset;

/*
 * Build p's ruleset and swap it in for whatever the kernel holds (a
 * fallback, a crashed run's queue rules, nothing); write a fallback line
 * for what the fallback judged. Returns 0, or -1 (logged) with the
 * kernel as it was.
 */
int kernel_start(struct daemon *d, const struct policy *p);

/* At a clean stop (or a start that failed after kernel_start): the
 * fallback rules, or nothing with --on-stop remove. */
void kernel_stop(struct daemon *d);

/*
 * Once a second: bring the quarantine sets up to date and check that
 * nothing was taken from the ruleset; what was is put back, logged once
 * and counted. full: read the rules whatever the generation says.
 * Returns 0 when intact, 1 when something was put back, -1 on failure;
 * errs (may be NULL) gets a line for each of the last two.
 */
int kernel_check(struct daemon *d, bool full, struct strbuf *errs);

/* Read what the kernel quarantine blocked into stats and the counters,
 * then bring the quarantine sets to what stats holds now. */
void kernel_sync_quarantine(struct daemon *d);

/* p's ruleset as this daemon installs it (with the kernel quarantine
 * unless --no-kernel-quarantine). Returns 0, or -1 with errno ENOMEM. */
int kernel_ruleset(struct daemon *d, const struct policy *p, int64_t now,
		   struct policy_ruleset *rs);

#endif
