// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Nothing on the verdict path allocates (STYLE.md: no allocation per
 * packet). Allocations are counted around bursts of the real path: parse,
 * decide, stats and the block-log push over many packets, and, given root,
 * whole bursts of real SYNs through the kernel queue and the verdict
 * thread's own loop.
 *
 * How they are counted, inside this one test binary and without
 * LD_PRELOAD: this file defines malloc, calloc, realloc and the aligned
 * allocators, which the dynamic linker then binds for the whole process
 * (libc's own calls included: glibc supports replacing malloc this way).
 * Each counts and hands over to glibc's, found with dlsym(RTLD_NEXT); the
 * rest of the binary sees no difference. mallinfo2() deltas would miss an
 * allocation freed within the burst, served from and returned to the
 * thread cache. Under AddressSanitizer, which owns malloc, its allocation
 * hook counts instead.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "blocklog/blocklog.h"
#include "filter/daemon.h"
#include "filter/parse.h"
#include "policy/policy.h"
#include "stats/stats.h"
#include "tests/helpers.h"
#include "tests/suites.h"

static size_t allocs;		/* every allocation in this process */

static void counted(void)
{
	__atomic_fetch_add(&allocs, 1, __ATOMIC_RELAXED);
}

static size_t allocations(void)
{
	return __atomic_load_n(&allocs, __ATOMIC_RELAXED);
}

#if defined(__SANITIZE_ADDRESS__)
int __sanitizer_install_malloc_and_free_hooks(
	void (*malloc_hook)(const volatile void *, size_t),
	void (*free_hook)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
	(void)p;
	(void)n;
	counted();
}

static void on_free(const volatile void *p)
{
	(void)p;
}

static void count_start(void)
{
	static bool installed;

	/* Both hooks, or none is taken. */
	if (!installed)
		ck_assert_int_ne(__sanitizer_install_malloc_and_free_hooks(
					 on_malloc, on_free), 0);
	installed = true;
}
#else
static void count_start(void)
{
}

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);

/* What dlsym() allocates while the real functions are being looked up
 * comes from here, and is never freed. */
static char boot[4096] __attribute__((aligned(16)));
static size_t boot_used;
static int resolving;

static void *boot_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(boot) - boot_used)
		return NULL;
	p = boot + boot_used;
	boot_used += n;
	return p;
}

static void resolve(void)
{
	resolving = 1;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT,
							  "memalign");
	real_posix_memalign = (int (*)(void **, size_t, size_t))
		dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = (void *(*)(size_t, size_t))
		dlsym(RTLD_NEXT, "aligned_alloc");
	resolving = 0;
	if (!real_malloc || !real_calloc || !real_realloc || !real_free ||
	    !real_memalign || !real_posix_memalign || !real_aligned_alloc)
		abort();
}

void *malloc(size_t n)
{
	if (!real_malloc) {
		if (resolving)
			return boot_alloc(n);
		resolve();
	}
	counted();
	return real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (!real_calloc) {
		if (resolving)
			return boot_alloc(n * size);	/* static: zeroed */
		resolve();
	}
	counted();
	return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (!real_realloc)
		resolve();
	counted();
	return real_realloc(p, n);
}

void free(void *p)
{
	if ((char *)p >= boot && (char *)p < boot + sizeof(boot))
		return;
	if (!real_free)
		resolve();
	real_free(p);
}

void *memalign(size_t align, size_t n)
{
	if (!real_memalign)
		resolve();
	counted();
	return real_memalign(align, n);
}

