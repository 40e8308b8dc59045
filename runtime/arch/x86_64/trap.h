/* trap.h: the register frame the trap stubs (traps.S) build for trap_handler. */
#ifndef UNICYCLE_ARCH_TRAP_H
#define UNICYCLE_ARCH_TRAP_H

/* Every vector has a 16-byte stub at trap_stubs + vector * TRAP_STUB_SIZE. */
#define TRAP_STUB_SIZE 16
#define TRAP_VECTORS   256
#define TRAP_FXSAVE_SIZE 512 /* FXSAVE area, SDM Vol. 1 sec 10.5.1 */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Lowest address first: general registers pushed by trap_common, then the
 * vector and error code pushed by the stub (0 when the CPU pushes none),
 * then what the CPU pushes (SDM Vol. 3A sec 6.14.2, Figure 6-9). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

extern const char trap_stubs[];
void trap_handler(struct trap_frame *f);
#endif

#endif
