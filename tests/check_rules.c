// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * netlink/rules: the generated text for a sample description (the
 * queue rules, the fragment rules, the fallback and its sets). What the
 * kernel makes of it is check_rules_kernel.c's.
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
#include "tests/helpers.h"
#include "tests/rules_sample.h"

Suite *rules_suite(void);

static struct rules_desc sample(void)
{
	return rules_sample(1700000000);
}

static const char expect_v4[] =
	"# portcullis ruleset for iptables-restore --noflush, after the sets (portcullis rules\n"
	"# --sets); the daemon hooks it with\n"
	"# -I FORWARD 1 -p tcp --tcp-flags SYN,ACK SYN -j PORTCULLIS\n"
	"# -I FORWARD 2 -p tcp -m u32 --u32 \"4&0x3FFF=0x1:0x3FFF\" -j PORTCULLIS-FRAG\n"
	"*filter\n"
	":PORTCULLIS - [0:0]\n"
	":PORTCULLIS-CLOSED - [0:0]\n"
	":PORTCULLIS-OPEN - [0:0]\n"
	":PORTCULLIS-FRAG - [0:0]\n"
	":PORTCULLIS-FRAGS - [0:0]\n"
	":PORTCULLIS-FB - [0:0]\n"
	":PORTCULLIS-FBC - [0:0]\n"
	":PORTCULLIS-QP - [0:0]\n"
	":PORTCULLIS-P0 - [0:0]\n"
	":PORTCULLIS-P1 - [0:0]\n"
	"-A PORTCULLIS -p tcp -m mark --mark 0x100/0x100 -j REJECT --reject-with tcp-reset\n"
	"-A PORTCULLIS -p tcp --tcp-flags SYN,ACK SYN --dport 25 -j PORTCULLIS-CLOSED\n"
	"-A PORTCULLIS -p tcp --tcp-flags SYN,ACK SYN -m multiport --dports 465,587 -j PORTCULLIS-OPEN\n"
	"-A PORTCULLIS-CLOSED -s 100.64.0.0/10 -j NFQUEUE --queue-balance 0:1 --queue-cpu-fanout\n"
	"-A PORTCULLIS-CLOSED -s 198.18.0.0/15 -j NFQUEUE --queue-balance 0:1 --queue-cpu-fanout\n"
	"-A PORTCULLIS-OPEN -s 100.64.0.0/10 -j NFQUEUE --queue-balance 2:3 --queue-cpu-fanout --queue-bypass\n"
	"-A PORTCULLIS-OPEN -s 198.18.0.0/15 -j NFQUEUE --queue-balance 2:3 --queue-cpu-fanout --queue-bypass\n"
	"-A PORTCULLIS-FRAG -s 100.64.0.0/10 -j PORTCULLIS-FRAGS\n"
	"-A PORTCULLIS-FRAG -s 198.18.0.0/15 -j PORTCULLIS-FRAGS\n"
	"-A PORTCULLIS-FRAGS -m u32 --u32 \"4&0x3FFF=0x2000\" -m length --length 0:79 -j DROP\n"
	"-A PORTCULLIS-FRAGS -m u32 --u32 \"4&0x1FFF=0x1:0x2\" -j DROP\n"
	"-A PORTCULLIS-FB -m set --match-set PORTCULLIS-q4 src -j PORTCULLIS-QP\n"
	"-A PORTCULLIS-FB -p tcp --dport 25 -j PORTCULLIS-FBC\n"
	"-A PORTCULLIS-FB -p tcp -m multiport --dports 465,587 -j PORTCULLIS-FBC\n"
	"-A PORTCULLIS-FBC -m set --match-set PORTCULLIS-4-1-1 src -m comment --comment \"profile business\" -j PORTCULLIS-P1\n"
	"-A PORTCULLIS-FBC -m set --match-set PORTCULLIS-4-0-0 src -m comment --comment \"profile residential\" -j PORTCULLIS-P0\n"
	"-A PORTCULLIS-P0 -p tcp --dport 25 -j REJECT --reject-with tcp-reset\n"
	"-A PORTCULLIS-P0 -j ACCEPT\n"
	"-A PORTCULLIS-P1 -j ACCEPT\n"
	"-A PORTCULLIS-QP -p tcp -m multiport --dports 25,465,587 -j DROP\n"
	"COMMIT\n";