int posix_memalign(void **p, size_t align, size_t n)
{
	if (!real_posix_memalign)
		resolve();
	counted();
	return real_posix_memalign(p, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	if (!real_aligned_alloc)
		resolve();
	counted();
	return real_aligned_alloc(align, n);
}
#endif

#define NOW_MS 1795829025123LL	/* 2026-11-28T01:23:45.123Z */
#define NPKT 512

struct fx {
	struct policy *p;
	struct blocklog *bl;
	struct stats *st;
	char path[40];
};

static void fx_open(struct fx *fx, unsigned threads)
{
	struct blocklog_config bc = {
		.producers = stats_log_producers(threads),
		.no_writer_thread = true,
	};
	struct stats_config sc = { .threads = threads, .seed = 6,
				   .now_ms = NOW_MS };

	memset(fx, 0, sizeof(*fx));
	/* The example policy's shape, with nothing that expires. */
	fx->p = tests_fixture_policy("example_without_expiry.yaml", NULL);
	tests_tmpfile(fx->path, sizeof(fx->path), "alloc");
	bc.path = fx->path;
	fx->bl = blocklog_open(&bc);
	ck_assert_ptr_nonnull(fx->bl);
	stats_config_from_policy(&sc, fx->p);
	sc.max_subscribers = 4096;
	fx->st = stats_open(&sc, fx->bl);
	ck_assert_ptr_nonnull(fx->st);
	count_start();
}

static void fx_close(struct fx *fx)
{
	stats_close(fx->st);
	blocklog_close(fx->bl);
	policy_free(fx->p);
	unlink(fx->path);
}

static uint16_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* SYN number i as the queue hands it over: IPv4 or IPv6, from
 * residential, business and other sources, to many destinations, relays
 * and ports 25, 465, 587 and others. Returns its length. */
static size_t make_syn(unsigned i, uint8_t *pkt)
{
	static const uint16_t ports[] = { 25, 25, 25, 587, 465, 80 };
	uint16_t dport = ports[i % 6];
	uint8_t *tcp;
	size_t ip;

	memset(pkt, 0, 80);
	if (i % 4) {
		ip = 20;
		pkt[0] = 0x45;
		pkt[3] = 40;
		pkt[8] = 64;
		pkt[9] = IPPROTO_TCP;
		/* 100.64.x.y (business in 0.16/28), or 198.18.x.y: no
		 * subscriber. */
		pkt[12] = i % 7 ? 100 : 198;
		pkt[13] = i % 7 ? 64 : 18;
		pkt[14] = (uint8_t)(i % 3 ? i >> 3 : 0);
		pkt[15] = (uint8_t)(i % 3 ? i : 16 + i % 16);
		/* To 203.0.113.x, or the relay 192.0.2.25. */
		pkt[16] = i % 11 ? 203 : 192;
		pkt[18] = i % 11 ? 113 : 2;
		pkt[19] = (uint8_t)(i % 11 ? i : 25);
		if (i % 13 == 0) {
			/* A spammer: detection, quarantine, summaries. */
			pkt[12] = 100;
			pkt[13] = 64;
			pkt[14] = 9;
			pkt[15] = 9;
		}
	} else {
		ip = 40;
		pkt[0] = 0x60;
		pkt[5] = 20;
		pkt[6] = IPPROTO_TCP;
		pkt[7] = 64;
		inet_pton(AF_INET6, i % 3 ? "2001:db8:1::" : "2001:db8:1:10::",
			  pkt + 8);
		pkt[22] = (uint8_t)(i >> 8);
		pkt[23] = (uint8_t)i;
		inet_pton(AF_INET6, "2001:db8:2::", pkt + 24);
		pkt[39] = (uint8_t)i;
	}
	tcp = pkt + ip;
	tcp[0] = (uint8_t)((1024 + i) >> 8);
	tcp[1] = (uint8_t)(1024 + i);
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[12] = 5 << 4;
	tcp[13] = 0x02;
	if (ip == 20) {
		uint16_t c = (uint16_t)~sum16(pkt, 20, 0);

		pkt[10] = (uint8_t)(c >> 8);
		pkt[11] = (uint8_t)c;
	}
	return ip + 20;
}

/* What the verdict thread does with each packet, bar the queue. Returns
 * the packets not parsed as SYNs (ck_assert itself allocates: not here). */
static unsigned judge_all(struct fx *fx, uint8_t (*pkts)[80],
			  const size_t *lens, int64_t now_ms)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < NPKT; i++) {
		struct policy_decision dec;
		struct parse_syn syn;

		if (parse_syn(pkts[i], lens[i], &syn) != PARSE_SYN) {
			bad++;
			continue;
		}
		policy_decide(fx->p, &syn.flow, now_ms / 1000, false, &dec);
		if (dec.entry >= 0)
			stats_syn(fx->st, 0, fx->p, &syn.flow, now_ms, &dec);
	}
	return bad;
}

START_TEST(test_the_counter_sees_an_allocation)
{
	size_t before;
	char *volatile p;

	count_start();
	before = allocations();
	p = malloc(16);
	free(p);
	p = strdup("inside libc");
	free(p);
	ck_assert_uint_eq(allocations() - before, 2);
}
END_TEST

