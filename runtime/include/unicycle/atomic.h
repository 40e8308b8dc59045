/* atomic.h: atomics and spinlocks for apps and the runtime; with CONFIG_SMP off the locks compile to nothing. */
#ifndef UNICYCLE_ATOMIC_H
#define UNICYCLE_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>
#if __has_include("config.h")
#include "config.h" /* CONFIG_SMP, generated per build */
#endif

/* Sequentially consistent read-modify-write on integers (compiler builtins;
 * single instructions with LOCK on x86_64). They stay atomic with SMP off:
 * interrupts (run from the loop) never race them, but they are cheap. */
#define uc_atomic_load(p)        __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define uc_atomic_store(p, v)    __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define uc_atomic_add(p, v)      __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define uc_atomic_sub(p, v)      __atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)
#define uc_atomic_xchg(p, v)     __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
/* *p = desired if *p == *expected (true); else *expected = *p (false). */
#define uc_atomic_cas(p, expected, desired)                                  \
	__atomic_compare_exchange_n((p), (expected), (desired), false,          \
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

#ifdef CONFIG_SMP
typedef struct {
	volatile uint32_t locked;
} uc_spinlock_t;
#define UC_SPINLOCK_INIT { 0 }

static inline void uc_spin_lock(uc_spinlock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			__asm__ volatile("pause" ::: "memory");
}

static inline bool uc_spin_trylock(uc_spinlock_t *l)
{
	return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void uc_spin_unlock(uc_spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}
#else
/* One CPU, and interrupt work runs from the loop: nothing to exclude. */
typedef struct {
} uc_spinlock_t;
#define UC_SPINLOCK_INIT { }
static inline void uc_spin_lock(uc_spinlock_t *l) { (void)l; }
static inline bool uc_spin_trylock(uc_spinlock_t *l) { (void)l; return true; }
static inline void uc_spin_unlock(uc_spinlock_t *l) { (void)l; }
#endif

#endif
