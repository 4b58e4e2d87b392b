// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink/rules: the text sink, names, validation of a description. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "netlink/rules_int.h"

void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (o->f) {
		n = vfprintf(o->f, fmt, ap);
		if (n < 0 && !o->err)
			o->err = errno ? errno : EIO;
	} else {
		n = vsnprintf(o->pos < o->len ? o->buf + o->pos : NULL,
			      o->pos < o->len ? o->len - o->pos : 0, fmt, ap);
	}
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n;
}

int out_finish(struct out *o)
{
	if (o->err) {
		errno = o->err;
		return -1;
	}
	if (o->pos > (size_t)0x7fffffff) {
		errno = EOVERFLOW;
		return -1;
	}
	return (int)o->pos;
}

int text_open(struct text *t, struct out *o)
{
	memset(t, 0, sizeof(*t));
	t->f = open_memstream(&t->s, &t->len);
	memset(o, 0, sizeof(*o));
	o->f = t->f;
	return t->f ? 0 : -1;
}

int text_close(struct text *t, struct out *o)
{
	if (fclose(t->f) != 0 && !o->err)
		o->err = errno;
	t->f = NULL;
	if (o->err) {
		errno = o->err;
		return -1;
	}
	return 0;
}

void text_free(struct text *t)
{
	if (t->f)
		fclose(t->f);
	free(t->s);
	memset(t, 0, sizeof(*t));
}

const char *rules_chain(const struct rules_desc *d)
{
	return d->chain ? d->chain : RULES_CHAIN_DEFAULT;
}

int rules_chain_check(const char *c, char *err, size_t errlen)
{
	size_t i, n = strlen(c);

	/* nft identifiers take no '-'; the longest name made from it,
	 * "C-4-128-65535-T" for a set being filled, must fit ipset's 31. */
	if (n == 0 || n > RULES_CHAIN_MAX)
		goto bad;
	for (i = 0; i < n; i++)
		if (!((c[i] >= 'A' && c[i] <= 'Z') ||
		      (c[i] >= 'a' && c[i] <= 'z') || c[i] == '_' ||
		      (i > 0 && c[i] >= '0' && c[i] <= '9')))
			goto bad;
	return 0;
bad:
	errbuf_set(err, errlen, "chain name \"%s\": expected 1 to %d "
		   "letters, digits or '_', not starting with a digit", c,
		   RULES_CHAIN_MAX);
	return -1;
}

int rules_prefix_canon(const char *s, int family, char *out, size_t outlen)
{
	unsigned char a[16];
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	unsigned max = family == AF_INET ? 32 : 128, plen = max, i;
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	char *end;
	unsigned long l;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(family, addr, a) != 1)
		return -1;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		errno = 0;
		l = strtoul(slash + 1, &end, 10);
		if (errno || *end || l > max)
			return -1;
		plen = (unsigned)l;
	}
	for (i = 0; i < max / 8; i++) {
		if (i * 8 >= plen)
			a[i] = 0;
		else if (i * 8 + 8 > plen)
			a[i] &= (unsigned char)(0xff00 >> (plen - i * 8));
	}
	if (!inet_ntop(family, a, addr, sizeof(addr)))
		return -1;
	snprintf(out, outlen, "%s/%u", addr, plen);
	return 0;
}

int rules_elem_cmp(const void *a, const void *b)
{
	const struct rules_elem *x = a, *y = b;
	int c = (int)x->v6 - (int)y->v6;

	if (c)
		return c;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	return c ? c : (int)x->len - (int)y->len;
}

int rules_elem_parse(const char *s, bool v6, struct rules_elem *e)
{
	char canon[RULES_PREFIX_MAX], *slash;

	memset(e, 0, sizeof(*e));
	if (rules_prefix_canon(s, v6 ? AF_INET6 : AF_INET, canon,
			       sizeof(canon)) < 0)
		return -1;
	slash = strchr(canon, '/');
	*slash = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, canon, e->addr) != 1)
		return -1;
	e->len = (uint8_t)atoi(slash + 1);
	e->v6 = v6;
	return 0;
}

