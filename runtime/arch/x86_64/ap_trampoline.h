/* ap_trampoline.h: layout of the SMP trampoline's data block, shared by ap_trampoline.S and ap.c. */
#ifndef UNICYCLE_ARCH_AP_TRAMPOLINE_H
#define UNICYCLE_ARCH_AP_TRAMPOLINE_H

/* Byte offsets in the block at ap_trampoline_data; ap.c fills it before
 * each SIPI (all addresses are physical = virtual, the page is below 1 MiB). */
#define TRAMP_GDTR    0  /* 16-bit limit, 32-bit base: the trampoline's own GDT */
#define TRAMP_FAR32   8  /* 32-bit offset, 16-bit selector: into 32-bit protected mode */
#define TRAMP_FAR64  16  /* 32-bit offset, 16-bit selector: into 64-bit mode */
#define TRAMP_CR0    24  /* 32-bit: the BSP's CR0 (PG, PE, WP, ...) */
#define TRAMP_CR4    28  /* 32-bit: the BSP's CR4 (PAE, OSFXSR, ...), PCIDE cleared */
#define TRAMP_CR3    32  /* 32-bit: our PML4 (below 4 GiB: it is in the image) */
#define TRAMP_EFER   36  /* 32-bit: the BSP's EFER (LME, NXE), LMA cleared */
#define TRAMP_RSP    40  /* 64-bit: top of the AP's stack */
#define TRAMP_ARG    48  /* 64-bit: first argument of the entry (struct smp_cpu *) */
#define TRAMP_ENTRY  56  /* 64-bit: C entry, noreturn */
#define TRAMP_DATA_SIZE 64

/* Selectors of the trampoline's GDT (not the runtime's, gdt.h). */
#define TRAMP_SEL_CODE32 0x08
#define TRAMP_SEL_DATA   0x10
#define TRAMP_SEL_CODE64 0x18

#endif
