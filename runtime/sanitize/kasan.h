/* kasan.h: KASAN's shadow memory (kasan.c): what mem.c marks, what string.c checks. */
#ifndef UNICYCLE_SANITIZE_KASAN_H
#define UNICYCLE_SANITIZE_KASAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One shadow byte per 8-byte granule of the address space below the end of
 * RAM (the encoding of AddressSanitizer, which GCC's instrumentation
 * assumes): 0 = all 8 bytes usable, 1..7 = only that many first bytes,
 * one of the negative codes below = none, and why.
 */
#define KASAN_SHIFT        3
#define KASAN_GRANULE      (1 << KASAN_SHIFT)
#define KASAN_PAGE_FREE    0xff /* a page in the page allocator's free lists */
#define KASAN_HEAP_FREED   0xfd /* a freed malloc object */
#define KASAN_HEAP_REDZONE 0xfa /* malloc's headers, padding and redzones */
#define KASAN_GLOBAL_REDZONE 0xf9 /* after a global variable */
#define KASAN_HEAP_REDZONE_BYTES 16 /* at least this much after every object */

/* CONFIG_KASAN for the runtime's own files; __SANITIZE_ADDRESS__ (GCC's) for
 * lib/string.c, which the bootloader shares and which sees no config.h. */
#if defined(CONFIG_KASAN) || defined(__SANITIZE_ADDRESS__)
/* Shadow bytes needed to cover [0, end). */
uint64_t kasan_shadow_bytes(uint64_t end);
/* mem_setup: `shadow` holds kasan_shadow_bytes(end) bytes that no one else
 * uses; clears it (everything usable) and turns the checks on. */
void kasan_init(void *shadow, uint64_t end);
/* p and n multiples of KASAN_GRANULE; code one of the KASAN_* codes. */
void kasan_poison(const void *p, size_t n, uint8_t code);
/* p a multiple of KASAN_GRANULE; the granule holding p + n is marked partial. */
void kasan_unpoison(const void *p, size_t n);
/* For code GCC cannot see into (string.c's rep movsb): reports and panics
 * when [p, p + n) is not all usable. ip: the caller's return address,
 * frame: the caller's frame address (__builtin_frame_address(0)). */
void kasan_check_range(const void *p, size_t n, bool write, uintptr_t ip, const void *frame);
#else
static inline void kasan_poison(const void *p, size_t n, uint8_t code)
{
	(void)p, (void)n, (void)code;
}
static inline void kasan_unpoison(const void *p, size_t n)
{
	(void)p, (void)n;
}
#endif

#endif