static const char expect_v6_rules[] =
	"-A PORTCULLIS -p tcp -m mark --mark 0x100/0x100 -j REJECT --reject-with tcp-reset\n"
	"-A PORTCULLIS -p tcp --tcp-flags SYN,ACK SYN --dport 25 -j PORTCULLIS-CLOSED\n"
	"-A PORTCULLIS -p tcp --tcp-flags SYN,ACK SYN -m multiport --dports 465,587 -j PORTCULLIS-OPEN\n"
	"-A PORTCULLIS-CLOSED -s 2001:db8:1000::/36 -j NFQUEUE --queue-balance 0:1 --queue-cpu-fanout\n"
	"-A PORTCULLIS-OPEN -s 2001:db8:1000::/36 -j NFQUEUE --queue-balance 2:3 --queue-cpu-fanout --queue-bypass\n"
	"-A PORTCULLIS-FRAG -s 2001:db8:1000::/36 -j PORTCULLIS-FRAGS\n"
	"-A PORTCULLIS-FRAGS -m ipv6header --header hop --soft -j DROP\n"
	"-A PORTCULLIS-FRAGS -m ipv6header --header dst --soft -j DROP\n"
	"-A PORTCULLIS-FRAGS -m ipv6header --header route --soft -j DROP\n"
	"-A PORTCULLIS-FRAGS -m ipv6header --header auth --soft -j DROP\n"
	"-A PORTCULLIS-FRAGS -m u32 --u32 \"4>>8&0xFF=0x2C&&40&0xFFF8=0x8:0x10\" -j DROP\n"
	"-A PORTCULLIS-FRAGS -p tcp -m frag --fragfirst -m length --length 0:67 -j DROP\n"
	"-A PORTCULLIS-FB -m set --match-set PORTCULLIS-q6 src -j PORTCULLIS-QP\n"
	"-A PORTCULLIS-FB -p tcp --dport 25 -j PORTCULLIS-FBC\n"
	"-A PORTCULLIS-FB -p tcp -m multiport --dports 465,587 -j PORTCULLIS-FBC\n"
	"-A PORTCULLIS-FBC -m set --match-set PORTCULLIS-6-0-0 src -m comment --comment \"profile residential\" -j PORTCULLIS-P0\n"
	"-A PORTCULLIS-P0 -p tcp --dport 25 -j REJECT --reject-with tcp-reset\n"
	"-A PORTCULLIS-P0 -j ACCEPT\n"
	"-A PORTCULLIS-QP -p tcp -m multiport --dports 25,465,587 -j DROP\n"
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
	"\tset quarantine4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags timeout\n"
	"\t\tcounter\n"
	"\t}\n"
	"\tset quarantine6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags interval,timeout\n"
	"\t\tcounter\n"
	"\t}\n"
	"\tset kquarantine4 {\n"
	"\t\ttype ipv4_addr . inet_service\n"
	"\t\tflags timeout\n"
	"\t\tcounter\n"
	"\t}\n"
	"\tset kquarantine6 {\n"
	"\t\ttype ipv6_addr . inet_service\n"
	"\t\tflags interval,timeout\n"
	"\t\tcounter\n"
	"\t}\n"
	"\tmap fb4_d0 {\n"
	"\t\ttype ipv4_addr : verdict\n"
	"\t\tflags interval,timeout\n"
	"\t\telements = { 100.64.0.0/10 : jump p0,\n"
	"\t\t\t198.18.0.0/15 : jump p0 }\n"
	"\t}\n"
	"\tmap fb4_d1 {\n"
	"\t\ttype ipv4_addr : verdict\n"
	"\t\tflags interval,timeout\n"
	"\t\telements = { 100.64.12.0/28 timeout 3600s : jump p1 }\n"
	"\t}\n"
	"\tmap fb6_d0 {\n"
	"\t\ttype ipv6_addr : verdict\n"
	"\t\tflags interval,timeout\n"
	"\t\telements = { 2001:db8:1000::/36 : jump p0 }\n"
	"\t}\n"
	"\tchain frag6 {\n"
	"\t\texthdr hbh exists drop\n"
	"\t\texthdr dst exists drop\n"
	"\t\texthdr rt exists drop\n"
	"\t\tfrag nexthdr 51 drop\n"
	"\t\tfrag frag-off 1-2 drop\n"
	"\t\tmeta l4proto tcp frag frag-off 0 meta length 0-67 drop\n"
	"\t}\n"
	"\tchain fallback {\n"
	"\t\tip saddr @quarantine4 jump qp\n"
	"\t\tip6 saddr @quarantine6 jump qp\n"
	"\t\ttcp dport @ports_closed jump fbc\n"
	"\t\ttcp dport @ports_open jump fbc\n"
	"\t}\n"
	"\tchain fbc {\n"
	"\t\tip saddr vmap @fb4_d1\n"
	"\t\tip saddr vmap @fb4_d0\n"
	"\t\tip6 saddr vmap @fb6_d0\n"
	"\t}\n"
	"\tchain p0 {\n"
	"\t\ttcp dport { 25 } counter reject with tcp reset\n"
	"\t\tcounter accept\n"
	"\t}\n"
	"\tchain p1 {\n"
	"\t\tcounter accept\n"
	"\t}\n"
	"\tchain qp {\n"
	"\t\ttcp dport { 25, 465, 587 } counter drop\n"
	"\t}\n"
	"\tchain PORTCULLIS {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tmeta l4proto tcp meta mark & 0x00000100 == 0x00000100 reject with tcp reset\n"
	"\t\tmeta l4proto tcp ip frag-off & 0x3fff == 0x2000 meta length 0-79 ip saddr @subscribers4 drop\n"
	"\t\tmeta l4proto tcp ip frag-off & 0x1fff 1-2 ip saddr @subscribers4 drop\n"
	"\t\texthdr frag exists ip6 saddr @subscribers6 jump frag6\n"
	"\t\ttcp flags & (syn | ack) == syn tcp dport @ports_closed ip saddr @subscribers4 queue flags fanout num 0-1\n"
	"\t\ttcp flags & (syn | ack) == syn tcp dport @ports_closed ip6 saddr @subscribers6 queue flags fanout num 0-1\n"
	"\t\ttcp flags & (syn | ack) == syn tcp dport @ports_open ip saddr @subscribers4 queue flags bypass,fanout num 2-3\n"
	"\t\ttcp flags & (syn | ack) == syn tcp dport @ports_open ip6 saddr @subscribers6 queue flags bypass,fanout num 2-3\n"
	"\t}\n"
	"}\n";

