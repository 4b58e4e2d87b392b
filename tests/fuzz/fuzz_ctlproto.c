// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * common/ctlproto under libFuzzer: any bytes as a request read from the
 * control socket (anyone with access to the socket writes them). A
 * request that parses must encode back to the very same bytes; arguments
 * that encode must parse back to the same arguments.
 */
#include <errno.h>
#include <string.h>

#include "common/ctlproto.h"
#include "tests/fuzz/fuzz.h"

/* The daemon's way: parse every prefix as it arrives; until the request
 * is whole, the answer is 0 and the buffer is left as it was. */
static void check_prefix(const uint8_t *data, size_t len)
{
	char *buf = malloc(len ? len : 1), *argv[CTL_ARGS_MAX];
	int r;

	FUZZ_ASSERT(buf);
	memcpy(buf, data, len);
	r = ctlproto_parse(buf, len, argv);
	if (r == 0)
		FUZZ_ASSERT(!memcmp(buf, data, len));
	free(buf);
}

static void check_parse(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), *argv[CTL_ARGS_MAX];
	char out[CTL_REQUEST_MAX + 1];
	int argc, n;

	FUZZ_ASSERT(buf);
	memcpy(buf, data, size);
	errno = 0;
	argc = ctlproto_parse(buf, size, argv);
	FUZZ_ASSERT(argc >= -1 && argc <= CTL_ARGS_MAX);
	if (argc < 0)
		FUZZ_ASSERT(errno == EINVAL);
	if (argc == 0) {
		/* Incomplete: no empty line yet, nothing touched. */
		FUZZ_ASSERT(!memcmp(buf, data, size));
		FUZZ_ASSERT(!memchr(data, '\0', size));
	}
	if (argc > 0) {
		for (int i = 0; i < argc; i++) {
			size_t l = strlen(argv[i]);

			FUZZ_ASSERT(argv[i] >= buf && argv[i] + l < buf + size);
			FUZZ_ASSERT(l > 0 && !memchr(argv[i], '\n', l));
		}
		/* A parsed request re-encodes to exactly its bytes. */
		n = ctlproto_encode(out, sizeof(out), argc, argv);
		FUZZ_ASSERT(n >= 0 && (size_t)n == size);
		FUZZ_ASSERT(!memcmp(out, data, size));
		/* Every shorter prefix is incomplete, never malformed. */
		check_prefix(data, size / 2);
		check_prefix(data, size - 1);
	}
	free(buf);
}

/* The client's way: the input split at NULs as arguments, encoded and
 * parsed back. */
static void check_encode(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1), *args[CTL_ARGS_MAX + 2], *argv[CTL_ARGS_MAX];
	char out[CTL_REQUEST_MAX];
	size_t osize = 1 + data[0] % sizeof(out);
	int argc = 0, n, r;
	char *p;

	FUZZ_ASSERT(in);
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	for (p = in; p < in + size - 1 && argc < CTL_ARGS_MAX + 2;
	     p += strlen(p) + 1)
		args[argc++] = p;
	errno = 0;
	n = ctlproto_encode(out, osize, argc, args);
	if (n < 0) {
		FUZZ_ASSERT(errno == EINVAL || errno == EMSGSIZE);
		free(in);
		return;
	}
	FUZZ_ASSERT((size_t)n <= osize);
	FUZZ_ASSERT(argc >= 1 && argc <= CTL_ARGS_MAX);
	r = ctlproto_parse(out, (size_t)n, argv);
	FUZZ_ASSERT(r == argc);
	for (int i = 0; i < argc; i++)
		FUZZ_ASSERT(!strcmp(argv[i], args[i]));
	free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The daemon never parses more than CTL_REQUEST_MAX bytes. */
	if (size > CTL_REQUEST_MAX)
		return 0;
	check_parse(data, size);
	if (size > 0)
		check_encode(data, size);
	return 0;
}
