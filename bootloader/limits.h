/* limits.h: lets libfdt's <limits.h> resolve in the freestanding build. */
/*
 * runtime/lib/include has no limits.h, and GCC's own limits.h, under
 * -nostdinc, chains to a C library limits.h that is not there. Telling it
 * there is no such library makes it define everything itself. Hosted builds
 * (the unit tests) see a plain pass-through.
 */
#if !__STDC_HOSTED__ && !defined(_LIBC_LIMITS_H_)
#define _LIBC_LIMITS_H_
#endif
#include_next <limits.h>
