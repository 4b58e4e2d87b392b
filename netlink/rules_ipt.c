// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink/rules: the iptables-restore text (layout in rules.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink/rules_int.h"

static const char *const target[] = {
	[RULES_ACCEPT] = "ACCEPT",
	[RULES_DROP] = "DROP",
	[RULES_REJECT] = "REJECT --reject-with tcp-reset",
};

/* One class's ports as -m multiport rules of 15 (or --dport for one),
 * each followed by what; closed: fail-closed ports, else fail-open. */
static void dispatch(struct out *o, const char *chain, const char *match,
		     const struct rules_desc *d, bool closed, const char *what)
{
	size_t total = rules_port_count(d, closed), i = 0, done = 0, n;

	while (done < total) {
		n = total - done < RULES_MULTIPORT_MAX ? total - done
						       : RULES_MULTIPORT_MAX;
		outf(o, "-A %s%s %s", chain, match,
		     n == 1 ? "--dport " : "-m multiport --dports ");
		done += rules_port_list(o, d, closed, &i, RULES_MULTIPORT_MAX,
					",");
		outf(o, " -j %s\n", what);
	}
}

/* Rules for the ports (fail-closed ones; fail-open ones too when both)
 * whose action in actions[] is a, 15 to a -m multiport rule. */
static void by_action(struct out *o, const char *chain,
		      const struct rules_desc *d, const uint8_t *actions,
		      bool both, enum rules_action a)
{
	uint16_t chunk[RULES_MULTIPORT_MAX];
	size_t i = 0, n;

	for (;;) {
		for (n = 0; i < d->nports && n < RULES_MULTIPORT_MAX; i++)
			if ((both || d->ports[i].fail_closed) &&
			    actions[i] == a)
				chunk[n++] = d->ports[i].port;
		if (!n)
			return;
		outf(o, "-A %s -p tcp %s", chain,
		     n == 1 ? "--dport " : "-m multiport --dports ");
		for (size_t j = 0; j < n; j++)
			outf(o, "%s%u", j ? "," : "", chunk[j]);
		outf(o, " -j %s\n", target[a]);
	}
}

/* A profile's chain: every port whose action is not the profile's
 * default, then the default (last; without it, every port's action).
 * both: the fail-open ports count too (the quarantine profile, which
 * holds submission as well). */
static void profile_chain(struct out *o, const char *chain,
			  const struct rules_desc *d,
			  const struct rules_profile *p, bool both, bool last)
{
	static const enum rules_action order[] = {
		RULES_REJECT, RULES_DROP, RULES_ACCEPT,
	};

	/* Without the closing default rule every port needs its own. */
	for (size_t a = 0; a < 3; a++)
		if (order[a] != p->other || !last)
			by_action(o, chain, d, p->action, both, order[a]);
	if (last)
		outf(o, "-A %s -j %s\n", chain, target[p->other]);
}

/* Whether profile k has a chain of its own: some entry names it. */
static bool profile_used(const struct rules_layers *l4,
			 const struct rules_layers *l6, size_t k)
{
	for (unsigned dp = 0; dp < l4->depths; dp++)
		if (rules_layer_has(l4, dp, k))
			return true;
	for (unsigned dp = 0; dp < l6->depths; dp++)
		if (rules_layer_has(l6, dp, k))
			return true;
	return false;
}

void rules_ipt_chains(struct out *o, const struct rules_desc *d)
{
	static const char *const fixed[] = {
		"", "-CLOSED", "-OPEN", "-FRAG", "-FRAGS", "-FB", "-FBC",
		"-QP",
	};
	const char *c = rules_chain(d);
	struct rules_layers l4, l6;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		outf(o, ":%s%s - [0:0]\n", c, fixed[i]);
	if (rules_layers_get(d, false, &l4) < 0 ||
	    rules_layers_get(d, true, &l6) < 0) {
		o->err = ENOMEM;
		rules_layers_free(&l4);
		return;
	}
	for (size_t k = 0; k < d->nprofiles; k++)
		if (profile_used(&l4, &l6, k))
			outf(o, ":%s-P%zu - [0:0]\n", c, k);
	rules_layers_free(&l4);
	rules_layers_free(&l6);
}

