// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy_load_buffer() under libFuzzer: any bytes as a policy, then the
 * compiled policy asked everything the daemon and the CLI ask of it.
 *
 * Hermetic: `file:` lists resolve against a private temporary folder that
 * holds one small fixed list, business.list, and fuzz.list: the input's
 * bytes after its first NUL (a NUL cannot be in the YAML, so the input is
 * "policy \0 list"; without a NUL the list is empty). The loader opens
 * whatever path a policy names (an
 * absolute `file: /etc/...` or `../..` included: the policy is the
 * operator's, as trusted as the daemon's command line), so this target is
 * linked with -Wl,--wrap=open and, while a policy loads, refuses any path
 * but a plain name inside that folder (ENOENT, as if it did not exist).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/fuzz/fuzz.h"

#define NAME "fuzz.yaml"

static char dir[64];
static size_t dirlen;
static bool loading;

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);

int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	if (loading) {
		const char *name = path + dirlen + 1;

		if (strncmp(path, dir, dirlen) || path[dirlen] != '/' ||
		    strchr(name, '/') || !strcmp(name, ".") ||
		    !strcmp(name, "..") || (flags & O_ACCMODE) != O_RDONLY) {
			errno = ENOENT;
			return -1;
		}
	}
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return __real_open(path, flags, mode);
}

static void cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/business.list", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/fuzz.list", dir);
	unlink(path);
	rmdir(dir);
}

/* The list the input brings: data[0 .. len) into dir/fuzz.list. */
static void write_list(const uint8_t *data, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fuzz.list", dir);
	f = fopen(path, "w");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char list[] =
		"# the CRM export\n"
		"198.51.100.0/24\n"
		"2001:db8:1020::/48   # ticket 17\n"
		"\n"
		"100.64.0.128/25\n";
	char path[128];
	FILE *f;

	(void)argc;
	(void)argv;
	strcpy(dir, "/tmp/fuzz_policy.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	dirlen = strlen(dir);
	snprintf(path, sizeof(path), "%s/business.list", dir);
	f = fopen(path, "w");
	if (!f || fputs(list, f) < 0 || fclose(f) != 0)
		abort();
	atexit(cleanup);
	return 0;
}

static void check_errors(const struct policy_errors *errs)
{
	for (size_t i = 0; i < errs->count; i++) {
		const char *m = errs->msg[i];

		FUZZ_ASSERT(m && *m);
		/* One error, one line: "file:line:col: ..." or "file: ...". */
		FUZZ_ASSERT(!strchr(m, '\n'));
		FUZZ_ASSERT(!strncmp(m, NAME ":", sizeof(NAME)) ||
			    (!strncmp(m, dir, dirlen) && m[dirlen] == '/'));
	}
}

static void check_entry(const struct policy *p, int32_t id, int64_t now)
{
	struct policy_entry_info e;
	struct addr a;

	FUZZ_ASSERT(policy_entry_info(p, id, &e) == 0);
	FUZZ_ASSERT(e.prefix[0] && strchr(e.prefix, '/'));
	FUZZ_ASSERT(e.profile_id >= 0 &&
		    (unsigned)e.profile_id < policy_profile_count(p));
	FUZZ_ASSERT(e.profile && !strcmp(e.profile,
					  policy_profile_name(p, e.profile_id)));
	FUZZ_ASSERT(e.file && e.parent >= -1);
	/* The network address of a live entry is looked up as a subscriber. */
	*strchr(e.prefix, '/') = '\0';
	FUZZ_ASSERT(addr_parse(e.prefix, &a) == 0);
	if (!e.expires || e.expires > now)
		FUZZ_ASSERT(policy_lookup(p, &a, now) >= 0);
}

static void check_policy(const struct policy *p)
{
	static const int families[2] = { AF_INET, AF_INET6 };
	const int64_t now = 1790000000;	/* 2026-09 */
	struct policy_port ports[64];
	struct policy_decision d;
	struct policy_flow f = { .dport = 25 };
	int32_t ids[256];
	size_t n, total = 0;
	bool all;

	for (int i = 0; i < 2; i++) {
		size_t count = policy_entry_count(p, families[i]);

		total += count;
		n = policy_aggregates(p, families[i], ids, 256);
		FUZZ_ASSERT(n <= count);
		for (size_t k = 0; k < n && k < 256; k++)
			FUZZ_ASSERT(policy_entry_info(p, ids[k],
				    &(struct policy_entry_info){ 0 }) == 0);
	}
	for (int32_t id = 0; (size_t)id < total && id < 512; id++)
		check_entry(p, id, now);
	FUZZ_ASSERT(policy_entry_info(p, (int32_t)total, &(struct
		    policy_entry_info){ 0 }) < 0);
	n = policy_expiring(p, now, 7 * 86400, ids, 256);
	for (size_t k = 0; k < n && k < 256; k++)
		FUZZ_ASSERT(ids[k] >= 0 && (size_t)ids[k] < total);
	FUZZ_ASSERT(policy_ports(p, ports, 64, &all) <= 65536);
	for (size_t i = 0; i < policy_relay_count(p); i++)
		FUZZ_ASSERT(policy_is_relay(p, policy_relay(p, i)));
	for (unsigned i = 0; i < policy_profile_count(p); i++)
		FUZZ_ASSERT(policy_profile_name(p, (int)i) != NULL);

	addr_from_v4(&f.src, 0x64400307);	/* 100.64.3.7 */
	addr_from_v4(&f.dst, 0xc0000219);	/* 192.0.2.25 */
	for (int q = 0; q < 2; q++) {
		policy_decide(p, &f, now, q, &d);
		FUZZ_ASSERT(d.profile >= -1 &&
			    d.profile < (int)policy_profile_count(p));
		FUZZ_ASSERT(d.entry >= -1 && (size_t)(d.entry + 1) <= total);
		FUZZ_ASSERT(policy_mode(p) == POLICY_MODE_MONITOR ?
			    d.verdict == POLICY_ACCEPT : d.verdict == d.action);
	}
	FUZZ_ASSERT(!strcmp(policy_path(p), NAME));
	FUZZ_ASSERT(policy_detection(p) && policy_log_config(p));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	struct policy_errors errs = { 0 };
	size_t ylen = nul ? (size_t)(nul - data) : size;
	struct policy *p;

	write_list(nul ? nul + 1 : data, nul ? size - ylen - 1 : 0);
	loading = true;
	p = policy_load_buffer(NAME, dir, (const char *)data, ylen, &errs);
	loading = false;
	FUZZ_ASSERT(!p == (errs.count > 0));
	check_errors(&errs);
	if (p)
		check_policy(p);
	policy_free(p);
	policy_errors_free(&errs);
	return 0;
}
