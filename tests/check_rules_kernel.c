// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules in the kernel, through its public API: installing over
 * what an earlier run left, the fallback and its counters, the checks
 * that find what was taken away, the quarantine sets, removal, and what
 * nft makes of its text. Every test that touches the kernel runs in a
 * private network namespace (unshare(2) in Check's forked child), and is
 * skipped with a message without root or with CK_FORK=no. The tools are
 * used here only to look (and to break things on purpose).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "netlink/rules.h"
#include "netlink/rules_kern.h"	/* rules_kq_note: no nft queue here */
#include "tests/helpers.h"
#include "tests/rules_sample.h"

Suite *rules_kernel_suite(void);

/* Timeouts count from now: the kernel's clock is the real one. */
static struct rules_desc sample(void)
{
	return rules_sample(time(NULL));
}

/* A private network namespace for this test, or false: skip it. */
static bool private_netns(void)
{
	const char *fork = getenv("CK_FORK");

	if (fork && !strcmp(fork, "no")) {
		fprintf(stderr, "check_rules_kernel: skipped with CK_FORK=no: "
			"unshare would move the whole run out of the host's "
			"network namespace\n");
		return false;
	}
	return tests_netns("check_rules_kernel");
}

/* Run cmd with stdin from text (NULL: nothing); its exit status, and
 * its output and errors in *out (malloc'd) if out. */
static int pipe_through(const char *cmd, const char *text, char **out)
{
	char path[] = "/tmp/check_rules_kernel.XXXXXX", buf[4096], *line;
	size_t tl = text ? strlen(text) : 0, len = 0;
	int fd = mkstemp(path), st;
	FILE *p, *m = NULL;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text ? text : "", tl), (ssize_t)tl);
	close(fd);
	ck_assert_int_ge(asprintf(&line, "(%s) < %s 2>&1", cmd, path), 0);
	p = popen(line, "r");
	free(line);
	ck_assert_ptr_nonnull(p);
	if (out) {
		m = open_memstream(out, &len);
		ck_assert_ptr_nonnull(m);
	}
	while (fgets(buf, sizeof(buf), p))
		if (m)
			fputs(buf, m);
	st = pclose(p);
	unlink(path);
	if (m)
		fclose(m);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* What a shell command prints (errors too); the caller frees it. */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
	char *cmd, *out;
	va_list ap;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	pipe_through(cmd, NULL, &out);
	free(cmd);
	return out;
}

/* Run a shell command that must succeed. */
static void sh_ok(const char *cmd)
{
	char *out;

	ck_assert_msg(pipe_through(cmd, NULL, &out) == 0, "%s: %s", cmd, out);
	free(out);
}

/*
 * The elements of ipset set name, -1 when there is none. A canary the
 * install may put in each set to see that it was not emptied
 * (255.255.255.255, ff00::: no packet's source) is not counted.
 */
static long members(const char *name)
{
	char *out = sh_out("ipset list %s", name);
	char *p = strstr(out, "\nMembers:\n");
	long n = 0;

	if (!p) {
		free(out);
		return -1;
	}
	for (p += 10; *p && *p != '\n';) {
		n += strncmp(p, "255.255.255.255 ", 16) &&
		     strncmp(p, "255.255.255.255,tcp:1 ", 22) &&
		     strncmp(p, "ff00:: ", 7) && strncmp(p, "ff00::,tcp:1 ", 13);
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	free(out);
	return n;
}

/* The timeout left to elem in ipset set name, -1 when it is not in. */
static long elem_timeout(const char *name, const char *elem)
{
	char *out = sh_out("ipset list %s", name), want[128];
	const char *e;
	long v = -1;

	snprintf(want, sizeof(want), "\n%s timeout ", elem);
	e = strstr(out, want);
	if (e)
		v = strtol(e + strlen(want), NULL, 10);
	free(out);
	return v;
}

static struct rules_kernel *kernel_new(enum rules_backend b)
{
	struct rules_kernel *k = rules_kernel_new(NULL, b);

	ck_assert_ptr_nonnull(k);
	return k;
}

static void install_ok(struct rules_kernel *k, const struct rules_desc *d)
{
	char err[512];

	ck_assert_msg(rules_install(k, d, err, sizeof(err)) == 0, "%s", err);
}

static void remove_ok(void)
{
	char err[512];

	ck_assert_msg(rules_remove(NULL, RULES_IPTABLES, err, sizeof(err)) == 0,
		      "%s", err);
}

/* rules_verify as of now; the answer must be the same with and without
 * the generation gate. */
static int verify_both(struct rules_kernel *k, char *what, size_t len)
{
	int full = rules_verify(k, true, time(NULL), what, len);
	int gated = rules_verify(k, false, time(NULL), what, len);

	ck_assert_msg(full == gated, "full %d, gated %d: %s", full, gated,
		      what);
	return full;
}

/* Nothing missing, right after an install, with or without the gate. */
static void intact(struct rules_kernel *k)
{
	char what[512];

	ck_assert_msg(rules_verify(k, false, time(NULL), what,
				   sizeof(what)) == 0, "%s", what);
	ck_assert_msg(rules_verify(k, true, time(NULL), what,
				   sizeof(what)) == 0, "%s", what);
	ck_assert_msg(rules_verify(k, false, time(NULL), what,
				   sizeof(what)) == 0, "%s", what);
}

/* Verify finds what was broken (what names want), and an install puts
 * it back. */
static void found_and_put_back(struct rules_kernel *k,
			       const struct rules_desc *d, const char *want)
{
	char what[512];

	ck_assert_int_eq(verify_both(k, what, sizeof(what)), 1);
	ck_assert_msg(strstr(what, want) != NULL, "\"%s\" not in \"%s\"",
		      want, what);
	install_ok(k, d);
	intact(k);
}

static const struct rules_elem quarantined[] = {
	{ { 100, 64, 1, 1 }, 32, false, 600 },
	{ { 100, 64, 1, 2 }, 32, false, 1200 },
	{ { 0x20, 0x01, 0x0d, 0xb8, 0x10, 0, 0, 1 }, 64, true, 900 },
};

/* The timeout the kernel holds for elem is at most want, and near it. */
static void timeout_near(const char *set, const char *elem, long want)
{
	long t = elem_timeout(set, elem);

	ck_assert_msg(t <= want && t >= want - 5, "%s in %s: timeout %ld, "
		      "%ld expected", elem, set, t, want);
}

static void sync_ok(struct rules_kernel *k, const struct rules_elem *q,
		    size_t n, int64_t now)
{
	char err[512];

	ck_assert_msg(rules_quarantine_sync(k, q, n, now, err,
					    sizeof(err)) == 0, "%s", err);
}

/* --- install and remove --------------------------------------------- */

static const char *const sample_sets[] = {
	"PORTCULLIS-q4", "PORTCULLIS-q6", "PORTCULLIS-4-0-0",
	"PORTCULLIS-4-1-1", "PORTCULLIS-6-0-0",
};
static const long sample_set_entries[] = { 0, 0, 2, 1, 1 };
#define NSAMPLE_SETS (sizeof(sample_sets) / sizeof(sample_sets[0]))

/* Exactly the sample's sets, with their entries. */
static void sample_sets_are_in(void)
{
	char *names = sh_out("ipset list -n");

	for (size_t i = 0; i < NSAMPLE_SETS; i++)
		ck_assert_msg(members(sample_sets[i]) ==
			      sample_set_entries[i], "%s: %ld entries",
			      sample_sets[i], members(sample_sets[i]));
	ck_assert_msg(tests_count(names, "PORTCULLIS") ==
		      NSAMPLE_SETS, "%s", names);
	free(names);
}

/* Nothing named PORTCULLIS in either family's rules nor in the sets. */
static void nothing_of_ours_left(void)
{
	char *out = sh_out("iptables -S; ip6tables -S; ipset list -n");

	ck_assert_msg(strstr(out, "PORTCULLIS") == NULL, "%s", out);
	free(out);
}

START_TEST(test_install_twice_leaves_one_jump_each_and_remove_cleans_up)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char *out;

	if (!private_netns())
		return;
	sh_ok("iptables -A FORWARD -p udp -j ACCEPT && iptables -N OTHER && "
	      "iptables -A OTHER -j RETURN && "
	      "ip6tables -A FORWARD -p udp -j ACCEPT");
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	install_ok(k, &d);
	for (int f = 0; f < 2; f++) {
		const char *udp;

		out = sh_out("%s -S", f ? "ip6tables" : "iptables");
		ck_assert_uint_eq(tests_count(out, " -j PORTCULLIS\n"), 1);
		ck_assert_uint_eq(tests_count(out, " -j PORTCULLIS-FRAG\n"), 1);
		/* Ours come first; the operator's rule stays, after. */
		udp = strstr(out, "-A FORWARD -p udp -j ACCEPT\n");
		ck_assert_ptr_nonnull(udp);
		ck_assert(strstr(out, " -j PORTCULLIS\n") < udp);
		ck_assert(strstr(out, " -j PORTCULLIS-FRAG\n") < udp);
		free(out);
	}
	sample_sets_are_in();
	intact(k);

	remove_ok();
	nothing_of_ours_left();
	out = sh_out("iptables -S");
	ck_assert_str_eq(out, "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n"
			 "-P OUTPUT ACCEPT\n-N OTHER\n"
			 "-A FORWARD -p udp -j ACCEPT\n-A OTHER -j RETURN\n");
	free(out);
	out = sh_out("ip6tables -S");
	ck_assert_ptr_nonnull(strstr(out, "-A FORWARD -p udp -j ACCEPT\n"));
	free(out);
	/* Nothing left to remove is no error. */
	remove_ok();
	rules_kernel_free(k);
}
END_TEST

