/* firmware.c: ACPI RSDP, GOP framebuffer, memory types and the anti-rollback variable, from UEFI. */
#include <string.h>

#include "boot.h"

/* ACPI 6.5 sec 5.2.5.3 Root System Description Pointer: "RSD PTR ",
 * checksum over the first 20 bytes (1.0), revision at byte 15. */
#define RSDP_SIGNATURE   "RSD PTR "
#define RSDP_V1_LENGTH   20
#define RSDP_REVISION    15

static BOOLEAN rsdp_valid(const UINT8 *p)
{
	UINT8 sum = 0;

	if (memcmp(p, RSDP_SIGNATURE, 8) != 0)
		return FALSE;
	for (int i = 0; i < RSDP_V1_LENGTH; i++)
		sum += p[i];
	return sum == 0;
}

UINT64 firmware_acpi_rsdp(void)
{
	static EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
	static EFI_GUID acpi10 = ACPI_TABLE_GUID;
	UINT64 v1 = 0;

	/* UEFI 2.10 sec 4.6 EFI_CONFIGURATION_TABLE; the ACPI GUIDs are in
	 * sec 4.6.1.1. Prefer the 2.0 table (it has the XSDT). */
	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (!t->VendorTable)
			continue;
		if (memcmp(&t->VendorGuid, &acpi20, sizeof(EFI_GUID)) == 0) {
			if (rsdp_valid(t->VendorTable))
				return (UINT64)(UINTN)t->VendorTable;
			boot_log(L"ACPI 2.0 RSDP at 0x%lx has a bad signature or checksum, ignored",
			         (UINT64)(UINTN)t->VendorTable);
		} else if (memcmp(&t->VendorGuid, &acpi10, sizeof(EFI_GUID)) == 0 && !v1) {
			if (rsdp_valid(t->VendorTable))
				v1 = (UINT64)(UINTN)t->VendorTable;
			else
				boot_log(L"ACPI 1.0 RSDP at 0x%lx has a bad signature or checksum, ignored",
				         (UINT64)(UINTN)t->VendorTable);
		}
	}
	return v1;
}

BOOLEAN firmware_framebuffer(struct fdtbuild_fb *fb)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop = NULL;
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info;
	EFI_STATUS status;

	/* UEFI 2.10 sec 12.9 Graphics Output Protocol: Mode describes the
	 * current mode and its linear framebuffer. */
	status = BS->LocateProtocol(&GraphicsOutputProtocol, NULL, (void **)&gop);
	if (EFI_ERROR(status) || !gop || !gop->Mode || !gop->Mode->Info)
		return FALSE;
	info = gop->Mode->Info;
	switch (info->PixelFormat) {
	case PixelBlueGreenRedReserved8BitPerColor:
		fb->format = "a8r8g8b8";   /* bytes B,G,R,X: 0xXXRRGGBB */
		break;
	case PixelRedGreenBlueReserved8BitPerColor:
		fb->format = "a8b8g8r8";
		break;
	default:                        /* bit masks or Blt only */
		return FALSE;
	}
	if (!gop->Mode->FrameBufferBase || !info->HorizontalResolution ||
	    !info->VerticalResolution ||
	    info->PixelsPerScanLine < info->HorizontalResolution)
		return FALSE;
	fb->base = gop->Mode->FrameBufferBase;
	fb->size = gop->Mode->FrameBufferSize;
	fb->width = info->HorizontalResolution;
	fb->height = info->VerticalResolution;
	fb->stride = info->PixelsPerScanLine * 4;
	return TRUE;
}

enum fdtbuild_mem firmware_mem_kind(UINT32 type)
{
	/* UEFI 2.10 sec 7.2.1 Table 7-6 "Memory Type Usage after
	 * ExitBootServices()". */
	switch (type) {
	case EfiLoaderCode:
	case EfiLoaderData:
	case EfiBootServicesCode:
	case EfiBootServicesData:
	case EfiConventionalMemory:
		return FDTBUILD_MEM_USABLE;
	case EfiACPIReclaimMemory:
	case EfiACPIMemoryNVS:
		return FDTBUILD_MEM_ACPI;
	case EfiRuntimeServicesCode:
	case EfiRuntimeServicesData:
		return FDTBUILD_MEM_RUNTIME;
	default:
		return FDTBUILD_MEM_OTHER;
	}
}

/* UEFI 2.10 sec 7.2.1 EFI_MEMORY_TYPE names, for messages. */
static const CHAR16 *mem_type_name(UINT32 type)
{
	static const CHAR16 *const names[] = {
		L"Reserved", L"LoaderCode", L"LoaderData", L"BootServicesCode",
		L"BootServicesData", L"RuntimeServicesCode",
		L"RuntimeServicesData", L"Conventional", L"Unusable",
		L"ACPIReclaim", L"ACPINVS", L"MMIO", L"MMIOPortSpace",
		L"PalCode", L"Persistent", L"Unaccepted",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : L"(unknown type)";
}

void firmware_log_range(UINT64 base, UINT64 end)
{
	UINTN size = 0, key, desc_size = 0;
	UINT32 version;
	UINT8 *map = NULL;
	EFI_STATUS status;
	BOOLEAN any = FALSE;

	/* sec 7.2.3 GetMemoryMap, sized by a first call; a few spare
	 * descriptors for the pool allocation itself. */
	status = BS->GetMemoryMap(&size, NULL, &key, &desc_size, &version);
	if (status != EFI_BUFFER_TOO_SMALL || !desc_size)
		return;
	size += 4 * desc_size;
	if (EFI_ERROR(BS->AllocatePool(EfiLoaderData, size, (void **)&map)))
		return;
	status = BS->GetMemoryMap(&size, (void *)map, &key, &desc_size, &version);
	if (EFI_ERROR(status)) {
		BS->FreePool(map);
		return;
	}
	for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
		EFI_MEMORY_DESCRIPTOR *d = (void *)(map + off);
		UINT64 lo = d->PhysicalStart;
		UINT64 hi = lo + BOOT_PAGES_TO_SIZE(d->NumberOfPages);

		if (hi <= base || lo >= end)
			continue;
		boot_log(L"  memory map 0x%lx-0x%lx: %s", lo, hi - 1,
		         mem_type_name(d->Type));
		any = TRUE;
	}
	if (!any)
		boot_log(L"  memory map: no RAM at 0x%lx-0x%lx", base, end - 1);
	BS->FreePool(map);
}

/* Our own vendor GUID for the variable (random, generated once for Unicycle). */
static EFI_GUID rollback_guid = { 0x6b1f3c2a, 0x94d7, 0x4e55,
	{ 0x8a, 0x3e, 0x21, 0xc4, 0x7d, 0x90, 0x5b, 0x16 } };
static CHAR16 rollback_name[] = L"UnicycleRollback";
#define ROLLBACK_ATTRS (EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS)

BOOLEAN firmware_rollback_get(UINT64 *floor)
{
	UINTN size = sizeof(*floor);
	UINT32 attrs;
	EFI_STATUS status;

	status = RT->GetVariable(rollback_name, &rollback_guid, &attrs, &size, floor);
	/* A variable someone made with other attributes (reachable at runtime)
	 * is not ours to trust; neither is one of another size. */
	if (EFI_ERROR(status) || size != sizeof(*floor) || attrs != ROLLBACK_ATTRS)
		return FALSE;
	return TRUE;
}

EFI_STATUS firmware_rollback_set(UINT64 floor)
{
	return RT->SetVariable(rollback_name, &rollback_guid, ROLLBACK_ATTRS,
	                       sizeof(floor), &floor);
}
