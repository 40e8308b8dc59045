/* atomic.h: atomics and spinlocks for apps and the runtime; with CONFIG_SMP off both compile to plain code (no LOCK, no spinning). */
#ifndef UNICYCLE_ATOMIC_H
#define UNICYCLE_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>
#if __has_include("config.h")
#include "config.h" /* CONFIG_SMP, generated per build */
#endif

#ifdef CONFIG_SMP
/* Sequentially consistent read-modify-write on integers (compiler builtins;
 * single instructions with LOCK on x86_64). */
#define uc_atomic_load(p)        __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define uc_atomic_store(p, v)    __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define uc_atomic_add(p, v)      __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define uc_atomic_sub(p, v)      __atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)
#define uc_atomic_xchg(p, v)     __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
/* *p = desired if *p == *expected (true); else *expected = *p (false). */
#define uc_atomic_cas(p, expected, desired)                                  \
	__atomic_compare_exchange_n((p), (expected), (desired), false,          \
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#else
/*
 * One CPU, and interrupts never run app or runtime code (they only set
 * pending bits the loop reads): nothing can interleave with a
 * read-modify-write, so plain volatile accesses do (no LOCK prefix). The
 * volatile keeps a wait loop re-reading memory.
 */
#define uc_atomic_load(p)        (*(volatile __typeof__(*(p)) *)(p))
#define uc_atomic_store(p, v)    ((void)(*(volatile __typeof__(*(p)) *)(p) = (v)))
#define uc_atomic_add(p, v)      (*(volatile __typeof__(*(p)) *)(p) += (v))
#define uc_atomic_sub(p, v)      (*(volatile __typeof__(*(p)) *)(p) -= (v))
#define uc_atomic_xchg(p, v)                                                  \
	({                                                                   \
		volatile __typeof__(*(p)) *uc_p_ = (p);                      \
		__typeof__(*(p)) uc_old_ = *uc_p_;                           \
		*uc_p_ = (v);                                                \
		uc_old_;                                                     \
	})
#define uc_atomic_cas(p, expected, desired)                                  \
	({                                                                   \
		volatile __typeof__(*(p)) *uc_p_ = (p);                      \
		__typeof__(*(p)) uc_cur_ = *uc_p_;                           \
		bool uc_ok_ = uc_cur_ == *(expected);                        \
		if (uc_ok_)                                                  \
			*uc_p_ = (desired);                                  \
		else                                                         \
			*(expected) = uc_cur_;                               \
		uc_ok_;                                                      \
	})
#endif

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