const char *rules_elem_format(const struct rules_elem *e, char *buf,
			      size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (!inet_ntop(e->v6 ? AF_INET6 : AF_INET, e->addr, addr,
		       sizeof(addr)))
		snprintf(addr, sizeof(addr), "?");
	snprintf(buf, len, "%s/%u", addr, e->len);
	return buf;
}

void rules_set_name(char *buf, size_t len, const char *chain, bool v6,
		    unsigned depth, unsigned profile)
{
	snprintf(buf, len, "%s-%c-%u-%u", chain, v6 ? '6' : '4', depth,
		 profile);
}

void rules_qset_name(char *buf, size_t len, const char *chain, bool v6)
{
	snprintf(buf, len, "%s-q%c", chain, v6 ? '6' : '4');
}

void rules_qset_at(char *buf, size_t len, const char *chain, unsigned i)
{
	snprintf(buf, len, "%s-q%c", chain, rules_qset_v6(i) ? '6' : '4');
}

void rules_kq_table_name(char *buf, size_t len, const char *chain)
{
	snprintf(buf, len, "%s_kq", chain);
}

bool rules_kq_wanted(const struct rules_desc *d)
{
	const struct rules_profile *q = d->quarantine;

	if (!d->kernel_quarantine || !q || d->monitor)
		return false;
	for (size_t i = 0; i < d->nports; i++)
		if (q->action[i] != RULES_ACCEPT)
			return true;
	return false;
}

void rules_aset_name(char *buf, size_t len, const char *chain, bool v6)
{
	snprintf(buf, len, "%s-a%c", chain, v6 ? '6' : '4');
}

bool rules_agg_in_set(const struct rules_desc *d, bool v6)
{
	return (v6 ? d->nv6 : d->nv4) > RULES_AGG_RULES_MAX;
}

int rules_layers_get(const struct rules_desc *d, bool v6,
		     struct rules_layers *l)
{
	unsigned depths = 0;

	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < d->nentries; i++)
		if (d->entries[i].e.v6 == v6 &&
		    d->entries[i].depth + 1u > depths)
			depths = d->entries[i].depth + 1u;
	l->depths = depths;
	l->nprofiles = d->nprofiles;
	if (!depths || !d->nprofiles)
		return 0;
	l->has = calloc((size_t)depths * d->nprofiles, 1);
	if (!l->has)
		return -1;
	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];

		if (e->e.v6 == v6)
			l->has[(size_t)e->depth * d->nprofiles + e->profile] = 1;
	}
	return 0;
}

bool rules_layer_has(const struct rules_layers *l, unsigned depth,
		     size_t profile)
{
	return l->has && depth < l->depths && profile < l->nprofiles &&
	       l->has[(size_t)depth * l->nprofiles + profile];
}

void rules_layers_free(struct rules_layers *l)
{
	free(l->has);
	memset(l, 0, sizeof(*l));
}

bool rules_name_plain(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
		      *s == '_'))
			return false;
	return n > 0 && n <= 64;
}

size_t rules_port_list(struct out *o, const struct rules_desc *d,
		       bool closed, size_t *i, size_t max, const char *sep)
{
	size_t n = 0;

	for (; *i < d->nports && n < max; (*i)++) {
		if (d->ports[*i].fail_closed != closed)
			continue;
		outf(o, "%s%u", n ? sep : "", d->ports[*i].port);
		n++;
	}
	return n;
}

size_t rules_port_count(const struct rules_desc *d, bool closed)
{
	size_t i, n = 0;

	for (i = 0; i < d->nports; i++)
		n += d->ports[i].fail_closed == closed;
	return n;
}

static int check_prefixes(const char *const *p, size_t n, int family,
			  const char *what, char *err, size_t errlen)
{
	char canon[RULES_PREFIX_MAX];
	size_t i;

	if (n && !p) {
		errbuf_set(err, errlen, "%zu %s %s but no array", n,
			   family == AF_INET ? "IPv4" : "IPv6", what);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!p[i] || rules_prefix_canon(p[i], family, canon,
						sizeof(canon)) < 0) {
			errbuf_set(err, errlen, "%s %s %zu \"%s\": expected "
				   "%s", family == AF_INET ? "IPv4" : "IPv6",
				   what, i + 1, p[i] ? p[i] : "(null)",
				   family == AF_INET ? "a.b.c.d/0-32"
						     : "an IPv6 address/0-128");
			return -1;
		}
	return 0;
}