/* Our rules and sets as the kernel lists them. */
static char *ours_listed(void)
{
	return sh_out("iptables -S; ip6tables -S; ipset list -n | sort");
}

START_TEST(test_install_replaces_a_stale_ruleset)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char *out, *fresh;

	if (!private_netns())
		return;
	/* What a crashed older run might have left: jumps of other shapes,
	 * junk in the chains, a chain and sets this policy has not, a half
	 * made swap set. */
	sh_ok("ipset create PORTCULLIS-4-3-9 hash:net && "
	      "ipset add PORTCULLIS-4-3-9 10.0.0.0/8 && "
	      "ipset create PORTCULLIS-4-0-0-T hash:net && "
	      "ipset create PORTCULLIS-6-2-1-T hash:net family inet6 && "
	      "iptables -N PORTCULLIS && iptables -N PORTCULLIS-P7 && "
	      "iptables -N PORTCULLIS-FRAG && iptables -N PORTCULLIS-FBC && "
	      "iptables -A PORTCULLIS -j DROP && "
	      "iptables -A PORTCULLIS -p udp -j PORTCULLIS-P7 && "
	      "iptables -A PORTCULLIS-P7 -j ACCEPT && "
	      "iptables -A PORTCULLIS-FBC -m set --match-set "
	      "PORTCULLIS-4-3-9 src -j PORTCULLIS-P7 && "
	      "iptables -A FORWARD -j PORTCULLIS && "
	      "iptables -A FORWARD -i lo -j PORTCULLIS && "
	      "iptables -A FORWARD -p tcp -j PORTCULLIS-FRAG && "
	      "ip6tables -N PORTCULLIS && ip6tables -A PORTCULLIS -j DROP && "
	      "ip6tables -A FORWARD -j PORTCULLIS && "
	      "ip6tables -A FORWARD -j PORTCULLIS");
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	for (int f = 0; f < 2; f++) {
		out = sh_out("%s -S", f ? "ip6tables" : "iptables");
		ck_assert_uint_eq(tests_count(out, " -j PORTCULLIS\n"), 1);
		ck_assert_uint_eq(tests_count(out, " -j PORTCULLIS-FRAG\n"), 1);
		ck_assert_msg(!strstr(out, "-A PORTCULLIS -j DROP") &&
			      !strstr(out, "-A PORTCULLIS -p udp") &&
			      !strstr(out, "-i lo") &&
			      !strstr(out, "PORTCULLIS-P7"), "%s", out);
		free(out);
	}
	sample_sets_are_in();
	intact(k);
	rules_kernel_free(k);

	/* The same as what a clean namespace gets. */
	out = ours_listed();
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	fresh = ours_listed();
	ck_assert_str_eq(out, fresh);
	free(out);
	free(fresh);
	rules_kernel_free(k);
}
END_TEST

/* The sample with its business /28 gone and deeper residential ones. */
static const struct rules_entry changed_entries[] = {
	{ { { 100, 64 }, 10, false, 0 }, 0, 0 },
	{ { { 198, 18 }, 15, false, 0 }, 0, 0 },
	{ { { 100, 64, 20, 0 }, 24, false, 0 }, 1, 0 },
	{ { { 100, 64, 20, 4 }, 30, false, 600 }, 2, 0 },
	{ { { 0x20, 0x01, 0x0d, 0xb8, 0x10 }, 36, true, 0 }, 0, 0 },
	{ { { 0x20, 0x01, 0x0d, 0xb8, 0x10, 0, 0, 5 }, 64, true, 900 }, 1, 0 },
};

START_TEST(test_reinstall_with_changed_entries_replaces_the_old_layers)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char *out;

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	d.entries = changed_entries;
	d.nentries = 6;
	install_ok(k, &d);
	out = sh_out("iptables -S; ipset list -n");
	ck_assert_msg(!strstr(out, "PORTCULLIS-4-1-1") &&
		      !strstr(out, "PORTCULLIS-P1"), "%s", out);
	/* Deepest first. */
	ck_assert_ptr_nonnull(strstr(out, "-A PORTCULLIS-FBC -m set "
		"--match-set PORTCULLIS-4-2-0 src -m comment --comment "
		"\"profile residential\" -j PORTCULLIS-P0\n-A PORTCULLIS-FBC "
		"-m set --match-set PORTCULLIS-4-1-0 src"));
	free(out);
	ck_assert_int_eq(members("PORTCULLIS-4-0-0"), 2);
	ck_assert_int_eq(members("PORTCULLIS-4-1-0"), 1);
	ck_assert_int_eq(members("PORTCULLIS-4-2-0"), 1);
	ck_assert_int_eq(members("PORTCULLIS-6-1-0"), 1);
	out = sh_out("ipset list PORTCULLIS-4-1-0; ipset list PORTCULLIS-4-2-0");
	ck_assert_msg(strstr(out, "\n100.64.20.0/24 timeout 0\n") &&
		      strstr(out, "\n100.64.20.4/30 timeout "), "%s", out);
	free(out);
	ck_assert_int_ge(elem_timeout("PORTCULLIS-6-1-0",
				      "2001:db8:1000:5::/64"), 890);
	intact(k);
	rules_kernel_free(k);
}
END_TEST

START_TEST(test_remove_refuses_a_chain_others_use)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char err[512];

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sh_ok("iptables -N OTHER && iptables -A OTHER -j PORTCULLIS");
	ck_assert_int_eq(rules_remove(NULL, RULES_IPTABLES, err, sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, "iptables-restore failed") != NULL, "%s",
		      err);
	/* The transaction failed whole: our jump and the sets its rules
	 * name are still there. */
	sh_ok("iptables -C FORWARD -p tcp --tcp-flags SYN,ACK SYN "
	      "-j PORTCULLIS");
	ck_assert_int_eq(members("PORTCULLIS-4-0-0"), 2);
	rules_kernel_free(k);
}
END_TEST

/* Another chain name is another ruleset: removing one leaves the other. */
START_TEST(test_two_chain_names_are_kept_apart)
{
	struct rules_desc d = sample(), e = sample();
	struct rules_kernel *k, *k2;
	char err[512], *out;

	if (!private_netns())
		return;
	e.chain = "PORTCULLIS_B";
	k = kernel_new(RULES_IPTABLES);
	k2 = rules_kernel_new("PORTCULLIS_B", RULES_IPTABLES);
	ck_assert_ptr_nonnull(k2);
	install_ok(k, &d);
	install_ok(k2, &e);
	install_ok(k, &d);
	intact(k);
	intact(k2);
	remove_ok();
	out = sh_out("iptables -S; ipset list -n");
	ck_assert_msg(!strstr(out, "PORTCULLIS-") &&
		      !strstr(out, "-j PORTCULLIS\n"), "%s", out);
	ck_assert_uint_eq(tests_count(out, " -j PORTCULLIS_B\n"), 1);
	free(out);
	ck_assert_int_eq(members("PORTCULLIS_B-4-0-0"), 2);
	intact(k2);
	ck_assert_msg(rules_remove("PORTCULLIS_B", RULES_IPTABLES, err,
				   sizeof(err)) == 0, "%s", err);
	out = sh_out("iptables -S; ip6tables -S; ipset list -n");
	ck_assert_msg(!strstr(out, "PORTCULLIS"), "%s", out);
	free(out);
	rules_kernel_free(k);
	rules_kernel_free(k2);
}
END_TEST

