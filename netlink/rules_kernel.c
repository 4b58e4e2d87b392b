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
#include "netlink/rules_int.h"

#define WAIT_ARG	"--wait=5"	/* for the xtables lock (legacy) */
#define VERIFY_SLACK_S	2		/* kernel timeouts are not to the ms */

/* A set as the last fill left it: its elements' ends, to tell how many
 * must still be there at a later time. */
struct set_expect {
	char name[RULES_NAME_MAX];
	size_t perm;			/* elements that never time out */
	int64_t *ends;			/* UNIX seconds, ascending */
	size_t nends;
};

/* A quarantine element as the kernel holds it. */
struct qelem {
	struct rules_elem e;
	int64_t until;			/* UNIX seconds */
};

struct rules_kernel {
	char chain[RULES_CHAIN_MAX + 1];
	enum rules_backend backend;
	bool legacy;			/* iptables-legacy: no generation */
	bool installed;
	uint64_t sets_hash;		/* content of the last fill */
	bool sets_filled;
	int64_t refill_at;		/* an element cut to the longest
					 * timeout needs renewing (0: none) */
	char *ref[2];			/* our rules as the kernel printed
					 * them: [0] IPv4 (or nft), [1] IPv6 */
	uint32_t genid;
	bool genid_ok;
	struct set_expect *sets;
	size_t nsets;
	struct qelem *q;		/* the quarantine sets, sorted */
	size_t nq;
};

static bool is_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Whether chain name n is one of ours (chain c and its known parts). */
static bool our_chain(const char *c, const char *n, size_t nlen)
{
	static const char *const parts[] = {
		"CLOSED", "OPEN", "FRAG", "FRAGS", "FB", "FBC", "QP",
	};
	size_t cl = strlen(c);
	char rest[32];

	if (nlen < cl || strncmp(n, c, cl))
		return false;
	if (nlen == cl)
		return true;
	if (n[cl] != '-' || nlen - cl - 1 >= sizeof(rest))
		return false;
	memcpy(rest, n + cl + 1, nlen - cl - 1);
	rest[nlen - cl - 1] = '\0';
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (!strcmp(rest, parts[i]))
			return true;
	return rest[0] == 'P' && is_digits(rest + 1);
}

/* Whether set name n is one of ours: C-q4, C-q6, C-F-D-K and C-F-D-K-T. */
static bool our_set(const char *c, const char *n)
{
	size_t cl = strlen(c);
	const char *p;
	char *end;

	if (strncmp(n, c, cl) || n[cl] != '-')
		return false;
	p = n + cl + 1;
	if (!strcmp(p, "q4") || !strcmp(p, "q6"))
		return true;
	if ((p[0] != '4' && p[0] != '6') || p[1] != '-' ||
	    p[2] < '0' || p[2] > '9')
		return false;
	(void)strtoul(p + 2, &end, 10);
	if (*end != '-' || end[1] < '0' || end[1] > '9')
		return false;
	(void)strtoul(end + 1, &end, 10);
	return !*end || !strcmp(end, "-T");
}

/* --- reading iptables ------------------------------------------------ */

/* What the filter table of one family holds of ours. */
struct ipt_state {
	char *save;			/* iptables -S output; lines point in */
	char **jumps;			/* "-A FORWARD ... -j C[-FRAG]" */
	size_t njumps;
	char **chains;			/* our chain names */
	size_t nchains;
	char *ours;			/* our lines, in order, for checking */
};

static void ipt_state_free(struct ipt_state *st)
{
	free(st->save);
	free(st->jumps);
	free(st->chains);
	free(st->ours);
	memset(st, 0, sizeof(*st));
}