static const char expect_sets[] =
	"# portcullis sets for ipset -exist restore, before the iptables rules; each\n"
	"# holds 255.255.255.255 (IPv4) or ff00::/128 (IPv6), which no forwarded packet has as\n"
	"# its source: portcullisd checks by them that a set was not emptied\n"
	"create PORTCULLIS-q4 hash:ip family inet hashsize 1024 maxelem 67108864 timeout 0 counters\n"
	"add PORTCULLIS-q4 255.255.255.255\n"
	"create PORTCULLIS-q6 hash:net family inet6 hashsize 1024 maxelem 67108864 timeout 0 counters\n"
	"add PORTCULLIS-q6 ff00::/128\n"
	"create PORTCULLIS-4-0-0 hash:net family inet hashsize 1024 maxelem 65536 timeout 0\n"
	"flush PORTCULLIS-4-0-0\n"
	"add PORTCULLIS-4-0-0 255.255.255.255\n"
	"add PORTCULLIS-4-0-0 100.64.0.0/10\n"
	"add PORTCULLIS-4-0-0 198.18.0.0/15\n"
	"create PORTCULLIS-4-1-1 hash:net family inet hashsize 1024 maxelem 65536 timeout 0\n"
	"flush PORTCULLIS-4-1-1\n"
	"add PORTCULLIS-4-1-1 255.255.255.255\n"
	"add PORTCULLIS-4-1-1 100.64.12.0/28 timeout 3600\n"
	"create PORTCULLIS-6-0-0 hash:net family inet6 hashsize 1024 maxelem 65536 timeout 0\n"
	"flush PORTCULLIS-6-0-0\n"
	"add PORTCULLIS-6-0-0 ff00::/128\n"
	"add PORTCULLIS-6-0-0 2001:db8:1000::/36\n";

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
	d.nprofiles = 0;	/* no fallback: its actions follow the ports */
	d.nentries = 0;
	d.quarantine = NULL;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "-m multiport --dports 1000,1001,"
		"1002,1004,1005,1006,1007,1008,1009,1010,1011,1012,1013,1014,"
		"1015 -j PORTCULLIS-CLOSED\n"));
	ck_assert_ptr_nonnull(strstr(buf, "-m multiport --dports 1016,1017,"
		"1018,1019 -j PORTCULLIS-CLOSED\n"));
	ck_assert_ptr_nonnull(strstr(buf, "--dport 1003 -j PORTCULLIS-OPEN\n"));
	ck_assert_uint_eq(tests_count(buf, "-j PORTCULLIS-CLOSED"), 2);
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
	d.nentries = 3;		/* the IPv4 ones */
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
	d = sample(); d.chain = "A_CHAIN_TOO_LONG_";
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