/* hash:net takes no /0: the install puts both halves in. */
START_TEST(test_zero_prefix_entry_installs_as_two_halves)
{
	static const char *const any4[] = { "0.0.0.0/0" };
	static const struct rules_entry all[] = {
		{ { { 0 }, 0, false, 0 }, 0, 0 },
		{ { { 0x20, 0x01, 0x0d, 0xb8, 0x10 }, 36, true, 0 }, 0, 0 },
	};
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char *out;

	if (!private_netns())
		return;
	d.v4 = any4;
	d.nv4 = 1;
	d.entries = all;
	d.nentries = 2;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	ck_assert_int_eq(members("PORTCULLIS-4-0-0"), 2);
	out = sh_out("ipset list PORTCULLIS-4-0-0");
	ck_assert_msg(strstr(out, "\n0.0.0.0/1 timeout 0\n") &&
		      strstr(out, "\n128.0.0.0/1 timeout 0\n"), "%s", out);
	free(out);
	intact(k);
	rules_kernel_free(k);
}
END_TEST

START_TEST(test_missing_tool_is_reported)
{
	static const char *const tools[] = { "ipset", "iptables", "ip6tables" };
	struct rules_desc d = sample();
	struct rules_kernel *k = kernel_new(RULES_IPTABLES);
	char err[512], *saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	bool named = false;
	int ret, e;

	setenv("PATH", "/nonexistent", 1);
	ret = rules_install(k, &d, err, sizeof(err));
	e = errno;
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
	ck_assert_int_eq(ret, -1);
	ck_assert_int_eq(e, ENOENT);
	for (size_t i = 0; i < 3 && !named; i++) {
		char missing[64];

		snprintf(missing, sizeof(missing),
			 "%s: not found in PATH (/nonexistent)", tools[i]);
		named = !strcmp(err, missing);
	}
	ck_assert_msg(named, "errno %d: %s", e, err);

	/* Empty PATH entries are not the current folder: tools of those
	 * names there are not run. */
	{
		char dir[] = "/tmp/portcullis-path-XXXXXX", tool[64];
		int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		ck_assert_int_ge(here, 0);
		ck_assert_ptr_nonnull(mkdtemp(dir));
		for (size_t i = 0; i < 3; i++) {
			FILE *f;

			snprintf(tool, sizeof(tool), "%s/%s", dir, tools[i]);
			f = fopen(tool, "w");
			ck_assert_ptr_nonnull(f);
			fputs("#!/bin/sh\nexit 0\n", f);
			fclose(f);
			ck_assert_int_eq(chmod(tool, 0755), 0);
		}
		ck_assert_int_eq(chdir(dir), 0);
		saved = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
		setenv("PATH", ":/nonexistent::", 1);
		ret = rules_install(k, &d, err, sizeof(err));
		e = errno;
		if (saved)
			setenv("PATH", saved, 1);
		free(saved);
		ck_assert_int_eq(fchdir(here), 0);
		close(here);
		for (size_t i = 0; i < 3; i++) {
			snprintf(tool, sizeof(tool), "%s/%s", dir, tools[i]);
			unlink(tool);
		}
		rmdir(dir);
		ck_assert_int_eq(ret, -1);
		ck_assert_int_eq(e, ENOENT);
		ck_assert_msg(strstr(err, ": not found in PATH "
				     "(:/nonexistent::)"), "%s", err);
	}
	rules_kernel_free(k);
}
END_TEST

/* --- the fallback ---------------------------------------------------- */

#define SINCE	1700000123

START_TEST(test_fallback_replaces_the_queue_dispatch_in_both_families)
{
	struct rules_desc d = sample();
	struct rules_fallback_counts c;
	struct rules_kernel *k;
	char err[512], *out;

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	/* Nothing installed is no error. */
	ck_assert_msg(rules_fallback_read(k, &c, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(!c.active);
	install_ok(k, &d);
	ck_assert_int_eq(rules_fallback_read(k, &c, err, sizeof(err)), 0);
	ck_assert(!c.active);
	ck_assert_msg(rules_to_fallback(k, &d, SINCE, err, sizeof(err)) == 0,
		      "%s", err);
	for (int f = 0; f < 2; f++) {
		static const char fb[] = "\n-A PORTCULLIS -m comment "
			"--comment \"portcullis fallback since 1700000123\" "
			"-j PORTCULLIS-FB\n";
		const char *last;

		out = sh_out("%s -S PORTCULLIS", f ? "ip6tables" : "iptables");
		last = strstr(out, fb);
		/* Its last rule. */
		ck_assert_msg(last && !strcmp(last, fb), "%s", out);
		ck_assert_msg(!strstr(out, "-j PORTCULLIS-CLOSED") &&
			      !strstr(out, "-j PORTCULLIS-OPEN"), "%s", out);
		ck_assert_ptr_nonnull(strstr(out, "--mark 0x100/0x100 -j "
					     "REJECT"));
		free(out);
	}
	ck_assert_msg(rules_fallback_read(k, &c, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(c.active);
	ck_assert_int_eq(c.since, SINCE);
	ck_assert_uint_eq(c.accepted + c.dropped + c.rejected, 0);
	rules_kernel_free(k);
}
END_TEST

/* Give rule n of chain pk packets (tool: iptables), its spec as listed. */
static void set_counter(const char *chain, int n, unsigned pk)
{
	char *out = sh_out("iptables -S %s", chain), *line = out, *nl, *cmd;
	char head[64];
	int i = 0;

	snprintf(head, sizeof(head), "-A %s ", chain);
	for (; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(line, head, strlen(head)) && ++i == n)
			break;
	}
	ck_assert_msg(i == n, "iptables %s has no rule %d", chain, n);
	ck_assert_int_ge(asprintf(&cmd, "iptables -R %s %d -c %u %u %s", chain,
				  n, pk, pk * 60, line + strlen(head)), 0);
	sh_ok(cmd);
	free(cmd);
	free(out);
}

/*
 * ip6tables (1.8.9, nf_tables) ignores -c, in -R, -A and restore alike.
 * nft can set a counter, and iptables-nft still reads back a rule that is
 * only a counter and a verdict: chain's "-j ACCEPT" gets pk packets.
 */
static void set_counter6_accept(const char *chain, unsigned pk)
{
	char *out = sh_out("nft -a list chain ip6 filter %s", chain), *cmd;
	const char *h = strstr(out, "\tcounter packets 0 bytes 0 accept "
			       "# handle ");

	ck_assert_msg(h != NULL, "%s", out);
	ck_assert_int_ge(asprintf(&cmd, "nft replace rule ip6 filter %s handle "
				  "%ld counter packets %u bytes %u accept",
				  chain, strtol(strstr(h, "handle ") + 7, NULL,
						10), pk, pk * 60), 0);
	sh_ok(cmd);
	free(cmd);
	free(out);
	out = sh_out("ip6tables-save -c -t filter");
	ck_assert_msg(strstr(out, "-A PORTCULLIS-P0 -j ACCEPT"), "%s", out);
	free(out);
}

#define CLIENT_DST	"2001:db8:ffff::25"
#define CLIENT_NET	"ip link set lo up && ip link set pc up && " \
	"ip -6 addr add 2001:db8:1000::2/64 dev pc nodad && " \
	"ip -6 addr add 2001:db8:1000:1::2/64 dev pc nodad && " \
	"ip -6 route add default via 2001:db8:1000::1"
#define ROUTER_NET	"ip -6 addr add 2001:db8:1000::1/64 dev pn nodad && " \
	"ip link set pn up && ip -6 route add 2001:db8:ffff::/48 dev pn && " \
	"sysctl -qw net.ipv6.conf.all.forwarding=1"

/* One SYN from src to [dst]:port, and what connect made of it within
 * wait_ms (ECONNREFUSED: a reset; 0: no answer; -1: no SYN). The wait
 * ends before the first retransmission (1 s). */
static int one_syn(const char *src, const char *dst, int port, int wait_ms)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 }, b = a;
	int s = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0), e = -1;
	socklen_t l = sizeof(e);
	struct pollfd p = { .fd = s, .events = POLLOUT };

	inet_pton(AF_INET6, src, &a.sin6_addr);
	inet_pton(AF_INET6, dst, &b.sin6_addr);
	b.sin6_port = htons((uint16_t)port);
	if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    connect(s, (struct sockaddr *)&b, sizeof(b)) < 0 &&
	    errno == EINPROGRESS) {
		poll(&p, 1, wait_ms);
		getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l);
	}
	if (s >= 0)
		close(s);
	return e;
}

