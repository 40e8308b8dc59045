/* check.h: the one check macro and counters shared by the host unit tests. */
#ifndef UNICYCLE_TEST_CHECK_H
#define UNICYCLE_TEST_CHECK_H

#include <stdio.h>

/* Each test file prints "N passed, M failed" at the end and exits 1 when
 * anything failed; CHECK counts and reports without stopping the run. */
static int passed, failed;

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (cond) {                                                  \
			passed++;                                            \
		} else {                                                     \
			failed++;                                            \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
		}                                                            \
	} while (0)

#endif
