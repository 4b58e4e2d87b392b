// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules: the generated text for a sample description, what the
 * tools say of it, and install/remove. Everything that talks to the
 * kernel runs in a private network namespace (unshare(2) in Check's
 * forked child) and is skipped with a message without root.
 */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "netlink/rules.h"

Suite *rules_suite(void);

static const char *const sample_v4[] = { "100.64.0.0/10", "198.18.0.0/15" };
static const char *const sample_v6[] = { "2001:db8:1000::/36" };
static const struct rules_port sample_ports[] = {
	{ 25, true }, { 465, false }, { 587, false },
};

static struct rules_desc sample(void)
{
	struct rules_desc d = {
		.v4 = sample_v4, .nv4 = 2,
		.v6 = sample_v6, .nv6 = 1,
		.ports = sample_ports, .nports = 3,
		.closed_first = 0, .closed_last = 1,
		.open_first = 2, .open_last = 3,
		.reject_mark = 0x100, .reject_mask = 0x100,
	};

	return d;
}

static const char expect_v4[] =
	"# portcullis ruleset for iptables-restore --noflush; the daemon hooks it with\n"
	"# -I FORWARD 1 -p tcp --tcp-flags SYN,ACK SYN -j PORTCULLIS\n"
	"*filter\n"
	":PORTCULLIS - [0:0]\n"
	":PORTCULLIS-CLOSED - [0:0]\n"
	":PORTCULLIS-OPEN - [0:0]\n"
	"-A PORTCULLIS -p tcp -m mark --mark 0x100/0x100 -j REJECT --reject-with tcp-reset\n"
	"-A PORTCULLIS -p tcp --tcp-flags SYN,ACK SYN --dport 25 -j PORTCULLIS-CLOSED\n"
	"-A PORTCULLIS -p tcp --tcp-flags SYN,ACK SYN -m multiport --dports 465,587 -j PORTCULLIS-OPEN\n"
	"-A PORTCULLIS-CLOSED -s 100.64.0.0/10 -j NFQUEUE --queue-balance 0:1 --queue-cpu-fanout\n"
	"-A PORTCULLIS-CLOSED -s 198.18.0.0/15 -j NFQUEUE --queue-balance 0:1 --queue-cpu-fanout\n"
	"-A PORTCULLIS-OPEN -s 100.64.0.0/10 -j NFQUEUE --queue-balance 2:3 --queue-cpu-fanout --queue-bypass\n"
	"-A PORTCULLIS-OPEN -s 198.18.0.0/15 -j NFQUEUE --queue-balance 2:3 --queue-cpu-fanout --queue-bypass\n"
	"COMMIT\n";

static const char expect_v6_rules[] =
	"-A PORTCULLIS -p tcp -m mark --mark 0x100/0x100 -j REJECT --reject-with tcp-reset\n"
	"-A PORTCULLIS -p tcp --tcp-flags SYN,ACK SYN --dport 25 -j PORTCULLIS-CLOSED\n"
	"-A PORTCULLIS -p tcp --tcp-flags SYN,ACK SYN -m multiport --dports 465,587 -j PORTCULLIS-OPEN\n"
	"-A PORTCULLIS-CLOSED -s 2001:db8:1000::/36 -j NFQUEUE --queue-balance 0:1 --queue-cpu-fanout\n"
	"-A PORTCULLIS-OPEN -s 2001:db8:1000::/36 -j NFQUEUE --queue-balance 2:3 --queue-cpu-fanout --queue-bypass\n"
	"COMMIT\n";

static const char expect_nft[] =
	"# portcullis ruleset for nft -f: replaces table inet portcullis whole\n"
	"table inet portcullis\n"
	"delete table inet portcullis\n"
	"table inet portcullis {\n"
	"\tset subscribers4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t\telements = { 100.64.0.0/10,\n"
	"\t\t\t198.18.0.0/15 }\n"
	"\t}\n"
	"\tset subscribers6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags interval\n"
	"\t\tauto-merge\n"
	"\t\telements = { 2001:db8:1000::/36 }\n"
	"\t}\n"
	"\tset ports_closed {\n"
	"\t\ttype inet_service\n"
	"\t\telements = { 25 }\n"
	"\t}\n"
	"\tset ports_open {\n"
	"\t\ttype inet_service\n"
	"\t\telements = { 465, 587 }\n"
	"\t}\n"
	"\tchain PORTCULLIS {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tmeta l4proto tcp meta mark & 0x00000100 == 0x00000100 reject with tcp reset\n"
	"\t\ttcp flags & (syn | ack) == syn tcp dport @ports_closed ip saddr @subscribers4 queue flags fanout num 0-1\n"
	"\t\ttcp flags & (syn | ack) == syn tcp dport @ports_closed ip6 saddr @subscribers6 queue flags fanout num 0-1\n"
	"\t\ttcp flags & (syn | ack) == syn tcp dport @ports_open ip saddr @subscribers4 queue flags bypass,fanout num 2-3\n"
	"\t\ttcp flags & (syn | ack) == syn tcp dport @ports_open ip6 saddr @subscribers6 queue flags bypass,fanout num 2-3\n"
	"\t}\n"
	"}\n";