static int push(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -1;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

/* A FORWARD rule jumping to c or c-FRAG. */
static bool our_jump(const char *c, const char *line)
{
	const char *j = strstr(line, " -j ");
	size_t cl = strlen(c);

	if (strncmp(line, "-A FORWARD ", 11) || !j)
		return false;
	while (strstr(j + 1, " -j "))
		j = strstr(j + 1, " -j ");
	j += 4;
	return !strncmp(j, c, cl) && (!j[cl] || !strcmp(j + cl, "-FRAG"));
}

static int ipt_state_read(struct ipt_state *st, const char *c, int family,
			  char *err, size_t errlen)
{
	char *argv[] = { family == AF_INET ? "iptables" : "ip6tables",
			 WAIT_ARG, "-t", "filter", "-S", NULL };
	struct text t;
	struct out o;
	char *line, *next, *name;
	size_t n;

	memset(st, 0, sizeof(*st));
	if (spawn_run(argv, NULL, 0, &st->save, err, errlen) < 0)
		return -1;
	if (text_open(&t, &o) < 0)
		goto oom;
	for (line = st->save; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (our_jump(c, line)) {
			outf(&o, "%s\n", line);
			if (push(&st->jumps, &st->njumps, line) < 0)
				goto oom_t;
			continue;
		}
		if (strncmp(line, "-N ", 3) && strncmp(line, "-A ", 3))
			continue;
		name = line + 3;
		n = strcspn(name, " ");
		if (!our_chain(c, name, n))
			continue;
		outf(&o, "%s\n", line);
		if (line[1] == 'N' && push(&st->chains, &st->nchains, name) < 0)
			goto oom_t;
	}
	if (text_close(&t, &o) < 0)
		goto oom;
	st->ours = t.s;
	return 0;
oom_t:
	text_free(&t);
oom:
	rules_seterr(err, errlen, "reading the ruleset: out of memory");
	ipt_state_free(st);
	errno = ENOMEM;
	return -1;
}

static int ipt_restore(int family, const char *text, size_t len,
		       char *err, size_t errlen)
{
	char *argv[] = { family == AF_INET ? "iptables-restore"
					   : "ip6tables-restore",
			 "--noflush", WAIT_ARG, NULL };

	return spawn_run(argv, text, len, NULL, err, errlen);
}

static int nft_run(const char *script, size_t len, char *err, size_t errlen)
{
	char *argv[] = { "nft", "-f", "-", NULL };

	return spawn_run(argv, script, len, NULL, err, errlen);
}

static int ipset_restore(const char *script, size_t len, char *err,
			 size_t errlen)
{
	char *argv[] = { "ipset", "-exist", "restore", NULL };

	return spawn_run(argv, script, len, NULL, err, errlen);
}

/* The names of every ipset set ("ipset list -n"); caller frees *out. */
static int ipset_names(char **out, char *err, size_t errlen)
{
	char *argv[] = { "ipset", "list", "-n", NULL };

	return spawn_run(argv, NULL, 0, out, err, errlen);
}

static bool name_in(const char *names, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = names; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);

		if (l == n && !strncmp(p, name, n))
			return true;
		p += l + (nl ? 1 : 0);
	}
	return false;
}

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

static void sets_free(struct rules_kernel *k)
{
	for (size_t i = 0; i < k->nsets; i++)
		free(k->sets[i].ends);
	free(k->sets);
	k->sets = NULL;
	k->nsets = 0;
}

void rules_kernel_free(struct rules_kernel *k)
{
	if (!k)
		return;
	sets_free(k);
	free(k->ref[0]);
	free(k->ref[1]);
	free(k->q);
	free(k);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* What the fallback's sets hold: entries with the ends of their lives. */
static uint64_t sets_hash(const struct rules_desc *d)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv(h, &d->nprofiles, sizeof(d->nprofiles));
	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];
		/* One cut to the longest timeout ends later than it says:
		 * it is renewed on time (refill_at), not at every reload. */
		int64_t end = e->e.timeout >= RULES_TIMEOUT_MAX ? -1 :
			      e->e.timeout ? d->now + e->e.timeout : 0;

		h = fnv(h, e->e.addr, sizeof(e->e.addr));
		h = fnv(h, &e->e.len, 1);
		h = fnv(h, &e->e.v6, 1);
		h = fnv(h, &e->depth, sizeof(e->depth));
		h = fnv(h, &e->profile, sizeof(e->profile));
		h = fnv(h, &end, sizeof(end));
	}
	return h;
}

/* When the first element cut to the longest timeout is a day from
 * running out in the kernel (0: none is). */
static int64_t refill_time(const struct rules_desc *d)
{
	for (size_t i = 0; i < d->nentries; i++)
		if (d->entries[i].e.timeout >= RULES_TIMEOUT_MAX)
			return d->now + RULES_TIMEOUT_MAX - 86400;
	return 0;
}