/* The client's half of client_syns (a child: it never returns). */
static void client(const char *const *src, size_t n, int port, int ready,
		   int go, int res)
{
	int tries = 0;
	char c;

	if (unshare(CLONE_NEWNET) < 0 || write(ready, "r", 1) != 1 ||
	    read(go, &c, 1) != 1 || system(CLIENT_NET) != 0)
		_exit(2);
	/* A link just up may drop what is sent before it is ready: SYNs
	 * to the router itself (no FORWARD) until it answers, and the
	 * neighbours are found too. */
	while (one_syn(src[0], "2001:db8:1000::1", 9, 900) != ECONNREFUSED)
		if (++tries == 10)
			_exit(3);
	for (size_t i = 0; i < n; i++) {
		int e = one_syn(src[i], CLIENT_DST, port, 500);

		if (write(res, &e, sizeof(e)) != sizeof(e))
			_exit(4);
	}
	_exit(0);
}

/*
 * One IPv6 SYN from each of src to CLIENT_DST port, sent by a client in
 * a namespace of its own wired to this one by a veth pair; this one
 * routes CLIENT_DST back out of it, so the SYNs meet FORWARD. err[i]:
 * what connect made of it (one_syn).
 */
static void client_syns(const char *const *src, size_t n, int port, int *err)
{
	int ready[2], go[2], res[2], st;
	char c, *cmd;
	size_t got = 0;
	pid_t pid;

	ck_assert(pipe(ready) == 0 && pipe(go) == 0 && pipe(res) == 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		client(src, n, port, ready[1], go[0], res[1]);
	/* The child's ends: its exit is an end of file here. */
	close(ready[1]);
	close(go[0]);
	close(res[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_ge(asprintf(&cmd, "ip link add pn type veth peer name pc "
				  "netns %d && " ROUTER_NET, (int)pid), 0);
	sh_ok(cmd);
	free(cmd);
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	while (got < n && read(res[0], &err[got], sizeof(*err)) ==
			  (ssize_t)sizeof(*err))
		got++;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the client "
		      "failed (status %#x; exit 2: its setup, 3: no reset "
		      "from the router)", st);
	ck_assert_uint_eq(got, n);
	close(ready[0]);
	close(go[1]);
	close(res[0]);
}

/* IPv4 counters set by hand, IPv6 ones by SYNs the fallback judges. */
START_TEST(test_fallback_counters_are_summed_and_reset_by_install)
{
	static const char *const src[] = {
		"2001:db8:1000::2",	/* residential: port 25 rejected */
		"2001:db8:1000:1::2",	/* held: quarantine drops it */
	};
	struct rules_desc d = sample();
	struct rules_fallback_counts c;
	struct rules_kernel *k;
	char err[512];
	int res[2];

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sync_ok(k, &quarantined[2], 1, time(NULL));
	ck_assert_int_eq(rules_to_fallback(k, &d, SINCE, err, sizeof(err)), 0);
	set_counter("PORTCULLIS-P0", 1, 7);	/* reject */
	set_counter("PORTCULLIS-P0", 2, 5);	/* accept */
	set_counter("PORTCULLIS-P1", 1, 1);	/* accept */
	set_counter("PORTCULLIS-QP", 1, 3);	/* drop */
	/* Not the fallback's verdicts: the mark rule, fragments. */
	set_counter("PORTCULLIS", 1, 100);
	set_counter("PORTCULLIS-FRAGS", 2, 200);
	set_counter6_accept("PORTCULLIS-P0", 2);
	client_syns(src, 2, 25, res);
	ck_assert_int_eq(res[0], ECONNREFUSED);
	ck_assert_int_eq(res[1], 0);
	ck_assert_msg(rules_fallback_read(k, &c, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(c.active);
	ck_assert_int_eq(c.since, SINCE);
	ck_assert_uint_eq(c.rejected, 7 + 1);
	ck_assert_uint_eq(c.dropped, 3 + 1);
	ck_assert_uint_eq(c.accepted, 5 + 1 + 2);

	install_ok(k, &d);
	ck_assert_msg(rules_fallback_read(k, &c, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(!c.active);
	ck_assert_uint_eq(c.accepted + c.dropped + c.rejected, 0);
	intact(k);
	rules_kernel_free(k);
}
END_TEST

/* --- checking -------------------------------------------------------- */

START_TEST(test_flushed_forward_is_found_and_put_back)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	intact(k);
	sh_ok("iptables -F FORWARD");
	found_and_put_back(k, &d, "iptables lacks: -A FORWARD");
	sh_ok("ip6tables -F FORWARD");
	found_and_put_back(k, &d, "ip6tables lacks: -A FORWARD");
	rules_kernel_free(k);
}
END_TEST

START_TEST(test_deleted_fallback_rule_is_found_and_put_back)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sh_ok("iptables -D PORTCULLIS-FBC 1");
	found_and_put_back(k, &d, "iptables lacks: -A PORTCULLIS-FBC -m set "
			   "--match-set PORTCULLIS-4-1-1 src");
	rules_kernel_free(k);
}
END_TEST

START_TEST(test_foreign_rule_in_our_chain_is_found_and_taken_out)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char *out;

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sh_ok("iptables -A PORTCULLIS -p tcp --dport 25 -j ACCEPT");
	found_and_put_back(k, &d, "iptables has a rule it did not install: "
			   "-A PORTCULLIS -p tcp -m tcp --dport 25 -j ACCEPT");
	out = sh_out("iptables -S PORTCULLIS");
	ck_assert_msg(!strstr(out, "-j ACCEPT"), "%s", out);
	free(out);
	rules_kernel_free(k);
}
END_TEST

/* The fallback takes the deepest entry first: with the business /28
 * moved behind the residential aggregates it would never match. */
START_TEST(test_reordered_fallback_rules_are_found)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char what[512], *out;

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sh_ok("iptables -D PORTCULLIS-FBC 1 && iptables -A PORTCULLIS-FBC "
	      "-m set --match-set PORTCULLIS-4-1-1 src -m comment --comment "
	      "\"profile business\" -j PORTCULLIS-P1");
	out = sh_out("iptables -S PORTCULLIS-FBC");
	ck_assert_msg(verify_both(k, what, sizeof(what)) == 1,
		      "the FBC rules swapped, verify says intact:\n%s", out);
	free(out);
	install_ok(k, &d);
	intact(k);
	rules_kernel_free(k);
}
END_TEST

START_TEST(test_flushed_set_is_found_and_filled_again)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sh_ok("ipset flush PORTCULLIS-4-1-1");
	found_and_put_back(k, &d, "set PORTCULLIS-4-1-1");
	ck_assert_int_eq(members("PORTCULLIS-4-1-1"), 1);
	ck_assert_int_ge(elem_timeout("PORTCULLIS-4-1-1", "100.64.12.0/28"),
			 3590);
	sample_sets_are_in();
	rules_kernel_free(k);
}
END_TEST

/* A second fill of a set the kernel still holds sends what changed: a
 * new entry added, one gone deleted, a new lifetime re-added, the rest
 * left as they were (an element the test put in by hand survives: no
 * swap took the set away). */
START_TEST(test_changed_entries_are_updated_in_place)
{
	struct rules_entry e[5];
	struct rules_desc d = sample();
	struct rules_kernel *k;

	if (!private_netns())
		return;
	memcpy(e, sample_entries, sizeof(sample_entries));
	e[4] = (struct rules_entry){ { { 100, 64, 13, 0 }, 28, false, 0 },
				     1, 1 };
	d.entries = e;
	d.nentries = 5;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	ck_assert_int_eq(members("PORTCULLIS-4-1-1"), 2);
	sh_ok("ipset add PORTCULLIS-4-1-1 100.64.99.0/24");
	/* 100.64.13.0/28 goes, 100.64.14.0/28 comes, 100.64.12.0/28 lives
	 * two hours now. */
	e[4].e.addr[2] = 14;
	e[2].e.timeout = 7200;
	install_ok(k, &d);
	ck_assert_int_eq(members("PORTCULLIS-4-1-1"), 3);
	ck_assert_int_eq(elem_timeout("PORTCULLIS-4-1-1", "100.64.13.0/28"),
			 -1);
	ck_assert_int_ge(elem_timeout("PORTCULLIS-4-1-1", "100.64.14.0/28"),
			 0);
	ck_assert_int_ge(elem_timeout("PORTCULLIS-4-1-1", "100.64.12.0/28"),
			 7100);
	ck_assert_int_ge(elem_timeout("PORTCULLIS-4-1-1", "100.64.99.0/24"),
			 0);
	rules_kernel_free(k);
}
END_TEST

/* Past RULES_AGG_RULES_MAX aggregates the queue and fragment rules match
 * a set of them: a SYN is one lookup, and a flushed set is found. */
START_TEST(test_many_aggregates_go_into_a_set)
{
	enum { N = 300 };
	static char text[N][24];
	static const char *v4[N];
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char *out;

	if (!private_netns())
		return;
	for (int i = 0; i < N; i++) {
		snprintf(text[i], sizeof(text[i]), "100.64.%d.%d/32", i / 200,
			 i % 200);
		v4[i] = text[i];
	}
	d.v4 = v4;
	d.nv4 = N;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	ck_assert_int_eq(members("PORTCULLIS-a4"), N);
	out = sh_out("iptables -S PORTCULLIS-CLOSED; iptables -S PORTCULLIS-FRAG");
	ck_assert_ptr_nonnull(strstr(out, "-A PORTCULLIS-CLOSED -m set "
				     "--match-set PORTCULLIS-a4 src -j NFQUEUE"));
	ck_assert_ptr_null(strstr(out, " -s 100.64."));
	ck_assert_ptr_nonnull(strstr(out, "--match-set PORTCULLIS-a4 src -j "
				     "PORTCULLIS-FRAGS"));
	free(out);
	/* IPv6 has one aggregate: one rule, no set. */
	out = sh_out("ip6tables -S PORTCULLIS-CLOSED");
	ck_assert_ptr_nonnull(strstr(out, "-s 2001:db8:1000::/36"));
	free(out);
	sh_ok("ipset flush PORTCULLIS-a4");
	found_and_put_back(k, &d, "set PORTCULLIS-a4");
	ck_assert_int_eq(members("PORTCULLIS-a4"), N);
	/* Back to few: the rules name them again and the set goes. */
	d = sample();
	install_ok(k, &d);
	ck_assert_int_eq(members("PORTCULLIS-a4"), -1);
	rules_kernel_free(k);
}
END_TEST

/* One element taken out by hand: a full check counts them. */
START_TEST(test_element_taken_from_a_set_is_found_by_a_full_check)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char what[512];

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sh_ok("ipset del PORTCULLIS-4-0-0 198.18.0.0/15");
	ck_assert_int_eq(rules_verify(k, true, time(NULL), what, sizeof(what)),
			 1);
	ck_assert_msg(strstr(what, "PORTCULLIS-4-0-0"), "%s", what);
	install_ok(k, &d);
	ck_assert_int_eq(members("PORTCULLIS-4-0-0"), 2);
	intact(k);
	rules_kernel_free(k);
}
END_TEST

