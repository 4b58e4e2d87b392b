// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink/rules: the nft script (table inet portcullis, rules.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netlink/rules_int.h"

static const char *const verdict[] = {
	[RULES_ACCEPT] = "accept",
	[RULES_DROP] = "drop",
	[RULES_REJECT] = "reject with tcp reset",
};

static void prefix_set(struct out *o, const char *name, const char *type,
		       const char *const *p, size_t n, int family)
{
	char canon[RULES_PREFIX_MAX];
	size_t i;

	outf(o, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n"
	     "\t\tauto-merge\n", name, type);
	for (i = 0; i < n; i++) {
		rules_prefix_canon(p[i], family, canon, sizeof(canon));
		outf(o, "%s%s", i ? ",\n\t\t\t" : "\t\telements = { ",
		     canon);
	}
	outf(o, "%s\t}\n", n ? " }\n" : "");
}

static void port_set(struct out *o, const struct rules_desc *d, bool closed)
{
	size_t i = 0;

	outf(o, "\tset ports_%s {\n\t\ttype inet_service\n",
	     closed ? "closed" : "open");
	if (rules_port_count(d, closed)) {
		outf(o, "\t\telements = { ");
		rules_port_list(o, d, closed, &i, d->nports, ", ");
		outf(o, " }\n");
	}
	outf(o, "\t}\n");
}

/* The entries of one family and depth: profile K's chain decides. */
static void depth_map(struct out *o, const struct rules_desc *d, bool v6,
		      unsigned depth)
{
	char buf[RULES_PREFIX_MAX];
	size_t n = 0;

	outf(o, "\tmap fb%c_d%u {\n\t\ttype %s : verdict\n"
	     "\t\tflags interval,timeout\n", v6 ? '6' : '4', depth,
	     v6 ? "ipv6_addr" : "ipv4_addr");
	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];

		if (e->e.v6 != v6 || e->depth != depth)
			continue;
		outf(o, "%s%s", n++ ? ",\n\t\t\t" : "\t\telements = { ",
		     rules_elem_format(&e->e, buf, sizeof(buf)));
		if (e->e.timeout)
			outf(o, " timeout %us", e->e.timeout);
		outf(o, " : jump p%u", e->profile);
	}
	outf(o, "%s\t}\n", n ? " }\n" : "");
}

static bool depth_used(const struct rules_layers *l, unsigned depth)
{
	for (size_t k = 0; k < l->nprofiles; k++)
		if (rules_layer_has(l, depth, k))
			return true;
	return false;
}

/* A profile's chain, as rules_ipt.c's profile_chain, counted. */
static void profile_chain(struct out *o, const char *name,
			  const struct rules_desc *d,
			  const struct rules_profile *p, bool both, bool last)
{
	static const enum rules_action order[] = {
		RULES_REJECT, RULES_DROP, RULES_ACCEPT,
	};

	outf(o, "\tchain %s {\n", name);
	for (size_t a = 0; a < 3; a++) {
		size_t n = 0;

		if (order[a] == p->other && last)
			continue;
		for (size_t i = 0; i < d->nports; i++) {
			if ((!both && !d->ports[i].fail_closed) ||
			    p->action[i] != order[a])
				continue;
			outf(o, "%s%u", n++ ? ", " : "\t\ttcp dport { ",
			     d->ports[i].port);
		}
		if (n)
			outf(o, " } counter %s\n", verdict[order[a]]);
	}
	if (last)
		outf(o, "\t\tcounter %s\n", verdict[p->other]);
	outf(o, "\t}\n");
}

