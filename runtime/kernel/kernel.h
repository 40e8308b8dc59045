/* kernel.h: the runtime's internal interfaces, one section per file. */
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
#include <unicycle/bootinfo.h>   /* BOOTINFO_NET_DNS_MAX */

/*
 * Conventions: a function's prefix is its file's name (console_* in
 * console.c). Errors are negative errno values (<errno.h>). Public app API
 * is uc_* in runtime/include/unicycle/ only.
 */

typedef void (*loop_fn)(void *arg); /* work run from the event loop */

/* main.c: entry from start.S, bring-up order */
__attribute__((noreturn)) void kernel_main(uint64_t bootinfo_phys);

/* console.c: console output (16550 UART, see drivers/uart16550.c) */
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

/* idt.c (arch/x86_64): CPU exceptions report registers + backtrace, exit 255 */
void idt_init(void);
void idt_load(void);              /* an AP: load the table idt_init built */

/* lapic.c (arch/x86_64): this CPU's local APIC */
void lapic_init(void);            /* BSP: picks x2APIC/xAPIC, calibrates the timer */
void lapic_enable_cpu(void);      /* any CPU: APIC on in the BSP's mode, timer masked */
bool lapic_is_x2apic(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void lapic_timer_arm(uint64_t deadline_ns); /* time_ns() clock; 0 disarms */

/* ioapic.c (arch/x86_64): IOAPIC pins, masked until routed */
void ioapic_init(void);
int ioapic_route(uint32_t gsi, uint8_t vector, uint16_t flags, uint32_t dest_apic_id);
void ioapic_mask(uint32_t gsi);

/* irq.c (arch/x86_64): vectors; handlers run from the event loop, not in
 * interrupt context (an interrupt only sets a pending bit). */
void irq_init(void);              /* 8259s masked, LAPIC, IOAPICs */
/* A free device vector whose interrupts run fn(arg) from the loop; the
 * vector (48..239), or -ENOSPC. */
int irq_alloc_vector(loop_fn fn, void *arg);
void irq_free_vector(int vector);
void irq_set_handler(int vector, loop_fn fn, void *arg);
void irq_interrupt(unsigned vector);  /* from trap_handler */
bool irq_any_pending(void);
unsigned irq_run_pending(void);
uint64_t irq_count(int vector);
/* The MSI address/data pair that delivers `vector` to APIC id `dest`. */
void irq_msi_message(int vector, uint32_t dest, uint64_t *addr, uint32_t *data);

/* io.h (arch/x86_64): port I/O, MSRs, rdtsc, cpu_relax -- inline */

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
};
void mem_get_stats(struct mem_stats *out);

/* smp.c: CPUs: per-CPU areas reached through GS base, the APs started
 * with INIT-SIPI-SIPI (CONFIG_SMP). CPU 0 is the boot CPU. */
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
bool smp_is_stack_guard(uint64_t addr); /* paging.c: an AP stack's guard page */
void smp_wake(unsigned cpu);      /* IPI that ends its HLT (no-op for itself) */

static inline unsigned smp_cpu_id(void)
{
#ifdef CONFIG_SMP
	unsigned id;

	__asm__ volatile("movl %%gs:%c1, %0" : "=r"(id)
			 : "i"(__builtin_offsetof(struct smp_cpu, id)));
	return id;
#else
	return 0;
#endif
}

/* time.c: TSC-based monotonic clock */
void time_init(void);
uint64_t time_ns(void);          /* nanoseconds since boot, monotonic */
void time_delay_us(uint64_t us); /* busy wait */
uint64_t time_tsc_hz(void);      /* TSC ticks per second */
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
struct loop_stats {
	uint64_t iterations; /* passes over pollers + deferred work */
	uint64_t events;     /* deferred items run + events pollers reported */
	uint64_t idle;       /* passes in which nothing happened */
	uint64_t idle_ns;    /* time spent halted (CONFIG_POLL off) */
};
/* A poller that did work says so (counts toward events, keeps the pass
 * from counting as idle). */
void loop_note_events(unsigned n);
void loop_get_stats(struct loop_stats *out); /* the calling CPU's loop */

/* pci.c: configuration access (ECAM from the MCFG, else port I/O), enumeration
 * across bridges and the driver table (linker section .pci_drivers) */
struct pci_dev {
	uint16_t segment;
	uint8_t bus, slot, func;
	uint16_t vendor, device;
	uint8_t class_code, subclass, prog_if, revision;
	uint8_t irq_line;
	uint64_t bar[6];      /* decoded base (64-bit BARs fill the lower index) */
	uint64_t bar_size[6];
	bool bar_is_io[6];
	void *driver_state;   /* set by the driver's probe */
};
struct pci_id {
	uint16_t vendor, device;   /* end of table: vendor == 0 */
};
struct pci_driver {
	const char *name;
	const struct pci_id *ids;
	/* Returns 0 when the device is now driven, negative errno otherwise. */
	int (*probe)(struct pci_dev *dev, const struct pci_id *matched);
};
#define PCI_DRIVER(var)                                                   \
	static const struct pci_driver var;                               \
	static const struct pci_driver *const var##_entry                 \
		__attribute__((used, section(".pci_drivers"))) = &var;   \
	static const struct pci_driver var
/* Enumerates every segment from its root bus down through bridges, then
 * probes matching drivers; one console line per function and a summary. */
void pci_init(void);
/* Interrupts by message, to a vector from irq_alloc_vector(); 0 or
 * -ENOTSUP (no such capability) / -EINVAL. pci_msix_enable() programs and
 * unmasks table entry `index` and turns MSI-X on for the function. */
int pci_msi_enable(struct pci_dev *d, int vector);
int pci_msix_count(struct pci_dev *d);  /* table entries, or -ENOTSUP */
int pci_msix_enable(struct pci_dev *d, unsigned index, int vector);
/* Configuration space at `off` (aligned down to the width). Offsets 0x100-
 * 0xfff need ECAM: without it reads give all ones and writes are dropped. */
uint32_t pci_read32(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint8_t pci_read8(const struct pci_dev *d, unsigned off);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);
void pci_write8(const struct pci_dev *d, unsigned off, uint8_t v);
/* Enables memory/I/O decoding and bus mastering. */
void pci_enable(struct pci_dev *d);
/* Offset of capability `id` (PCI 3.0 sec 6.7), 0 when absent; `start` 0 = first. */
unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned start);

#endif
