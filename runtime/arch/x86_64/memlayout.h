/* memlayout.h: the runtime's address-space constants (x86_64): the page, and what lies below 1 MiB. */
#ifndef UNICYCLE_ARCH_MEMLAYOUT_H
#define UNICYCLE_ARCH_MEMLAYOUT_H

/*
 * The runtime's one page size: what the page allocator hands out, the
 * granule of the image's protections and of guard pages, the unit drivers
 * allocate DMA memory in. Plain integer expressions: assembly (start.S) and
 * the host unit tests include this too. Larger mapping sizes (2 MiB, 1 GiB)
 * are paging.h's; the boot info's page is BOOTINFO_PAGE (unicycle/bootinfo.h).
 */
#define PAGE_SHIFT 12
#define PAGE_SIZE  (1 << PAGE_SHIFT) /* 4 KiB, SDM Vol. 3A sec 4.5 */

/* Real mode reaches only the first MiB: the SMP trampoline's page must lie
 * below it (a SIPI vector is a page number, SDM Vol. 3A sec 9.4.4.1), and
 * the IVT, BDA, EBDA and ROM shadows live there, so the page allocator
 * never gets that RAM. */
#define MEMLAYOUT_LOW_LIMIT 0x100000

#endif
