/* bootinfo.h: the boot info contract between BOOTX64.EFI and the runtime. */
#ifndef UNICYCLE_BOOTINFO_H
#define UNICYCLE_BOOTINFO_H

/*
 * The bootloader hands the runtime one flattened device tree (FDT, DTSpec
 * v0.3 chapter 5) and jumps to the ELF entry point with:
 *
 *   RDI = physical address of the FDT blob (8-byte aligned)
 *   long mode, paging on with the firmware's identity map, interrupts off,
 *   boot services exited. The firmware's page tables and GDT live in memory
 *   that /memory reports as usable: the runtime must install its own
 *   before it allocates from that memory.
 *
 * The PVH entry (runtime/arch/x86_64/pvh/, the firmware-less boot) builds
 * the same tree from the VMM's start info and enters the same ELF entry in
 * the same state, with its own identity map of the first 4 GiB; where its
 * tree differs, the property below says so ("direct boot").
 *
 * Version 1. The contract is append-only: a later version may add nodes and
 * properties, never change or remove the ones below. Every cell is
 * big-endian as FDT requires. #address-cells = #size-cells = 2 everywhere.
 *
 * /                               (root)
 *   compatible          string    "unicycle,bootinfo-v1"
 *   #address-cells      u32       2
 *   #size-cells         u32       2
 *   unicycle,acpi-rsdp  u64       physical address of the ACPI RSDP (2.0+
 *                                 table GUID preferred, 1.0 otherwise);
 *                                 absent when the firmware has none
 *
 * /chosen
 *   bootargs                   string  kernel command line ("" when none)
 *   unicycle,boot-source       string  "disk" or "net"; "direct" on direct
 *                                      boot (no firmware, no bootloader)
 *   unicycle,bootloader        string  "unicycle-boot <version>";
 *                                      "unicycle-pvh <version>" on direct boot
 *   unicycle,image-sha256      bytes[32] SHA-256 of app.elf as loaded (absent
 *                                      on direct boot: no file was read)
 *   unicycle,image-base        u64     lowest physical address of a PT_LOAD
 *   unicycle,image-size        u64     bytes from image-base to the end of
 *                                      the highest segment (page aligned)
 *   unicycle,tsc-start         u64     RDTSC when the bootloader started (on
 *                                      direct boot: at the PVH entry)
 *   unicycle,tsc-jump          u64     RDTSC just before the jump
 *   unicycle,boot-error        string  only on direct boot, when the start info
 *                                      broke the PVH ABI: what was wrong. The
 *                                      tree then holds nothing else; the runtime
 *                                      panics with this text
 *   unicycle,boot-server       string  address of the boot server (only when
 *                                      boot-source is "net")
 *   unicycle,net-mode          string  "dhcp" or "static" (only when boot.cfg
 *                                      sets network settings)
 *   unicycle,net-address       string  "a.b.c.d/prefix" (static only)
 *   unicycle,net-gateway       string  "a.b.c.d" (static only, optional)
 *   unicycle,net-dns           string list  DNS servers, "a.b.c.d" each, at
 *                                      most BOOTINFO_NET_DNS_MAX (only when
 *                                      boot.cfg names some; they take the
 *                                      place of the servers DHCP offers)
 *
 * /memory@<first base, hex>
 *   device_type         string    "memory"
 *   reg                 (u64 base, u64 size)+  usable RAM after
 *                                 ExitBootServices: EfiConventionalMemory,
 *                                 EfiLoaderCode/Data, EfiBootServicesCode/Data,
 *                                 sorted by base, adjacent ranges merged,
 *                                 page aligned. Includes the ranges listed in
 *                                 /reserved-memory; subtract those.
 *
 * /reserved-memory                #address-cells = #size-cells = 2, ranges
 *   image@<base>        reg       the app's PT_LOAD segments (one range)
 *   bootinfo@<base>     reg       this FDT blob (whole allocation)
 *   acpi@<base>         reg       EfiACPIReclaimMemory / EfiACPIMemoryNVS
 *   runtime@<base>      reg       EfiRuntimeServicesCode/Data
 *   (children have no other properties; every child carries "no-map" when
 *    the runtime must never touch it: acpi and runtime regions)
 *
 * /framebuffer@<base>             only when GOP is present
 *   compatible          string    "simple-framebuffer"
 *   reg                 (u64 base, u64 size)
 *   width, height, stride  u32    pixels, pixels, bytes per line
 *   format              string    "a8r8g8b8" or "a8b8g8r8"
 *
 * Config file /unicycle/boot.cfg (read by the bootloader, key = value lines,
 * '#' starts a comment; unknown keys are an error shown on screen):
 *   cmdline = <text>         -> /chosen/bootargs
 *   net = dhcp | static      -> /chosen/unicycle,net-mode
 *   address = a.b.c.d/len    -> /chosen/unicycle,net-address
 *   gateway = a.b.c.d        -> /chosen/unicycle,net-gateway
 *   dns = a.b.c.d [a.b.c.d]  -> /chosen/unicycle,net-dns (one or two
 *                            servers separated by blanks; with either net
 *                            mode, or without a net key)
 *   source = disk | net      where app.elf and boot.cfg come from (default:
 *                            net when BOOTX64.EFI itself was PXE-booted,
 *                            else disk); net fetches unicycle/payload.cfg,
 *                            app.elf and boot.cfg from the boot server over
 *                            TFTP and checks app.elf's size and SHA-256
 *                            against payload.cfg -> boot-source, boot-server
 *   fallback = none | disk   when the net fetch fails: stop (none, the
 *                            default) or boot the disk's app.elf (disk)
 *
 * On direct boot boot.cfg is the first PVH module (QEMU's -initrd, which
 * `unicycle run --direct` passes): the same file and parser (bootcfg.c),
 * so its settings reach the app unchanged; source and fallback mean nothing
 * there. A module rather than the command line because boot.cfg is a file
 * of lines with '#' comments, and the VMM's command line is not ours alone
 * (microvm appends virtio_mmio.device= words). bootargs is boot.cfg's
 * cmdline followed by the VMM's command line (-append).
 */