START_TEST(test_ipset_text_for_sample)
{
	struct rules_desc d = sample();
	char *mem = NULL, err[256];
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(rules_ipset_write(f, &d, err, sizeof(err)) > 0, "%s", err);
	fclose(f);
	ck_assert_str_eq(mem, expect_sets);
	free(mem);
}
END_TEST

/* Fragments meet their rules whatever port they name, before the relays
 * and the queues; the FORWARD jump for them is in the header. */
START_TEST(test_fragments_are_checked_before_any_queue)
{
	struct rules_desc d = sample();
	char buf[16384];
	const char *frag, *queue;

	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "# -I FORWARD 2 -p tcp -m u32 --u32 "
		"\"4&0x3FFF=0x1:0x3FFF\" -j PORTCULLIS-FRAG\n"));
	ck_assert_uint_eq(tests_count(buf, "-A PORTCULLIS-FRAG -s "), 2);
	ck_assert_uint_eq(tests_count(buf, "-A PORTCULLIS-FRAGS "), 2);
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET6,
					       NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "# -I FORWARD 2 -m ipv6header "
		"--header frag --soft -j PORTCULLIS-FRAG\n"));
	/* --soft means "has this one": one rule for each header. */
	ck_assert_uint_eq(tests_count(buf, "-A PORTCULLIS-FRAGS -m ipv6header "
				      "--header "), 4);
	ck_assert_ptr_nonnull(strstr(buf, "--fragfirst -m length --length "
				     "0:67 -j DROP\n"));
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	frag = strstr(buf, "ip frag-off & 0x1fff 1-2 ip saddr @subscribers4 "
		      "drop");
	queue = strstr(buf, " queue ");
	ck_assert_ptr_nonnull(frag);
	ck_assert_ptr_nonnull(queue);
	ck_assert(frag < queue);
	ck_assert(strstr(buf, "exthdr frag exists ip6 saddr @subscribers6 "
			 "jump frag6") < queue);
}
END_TEST

