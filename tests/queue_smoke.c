// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * queue_smoke — the smallest verdict loop, for tests/queue_smoke.sh: open
 * a queue, give every packet one verdict (reject by default: NF_REPEAT
 * with the reject mark), print each SYN, and on SIGTERM/SIGINT print the
 * counters and the CPU time spent. Not the daemon: no policy, no stats.
 *
 * queue_smoke [-q NUM] [-m MARK] [-v reject|accept|drop] [-i] [-o]
 *             [-r CHAIN [-k | -x]] [-n PREFIX] [-p PORT[:open]]... [-s]
 *   -i  send each verdict at once (no batching), for comparison
 *   -o  bind the queue fail-open
 *   -r  install the ruleset (iptables) for -n/-p first, remove it at exit
 *       (fail-closed ports go to queue NUM, fail-open ones to NUM + 1,
 *       which this program does not serve); -k keeps it at exit, -x
 *       only removes it
 *   -s  print no line per packet
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "common/log.h"
#include "filter/parse.h"
#include "netlink/queue.h"
#include "netlink/rules.h"

static struct queue *the_queue;

static void on_signal(int sig)
{
	(void)sig;
	queue_interrupt(the_queue);
}

struct loop {
	enum queue_verdict v;
	uint32_t mark;
	bool quiet;
	struct timespec first, last;
};

static void judge(struct queue *q, const struct queue_packet *pkt, void *arg)
{
	struct loop *l = arg;
	struct parse_syn s;
	enum parse_status st = parse_syn(pkt->payload, pkt->len, &s);
	char src[64], dst[64];

	clock_gettime(CLOCK_MONOTONIC, &l->last);
	if (!l->first.tv_sec)
		l->first = l->last;
	if (!l->quiet) {
		policy_addr_format(&s.flow.src, src, sizeof(src));
		policy_addr_format(&s.flow.dst, dst, sizeof(dst));
		printf("packet %u: %s %s:%u -> %s:%u\n", pkt->id,
		       parse_status_name(st), src, s.sport, dst, s.flow.dport);
		fflush(stdout);
	}
	queue_verdict(q, pkt->id, l->v, pkt->mark | l->mark);
}

int main(int argc, char **argv)
{
	struct queue_config cfg = { 0 };
	struct loop l = { .v = QUEUE_REPEAT, .mark = 0x100 };
	const char *v4[16], *chain = NULL;
	struct rules_port ports[16];
	struct rules_desc d = { 0 };
	struct queue_stats st;
	struct rusage ru;
	struct sigaction sa;
	uint16_t num = 0;
	size_t nv4 = 0, nports = 0;
	char err[512], *colon;
	double secs;
	bool keep = false, remove_only = false;
	int c, n;

	log_init("queue_smoke", LOG_LEVEL_INFO, false);
	while ((c = getopt(argc, argv, "q:m:v:ior:kxn:p:s")) != -1) {
		switch (c) {
		case 'q': num = (uint16_t)atoi(optarg); break;
		case 'm': l.mark = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'v':
			l.v = !strcmp(optarg, "accept") ? QUEUE_ACCEPT :
			      !strcmp(optarg, "drop") ? QUEUE_DROP :
			      QUEUE_REPEAT;
			break;
		case 'i': cfg.verdict_immediate = true; break;
		case 'o': cfg.fail_open = true; break;
		case 'r': chain = optarg; break;
		case 's': l.quiet = true; break;
		case 'k': keep = true; break;
		case 'x': remove_only = true; break;
		case 'n':
			if (nv4 < 16)
				v4[nv4++] = optarg;
			break;
		case 'p':
			if (nports == 16)
				break;
			ports[nports].port = (uint16_t)atoi(optarg);
			colon = strchr(optarg, ':');
			ports[nports++].fail_closed = !colon ||
						      strcmp(colon, ":open");
			break;
		default:
			fprintf(stderr, "usage: see the top of queue_smoke.c\n");
			return 2;
		}
	}
	if (chain && remove_only) {
		if (rules_remove(chain, RULES_IPTABLES, err, sizeof(err)) < 0)
			fatalx("rules: %s", err);
		return 0;
	}
	if (chain) {
		d.chain = chain;
		d.v4 = v4;
		d.nv4 = nv4;
		d.ports = ports;
		d.nports = nports;
		d.closed_first = d.closed_last = num;
		d.open_first = d.open_last = (uint16_t)(num + 1);
		d.reject_mark = d.reject_mask = l.mark;
		if (rules_install(&d, RULES_IPTABLES, err, sizeof(err)) < 0)
			fatalx("rules: %s", err);
	}
	the_queue = queue_open(num, &cfg, err, sizeof(err));
	if (!the_queue)
		fatalx("%s", err);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready: queue %u\n", num);
	fflush(stdout);

	while ((n = queue_receive(the_queue, judge, &l, -1)) >= 0)
		;
	if (errno != EINTR)
		log_warn("receive");

	queue_stats(the_queue, &st);
	getrusage(RUSAGE_SELF, &ru);
	secs = (double)(l.last.tv_sec - l.first.tv_sec) +
	       (double)(l.last.tv_nsec - l.first.tv_nsec) / 1e9;
	printf("stats: packets %llu bursts %llu verdicts %llu verdict_errors "
	       "%llu enobufs %llu bad %llu rcvbuf %u\n",
	       (unsigned long long)st.packets, (unsigned long long)st.bursts,
	       (unsigned long long)st.verdicts,
	       (unsigned long long)st.verdict_errors,
	       (unsigned long long)st.enobufs,
	       (unsigned long long)st.bad_messages, st.rcvbuf);
	printf("cpu: user %ld.%06ld sys %ld.%06ld s; %.2f us a packet; "
	       "first to last packet %.3f s\n",
	       (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
	       (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
	       st.packets ? ((double)ru.ru_utime.tv_sec * 1e6 +
			     (double)ru.ru_utime.tv_usec +
			     (double)ru.ru_stime.tv_sec * 1e6 +
			     (double)ru.ru_stime.tv_usec) /
			    (double)st.packets : 0.0, secs);
	queue_close(the_queue);
	if (chain && !keep && rules_remove(chain, RULES_IPTABLES, err, sizeof(err)) < 0)
		log_warnx("rules: %s", err);
	return 0;
}
