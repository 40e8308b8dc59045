/* panic.c: always-on, allocation-free failure paths: panic, assert, backtrace. */
#include <assert.h>

#include "kernel/kernel.h"
#include "arch/x86_64/irq.h"

/* The boot stack (start.S), CPU 0's. */
extern char start_stack_bottom[], start_stack_top[];
extern char __text_start[], __text_end[]; /* linker.ld */

#define PANIC_CALL_REL32 0xe8 /* opcode of CALL rel32 (SDM Vol. 2A, CALL) */

#define PANIC_BACKTRACE_DEPTH 24
#define PANIC_EXIT_STATUS 255

static int panic_depth;

/*
 * Walks the frame-pointer chain (we build with -fno-omit-frame-pointer):
 * [rbp] = caller's rbp, [rbp+8] = return address. Stops at the zero rbp
 * start.S plants, or at anything outside the stack or misaligned, so a
 * corrupt chain cannot fault in here. One line per frame,
 * "  #<n> 0x<16 hex digits>", which `unicycle run` symbolizes; `pc`, when
 * not 0, is frame #0 (the faulting instruction).
 */
void panic_backtrace(uint64_t rbp, uint64_t pc, uint64_t rsp)
{
	/* This CPU's stack (an AP has its own, smp.c). */
	const struct smp_cpu *c = smp_cpu(smp_cpu_id());
	uint64_t lo = c ? c->stack_lo : (uint64_t)(uintptr_t)start_stack_bottom;
	uint64_t hi = c ? c->stack_hi : (uint64_t)(uintptr_t)start_stack_top;
	int n = 0;

	console_printf("backtrace:\n");
	if (pc)
		console_printf("  #%d 0x%016lx\n", n++, (unsigned long)pc);
	/* A leaf function may run without a frame of its own (GCC omits it
	 * in leaves): then its return address is at [rsp] and the rbp chain
	 * starts at its caller's caller. Trust [rsp] only when it points
	 * just past a CALL rel32 (E8) into .text, and is not the chain's
	 * first return address anyway. */
	if (rsp >= lo && rsp + sizeof(uint64_t) <= hi && !(rsp & 7)) {
		uint64_t ret = *(const uint64_t *)(uintptr_t)rsp;
		uint64_t first = rbp >= lo && rbp + 16 <= hi ? ((const uint64_t *)(uintptr_t)rbp)[1] : 0;

		if (ret >= (uint64_t)(uintptr_t)__text_start + 5 &&
		    ret < (uint64_t)(uintptr_t)__text_end && ret != first &&
		    *(const uint8_t *)(uintptr_t)(ret - 5) == PANIC_CALL_REL32)
			console_printf("  #%d 0x%016lx\n", n++, (unsigned long)ret);
	}
	for (int i = 0; i < PANIC_BACKTRACE_DEPTH; i++) {
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;

		if (rbp < lo || rbp + 2 * sizeof(uint64_t) > hi || (rbp & 7))
			break;
		if (frame[1] == 0)
			break;
		console_printf("  #%d 0x%016lx\n", n++, (unsigned long)frame[1]);
		if (frame[0] <= rbp) /* the chain must move up the stack */
			break;
		rbp = frame[0];
	}
}

static void panic_begin(void)
{
	irq_disable();
	/* A panic while panicking (say, the console faults): just stop. */
	if (panic_depth++ > 0)
		exit_machine(PANIC_EXIT_STATUS);
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	panic_begin();
	console_printf("\nunicycle: PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	uc_vprintf(fmt, ap);
	va_end(ap);
	console_printf("\n");
	panic_backtrace((uint64_t)(uintptr_t)__builtin_frame_address(0), 0, 0);
	exit_machine(PANIC_EXIT_STATUS);
}

void panic_frame(uint64_t rbp, uint64_t pc, const char *fmt, ...)
{
	va_list ap;

	panic_begin();
	console_printf("\nunicycle: PANIC: ");
	va_start(ap, fmt);
	uc_vprintf(fmt, ap);
	va_end(ap);
	console_printf("\n");
	panic_backtrace(rbp, pc, 0);
	exit_machine(PANIC_EXIT_STATUS);
}

void assert_fail(const char *expr, const char *file, int line, const char *func)
{
	panic_at(file, line, "assertion failed in %s(): %s", func, expr);
}