/* --- quarantine ------------------------------------------------------ */

/* The counters read back: n elements moved, and by how much. */
static struct rules_qcount *counts_ok(struct rules_kernel *k, size_t want)
{
	struct rules_qcount *c;
	char err[512];
	size_t n;

	ck_assert_msg(rules_quarantine_counts(k, &c, &n, err,
					      sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(n, want);
	if (!want)
		ck_assert_ptr_null(c);
	return c;
}

#define KQ "PORTCULLIS_kq"

/* nft's listing of set in table (inet). */
static char *nft_set(const char *table, const char *set)
{
	return sh_out("nft list set inet %s %s", table, set);
}

/* Whether nft lists elem in set with this much of its text after it
 * ("counter packets 5 bytes 300 timeout 20m", or "" for any). */
static bool nft_has(const char *table, const char *set, const char *elem,
		    const char *rest)
{
	char *out = nft_set(table, set), want[256];
	bool has;

	snprintf(want, sizeof(want), "%s %s", elem, rest);
	has = strstr(out, want) != NULL;
	free(out);
	return has;
}

static void nft_ok(const char *script)
{
	char *out;

	ck_assert_msg(pipe_through("nft -f -", script, &out) == 0, "%s: %s",
		      script, out);
	free(out);
}

/* An nft element given a count by hand: delete and add with it. */
static void nft_count_in(const char *table, const char *set,
			 const char *elem, const char *rest)
{
	char s[512];

	snprintf(s, sizeof(s), "delete element inet %s %s { %s }\n"
		 "add element inet %s %s { %s %s }\n", table, set, elem, table,
		 set, elem, rest);
	nft_ok(s);
}

/*
 * The kernel quarantine's counts come back once each: what moved since
 * the last read, per element and port, both families, with the port's
 * action; a timeout renewed keeps the others' counts; an element made
 * anew counts from zero; one the daemon never put in is nobody's; the
 * sources' set counts "other ports" when the quarantine blocks those.
 * The iptables backend keeps the ports it blocks by name in its own
 * nf_tables table, gone while the fallback is in and at a removal.
 */
START_TEST(test_quarantine_counters_are_read_once)
{
	static const uint8_t act[] = { RULES_REJECT, RULES_DROP,
				       RULES_ACCEPT };
	struct rules_profile qp = { "quarantine", act, RULES_DROP };
	struct rules_desc d = sample();
	struct rules_elem q[3];
	struct rules_qcount *c;
	struct rules_kernel *k;
	int64_t now = time(NULL);
	char *out, err[512];

	if (!private_netns())
		return;
	d.kernel_quarantine = true;
	d.quarantine = &qp;
	memcpy(q, quarantined, sizeof(q));
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	out = sh_out("nft list table inet " KQ);
	ck_assert_msg(strstr(out, "hook forward priority filter - 1;") &&
		      strstr(out, "tcp dport 25 ip saddr . tcp dport @kq4 "
			     "counter packets 0 bytes 0 reject with tcp reset "
			     "comment \"portcullis quarantine port 25\"") &&
		      strstr(out, "tcp dport 465 ip6 saddr . tcp dport @kq6 "
			     "counter packets 0 bytes 0 drop") &&
		      !strstr(out, "587"), "%s", out);
	free(out);
	intact(k);
	c = counts_ok(k, 0);
	sync_ok(k, q, 3, now);
	/* Each source with 25 and 465, not with 587 (accepted). */
	ck_assert(nft_has(KQ, "kq4", "100.64.1.2 . 465", "counter packets 0 "
			  "bytes 0 timeout 20m"));
	ck_assert(nft_has(KQ, "kq4", "100.64.1.1 . 25", ""));
	ck_assert(nft_has(KQ, "kq6", "2001:db8:1000:1::/64 . 25", ""));
	ck_assert(!nft_has(KQ, "kq4", "100.64.1.1 . 587", ""));
	timeout_near("PORTCULLIS-q4", "100.64.1.2", 1200);
	c = counts_ok(k, 0);
	nft_count_in(KQ, "kq4", "100.64.1.2 . 25",
		     "counter packets 5 bytes 300 timeout 1200s");
	nft_count_in(KQ, "kq4", "100.64.1.2 . 465",
		     "counter packets 2 bytes 120 timeout 1200s");
	nft_count_in(KQ, "kq6", "2001:db8:1000:1::/64 . 25",
		     "counter packets 40 bytes 2400 timeout 900s");
	nft_ok("add element inet " KQ " kq4 { 100.64.9.9 . 25 counter packets "
	       "99 bytes 99 timeout 60s }\n");
	c = counts_ok(k, 3);
	ck_assert(!memcmp(&c[0].e, &q[1], sizeof(q[1])));
	ck_assert_uint_eq(c[0].port, 25);
	ck_assert_uint_eq(c[0].action, RULES_REJECT);
	ck_assert_uint_eq(c[0].packets, 5);
	ck_assert(!memcmp(&c[1].e, &q[2], sizeof(q[2])));
	ck_assert_uint_eq(c[1].port, 25);
	ck_assert_uint_eq(c[1].packets, 40);
	ck_assert(!memcmp(&c[2].e, &q[1], sizeof(q[1])));
	ck_assert_uint_eq(c[2].port, 465);
	ck_assert_uint_eq(c[2].action, RULES_DROP);
	ck_assert_uint_eq(c[2].packets, 2);
	free(c);
	c = counts_ok(k, 0);
	/* A longer hold: that source's elements made anew, counting from
	 * zero; the others keep theirs. */
	nft_count_in(KQ, "kq4", "100.64.1.2 . 25",
		     "counter packets 17 bytes 1020 timeout 1200s");
	c = counts_ok(k, 1);
	ck_assert_uint_eq(c[0].packets, 12);
	free(c);
	q[1].timeout = 5000;
	sync_ok(k, q, 3, now);
	ck_assert(nft_has(KQ, "kq4", "100.64.1.2 . 25", "counter packets 0 "
			  "bytes 0 timeout 1h23m20s"));
	ck_assert(nft_has(KQ, "kq6", "2001:db8:1000:1::/64 . 25",
			  "counter packets 40 "));
	timeout_near("PORTCULLIS-q4", "100.64.1.2", 5000);
	c = counts_ok(k, 0);
	/* Released: out of the kernel at once. */
	sync_ok(k, q, 1, now);
	ck_assert(!nft_has(KQ, "kq4", "100.64.1.2 . 25", ""));
	ck_assert(!nft_has(KQ, "kq6", "2001:db8:1000:1::/64 . 25", ""));
	ck_assert_int_eq(elem_timeout("PORTCULLIS-q4", "100.64.1.2"), -1);
	sync_ok(k, q, 3, now);
	/* Gone from the kernel behind the daemon's back: nothing to count,
	 * no error; the full check finds the table changed only when its
	 * rules are. */
	nft_ok("delete element inet " KQ " kq4 { 100.64.1.2 . 25 }\n");
	c = counts_ok(k, 0);
	/* With all_ports the sources' set counts the other ports. */
	d.all_ports = true;
	install_ok(k, &d);
	sh_ok("ipset -exist add PORTCULLIS-q4 100.64.1.1 timeout 600 "
	      "packets 3 bytes 3");
	c = counts_ok(k, 1);
	ck_assert(!memcmp(&c[0].e, &q[0], sizeof(q[0])));
	ck_assert_uint_eq(c[0].port, 0);
	ck_assert_uint_eq(c[0].action, RULES_DROP);
	ck_assert_uint_eq(c[0].packets, 3);
	free(c);
	/* 465 accepted now: its rule goes at the install, its elements at
	 * the next sync, and what the old rule counted is still read. */
	nft_count_in(KQ, "kq4", "100.64.1.1 . 465",
		     "counter packets 9 bytes 9 timeout 600s");
	qp.action = act_res;
	install_ok(k, &d);
	c = counts_ok(k, 1);
	ck_assert_uint_eq(c[0].port, 465);
	ck_assert_uint_eq(c[0].action, RULES_DROP);
	ck_assert_uint_eq(c[0].packets, 9);
	free(c);
	sync_ok(k, q, 3, now);
	ck_assert(nft_has(KQ, "kq4", "100.64.1.1 . 25", ""));
	ck_assert(!nft_has(KQ, "kq4", "100.64.1.1 . 465", ""));
	/* Someone deletes the table: the check finds it, the install puts
	 * it back, the sync fills it. */
	nft_ok("delete table inet " KQ "\n");
	ck_assert_int_eq(rules_verify(k, true, now, err, sizeof(err)), 1);
	ck_assert_msg(strstr(err, KQ), "%s", err);
	install_ok(k, &d);
	sync_ok(k, q, 3, now);
	ck_assert(nft_has(KQ, "kq4", "100.64.1.1 . 25", ""));
	intact(k);
	/* While the fallback is in, it judges the quarantined (and counts
	 * them): the table goes. */
	ck_assert_msg(rules_to_fallback(k, &d, now, err, sizeof(err)) == 0,
		      "%s", err);
	out = sh_out("nft list tables");
	ck_assert_msg(!strstr(out, KQ), "%s", out);
	free(out);
	rules_kernel_free(k);

	/* The next run (or the fallback before it) left quarantines
	 * behind: a new process holds only its own. */
	sh_ok("ipset -exist add PORTCULLIS-q4 100.64.7.7 timeout 900");
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sync_ok(k, q, 3, now);
	ck_assert_int_eq(elem_timeout("PORTCULLIS-q4", "100.64.7.7"), -1);
	ck_assert(nft_has(KQ, "kq4", "100.64.1.1 . 25", "counter packets 0 "));
	intact(k);
	ck_assert_int_eq(rules_remove(NULL, RULES_IPTABLES, err, sizeof(err)),
			 0);
	out = sh_out("nft list tables; ipset list -n");
	ck_assert_msg(!strstr(out, "PORTCULLIS"), "%s", out);
	free(out);
	rules_kernel_free(k);

	/* An older version made the sources' set for 65,536: at the next
	 * install it is made anew, full size, while the rules name it. */
	sh_ok("ipset create PORTCULLIS-q6 hash:net family inet6 maxelem 65536 "
	      "timeout 0 counters");
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	out = sh_out("ipset list -t PORTCULLIS-q6");
	ck_assert_msg(strstr(out, " maxelem 67108864 "), "%s", out);
	free(out);
	sync_ok(k, q, 3, now);
	timeout_near("PORTCULLIS-q6", "2001:db8:1000:1::/64", 900);
	intact(k);
	rules_kernel_free(k);
}
END_TEST

/*
 * The nft backend's counters, read with NFT_MSG_GETSETELEM: the sets
 * keyed by source and port (IPv6 ranges with their length), and the
 * sources' sets for the other ports. This kernel has no nft queue, so
 * the table is the sets alone, made as the ruleset makes them.
 */
START_TEST(test_nft_quarantine_counters_are_read)
{
	static const uint8_t act[] = { RULES_REJECT, RULES_DROP,
				       RULES_ACCEPT };
	struct rules_profile qp = { "quarantine", act, RULES_DROP };
	struct rules_desc d = sample();
	struct rules_qcount *c;
	struct rules_kernel *k;
	int64_t now = time(NULL);
	uint64_t by_port[3] = { 0 };

	if (!private_netns())
		return;
	nft_ok("table inet portcullis {\n"
	      "  set quarantine4 { type ipv4_addr; flags timeout; counter; }\n"
	      "  set quarantine6 { type ipv6_addr; flags interval,timeout; "
	      "counter; }\n"
	      "  set kquarantine4 { type ipv4_addr . inet_service; flags "
	      "timeout; counter; }\n"
	      "  set kquarantine6 { type ipv6_addr . inet_service; flags "
	      "interval,timeout; counter; }\n"
	      "}\n");
	d.kernel_quarantine = true;
	d.quarantine = &qp;
	d.all_ports = true;
	k = kernel_new(RULES_NFT);
	ck_assert_int_eq(rules_kq_note(k, &d), 0);
	c = counts_ok(k, 0);
	sync_ok(k, quarantined, 3, now);
	c = counts_ok(k, 0);
	nft_count_in("portcullis", "kquarantine4", "100.64.1.2 . 25",
		  "counter packets 5 bytes 300 timeout 1200s");
	nft_count_in("portcullis", "kquarantine4", "100.64.1.1 . 465",
		  "counter packets 2 bytes 120 timeout 600s");
	nft_count_in("portcullis", "kquarantine6", "2001:db8:1000:1::/64 . 25",
		  "counter packets 40 bytes 2400 timeout 900s");
	nft_count_in("portcullis", "quarantine4", "100.64.1.1",
		  "counter packets 3 bytes 180 timeout 600s");
	nft_count_in("portcullis", "quarantine6", "2001:db8:1000:1::/64",
		  "counter packets 6 bytes 360 timeout 900s");
	/* Nobody's: never synced. */
	nft_ok("add element inet portcullis kquarantine4 { 100.64.9.9 . 25 "
	       "counter packets 99 bytes 99 timeout 60s }\n");
	c = counts_ok(k, 5);
	for (size_t i = 0; i < 5; i++) {
		ck_assert(c[i].port == 0 || c[i].port == 25 ||
			  c[i].port == 465);
		ck_assert_uint_eq(c[i].action, c[i].port == 25 ? RULES_REJECT
					       : RULES_DROP);
		by_port[c[i].port == 0 ? 0 : c[i].port == 25 ? 1 : 2] +=
			c[i].packets;
		if (c[i].e.v6)
			ck_assert_uint_eq(c[i].e.len, 64);
	}
	ck_assert_uint_eq(by_port[0], 9);
	ck_assert_uint_eq(by_port[1], 45);
	ck_assert_uint_eq(by_port[2], 2);
	free(c);
	c = counts_ok(k, 0);
	nft_count_in("portcullis", "kquarantine4", "100.64.1.2 . 25",
		  "counter packets 8 bytes 480 timeout 1200s");
	c = counts_ok(k, 1);
	ck_assert_uint_eq(c[0].packets, 3);
	free(c);
	/* Only the difference goes in: a longer hold for one source makes
	 * its elements anew (counts from zero), the others keep theirs. */
	{
		struct rules_elem q[3];
		char *out;

		memcpy(q, quarantined, sizeof(q));
		q[1].timeout = 5000;
		sync_ok(k, q, 3, now);
		c = counts_ok(k, 0);
		nft_count_in("portcullis", "kquarantine4", "100.64.1.1 . 465",
			  "counter packets 4 bytes 240 timeout 600s");
		c = counts_ok(k, 1);
		ck_assert_uint_eq(c[0].packets, 2);
		free(c);
		out = sh_out("nft list set inet portcullis kquarantine4");
		ck_assert_msg(strstr(out, "100.64.1.2 . 25 counter packets 0 "
				     "bytes 0 timeout 1h23m20s"), "%s", out);
		free(out);
		/* Released: out at once. */
		sync_ok(k, q, 1, now);
		out = sh_out("nft list set inet portcullis kquarantine4");
		ck_assert_msg(!strstr(out, "100.64.1.2 ") &&
			      strstr(out, "100.64.1.1 . 25"), "%s", out);
		free(out);
	}
	rules_kernel_free(k);
}
END_TEST

/* Sessions nest IPv6 prefixes (a /64 of one subscriber inside another's
 * /56): an interval set refuses overlapping elements and would fail the
 * whole transaction, so the wider prefix alone goes in. */
START_TEST(test_nft_nested_quarantine_prefixes_go_in_as_the_wider)
{
	static const uint8_t act[] = { RULES_REJECT, RULES_DROP,
				       RULES_ACCEPT };
	struct rules_profile qp = { "quarantine", act, RULES_DROP };
	struct rules_desc d = sample();
	struct rules_kernel *k;
	int64_t now = time(NULL);
	struct rules_elem q[3] = {
		{ { 0x20, 0x01, 0x0d, 0xb8, 0x10, 0, 0, 0 }, 64, true, 900 },
		{ { 0x20, 0x01, 0x0d, 0xb8, 0x10, 0, 0, 5 }, 64, true, 900 },
		{ { 0x20, 0x01, 0x0d, 0xb8, 0x10, 0, 0, 0 }, 56, true, 600 },
	};
	char *out;

	if (!private_netns())
		return;
	nft_ok("table inet portcullis {\n"
	      "  set quarantine4 { type ipv4_addr; flags timeout; counter; }\n"
	      "  set quarantine6 { type ipv6_addr; flags interval,timeout; "
	      "counter; }\n"
	      "  set kquarantine4 { type ipv4_addr . inet_service; flags "
	      "timeout; counter; }\n"
	      "  set kquarantine6 { type ipv6_addr . inet_service; flags "
	      "interval,timeout; counter; }\n"
	      "}\n");
	d.kernel_quarantine = true;
	d.quarantine = &qp;
	d.all_ports = true;
	k = kernel_new(RULES_NFT);
	ck_assert_int_eq(rules_kq_note(k, &d), 0);
	/* The /64s first, then the /56 around them comes. */
	sync_ok(k, q, 2, now);
	sync_ok(k, q, 3, now);
	out = sh_out("nft list set inet portcullis quarantine6");
	ck_assert_msg(strstr(out, "2001:db8:1000::/56") &&
		      !strstr(out, "/64"), "%s", out);
	free(out);
	out = sh_out("nft list set inet portcullis kquarantine6");
	ck_assert_msg(strstr(out, "2001:db8:1000::/56 . 25") &&
		      !strstr(out, "/64"), "%s", out);
	free(out);
	/* And all at once. */
	rules_kernel_free(k);
	k = kernel_new(RULES_NFT);
	ck_assert_int_eq(rules_kq_note(k, &d), 0);
	sync_ok(k, q, 3, now);
	out = sh_out("nft list set inet portcullis quarantine6");
	ck_assert_msg(strstr(out, "2001:db8:1000::/56") &&
		      !strstr(out, "/64"), "%s", out);
	free(out);
	/* The /56's subscriber released: its /64s go back in. */
	sync_ok(k, q, 2, now);
	out = sh_out("nft list set inet portcullis quarantine6");
	ck_assert_msg(strstr(out, "2001:db8:1000::/64") &&
		      strstr(out, "2001:db8:1000:5::/64") &&
		      !strstr(out, "/56"), "%s", out);
	free(out);
	rules_kernel_free(k);
}
END_TEST

START_TEST(test_quarantine_sets_follow_the_list)
{
	struct rules_elem q[2] = { quarantined[1], quarantined[2] };
	struct rules_desc d = sample();
	struct rules_kernel *k;
	int64_t now = time(NULL);

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sync_ok(k, quarantined, 3, now);
	ck_assert_int_eq(members("PORTCULLIS-q4"), 2);
	ck_assert_int_eq(members("PORTCULLIS-q6"), 1);
	timeout_near("PORTCULLIS-q4", "100.64.1.1", 600);
	timeout_near("PORTCULLIS-q4", "100.64.1.2", 1200);
	timeout_near("PORTCULLIS-q6", "2001:db8:1000:1::/64", 900);
	intact(k);

	/* One gone, one held longer. */
	q[0].timeout = 3000;
	sync_ok(k, q, 2, now);
	ck_assert_int_eq(members("PORTCULLIS-q4"), 1);
	ck_assert_int_eq(elem_timeout("PORTCULLIS-q4", "100.64.1.1"), -1);
	timeout_near("PORTCULLIS-q4", "100.64.1.2", 3000);
	timeout_near("PORTCULLIS-q6", "2001:db8:1000:1::/64", 900);

	/* The same list, said later or not, sends nothing: a timeout set
	 * behind its back stays as it is. */
	sh_ok("ipset -exist add PORTCULLIS-q4 100.64.1.2 timeout 77");
	sync_ok(k, q, 2, now);
	q[0].timeout -= 10;
	q[1].timeout -= 10;
	sync_ok(k, q, 2, now + 10);
	timeout_near("PORTCULLIS-q4", "100.64.1.2", 77);
	ck_assert_int_eq(members("PORTCULLIS-q4"), 1);
	intact(k);
	rules_kernel_free(k);
}
END_TEST

START_TEST(test_flushed_quarantine_set_is_found_and_filled_again)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;
	int64_t now = time(NULL);
	char what[512];

	if (!private_netns())
		return;
	k = kernel_new(RULES_IPTABLES);
	install_ok(k, &d);
	sync_ok(k, quarantined, 3, now);
	sh_ok("ipset flush PORTCULLIS-q4");
	ck_assert_int_eq(rules_verify(k, false, time(NULL), what,
				      sizeof(what)), 1);
	ck_assert_msg(strstr(what, "PORTCULLIS-q4"), "%s", what);
	install_ok(k, &d);
	sync_ok(k, quarantined, 3, now);
	ck_assert_int_eq(members("PORTCULLIS-q4"), 2);
	ck_assert_int_eq(members("PORTCULLIS-q6"), 1);
	timeout_near("PORTCULLIS-q4", "100.64.1.1", 600);
	intact(k);
	rules_kernel_free(k);
}
END_TEST

/* --- nft ------------------------------------------------------------- */

/*
 * nft -c checks in the kernel. This kernel has no native queue
 * expression: then the queue rules, and only they, may be refused with
 * ENOENT; any syntax error or other refusal fails the test.
 */
static void nft_check_text(const struct rules_desc *d, unsigned queue_rules)
{
	char buf[8192], *out, *line, *src, *save = NULL;
	unsigned errors = 0;

	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), d, NULL, 0), 0);
	if (pipe_through("nft -c -f -", buf, &out) == 0) {
		free(out);
		return;
	}
	/* Each error is three lines: message, source line, carets. */
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strstr(line, "Error:"))
			continue;
		errors++;
		ck_assert_msg(strstr(line, "Could not process rule: No such "
				     "file or directory") != NULL,
			      "nft: %s", line);
		src = strtok_r(NULL, "\n", &save);
		ck_assert_msg(src && strstr(src, " queue "),
			      "refused a rule without a queue: %s", src);
	}
	free(out);
	ck_assert_uint_eq(errors, queue_rules);
	fprintf(stderr, "check_rules_kernel: this kernel has no nft queue "
		"expression; checked the rest of the nft text\n");
}