static void fallback_chains(struct out *o, const struct rules_desc *d,
			    const struct rules_layers *l4,
			    const struct rules_layers *l6)
{
	outf(o, "\tchain frag6 {\n"
	     "\t\texthdr hbh exists drop\n"
	     "\t\texthdr dst exists drop\n"
	     "\t\texthdr rt exists drop\n"
	     "\t\tfrag nexthdr 51 drop\n"
	     "\t\tfrag frag-off 1-2 drop\n"
	     "\t\tmeta l4proto tcp frag frag-off 0 meta length 0-67 drop\n"
	     "\t}\n");
	outf(o, "\tchain fallback {\n");
	if (!d->monitor) {
		if (d->quarantine && d->nv4)
			outf(o, "\t\tip saddr @quarantine4 jump qp\n");
		if (d->quarantine && d->nv6)
			outf(o, "\t\tip6 saddr @quarantine6 jump qp\n");
		if (d->all_ports)
			outf(o, "\t\tjump fbc\n");
		if (!d->all_ports && rules_port_count(d, true))
			outf(o, "\t\ttcp dport @ports_closed jump fbc\n");
		if (!d->all_ports && rules_port_count(d, false))
			outf(o, "\t\ttcp dport @ports_open jump fbc\n");
	}
	outf(o, "\t}\n\tchain fbc {\n");
	for (unsigned dp = l4->depths; dp-- > 0;)
		if (depth_used(l4, dp))
			outf(o, "\t\tip saddr vmap @fb4_d%u\n", dp);
	for (unsigned dp = l6->depths; dp-- > 0;)
		if (depth_used(l6, dp))
			outf(o, "\t\tip6 saddr vmap @fb6_d%u\n", dp);
	outf(o, "\t}\n");
	for (size_t k = 0; k < d->nprofiles; k++) {
		char name[32];
		bool used = false;

		for (unsigned dp = 0; dp < l4->depths && !used; dp++)
			used = rules_layer_has(l4, dp, k);
		for (unsigned dp = 0; dp < l6->depths && !used; dp++)
			used = rules_layer_has(l6, dp, k);
		if (!used)
			continue;
		snprintf(name, sizeof(name), "p%zu", k);
		profile_chain(o, name, d, &d->profiles[k], true, true);
	}
	if (d->quarantine)
		profile_chain(o, "qp", d, d->quarantine,
			      true, d->all_ports);
}

/* The queue rules of one failure class; any: every port, not the set. */
static void queue_rules(struct out *o, const struct rules_desc *d,
			bool closed, bool any)
{
	unsigned first = closed ? d->closed_first : d->open_first;
	unsigned last = closed ? d->closed_last : d->open_last;
	static const struct {
		const char *match;
		int family;
	} fam[] = { { "ip saddr @subscribers4", AF_INET },
		    { "ip6 saddr @subscribers6", AF_INET6 } };
	size_t f;

	if (!any && !rules_port_count(d, closed))
		return;
	for (f = 0; f < 2; f++) {
		if (!(fam[f].family == AF_INET ? d->nv4 : d->nv6))
			continue;
		if (any)
			outf(o, "\t\t" RULES_SYN_NFT " %s queue ", fam[f].match);
		else
			outf(o, "\t\t" RULES_SYN_NFT " tcp dport @ports_%s %s "
			     "queue ", closed ? "closed" : "open",
			     fam[f].match);
		if (first == last)
			outf(o, "%snum %u\n", closed ? "" : "flags bypass ",
			     first);
		else
			outf(o, "flags %sfanout num %u-%u\n",
			     closed ? "" : "bypass,", first, last);
	}
}

/* The hooked chain's rules (its body, without the braces). */
/* The kernel quarantine: a counted rule a blocked port through the sets
 * keyed by source and port (set4, set6), then, with all_ports and other,
 * one for the others through the sources' sets. */
