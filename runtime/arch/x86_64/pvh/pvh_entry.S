/*
 * pvh_entry.S: the PVH entry of app.elf (the firmware-less boot, `unicycle run --direct`).
 *
 * A VMM that finds the XEN_ELFNOTE_PHYS32_ENTRY note (QEMU's -kernel, Firecracker, cloud-hypervisor)
 * loads the PT_LOAD segments at their physical addresses and jumps to the 32-bit address in the note
 * in the state the PVH boot ABI gives (Xen's docs/misc/pvh.pandoc, "Initial state"):
 *   protected mode, paging off, flat 32-bit CS/DS/ES/SS, CR4 = 0, EFLAGS.IF = 0,
 *   EBX = physical address of struct hvm_start_info (pvh.h), no stack.
 * This stub stamps the TSC, identity-maps the first 4 GiB with 2 MiB pages, enters long mode
 * (SDM Vol. 3A sec 9.8.5 "Initializing IA-32e Mode"), turns SSE on as start.S does, lets
 * pvh_bootinfo() turn the start info into the boot info FDT (unicycle/bootinfo.h), and enters
 * _start with RDI = that FDT: from there on both entries are one code path. The runtime installs
 * its own page tables and GDT (paging.c, gdt.c); these stay unused afterwards.
 */
#include "arch/x86_64/memlayout.h"
#include "arch/x86_64/pvh/pvh.h"

#define PVH_CR0_PE       (1 << 0)
#define PVH_CR0_MP       (1 << 1)
#define PVH_CR0_PG       (1 << 31)
#define PVH_CR4_PAE      (1 << 5)
#define PVH_CR4_OSFXSR   (1 << 9)
#define PVH_CR4_OSXMMEXCPT (1 << 10)
#define PVH_MSR_EFER     0xc0000080
#define PVH_EFER_LME     (1 << 8)
#define PVH_PTE_P        (1 << 0)
#define PVH_PTE_RW       (1 << 1)
#define PVH_PTE_PS       (1 << 7)     /* a 2 MiB page in a PD entry (SDM Vol. 3A table 4-18) */
#define PVH_2M           0x200000
#define PVH_PDS          4            /* page directories: 4 x 1 GiB */
#define PVH_SEL_CODE64   0x08
#define PVH_SEL_DATA     0x10

/* The note QEMU's load_elfboot() and other PVH loaders look for (Xen's public/elfnote.h):
 * name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY, a 32-bit physical entry address. linker.ld puts
 * .note.Xen in a PT_NOTE segment of 4-byte alignment (the loaders align the name to p_align). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4                          /* namesz: "Xen" and its NUL */
	.long 4                          /* descsz */
	.long PVH_XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.balign 4
	.long pvh_entry32

	.section .text.pvh, "ax"
	.code32
	.globl pvh_entry32
	.type pvh_entry32, @function
pvh_entry32:
	cli
	cld
	movl %ebx, %esi                  /* the start info: kept in ESI up to the call */
	rdtsc                            /* the direct boot's time 0 (unicycle,tsc-start) */
	movl %eax, pvh_tsc_entry
	movl %edx, pvh_tsc_entry + 4

	/* PD entries: entry i of the 4 contiguous PDs maps i * 2 MiB. */
	movl $pvh_pd, %edi
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax                   /* i * 2 MiB, low 32 bits */
	orl $(PVH_PTE_P | PVH_PTE_RW | PVH_PTE_PS), %eax
	movl %eax, (%edi,%ecx,8)
	movl %ecx, %eax
	shrl $11, %eax                   /* bits 32+ of i * 2 MiB */
	movl %eax, 4(%edi,%ecx,8)
	incl %ecx
	cmpl $(PVH_PDS * 512), %ecx
	jne 1b
	/* PDPT entries 0-3 -> the PDs; PML4 entry 0 -> the PDPT. */
	movl $pvh_pdpt, %edi
	movl $pvh_pd, %eax
	orl $(PVH_PTE_P | PVH_PTE_RW), %eax
	xorl %ecx, %ecx
2:	movl %eax, (%edi,%ecx,8)
	addl $PAGE_SIZE, %eax
	incl %ecx
	cmpl $PVH_PDS, %ecx
	jne 2b
	movl $pvh_pdpt, %eax
	orl $(PVH_PTE_P | PVH_PTE_RW), %eax
	movl %eax, pvh_pml4

	/* Long mode: PAE, CR3, EFER.LME, then paging (SDM Vol. 3A sec 9.8.5). SSE on too. */
	movl %cr4, %eax
	orl $(PVH_CR4_PAE | PVH_CR4_OSFXSR | PVH_CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl $pvh_pml4, %eax
	movl %eax, %cr3
	movl $PVH_MSR_EFER, %ecx
	rdmsr
	orl $PVH_EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	andl $~(1 << 2), %eax            /* CR0.EM off: SSE, not x87 emulation */
	orl $(PVH_CR0_PE | PVH_CR0_MP | PVH_CR0_PG), %eax
	movl %eax, %cr0
	lgdt pvh_gdt_desc
	ljmp $PVH_SEL_CODE64, $pvh_entry64

	.code64
pvh_entry64:
	movl $PVH_SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	leaq start_stack_top(%rip), %rsp /* start.S's stack: _start takes it over again */
	xorl %ebp, %ebp
	movl %esi, %edi                  /* arg 1: the start info's address */
	movq pvh_tsc_entry(%rip), %rsi   /* arg 2: the TSC at entry */
	call pvh_bootinfo                /* the FDT's address (never fails: see pvh.c) */
	movq %rax, %rdi
	jmp _start
	.size pvh_entry32, . - pvh_entry32

	.section .rodata.pvh, "a"
	.balign 8
/* Null, 64-bit code (L=1, D=0), data: SDM Vol. 3A sec 3.4.5 and 5.2.1. */
pvh_gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
pvh_gdt_end:
pvh_gdt_desc:
	.word pvh_gdt_end - pvh_gdt - 1
	.long pvh_gdt

	.section .bss.pvh, "aw", @nobits
	.balign PAGE_SIZE
pvh_pml4:
	.skip PAGE_SIZE
pvh_pdpt:
	.skip PAGE_SIZE
pvh_pd:
	.skip PVH_PDS * PAGE_SIZE
	.balign 8
	.globl pvh_tsc_entry
pvh_tsc_entry:
	.skip 8

	.section .note.GNU-stack, "", @progbits
