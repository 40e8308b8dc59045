/* ap_trampoline.S: an application processor's way from real mode to long mode (copied below 1 MiB by ap.c). */
#include "arch/x86_64/memlayout.h"
#include "arch/x86_64/ap_trampoline.h"

/* Control register and MSR bits, SDM Vol. 3A sec 2.5 / sec 9.8.5 */
#define AP_CR0_PE    0x1
#define AP_MSR_EFER  0xc0000080

#define AP_OFF(sym)  ((sym) - ap_trampoline)
#define AP_DATA(f)   (ap_trampoline_data - ap_trampoline + (f))

/*
 * SDM Vol. 3A sec 9.9.1 "Switching to IA-32e mode": from real mode, load a
 * GDT, set CR0.PE and far-jump to 32-bit code; there enable CR4.PAE, load
 * CR3, set EFER.LME, then CR0.PG, and far-jump to a 64-bit code segment.
 * The SIPI starts us at CS = page >> 4, IP = 0, so the code is position
 * independent: EBX holds the page's linear address throughout. It runs from
 * a copy of this section; the original in .rodata is never executed.
 */
	.section .rodata.ap_trampoline, "a"
	.balign PAGE_SIZE
	.globl ap_trampoline
	.code16
ap_trampoline:
	cli
	cld
	xorl %ebx, %ebx
	movw %cs, %bx
	movw %bx, %ds
	shll $4, %ebx
	lgdtl AP_DATA(TRAMP_GDTR)
	movl %cr0, %eax
	orl $AP_CR0_PE, %eax
	movl %eax, %cr0
	ljmpl *AP_DATA(TRAMP_FAR32)

	.code32
	.globl ap_trampoline_pm32
ap_trampoline_pm32:
	movw $TRAMP_SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl AP_DATA(TRAMP_CR4)(%ebx), %eax
	movl %eax, %cr4
	movl AP_DATA(TRAMP_CR3)(%ebx), %eax
	movl %eax, %cr3
	movl $AP_MSR_EFER, %ecx
	movl AP_DATA(TRAMP_EFER)(%ebx), %eax
	xorl %edx, %edx
	wrmsr
	movl AP_DATA(TRAMP_CR0)(%ebx), %eax
	movl %eax, %cr0
	ljmpl *AP_DATA(TRAMP_FAR64)(%ebx)

	.code64
	.globl ap_trampoline_lm64
ap_trampoline_lm64:
	movl %ebx, %ebx                 /* upper halves are undefined after the switch */
	movq AP_DATA(TRAMP_RSP)(%rbx), %rsp
	movq AP_DATA(TRAMP_ARG)(%rbx), %rdi
	movq AP_DATA(TRAMP_ENTRY)(%rbx), %rax
	xorl %ebp, %ebp                 /* frame-pointer chain ends here */
	pushq $0
	popfq
	pushq $0                        /* return address 0: ABI alignment, backtrace end */
	jmpq *%rax

	.balign 16
	.globl ap_trampoline_gdt
ap_trampoline_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff        /* TRAMP_SEL_CODE32: flat 4 GiB, 32-bit code */
	.quad 0x00cf92000000ffff        /* TRAMP_SEL_DATA: flat 4 GiB data */
	.quad 0x00af9a000000ffff        /* TRAMP_SEL_CODE64: L=1 */
	.globl ap_trampoline_gdt_end
ap_trampoline_gdt_end:
	.balign 16
	.globl ap_trampoline_data
ap_trampoline_data:
	.skip TRAMP_DATA_SIZE
	.globl ap_trampoline_end
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
