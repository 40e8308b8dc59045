/* idt.c: the Interrupt Descriptor Table and the CPU exception reporter (crash = report + exit 255). */
#include "kernel/kernel.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/idt.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/irq.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/trap.h"

/* Gate descriptor, SDM Vol. 3A sec 6.14.1 Figure 6-8 (16 bytes). */
struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;        /* bits 2:0: IST index, 0 = current stack */
	uint8_t type_attr;  /* P, DPL, type */
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

#define IDT_TYPE_INTERRUPT_GATE 0x0e /* IF cleared on entry */
#define IDT_ATTR_PRESENT        0x80
#define IDT_ATTR_DPL0           0x00

#define IDT_EXIT_STATUS 255

/* Architectural exception vectors, SDM Vol. 3A sec 6.3.1 Table 6-1. */
#define IDT_VEC_NMI           2
#define IDT_VEC_DOUBLE_FAULT  8
#define IDT_VEC_PAGE_FAULT   14
#define IDT_VEC_MACHINE_CHECK 18
#define IDT_NUM_EXCEPTIONS   32

/* Page-fault error code bits, SDM Vol. 3A sec 4.7 Figure 4-12. */
#define IDT_PF_PRESENT  (1u << 0)
#define IDT_PF_WRITE    (1u << 1)
#define IDT_PF_USER     (1u << 2)
#define IDT_PF_RSVD     (1u << 3)
#define IDT_PF_FETCH    (1u << 4)

static struct idt_gate idt_table[TRAP_VECTORS] __attribute__((aligned(16)));

static const char *const idt_names[IDT_NUM_EXCEPTIONS] = {
	[0] = "#DE divide error",
	[1] = "#DB debug",
	[2] = "NMI",
	[3] = "#BP breakpoint",
	[4] = "#OF overflow",
	[5] = "#BR bound range exceeded",
	[6] = "#UD invalid opcode",
	[7] = "#NM device not available",
	[8] = "#DF double fault",
	[9] = "coprocessor segment overrun",
	[10] = "#TS invalid TSS",
	[11] = "#NP segment not present",
	[12] = "#SS stack-segment fault",
	[13] = "#GP general protection",
	[14] = "#PF page fault",
	[16] = "#MF x87 floating-point error",
	[17] = "#AC alignment check",
	[18] = "#MC machine check",
	[19] = "#XM SIMD floating-point exception",
	[20] = "#VE virtualization exception",
	[21] = "#CP control protection",
	[28] = "#HV hypervisor injection",
	[29] = "#VC VMM communication",
	[30] = "#SX security exception",
};

static void idt_set_gate(unsigned vec, uint64_t handler, uint8_t ist)
{
	struct idt_gate *g = &idt_table[vec];

	g->offset_low = handler & 0xffff;
	g->selector = GDT_SEL_CODE64;
	g->ist = ist;
	g->type_attr = IDT_ATTR_PRESENT | IDT_ATTR_DPL0 | IDT_TYPE_INTERRUPT_GATE;
	g->offset_mid = (handler >> 16) & 0xffff;
	g->offset_high = (uint32_t)(handler >> 32);
	g->reserved = 0;
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) ptr = {
		.limit = sizeof(idt_table) - 1,
		.base = (uint64_t)(uintptr_t)idt_table,
	};

	__asm__ volatile("lidt %0" : : "m"(ptr) : "memory");
}

void idt_init(void)
{
	for (unsigned v = 0; v < TRAP_VECTORS; v++) {
		uint8_t ist = 0;

		/* Faults that can strike with RSP unusable get their own stack. */
		if (v == IDT_VEC_DOUBLE_FAULT)
			ist = GDT_IST_DOUBLE_FAULT;
		else if (v == IDT_VEC_NMI)
			ist = GDT_IST_NMI;
		else if (v == IDT_VEC_MACHINE_CHECK)
			ist = GDT_IST_MACHINE_CHECK;
		idt_set_gate(v, (uint64_t)(uintptr_t)(trap_stubs + v * TRAP_STUB_SIZE), ist);
	}
	idt_load();
}

static void idt_dump(const struct trap_frame *f)
{
	console_printf("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n",
		       f->rax, f->rbx, f->rcx, f->rdx);
	console_printf("  rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n",
		       f->rsi, f->rdi, f->rbp, f->rsp);
	console_printf("  r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n",
		       f->r8, f->r9, f->r10, f->r11);
	console_printf("  r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n",
		       f->r12, f->r13, f->r14, f->r15);
	console_printf("  rflags %08lx cs %04lx ss %04lx cr3 %016lx\n",
		       f->rflags, f->cs, f->ss, (unsigned long)read_cr3());
}

/*
 * Every vector lands here. Vectors from 32 up are interrupts (irq.c);
 * below that a CPU exception is a bug: report it and end the run with
 * status 255 so a crash never hangs a test.
 */
void trap_handler(struct trap_frame *f)
{
	static int idt_nested;

	if (f->vector >= IDT_NUM_EXCEPTIONS) {
		if (f->vector == IRQ_VEC_TIMER)
			watchdog_tick(f->rip, f->rbp, f->rsp); /* returns unless the loop stalled */
		irq_interrupt((unsigned)f->vector);
		return;
	}
	if (f->vector == IDT_VEC_NMI && watchdog_nmi(f->rip, f->rbp, f->rsp, f->rflags))
		return; /* the watchdog's NMI (kernel/watchdog.c), the loop was not stuck */
	const char *name = f->vector < IDT_NUM_EXCEPTIONS && idt_names[f->vector]
				   ? idt_names[f->vector]
				   : "unexpected interrupt";

	if (__atomic_fetch_add(&idt_nested, 1, __ATOMIC_RELAXED) > 0) {
		console_printf("\nunicycle: nested CPU exception %lu at RIP %#lx\n",
			       f->vector, f->rip);
		exit_machine(IDT_EXIT_STATUS);
	}
	console_printf("\nunicycle: CPU exception %lu (%s), error %#lx, RIP %#lx\n",
		       f->vector, name, f->error, f->rip);
	if (smp_cpu_id() != 0)
		console_printf("  on CPU %u (APIC %u)\n", smp_cpu_id(), lapic_id());
	if (f->vector == IDT_VEC_PAGE_FAULT) {
		uint32_t e = (uint32_t)f->error;

		console_printf("  CR2 %#lx: %s, %s%s%s%s\n", (unsigned long)read_cr2(),
			       e & IDT_PF_PRESENT ? "protection violation" : "page not present",
			       e & IDT_PF_FETCH ? "instruction fetch" :
			       e & IDT_PF_WRITE ? "write" : "read",
			       e & IDT_PF_USER ? ", user" : "",
			       e & IDT_PF_RSVD ? ", reserved bit set" : "", "");
	}
	idt_dump(f);
	panic_backtrace(f->rbp, f->rip, f->rsp);
	exit_machine(IDT_EXIT_STATUS);
}