bool rules_refill_due(const struct rules_kernel *k, int64_t now)
{
	return k->installed && k->refill_at && now >= k->refill_at;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Record what set (v6, depth, profile) was filled with. */
static int expect_set(struct rules_kernel *k, const struct rules_desc *d,
		      const char *name, bool v6, unsigned depth, size_t profile)
{
	struct set_expect *s, *ns;

	ns = realloc(k->sets, (k->nsets + 1) * sizeof(*k->sets));
	if (!ns)
		return -1;
	k->sets = ns;
	s = &k->sets[k->nsets];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	for (size_t i = 0; i < d->nentries; i++) {
		const struct rules_entry *e = &d->entries[i];

		if (e->e.v6 != v6 || e->depth != depth || e->profile != profile)
			continue;
		if (!e->e.timeout) {
			s->perm += e->e.len ? 1 : 2;
			continue;
		}
		if (!(s->nends % 1024)) {
			int64_t *ne = realloc(s->ends, (s->nends + 1024) *
					      sizeof(*ne));

			if (!ne) {
				free(s->ends);
				return -1;
			}
			s->ends = ne;
		}
		s->ends[s->nends++] = d->now + e->e.timeout;
		if (!e->e.len)
			s->perm++;	/* its other half; close enough */
	}
	qsort(s->ends, s->nends, sizeof(*s->ends), cmp_i64);
	k->nsets++;
	return 0;
}

/* How many of s's elements live past t. */
static size_t expect_alive(const struct set_expect *s, int64_t t)
{
	size_t lo = 0, hi = s->nends;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->ends[mid] > t)
			hi = mid;
		else
			lo = mid + 1;
	}
	return s->perm + (s->nends - lo);
}

/*
 * Fill the iptables backend's sets: each entry set in a new set "-T",
 * swapped in whole, so a SYN never meets a half-filled one; the
 * quarantine sets only created (the daemon keeps them).
 */
static int ipset_fill(struct rules_kernel *k, const struct rules_desc *d,
		      char *err, size_t errlen)
{
	char *names = NULL, name[RULES_NAME_MAX], tmp[RULES_NAME_MAX + 8];
	struct rules_layers l = { 0 };
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	k->sets_filled = false;
	if (ipset_names(&names, err, errlen) < 0)
		return -1;
	if (text_open(&t, &o) < 0)
		goto oom;
	sets_free(k);
	for (int v6 = 0; v6 < 2; v6++) {
		rules_qset_name(name, sizeof(name), k->chain, v6);
		if (!name_in(names, name)) {
			outf(&o, "create ");
			rules_ipset_create(&o, name, v6, true, 0);
		}
		if (rules_layers_get(d, v6, &l) < 0)
			goto oom;
		for (unsigned dp = 0; dp < l.depths; dp++)
			for (size_t kp = 0; kp < d->nprofiles; kp++) {
				if (!rules_layer_has(&l, dp, kp))
					continue;
				rules_set_name(name, sizeof(name), k->chain, v6,
					       dp, (unsigned)kp);
				snprintf(tmp, sizeof(tmp), "%s-T", name);
				if (name_in(names, tmp))
					outf(&o, "destroy %s\n", tmp);
				outf(&o, "create ");
				rules_ipset_create(&o, tmp, v6, false,
						   rules_ipset_count(d, v6, dp,
								     kp));
				rules_ipset_adds(&o, d, tmp, v6, dp, kp);
				if (name_in(names, name))
					outf(&o, "swap %s %s\ndestroy %s\n",
					     tmp, name, tmp);
				else
					outf(&o, "rename %s %s\n", tmp, name);
				if (expect_set(k, d, name, v6, dp, kp) < 0)
					goto oom;
			}
		rules_layers_free(&l);
	}
	if (text_close(&t, &o) < 0)
		goto oom;
	if (t.len && ipset_restore(t.s, t.len, err, errlen) < 0)
		goto out;
	k->sets_hash = sets_hash(d);
	k->sets_filled = true;
	k->refill_at = refill_time(d);
	ret = 0;
	goto out;
oom:
	rules_seterr(err, errlen, "the sets' text: out of memory");
	errno = ENOMEM;
out:
	rules_layers_free(&l);
	text_free(&t);
	free(names);
	return ret;
}