static void kernel_quarantine(struct out *o, const struct rules_desc *d,
			      const char *set4, const char *set6, bool other)
{
	static const char *const from[] = { "ip saddr @quarantine4",
					    "ip6 saddr @quarantine6" };
	char with_port[2][64];
	const struct rules_profile *q = d->quarantine;
	size_t naccept = 0;

	if (!d->kernel_quarantine || !q || d->monitor)
		return;
	snprintf(with_port[0], sizeof(with_port[0]),
		 "ip saddr . tcp dport @%s", set4);
	snprintf(with_port[1], sizeof(with_port[1]),
		 "ip6 saddr . tcp dport @%s", set6);
	for (size_t i = 0; i < d->nports; i++) {
		if (q->action[i] == RULES_ACCEPT) {
			naccept++;
			continue;
		}
		for (int f = 0; f < 2; f++)
			outf(o, "\t\t" RULES_SYN_NFT " tcp dport %u %s counter "
			     "%s comment \"" RULES_KQ_TAG "%u\"\n",
			     d->ports[i].port, with_port[f],
			     verdict[q->action[i]],
			     d->ports[i].port);
	}
	if (!other || !d->all_ports || q->other == RULES_ACCEPT)
		return;
	for (int f = 0; f < 2; f++) {
		outf(o, "\t\t" RULES_SYN_NFT);
		if (naccept) {
			outf(o, " tcp dport != {");
			for (size_t i = 0, n = 0; i < d->nports; i++)
				if (q->action[i] == RULES_ACCEPT)
					outf(o, "%s %u", n++ ? "," : "",
					     d->ports[i].port);
			outf(o, " }");
		}
		outf(o, " %s counter %s comment \"" RULES_KQ_TAG "other\"\n",
		     from[f], verdict[q->other]);
	}
}

void rules_nft_kq_table(struct out *o, const struct rules_desc *d)
{
	char t[RULES_NAME_MAX];
	char buf[RULES_PREFIX_MAX];

	rules_kq_table_name(t, sizeof(t), rules_chain(d));
	outf(o, "table inet %s\n", t);
	if (!rules_kq_wanted(d)) {
		outf(o, "delete table inet %s\n", t);
		return;
	}
	outf(o, "add set inet %s kq4 { type ipv4_addr . inet_service; "
	     "flags timeout; counter; }\n"
	     "add set inet %s kq6 { type ipv6_addr . inet_service; "
	     "flags interval,timeout; counter; }\n"
	     "add chain inet %s forward { type filter hook forward priority "
	     "filter - 1; policy accept; }\n"
	     "flush chain inet %s forward\n"
	     "table inet %s {\n\tchain forward {\n", t, t, t, t, t);
	/* Relays first, as in the chain: a quarantined subscriber still
	 * reaches the ISP's own relays. */
	for (int f = 0; f < 2; f++) {
		const char *const *r = f ? d->relays6 : d->relays4;
		size_t n = f ? d->nrelays6 : d->nrelays4;

		if (!n)
			continue;
		/* Only SYNs: the chain sees every forwarded packet. */
		outf(o, "\t\t" RULES_SYN_NFT " %s daddr { ", f ? "ip6" : "ip");
		for (size_t i = 0; i < n; i++) {
			rules_prefix_canon(r[i], f ? AF_INET6 : AF_INET, buf,
					   sizeof(buf));
			outf(o, "%s%s", i ? ", " : "", buf);
		}
		outf(o, " } return\n");
	}
	kernel_quarantine(o, d, "kq4", "kq6", false);
	outf(o, "\t}\n}\n");
}

static void forward_rules(struct out *o, const struct rules_desc *d,
			  bool fallback, int64_t since)
{
	outf(o, "\t\tmeta l4proto tcp meta mark ");
	if (d->reject_mask == 0xffffffff)
		outf(o, "0x%08x", d->reject_mark);
	else
		outf(o, "& 0x%08x == 0x%08x", d->reject_mask, d->reject_mark);
	outf(o, " reject with tcp reset\n");
	if (d->nv4)
		outf(o, "\t\tmeta l4proto tcp ip frag-off & 0x3fff == 0x2000 "
		     "meta length 0-79 ip saddr @subscribers4 drop\n"
		     "\t\tmeta l4proto tcp ip frag-off & 0x1fff 1-2 "
		     "ip saddr @subscribers4 drop\n");
	if (d->nv6)
		outf(o, "\t\texthdr frag exists ip6 saddr @subscribers6 "
		     "jump frag6\n");
	if (d->nrelays4)
		outf(o, "\t\tip daddr @relays4 return\n");
	if (d->nrelays6)
		outf(o, "\t\tip6 daddr @relays6 return\n");
	if (fallback) {
		outf(o, "\t\t" RULES_SYN_NFT " jump fallback comment \""
		     RULES_FALLBACK_TAG "%lld\"\n", (long long)since);
		return;
	}
	kernel_quarantine(o, d, "kquarantine4", "kquarantine6", true);
	queue_rules(o, d, true, false);
	queue_rules(o, d, false, false);
	if (d->all_ports)
		queue_rules(o, d, true, true);
}

