/* boot.h: the bootloader's internal interfaces, one section per file. */
#ifndef BOOTLOADER_BOOT_H
#define BOOTLOADER_BOOT_H

#include <efi.h>
#include <efilib.h>

#include "fdtbuild.h"

#define BOOT_VERSION "0.1.0"
#define BOOT_NAME    "unicycle-boot " BOOT_VERSION

/* Every line on screen and serial starts with this (OVMF mirrors ConOut to
 * the serial port). Never call after ExitBootServices. */
#define boot_log(fmt, ...) Print(L"unicycle-boot: " fmt L"\n", ##__VA_ARGS__)

/* gnu-efi has EFI_SIZE_TO_PAGES but not the way back. */
#define BOOT_PAGES_TO_SIZE(pages) ((UINT64)(pages) << EFI_PAGE_SHIFT)

/* How long (microseconds) an error stays on screen before control goes back
 * to the firmware. */
#define BOOT_ERROR_PAUSE_US (5 * 1000 * 1000)

static inline UINT64 boot_rdtsc(void)
{
	UINT32 lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (UINT64)hi << 32 | lo;
}

/* filesrc.c: one interface for where app.elf and boot.cfg come from (the
 * boot partition now, a boot server later). */

struct filesrc;

struct filesrc_file {
	struct filesrc *src;
	void *priv;                  /* the source's handle */
};

struct filesrc_ops {
	/* EFI_NOT_FOUND when path does not exist; nothing printed then. A
	 * source that reads the whole file when opening it (net) checks its
	 * size against max (filesize_fits) first and refuses a larger one
	 * before fetching it: EFI_BAD_BUFFER_SIZE, with one line printed. */
	EFI_STATUS (*open)(struct filesrc *src, const CHAR16 *path, UINT64 max,
	                   struct filesrc_file *file);
	EFI_STATUS (*size)(struct filesrc_file *file, UINT64 *size);
	/* Up to *len bytes from the current position; *len = bytes read,
	 * 0 at end of file. */
	EFI_STATUS (*read)(struct filesrc_file *file, void *buf, UINTN *len);
	void (*close)(struct filesrc_file *file);
	void (*release)(struct filesrc *src);
};

struct filesrc {
	const struct filesrc_ops *ops;
	const char *boot_source;     /* /chosen/unicycle,boot-source */
	const char *boot_server;     /* "a.b.c.d" (net), NULL (disk); lives on
	                                after release */
	void *priv;
};

/*
 * Read the whole file at path into pool memory (*buf, *size; FreePool when
 * done). A file larger than max is refused (EFI_BAD_BUFFER_SIZE) before
 * memory is allocated for it or it is fetched. Prints what failed, except
 * EFI_NOT_FOUND, which the caller reports (a missing boot.cfg is fine).
 */
EFI_STATUS filesrc_load(struct filesrc *src, const CHAR16 *path, UINT64 max,
                        void **buf, UINTN *size);

/* filesrc_disk.c: files on the partition BOOTX64.EFI was loaded from. */
EFI_STATUS filesrc_disk_init(EFI_HANDLE image, struct filesrc *src);

/* filesrc_net.c: files from the PXE boot server over TFTP, each fetched
 * whole (size, then contents) with retries and back-off. */

/* TRUE when the firmware loaded BOOTX64.EFI over the network. */
BOOLEAN filesrc_net_booted(EFI_HANDLE image);
EFI_STATUS filesrc_net_init(EFI_HANDLE image, struct filesrc *src);

/* firmware.c: what the firmware tells us about the machine. */

/* Physical address of the ACPI RSDP, 0 when there is none. */
UINT64 firmware_acpi_rsdp(void);
/* Fill *fb from the Graphics Output Protocol; FALSE when there is none or
 * its pixels are not 32-bit RGB/BGR. */
BOOLEAN firmware_framebuffer(struct fdtbuild_fb *fb);
/* Print the memory map entries that overlap [base, end), to say why an
 * allocation there failed. */
void firmware_log_range(UINT64 base, UINT64 end);
/* What a UEFI memory type becomes in the boot info. */
enum fdtbuild_mem firmware_mem_kind(UINT32 efi_type);
/* The anti-rollback floor: the newest signed payload's `rollback` this
 * machine has booted, kept in a non-volatile boot-services-only variable
 * (UEFI 2.10 sec 8.2, EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS:
 * after ExitBootServices nothing, the app included, can change it).
 * FALSE when none is stored yet. */
BOOLEAN firmware_rollback_get(UINT64 *floor);
EFI_STATUS firmware_rollback_set(UINT64 floor);

/* handoff.c: final memory map, ExitBootServices, jump. */

struct handoff {
	EFI_HANDLE image;
	struct fdtbuild_info info;   /* blob_base/blob_size filled by handoff */
	UINT64 entry;
	/* Buffers handoff_prepare() allocates; handoff_free() releases. */
	void *map;
	UINTN map_cap;
	struct fdtbuild_region *regions;
	UINTN region_cap;
	EFI_PHYSICAL_ADDRESS fdt;
	UINTN fdt_pages;
	BOOLEAN exit_attempted;      /* ExitBootServices was called once */
};

/* Allocate the memory map, region and FDT buffers with room to spare. */
EFI_STATUS handoff_prepare(struct handoff *h);
void handoff_free(struct handoff *h);
/*
 * Get the final map, build the FDT, exit boot services (retrying when the
 * map changed) and jump. Returns only on failure. When h->exit_attempted is
 * set the firmware may have shut boot services down partly: the caller must
 * not print or free anything then (UEFI 2.10 sec 7.4.6).
 */
EFI_STATUS handoff_boot(struct handoff *h);

#endif