/* Destroy our sets that d no longer has (stale) or all of them. */
static int ipset_prune(struct rules_kernel *k, const struct rules_desc *d,
		       char *err, size_t errlen)
{
	char *names = NULL;
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	if (ipset_names(&names, err, errlen) < 0)
		return -1;
	if (text_open(&t, &o) < 0)
		goto out;
	for (char *p = names, *nl; p && *p; p = nl ? nl + 1 : p + strlen(p)) {
		bool keep = false;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (!our_set(k->chain, p))
			continue;
		for (size_t i = 0; d && i < k->nsets && !keep; i++)
			keep = !strcmp(k->sets[i].name, p);
		if (d && (!strcmp(p + strlen(k->chain), "-q4") ||
			  !strcmp(p + strlen(k->chain), "-q6")))
			keep = true;
		if (!keep)
			outf(&o, "destroy %s\n", p);
	}
	if (text_close(&t, &o) < 0)
		goto out;
	ret = t.len ? ipset_restore(t.s, t.len, err, errlen) : 0;
out:
	text_free(&t);
	free(names);
	return ret;
}

static int read_ref(struct rules_kernel *k, char *err, size_t errlen);

static int ipt_install(struct rules_kernel *k, const struct rules_desc *d,
		       int family, char *err, size_t errlen)
{
	struct ipt_state st;
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	if (ipt_state_read(&st, k->chain, family, err, errlen) < 0)
		return -1;
	if (text_open(&t, &o) < 0)
		goto oom;
	/* One transaction: declaring a chain creates or flushes it, stale
	 * jumps and chains go, ours come back first in FORWARD. */
	outf(&o, "*filter\n");
	rules_ipt_chains(&o, d);
	for (size_t i = 0; i < st.njumps; i++)
		outf(&o, "-D%s\n", st.jumps[i] + 2);
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
	outf(&o, "COMMIT\n");
	if (text_close(&t, &o) < 0)
		goto oom;
	ret = ipt_restore(family, t.s, t.len, err, errlen);
	goto out;
oom:
	rules_seterr(err, errlen, "ruleset text: out of memory");
	errno = ENOMEM;
out:
	text_free(&t);
	ipt_state_free(&st);
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
	ret = nft_run(t.s, t.len, err, errlen);
	if (ret == 0) {
		/* The table was replaced whole, quarantine sets too. */
		free(k->q);
		k->q = NULL;
		k->nq = 0;
		k->sets_hash = sets_hash(d);
		k->sets_filled = true;
		k->refill_at = refill_time(d);
	}
	goto out;
oom:
	rules_seterr(err, errlen, "ruleset text: out of memory");
	errno = ENOMEM;
out:
	text_free(&t);
	return ret;
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
		return read_ref(k, err, errlen);
	}
	if ((!k->sets_filled || k->sets_hash != sets_hash(d)) &&
	    ipset_fill(k, d, err, errlen) < 0)
		return -1;
	if (ipt_install(k, d, AF_INET, err, errlen) < 0 ||
	    ipt_install(k, d, AF_INET6, err, errlen) < 0)
		return -1;
	k->installed = true;
	/* Only now does no rule name the sets an older policy had. */
	if (ipset_prune(k, d, err, errlen) < 0)
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
			ret = nft_run(t.s, t.len, err, errlen);
		else
			ret = ipt_restore(family, t.s, t.len, err, errlen);
		text_free(&t);
		if (ret < 0)
			return -1;
	}
	return 0;
oom:
	text_free(&t);
	rules_seterr(err, errlen, "ruleset text: out of memory");
	errno = ENOMEM;
	return -1;
}

/* --- reading back ---------------------------------------------------- */

