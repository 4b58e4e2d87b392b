// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "netlink/rules.h"

extern char **environ;

#define CHAIN_MAX	21	/* 28 (xtables) less "-CLOSED" */
#define MULTIPORT_MAX	15	/* ports one -m multiport rule takes */
#define WAIT_ARG	"--wait=5"	/* for the xtables lock (legacy) */
#define SYN_IPT		"-p tcp --tcp-flags SYN,ACK SYN"
#define SYN_NFT		"tcp flags & (syn | ack) == syn"

/* Where text goes: a FILE, or a buffer filled snprintf-style. */
struct out {
	FILE *f;
	char *buf;
	size_t len;
	size_t pos;		/* bytes of the whole text so far */
	int err;		/* first write error */
};

static void outf(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void outf(struct out *o, const char *fmt, ...)
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

static void seterr(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static const char *chain_of(const struct rules_desc *d)
{
	return d->chain ? d->chain : RULES_CHAIN_DEFAULT;
}

static int check_chain(const char *c, char *err, size_t errlen)
{
	size_t i, n = strlen(c);

	/* nft identifiers take no '-'; xtables names are at most 28 bytes
	 * and this one gets "-CLOSED" appended. */
	if (n == 0 || n > CHAIN_MAX)
		goto bad;
	for (i = 0; i < n; i++)
		if (!((c[i] >= 'A' && c[i] <= 'Z') ||
		      (c[i] >= 'a' && c[i] <= 'z') || c[i] == '_' ||
		      (i > 0 && c[i] >= '0' && c[i] <= '9')))
			goto bad;
	return 0;
bad:
	seterr(err, errlen, "chain name \"%s\": expected 1 to %d letters, "
	       "digits or '_', not starting with a digit", c, CHAIN_MAX);
	return -1;
}

/*
 * Parse "addr[/len]" of family into canonical text (host bits cleared) in
 * out (INET6_ADDRSTRLEN + 4 bytes). Returns 0, or -1 if malformed.
 */
static int prefix_canon(const char *s, int family, char *out, size_t outlen)
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

static int check_prefixes(const char *const *p, size_t n, int family,
			  char *err, size_t errlen)
{
	char canon[INET6_ADDRSTRLEN + 5];
	size_t i;

	if (n && !p)
		goto bad_array;
	for (i = 0; i < n; i++)
		if (!p[i] || prefix_canon(p[i], family, canon,
					  sizeof(canon)) < 0) {
			seterr(err, errlen, "%s aggregate %zu \"%s\": expected "
			       "%s", family == AF_INET ? "IPv4" : "IPv6",
			       i + 1, p[i] ? p[i] : "(null)",
			       family == AF_INET ? "a.b.c.d/0-32"
						 : "an IPv6 address/0-128");
			return -1;
		}
	return 0;
bad_array:
	seterr(err, errlen, "%zu %s aggregates but no array", n,
	       family == AF_INET ? "IPv4" : "IPv6");
	return -1;
}

int rules_check(const struct rules_desc *d, char *err, size_t errlen)
{
	size_t i, j;

	if (errlen)
		err[0] = '\0';
	if (check_chain(chain_of(d), err, errlen) < 0 ||
	    check_prefixes(d->v4, d->nv4, AF_INET, err, errlen) < 0 ||
	    check_prefixes(d->v6, d->nv6, AF_INET6, err, errlen) < 0 ||
	    check_prefixes(d->relays4, d->nrelays4, AF_INET, err, errlen) < 0 ||
	    check_prefixes(d->relays6, d->nrelays6, AF_INET6, err, errlen) < 0)
		goto bad;
	if (d->nports && !d->ports) {
		seterr(err, errlen, "%zu ports but no array", d->nports);
		goto bad;
	}
	for (i = 0; i < d->nports; i++) {
		if (d->ports[i].port == 0) {
			seterr(err, errlen, "port 0: expected 1 to 65535");
			goto bad;
		}
		for (j = 0; j < i; j++)
			if (d->ports[j].port == d->ports[i].port) {
				seterr(err, errlen, "port %u listed twice",
				       d->ports[i].port);
				goto bad;
			}
	}
	if (d->closed_first > d->closed_last ||
	    d->open_first > d->open_last) {
		seterr(err, errlen, "queue range %u-%u: expected first <= last",
		       d->closed_first > d->closed_last ? d->closed_first
							: d->open_first,
		       d->closed_first > d->closed_last ? d->closed_last
							: d->open_last);
		goto bad;
	}
	/* Fail-open is a property of the queue, set when it is bound. */
	if (d->closed_first <= d->open_last && d->open_first <= d->closed_last) {
		seterr(err, errlen, "fail-closed queues %u-%u overlap fail-open "
		       "queues %u-%u", d->closed_first, d->closed_last,
		       d->open_first, d->open_last);
		goto bad;
	}
	/* A zero value would reject every unmarked SYN. */
	if (!d->reject_mark || (d->reject_mark & ~d->reject_mask)) {
		seterr(err, errlen, "reject mark 0x%x/0x%x: expected a non-zero "
		       "value within the mask", d->reject_mark, d->reject_mask);
		goto bad;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* The ports of one failure class, sep between them, from index *i on, at
 * most max of them; returns how many were written. */
static size_t port_list(struct out *o, const struct rules_desc *d,
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

static size_t port_count(const struct rules_desc *d, bool closed)
{
	size_t i, n = 0;

	for (i = 0; i < d->nports; i++)
		n += d->ports[i].fail_closed == closed;
	return n;
}

static void ipt_dispatch(struct out *o, const struct rules_desc *d,
			 bool closed)
{
	const char *c = chain_of(d), *sub = closed ? "CLOSED" : "OPEN";
	size_t total = port_count(d, closed), i = 0, done = 0, n;

	while (done < total) {
		n = total - done < MULTIPORT_MAX ? total - done : MULTIPORT_MAX;
		outf(o, "-A %s " SYN_IPT " %s", c,
		     n == 1 ? "--dport " : "-m multiport --dports ");
		done += port_list(o, d, closed, &i, MULTIPORT_MAX, ",");
		outf(o, " -j %s-%s\n", c, sub);
	}
}

static void ipt_queue(struct out *o, const struct rules_desc *d, bool closed,
		      int family)
{
	const char *const *p = family == AF_INET ? d->v4 : d->v6;
	size_t i, n = family == AF_INET ? d->nv4 : d->nv6;
	unsigned first = closed ? d->closed_first : d->open_first;
	unsigned last = closed ? d->closed_last : d->open_last;
	char canon[INET6_ADDRSTRLEN + 5];

	for (i = 0; i < n; i++) {
		prefix_canon(p[i], family, canon, sizeof(canon));
		outf(o, "-A %s-%s -s %s -j NFQUEUE ", chain_of(d),
		     closed ? "CLOSED" : "OPEN", canon);
		if (first == last)
			outf(o, "--queue-num %u", first);
		else
			outf(o, "--queue-balance %u:%u --queue-cpu-fanout",
			     first, last);
		outf(o, "%s\n", closed ? "" : " --queue-bypass");
	}
}

/* The chain declarations: each creates the chain or flushes it. */
static void ipt_chains(struct out *o, const struct rules_desc *d)
{
	const char *c = chain_of(d);

	outf(o, ":%s - [0:0]\n:%s-CLOSED - [0:0]\n:%s-OPEN - [0:0]\n",
	     c, c, c);
}

static void ipt_rules(struct out *o, const struct rules_desc *d, int family)
{
	const char *const *relays = family == AF_INET ? d->relays4 : d->relays6;
	size_t nrelays = family == AF_INET ? d->nrelays4 : d->nrelays6;
	char canon[INET6_ADDRSTRLEN + 5];

	outf(o, "-A %s -p tcp -m mark --mark 0x%x/0x%x -j REJECT "
	     "--reject-with tcp-reset\n", chain_of(d), d->reject_mark,
	     d->reject_mask);
	for (size_t i = 0; i < nrelays; i++) {
		prefix_canon(relays[i], family, canon, sizeof(canon));
		outf(o, "-A %s -d %s -j RETURN\n", chain_of(d), canon);
	}
	ipt_dispatch(o, d, true);
	ipt_dispatch(o, d, false);
	if (d->all_ports)
		outf(o, "-A %s " SYN_IPT " -j %s-CLOSED\n", chain_of(d),
		     chain_of(d));
	ipt_queue(o, d, true, family);
	ipt_queue(o, d, false, family);
}

static int finish(struct out *o)
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

static int ipt_write(struct out *o, const struct rules_desc *d, int family,
		     char *err, size_t errlen)
{
	if (family != AF_INET && family != AF_INET6) {
		seterr(err, errlen, "family %d: expected AF_INET or AF_INET6",
		       family);
		errno = EINVAL;
		return -1;
	}
	if (rules_check(d, err, errlen) < 0)
		return -1;
	outf(o, "# portcullis ruleset for %s-restore --noflush; the daemon "
	     "hooks it with\n# -I FORWARD 1 " SYN_IPT " -j %s\n*filter\n",
	     family == AF_INET ? "iptables" : "ip6tables", chain_of(d));
	ipt_chains(o, d);
	ipt_rules(o, d, family);
	outf(o, "COMMIT\n");
	return finish(o);
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

static void nft_set(struct out *o, const char *name, const char *type,
		    const char *const *p, size_t n, int family)
{
	char canon[INET6_ADDRSTRLEN + 5];
	size_t i;

	outf(o, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n"
	     "\t\tauto-merge\n", name, type);
	for (i = 0; i < n; i++) {
		prefix_canon(p[i], family, canon, sizeof(canon));
		outf(o, "%s%s", i ? ",\n\t\t\t" : "\t\telements = { ",
		     canon);
	}
	outf(o, "%s\t}\n", n ? " }\n" : "");
}

static void nft_ports(struct out *o, const struct rules_desc *d, bool closed)
{
	size_t i = 0;

	outf(o, "\tset ports_%s {\n\t\ttype inet_service\n",
	     closed ? "closed" : "open");
	if (port_count(d, closed)) {
		outf(o, "\t\telements = { ");
		port_list(o, d, closed, &i, d->nports, ", ");
		outf(o, " }\n");
	}
	outf(o, "\t}\n");
}

/* The queue rules of one failure class; any: every port, not the set. */
static void nft_queue(struct out *o, const struct rules_desc *d, bool closed,
		      bool any)
{
	unsigned first = closed ? d->closed_first : d->open_first;
	unsigned last = closed ? d->closed_last : d->open_last;
	static const struct {
		const char *match;
		int family;
	} fam[] = { { "ip saddr @subscribers4", AF_INET },
		    { "ip6 saddr @subscribers6", AF_INET6 } };
	size_t f;

	if (!any && !port_count(d, closed))
		return;
	for (f = 0; f < 2; f++) {
		if (!(fam[f].family == AF_INET ? d->nv4 : d->nv6))
			continue;
		if (any)
			outf(o, "\t\t" SYN_NFT " %s queue ", fam[f].match);
		else
			outf(o, "\t\t" SYN_NFT " tcp dport @ports_%s %s queue ",
			     closed ? "closed" : "open", fam[f].match);
		if (first == last)
			outf(o, "%snum %u\n", closed ? "" : "flags bypass ",
			     first);
		else
			outf(o, "flags %sfanout num %u-%u\n",
			     closed ? "" : "bypass,", first, last);
	}
}

static int nft_write(struct out *o, const struct rules_desc *d,
		     char *err, size_t errlen)
{
	if (rules_check(d, err, errlen) < 0)
		return -1;
	outf(o, "# portcullis ruleset for nft -f: replaces table inet "
	     RULES_NFT_TABLE " whole\n"
	     "table inet " RULES_NFT_TABLE "\n"
	     "delete table inet " RULES_NFT_TABLE "\n"
	     "table inet " RULES_NFT_TABLE " {\n");
	nft_set(o, "subscribers4", "ipv4_addr", d->v4, d->nv4, AF_INET);
	nft_set(o, "subscribers6", "ipv6_addr", d->v6, d->nv6, AF_INET6);
	if (d->nrelays4)
		nft_set(o, "relays4", "ipv4_addr", d->relays4, d->nrelays4,
			AF_INET);
	if (d->nrelays6)
		nft_set(o, "relays6", "ipv6_addr", d->relays6, d->nrelays6,
			AF_INET6);
	nft_ports(o, d, true);
	nft_ports(o, d, false);
	outf(o, "\tchain %s {\n\t\ttype filter hook forward priority filter; "
	     "policy accept;\n\t\tmeta l4proto tcp meta mark ", chain_of(d));
	if (d->reject_mask == 0xffffffff)
		outf(o, "0x%08x", d->reject_mark);
	else
		outf(o, "& 0x%08x == 0x%08x", d->reject_mask, d->reject_mark);
	outf(o, " reject with tcp reset\n");
	if (d->nrelays4)
		outf(o, "\t\tip daddr @relays4 return\n");
	if (d->nrelays6)
		outf(o, "\t\tip6 daddr @relays6 return\n");
	nft_queue(o, d, true, false);
	nft_queue(o, d, false, false);
	if (d->all_ports)
		nft_queue(o, d, true, true);
	outf(o, "\t}\n}\n");
	return finish(o);
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

/* --- running the tools ------------------------------------------------ */

static int memfd_with(const char *name, const char *data, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	ssize_t n;
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The whole content of fd, NUL-terminated, or NULL. Caller frees. */
static char *slurp(int fd)
{
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf;
	ssize_t n;
	size_t off = 0;

	if (size < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return NULL;
	buf = malloc((size_t)size + 1);
	if (!buf)
		return NULL;
	while (off < (size_t)size) {
		n = read(fd, buf + off, (size_t)size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	return buf;
}

/*
 * Run argv (searched in PATH) with in as standard input; no shell. With
 * out, its standard output is returned there (caller frees). Standard
 * input, output and error are memfds, so neither side can block on a
 * pipe nor get SIGPIPE. Returns 0 if it exited 0, else -1 with errno
 * and "argv[0]: its standard error" in err.
 */
static int run(char *const argv[], const char *in, size_t inlen, char **out,
	       char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	int ifd, ofd = -1, efd = -1, status, rc, ret = -1;
	char *msg = NULL, *p;
	pid_t pid;

	if (out)
		*out = NULL;
	ifd = memfd_with("portcullis-in", in ? in : "", in ? inlen : 0);
	if (ifd >= 0)
		ofd = memfd_create("portcullis-out", MFD_CLOEXEC);
	if (ofd >= 0)
		efd = memfd_create("portcullis-err", MFD_CLOEXEC);
	if (efd < 0) {
		seterr(err, errlen, "%s: %s", argv[0], strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, ifd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, ofd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, efd, STDERR_FILENO);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc) {
		errno = rc;
		seterr(err, errlen, "%s: %s", argv[0], strerror(rc));
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			seterr(err, errlen, "%s: wait: %s", argv[0],
			       strerror(errno));
			goto out;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out && !(*out = slurp(ofd))) {
			seterr(err, errlen, "%s: reading its output: %s",
			       argv[0], strerror(errno ? errno : EIO));
			goto out;
		}
		ret = 0;
		goto out;
	}
	msg = slurp(efd);
	if (msg) {
		/* One line for a log: newlines become "; ". */
		for (p = msg + strlen(msg); p > msg && p[-1] == '\n'; p--)
			p[-1] = '\0';
		for (p = msg; *p; p++)
			if (*p == '\n')
				*p = ';';
	}
	if (WIFEXITED(status))
		seterr(err, errlen, "%s failed (exit %d): %s", argv[0],
		       WEXITSTATUS(status), msg && *msg ? msg : "no message");
	else
		seterr(err, errlen, "%s killed by signal %d", argv[0],
		       WTERMSIG(status));
	errno = EPROTO;
out:
	rc = errno;
	free(msg);
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	errno = rc;
	return ret;
}

/* What an earlier install left in the filter table of one family. */
struct ipt_state {
	char *save;		/* iptables -S output; the lines point in */
	const char *jumps[16];	/* "-A FORWARD ... -j C" lines */
	size_t njumps;
	bool chain[3];		/* C, C-CLOSED, C-OPEN exist */
};

static const char *const suffix[3] = { "", "-CLOSED", "-OPEN" };

static int ipt_state_read(struct ipt_state *st, const char *chain,
			  int family, char *err, size_t errlen)
{
	char *argv[] = { family == AF_INET ? "iptables" : "ip6tables",
			 WAIT_ARG, "-t", "filter", "-S", NULL };
	char name[64], jump[80], *line, *next;
	size_t i, n, jl;

	memset(st, 0, sizeof(*st));
	if (run(argv, NULL, 0, &st->save, err, errlen) < 0)
		return -1;
	jl = (size_t)snprintf(jump, sizeof(jump), " -j %s", chain);
	for (line = st->save; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		n = strlen(line);
		if (strncmp(line, "-A FORWARD ", 11) == 0 && n > jl &&
		    strcmp(line + n - jl, jump) == 0) {
			if (st->njumps == sizeof(st->jumps) /
					  sizeof(st->jumps[0])) {
				seterr(err, errlen, "FORWARD jumps to %s more "
				       "than %zu times: remove them by hand",
				       chain, st->njumps);
				errno = EEXIST;
				return -1;
			}
			st->jumps[st->njumps++] = line;
			continue;
		}
		if (strncmp(line, "-N ", 3) != 0)
			continue;
		for (i = 0; i < 3; i++) {
			snprintf(name, sizeof(name), "%s%s", chain, suffix[i]);
			if (strcmp(line + 3, name) == 0)
				st->chain[i] = true;
		}
	}
	return 0;
}

static int ipt_restore(int family, const char *text, size_t len,
		       char *err, size_t errlen)
{
	char *argv[] = { family == AF_INET ? "iptables-restore"
					   : "ip6tables-restore",
			 "--noflush", WAIT_ARG, NULL };

	return run(argv, text, len, NULL, err, errlen);
}

/* Build text with o into a malloc'd string (open_memstream). */
struct text {
	char *s;
	size_t len;
	FILE *f;
};

static int text_open(struct text *t, struct out *o)
{
	memset(t, 0, sizeof(*t));
	t->f = open_memstream(&t->s, &t->len);
	memset(o, 0, sizeof(*o));
	o->f = t->f;
	return t->f ? 0 : -1;
}

static int text_close(struct text *t, struct out *o)
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

static int ipt_install(const struct rules_desc *d, int family,
		       char *err, size_t errlen)
{
	struct ipt_state st;
	struct text t = { 0 };
	struct out o;
	size_t i;
	int ret = -1;

	if (ipt_state_read(&st, chain_of(d), family, err, errlen) < 0)
		goto out;
	if (text_open(&t, &o) < 0) {
		seterr(err, errlen, "ruleset text: %s", strerror(errno));
		goto out;
	}
	/* One transaction: declaring a chain creates or flushes it, stale
	 * jumps go, ours comes back first in FORWARD. */
	outf(&o, "*filter\n");
	ipt_chains(&o, d);
	for (i = 0; i < st.njumps; i++)
		outf(&o, "-D%s\n", st.jumps[i] + 2);
	ipt_rules(&o, d, family);
	outf(&o, "-I FORWARD 1 " SYN_IPT " -j %s\nCOMMIT\n", chain_of(d));
	if (text_close(&t, &o) < 0) {
		seterr(err, errlen, "ruleset text: %s", strerror(errno));
		goto out;
	}
	ret = ipt_restore(family, t.s, t.len, err, errlen);
out:
	if (t.f)
		fclose(t.f);
	free(t.s);
	free(st.save);
	return ret;
}

static int ipt_remove(const char *chain, int family, char *err,
		      size_t errlen)
{
	struct ipt_state st;
	struct text t = { 0 };
	struct out o;
	size_t i;
	int ret = -1;

	if (ipt_state_read(&st, chain, family, err, errlen) < 0)
		goto out;
	if (!st.njumps && !st.chain[0] && !st.chain[1] && !st.chain[2]) {
		ret = 0;
		goto out;
	}
	if (text_open(&t, &o) < 0) {
		seterr(err, errlen, "ruleset text: %s", strerror(errno));
		goto out;
	}
	outf(&o, "*filter\n");
	for (i = 0; i < st.njumps; i++)
		outf(&o, "-D%s\n", st.jumps[i] + 2);
	/* Flush all first: the main chain jumps to the others. */
	for (i = 0; i < 3; i++)
		if (st.chain[i])
			outf(&o, "-F %s%s\n", chain, suffix[i]);
	for (i = 0; i < 3; i++)
		if (st.chain[i])
			outf(&o, "-X %s%s\n", chain, suffix[i]);
	outf(&o, "COMMIT\n");
	if (text_close(&t, &o) < 0) {
		seterr(err, errlen, "ruleset text: %s", strerror(errno));
		goto out;
	}
	ret = ipt_restore(family, t.s, t.len, err, errlen);
out:
	if (t.f)
		fclose(t.f);
	free(t.s);
	free(st.save);
	return ret;
}

static int nft_run(const char *script, size_t len, char *err, size_t errlen)
{
	char *argv[] = { "nft", "-f", "-", NULL };

	return run(argv, script, len, NULL, err, errlen);
}

int rules_install(const struct rules_desc *d, enum rules_backend backend,
		  char *err, size_t errlen)
{
	struct text t = { 0 };
	struct out o;
	int ret = -1;

	if (errlen)
		err[0] = '\0';
	if (rules_check(d, err, errlen) < 0)
		return -1;
	switch (backend) {
	case RULES_IPTABLES:
		if (ipt_install(d, AF_INET, err, errlen) < 0 ||
		    ipt_install(d, AF_INET6, err, errlen) < 0)
			return -1;
		return 0;
	case RULES_NFT:
		if (text_open(&t, &o) < 0) {
			seterr(err, errlen, "ruleset text: %s",
			       strerror(errno));
			return -1;
		}
		if (nft_write(&o, d, err, errlen) < 0 ||
		    text_close(&t, &o) < 0) {
			seterr(err, errlen, "ruleset text: %s",
			       strerror(errno));
			goto out;
		}
		ret = nft_run(t.s, t.len, err, errlen);
		goto out;
	}
	errno = EINVAL;
	seterr(err, errlen, "backend %d: expected iptables or nft", backend);
	return -1;
out:
	if (t.f)
		fclose(t.f);
	free(t.s);
	return ret;
}

int rules_remove(const char *chain, enum rules_backend backend,
		 char *err, size_t errlen)
{
	static const char nft_del[] = "table inet " RULES_NFT_TABLE "\n"
				      "delete table inet " RULES_NFT_TABLE "\n";
	char err6[256];
	int ret, saved;

	if (errlen)
		err[0] = '\0';
	if (!chain)
		chain = RULES_CHAIN_DEFAULT;
	if (check_chain(chain, err, errlen) < 0) {
		errno = EINVAL;
		return -1;
	}
	switch (backend) {
	case RULES_IPTABLES:
		/* Both families, whatever the first said. */
		ret = ipt_remove(chain, AF_INET, err, errlen);
		saved = errno;
		if (ipt_remove(chain, AF_INET6, err6, sizeof(err6)) < 0) {
			if (ret == 0) {
				seterr(err, errlen, "%s", err6);
				saved = errno;
			}
			ret = -1;
		}
		errno = saved;
		return ret;
	case RULES_NFT:
		return nft_run(nft_del, sizeof(nft_del) - 1, err, errlen);
	}
	errno = EINVAL;
	seterr(err, errlen, "backend %d: expected iptables or nft", backend);
	return -1;
}