START_TEST(test_parse_decide_and_stats_allocate_nothing)
{
	static uint8_t pkts[NPKT][80];
	size_t lens[NPKT], before, after;
	int64_t now = NOW_MS;
	unsigned bad = 0;
	struct fx fx;

	fx_open(&fx, 1);
	for (unsigned i = 0; i < NPKT; i++)
		lens[i] = make_syn(i, pkts[i]);
	/* Once to fill the subscriber table and open the windows, */
	ck_assert_uint_eq(judge_all(&fx, pkts, lens, now), 0);
	before = allocations();
	/* then bursts: repeat SYNs, block lines, their rate limit, a
	 * quarantine, new windows as time moves on. */
	for (int round = 0; round < 40; round++) {
		now += 2500;
		bad += judge_all(&fx, pkts, lens, now);
	}
	after = allocations();
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(after - before, 0);
	ck_assert_uint_gt(stats_quarantined_list(fx.st, now, NULL, 0), 0);
	/* And the decisions were the real ones: lines were pushed. */
	ck_assert_uint_gt(blocklog_drain(fx.bl), 0);
	fx_close(&fx);
}
END_TEST

#define QNUM 65001

/* n connects from 100.64.0.2 (residential) to 198.51.100.1:25, queued. */
static void connects(int *fds, int n)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(25) };

	inet_pton(AF_INET, "100.64.0.2", &src.sin_addr);
	inet_pton(AF_INET, "198.51.100.1", &dst.sin_addr);
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(bind(fds[i], (struct sockaddr *)&src,
				      sizeof(src)), 0);
		ck_assert(connect(fds[i], (struct sockaddr *)&dst,
				  sizeof(dst)) < 0 && errno == EINPROGRESS);
	}
}

START_TEST(test_real_bursts_through_the_verdict_loop_allocate_nothing)
{
	struct daemon d = { 0 };
	struct worker w = { 0 };
	struct queue *q;
	char err[256];
	int fds[48], n, got;
	size_t before, after;
	struct fx fx;

	if (!tests_netns("check_alloc: real-queue test"))
		return;
	ck_assert_int_eq(system(
		"ip link set lo up && ip addr add 198.51.100.1/32 dev lo && "
		"ip addr add 100.64.0.2/32 dev lo && "
		"iptables -A OUTPUT -p tcp -m mark --mark 0x40000000/0x40000000"
		" -j REJECT --reject-with tcp-reset && "
		"iptables -A OUTPUT -d 198.51.100.1 -p tcp --syn --dport 25 "
		"-j NFQUEUE --queue-num 65001"), 0);
	fx_open(&fx, 1);
	d.opts.queues = 1;
	d.stats = fx.st;
	atomic_store(&d.generation, generation_new(fx.p, 1));
	ck_assert_ptr_nonnull(atomic_load(&d.generation));
	q = queue_open(QNUM, NULL, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	w.d = &d;
	worker_attach(&w, q);

	/* A first burst, then the counted ones. */
	connects(fds, 16);
	for (got = 0; got < 16 && (n = worker_burst(&w, 2000)) > 0; got += n)
		;
	for (int i = 0; i < 16; i++)
		close(fds[i]);
	connects(fds, 48);
	before = allocations();
	for (got = 0; got < 48 && (n = worker_burst(&w, 2000)) > 0; got += n)
		;
	after = allocations();
	ck_assert_uint_eq(after - before, 0);
	ck_assert_int_eq(got, 48);
	/* Judged for real: residential port 25, rejected. */
	ck_assert_uint_eq(atomic_load(&w.verdicts[POLICY_REJECT]), 64);
	for (int i = 0; i < 48; i++)
		close(fds[i]);
	queue_close(q);
	/* The generation owns the policy now. */
	generation_free(atomic_load(&d.generation));
	fx.p = NULL;
	fx_close(&fx);
}
END_TEST

/* valgrind replaces malloc itself, so nothing here would be counted. */
static bool under_valgrind(void)
{
	return tests_under_valgrind();
}

/* Listen on addr:port in the namespace; the socket, to close. */
static int listen_on(const char *addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, addr, &a.sin_addr);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 64), 0);
	return fd;
}

/* 0 once connected, else the error (ECONNREFUSED: a reset). */
static int connect_outcome(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	return err;
}

/*
 * One burst mixing what the look-ahead judges together: residential,
 * business and non-subscriber sources, port 25 and 587, the relay. Each
 * connect must end as its own decision says: the verdicts go to the
 * packets they were made for, in runs, whatever the mix. The burst is
 * larger than the look-ahead's slots: the rest are judged one by one.
 */