void rules_nft_forward(struct out *o, const struct rules_desc *d,
		       bool fallback, int64_t since)
{
	outf(o, "flush chain inet " RULES_NFT_TABLE " %s\n"
	     "table inet " RULES_NFT_TABLE " {\n\tchain %s {\n",
	     rules_chain(d), rules_chain(d));
	forward_rules(o, d, fallback, since);
	outf(o, "\t}\n}\n");
}

static int nft_write(struct out *o, const struct rules_desc *d,
		     char *err, size_t errlen)
{
	struct rules_layers l4, l6;

	if (rules_check(d, err, errlen) < 0)
		return -1;
	if (rules_layers_get(d, false, &l4) < 0 ||
	    rules_layers_get(d, true, &l6) < 0) {
		rules_layers_free(&l4);
		errbuf_set(err, errlen, "out of memory");
		errno = ENOMEM;
		return -1;
	}
	outf(o, "# portcullis ruleset for nft -f: replaces table inet "
	     RULES_NFT_TABLE " whole\n"
	     "table inet " RULES_NFT_TABLE "\n"
	     "delete table inet " RULES_NFT_TABLE "\n"
	     "table inet " RULES_NFT_TABLE " {\n");
	prefix_set(o, "subscribers4", "ipv4_addr", d->v4, d->nv4, AF_INET);
	prefix_set(o, "subscribers6", "ipv6_addr", d->v6, d->nv6, AF_INET6);
	if (d->nrelays4)
		prefix_set(o, "relays4", "ipv4_addr", d->relays4, d->nrelays4,
			   AF_INET);
	if (d->nrelays6)
		prefix_set(o, "relays6", "ipv6_addr", d->relays6, d->nrelays6,
			   AF_INET6);
	port_set(o, d, true);
	port_set(o, d, false);
	outf(o, "\tset quarantine4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n"
	     "\t\tcounter\n\t}\n"
	     "\tset quarantine6 {\n\t\ttype ipv6_addr\n"
	     "\t\tflags interval,timeout\n\t\tcounter\n\t}\n"
	     "\tset kquarantine4 {\n\t\ttype ipv4_addr . inet_service\n"
	     "\t\tflags timeout\n\t\tcounter\n\t}\n"
	     "\tset kquarantine6 {\n\t\ttype ipv6_addr . inet_service\n"
	     "\t\tflags interval,timeout\n\t\tcounter\n\t}\n");
	for (unsigned dp = 0; dp < l4.depths; dp++)
		if (depth_used(&l4, dp))
			depth_map(o, d, false, dp);
	for (unsigned dp = 0; dp < l6.depths; dp++)
		if (depth_used(&l6, dp))
			depth_map(o, d, true, dp);
	fallback_chains(o, d, &l4, &l6);
	outf(o, "\tchain %s {\n\t\ttype filter hook forward priority filter; "
	     "policy accept;\n", rules_chain(d));
	forward_rules(o, d, false, 0);
	outf(o, "\t}\n}\n");
	rules_layers_free(&l4);
	rules_layers_free(&l6);
	return out_finish(o);
}

int rules_nft_write(FILE *f, const struct rules_desc *d,
		    char *err, size_t errlen)
{
	struct out o = { .f = f };

	return nft_write(&o, d, err, errlen);
}

int rules_nft_format(char *buf, size_t len, const struct rules_desc *d,
		     char *err, size_t errlen)
{
	struct out o = { .buf = buf, .len = len };

	if (len)
		buf[0] = '\0';
	return nft_write(&o, d, err, errlen);
}
