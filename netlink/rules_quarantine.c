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
	*out = w;
	*nout = m;
	return 0;
}

static const char *const nft_sets[RULES_QSETS] = {
	"quarantine4", "quarantine6", "kquarantine4", "kquarantine6",
};

/* The line that takes e out of its set. */
static void del_line(struct out *o, const struct rules_kernel *k,
		     const struct qelem *e)
{
	char buf[RULES_PREFIX_MAX + 12], name[RULES_NAME_MAX];
	bool nft = k->backend == RULES_NFT;

	if (nft) {
		outf(o, "delete element inet " RULES_NFT_TABLE " %s { %s }\n",
		     nft_sets[(e->port ? 2 : 0) + e->e.v6],
		     qelem_text(e, true, buf, sizeof(buf)));
		return;
	}
	qelem_set(k, e, name, sizeof(name));
	outf(o, "del %s %s\n", name, qelem_text(e, false, buf, sizeof(buf)));
}

/* The line that puts e in its set; fresh: its count from zero (ipset
 * keeps it otherwise; nft always starts it at zero). */
static void add_line(struct out *o, const struct rules_kernel *k,
		     const struct qelem *e, bool fresh)
{
	char buf[RULES_PREFIX_MAX + 12], name[RULES_NAME_MAX];

	if (k->backend == RULES_NFT) {
		outf(o, "add element inet " RULES_NFT_TABLE " %s { %s "
		     "timeout %us }\n", nft_sets[(e->port ? 2 : 0) + e->e.v6],
		     qelem_text(e, true, buf, sizeof(buf)), e->e.timeout);
		return;
	}
	qelem_set(k, e, name, sizeof(name));
	outf(o, "add %s %s timeout %u%s\n", name,
	     qelem_text(e, false, buf, sizeof(buf)), e->e.timeout,
	     fresh ? " packets 0 bytes 0" : "");
}

/* What an earlier run left (or what is not known): out, the canaries
 * back (ipset). */
static void empty_lines(struct out *o, const struct rules_kernel *k)
{
	char name[RULES_NAME_MAX];

	for (unsigned s = 0; s < RULES_QSETS; s++) {
		if (k->backend == RULES_NFT) {
			outf(o, "flush set inet " RULES_NFT_TABLE " %s\n",
			     nft_sets[s]);
			continue;
		}
		rules_qset_at(name, sizeof(name), k->chain, s);
		outf(o, "flush %s\nadd %s %s\n", name, name,
		     rules_canary_text(rules_qset_v6(s), rules_qset_ported(s)));
	}
}

/*
 * Only the difference goes to the kernel, in one ipset restore or one nft
 * transaction. ipset (-exist) renews a timeout in place, keeping the
 * count; nft cannot, so a moved element is deleted and added (its count
 * was read just before, by the caller). nft fails the whole transaction
 * on an element that is not there: one that is about to time out is
 * left to do so, and a failure empties and refills the sets next time.
 */
int rules_quarantine_sync(struct rules_kernel *k, const struct rules_elem *q,
			  size_t n, int64_t now, char *err, size_t errlen)
{
	struct qelem *want = NULL;
	struct text t = { 0 };
	struct out o;
	size_t i, j, nw = 0;
	bool nft = k->backend == RULES_NFT, change = false;
	int ret = -1;

	if (errlen)
		err[0] = '\0';
	if (expand(k, q, n, now, &want, &nw) < 0 || text_open(&t, &o) < 0)
		goto oom;
	if (!k->qknown) {
		empty_lines(&o, k);
		free(k->q);
		k->q = NULL;
		k->nq = 0;
		change = true;
	}
	/* Merge the two sorted lists: what is new or moved is added, what
	 * went is deleted. */
	for (i = j = 0; i < nw || j < k->nq;) {
		int c = i == nw ? 1 : j == k->nq ? -1 :
			rules_qelem_cmp(&want[i], &k->q[j]);

		if (c > 0) {
			if (!nft || k->q[j].until > now + VERIFY_SLACK_S) {
				change = true;
				del_line(&o, k, &k->q[j]);
			}
			j++;
			continue;
		}
		if (c < 0) {
			/* New to this process: its count starts here, not
			 * where an earlier run or the fallback left it. */
			change = true;
			add_line(&o, k, &want[i], true);
		} else if (moved(&want[i], &k->q[j], now)) {
			change = true;
			if (nft) {
				del_line(&o, k, &k->q[j]);
			} else {
				/* -exist: the timeout anew, the count kept. */
				want[i].packets = k->q[j].packets;
			}
			add_line(&o, k, &want[i], false);
		} else {
			want[i].until = k->q[j].until;
			want[i].packets = k->q[j].packets;
		}
		i++;
		if (c == 0)
			j++;
	}
	if (text_close(&t, &o) < 0)
		goto oom;
	if (change) {
		ret = nft ? rules_nft_run(t.s, t.len, err, errlen)
			  : rules_ipset_restore(t.s, t.len, err, errlen);
		if (ret < 0) {
			/* ipset restore applied the lines before the one
			 * that failed, nft none: either way the next sync
			 * starts from empty sets. */
			k->qknown = false;
			goto out;
		}
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
	text_free(&t);
	return ret;
}