void rules_ipt_jumps(struct out *o, const char *chain, int family)
{
	outf(o, "-I FORWARD 1 " RULES_SYN_IPT " -j %s\n", chain);
	if (family == AF_INET)
		outf(o, "-I FORWARD 2 -p tcp -m u32 --u32 "
		     "\"4&0x3FFF=0x1:0x3FFF\" -j %s-FRAG\n", chain);
	else
		outf(o, "-I FORWARD 2 -m ipv6header --header frag --soft "
		     "-j %s-FRAG\n", chain);
}

/*
 * The kernel quarantine's rule for "any other port", ahead of the queues
 * (the ports it blocks by name are judged in its nf_tables table, ahead
 * of this chain: rules_nft_kq_table): with all_ports, a quarantined
 * source's SYN to a port the quarantine does not accept, when those fit
 * one multiport match (else the daemon goes on judging them).
 */
static void kernel_quarantine(struct out *o, const struct rules_desc *d,
			      int family)
{
	const struct rules_profile *q = d->quarantine;
	char set[RULES_NAME_MAX];
	const char *c = rules_chain(d);
	size_t naccept = 0;

	if (!d->kernel_quarantine || !q || d->monitor || !d->all_ports ||
	    q->other == RULES_ACCEPT)
		return;
	for (size_t i = 0; i < d->nports; i++)
		naccept += q->action[i] == RULES_ACCEPT;
	if (naccept > RULES_MULTIPORT_MAX)
		return;
	rules_qset_name(set, sizeof(set), c, family == AF_INET6);
	outf(o, "-A %s -p tcp", c);
	if (naccept) {
		outf(o, " -m multiport ! --dports ");
		for (size_t i = 0, n = 0; i < d->nports; i++)
			if (q->action[i] == RULES_ACCEPT)
				outf(o, "%s%u", n++ ? "," : "",
				     d->ports[i].port);
	}
	outf(o, " -m set --match-set %s src -m comment --comment \""
	     RULES_KQ_TAG "other\" -j %s\n", set, target[q->other]);
}

void rules_ipt_main(struct out *o, const struct rules_desc *d, int family,
		    bool fallback, int64_t since)
{
	const char *const *relays = family == AF_INET ? d->relays4 : d->relays6;
	size_t nrelays = family == AF_INET ? d->nrelays4 : d->nrelays6;
	char canon[RULES_PREFIX_MAX], closed[64], open[64];
	const char *c = rules_chain(d);

	outf(o, "-A %s -p tcp -m mark --mark 0x%x/0x%x -j REJECT "
	     "--reject-with tcp-reset\n", c, d->reject_mark, d->reject_mask);
	for (size_t i = 0; i < nrelays; i++) {
		rules_prefix_canon(relays[i], family, canon, sizeof(canon));
		outf(o, "-A %s -d %s -j RETURN\n", c, canon);
	}
	if (fallback) {
		outf(o, "-A %s -m comment --comment \"" RULES_FALLBACK_TAG
		     "%lld\" -j %s-FB\n", c, (long long)since, c);
		return;
	}
	kernel_quarantine(o, d, family);
	snprintf(closed, sizeof(closed), "%s-CLOSED", c);
	snprintf(open, sizeof(open), "%s-OPEN", c);
	dispatch(o, c, " " RULES_SYN_IPT, d, true, closed);
	dispatch(o, c, " " RULES_SYN_IPT, d, false, open);
	if (d->all_ports)
		outf(o, "-A %s " RULES_SYN_IPT " -j %s\n", c, closed);
}

