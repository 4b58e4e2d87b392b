// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules: the quarantine sets, kept to what the daemon holds.
 * Each quarantined source is an element of C-q4 / C-q6 (the fallback's,
 * and the kernel quarantine's "any other port") and, with each port the
 * kernel quarantine blocks, of C-k4 / C-k6, whose counters say how many
 * SYNs to that port the kernel blocked for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/spawn.h"
#include "netlink/rules_kern.h"

void rules_qset_nft(const struct rules_kernel *k, unsigned qs, char *table,
		    char *set)
{
	static const char *const nft[RULES_QSETS] = {
		"quarantine4", "quarantine6", "kquarantine4", "kquarantine6",
	};

	if (k->backend == RULES_NFT) {
		snprintf(table, RULES_NAME_MAX, "%s", RULES_NFT_TABLE);
		snprintf(set, RULES_NAME_MAX, "%s", nft[qs]);
	} else {
		rules_kq_table_name(table, RULES_NAME_MAX, k->chain);
		snprintf(set, RULES_NAME_MAX, "kq%c", rules_qset_v6(qs) ? '6'
								       : '4');
	}
}

int rules_qelem_cmp(const void *a, const void *b)
{
	const struct qelem *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return rules_elem_cmp(&x->e, &y->e);
}

int rules_kq_note(struct rules_kernel *k, const struct rules_desc *d)
{
	const struct rules_profile *q = d->quarantine;
	uint16_t *ports = NULL;
	uint8_t *act = NULL;
	size_t n = 0;

	if (d->kernel_quarantine && q && !d->monitor) {
		ports = calloc(d->nports ? d->nports : 1, sizeof(*ports));
		act = calloc(d->nports ? d->nports : 1, sizeof(*act));
		if (!ports || !act) {
			free(ports);
			free(act);
			errno = ENOMEM;
			return -1;
		}
		for (size_t i = 0; i < d->nports; i++)
			if (q->action[i] != RULES_ACCEPT) {
				ports[n] = d->ports[i].port;
				act[n++] = q->action[i];
			}
	}
	free(k->kports);
	free(k->kact);
	k->kports = ports;
	k->kact = act;
	k->nkports = n;
	/* Until the next read, the sources' sets may still hold what the
	 * rule this replaces counted. */
	k->kother_was |= k->kother;
	k->kother = d->kernel_quarantine && q && !d->monitor &&
		    d->all_ports && q->other != RULES_ACCEPT &&
		    d->nports - n <= RULES_MULTIPORT_MAX;
	k->kother_act = q ? q->other : RULES_ACCEPT;
	if (k->backend == RULES_IPTABLES && !n) {
		/* Their table went with the kernel quarantine. */
		size_t m = 0;

		for (size_t i = 0; i < k->nq; i++)
			if (!k->q[i].port)
				k->q[m++] = k->q[i];
		k->nq = m;
	}
	return 0;
}

/* e as the set's text: IPv4 quarantine sets hold addresses, not
 * prefixes; the port-keyed ones name the port too. */
static const char *qelem_text(const struct qelem *q, bool nft, char *buf,
			      size_t len)
{
	size_t n;

	rules_elem_format(&q->e, buf, len);
	if (!q->e.v6)
		*strchr(buf, '/') = '\0';
	n = strlen(buf);
	if (q->port)
		snprintf(buf + n, len - n, nft ? " . %u" : ",tcp:%u", q->port);
	return buf;
}

static void qelem_set(const struct rules_kernel *k, const struct qelem *q,
		      char *name, size_t len)
{
	rules_qset_at(name, len, k->chain, (q->port ? 2 : 0) + q->e.v6);
}

/*
 * Whether element w's end differs from what the kernel holds (h) by more
 * than the second the clocks may disagree. An end past the kernel's
 * longest timeout moves on with the clock: it is renewed only when half
 * of that is left, not each second.
 */
static bool moved(const struct qelem *w, const struct qelem *h, int64_t now)
{
	if (w->e.timeout == RULES_TIMEOUT_MAX &&
	    h->until - now > RULES_TIMEOUT_MAX / 2)
		return false;
	return w->until > h->until + 1 || w->until + 1 < h->until;
}

/* Whether element a (same set and port) holds all of b. */
static bool covers(const struct qelem *a, const struct qelem *b)
{
	unsigned len = a->e.len, full = len / 8, rest = len % 8;

	if (a->port != b->port || a->e.v6 != b->e.v6 || len > b->e.len)
		return false;
	if (memcmp(a->e.addr, b->e.addr, full))
		return false;
	return !rest || !((a->e.addr[full] ^ b->e.addr[full]) &
			  (uint8_t)(0xff00u >> rest));
}

/* The elements q[0 .. n) make, sorted, into *out (*nout of them). */
static int expand(const struct rules_kernel *k, const struct rules_elem *q,
		  size_t n, int64_t now, struct qelem **out, size_t *nout)
{
	size_t per = 1 + k->nkports, m = 0;
	struct qelem *w = calloc(n ? n * per : 1, sizeof(*w));

	if (!w)
		return -1;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < per; j++) {
			struct qelem *e = &w[m++];

			e->e = q[i];
			if (e->e.timeout > RULES_TIMEOUT_MAX)
				e->e.timeout = RULES_TIMEOUT_MAX;
			if (!e->e.timeout)
				e->e.timeout = 1;
			e->until = now + e->e.timeout;
			e->port = j ? k->kports[j - 1] : 0;
			e->action = j ? k->kact[j - 1] : k->kother_act;
		}
	qsort(w, m, sizeof(*w), rules_qelem_cmp);
	/* Sessions nest prefixes (one subscriber's /64 inside another's
	 * /56): an interval set refuses an element overlapping another,
	 * failing the whole transaction. The wider one blocks both; sorted,
	 * what it covers follows it. */
	{
		size_t kept = 0;

		for (size_t i = 0; i < m; i++) {
			if (kept && covers(&w[kept - 1], &w[i]))
				continue;
			w[kept++] = w[i];
		}
		m = kept;
	}
	*out = w;
	*nout = m;
	return 0;
}

