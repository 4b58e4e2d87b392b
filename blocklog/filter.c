// SPDX-License-Identifier: GPL-2.0-or-later
/* --since, --until, --src and --subscriber: parsing them and applying them
 * to a line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklog/blocklog.h"
#include "common/duration.h"
#include "common/rfc3339.h"

/* Past a thousand years is a typo, not a question. */
#define SINCE_MAX (1000ULL * 366 * 86400)

int blocklog_time_parse(const char *s, int64_t now, int64_t *ms)
{
	uint64_t secs;

	/* To the millisecond: --at the ts of a line names that line's
	 * moment, not the start of its second. */
	if (rfc3339_parse_ms(s, ms) == 0)
		return 0;
	/* A leading zero ("05m") is no octal here, as in YAML. */
	if (duration_parse(s, SINCE_MAX, &secs) == -1)
		return -1;
	*ms = (now - (int64_t)secs) * 1000;
	return 0;
}

int blocklog_filter_src(struct blocklog_filter *f, const char *s, char *err,
			size_t errlen)
{
	char norm[64], *slash;
	unsigned long len;

	if (policy_prefix_normalize(s, norm, sizeof(norm)) < 0) {
		snprintf(err, errlen, "%s", norm);
		return -1;
	}
	slash = strchr(norm, '/');
	len = slash ? strtoul(slash + 1, NULL, 10) : 128;
	if (slash)
		*slash = '\0';
	if (addr_parse(norm, &f->src) < 0) {
		snprintf(err, errlen, "%s is not an IPv4 or IPv6 prefix", s);
		return -1;
	}
	if (!slash && addr_is_v4(&f->src))
		len = 32;
	f->src_len = (unsigned)len + (addr_is_v4(&f->src) ? 96 : 0);
	f->has_src = true;
	return 0;
}

int blocklog_filter_subscriber(struct blocklog_filter *f, const char *s,
			       char *err, size_t errlen)
{
	char shown[48];
	size_t i;

	if (!blocklog_subscriber_valid(s)) {
		/* Named as found, but no control byte to the terminal. */
		for (i = 0; s[i] && i < sizeof(shown) - 1; i++)
			shown[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
		shown[i] = '\0';
		snprintf(err, errlen, "'%s%s' is no subscriber id: 1 to %d "
			 "printable ASCII characters, no space first or last",
			 shown, s[i] ? "…" : "", BLOCKLOG_SUBSCRIBER_MAX);
		return -1;
	}
	snprintf(f->subscriber, sizeof(f->subscriber), "%s", s);
	f->has_subscriber = true;
	return 0;
}

/* Whether a and b agree on their first bits bits. */
static bool same_bits(const struct addr *a, const struct addr *b,
		      unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a->b, b->b, bytes))
		return false;
	return !rest || !((a->b[bytes] ^ b->b[bytes]) & (0xff00 >> rest));
}

/* An except line's prefix against the filter: they overlap when the
 * shorter one contains the other's network. */
static bool prefix_overlaps(const struct blocklog_filter *f, const char *s)
{
	struct blocklog_filter p = { 0 };
	char err[128];

	if (blocklog_filter_src(&p, s, err, sizeof(err)) < 0)
		return false;
	return same_bits(&f->src, &p.src,
			 f->src_len < p.src_len ? f->src_len : p.src_len);
}

int blocklog_filter_match(const struct blocklog_filter *f,
			  const struct blocklog_line *l)
{
	if (f->has_since && l->ts_ms < f->since_ms)
		return 0;
	if (f->has_until && l->ts_ms >= f->until_ms)
		return 0;
	if (f->has_subscriber && strcmp(l->subscriber, f->subscriber))
		return 0;
	if (!f->has_src)
		return 1;
	if (l->kind == BLOCKLOG_SESSION) {
		/* A prefix's session and the filter overlap either way. */
		unsigned len = l->src_len + (addr_is_v4(&l->src) ? 96 : 0);

		return same_bits(&l->src, &f->src,
				 len < f->src_len ? len : f->src_len);
	}
	if (l->has_src)
		return same_bits(&l->src, &f->src, f->src_len);
	return l->kind == BLOCKLOG_EXCEPT && prefix_overlaps(f, l->prefix);
}