#define BOOTINFO_COMPATIBLE      "unicycle,bootinfo-v1"
#define BOOTINFO_PROP_RSDP       "unicycle,acpi-rsdp"
#define BOOTINFO_CHOSEN          "/chosen"
#define BOOTINFO_PROP_BOOTARGS   "bootargs"
#define BOOTINFO_PROP_SOURCE     "unicycle,boot-source"
#define BOOTINFO_PROP_LOADER     "unicycle,bootloader"
#define BOOTINFO_PROP_SHA256     "unicycle,image-sha256"
#define BOOTINFO_PROP_IMAGE_BASE "unicycle,image-base"
#define BOOTINFO_PROP_IMAGE_SIZE "unicycle,image-size"
#define BOOTINFO_PROP_TSC_START  "unicycle,tsc-start"
#define BOOTINFO_PROP_TSC_JUMP   "unicycle,tsc-jump"
#define BOOTINFO_PROP_BOOT_ERROR "unicycle,boot-error"
#define BOOTINFO_SOURCE_DIRECT   "direct"
#define BOOTINFO_PROP_SERVER     "unicycle,boot-server"
#define BOOTINFO_PROP_NET_MODE   "unicycle,net-mode"
#define BOOTINFO_PROP_NET_ADDR   "unicycle,net-address"
#define BOOTINFO_PROP_NET_GW     "unicycle,net-gateway"
#define BOOTINFO_PROP_NET_DNS    "unicycle,net-dns"
#define BOOTINFO_NET_DNS_MAX     2   /* lwIP's DNS_MAX_SERVERS */
#define BOOTINFO_RESERVED        "/reserved-memory"

/* The contract's page: every /memory and /reserved-memory range and
 * image-base/image-size are multiples of it (UEFI's EFI_PAGE_SIZE; the
 * runtime's PAGE_SIZE divides it). */
#define BOOTINFO_PAGE 4096ULL

/* Physical address app.elf is linked at (see runtime/arch/x86_64/linker.ld).
 * 64 MiB. Measured on OVMF (Debian 2022.11, q35, 512 MiB): 0x900000-0x14FFFFF
 * is EfiBootServicesData while our loader runs, so 16 MiB is taken; the
 * firmware allocates top-down, leaving 64 MiB and up free. PC firmware such
 * as the Q170M's keeps low RAM above 16 MiB free for OS loaders (assumed, not
 * measured on the board). The bootloader allocates exactly these pages with
 * AllocateAddress and stops with a message when the firmware cannot give
 * them. Boards need at least 128 MiB of RAM. */
#define BOOTINFO_IMAGE_LINK_BASE 0x4000000ULL

#endif