/* nft's terse listing of our table, counters taken out. */
static int nft_listing(const char *chain, char **out, char *err,
		       size_t errlen)
{
	char *argv[] = { "nft", "-t", "list", "table", "inet",
			 RULES_NFT_TABLE, NULL };
	char *s, *r, *w;

	(void)chain;
	if (spawn_run(argv, NULL, 0, &s, err, errlen) < 0)
		return -1;
	/* "counter packets N bytes M" moves with traffic. */
	for (r = w = s; *r;) {
		if (!strncmp(r, "counter packets ", 16)) {
			memcpy(w, "counter", 7);
			w += 7;
			r += 16;
			r += strspn(r, "0123456789");
			if (!strncmp(r, " bytes ", 7)) {
				r += 7;
				r += strspn(r, "0123456789");
			}
			continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	*out = s;
	return 0;
}

static int read_ref(struct rules_kernel *k, char *err, size_t errlen)
{
	free(k->ref[0]);
	free(k->ref[1]);
	k->ref[0] = k->ref[1] = NULL;
	if (k->backend == RULES_NFT) {
		if (nft_listing(k->chain, &k->ref[0], err, errlen) < 0)
			return -1;
	} else {
		for (int f = 0; f < 2; f++) {
			struct ipt_state st;

			if (ipt_state_read(&st, k->chain,
					   f ? AF_INET6 : AF_INET, err,
					   errlen) < 0)
				return -1;
			k->ref[f] = st.ours;
			st.ours = NULL;
			ipt_state_free(&st);
		}
	}
	k->genid_ok = rules_nft_genid(&k->genid) == 0;
	return 0;
}

/* The first line of a not in b (both "\n"-separated), into what. */
static bool first_missing(const char *a, const char *b, const char *where,
			  char *what, size_t whatlen)
{
	for (const char *p = a; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = b;
		bool found = false;

		while (q && *q && !found) {
			const char *qn = strchr(q, '\n');
			size_t ql = qn ? (size_t)(qn - q) : strlen(q);

			found = ql == l && !strncmp(p, q, l);
			q += ql + (qn ? 1 : 0);
		}
		if (!found) {
			rules_seterr(what, whatlen, "%s: %.*s", where, (int)l,
				     p);
			return true;
		}
		p += l + (nl ? 1 : 0);
	}
	return false;
}

static int verify_rules(struct rules_kernel *k, char *what, size_t whatlen)
{
	for (int f = 0; f < (k->backend == RULES_NFT ? 1 : 2); f++) {
		char *now = NULL;
		const char *fam = k->backend == RULES_NFT ? "nft" :
				  f ? "ip6tables" : "iptables";
		char where[64];
		bool bad;

		if (k->backend == RULES_NFT) {
			if (nft_listing(k->chain, &now, what, whatlen) < 0) {
				/* No table at all is what a flush does. */
				rules_seterr(what, whatlen, "nft: table inet "
					     RULES_NFT_TABLE " is gone");
				return 1;
			}
		} else {
			struct ipt_state st;

			if (ipt_state_read(&st, k->chain,
					   f ? AF_INET6 : AF_INET, what,
					   whatlen) < 0)
				return -1;
			now = st.ours;
			st.ours = NULL;
			ipt_state_free(&st);
		}
		snprintf(where, sizeof(where), "%s lacks", fam);
		bad = first_missing(k->ref[f], now, where, what, whatlen);
		if (!bad) {
			snprintf(where, sizeof(where), "%s has a rule it did "
				 "not install", fam);
			bad = first_missing(now, k->ref[f], where, what,
					    whatlen);
		}
		free(now);
		if (bad)
			return 1;
	}
	return 0;
}

/* "Name: X" ... "Number of entries: N" of every set (ipset list -t). */
static int verify_sets(struct rules_kernel *k, int64_t now, char *what,
		       size_t whatlen)
{
	char *argv[] = { "ipset", "list", "-t", NULL };
	char *s, *name = NULL;
	bool *seen;
	int ret = 0;

	if (spawn_run(argv, NULL, 0, &s, what, whatlen) < 0)
		return -1;
	seen = calloc(k->nsets + 2, sizeof(*seen));
	if (!seen) {
		free(s);
		errno = ENOMEM;
		return -1;
	}
	for (char *p = s, *nl; *p && !ret; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(p, "Name: ", 6)) {
			name = p + 6;
			continue;
		}
		if (!name || strncmp(p, "Number of entries: ", 19))
			continue;
		for (size_t i = 0; i < k->nsets; i++) {
			size_t have = strtoull(p + 19, NULL, 10);
			size_t want = expect_alive(&k->sets[i],
						   now + VERIFY_SLACK_S);

			if (strcmp(k->sets[i].name, name))
				continue;
			seen[i] = true;
			if (have < want) {
				rules_seterr(what, whatlen, "set %s holds %zu "
					     "elements, %zu expected", name,
					     have, want);
				k->sets_filled = false;
				ret = 1;
			}
		}
		for (int v6 = 0; v6 < 2; v6++) {
			char q[RULES_NAME_MAX];
			size_t have = strtoull(p + 19, NULL, 10), want = 0;

			rules_qset_name(q, sizeof(q), k->chain, v6);
			if (strcmp(q, name))
				continue;
			seen[k->nsets + v6] = true;
			for (size_t i = 0; i < k->nq; i++)
				want += k->q[i].e.v6 == v6 &&
					k->q[i].until > now + VERIFY_SLACK_S;
			if (have < want) {
				rules_seterr(what, whatlen, "set %s holds %zu "
					     "elements, %zu expected", name,
					     have, want);
				k->nq = 0;	/* the next sync adds them all */
				ret = 1;
			}
		}
		name = NULL;
	}
	for (size_t i = 0; i < k->nsets + 2 && !ret; i++) {
		char q[RULES_NAME_MAX];

		if (seen[i])
			continue;
		if (i < k->nsets)
			snprintf(q, sizeof(q), "%s", k->sets[i].name);
		else
			rules_qset_name(q, sizeof(q), k->chain,
					i == k->nsets + 1);
		rules_seterr(what, whatlen, "set %s is gone", q);
		k->sets_filled = false;
		k->nq = 0;
		ret = 1;
	}
	free(seen);
	free(s);
	return ret;
}

int rules_verify(struct rules_kernel *k, bool full, int64_t now,
		 char *what, size_t whatlen)
{
	uint32_t gen;
	bool gen_ok;
	int r;

	if (whatlen)
		what[0] = '\0';
	if (!k->installed)
		return 0;
	gen_ok = rules_nft_genid(&gen) == 0;
	if (full || k->legacy || !gen_ok || !k->genid_ok || gen != k->genid) {
		r = verify_rules(k, what, whatlen);
		if (r)
			return r;
		k->genid = gen;
		k->genid_ok = gen_ok;
	}
	if (k->backend == RULES_IPTABLES)
		return verify_sets(k, now, what, whatlen);
	return 0;
}

/* --- the fallback's counters ---------------------------------------- */

static void count_line(const char *line, uint64_t pk,
		       struct rules_fallback_counts *c)
{
	if (strstr(line, " -j ACCEPT") || strstr(line, " accept"))
		c->accepted += pk;
	else if (strstr(line, " -j DROP") || strstr(line, " drop"))
		c->dropped += pk;
	else if (strstr(line, " -j REJECT") || strstr(line, " reject"))
		c->rejected += pk;
}

static void since_of(const char *line, struct rules_fallback_counts *c)
{
	const char *s = strstr(line, RULES_FALLBACK_TAG);
	long long t;

	if (!s)
		return;
	t = strtoll(s + strlen(RULES_FALLBACK_TAG), NULL, 10);
	if (!c->active || t < c->since)
		c->since = t;
	c->active = true;
}

static int ipt_fallback_read(struct rules_kernel *k, int family,
			     struct rules_fallback_counts *c, char *err,
			     size_t errlen)
{
	char *argv[] = { family == AF_INET ? "iptables-save"
					   : "ip6tables-save",
			 "-c", "-t", "filter", NULL };
	char *s, pk[64], qp[64];
	size_t pl, ml, ql;

	if (spawn_run(argv, NULL, 0, &s, err, errlen) < 0)
		return -1;
	pl = (size_t)snprintf(pk, sizeof(pk), "-A %s-P", k->chain);
	ml = strlen(k->chain);
	ql = (size_t)snprintf(qp, sizeof(qp), "-A %s-QP ", k->chain);
	for (char *p = s, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
		unsigned long long n = 0, b = 0;
		char *rule;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (sscanf(p, "[%llu:%llu]", &n, &b) != 2)
			continue;
		rule = strchr(p, ']');
		if (!rule || rule[1] != ' ')
			continue;
		rule += 2;
		if (!strncmp(rule, "-A ", 3) && !strncmp(rule + 3, k->chain, ml)
		    && rule[3 + ml] == ' ') {
			since_of(rule, c);
			continue;
		}
		if ((!strncmp(rule, pk, pl) && rule[pl] >= '0' &&
		     rule[pl] <= '9') || !strncmp(rule, qp, ql))
			count_line(rule, n, c);
	}
	free(s);
	return 0;
}

static int nft_fallback_read(struct rules_kernel *k,
			     struct rules_fallback_counts *c, char *err,
			     size_t errlen)
{
	char *argv[] = { "nft", "-t", "list", "table", "inet",
			 RULES_NFT_TABLE, NULL };
	char *s, cur[64] = "";

	if (spawn_run(argv, NULL, 0, &s, err, errlen) < 0)
		return 0;	/* no table: nothing ran */
	for (char *p = s, *nl; *p; p = nl ? nl + 1 : p + strlen(p)) {
		const char *cp;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		p += strspn(p, "\t ");
		if (sscanf(p, "chain %63s {", cur) == 1)
			continue;
		if (!strcmp(cur, k->chain)) {
			since_of(p, c);
			continue;
		}
		if (strcmp(cur, "qp") && !(cur[0] == 'p' && is_digits(cur + 1)))
			continue;
		cp = strstr(p, "counter packets ");
		if (cp)
			count_line(p, strtoull(cp + 16, NULL, 10), c);
	}
	free(s);
	return 0;
}

int rules_fallback_read(struct rules_kernel *k,
			struct rules_fallback_counts *c,
			char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (errlen)
		err[0] = '\0';
	if (k->backend == RULES_NFT)
		return nft_fallback_read(k, c, err, errlen);
	if (ipt_fallback_read(k, AF_INET, c, err, errlen) < 0 ||
	    ipt_fallback_read(k, AF_INET6, c, err, errlen) < 0)
		return -1;
	return 0;
}

/* --- quarantine ------------------------------------------------------ */

static int cmp_elem(const void *a, const void *b)
{
	const struct rules_elem *x = a, *y = b;
	int c = (int)x->v6 - (int)y->v6;

	if (c)
		return c;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	return c ? c : (int)x->len - (int)y->len;
}

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
	qsort(want, n, sizeof(*want), cmp_elem);
	/* Merge the two sorted lists: what is new or moved is added, what
	 * went is deleted (ipset -exist: either may already be so). */
	for (i = j = 0; i < n || j < k->nq;) {
		int c = i == n ? 1 : j == k->nq ? -1 :
			cmp_elem(&want[i].e, &k->q[j].e);

		if (c > 0) {
			change = true;
			rules_qset_name(name, sizeof(name), k->chain,
					k->q[j].e.v6);
			outf(&o, "del %s %s\n", name,
			     qelem_text(&k->q[j].e, buf, sizeof(buf)));
			j++;
			continue;
		}
		if (c < 0 || want[i].until > k->q[j].until + 1 ||
		    want[i].until + 1 < k->q[j].until) {
			change = true;
			rules_qset_name(name, sizeof(name), k->chain,
					want[i].e.v6);
			outf(&o, "add %s %s timeout %u\n", name,
			     qelem_text(&want[i].e, buf, sizeof(buf)),
			     want[i].e.timeout);
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
		ret = k->backend == RULES_NFT ? nft_run(t.s, t.len, err, errlen)
			: ipset_restore(t.s, t.len, err, errlen);
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
	rules_seterr(err, errlen, "quarantine sets: out of memory");
	errno = ENOMEM;
out:
	free(want);
	text_free(&t);
	return ret;
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

	if (ipt_state_read(&st, chain, family, err, errlen) < 0)
		return -1;
	if (!st.njumps && !st.nchains) {
		ret = 0;
		goto out;
	}
	if (text_open(&t, &o) < 0)
		goto oom;
	outf(&o, "*filter\n");
	for (i = 0; i < st.njumps; i++)
		outf(&o, "-D%s\n", st.jumps[i] + 2);
	/* Flush all first: they jump to each other. */
	for (i = 0; i < st.nchains; i++)
		outf(&o, "-F %.*s\n", (int)strcspn(st.chains[i], " "),
		     st.chains[i]);
	for (i = 0; i < st.nchains; i++)
		outf(&o, "-X %.*s\n", (int)strcspn(st.chains[i], " "),
		     st.chains[i]);
	outf(&o, "COMMIT\n");
	if (text_close(&t, &o) < 0)
		goto oom;
	ret = ipt_restore(family, t.s, t.len, err, errlen);
	goto out;
oom:
	rules_seterr(err, errlen, "ruleset text: out of memory");
	errno = ENOMEM;
out:
	text_free(&t);
	ipt_state_free(&st);
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
				rules_seterr(err, errlen, "%s", err2);
				saved = errno;
			}
			ret = -1;
		}
		if (ret == 0 && ipset_prune(&k, NULL, err, errlen) < 0) {
			saved = errno;
			ret = -1;
		}
		errno = saved;
		return ret;
	case RULES_NFT:
		return nft_run(nft_del, sizeof(nft_del) - 1, err, errlen);
	}
	errno = EINVAL;
	rules_seterr(err, errlen, "backend %d: expected iptables or nft",
		     backend);
	return -1;
}
