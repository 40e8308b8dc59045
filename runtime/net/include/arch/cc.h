/* arch/cc.h: lwIP's compiler and platform port for the Unicycle runtime. */
#ifndef UNICYCLE_LWIP_ARCH_CC_H
#define UNICYCLE_LWIP_ARCH_CC_H

/*
 * Included by lwip/arch.h before anything else of lwIP. The runtime is
 * freestanding: GCC gives <stdint.h>, <stddef.h>, <limits.h>; runtime/lib
 * gives <string.h> and <stdlib.h>. There is no <inttypes.h> or <ctype.h>
 * for lwIP to use, so the format macros are spelled out here and lwIP uses
 * its own character classes.
 */
#include <stdint.h>
#include <stddef.h>

#include <unicycle/unicycle.h>   /* uc_printf for LWIP_PLATFORM_DIAG */

#define LWIP_NO_INTTYPES_H 1
#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "lu"

#define LWIP_NO_CTYPE_H 1

/* x86_64 is little endian; let the compiler emit bswap. */
#ifndef BYTE_ORDER
#define BYTE_ORDER LITTLE_ENDIAN
#endif
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

/* 64-bit pointers: lwIP's IPv6 reassembly cannot keep its bookkeeping
 * inside the received fragment header, so it must copy the header
 * (lwIP asserts this at run time otherwise). A property of the platform,
 * hence here rather than in lwipopts.h. */
#ifndef IPV6_FRAG_COPYHEADER
#define IPV6_FRAG_COPYHEADER 1
#endif

/* Diagnostics and assertions go to the runtime console and panic path
 * (implemented in runtime/net/sys_arch.c). */
__attribute__((noreturn))
void sys_arch_assert(const char *msg, const char *file, int line);
unsigned int sys_arch_rand(void);

/* lwIP's diagnostics come without a prefix: straight to the console. */
#define LWIP_PLATFORM_DIAG(x)   do { uc_printf x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) sys_arch_assert((x), __FILE__, __LINE__)
#define LWIP_RAND()             ((u32_t)sys_arch_rand())

#endif