static void queue_rules(struct out *o, const struct rules_desc *d,
			bool closed, int family)
{
	const char *const *p = family == AF_INET ? d->v4 : d->v6;
	size_t i, n = family == AF_INET ? d->nv4 : d->nv6;
	unsigned first = closed ? d->closed_first : d->open_first;
	unsigned last = closed ? d->closed_last : d->open_last;
	char canon[RULES_PREFIX_MAX], set[RULES_NAME_MAX];
	bool in_set = rules_agg_in_set(d, family == AF_INET6);

	rules_aset_name(set, sizeof(set), rules_chain(d), family == AF_INET6);
	for (i = 0; i < (in_set ? 1 : n); i++) {
		outf(o, "-A %s-%s ", rules_chain(d), closed ? "CLOSED" : "OPEN");
		if (in_set) {
			outf(o, "-m set --match-set %s src", set);
		} else {
			rules_prefix_canon(p[i], family, canon, sizeof(canon));
			outf(o, "-s %s", canon);
		}
		outf(o, " -j NFQUEUE ");
		if (first == last)
			outf(o, "--queue-num %u", first);
		else
			outf(o, "--queue-balance %u:%u --queue-cpu-fanout",
			     first, last);
		outf(o, "%s\n", closed ? "" : " --queue-bypass");
	}
}

static void frag_rules(struct out *o, const struct rules_desc *d, int family)
{
	static const char *const v6hdr[] = { "hop", "dst", "route", "auth" };
	const char *const *p = family == AF_INET ? d->v4 : d->v6;
	size_t n = family == AF_INET ? d->nv4 : d->nv6;
	char canon[RULES_PREFIX_MAX];
	const char *c = rules_chain(d);

	if (rules_agg_in_set(d, family == AF_INET6)) {
		char set[RULES_NAME_MAX];

		rules_aset_name(set, sizeof(set), c, family == AF_INET6);
		outf(o, "-A %s-FRAG -m set --match-set %s src -j %s-FRAGS\n",
		     c, set, c);
		n = 0;
	}
	for (size_t i = 0; i < n; i++) {
		rules_prefix_canon(p[i], family, canon, sizeof(canon));
		outf(o, "-A %s-FRAG -s %s -j %s-FRAGS\n", c, canon, c);
	}
	if (family == AF_INET) {
		outf(o, "-A %s-FRAGS -m u32 --u32 \"4&0x3FFF=0x2000\" -m length "
		     "--length 0:79 -j DROP\n", c);
		outf(o, "-A %s-FRAGS -m u32 --u32 \"4&0x1FFF=0x1:0x2\" -j DROP\n",
		     c);
		return;
	}
	/* --soft: the packet has this header (among others). */
	for (size_t i = 0; i < 4; i++)
		outf(o, "-A %s-FRAGS -m ipv6header --header %s --soft -j DROP\n",
		     c, v6hdr[i]);
	/* With no other extension header, the fragment header follows the
	 * fixed one: its offset field is at byte 42. */
	outf(o, "-A %s-FRAGS -m u32 --u32 \"4>>8&0xFF=0x2C&&40&0xFFF8=0x8:0x10\" "
	     "-j DROP\n", c);
	outf(o, "-A %s-FRAGS -p tcp -m frag --fragfirst -m length --length "
	     "0:67 -j DROP\n", c);
}