static bool private_netns(void)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "check_rules: skipped, needs root to make a "
			"network namespace\n");
		return false;
	}
	return true;
}

/* Run cmd with text on its standard input; its exit status, and its
 * output in out (outlen bytes) if given. */
static int pipe_through(const char *cmd, const char *text, char *out,
			size_t outlen)
{
	char path[] = "/tmp/check_rules.XXXXXX", line[1024];
	int fd = mkstemp(path), st;
	FILE *p;
	size_t used = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(line, sizeof(line), "%s < %s 2>&1", cmd, path);
	p = popen(line, "r");
	ck_assert_ptr_nonnull(p);
	if (out && outlen)
		out[0] = '\0';
	while (fgets(line, sizeof(line), p))
		if (out && used + strlen(line) < outlen) {
			strcpy(out + used, line);
			used += strlen(line);
		}
	st = pclose(p);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Output of a shell command, for looking at the ruleset. */
static void capture(const char *cmd, char *out, size_t outlen)
{
	pipe_through(cmd, "", out, outlen);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

START_TEST(test_iptables_text_for_sample)
{
	struct rules_desc d = sample();
	char buf[4096], err[256];
	int n;

	n = rules_iptables_format(buf, sizeof(buf), &d, AF_INET, err,
				  sizeof(err));
	ck_assert_msg(n > 0, "%s", err);
	ck_assert_str_eq(buf, expect_v4);
	ck_assert_int_eq(n, (int)strlen(expect_v4));
}
END_TEST

START_TEST(test_ip6tables_text_for_sample)
{
	struct rules_desc d = sample();
	char buf[4096], err[256];

	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET6,
					       err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "# portcullis ruleset for "
				     "ip6tables-restore"));
	ck_assert_ptr_nonnull(strstr(buf, "*filter\n:PORTCULLIS - [0:0]\n"));
	ck_assert_str_eq(strstr(buf, "-A PORTCULLIS "), expect_v6_rules);
}
END_TEST

START_TEST(test_nft_text_for_sample)
{
	struct rules_desc d = sample();
	char buf[4096], err[256];
	int n;

	n = rules_nft_format(buf, sizeof(buf), &d, err, sizeof(err));
	ck_assert_msg(n > 0, "%s", err);
	ck_assert_str_eq(buf, expect_nft);
}
END_TEST

START_TEST(test_file_and_buffer_agree_and_buffer_reports_full_length)
{
	struct rules_desc d = sample();
	char *mem = NULL, small[32];
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	int n;

	ck_assert_ptr_nonnull(f);
	n = rules_nft_write(f, &d, NULL, 0);
	fclose(f);
	ck_assert_int_eq(n, (int)strlen(expect_nft));
	ck_assert_str_eq(mem, expect_nft);
	free(mem);

	ck_assert_int_eq(rules_nft_format(small, sizeof(small), &d, NULL, 0),
			 (int)strlen(expect_nft));
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(rules_iptables_format(NULL, 0, &d, AF_INET, NULL, 0),
			 (int)strlen(expect_v4));
}
END_TEST

