/* kasan.c: KASAN: the shadow memory and the checks GCC's -fsanitize=kernel-address calls (outline). */
#include "kernel/kernel.h"
#include "sanitize/kasan.h"

/*
 * Built without instrumentation (sources.toml `unsanitized`). GCC calls
 * __asan_{load,store}{1,2,4,8,16,N}_noabort(addr[, size]) before every
 * access of instrumented code (outline instrumentation: the shadow's place
 * is chosen at boot from the memory map, so GCC cannot inline its address).
 * Until mem_setup() calls kasan_init(), and for addresses at or above
 * kasan_end (device memory, firmware tables above RAM), nothing is checked.
 * kasan_init() also runs GCC's constructors, which hand each file's global
 * variables to __asan_register_globals() to get their redzones marked.
 * The first bad access is reported through panic_frame() and stops the app:
 * there is no quarantine, so the next malloc may hand the bytes out again.
 */
static uint8_t *kasan_shadow; /* the shadow byte of address a: kasan_shadow[a >> 3] */
static uint64_t kasan_end;
static bool kasan_on;

/* memset without string.c's range check (the shadow's own shadow is never
 * marked, so the check could only cost time), 8 bytes a store: the boot
 * marks 1/8 of RAM this way, and under TCG a byte store per iteration of
 * `rep stosb` took a second for 64 MiB. */
static void kasan_fill(void *dst, uint8_t code, size_t n)
{
	uint8_t *d = dst;
	uint64_t word = code * 0x0101010101010101ULL;
	size_t words;

	for (; n && ((uintptr_t)d & 7); n--)
		*d++ = code;
	words = n / 8;
	__asm__ volatile("rep stosq" : "+D"(d), "+c"(words) : "a"(word) : "memory");
	for (n &= 7; n; n--)
		*d++ = code;
}

typedef void (*kasan_ctor)(void);
extern const kasan_ctor __start_init_array[], __stop_init_array[]; /* linker.ld */

uint64_t kasan_shadow_bytes(uint64_t end)
{
	return (end + KASAN_GRANULE - 1) >> KASAN_SHIFT;
}

void kasan_init(void *shadow, uint64_t end)
{
	kasan_fill(shadow, 0, kasan_shadow_bytes(end));
	kasan_shadow = shadow;
	kasan_end = end;
	kasan_on = true;
	/* GCC's constructors: each registers its file's globals (below). */
	for (const kasan_ctor *c = __start_init_array; c < __stop_init_array; c++)
		(*c)();
	console_printf("unicycle: KASAN: %lu KiB of shadow at %p for [0, %#lx)\n",
		       (unsigned long)(kasan_shadow_bytes(end) >> 10), shadow, (unsigned long)end);
}

static bool kasan_covers(uintptr_t a, size_t n)
{
	return kasan_on && a < kasan_end && n <= kasan_end - a;
}

void kasan_poison(const void *p, size_t n, uint8_t code)
{
	uintptr_t a = (uintptr_t)p;

	if (!kasan_covers(a, n))
		return;
	if ((a | n) & (KASAN_GRANULE - 1))
		panic("KASAN: poisoning %#lx+%#lx: not whole granules", (unsigned long)a,
		      (unsigned long)n);
	kasan_fill(&kasan_shadow[a >> KASAN_SHIFT], code, n >> KASAN_SHIFT);
}

void kasan_unpoison(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;

	if (!kasan_covers(a, n))
		return;
	if (a & (KASAN_GRANULE - 1))
		panic("KASAN: unpoisoning %#lx: not granule-aligned", (unsigned long)a);
	kasan_fill(&kasan_shadow[a >> KASAN_SHIFT], 0, n >> KASAN_SHIFT);
	if (n & (KASAN_GRANULE - 1))
		kasan_shadow[(a + n) >> KASAN_SHIFT] = (uint8_t)(n & (KASAN_GRANULE - 1));
}

/* The first granule of [a, a + n) not all usable for this access, or -1. */
static int64_t kasan_first_bad(uintptr_t a, size_t n)
{
	uint64_t g = a >> KASAN_SHIFT, last = (a + n - 1) >> KASAN_SHIFT;

	for (; g <= last; g++) {
		int8_t s = (int8_t)kasan_shadow[g];

		/* Eight clean granules at a time (the shadow of a long copy). */
		while (s == 0 && g + 8 <= last &&
		       *(const uint64_t *)(const void *)&kasan_shadow[g] == 0) {
			g += 8;
			s = (int8_t)kasan_shadow[g];
		}
		if (s == 0)
			continue;
		/* s > 0: bytes 0..s-1 of the granule are usable. */
		if (s < 0 || (int)((g == last ? a + n - 1 : (g << KASAN_SHIFT) + 7) & 7) >= s)
			return (int64_t)g;
	}
	return -1;
}