/* Where element e goes: its set's index, and whether nf_tables has it
 * (else ipset). */
static unsigned qset_of(const struct qelem *e)
{
	return (e->port ? 2 : 0) + e->e.v6;
}

static bool in_nft(const struct rules_kernel *k, unsigned qs)
{
	return k->backend == RULES_NFT || rules_qset_ported(qs);
}

/* The two texts a sync sends: ipset restore's and nft -f's. */
struct qtexts {
	struct text ip, nf;
	struct out oip, onf;
	bool ip_used, nf_used;
};

static struct out *qout(struct qtexts *t, const struct rules_kernel *k,
			unsigned qs)
{
	if (in_nft(k, qs)) {
		t->nf_used = true;
		return &t->onf;
	}
	t->ip_used = true;
	return &t->oip;
}

/* The line that takes e out of its set. */
static void del_line(struct qtexts *t, const struct rules_kernel *k,
		     const struct qelem *e)
{
	char buf[RULES_PREFIX_MAX + 12], tab[RULES_NAME_MAX], set[RULES_NAME_MAX];
	unsigned qs = qset_of(e);
	struct out *o = qout(t, k, qs);

	if (in_nft(k, qs)) {
		rules_qset_nft(k, qs, tab, set);
		outf(o, "delete element inet %s %s { %s }\n", tab, set,
		     qelem_text(e, true, buf, sizeof(buf)));
		return;
	}
	qelem_set(k, e, set, sizeof(set));
	outf(o, "del %s %s\n", set, qelem_text(e, false, buf, sizeof(buf)));
}

/* The line that puts e in its set; fresh: its count from zero (ipset
 * keeps it otherwise; nft always starts it at zero). */
static void add_line(struct qtexts *t, const struct rules_kernel *k,
		     const struct qelem *e, bool fresh)
{
	char buf[RULES_PREFIX_MAX + 12], tab[RULES_NAME_MAX], set[RULES_NAME_MAX];
	unsigned qs = qset_of(e);
	struct out *o = qout(t, k, qs);

	if (in_nft(k, qs)) {
		rules_qset_nft(k, qs, tab, set);
		outf(o, "add element inet %s %s { %s timeout %us }\n", tab, set,
		     qelem_text(e, true, buf, sizeof(buf)), e->e.timeout);
		return;
	}
	qelem_set(k, e, set, sizeof(set));
	outf(o, "add %s %s timeout %u%s\n", set,
	     qelem_text(e, false, buf, sizeof(buf)), e->e.timeout,
	     fresh ? " packets 0 bytes 0" : "");
}

