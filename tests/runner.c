// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One runner for every module's Check suite (tests/check_NAME.c).
 * `check` runs them all; `check NAME...` only those; `check -x NAME...`
 * all but those — so that the Makefile can run two halves side by side
 * on two cores (make unit, make valgrind).
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

static bool named(const char *name, int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	SRunner *sr = srunner_create(NULL);
	bool except = argc > 1 && !strcmp(argv[1], "-x");
	int from = except ? 2 : 1, known = 0, failed;

#define SUITE(name) \
	if (named(#name, argc, argv, from)) \
		known++; \
	if (argc == 1 || named(#name, argc, argv, from) != except) \
		srunner_add_suite(sr, name##_suite());
#include "suites.inc"
#undef SUITE
	if (known != argc - from) {
		fprintf(stderr, "check: a suite named is none of tests/"
			"check_*.c's\n");
		srunner_free(sr);
		return EXIT_FAILURE;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
