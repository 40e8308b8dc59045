/* assert.h: assert() is always on and ends the app through panic (NDEBUG is ignored). */
#ifndef UNICYCLE_LIBC_ASSERT_H
#define UNICYCLE_LIBC_ASSERT_H

__attribute__((noreturn)) void assert_fail(const char *expr, const char *file,
					   int line, const char *func);

#define assert(e) ((e) ? (void)0 : assert_fail(#e, __FILE__, __LINE__, __func__))

#ifndef __cplusplus
#define static_assert _Static_assert
#endif

#endif