START_TEST(test_fallback_takes_the_deepest_entry_first)
{
	struct rules_entry e[5];
	struct rules_desc d = sample();
	char buf[16384];
	const char *d2, *d1, *d0;

	memcpy(e, sample_entries, sizeof(sample_entries));
	/* A residential /30 inside the business /28, for ten minutes. */
	e[4] = (struct rules_entry){ { { 100, 64, 12, 4 }, 30, false, 600 },
				     2, 0 };
	d.entries = e;
	d.nentries = 5;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	d2 = strstr(buf, "--match-set PORTCULLIS-4-2-0 src");
	d1 = strstr(buf, "--match-set PORTCULLIS-4-1-1 src");
	d0 = strstr(buf, "--match-set PORTCULLIS-4-0-0 src");
	ck_assert(d2 && d1 && d0);
	ck_assert(d2 < d1 && d1 < d0);
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\tchain fbc {\n"
		"\t\tip saddr vmap @fb4_d2\n\t\tip saddr vmap @fb4_d1\n"
		"\t\tip saddr vmap @fb4_d0\n\t\tip6 saddr vmap @fb6_d0\n"));
	ck_assert_ptr_nonnull(strstr(buf, "100.64.12.4/30 timeout 600s : "
				     "jump p0"));
}
END_TEST

START_TEST(test_monitor_fallback_passes_everything)
{
	struct rules_desc d = sample();
	char buf[16384];

	d.monitor = true;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_null(strstr(buf, "-A PORTCULLIS-FB"));
	ck_assert_ptr_null(strstr(buf, "-A PORTCULLIS-P"));
	ck_assert_ptr_null(strstr(buf, "-A PORTCULLIS-QP"));
	ck_assert_ptr_nonnull(strstr(buf, ":PORTCULLIS-FB - [0:0]\n"));
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\tchain fallback {\n\t}\n"));
}
END_TEST

START_TEST(test_all_ports_fallback_judges_every_other_port)
{
	static const uint8_t strict[] = { RULES_REJECT, RULES_ACCEPT,
					  RULES_ACCEPT };
	struct rules_profile p[3];
	struct rules_desc d = sample();
	char buf[16384];
	const char *ret, *any;

	memcpy(p, sample_profiles, sizeof(p));
	p[0].action = strict;
	p[0].other = RULES_DROP;	/* residential: default drop */
	d.profiles = p;
	d.all_ports = true;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	/* Every SYN the kernel queues is judged by its entry. */
	ret = strstr(buf, "-A PORTCULLIS-FB -m set --match-set PORTCULLIS-q4 "
		     "src -j PORTCULLIS-QP\n");
	any = strstr(buf, "-A PORTCULLIS-FB -j PORTCULLIS-FBC\n");
	ck_assert(ret && any && ret < any);
	ck_assert_ptr_null(strstr(buf, "-A PORTCULLIS-FB -p tcp"));
	ck_assert_ptr_nonnull(strstr(buf, "-A PORTCULLIS-P0 -p tcp --dport 25 "
		"-j REJECT --reject-with tcp-reset\n-A PORTCULLIS-P0 -p tcp -m "
		"multiport --dports 465,587 -j ACCEPT\n-A PORTCULLIS-P0 -j DROP\n"));
	/* The quarantine profile ends in its default too. */
	ck_assert_ptr_nonnull(strstr(buf, "-A PORTCULLIS-QP -p tcp -m multiport "
		"--dports 25,465,587 -j DROP\n-A PORTCULLIS-QP -j ACCEPT\n"));
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\tchain fallback {\n\t\tip saddr "
		"@quarantine4 jump qp\n\t\tip6 saddr @quarantine6 jump qp\n"
		"\t\tjump fbc\n\t}\n"));
}
END_TEST

/* The kernel quarantine: ahead of the queues, one counted rule a port
 * it blocks (port before set, so an element counts only what was
 * blocked), the others' action last, and nothing in monitor mode. */
