// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink/rules: the quarantine sets, kept to what the daemon holds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/spawn.h"
#include "netlink/rules_kern.h"

/* --- quarantine ------------------------------------------------------ */

static const char *qelem_text(const struct rules_elem *e, char *buf,
			      size_t len)
{
	rules_elem_format(e, buf, len);
	/* IPv4 quarantine sets hold addresses, not prefixes. */
	if (!e->v6)
		*strchr(buf, '/') = '\0';
	return buf;
}

int rules_quarantine_sync(struct rules_kernel *k, const struct rules_elem *q,
			  size_t n, int64_t now, char *err, size_t errlen)
{
	struct qelem *want;
	struct text t = { 0 };
	struct out o;
	char buf[RULES_PREFIX_MAX], name[RULES_NAME_MAX];
	size_t i, j;
	bool change = false;
	int ret = -1;

	if (errlen)
		err[0] = '\0';
	want = calloc(n ? n : 1, sizeof(*want));
	if (!want || text_open(&t, &o) < 0)
		goto oom;
	for (i = 0; i < n; i++) {
		want[i].e = q[i];
		if (want[i].e.timeout > RULES_TIMEOUT_MAX)
			want[i].e.timeout = RULES_TIMEOUT_MAX;
		if (!want[i].e.timeout)
			want[i].e.timeout = 1;
		want[i].until = now + want[i].e.timeout;
	}
	qsort(want, n, sizeof(*want), rules_elem_cmp);
	/* Merge the two sorted lists: what is new or moved is added, what
	 * went is deleted (ipset -exist: either may already be so). */
	for (i = j = 0; i < n || j < k->nq;) {
		int c = i == n ? 1 : j == k->nq ? -1 :
			rules_elem_cmp(&want[i].e, &k->q[j].e);

		if (c > 0) {
			change = true;
			rules_qset_name(name, sizeof(name), k->chain,
					k->q[j].e.v6);
			outf(&o, "del %s %s\n", name,
			     qelem_text(&k->q[j].e, buf, sizeof(buf)));
			j++;
			continue;
		}
		/* ipset -exist keeps an element's counter when it is added
		 * again with a new timeout. */
		if (c == 0 && k->backend == RULES_IPTABLES)
			want[i].packets = k->q[j].packets;
		if (c < 0 || want[i].until > k->q[j].until + 1 ||
		    want[i].until + 1 < k->q[j].until) {
			change = true;
			rules_qset_name(name, sizeof(name), k->chain,
					want[i].e.v6);
			/* New to this process: its count starts here, not
			 * where an earlier run or the fallback left it. */
			outf(&o, "add %s %s timeout %u%s\n", name,
			     qelem_text(&want[i].e, buf, sizeof(buf)),
			     want[i].e.timeout,
			     c < 0 ? " packets 0 bytes 0" : "");
		} else {
			want[i].until = k->q[j].until;
		}
		i++;
		if (c == 0)
			j++;
	}
	if (k->backend == RULES_NFT) {
		/* nft cannot re-add with a new timeout, nor delete what may
		 * have timed out: the sets are written whole, atomically. */
		text_free(&t);
		if (text_open(&t, &o) < 0)
			goto oom;
		outf(&o, "flush set inet " RULES_NFT_TABLE " quarantine4\n"
		     "flush set inet " RULES_NFT_TABLE " quarantine6\n");
	}
	if (k->backend == RULES_NFT)
		for (i = 0; i < n; i++)
			outf(&o, "add element inet " RULES_NFT_TABLE
			     " quarantine%c { %s timeout %us }\n",
			     want[i].e.v6 ? '6' : '4',
			     qelem_text(&want[i].e, buf, sizeof(buf)),
			     want[i].e.timeout);
	if (text_close(&t, &o) < 0)
		goto oom;
	if (change) {
		ret = k->backend == RULES_NFT ? rules_nft_run(t.s, t.len, err, errlen)
			: rules_ipset_restore(t.s, t.len, err, errlen);
		if (ret < 0)
			goto out;
	}
	free(k->q);
	k->q = want;
	k->nq = n;
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