/* What an earlier run left (or what is not known): out, the ipsets'
 * canaries back. The sets keyed by port exist only with the kernel
 * quarantine (iptables: its table). */
static void empty_lines(struct qtexts *t, const struct rules_kernel *k)
{
	char tab[RULES_NAME_MAX], set[RULES_NAME_MAX];

	for (unsigned s = 0; s < RULES_QSETS; s++) {
		if (in_nft(k, s)) {
			if (k->backend != RULES_NFT && !k->nkports)
				continue;	/* no table for them */
			rules_qset_nft(k, s, tab, set);
			outf(qout(t, k, s), "flush set inet %s %s\n", tab, set);
			continue;
		}
		rules_qset_at(set, sizeof(set), k->chain, s);
		outf(qout(t, k, s), "flush %s\nadd %s %s\n", set, set,
		     rules_canary_text(rules_qset_v6(s)));
	}
}

/*
 * Only the difference goes to the kernel, in one ipset restore and one
 * nft transaction. ipset (-exist) renews a timeout in place, keeping the
 * count; nft cannot, so a moved element is deleted and added (its count
 * was read just before, by the caller). nft fails the whole transaction
 * on an element that is not there: one that is about to time out is
 * left to do so, and a failure empties and refills the sets next time.
 */
int rules_quarantine_sync(struct rules_kernel *k, const struct rules_elem *q,
			  size_t n, int64_t now, char *err, size_t errlen)
{
	struct qelem *want = NULL;
	struct qtexts t = { 0 };
	size_t i, j, nw = 0;
	int ret = -1;

	if (errlen)
		err[0] = '\0';
	if (expand(k, q, n, now, &want, &nw) < 0 ||
	    text_open(&t.ip, &t.oip) < 0 || text_open(&t.nf, &t.onf) < 0)
		goto oom;
	if (!k->qknown) {
		empty_lines(&t, k);
		free(k->q);
		k->q = NULL;
		k->nq = 0;
	}
	/* Merge the two sorted lists: what is new or moved is added, what
	 * went is deleted. The deletes come first (pass 0): an interval
	 * set refuses a prefix added around one still in it. */
	for (int pass = 0; pass < 2; pass++) {
		for (i = j = 0; i < nw || j < k->nq;) {
			int c = i == nw ? 1 : j == k->nq ? -1 :
				rules_qelem_cmp(&want[i], &k->q[j]);

			if (c > 0) {
				if (!pass &&
				    (!in_nft(k, qset_of(&k->q[j])) ||
				     k->q[j].until > now + VERIFY_SLACK_S))
					del_line(&t, k, &k->q[j]);
				j++;
				continue;
			}
			if (c < 0) {
				/* New to this process: its count starts
				 * here, not where an earlier run or the
				 * fallback left it. */
				if (pass)
					add_line(&t, k, &want[i], true);
			} else if (moved(&want[i], &k->q[j], now)) {
				if (in_nft(k, qset_of(&k->q[j]))) {
					if (!pass)
						del_line(&t, k, &k->q[j]);
				} else if (pass) {
					/* -exist: the timeout anew, the
					 * count kept */
					want[i].packets = k->q[j].packets;
				}
				if (pass)
					add_line(&t, k, &want[i], false);
			} else if (pass) {
				want[i].until = k->q[j].until;
				want[i].packets = k->q[j].packets;
			}
			i++;
			if (c == 0)
				j++;
		}
	}
	if (text_close(&t.ip, &t.oip) < 0 || text_close(&t.nf, &t.onf) < 0)
		goto oom;
	if ((t.ip_used && rules_ipset_restore(t.ip.s, t.ip.len, err,
					      errlen) < 0) ||
	    (t.nf_used && rules_nft_run(t.nf.s, t.nf.len, err, errlen) < 0)) {
		/* ipset restore applied the lines before the one that
		 * failed, nft none: either way the next sync starts from
		 * empty sets. */
		k->qknown = false;
		goto out;
	}
	free(k->q);
	k->q = want;
	k->nq = nw;
	k->qknown = true;
	want = NULL;
	ret = 0;
	goto out;
oom:
	errbuf_set(err, errlen, "quarantine sets: out of memory");
	errno = ENOMEM;
out:
	free(want);
	text_free(&t.ip);
	text_free(&t.nf);
	return ret;
}