START_TEST(test_kernel_quarantine_comes_before_the_queues)
{
	static const uint8_t mixed[] = { RULES_DROP, RULES_REJECT,
					 RULES_ACCEPT };
	struct rules_profile q = { "quarantine", mixed, RULES_REJECT };
	struct rules_desc d = sample();
	char buf[16384];
	const char *other;

	d.kernel_quarantine = true;
	d.quarantine = &q;
	/* The ports it blocks by name are nf_tables' (rules_nft_kq_table,
	 * check_rules_kernel's test_quarantine_counters_are_read_once):
	 * nothing of them in the chain. */
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_null(strstr(buf, "quarantine port"));
	d.all_ports = true;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	other = strstr(buf, "-A PORTCULLIS -p tcp -m multiport ! --dports 587 "
		       "-m set --match-set PORTCULLIS-q4 src -m comment "
		       "--comment \"portcullis quarantine port other\" -j "
		       "REJECT --reject-with tcp-reset\n");
	ck_assert(other && other < strstr(buf, "-j PORTCULLIS-CLOSED\n"));
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\t\ttcp flags & (syn | ack) == syn "
		"tcp dport 25 ip saddr . tcp dport @kquarantine4 counter drop "
		"comment \"portcullis quarantine port 25\"\n\t\ttcp flags & "
		"(syn | ack) == syn tcp dport 25 ip6 saddr . tcp dport "
		"@kquarantine6 counter drop comment \"portcullis quarantine "
		"port 25\"\n"));
	ck_assert_ptr_nonnull(strstr(buf, "tcp dport != { 587 } ip saddr "
		"@quarantine4 counter reject with tcp reset comment "
		"\"portcullis quarantine port other\"\n"));
	ck_assert(strstr(buf, "quarantine port other") <
		  strstr(buf, " queue "));
	/* Monitor mode never blocks; off, nothing either. */
	d.monitor = true;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_null(strstr(buf, "quarantine port"));
	ck_assert_int_gt(rules_nft_format(buf, sizeof(buf), &d, NULL, 0), 0);
	ck_assert_ptr_null(strstr(buf, "quarantine port"));
	d.monitor = false;
	d.kernel_quarantine = false;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_null(strstr(buf, "quarantine port"));
}
END_TEST

/* Without a closing default every port's action is written out, or a
 * quarantined SYN to an accepted port would fall to its entry. */
START_TEST(test_quarantine_names_every_port)
{
	static const uint8_t mixed[] = { RULES_DROP, RULES_ACCEPT,
					 RULES_REJECT };
	struct rules_profile p[3];
	struct rules_desc d = sample();
	char buf[16384];

	memcpy(p, sample_profiles, sizeof(p));
	p[2].action = mixed;
	d.profiles = p;
	d.quarantine = &p[2];
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_nonnull(strstr(buf, "-A PORTCULLIS-QP -p tcp --dport 587 "
		"-j REJECT --reject-with tcp-reset\n-A PORTCULLIS-QP -p tcp "
		"--dport 25 -j DROP\n-A PORTCULLIS-QP -p tcp --dport 465 -j "
		"ACCEPT\nCOMMIT\n"));
	d.quarantine = NULL;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_null(strstr(buf, "PORTCULLIS-q4"));
	ck_assert_ptr_null(strstr(buf, "-A PORTCULLIS-QP"));
}
END_TEST

/* A profile name goes into a comment only when it cannot end it. */
START_TEST(test_profile_names_that_could_inject_are_left_out)
{
	struct rules_profile p[3];
	struct rules_desc d = sample();
	char buf[16384];

	memcpy(p, sample_profiles, sizeof(p));
	p[0].name = "res\" -j ACCEPT\n-A FORWARD -j ACCEPT #";
	p[1].name = "";
	d.profiles = p;
	ck_assert_int_gt(rules_iptables_format(buf, sizeof(buf), &d, AF_INET,
					       NULL, 0), 0);
	ck_assert_ptr_null(strstr(buf, "res\""));
	ck_assert_ptr_null(strstr(buf, "-A FORWARD"));
	ck_assert_ptr_nonnull(strstr(buf, "--match-set PORTCULLIS-4-0-0 src "
				     "-j PORTCULLIS-P0\n"));
	ck_assert_ptr_nonnull(strstr(buf, "--match-set PORTCULLIS-4-1-1 src "
				     "-j PORTCULLIS-P1\n"));
}
END_TEST

