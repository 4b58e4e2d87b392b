// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules: putting the ruleset and its sets in the kernel, switching
 * between queue and fallback mode, reading the fallback's counters back,
 * checking that nothing was taken away, and removing it all. The firewall
 * tools run with posix_spawn (common/spawn.c), never a shell; every
 * ruleset change is one transaction per family.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/spawn.h"
#include "netlink/rules_kern.h"

/* --- the kernel handle ---------------------------------------------- */

struct rules_kernel *rules_kernel_new(const char *chain,
				      enum rules_backend backend)
{
	struct rules_kernel *k;
	char *v = NULL;
	char *argv[] = { "iptables", "-V", NULL };

	if (!chain)
		chain = RULES_CHAIN_DEFAULT;
	if (rules_chain_check(chain, NULL, 0) < 0) {
		errno = EINVAL;
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	snprintf(k->chain, sizeof(k->chain), "%s", chain);
	k->backend = backend;
	/* iptables-legacy changes move no nf_tables generation. */
	if (backend == RULES_IPTABLES &&
	    spawn_run(argv, NULL, 0, &v, NULL, 0) == 0)
		k->legacy = strstr(v, "legacy") != NULL;
	free(v);
	return k;
}

void rules_kernel_free(struct rules_kernel *k)
{
	if (!k)
		return;
	rules_sets_free(k);
	free(k->ref[0]);
	free(k->ref[1]);
	free(k->ref[2]);
	free(k->q);
	free(k->kports);
	free(k->kact);
	free(k);
}

static int read_ref(struct rules_kernel *k, char *err, size_t errlen);

/* A transaction on the filter table of family: begun in t with our
 * stale FORWARD jumps deleted; ipt_commit ends and runs it. */
static int ipt_begin(struct text *t, struct out *o, const struct ipt_state *st)
{
	if (text_open(t, o) < 0)
		return -1;
	outf(o, "*filter\n");
	for (size_t i = 0; i < st->njumps; i++)
		outf(o, "-D%s\n", st->jumps[i] + 2);
	return 0;
}

static int ipt_commit(struct text *t, struct out *o, int family, char *err,
		      size_t errlen)
{
	outf(o, "COMMIT\n");
	if (text_close(t, o) < 0) {
		errbuf_set(err, errlen, "ruleset text: out of memory");
		errno = ENOMEM;
		return -1;
	}
	return rules_ipt_restore(family, t->s, t->len, err, errlen);
}

static int ipt_install(struct rules_kernel *k, const struct rules_desc *d,
		       int family, char *err, size_t errlen)
{
	struct ipt_state st;
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	if (rules_ipt_state_read(&st, k->chain, family, err, errlen) < 0)
		return -1;
	/* One transaction: declaring a chain creates or flushes it, stale
	 * jumps and chains go, ours come back first in FORWARD. */
	if (ipt_begin(&t, &o, &st) < 0)
		goto oom;
	rules_ipt_chains(&o, d);
	rules_ipt_main(&o, d, family, false, 0);
	rules_ipt_rest(&o, d, family);
	rules_ipt_jumps(&o, k->chain, family);
	{
		/* A chain the new text does not declare is left over from an
		 * older policy: nothing of ours jumps to it any more. */
		struct text decl;
		struct out od;

		if (text_open(&decl, &od) < 0)
			goto oom;
		rules_ipt_chains(&od, d);
		if (text_close(&decl, &od) < 0) {
			text_free(&decl);
			goto oom;
		}
		for (size_t i = 0; i < st.nchains; i++) {
			char want[64];
			size_t n = strcspn(st.chains[i], " \n");

			snprintf(want, sizeof(want), ":%.*s -", (int)n,
				 st.chains[i]);
			if (!strstr(decl.s, want))
				outf(&o, "-F %.*s\n-X %.*s\n", (int)n,
				     st.chains[i], (int)n, st.chains[i]);
		}
		text_free(&decl);
	}
	ret = ipt_commit(&t, &o, family, err, errlen);
	goto out;
oom:
	errbuf_set(err, errlen, "ruleset text: out of memory");
	errno = ENOMEM;
out:
	text_free(&t);
	rules_ipt_state_free(&st);
	return ret;
}

static int nft_install(struct rules_kernel *k, const struct rules_desc *d,
		       char *err, size_t errlen)
{
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	if (text_open(&t, &o) < 0)
		goto oom;
	if (rules_nft_write(t.f, d, err, errlen) < 0)
		goto out;
	if (text_close(&t, &o) < 0)
		goto oom;
	ret = rules_nft_run(t.s, t.len, err, errlen);
	if (ret == 0) {
		/* The table was replaced whole, quarantine sets too. */
		free(k->q);
		k->q = NULL;
		k->nq = 0;
		k->sets_hash = rules_sets_hash(d);
		k->sets_filled = true;
		k->refill_at = rules_refill_time(d);
	}
	goto out;
oom:
	errbuf_set(err, errlen, "ruleset text: out of memory");
	errno = ENOMEM;
out:
	text_free(&t);
	return ret;
}

/* The iptables backend's kernel quarantine table, as d wants it (or
 * gone). Its sets stay from one install to the next, their counts too. */
static int kq_install(const struct rules_desc *d, char *err, size_t errlen)
{
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	if (text_open(&t, &o) < 0)
		goto oom;
	rules_nft_kq_table(&o, d);
	if (text_close(&t, &o) < 0)
		goto oom;
	ret = rules_nft_run(t.s, t.len, err, errlen);
	/* No nft, no table of ours to take out. */
	if (ret < 0 && errno == ENOENT && !rules_kq_wanted(d))
		ret = 0;
	goto out;
oom:
	errbuf_set(err, errlen, "ruleset text: out of memory");
	errno = ENOMEM;
out:
	text_free(&t);
	return ret;
}

/* The kernel quarantine's ports as just installed: the next quarantine
 * sync puts each source in with them. */
static int kq_note(struct rules_kernel *k, const struct rules_desc *d,
		   char *err, size_t errlen)
{
	if (rules_kq_note(k, d) == 0)
		return 0;
	errbuf_set(err, errlen, "quarantine sets: out of memory");
	return -1;
}

int rules_install(struct rules_kernel *k, const struct rules_desc *d,
		  char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	if (rules_check(d, err, errlen) < 0)
		return -1;
	if (rules_refill_due(k, d->now))
		k->sets_filled = false;
	if (k->backend == RULES_NFT) {
		if (nft_install(k, d, err, errlen) < 0)
			return -1;
		k->installed = true;
		return kq_note(k, d, err, errlen) < 0 ? -1 :
		       read_ref(k, err, errlen);
	}
	if ((!k->sets_filled || k->sets_hash != rules_sets_hash(d)) &&
	    rules_ipset_fill(k, d, err, errlen) < 0)
		return -1;
	if (ipt_install(k, d, AF_INET, err, errlen) < 0 ||
	    ipt_install(k, d, AF_INET6, err, errlen) < 0 ||
	    kq_install(d, err, errlen) < 0)
		return -1;
	k->installed = true;
	if (kq_note(k, d, err, errlen) < 0)
		return -1;
	/* Only now does no rule name the sets an older policy had. */
	if (rules_ipset_prune(k, d, err, errlen) < 0)
		return -1;
	return read_ref(k, err, errlen);
}

int rules_to_fallback(struct rules_kernel *k, const struct rules_desc *d,
		      int64_t since, char *err, size_t errlen)
{
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	if (errlen)
		err[0] = '\0';
	if (rules_check(d, err, errlen) < 0)
		return -1;
	for (int f = 0; f < (k->backend == RULES_NFT ? 1 : 2); f++) {
		int family = f ? AF_INET6 : AF_INET;

		if (text_open(&t, &o) < 0)
			goto oom;
		if (k->backend == RULES_NFT) {
			rules_nft_forward(&o, d, true, since);
		} else {
			outf(&o, "*filter\n:%s - [0:0]\n", k->chain);
			rules_ipt_main(&o, d, family, true, since);
			outf(&o, "COMMIT\n");
		}
		if (text_close(&t, &o) < 0)
			goto oom;
		if (k->backend == RULES_NFT)
			ret = rules_nft_run(t.s, t.len, err, errlen);
		else
			ret = rules_ipt_restore(family, t.s, t.len, err, errlen);
		text_free(&t);
		if (ret < 0)
			return -1;
	}
	if (k->backend == RULES_IPTABLES && k->nkports) {
		char tab[RULES_NAME_MAX], e2[256];

		/* While no daemon runs the fallback judges quarantined
		 * sources (and counts them): the table goes. Should nft
		 * fail, the table goes on blocking them as the fallback
		 * would, uncounted. */
		rules_kq_table_name(tab, sizeof(tab), k->chain);
		if (rules_nft_table_delete(tab, e2, sizeof(e2)) == 0) {
			size_t m = 0;

			for (size_t i = 0; i < k->nq; i++)
				if (!k->q[i].port)
					k->q[m++] = k->q[i];
			k->nq = m;
			free(k->ref[2]);
			k->ref[2] = NULL;
		}
	}
	return 0;
oom:
	text_free(&t);
	errbuf_set(err, errlen, "ruleset text: out of memory");
	errno = ENOMEM;
	return -1;
}

/* --- reading back ---------------------------------------------------- */

static int read_ref(struct rules_kernel *k, char *err, size_t errlen)
{
	free(k->ref[0]);
	free(k->ref[1]);
	free(k->ref[2]);
	k->ref[0] = k->ref[1] = k->ref[2] = NULL;
	if (k->backend == RULES_IPTABLES && k->nkports) {
		char t[RULES_NAME_MAX];

		rules_kq_table_name(t, sizeof(t), k->chain);
		if (rules_nft_table_listing(t, &k->ref[2], err, errlen) < 0)
			return -1;
	}
	if (k->backend == RULES_NFT) {
		if (rules_nft_listing(k->chain, &k->ref[0], err, errlen) < 0)
			return -1;
	} else {
		for (int f = 0; f < 2; f++) {
			struct ipt_state st;

			if (rules_ipt_state_read(&st, k->chain,
					   f ? AF_INET6 : AF_INET, err,
					   errlen) < 0)
				return -1;
			k->ref[f] = st.ours;
			st.ours = NULL;
			rules_ipt_state_free(&st);
		}
	}
	k->genid_ok = rules_nft_genid(&k->genid) == 0;
	return 0;
}

/* --- removal --------------------------------------------------------- */

static int ipt_remove(const char *chain, int family, char *err,
		      size_t errlen)
{
	struct ipt_state st;
	struct text t = { 0 };
	struct out o;
	size_t i;
	int ret = -1;

	if (rules_ipt_state_read(&st, chain, family, err, errlen) < 0)
		return -1;
	if (!st.njumps && !st.nchains) {
		ret = 0;
		goto out;
	}
	if (ipt_begin(&t, &o, &st) < 0)
		goto oom;
	/* Flush all first: they jump to each other. */
	for (i = 0; i < st.nchains; i++)
		outf(&o, "-F %.*s\n", (int)strcspn(st.chains[i], " "),
		     st.chains[i]);
	for (i = 0; i < st.nchains; i++)
		outf(&o, "-X %.*s\n", (int)strcspn(st.chains[i], " "),
		     st.chains[i]);
	ret = ipt_commit(&t, &o, family, err, errlen);
	goto out;
oom:
	errbuf_set(err, errlen, "ruleset text: out of memory");
	errno = ENOMEM;
out:
	text_free(&t);
	rules_ipt_state_free(&st);
	return ret;
}

int rules_remove(const char *chain, enum rules_backend backend,
		 char *err, size_t errlen)
{
	static const char nft_del[] = "table inet " RULES_NFT_TABLE "\n"
				      "delete table inet " RULES_NFT_TABLE "\n";
	struct rules_kernel k = { .backend = backend };
	char err2[256];
	int ret, saved;

	if (errlen)
		err[0] = '\0';
	if (!chain)
		chain = RULES_CHAIN_DEFAULT;
	if (rules_chain_check(chain, err, errlen) < 0) {
		errno = EINVAL;
		return -1;
	}
	snprintf(k.chain, sizeof(k.chain), "%s", chain);
	switch (backend) {
	case RULES_IPTABLES:
		/* Both families and the sets, whatever the first said. */
		ret = ipt_remove(chain, AF_INET, err, errlen);
		saved = errno;
		if (ipt_remove(chain, AF_INET6, err2, sizeof(err2)) < 0) {
			if (ret == 0) {
				errbuf_set(err, errlen, "%s", err2);
				saved = errno;
			}
			ret = -1;
		}
		if (ret == 0 && rules_ipset_prune(&k, NULL, err, errlen) < 0) {
			saved = errno;
			ret = -1;
		}
		{
			char tab[RULES_NAME_MAX];

			rules_kq_table_name(tab, sizeof(tab), chain);
			if (rules_nft_table_delete(tab, err2, sizeof(err2)) < 0 &&
			    errno != ENOENT && ret == 0) {
				errbuf_set(err, errlen, "%s", err2);
				saved = errno;
				ret = -1;
			}
		}
		errno = saved;
		return ret;
	case RULES_NFT:
		return rules_nft_run(nft_del, sizeof(nft_del) - 1, err, errlen);
	}
	errno = EINVAL;
	errbuf_set(err, errlen, "backend %d: expected iptables or nft",
		   backend);
	return -1;
}
