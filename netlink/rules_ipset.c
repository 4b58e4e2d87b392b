// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink/rules: the iptables backend's sets, as `ipset restore` input. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink/rules_int.h"

#define IPSET_MAXELEM_MIN	65536u

/* A power of two near n, within ipset's bounds, for the initial hash. */
static size_t hashsize(size_t n)
{
	size_t h = 1024;

	while (h < n && h < ((size_t)1 << 24))
		h <<= 1;
	return h;
}

size_t rules_ipset_maxelem(size_t elements)
{
	return elements * 2 > IPSET_MAXELEM_MIN ? elements * 2
						: IPSET_MAXELEM_MIN;
}

void rules_ipset_create(struct out *o, const char *name, bool v6,
			enum rules_set_kind kind, size_t elements)
{
	/* The quarantine sets grow as subscribers are held, up to every one
	 * the subscriber table has (with each port): a bound, not memory. */
	size_t max = kind == RULES_SET_NET ? rules_ipset_maxelem(elements)
					   : RULES_QSET_MAXELEM;

	/* Quarantined IPv4 sources are addresses, IPv6 ones prefixes. */
	outf(o, "%s %s family %s hashsize %zu maxelem %zu timeout 0%s\n",
	     name, kind != RULES_SET_NET && !v6 ? "hash:ip" : "hash:net",
	     v6 ? "inet6" : "inet", hashsize(elements), max,
	     kind != RULES_SET_NET ? " counters" : "");
}

const char *rules_canary_text(bool v6)
{
	return v6 ? "ff00::/128" : "255.255.255.255";
}

static void add_one(struct out *o, const char *name,
		    const struct rules_elem *e)
{
	char buf[RULES_PREFIX_MAX];

	outf(o, "add %s %s", name, rules_elem_format(e, buf, sizeof(buf)));
	if (e->timeout)
		outf(o, " timeout %u", e->timeout);
	outf(o, "\n");
}

void rules_ipset_adds(struct out *o, const struct rules_desc *d,
		      const char *name, bool v6, unsigned depth,
		      size_t profile)
{
	outf(o, "add %s %s\n", name, rules_canary_text(v6));
	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];
		struct rules_elem half;

		if (e->e.v6 != v6 || e->depth != depth || e->profile != profile)
			continue;
		if (e->e.len) {
			add_one(o, name, &e->e);
			continue;
		}
		/* hash:net takes /1 to /32 (/128): the two halves of /0. */
		half = e->e;
		half.len = 1;
		memset(half.addr, 0, sizeof(half.addr));
		add_one(o, name, &half);
		half.addr[0] = 0x80;
		add_one(o, name, &half);
	}
}

void rules_ipset_agg_adds(struct out *o, const struct rules_desc *d,
			  const char *name, bool v6)
{
	const char *const *p = v6 ? d->v6 : d->v4;
	size_t n = v6 ? d->nv6 : d->nv4;
	char canon[RULES_PREFIX_MAX];

	outf(o, "add %s %s\n", name, rules_canary_text(v6));
	for (size_t i = 0; i < n; i++) {
		rules_prefix_canon(p[i], v6 ? AF_INET6 : AF_INET, canon,
				   sizeof(canon));
		if (!strcmp(canon, v6 ? "::/0" : "0.0.0.0/0"))
			outf(o, "add %s %s\nadd %s %s\n", name,
			     v6 ? "::/1" : "0.0.0.0/1", name,
			     v6 ? "8000::/1" : "128.0.0.0/1");
		else
			outf(o, "add %s %s\n", name, canon);
	}
}

size_t rules_ipset_count(const struct rules_desc *d, bool v6, unsigned depth,
			 size_t profile)
{
	size_t n = 1;	/* the canary */

	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];

		if (e->e.v6 == v6 && e->depth == depth && e->profile == profile)
			n += e->e.len ? 1 : 2;
	}
	return n;
}

int rules_ipset_write(FILE *f, const struct rules_desc *d,
		      char *err, size_t errlen)
{
	struct out o = { .f = f };
	const char *c = rules_chain(d);
	char name[RULES_NAME_MAX];

	if (rules_check(d, err, errlen) < 0)
		return -1;
	outf(&o, "# portcullis sets for ipset -exist restore, before the "
	     "iptables rules; each\n# holds %s (IPv4) or %s (IPv6), which "
	     "no forwarded packet has as\n# its source: portcullisd checks "
	     "by them that a set was not emptied\n", rules_canary_text(false),
	     rules_canary_text(true));
	for (unsigned i = 0; i < RULES_IPSET_QSETS; i++) {
		rules_qset_at(name, sizeof(name), c, i);
		outf(&o, "create ");
		rules_ipset_create(&o, name, rules_qset_v6(i),
				   RULES_SET_SOURCES, 0);
		outf(&o, "add %s %s\n", name,
		     rules_canary_text(rules_qset_v6(i)));
	}
	for (int v6 = 0; v6 < 2; v6++) {
		struct rules_layers l;

		if (rules_agg_in_set(d, v6)) {
			rules_aset_name(name, sizeof(name), c, v6);
			outf(&o, "create ");
			rules_ipset_create(&o, name, v6, RULES_SET_NET,
					   v6 ? d->nv6 : d->nv4);
			outf(&o, "flush %s\n", name);
			rules_ipset_agg_adds(&o, d, name, v6);
		}
		if (rules_layers_get(d, v6, &l) < 0) {
			errbuf_set(err, errlen, "out of memory");
			errno = ENOMEM;
			return -1;
		}
		for (unsigned dp = 0; dp < l.depths; dp++)
			for (size_t k = 0; k < d->nprofiles; k++) {
				if (!rules_layer_has(&l, dp, k))
					continue;
				rules_set_name(name, sizeof(name), c, v6, dp,
					       (unsigned)k);
				outf(&o, "create ");
				rules_ipset_create(&o, name, v6, RULES_SET_NET,
						   rules_ipset_count(d, v6, dp,
								     k));
				outf(&o, "flush %s\n", name);
				rules_ipset_adds(&o, d, name, v6, dp, k);
			}
		rules_layers_free(&l);
	}
	return out_finish(&o);
}