static int check_ports(const struct rules_desc *d, char *err, size_t errlen)
{
	if (d->nports && !d->ports) {
		errbuf_set(err, errlen, "%zu ports but no array", d->nports);
		return -1;
	}
	for (size_t i = 0; i < d->nports; i++) {
		if (d->ports[i].port == 0) {
			errbuf_set(err, errlen, "port 0: expected 1 to 65535");
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (d->ports[j].port == d->ports[i].port) {
				errbuf_set(err, errlen, "port %u listed twice",
					   d->ports[i].port);
				return -1;
			}
	}
	return 0;
}

/* Whether every action of profile p is one the fallback can write. */
static bool profile_ok(const struct rules_desc *d,
		       const struct rules_profile *p)
{
	if (p->other > RULES_REJECT || (d->nports && !p->action))
		return false;
	for (size_t j = 0; j < d->nports; j++)
		if (p->action[j] > RULES_REJECT)
			return false;
	return true;
}

static int check_fallback(const struct rules_desc *d, char *err,
			  size_t errlen)
{
	if ((d->nprofiles && !d->profiles) || (d->nentries && !d->entries)) {
		errbuf_set(err, errlen, "fallback profiles or entries "
			   "counted but no array");
		return -1;
	}
	if (d->nprofiles > 65535) {
		errbuf_set(err, errlen, "%zu profiles: at most 65535",
			   d->nprofiles);
		return -1;
	}
	for (size_t i = 0; i < d->nprofiles; i++)
		if (!profile_ok(d, &d->profiles[i])) {
			errbuf_set(err, errlen, "fallback profile %zu: an "
				   "action is not accept, drop or reject", i);
			return -1;
		}
	if (d->quarantine && !profile_ok(d, d->quarantine)) {
		errbuf_set(err, errlen, "the quarantine's actions: one is "
			   "not accept, drop or reject");
		return -1;
	}
	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];

		if (e->e.len > (e->e.v6 ? 128 : 32) ||
		    e->depth >= RULES_DEPTH_MAX || e->profile >= d->nprofiles ||
		    e->e.timeout > RULES_TIMEOUT_MAX) {
			errbuf_set(err, errlen, "fallback entry %zu: length "
				   "%u, depth %u, profile %u or timeout %u "
				   "out of range", i, e->e.len, e->depth,
				   e->profile, e->e.timeout);
			return -1;
		}
	}
	return 0;
}

int rules_check(const struct rules_desc *d, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	if (rules_chain_check(rules_chain(d), err, errlen) < 0 ||
	    check_prefixes(d->v4, d->nv4, AF_INET, "aggregate", err,
			   errlen) < 0 ||
	    check_prefixes(d->v6, d->nv6, AF_INET6, "aggregate", err,
			   errlen) < 0 ||
	    check_prefixes(d->relays4, d->nrelays4, AF_INET, "relay", err,
			   errlen) < 0 ||
	    check_prefixes(d->relays6, d->nrelays6, AF_INET6, "relay", err,
			   errlen) < 0 ||
	    check_ports(d, err, errlen) < 0 || check_fallback(d, err,
							      errlen) < 0)
		goto bad;
	if (d->closed_first > d->closed_last ||
	    d->open_first > d->open_last) {
		errbuf_set(err, errlen, "queue range %u-%u: expected first <= "
			   "last", d->closed_first > d->closed_last ?
			   d->closed_first : d->open_first,
			   d->closed_first > d->closed_last ?
			   d->closed_last : d->open_last);
		goto bad;
	}
	/* Fail-open is a property of the queue, set when it is bound. */
	if (d->closed_first <= d->open_last && d->open_first <= d->closed_last) {
		errbuf_set(err, errlen, "fail-closed queues %u-%u overlap "
			   "fail-open queues %u-%u", d->closed_first,
			   d->closed_last, d->open_first, d->open_last);
		goto bad;
	}
	/* A zero value would reject every unmarked SYN. */
	if (!d->reject_mark || (d->reject_mark & ~d->reject_mask)) {
		errbuf_set(err, errlen, "reject mark 0x%x/0x%x: expected a "
			   "non-zero value within the mask", d->reject_mark,
			   d->reject_mask);
		goto bad;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}
