/* kernel.h: the internal interfaces of the files in kernel/, one section per file (arch and drivers have their own headers). */
#ifndef UNICYCLE_KERNEL_H
#define UNICYCLE_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#ifndef UNICYCLE_HOST_TEST /* host unit tests of runtime pieces have no board */
#include "config.h" /* generated per board into build/<board>/gen/ */
#endif
#include <unicycle/unicycle.h>
#include <unicycle/timer.h>
#include "arch/x86_64/io.h" /* read_gs32 for smp_cpu_id */
#include <unicycle/bootinfo.h>   /* BOOTINFO_NET_DNS_MAX */

/*
 * Conventions: a function's prefix is its file's name (console_* in
 * console.c). Errors are negative errno values (<errno.h>). Public app API
 * is uc_* in runtime/include/unicycle/ only. This header declares the
 * files of kernel/ only: the CPU and its interrupt hardware have one header
 * per file in arch/x86_64/ (cpu.h, gdt.h, idt.h, irq.h, lapic.h, ...; io.h
 * for the inline instructions), PCI drivers use drivers/pci.h, NIC drivers
 * net/netdev.h.
 */

typedef void (*loop_fn)(void *arg); /* work run from the event loop */

/* main.c: entry from start.S, bring-up order, init levels */
__attribute__((noreturn)) void kernel_main(uint64_t bootinfo_phys);
/*
 * Init levels. Once the core is up (CPU tables, memory, ACPI, clock,
 * interrupts, CPUs) and interrupts are on, kernel_main runs every
 * INIT_CALL(level, fn) of the build, level by level; within a level in link
 * order (do not depend on it). A bus or stack registers itself here instead
 * of being called by name, so a board without it is a Kconfig choice.
 * Levels are numbers: linker.ld sorts the sections by name.
 */
#define INIT_BUS    1 /* buses: enumerate, bind their drivers (pci.c) */
#define INIT_DRIVER 2 /* drivers of devices no bus enumerates */
#define INIT_STACK  3 /* stacks over the devices registered so far (net.c; the block layer) */
#define INIT_LATE   4 /* what needs all of the above */
typedef void (*init_fn)(void);
#define INIT_CALL_SECTION_(level) ".init_calls." #level
#define INIT_CALL_SECTION(level) INIT_CALL_SECTION_(level)
/* INIT_CALL(INIT_BUS, pci_init); after `static void pci_init(void) {...}`. */
#define INIT_CALL(level, fn)                                          \
	static const init_fn fn##_init_call                           \
		__attribute__((used, section(INIT_CALL_SECTION(level)))) = fn

/*
 * console.c: console output, to every console driver that answered at
 * console_init() (drivers/uart16550.c is one; a board picks its drivers in
 * Kconfig). A driver fills one const struct console_driver and registers
 * it with CONSOLE_DRIVER(); ops run with the console lock held, from any
 * context (panics and CPU exceptions too), and must not allocate.
 */
struct console_driver {
	void *state;                        /* the driver's, passed to both ops */
	int (*init)(void *state);           /* REQUIRED: 0 when the device answers */
	void (*putc)(void *state, char c);  /* REQUIRED: one byte out, may busy-wait */
};
/* CONSOLE_DRIVER(my_console) = { .state = ..., .init = ..., .putc = ... }; */
#define CONSOLE_DRIVER(var)                                                 \
	static const struct console_driver var;                             \
	static const struct console_driver *const var##_entry               \
		__attribute__((used, section(".console_drivers"))) = &var; \
	static const struct console_driver var
/* Early in kernel_main, before anything can fail: initializes every
 * registered console driver; with none answering, output is dropped and
 * the app still runs. */