START_TEST(test_a_mixed_burst_gets_each_packet_its_own_verdict)
{
	static const char *const srcs[] = {
		"100.64.0.2", "100.64.0.17", "203.0.113.5",
	};
	static const struct { const char *dst; uint16_t port; } to[] = {
		{ "198.51.100.1", 25 }, { "198.51.100.1", 587 },
		{ "192.0.2.25", 25 }, { "198.51.100.1", 25 },
	};
	enum { N = WORKER_LOOK + 32 };
	struct queue_config cfg = { .burst = 2 * WORKER_LOOK };
	struct daemon d = { 0 };
	struct worker w = { 0 };
	int fds[N], lfd[3], got = 0, n, refused = 0;
	struct queue *q;
	char err[256];
	struct fx fx;

	if (!tests_netns("check_alloc: real-queue test"))
		return;
	ck_assert_int_eq(system(
		"ip link set lo up && ip addr add 198.51.100.1/32 dev lo && "
		"ip addr add 192.0.2.25/32 dev lo && "
		"ip addr add 100.64.0.2/32 dev lo && "
		"ip addr add 100.64.0.17/32 dev lo && "
		"ip addr add 203.0.113.5/32 dev lo && "
		"iptables -A OUTPUT -p tcp -m mark --mark 0x40000000/0x40000000"
		" -j REJECT --reject-with tcp-reset && "
		"iptables -A OUTPUT -p tcp --syn -m multiport --dports 25,587 "
		"-j NFQUEUE --queue-num 65001"), 0);
	lfd[0] = listen_on("198.51.100.1", 25);
	lfd[1] = listen_on("198.51.100.1", 587);
	lfd[2] = listen_on("192.0.2.25", 25);
	fx_open(&fx, 1);
	d.opts.queues = 1;
	d.stats = fx.st;
	atomic_store(&d.generation, generation_new(fx.p, 1));
	ck_assert_ptr_nonnull(atomic_load(&d.generation));
	q = queue_open(QNUM, &cfg, err, sizeof(err));
	ck_assert_msg(q != NULL, "%s", err);
	w.d = &d;
	worker_attach(&w, q);

	for (int i = 0; i < N; i++) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		struct sockaddr_in dst = { .sin_family = AF_INET };

		inet_pton(AF_INET, srcs[i % 3], &src.sin_addr);
		inet_pton(AF_INET, to[i / 3 % 4].dst, &dst.sin_addr);
		dst.sin_port = htons(to[i / 3 % 4].port);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ck_assert_int_ge(fds[i], 0);
		ck_assert_int_eq(bind(fds[i], (struct sockaddr *)&src,
				      sizeof(src)), 0);
		ck_assert(connect(fds[i], (struct sockaddr *)&dst,
				  sizeof(dst)) < 0 && errno == EINPROGRESS);
	}
	while (got < N && (n = worker_burst(&w, 2000)) > 0)
		got += n;
	ck_assert_int_eq(got, N);
	for (int i = 0; i < N; i++) {
		/* Only residential to port 25 of a non-relay is reset. */
		bool reject = i % 3 == 0 && to[i / 3 % 4].port == 25 &&
			      strcmp(to[i / 3 % 4].dst, "192.0.2.25") != 0;
		int e = connect_outcome(fds[i]);

		ck_assert_msg(e == (reject ? ECONNREFUSED : 0),
			      "connect %d (%s to %s:%u): %s", i, srcs[i % 3],
			      to[i / 3 % 4].dst, to[i / 3 % 4].port,
			      e ? strerror(e) : "connected");
		refused += reject;
		close(fds[i]);
	}
	ck_assert_uint_eq(atomic_load(&w.verdicts[POLICY_REJECT]),
			  (unsigned)refused);
	ck_assert_uint_eq(atomic_load(&w.verdicts[POLICY_ACCEPT]),
			  (unsigned)(N - refused));
	for (int i = 0; i < 3; i++)
		close(lfd[i]);
	queue_close(q);
	generation_free(atomic_load(&d.generation));
	fx.p = NULL;
	fx_close(&fx);
}
END_TEST

Suite *alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc;

	if (under_valgrind()) {
		fprintf(stderr, "alloc: not under valgrind (it owns malloc); "
			"every other round runs it\n");
		return s;
	}
	tc = tcase_create("verdict path");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_the_counter_sees_an_allocation);
	tcase_add_test(tc, test_parse_decide_and_stats_allocate_nothing);
	tcase_add_test(tc, test_real_bursts_through_the_verdict_loop_allocate_nothing);
	tcase_add_test(tc, test_a_mixed_burst_gets_each_packet_its_own_verdict);
	suite_add_tcase(s, tc);
	return s;
}