START_TEST(test_relays_return_before_any_queue_rule)
{
	static const char *const r4[] = { "192.0.2.25" };
	static const char *const r6[] = { "2001:db8:25::25" };
	static const char *const bad[] = { "192.0.2.300" };
	struct rules_desc d = sample();
	char buf[8192], err[256];
	const char *ret, *queue;

	d.relays4 = r4;
	d.nrelays4 = 1;
	d.relays6 = r6;
	d.nrelays6 = 1;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       err, sizeof(err)), 0);
	ret = strstr(buf, "-A PORTCULLIS -d 192.0.2.25/32 -j RETURN\n");
	queue = strstr(buf, "-j PORTCULLIS-CLOSED");
	ck_assert_ptr_nonnull(ret);
	ck_assert_ptr_nonnull(queue);
	ck_assert(ret < queue);
	ck_assert_ptr_null(strstr(buf, "2001:db8:25::25"));
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET6,
					       err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(buf, "-A PORTCULLIS -d 2001:db8:25::25/128 "
				     "-j RETURN\n"));
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, err,
					  sizeof(err)), 0);
	ret = strstr(buf, "\t\tip daddr @relays4 return\n"
			  "\t\tip6 daddr @relays6 return\n");
	ck_assert_ptr_nonnull(ret);
	ck_assert(ret < strstr(buf, "queue"));
	ck_assert_ptr_nonnull(strstr(buf, "elements = { 192.0.2.25/32 }"));
	d.relays4 = bad;
	ck_assert_int_eq(rules_check(&d, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_all_ports_queue_every_other_syn_fail_closed)
{
	struct rules_desc d = sample();
	char buf[8192], err[256];
	const char *open, *any;

	d.all_ports = true;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       err, sizeof(err)), 0);
	open = strstr(buf, "-j PORTCULLIS-OPEN\n");
	any = strstr(buf, "-A PORTCULLIS -p tcp --tcp-flags SYN,ACK SYN "
		      "-j PORTCULLIS-CLOSED\n");
	ck_assert_ptr_nonnull(open);
	ck_assert_ptr_nonnull(any);
	ck_assert(open < any);	/* 465/587 still fail open */
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, err,
					  sizeof(err)), 0);
	open = strstr(buf, "@ports_open ip saddr");
	any = strstr(buf, "== syn ip saddr @subscribers4 queue");
	ck_assert_ptr_nonnull(open);
	ck_assert_ptr_nonnull(any);
	ck_assert(open < any);
}
END_TEST

START_TEST(test_more_than_fifteen_ports_are_split)
{
	struct rules_port ports[20];
	struct rules_desc d = sample();
	char buf[8192];
	unsigned i;

	for (i = 0; i < 20; i++) {
		ports[i].port = (uint16_t)(1000 + i);
		ports[i].fail_closed = i != 3;
	}
	d.ports = ports;
	d.nports = 20;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "-m multiport --dports 1000,1001,"
		"1002,1004,1005,1006,1007,1008,1009,1010,1011,1012,1013,1014,"
		"1015 -j PORTCULLIS-CLOSED\n"));
	ck_assert_ptr_nonnull(strstr(buf, "-m multiport --dports 1016,1017,"
		"1018,1019 -j PORTCULLIS-CLOSED\n"));
	ck_assert_ptr_nonnull(strstr(buf, "--dport 1003 -j PORTCULLIS-OPEN\n"));
	ck_assert_uint_eq(count(buf, "-j PORTCULLIS-CLOSED"), 2);
}
END_TEST

START_TEST(test_single_queue_and_full_mask)
{
	struct rules_desc d = sample();
	char buf[8192];

	d.closed_first = d.closed_last = 7;
	d.open_first = d.open_last = 8;
	d.reject_mark = 0x1;
	d.reject_mask = 0xffffffff;
	d.chain = "PC_TEST";
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "-A PC_TEST-CLOSED -s 100.64.0.0/10 "
				     "-j NFQUEUE --queue-num 7\n"));
	ck_assert_ptr_nonnull(strstr(buf, "-A PC_TEST-OPEN -s 100.64.0.0/10 "
				     "-j NFQUEUE --queue-num 8 --queue-bypass\n"));
	ck_assert_ptr_null(strstr(buf, "fanout"));
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "meta mark 0x00000001 reject"));
	ck_assert_ptr_nonnull(strstr(buf, "@subscribers4 queue num 7\n"));
	ck_assert_ptr_nonnull(strstr(buf, "@subscribers4 queue flags bypass "
				     "num 8\n"));
	ck_assert_ptr_nonnull(strstr(buf, "\tchain PC_TEST {\n"));
}
END_TEST

START_TEST(test_host_bits_are_masked)
{
	static const char *const v4[] = { "100.64.3.7/10", "192.0.2.1" };
	static const char *const v6[] = { "2001:db8:1fff::1/36" };
	struct rules_desc d = sample();
	char buf[8192];

	d.v4 = v4;
	d.v6 = v6;
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "{ 100.64.0.0/10,\n\t\t\t"
				     "192.0.2.1/32 }"));
	ck_assert_ptr_nonnull(strstr(buf, "{ 2001:db8:1000::/36 }"));
}
END_TEST