static void fallback_rules(struct out *o, const struct rules_desc *d,
			   int family)
{
	const char *c = rules_chain(d);
	struct rules_layers l;
	char fbc[64], name[RULES_NAME_MAX];
	bool v6 = family == AF_INET6;

	if (d->monitor)
		return;
	if (d->quarantine) {
		rules_qset_name(name, sizeof(name), c, v6);
		outf(o, "-A %s-FB -m set --match-set %s src -j %s-QP\n", c,
		     name, c);
	}
	snprintf(fbc, sizeof(fbc), "%s-FBC", c);
	{
		char fb[64];

		/* Every named port is judged by its profile: a profile may
		 * block one that fails open in the queue (465 for some). */
		snprintf(fb, sizeof(fb), "%s-FB", c);
		if (d->all_ports) {
			outf(o, "-A %s -j %s\n", fb, fbc);
		} else {
			dispatch(o, fb, " -p tcp", d, true, fbc);
			dispatch(o, fb, " -p tcp", d, false, fbc);
		}
	}
	if (rules_layers_get(d, v6, &l) < 0) {
		o->err = ENOMEM;
		return;
	}
	for (unsigned dp = l.depths; dp-- > 0;)
		for (size_t k = 0; k < d->nprofiles; k++) {
			const char *pn = d->profiles[k].name;

			if (!rules_layer_has(&l, dp, k))
				continue;
			rules_set_name(name, sizeof(name), c, v6, dp,
				       (unsigned)k);
			outf(o, "-A %s -m set --match-set %s src", fbc, name);
			if (rules_name_plain(pn))
				outf(o, " -m comment --comment \"profile %s\"",
				     pn);
			outf(o, " -j %s-P%zu\n", c, k);
		}
	for (size_t k = 0; k < d->nprofiles; k++) {
		char pk[64];
		bool used = false;

		for (unsigned dp = 0; dp < l.depths && !used; dp++)
			used = rules_layer_has(&l, dp, k);
		if (!used)
			continue;
		snprintf(pk, sizeof(pk), "%s-P%zu", c, k);
		profile_chain(o, pk, d, &d->profiles[k], true, true);
	}
	rules_layers_free(&l);
	if (d->quarantine) {
		char qp[64];

		snprintf(qp, sizeof(qp), "%s-QP", c);
		profile_chain(o, qp, d, d->quarantine,
			      true, d->all_ports);
	}
}

void rules_ipt_rest(struct out *o, const struct rules_desc *d, int family)
{
	queue_rules(o, d, true, family);
	queue_rules(o, d, false, family);
	frag_rules(o, d, family);
	fallback_rules(o, d, family);
}

static int ipt_write(struct out *o, const struct rules_desc *d, int family,
		     char *err, size_t errlen)
{
	const char *c = rules_chain(d);

	if (family != AF_INET && family != AF_INET6) {
		errbuf_set(err, errlen, "family %d: expected AF_INET or "
			   "AF_INET6", family);
		errno = EINVAL;
		return -1;
	}
	if (rules_check(d, err, errlen) < 0)
		return -1;
	outf(o, "# portcullis ruleset for %s-restore --noflush, after the "
	     "sets (portcullis rules\n# --sets); the daemon hooks it with\n",
	     family == AF_INET ? "iptables" : "ip6tables");
	{
		struct text t;
		struct out j;

		if (text_open(&t, &j) == 0) {
			rules_ipt_jumps(&j, c, family);
			if (text_close(&t, &j) == 0) {
				for (char *s = t.s, *nl; *s; s = nl + 1) {
					nl = strchr(s, '\n');
					outf(o, "# %.*s\n", (int)(nl - s), s);
				}
			}
			text_free(&t);
		}
	}
	outf(o, "*filter\n");
	rules_ipt_chains(o, d);
	rules_ipt_main(o, d, family, false, 0);
	rules_ipt_rest(o, d, family);
	outf(o, "COMMIT\n");
	return out_finish(o);
}

int rules_iptables_write(FILE *f, const struct rules_desc *d, int family,
			 char *err, size_t errlen)
{
	struct out o = { .f = f };

	return ipt_write(&o, d, family, err, errlen);
}

int rules_iptables_format(char *buf, size_t len, const struct rules_desc *d,
			  int family, char *err, size_t errlen)
{
	struct out o = { .buf = buf, .len = len };

	if (len)
		buf[0] = '\0';
	return ipt_write(&o, d, family, err, errlen);
}