void console_init(void);
void console_write(const char *buf, size_t len);
int console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* panic.c: always-on, allocation-free failure paths */
__attribute__((noreturn, format(printf, 3, 4)))
void panic_at(const char *file, int line, const char *fmt, ...);
#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
#define kassert(cond)                                                        \
	do {                                                                 \
		if (!(cond))                                                 \
			panic_at(__FILE__, __LINE__, "assertion failed: %s", \
				 #cond);                                     \
	} while (0)
/* For a checker (sanitize/) that found the fault in its caller: prints
 * "PANIC: <message>" and the backtrace of panic_backtrace(rbp, pc, 0). */
__attribute__((noreturn, format(printf, 3, 4)))
void panic_frame(uint64_t rbp, uint64_t pc, const char *fmt, ...);
/* Prints "backtrace:" then one "  #<n> 0x<16 hex>" line per frame: `pc`
 * first when not 0, the return address at `rsp` when a frameless leaf
 * faulted (rsp 0: none), then the return addresses of the frame-pointer
 * chain starting at rbp. */
void panic_backtrace(uint64_t rbp, uint64_t pc, uint64_t rsp);

/* bootinfo.c: reading the FDT the bootloader passed (see unicycle/bootinfo.h) */
struct bootinfo_range {
	uint64_t base;
	uint64_t size;
};
#define BOOTINFO_MAX_RANGES 128
#define BOOTINFO_MAX_LOW 16
struct bootinfo {
	const void *fdt;
	const char *cmdline;
	const char *boot_source;  /* "disk" or "net" */
	const char *boot_server;  /* NULL unless netbooted */
	uint64_t rsdp;            /* 0 when absent */
	uint64_t image_base, image_size;
	uint64_t tsc_start, tsc_jump;
	const char *net_mode;     /* NULL, "dhcp" or "static" */
	const char *net_address;  /* "a.b.c.d/len" or NULL */
	const char *net_gateway;  /* or NULL */
	const char *net_dns[BOOTINFO_NET_DNS_MAX]; /* "a.b.c.d" each, NULL after the last */
	size_t nmem;              /* usable RAM minus reserved ranges, sorted */
	struct bootinfo_range mem[BOOTINFO_MAX_RANGES];
	size_t nreserved;
	struct bootinfo_range reserved[BOOTINFO_MAX_RANGES];
	size_t nlow;              /* usable RAM below 1 MiB (not in mem): trampolines */
	struct bootinfo_range low[BOOTINFO_MAX_LOW];
};
/* Parses and checks the blob; panics naming the node/property when the
 * contract is broken (the bootloader is ours: a mismatch is a bug). */
void bootinfo_init(uint64_t fdt_phys);
extern struct bootinfo bootinfo;
/* The checks behind bootinfo_init, without panicking (host unit tests):
 * 0, or -1 with a message naming the node/property in err. */
int bootinfo_parse(const void *fdt, struct bootinfo *bi, char *err, size_t errlen);
uint64_t bootinfo_usable_bytes(const struct bootinfo *bi);
/* Takes one 4 KiB page of usable RAM from [4 KiB, limit) out of bi->mem
 * and lists it in bi->reserved (both stay sorted); its address, or 0 when
 * no such page is free (or the lists are full). */
uint64_t bootinfo_take_low_page(struct bootinfo *bi, uint64_t limit);

/* exit.c: ending the app (isa-debug-exit on QEMU boards, halt elsewhere) */
__attribute__((noreturn)) void exit_machine(int status);

/* mem.c: physical pages and the general allocator (malloc & co. in <stdlib.h>).
 * RAM is identity mapped: a physical address is its virtual address. */
/* Named mem_setup, not mem_init: lwIP's core/mem.c defines mem_init. */
void mem_setup(void);
void *mem_alloc_pages(size_t npages);            /* 4 KiB pages, zeroed; NULL when out */
void mem_free_pages(void *p, size_t npages);
/* Uncached mapping of device memory (BARs); returns the virtual address. */
volatile void *mem_map_mmio(uint64_t phys, size_t size);
struct mem_stats {
	size_t bytes_in_use;   /* malloc'd bytes not yet freed */
	size_t peak_bytes;
	size_t pages_free;
	size_t pages_total;
	size_t pages_zeroed;   /* pages zeroed at their first take since boot */
};
void mem_get_stats(struct mem_stats *out);

/* smp.c: CPUs: per-CPU areas reached through GS base, their stacks, and
 * which APs to start (CONFIG_SMP; arch/x86_64/ap.c does the starting).
 * CPU 0 is the boot CPU. */
struct smp_cpu {
	struct smp_cpu *self;       /* %gs:0 */
	unsigned id;                /* %gs:8, see smp_cpu_id() */
	uint32_t apic_id;
	uint64_t stack_lo, stack_hi; /* where its stack frames live (backtraces) */
	volatile uint32_t online;
};
void smp_init_bsp(void);          /* first thing: GS base of CPU 0 */
void smp_reserve_low(void);       /* before mem_setup: the trampoline page */
void smp_start(void);             /* after irq_init: APs up, "N CPUs online" */
unsigned smp_cpu_count(void);
struct smp_cpu *smp_cpu(unsigned id); /* NULL when not online */
void smp_wake(unsigned cpu);      /* IPI that ends its HLT (no-op for itself) */
/* A new AP, from ap.c once its CPU state is set up: online, then its loop. */
__attribute__((noreturn)) void smp_ap_main(struct smp_cpu *c);

static inline unsigned smp_cpu_id(void)
{
#ifdef CONFIG_SMP
	return read_gs32(__builtin_offsetof(struct smp_cpu, id));
#else
	return 0;
#endif
}

/* time.c: TSC-based monotonic clock */
void time_init(void);
uint64_t time_ns(void);          /* nanoseconds since boot, monotonic */
uint64_t time_entry_ns(void);    /* time_ns() when the runtime was entered (PVH entry or the jump) */
void time_delay_us(uint64_t us); /* busy wait */
uint64_t time_ns_to_tsc(uint64_t ns); /* the TSC value at time_ns() == ns */

/* timer.c: one-shot timers in a binary min-heap, fired from the loop
 * (public API: unicycle/timer.h) */
/* Runs every timer due at `now`; returns how many ran. */
unsigned timer_run(uint64_t now);
/* Deadline of the earliest timer, UINT64_MAX when none. */
uint64_t timer_next(void);
size_t timer_count(void);

/* loop.c: the run-to-completion event loop */
/* A poller runs on every loop iteration (NIC RX/TX reclaim, lwIP timers). */
int loop_add_poller(loop_fn fn, void *arg);
/* Deferred work: runs once, from the loop, in FIFO order. Safe from IRQs.
 * loop_defer queues to the calling CPU, loop_defer_on to any online CPU
 * (and wakes it). 0, -EINVAL or -ENOSPC (queue full). */
int loop_defer(loop_fn fn, void *arg);
int loop_defer_on(unsigned cpu, loop_fn fn, void *arg);
/* Runs until uc_exit(); never returns. Every CPU runs one; timers,
 * pollers and interrupt handlers run on CPU 0's only. */
__attribute__((noreturn)) void loop_run(void);
/* A poller that did work says so (counts toward events, keeps the pass
 * from counting as idle). */
void loop_note_events(unsigned n);

/* watchdog.c: the event-loop watchdog (CONFIG_WATCHDOG) and the hardware
 * watchdog it feeds. A hardware watchdog driver fills one const struct
 * watchdog_driver and hands it to watchdog_register() from its probe. */
struct watchdog_driver {
	const char *name;
	void *state;                                   /* the driver's, passed to both ops */
	/* REQUIRED: start counting; the machine resets unless fed within
	 * timeout_ms. 0, or negative errno (then nothing was started). */
	int (*start)(void *state, uint32_t timeout_ms);
	/* REQUIRED: restart the count; runs with interrupts on or off, must not allocate. */
	void (*feed)(void *state);
};
#ifdef CONFIG_WATCHDOG
/* The first one registered is used; `caused_reset`: its timeout caused the last reset. */
void watchdog_register(const struct watchdog_driver *drv, bool caused_reset);
void watchdog_start(void);         /* CPU 0's loop, before its first pass */
void watchdog_stop(void);          /* exit_machine(): no more checks (the hardware counts on) */
void watchdog_beat(uint64_t now);  /* CPU 0's loop, every pass: heartbeat, feeds the hardware */
/* The LAPIC deadline for a halted loop: `next_ns` (0: none), or the next check if sooner. */
uint64_t watchdog_idle_deadline(uint64_t next_ns);
/* From the timer interrupt (IRQ_VEC_TIMER) with the interrupted RIP, RBP, RSP:
 * reports a stalled loop (and never returns), else re-arms the check. */
void watchdog_tick(uint64_t rip, uint64_t rbp, uint64_t rsp);
/* From the NMI handler: true when the NMI is the watchdog's (then it was
 * checked as watchdog_tick does, whatever the interrupted RFLAGS.IF). */
bool watchdog_nmi(uint64_t rip, uint64_t rbp, uint64_t rsp, uint64_t rflags);
#else
static inline void watchdog_start(void) {}
static inline void watchdog_stop(void) {}
static inline void watchdog_beat(uint64_t now) { (void)now; }
static inline uint64_t watchdog_idle_deadline(uint64_t next_ns) { return next_ns; }
static inline void watchdog_tick(uint64_t rip, uint64_t rbp, uint64_t rsp)
{
	(void)rip, (void)rbp, (void)rsp;
}
static inline bool watchdog_nmi(uint64_t rip, uint64_t rbp, uint64_t rsp, uint64_t rflags)
{
	(void)rip, (void)rbp, (void)rsp, (void)rflags;
	return false;
}
#endif

#endif