START_TEST(test_empty_families_and_classes)
{
	struct rules_desc d = sample();
	char buf[8192];

	d.nv6 = 0;
	d.v6 = NULL;
	d.nports = 1;		/* only 25, fail-closed */
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	ck_assert_ptr_null(strstr(buf, "ip6 saddr"));
	ck_assert_ptr_null(strstr(buf, "@ports_open"));
	ck_assert_ptr_nonnull(strstr(buf, "\tset subscribers6 {\n\t\ttype "
		"ipv6_addr\n\t\tflags interval\n\t\tauto-merge\n\t}\n"));
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET6,
					       NULL, 0), 0);
	ck_assert_ptr_null(strstr(buf, "-A PORTCULLIS-CLOSED"));
	ck_assert_ptr_null(strstr(buf, "-j PORTCULLIS-OPEN"));
	ck_assert_ptr_nonnull(strstr(buf, ":PORTCULLIS-OPEN - [0:0]\n"));
}
END_TEST

/* Each bad description is refused with EINVAL and a message naming it. */
static void refused(const struct rules_desc *d, const char *what)
{
	char err[256], buf[64];

	errno = 0;
	ck_assert_int_eq(rules_check(d, err, sizeof(err)), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(strstr(err, what) != NULL, "\"%s\" not in \"%s\"",
		      what, err);
	ck_assert_int_eq(rules_iptables_format(buf, sizeof(buf), d, AF_INET,
					       NULL, 0), -1);
	ck_assert_int_eq(rules_nft_format(buf, sizeof(buf), d, NULL, 0), -1);
	ck_assert_str_eq(buf, "");
}

START_TEST(test_bad_descriptions_are_refused)
{
	static const char *const inject[] = {
		"100.64.0.0/10\n-A FORWARD -j ACCEPT" };
	static const char *const badlen[] = { "100.64.0.0/33" };
	static const char *const v6in4[] = { "2001:db8::/32" };
	static const char *const emptylen[] = { "100.64.0.0/" };
	static const char *const v6bad[] = { "2001:db8::/129" };
	static const struct rules_port dup[] = { { 25, true }, { 25, false } };
	static const struct rules_port zero[] = { { 0, true } };
	struct rules_desc d;

	d = sample(); d.v4 = inject;  d.nv4 = 1;
	refused(&d, "IPv4 aggregate 1 \"100.64.0.0/10\n-A FORWARD");
	d = sample(); d.v4 = badlen;  d.nv4 = 1;
	refused(&d, "expected a.b.c.d/0-32");
	d = sample(); d.v4 = v6in4;   d.nv4 = 1;
	refused(&d, "IPv4 aggregate 1");
	d = sample(); d.v4 = emptylen; d.nv4 = 1;
	refused(&d, "IPv4 aggregate 1");
	d = sample(); d.v6 = v6bad;   d.nv6 = 1;
	refused(&d, "IPv6 aggregate 1");
	d = sample(); d.v4 = NULL;
	refused(&d, "no array");
	d = sample(); d.ports = dup;  d.nports = 2;
	refused(&d, "port 25 listed twice");
	d = sample(); d.ports = zero; d.nports = 1;
	refused(&d, "port 0");
	d = sample(); d.chain = "PORT-CULLIS";
	refused(&d, "chain name");
	d = sample(); d.chain = "A_CHAIN_NAME_TOO_LONG_";
	refused(&d, "chain name");
	d = sample(); d.chain = "X; rm -rf /";
	refused(&d, "chain name");
	d = sample(); d.closed_first = 2; d.closed_last = 1;
	refused(&d, "queue range 2-1");
	d = sample(); d.open_first = 1;
	refused(&d, "overlap");
	d = sample(); d.reject_mark = 0;
	refused(&d, "reject mark");
	d = sample(); d.reject_mark = 0x300;
	refused(&d, "reject mark 0x300/0x100");
}
END_TEST

START_TEST(test_iptables_restore_accepts_the_text)
{
	struct rules_desc d = sample();
	char buf[4096], out[2048];

	if (!private_netns())
		return;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_msg(pipe_through("iptables-restore --test", buf, out,
				   sizeof(out)) == 0, "%s", out);
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET6,
					       NULL, 0), 0);
	ck_assert_msg(pipe_through("ip6tables-restore --test", buf, out,
				   sizeof(out)) == 0, "%s", out);
}
END_TEST