/*
 * nft -c checks in the kernel. This kernel has no native queue
 * expression: then the queue rules, and only they, may be refused with
 * ENOENT; any syntax error or other refusal fails the test. The kernel
 * quarantine's rules too, blocking some ports and the others.
 */
START_TEST(test_nft_accepts_the_text)
{
	static const uint8_t mixed[] = { RULES_DROP, RULES_REJECT,
					 RULES_ACCEPT };
	struct rules_profile q = { "quarantine", mixed, RULES_REJECT };
	struct rules_desc d = sample();

	if (!private_netns())
		return;
	nft_check_text(&d, 4);
	d.kernel_quarantine = true;
	nft_check_text(&d, 4);
	d.quarantine = &q;
	d.all_ports = true;
	nft_check_text(&d, 6);
}
END_TEST

/* d's nft text without its queue rules, into the kernel. */
static void nft_load_without_queue(const struct rules_desc *d)
{
	char buf[8192], *out, *l, *w;
	unsigned dropped = 0;

	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), d, NULL, 0), 0);
	for (l = w = buf; *l;) {
		size_t n = strcspn(l, "\n") + (l[strcspn(l, "\n")] ? 1 : 0);

		if (memmem(l, n, " queue ", 7)) {
			dropped++;
		} else {
			memmove(w, l, n);
			w += n;
		}
		l += n;
	}
	*w = '\0';
	ck_assert_uint_eq(dropped, 4);
	ck_assert_msg(pipe_through("nft -f -", buf, &out) == 0, "%s", out);
	free(out);
}

