/* traps.S: one 16-byte entry stub per interrupt vector and the common save/restore path. */
#include "arch/x86_64/trap.h"

/* Vectors for which the CPU pushes an error code (SDM Vol. 3A sec 6.15):
 * #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30. */
#define TRAP_HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
			   (v) == 21 || (v) == 29 || (v) == 30)

	.section .text.trap_stubs, "ax"
	.balign TRAP_STUB_SIZE
	.globl trap_stubs
trap_stubs:
	.set trap_vec, 0
	.rept TRAP_VECTORS
	.balign TRAP_STUB_SIZE
	.set trap_stub_start, .
	.if !TRAP_HAS_ERROR(trap_vec)
	pushq $0                        /* uniform frame: fake error code */
	.endif
	pushq $trap_vec
	/* jmp rel32, spelled out so the stub size is known to the check below */
	.byte 0xe9
	.long trap_common - . - 4
	.if . - trap_stub_start > TRAP_STUB_SIZE
	.error "trap stub larger than TRAP_STUB_SIZE"
	.endif
	.set trap_vec, trap_vec + 1
	.endr

/* The CPU aligned RSP to 16 before its pushes (sec 6.14.2); 5 CPU + 2 stub
 * + 15 register quadwords keep it 16-aligned for the call. */
trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	/* SSE state too: C code anywhere (interrupt handlers included) may be
	 * compiled with SSE, and the interrupted code's XMM registers are live.
	 * RSP is 16-aligned here, as FXSAVE needs. */
	subq $TRAP_FXSAVE_SIZE, %rsp
	fxsave64 (%rsp)
	cld
	call trap_handler
	fxrstor64 (%rsp)
	addq $TRAP_FXSAVE_SIZE, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp                  /* vector and error code */
	iretq

	.section .note.GNU-stack, "", @progbits
