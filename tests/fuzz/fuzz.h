/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the libFuzzer targets in tests/fuzz/ share: the entry point's
 * prototype (libFuzzer defines no header for it) and an invariant check
 * that stays on whatever NDEBUG says.
 */
#ifndef PORTCULLIS_FUZZ_H
#define PORTCULLIS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant is a crash: libFuzzer saves the input. */
#define FUZZ_ASSERT(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

#endif