/* Give the nth rule of nft chain (table inet portcullis) pk packets. */
static void nft_counter(const char *chain, int n, unsigned pk)
{
	char *out = sh_out("nft -a list chain inet portcullis %s", chain);
	char *line, *save = NULL, *h, *cnt, *cmd;
	int i = 0;

	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "\t\t", 2) && strstr(line, " # handle ") &&
		    ++i == n)
			break;
	ck_assert_msg(line != NULL, "nft chain %s has no rule %d", chain, n);
	h = strstr(line, " # handle ");
	*h = '\0';
	cnt = strstr(line, "counter packets 0 bytes 0");
	ck_assert_msg(cnt != NULL, "%s", line);
	*cnt = '\0';
	ck_assert_int_ge(asprintf(&cmd, "nft replace rule inet portcullis %s "
				  "handle %ld '%scounter packets %u bytes %u%s'",
				  chain, strtol(h + 10, NULL, 10), line + 2, pk,
				  pk * 60, cnt + 25), 0);
	sh_ok(cmd);
	free(cmd);
	free(out);
}

/* The nft text without its queue rules is accepted by the kernel: the
 * fallback, the maps with their timeouts and frag6 are real, and the
 * switch to the fallback and the reading of its counters work on them. */
START_TEST(test_nft_fallback_part_goes_in_and_is_read_back)
{
	struct rules_desc d = sample();
	struct rules_fallback_counts c;
	struct rules_kernel *k;
	char err[512], *out;

	if (!private_netns())
		return;
	nft_load_without_queue(&d);
	out = sh_out("nft list table inet portcullis");
	ck_assert_msg(strstr(out, "\tchain fallback {\n") &&
		      strstr(out, "\tchain frag6 {\n") &&
		      strstr(out, "\tmap fb4_d0 {\n") &&
		      strstr(out, "\tmap fb6_d0 {\n") &&
		      strstr(out, "100.64.12.0/28 timeout 1h expires ") &&
		      strstr(out, "jump p1"), "%s", out);
	free(out);

	k = kernel_new(RULES_NFT);
	ck_assert_msg(rules_to_fallback(k, &d, SINCE, err, sizeof(err)) == 0,
		      "%s", err);
	out = sh_out("nft list chain inet portcullis PORTCULLIS");
	ck_assert_msg(strstr(out, " jump fallback comment \"portcullis "
			     "fallback since 1700000123\"\n"), "%s", out);
	free(out);
	nft_counter("p0", 1, 7);	/* reject */
	nft_counter("p0", 2, 5);	/* accept */
	nft_counter("p1", 1, 1);	/* accept */
	nft_counter("qp", 1, 3);	/* drop */
	ck_assert_msg(rules_fallback_read(k, &c, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(c.active);
	ck_assert_int_eq(c.since, SINCE);
	ck_assert_uint_eq(c.rejected, 7);
	ck_assert_uint_eq(c.accepted, 6);
	ck_assert_uint_eq(c.dropped, 3);
	rules_kernel_free(k);
	ck_assert_msg(rules_remove(NULL, RULES_NFT, err, sizeof(err)) == 0,
		      "%s", err);
	out = sh_out("nft list tables");
	ck_assert_msg(!strstr(out, "portcullis"), "%s", out);
	free(out);
}
END_TEST

START_TEST(test_nft_install_and_remove)
{
	struct rules_desc d = sample();
	struct rules_kernel *k;
	char err[512], *out;

	if (!private_netns())
		return;
	/* Removing nothing is no error, whatever the kernel lacks. */
	ck_assert_msg(rules_remove(NULL, RULES_NFT, err, sizeof(err)) == 0,
		      "%s", err);
	k = kernel_new(RULES_NFT);
	if (rules_install(k, &d, err, sizeof(err)) < 0) {
		ck_assert_msg(strstr(err, "nft failed") &&
			      strstr(err, "queue"), "%s", err);
		fprintf(stderr, "check_rules_kernel: nft install skipped: this "
			"kernel has no nft queue expression\n");
		rules_kernel_free(k);
		return;
	}
	install_ok(k, &d);
	intact(k);
	out = sh_out("nft list tables");
	ck_assert_uint_eq(tests_count(out, "table inet portcullis"), 1);
	free(out);
	rules_kernel_free(k);
	ck_assert_msg(rules_remove(NULL, RULES_NFT, err, sizeof(err)) == 0,
		      "%s", err);
	out = sh_out("nft list tables");
	ck_assert_ptr_null(strstr(out, "portcullis"));
	free(out);
}
END_TEST

Suite *rules_kernel_suite(void)
{
	Suite *s = suite_create("rules_kernel");
	TCase *ipt = tcase_create("iptables");
	TCase *nft = tcase_create("nft");

	tcase_set_timeout(ipt, 60);
	tcase_add_test(ipt, test_install_twice_leaves_one_jump_each_and_remove_cleans_up);
	tcase_add_test(ipt, test_install_replaces_a_stale_ruleset);
	tcase_add_test(ipt, test_reinstall_with_changed_entries_replaces_the_old_layers);
	tcase_add_test(ipt, test_remove_refuses_a_chain_others_use);
	tcase_add_test(ipt, test_two_chain_names_are_kept_apart);
	tcase_add_test(ipt, test_zero_prefix_entry_installs_as_two_halves);
	tcase_add_test(ipt, test_missing_tool_is_reported);
	tcase_add_test(ipt, test_fallback_replaces_the_queue_dispatch_in_both_families);
	tcase_add_test(ipt, test_fallback_counters_are_summed_and_reset_by_install);
	tcase_add_test(ipt, test_flushed_forward_is_found_and_put_back);
	tcase_add_test(ipt, test_deleted_fallback_rule_is_found_and_put_back);
	tcase_add_test(ipt, test_foreign_rule_in_our_chain_is_found_and_taken_out);
	tcase_add_test(ipt, test_reordered_fallback_rules_are_found);
	tcase_add_test(ipt, test_flushed_set_is_found_and_filled_again);
	tcase_add_test(ipt, test_element_taken_from_a_set_is_found_by_a_full_check);
	tcase_add_test(ipt, test_many_aggregates_go_into_a_set);
	tcase_add_test(ipt, test_changed_entries_are_updated_in_place);
	tcase_add_test(ipt, test_quarantine_sets_follow_the_list);
	tcase_add_test(ipt, test_quarantine_counters_are_read_once);
	tcase_add_test(ipt, test_nft_quarantine_counters_are_read);
	tcase_add_test(ipt, test_nft_nested_quarantine_prefixes_go_in_as_the_wider);
	tcase_add_test(ipt, test_flushed_quarantine_set_is_found_and_filled_again);
	suite_add_tcase(s, ipt);

	tcase_set_timeout(nft, 60);
	tcase_add_test(nft, test_nft_accepts_the_text);
	tcase_add_test(nft, test_nft_fallback_part_goes_in_and_is_read_back);
	tcase_add_test(nft, test_nft_install_and_remove);
	suite_add_tcase(s, nft);
	return s;
}