static const char *kasan_kind(uint64_t g)
{
	uint8_t s = kasan_shadow[g];

	/* A partial granule: the byte past its usable part is what was hit. */
	if (s < KASAN_GRANULE && (g + 1) << KASAN_SHIFT < kasan_end)
		s = kasan_shadow[g + 1];
	switch (s) {
	case KASAN_HEAP_FREED:
		return "use-after-free";
	case KASAN_PAGE_FREE:
		return "use of a free page (use-after-free or wild pointer)";
	case KASAN_GLOBAL_REDZONE:
		return "global-buffer-overflow";
	default:
		return "heap-buffer-overflow";
	}
}

__attribute__((noinline, noreturn))
static void kasan_report(uintptr_t a, size_t n, bool write, uintptr_t ip, const void *frame,
			 uint64_t g)
{
	const char *kind = kasan_kind(g);
	uint8_t s = kasan_shadow[g];

	kasan_on = false; /* the report's own accesses are not checked */
	/* Frame #0 is the access (the call's own address: ip - 1), then the
	 * caller's frame-pointer chain. */
	panic_frame(*(const uint64_t *)frame, ip - 1,
		    "KASAN: %s: %s of %lu byte%s at %#018lx (shadow byte %#04x at %#lx)", kind,
		    write ? "write" : "read", (unsigned long)n, n == 1 ? "" : "s",
		    (unsigned long)a, s, (unsigned long)(g << KASAN_SHIFT));
}

static inline __attribute__((always_inline))
void kasan_check(uintptr_t a, size_t n, bool write, uintptr_t ip, const void *frame)
{
	int64_t g;

	if (n == 0 || !kasan_covers(a, n))
		return;
	g = kasan_first_bad(a, n);
	if (g >= 0)
		kasan_report(a, n, write, ip, frame, (uint64_t)g);
}

void kasan_check_range(const void *p, size_t n, bool write, uintptr_t ip, const void *frame)
{
	kasan_check((uintptr_t)p, n, write, ip, frame);
}

/* The entry points GCC emits (the names and arguments of AddressSanitizer's
 * runtime ABI; _noabort because kernel-address recovers by default). */
#define KASAN_CALLER __builtin_extract_return_addr(__builtin_return_address(0))
#define KASAN_ACCESS(n)                                                              \
	void __asan_load##n##_noabort(uintptr_t a);                                  \
	void __asan_store##n##_noabort(uintptr_t a);                                 \
	void __asan_load##n##_noabort(uintptr_t a)                                   \
	{                                                                            \
		kasan_check(a, n, false, (uintptr_t)KASAN_CALLER,                    \
			    __builtin_frame_address(0));                             \
	}                                                                            \
	void __asan_store##n##_noabort(uintptr_t a)                                  \
	{                                                                            \
		kasan_check(a, n, true, (uintptr_t)KASAN_CALLER,                     \
			    __builtin_frame_address(0));                             \
	}
KASAN_ACCESS(1)
KASAN_ACCESS(2)
KASAN_ACCESS(4)
KASAN_ACCESS(8)
KASAN_ACCESS(16)

void __asan_loadN_noabort(uintptr_t a, size_t n);
void __asan_storeN_noabort(uintptr_t a, size_t n);

void __asan_loadN_noabort(uintptr_t a, size_t n)
{
	kasan_check(a, n, false, (uintptr_t)KASAN_CALLER, __builtin_frame_address(0));
}

void __asan_storeN_noabort(uintptr_t a, size_t n)
{
	kasan_check(a, n, true, (uintptr_t)KASAN_CALLER, __builtin_frame_address(0));
}

/* What GCC tells about each instrumented global (its asan.c, __asan_global). */
struct kasan_global {
	uintptr_t beg;
	size_t size;               /* the variable's */
	size_t size_with_redzone;  /* what GCC laid out; the rest is redzone */
	const char *name;
	const char *module_name;
	size_t has_dynamic_init;
	const void *location;
	const char *odr_indicator;
};

void __asan_register_globals(const struct kasan_global *g, size_t n);
void __asan_unregister_globals(const struct kasan_global *g, size_t n);

void __asan_register_globals(const struct kasan_global *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uintptr_t tail = (g[i].beg + g[i].size + KASAN_GRANULE - 1) & ~(uintptr_t)(KASAN_GRANULE - 1);

		kasan_poison((const void *)tail, g[i].beg + g[i].size_with_redzone - tail,
			     KASAN_GLOBAL_REDZONE);
		kasan_unpoison((const void *)g[i].beg, g[i].size);
	}
}

void __asan_unregister_globals(const struct kasan_global *g, size_t n)
{
	(void)g, (void)n; /* destructors are discarded (linker.ld) */
}

/* Called before noreturn calls, to unpoison the stack; stacks carry no
 * shadow here (asan-stack=0), so there is nothing to do. */
void __asan_handle_no_return(void);
void __asan_handle_no_return(void)
{
}