/*
 * nft -c checks in the kernel. This kernel has no native queue
 * expression: then the queue rules, and only they, may be refused with
 * ENOENT; any syntax error or other refusal fails the test.
 */
START_TEST(test_nft_accepts_the_text)
{
	struct rules_desc d = sample();
	char buf[4096], out[4096], *line, *src, *save = NULL;
	unsigned errors = 0;

	if (!private_netns())
		return;
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	if (pipe_through("nft -c -f -", buf, out, sizeof(out)) == 0)
		return;
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
	ck_assert_uint_eq(errors, 4);
	fprintf(stderr, "check_rules: this kernel has no nft queue "
		"expression; checked the rest of the nft text\n");
}
END_TEST

START_TEST(test_install_twice_leaves_one_jump_and_remove_cleans_up)
{
	struct rules_desc d = sample();
	char err[512], out[8192];

	if (!private_netns())
		return;
	ck_assert_int_eq(system("iptables -A FORWARD -p udp -j ACCEPT && "
				"iptables -N OTHER && "
				"iptables -A OTHER -j RETURN"), 0);
	ck_assert_msg(rules_install(&d, RULES_IPTABLES, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_msg(rules_install(&d, RULES_IPTABLES, err, sizeof(err)) == 0,
		      "%s", err);
	capture("iptables -S", out, sizeof(out));
	ck_assert_uint_eq(count(out, "-j PORTCULLIS\n"), 1);
	ck_assert_ptr_nonnull(strstr(out, "-P FORWARD ACCEPT\n-P OUTPUT "
		"ACCEPT\n-N OTHER\n-N PORTCULLIS\n-N PORTCULLIS-CLOSED\n"
		"-N PORTCULLIS-OPEN\n-A FORWARD -p tcp -m tcp --tcp-flags "
		"SYN,ACK SYN -j PORTCULLIS\n-A FORWARD -p udp -j ACCEPT\n"));
	ck_assert_uint_eq(count(out, "-A PORTCULLIS-CLOSED -s "), 2);
	capture("ip6tables -S", out, sizeof(out));
	ck_assert_uint_eq(count(out, "-j PORTCULLIS\n"), 1);
	ck_assert_ptr_nonnull(strstr(out, "-A PORTCULLIS-OPEN -s "
		"2001:db8:1000::/36 -j NFQUEUE --queue-balance 2:3 "
		"--queue-bypass --queue-cpu-fanout\n"));

	ck_assert_msg(rules_remove(NULL, RULES_IPTABLES, err, sizeof(err)) == 0,
		      "%s", err);
	capture("iptables -S", out, sizeof(out));
	ck_assert_str_eq(out, "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n"
			 "-P OUTPUT ACCEPT\n-N OTHER\n"
			 "-A FORWARD -p udp -j ACCEPT\n-A OTHER -j RETURN\n");
	capture("ip6tables -S", out, sizeof(out));
	ck_assert_ptr_null(strstr(out, "PORTCULLIS"));
	/* Nothing left to remove is no error. */
	ck_assert_msg(rules_remove(NULL, RULES_IPTABLES, err, sizeof(err)) == 0,
		      "%s", err);
}
END_TEST

START_TEST(test_install_replaces_a_stale_ruleset)
{
	struct rules_desc d = sample();
	char err[512], out[8192];

	if (!private_netns())
		return;
	/* What a crashed older run might have left: two jumps of another
	 * shape, junk in the chain, a sub-chain missing. */
	ck_assert_int_eq(system("iptables -N PORTCULLIS && "
				"iptables -A PORTCULLIS -j DROP && "
				"iptables -N PORTCULLIS-OPEN && "
				"iptables -A FORWARD -j PORTCULLIS && "
				"iptables -A FORWARD -i lo -j PORTCULLIS"), 0);
	ck_assert_msg(rules_install(&d, RULES_IPTABLES, err, sizeof(err)) == 0,
		      "%s", err);
	capture("iptables -S", out, sizeof(out));
	ck_assert_uint_eq(count(out, "-j PORTCULLIS\n"), 1);
	ck_assert_ptr_null(strstr(out, "-j DROP"));
	ck_assert_ptr_nonnull(strstr(out, "-A PORTCULLIS -p tcp -m mark "
				     "--mark 0x100/0x100 -j REJECT"));
	ck_assert_msg(rules_remove(NULL, RULES_IPTABLES, err, sizeof(err)) == 0,
		      "%s", err);
	capture("iptables -S", out, sizeof(out));
	ck_assert_ptr_null(strstr(out, "PORTCULLIS"));
}
END_TEST

START_TEST(test_remove_refuses_a_chain_others_use)
{
	struct rules_desc d = sample();
	char err[512];

	if (!private_netns())
		return;
	ck_assert_msg(rules_install(&d, RULES_IPTABLES, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_int_eq(system("iptables -N OTHER && "
				"iptables -A OTHER -j PORTCULLIS"), 0);
	ck_assert_int_eq(rules_remove(NULL, RULES_IPTABLES, err, sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, "iptables-restore failed") != NULL, "%s",
		      err);
	/* The transaction failed whole: our jump is still there. */
	ck_assert_int_eq(system("iptables -C FORWARD -p tcp --tcp-flags "
				"SYN,ACK SYN -j PORTCULLIS"), 0);
}
END_TEST

START_TEST(test_nft_install_and_remove)
{
	struct rules_desc d = sample();
	char err[512], out[8192];

	if (!private_netns())
		return;
	/* Removing nothing is no error, whatever the kernel lacks. */
	ck_assert_msg(rules_remove(NULL, RULES_NFT, err, sizeof(err)) == 0,
		      "%s", err);
	if (rules_install(&d, RULES_NFT, err, sizeof(err)) < 0) {
		ck_assert_msg(strstr(err, "nft failed") &&
			      strstr(err, "queue"), "%s", err);
		fprintf(stderr, "check_rules: nft install skipped: this kernel "
			"has no nft queue expression\n");
		return;
	}
	ck_assert_msg(rules_install(&d, RULES_NFT, err, sizeof(err)) == 0,
		      "%s", err);
	capture("nft list tables", out, sizeof(out));
	ck_assert_uint_eq(count(out, "table inet portcullis"), 1);
	ck_assert_msg(rules_remove(NULL, RULES_NFT, err, sizeof(err)) == 0,
		      "%s", err);
	capture("nft list tables", out, sizeof(out));
	ck_assert_ptr_null(strstr(out, "portcullis"));
}
END_TEST

START_TEST(test_missing_tool_is_reported)
{
	struct rules_desc d = sample();
	char err[512];
	const char *path = getenv("PATH");
	char *saved = path ? strdup(path) : NULL;

	setenv("PATH", "/nonexistent", 1);
	ck_assert_int_eq(rules_install(&d, RULES_IPTABLES, err, sizeof(err)),
			 -1);
	/* glibc reports the failed exec as ENOENT; under valgrind the
	 * child exits 127 instead. */
	ck_assert_msg((errno == ENOENT && strstr(err, "iptables: No such "
						  "file") != NULL) ||
		      strstr(err, "iptables failed (exit 127)") != NULL,
		      "%s", err);
	if (saved)
		setenv("PATH", saved, 1);
	free(saved);
}
END_TEST

Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *text = tcase_create("text");
	TCase *kernel = tcase_create("kernel");

	tcase_add_test(text, test_iptables_text_for_sample);
	tcase_add_test(text, test_ip6tables_text_for_sample);
	tcase_add_test(text, test_nft_text_for_sample);
	tcase_add_test(text, test_relays_return_before_any_queue_rule);
	tcase_add_test(text, test_all_ports_queue_every_other_syn_fail_closed);
	tcase_add_test(text, test_file_and_buffer_agree_and_buffer_reports_full_length);
	tcase_add_test(text, test_more_than_fifteen_ports_are_split);
	tcase_add_test(text, test_single_queue_and_full_mask);
	tcase_add_test(text, test_host_bits_are_masked);
	tcase_add_test(text, test_empty_families_and_classes);
	tcase_add_test(text, test_bad_descriptions_are_refused);
	suite_add_tcase(s, text);

	tcase_set_timeout(kernel, 30);
	tcase_add_test(kernel, test_iptables_restore_accepts_the_text);
	tcase_add_test(kernel, test_nft_accepts_the_text);
	tcase_add_test(kernel, test_install_twice_leaves_one_jump_and_remove_cleans_up);
	tcase_add_test(kernel, test_install_replaces_a_stale_ruleset);
	tcase_add_test(kernel, test_remove_refuses_a_chain_others_use);
	tcase_add_test(kernel, test_nft_install_and_remove);
	tcase_add_test(kernel, test_missing_tool_is_reported);
	suite_add_tcase(s, kernel);
	return s;
}
