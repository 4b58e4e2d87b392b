/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the Check suites share: policies loaded or the test fails (the
 * common texts are files in tests/fixtures/), whole files read back,
 * substrings counted, temporary files and folders, a private network
 * namespace. Each function fails the running test (ck_assert) rather than
 * return an error. Paths such as tests/fixtures/ are relative to the
 * repository root, where the unit tests run (make unit, make valgrind).
 */
#ifndef PORTCULLIS_TESTS_HELPERS_H
#define PORTCULLIS_TESTS_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

#define TESTS_FIXTURES "tests/fixtures"

/* The policy yaml, named test.yaml in messages, its lists read from the
 * current directory. Its errors go to stderr and fail the test. */
struct policy *tests_policy(const char *yaml);

/* The policy file at path, with ex[0 .. nex) (NULL, 0: none) added. */
struct policy *tests_policy_file(const char *path,
				 const struct policy_exception *ex, size_t nex);

/* The text of tests/fixtures/name (malloc'd, the caller frees it). */
char *tests_fixture(const char *name);

/* The policy tests/fixtures/name, with the YAML more (NULL: nothing)
 * appended, lists read from tests/fixtures/. */
struct policy *tests_fixture_policy(const char *name, const char *more);

/* The whole of the file at path, NUL-terminated, malloc'd; its length
 * into *len unless len is NULL. */
char *tests_slurp(const char *path, size_t *len);

/* How many times needle stands in hay, overlapping ones included. */
size_t tests_count(const char *hay, const char *needle);

/* An empty new file /tmp/portcullis-TAG-XXXXXX; its path into path. */
void tests_tmpfile(char *path, size_t size, const char *tag);

/* A new folder /tmp/portcullis-TAG-XXXXXX for a test's files. */
struct tests_dir {
	char path[64];
	char file[192];		/* tests_dir_put()'s last */
};

void tests_dir_open(struct tests_dir *d, const char *tag);

/* Write text as the folder's file name; returns its path, valid until
 * the next call. */
const char *tests_dir_put(struct tests_dir *d, const char *name,
			  const char *text);

/* Remove every file in the folder, then the folder. */
void tests_dir_close(struct tests_dir *d);

/* Move this process into a network namespace of its own. Without root
 * (or unshare), false and "WHO: skipped, needs root ..." on stderr: the
 * caller then skips its test. */
bool tests_netns(const char *who);

/* Whether the suites run under valgrind (make valgrind): tests whose
 * point is volume, not a path, run a tenth of it there. */
bool tests_under_valgrind(void);

#endif
