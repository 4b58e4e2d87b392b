// SPDX-License-Identifier: GPL-2.0-or-later
/* netlink/rules: running the firewall tools and reading what they print. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/spawn.h"
#include "netlink/rules_kern.h"

bool rules_is_digits(const char *s)
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
	return rest[0] == 'P' && rules_is_digits(rest + 1);
}

/* Whether set name n is one of ours: C-q4, C-q6, C-F-D-K and C-F-D-K-T. */
bool rules_our_set(const char *c, const char *n)
{
	size_t cl = strlen(c);
	const char *p;
	char *end;

	if (strncmp(n, c, cl) || n[cl] != '-')
		return false;
	p = n + cl + 1;
	if (!strcmp(p, "q4") || !strcmp(p, "q6") || !strcmp(p, "a4") ||
	    !strcmp(p, "a6") || !strcmp(p, "a4-T") || !strcmp(p, "a6-T"))
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

void rules_ipt_state_free(struct ipt_state *st)
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

int rules_ipt_state_read(struct ipt_state *st, const char *c, int family,
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
	errbuf_set(err, errlen, "reading the ruleset: out of memory");
	rules_ipt_state_free(st);
	errno = ENOMEM;
	return -1;
}

int rules_ipt_restore(int family, const char *text, size_t len,
		       char *err, size_t errlen)
{
	char *argv[] = { family == AF_INET ? "iptables-restore"
					   : "ip6tables-restore",
			 "--noflush", WAIT_ARG, NULL };

	return spawn_run(argv, text, len, NULL, err, errlen);
}

int rules_nft_run(const char *script, size_t len, char *err, size_t errlen)
{
	char *argv[] = { "nft", "-f", "-", NULL };

	return spawn_run(argv, script, len, NULL, err, errlen);
}

int rules_ipset_restore(const char *script, size_t len, char *err,
			 size_t errlen)
{
	char *argv[] = { "ipset", "-exist", "restore", NULL };

	return spawn_run(argv, script, len, NULL, err, errlen);
}

/* The names of every ipset set ("ipset list -n"); caller frees *out. */
int rules_ipset_names(char **out, char *err, size_t errlen)
{
	char *argv[] = { "ipset", "list", "-n", NULL };

	return spawn_run(argv, NULL, 0, out, err, errlen);
}

bool rules_name_in(const char *names, const char *name)
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

/* nft's terse listing of our table, counters taken out. */
int rules_nft_listing(const char *chain, char **out, char *err,
		       size_t errlen)
{
	(void)chain;
	return rules_nft_table_listing(RULES_NFT_TABLE, out, err, errlen);
}

int rules_nft_table_delete(const char *table, char *err, size_t errlen)
{
	char s[2 * RULES_NAME_MAX + 64];
	int n = snprintf(s, sizeof(s), "table inet %s\ndelete table inet %s\n",
			 table, table);

	return rules_nft_run(s, (size_t)n, err, errlen);
}

int rules_nft_table_listing(const char *table, char **out, char *err,
			    size_t errlen)
{
	char name[RULES_NAME_MAX];
	char *argv[] = { "nft", "-t", "list", "table", "inet", name, NULL };
	char *s, *r, *w;

	snprintf(name, sizeof(name), "%s", table);
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