/* hash:net takes no /0: both halves instead. */
START_TEST(test_ipset_splits_a_zero_prefix)
{
	static const struct rules_entry all[] = {
		{ { { 0 }, 0, false, 0 }, 0, 0 },
		{ { { 0 }, 0, true, 60 }, 0, 1 },
	};
	static const char *const any4[] = { "0.0.0.0/0" };
	static const char *const any6[] = { "::/0" };
	struct rules_desc d = sample();
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);

	d.v4 = any4;
	d.nv4 = 1;
	d.v6 = any6;
	d.entries = all;
	d.nentries = 2;
	ck_assert_int_gt(rules_ipset_write(f, &d, NULL, 0), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(mem, "add PORTCULLIS-4-0-0 255.255.255.255\n"
				     "add PORTCULLIS-4-0-0 0.0.0.0/1\n"
				     "add PORTCULLIS-4-0-0 128.0.0.0/1\n"));
	ck_assert_ptr_nonnull(strstr(mem, "add PORTCULLIS-6-0-1 ::/1 timeout "
				     "60\nadd PORTCULLIS-6-0-1 8000::/1 timeout "
				     "60\n"));
	free(mem);
}
END_TEST

START_TEST(test_bad_fallbacks_are_refused)
{
	static const uint8_t bad_action[] = { 7, RULES_ACCEPT, RULES_ACCEPT };
	struct rules_profile p[3], q;
	struct rules_entry e[4];
	struct rules_desc d;

	memcpy(p, sample_profiles, sizeof(p));
	p[1].action = bad_action;
	d = sample(); d.profiles = p;
	refused(&d, "fallback profile 1");
	memcpy(p, sample_profiles, sizeof(p));
	p[2].other = 3;
	d = sample(); d.profiles = p;
	refused(&d, "fallback profile 2");
	q = sample_profiles[2];
	q.other = 3;
	d = sample(); d.quarantine = &q;
	refused(&d, "the quarantine's actions");
	d = sample(); d.profiles = NULL;
	refused(&d, "no array");
	memcpy(e, sample_entries, sizeof(e));
	e[2].profile = 3;
	d = sample(); d.entries = e;
	refused(&d, "fallback entry 2");
	memcpy(e, sample_entries, sizeof(e));
	e[1].e.len = 33;
	d = sample(); d.entries = e;
	refused(&d, "fallback entry 1");
	memcpy(e, sample_entries, sizeof(e));
	e[3].depth = 129;
	d = sample(); d.entries = e;
	refused(&d, "fallback entry 3");
	memcpy(e, sample_entries, sizeof(e));
	e[0].e.timeout = RULES_TIMEOUT_MAX + 1;
	d = sample(); d.entries = e;
	refused(&d, "fallback entry 0");
}
END_TEST
Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *text = tcase_create("text");

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
	tcase_add_test(text, test_ipset_text_for_sample);
	tcase_add_test(text, test_fragments_are_checked_before_any_queue);
	tcase_add_test(text, test_fallback_takes_the_deepest_entry_first);
	tcase_add_test(text, test_monitor_fallback_passes_everything);
	tcase_add_test(text, test_all_ports_fallback_judges_every_other_port);
	tcase_add_test(text, test_quarantine_names_every_port);
	tcase_add_test(text, test_kernel_quarantine_comes_before_the_queues);
	tcase_add_test(text, test_profile_names_that_could_inject_are_left_out);
	tcase_add_test(text, test_ipset_splits_a_zero_prefix);
	tcase_add_test(text, test_bad_fallbacks_are_refused);
	suite_add_tcase(s, text);

	return s;
}
