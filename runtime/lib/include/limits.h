/* limits.h: end of the chain for GCC's own <limits.h>, which defines every limit itself. */
/*
 * GCC's <limits.h> (in `gcc -print-file-name=include`, searched first)
 * does `#include_next <limits.h>` to pick up a C library's extra limits.
 * With -nostdinc that lookup lands here; the runtime has no extra limits,
 * so this file is intentionally empty apart from the guard.
 */
#ifndef UNICYCLE_LIBC_LIMITS_H
#define UNICYCLE_LIBC_LIMITS_H
#endif
