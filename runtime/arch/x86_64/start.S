/* start.S: ELF entry point: own stack, own GDT, clean RFLAGS, then kernel_main(fdt). */
#include "config.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/memlayout.h"
#include "arch/x86_64/paging.h"

#ifdef CONFIG_STACK_SIZE_KIB
#define START_STACK_SIZE (CONFIG_STACK_SIZE_KIB * 1024)
#else
#define START_STACK_SIZE (64 * 1024)
#endif

/* Control register bits, SDM Vol. 3A sec 2.5 */
#define START_CR0_MP         (1 << 1)  /* monitor coprocessor */
#define START_CR0_EM         (1 << 2)  /* x87 emulation: must be 0 for SSE */
#define START_CR4_OSFXSR     (1 << 9)  /* FXSAVE/FXRSTOR and SSE enabled */
#define START_CR4_OSXMMEXCPT (1 << 10) /* unmasked SIMD FP exceptions -> #XM */

/*
 * Entry contract (runtime/include/unicycle/bootinfo.h): long mode, firmware
 * identity map, interrupts off, RDI = physical address of the FDT.
 */
	.section .text._start, "ax"
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	movq %rdi, %r12                 /* FDT address: callee-saved across gdt_init */
	leaq start_stack_top(%rip), %rsp
	xorl %ebp, %ebp                 /* frame-pointer chain ends here (backtrace) */
	pushq $0                        /* clear RFLAGS (IF, DF, AC, ...) */
	popfq
	/* SSE on (SDM Vol. 3A sec 13.1.3): the compiler may use it. UEFI
	 * firmware leaves it on for x64, but do not rely on that. */
	movq %cr0, %rax
	andq $~START_CR0_EM, %rax
	orq $START_CR0_MP, %rax
	movq %rax, %cr0
	movq %cr4, %rax
	orq $(START_CR4_OSFXSR | START_CR4_OSXMMEXCPT), %rax
	movq %rax, %cr4
	call gdt_init
	movq %r12, %rdi
	call kernel_main
	/* kernel_main is noreturn; stop hard if it ever comes back. */
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.section .bss.start_stack, "aw", @nobits
	/* An unmapped guard page below the stack (paging.h): an overflow
	 * faults instead of overwriting .bss. */
	.balign PAGE_SIZE
start_stack_guard:
	.skip PAGE_SIZE
	PAGING_GUARD start_stack_guard, PAGE_SIZE, 1
	.globl start_stack_bottom
start_stack_bottom:
	.skip START_STACK_SIZE
	.globl start_stack_top
start_stack_top:

	/* No executable stack (silences ld's deprecated default). */
	.section .note.GNU-stack, "", @progbits
