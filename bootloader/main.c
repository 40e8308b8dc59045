/* main.c: BOOTX64.EFI entry: load app.elf and boot.cfg, check, place, hand
 * off (the boot flow in README.md "How it boots", contract in unicycle/bootinfo.h). */
#include <string.h>
#include <unicycle/bootinfo.h>

#include "boot.h"
#include "bootcfg.h"
#include "bootkey.h"    /* generated per build: the project's public key, the policy */
#include "elf.h"
#include "payload.h"
#include "sha256.h"
#include "sigcheck.h"

#define BOOT_APP_PATH  L"\\unicycle\\app.elf"
#define BOOT_CFG_PATH  L"\\unicycle\\boot.cfg"
#define BOOT_PAYLOAD_PATH L"\\unicycle\\payload.cfg"
#define BOOT_SIG_PATH  L"\\unicycle\\payload.sig"
/* Fetches of payload.cfg + app.elf when they disagree (a build may have
 * replaced the server's files between the two). */
#define BOOT_NET_VERIFY_TRIES 2
#define BOOT_APP_MAX   (1ULL << 30)   /* a unikernel image over 1 GiB is a mistake */

/* Everything efi_main may have to give back on an early return. */
struct boot {
	EFI_HANDLE image;
	UINT64 tsc_start;
	struct filesrc src;
	struct bootcfg cfg;
	BOOLEAN have_payload;         /* app.elf and boot.cfg must match payload */
	BOOLEAN signed_payload;       /* payload.cfg's signature verified */
	struct payload payload;
	void *app;
	UINTN app_size;
	struct elf_image elf;
	EFI_PHYSICAL_ADDRESS image_base;
	UINTN image_pages;
	UINT8 digest[SHA256_DIGEST_SIZE];
	struct fdtbuild_fb fb;
	struct handoff handoff;
};

static void boot_cleanup(struct boot *b)
{
	handoff_free(&b->handoff);
	if (b->image_pages)
		BS->FreePages(b->image_base, b->image_pages);
	if (b->app)
		BS->FreePool(b->app);
	if (b->src.ops)
		b->src.ops->release(&b->src);
	b->image_pages = 0;
	b->app = NULL;
	b->src.ops = NULL;
}

/* The files come from a boot server (TFTP), not our own partition. */
static BOOLEAN from_net(const struct boot *b)
{
	return strcmp(b->src.boot_source, "net") == 0;
}

/* With a payload.cfg, boot.cfg must be the one it names (size and SHA-256). */
static EFI_STATUS check_config(struct boot *b, const void *text, UINTN size)
{
	UINT8 digest[SHA256_DIGEST_SIZE];
	enum payload_error err;

	if (!b->have_payload)
		return EFI_SUCCESS;
	sha256(text, size, digest);
	err = payload_check_config(&b->payload, size, digest);
	if (err == PAYLOAD_OK)
		return EFI_SUCCESS;
	boot_log(L"refusing %s: %a against %s (%ld bytes, expected %ld): "
	         L"not the boot.cfg of this build", BOOT_CFG_PATH,
	         payload_strerror(err), BOOT_PAYLOAD_PATH, (UINT64)size,
	         b->payload.config_size);
	return EFI_SECURITY_VIOLATION;
}

/* boot.cfg is optional without a payload.cfg; a broken one stops the boot. */
static EFI_STATUS load_config(struct boot *b)
{
	struct bootcfg_fault fault;
	enum bootcfg_error err;
	EFI_STATUS status;
	void *text;
	UINTN size;

	bootcfg_defaults(&b->cfg);
	status = filesrc_load(&b->src, BOOT_CFG_PATH, BOOTCFG_FILE_MAX,
	                      &text, &size);
	if (status == EFI_NOT_FOUND && !b->have_payload) {
		boot_log(L"%s not found, using defaults", BOOT_CFG_PATH);
		return EFI_SUCCESS;
	}
	if (status == EFI_NOT_FOUND) {
		boot_log(L"refusing the payload: %s names a boot.cfg and there is "
		         L"none", BOOT_PAYLOAD_PATH);
		return EFI_SECURITY_VIOLATION;
	}
	if (EFI_ERROR(status))
		return status;
	status = check_config(b, text, size);
	if (EFI_ERROR(status)) {
		BS->FreePool(text);
		return status;
	}
	err = bootcfg_parse(text, size, &b->cfg, &fault);
	BS->FreePool(text);
	if (err != BOOTCFG_OK) {
		if (fault.key[0])
			boot_log(L"%s line %d: %a: %a", BOOT_CFG_PATH,
			         fault.line, fault.key, bootcfg_strerror(err));
		else
			boot_log(L"%s line %d: %a", BOOT_CFG_PATH, fault.line,
			         bootcfg_strerror(err));
		return EFI_LOAD_ERROR;
	}
	return EFI_SUCCESS;
}

static void log_elf_fault(enum elf_error err, const struct elf_fault *f)
{
	if (err == ELF_ERR_SEG_OVERLAP)
		boot_log(L"%s: %a: program headers %d and %d (at 0x%lx)",
		         BOOT_APP_PATH, elf_strerror(err), f->phdr, f->other,
		         f->value);
	else if (f->phdr >= 0)
		boot_log(L"%s: %a: program header %d, value 0x%lx",
		         BOOT_APP_PATH, elf_strerror(err), f->phdr, f->value);
	else
		boot_log(L"%s: %a: value 0x%lx", BOOT_APP_PATH,
		         elf_strerror(err), f->value);
}

/*
 * payload.sig over payload.cfg's bytes, with the key compiled in (bootkey.h).
 * No key: nothing to check. A signature that is there is always checked; a
 * missing one is refused when the board or manifest requires signatures.
 */
static EFI_STATUS verify_payload(struct boot *b, const void *cfg, UINTN cfg_size)
{
	enum sig_error err;
	EFI_STATUS status;
	unsigned line;
	void *text;
	UINTN size;

	b->signed_payload = FALSE;
	if (!BOOT_HAVE_KEY)
		return EFI_SUCCESS;
	status = filesrc_load(&b->src, BOOT_SIG_PATH, SIG_FILE_MAX, &text, &size);
	if (status == EFI_NOT_FOUND && BOOT_REQUIRE_SIGNATURE) {
		boot_log(L"refusing the payload: %s missing (this loader boots only "
		         L"payloads signed with key %a)", BOOT_SIG_PATH, BOOT_KEY_ID);
		return EFI_SECURITY_VIOLATION;
	}
	if (status == EFI_NOT_FOUND) {
		boot_log(L"%s not found: booting an unsigned payload "
		         L"(require-signature is off)", BOOT_SIG_PATH);
		return EFI_SUCCESS;
	}
	if (status == EFI_BAD_BUFFER_SIZE) {
		boot_log(L"refusing the payload: %s is over %d bytes", BOOT_SIG_PATH,
		         SIG_FILE_MAX);
		return EFI_SECURITY_VIOLATION;
	}
	if (EFI_ERROR(status))
		return status;
	err = sig_check(text, size, cfg, cfg_size, boot_key, &line);
	BS->FreePool(text);
	if (err != SIG_OK) {
		if (line)
			boot_log(L"refusing the payload: %s line %d: %a", BOOT_SIG_PATH,
			         line, sig_strerror(err));
		else
			boot_log(L"refusing the payload: %s: %a (trusted key %a)",
			         BOOT_SIG_PATH, sig_strerror(err), BOOT_KEY_ID);
		return EFI_SECURITY_VIOLATION;
	}
	boot_log(L"%s: signature valid (key %a)", BOOT_PAYLOAD_PATH, BOOT_KEY_ID);
	b->signed_payload = TRUE;
	return EFI_SUCCESS;
}

/* A signed payload older than the newest this machine booted is a replay. */
static EFI_STATUS check_rollback(struct boot *b)
{
	UINT64 floor;

	if (!b->signed_payload || !firmware_rollback_get(&floor))
		return EFI_SUCCESS;
	if (b->payload.rollback >= floor)
		return EFI_SUCCESS;
	boot_log(L"refusing the payload: %s rollback %ld is older than %ld, the "
	         L"newest this machine has booted (a replayed older build)",
	         BOOT_PAYLOAD_PATH, b->payload.rollback, floor);
	return EFI_SECURITY_VIOLATION;
}

/* After every check passed: raise the floor to this payload's rollback. */
static void store_rollback(const struct boot *b)
{
	UINT64 floor;
	EFI_STATUS status;

	if (!b->signed_payload)
		return;
	if (firmware_rollback_get(&floor) && floor >= b->payload.rollback)
		return;
	status = firmware_rollback_set(b->payload.rollback);
	if (EFI_ERROR(status))
		boot_log(L"could not store the rollback floor %ld: %r",
		         b->payload.rollback, status);
}

/* unicycle/payload.cfg: the size and SHA-256 app.elf and boot.cfg must have,
 * verified against payload.sig first. Required from a boot server; on a disk
 * an image without one boots unverified unless signatures are required. */
static EFI_STATUS load_payload(struct boot *b)
{
	BOOLEAN net = from_net(b);
	enum payload_error err;
	EFI_STATUS status;
	unsigned line;
	void *text;
	UINTN size;

	b->have_payload = FALSE;
	b->signed_payload = FALSE;
	status = filesrc_load(&b->src, BOOT_PAYLOAD_PATH, PAYLOAD_FILE_MAX,
	                      &text, &size);
	if (status == EFI_NOT_FOUND && (net || BOOT_REQUIRE_SIGNATURE)) {
		boot_log(L"%s not found on the boot %a: refusing an unverified "
		         L"app.elf", BOOT_PAYLOAD_PATH, net ? "server" : "partition");
		return EFI_SECURITY_VIOLATION;
	}
	if (status == EFI_NOT_FOUND)
		return EFI_SUCCESS;
	if (EFI_ERROR(status))
		return status;
	status = verify_payload(b, text, size);
	if (EFI_ERROR(status)) {
		BS->FreePool(text);
		return status;
	}
	err = payload_parse(text, size, &b->payload, &line);
	BS->FreePool(text);
	if (err != PAYLOAD_OK) {
		boot_log(L"%s line %d: %a", BOOT_PAYLOAD_PATH, line,
		         payload_strerror(err));
		return EFI_LOAD_ERROR;
	}
	b->have_payload = TRUE;
	return check_rollback(b);
}

/* The most app.elf may be: with a net payload, the size payload.cfg
 * announces (a larger file cannot match, so it is not even fetched). */
static UINT64 app_max(const struct boot *b)
{
	if (b->have_payload && b->payload.size < BOOT_APP_MAX)
		return b->payload.size;
	return BOOT_APP_MAX;
}

/* One read of app.elf. With a net payload, *mismatch says it does not
 * match payload.cfg: larger than announced (refused before it was fetched),
 * or another size or SHA-256; it is not kept then. */
static EFI_STATUS fetch_app_once(struct boot *b, BOOLEAN *mismatch)
{
	enum payload_error err;
	char want[65], got[65];
	EFI_STATUS status;

	*mismatch = FALSE;
	status = filesrc_load(&b->src, BOOT_APP_PATH, app_max(b), &b->app,
	                      &b->app_size);
	if (status == EFI_NOT_FOUND)
		boot_log(L"%s not found on the boot %a", BOOT_APP_PATH,
		         from_net(b) ? "server" : "partition");
	if (status == EFI_BAD_BUFFER_SIZE && b->have_payload)
		*mismatch = TRUE;
	if (EFI_ERROR(status))
		return status;
	sha256(b->app, b->app_size, b->digest);
	if (!b->have_payload)
		return EFI_SUCCESS;
	err = payload_check(&b->payload, b->app_size, b->digest);
	if (err == PAYLOAD_OK) {
		boot_log(L"%s: size and SHA-256 match %s", BOOT_APP_PATH,
		         BOOT_PAYLOAD_PATH);
		return EFI_SUCCESS;
	}
	payload_hex(b->payload.sha256, want);
	payload_hex(b->digest, got);
	boot_log(L"%s: %a against %s: %ld bytes, sha256 %a; expected "
	         L"%ld bytes, sha256 %a", BOOT_APP_PATH, payload_strerror(err),
	         BOOT_PAYLOAD_PATH, (UINT64)b->app_size, got,
	         b->payload.size, want);
	BS->FreePool(b->app);
	b->app = NULL;
	*mismatch = TRUE;
	return EFI_SECURITY_VIOLATION;
}

/* Read app.elf and, for a net payload, check it against payload.cfg. */
static EFI_STATUS fetch_app(struct boot *b)
{
	BOOLEAN mismatch;
	EFI_STATUS status;

	for (int attempt = 1; ; attempt++) {
		status = fetch_app_once(b, &mismatch);
		if (!mismatch)
			return status;
		/* A build may have replaced both files on the server in
		 * between: once more. A disk does not change under us. */
		if (attempt == BOOT_NET_VERIFY_TRIES ||
		    !from_net(b))
			break;
		boot_log(L"fetching %s and %s again", BOOT_PAYLOAD_PATH,
		         BOOT_APP_PATH);
		BS->Stall(1000 * 1000);
		status = load_payload(b);
		if (EFI_ERROR(status))
			return status;
	}
	boot_log(L"refusing %s: it does not match %s (not jumping)",
	         BOOT_APP_PATH, BOOT_PAYLOAD_PATH);
	return EFI_SECURITY_VIOLATION;
}

static EFI_STATUS load_app(struct boot *b)
{
	struct elf_fault fault;
	enum elf_error err;
	EFI_STATUS status;

	status = fetch_app(b);
	if (EFI_ERROR(status))
		return status;

	err = elf_check(b->app, b->app_size, &b->elf, &fault);
	if (err != ELF_OK) {
		log_elf_fault(err, &fault);
		return EFI_LOAD_ERROR;
	}

	/* UEFI 2.10 sec 7.2.1 AllocatePages(AllocateAddress): exactly the
	 * pages the segments span, at the address they are linked for.
	 * EfiLoaderCode, not Data: firmware that applies an NX policy to data
	 * types (edk2 PcdDxeNxMemoryProtectionPolicy) would fault the jump. */
	b->image_base = b->elf.base;
	status = BS->AllocatePages(AllocateAddress, EfiLoaderCode,
	                           EFI_SIZE_TO_PAGES(b->elf.end - b->elf.base),
	                           &b->image_base);
	if (EFI_ERROR(status)) {
		boot_log(L"%s: firmware will not give us 0x%lx-0x%lx for the image: %r",
		         BOOT_APP_PATH, b->elf.base, b->elf.end - 1, status);
		firmware_log_range(b->elf.base, b->elf.end);
		return status;
	}
	b->image_pages = EFI_SIZE_TO_PAGES(b->elf.end - b->elf.base);
	elf_place(&b->elf, b->app, (void *)(UINTN)b->image_base);
	boot_log(L"%s: %ld bytes, %d segments at 0x%lx-0x%lx, entry 0x%lx",
	         BOOT_APP_PATH, (UINT64)b->app_size, b->elf.nload,
	         b->elf.base, b->elf.end - 1, b->elf.entry);

	/* The file is placed; its buffer is not needed any more. */
	BS->FreePool(b->app);
	b->app = NULL;
	return EFI_SUCCESS;
}

static void fill_info(struct boot *b)
{
	struct fdtbuild_info *in = &b->handoff.info;

	in->bootargs = b->cfg.cmdline;
	in->boot_source = b->src.boot_source;
	in->bootloader = BOOT_NAME;
	in->boot_server = b->src.boot_server;
	fdtbuild_set_network(in, &b->cfg);
	in->image_sha256 = b->digest;
	in->image_base = b->elf.base;
	in->image_size = b->elf.end - b->elf.base;
	in->tsc_start = b->tsc_start;
	in->acpi_rsdp = firmware_acpi_rsdp();
	in->fb = firmware_framebuffer(&b->fb) ? &b->fb : NULL;
	b->handoff.image = b->image;
	b->handoff.entry = b->elf.entry;

	if (!in->acpi_rsdp)
		boot_log(L"no ACPI RSDP from the firmware");
	if (in->fb)
		boot_log(L"framebuffer %dx%d at 0x%lx", b->fb.width,
		         b->fb.height, b->fb.base);
}

/* payload.cfg, boot.cfg and app.elf from the boot server. */
static EFI_STATUS load_from_net(struct boot *b)
{
	EFI_STATUS status;

	status = filesrc_net_init(b->image, &b->src);
	if (EFI_ERROR(status))
		return status;
	status = load_payload(b);
	if (EFI_ERROR(status))
		return status;
	status = load_config(b);
	if (EFI_ERROR(status))
		return status;
	return load_app(b);
}

static void drop_source(struct boot *b)
{
	if (b->app)
		BS->FreePool(b->app);
	b->app = NULL;
	if (b->src.ops)
		b->src.ops->release(&b->src);
	b->src.ops = NULL;
	b->have_payload = FALSE;
	b->signed_payload = FALSE;
}

/* Our own partition as the file source, its payload.cfg and boot.cfg read. */
static EFI_STATUS open_disk(struct boot *b)
{
	EFI_STATUS status;

	status = filesrc_disk_init(b->image, &b->src);
	if (EFI_ERROR(status))
		return status;
	status = load_payload(b);
	if (EFI_ERROR(status))
		return status;
	return load_config(b);
}

/*
 * Where the payload comes from: the boot server when the firmware
 * PXE-booted us, or when the disk's boot.cfg says source = net (then
 * fallback = disk boots the disk's app.elf if the network fails).
 */
static EFI_STATUS load_payload_source(struct boot *b)
{
	enum bootcfg_fallback fallback;
	EFI_STATUS status;

	if (filesrc_net_booted(b->image))
		return load_from_net(b);
	status = open_disk(b);
	if (EFI_ERROR(status))
		return status;
	if (b->cfg.source != BOOTCFG_SOURCE_NET)
		return load_app(b);

	fallback = b->cfg.fallback;
	b->src.ops->release(&b->src);
	b->src.ops = NULL;
	status = load_from_net(b);
	if (!EFI_ERROR(status) || fallback != BOOTCFG_FALLBACK_DISK)
		return status;
	boot_log(L"network boot failed (%r); fallback = disk: booting the "
	         L"disk payload", status);
	drop_source(b);
	if (b->image_pages)
		BS->FreePages(b->image_base, b->image_pages);
	b->image_pages = 0;
	status = open_disk(b);
	if (EFI_ERROR(status))
		return status;
	return load_app(b);
}

static EFI_STATUS boot_run(struct boot *b)
{
	EFI_STATUS status;

	status = load_payload_source(b);
	if (EFI_ERROR(status))
		return status;
	store_rollback(b);
	fill_info(b);
	status = handoff_prepare(&b->handoff);
	if (EFI_ERROR(status))
		return status;
	/* The file source is no longer needed; close it before the map is
	 * taken. */
	b->src.ops->release(&b->src);
	b->src.ops = NULL;
	boot_log(L"boot info at 0x%lx, jumping to 0x%lx", b->handoff.fdt,
	         b->elf.entry);
	return handoff_boot(&b->handoff);
}

/* Not EFIAPI: gnu-efi's crt0 (_start) receives the firmware's MS-ABI call
 * and calls efi_main with the System V convention (RDI, RSI). */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	static struct boot b;
	EFI_STATUS status;

	b.tsc_start = boot_rdtsc();
	b.image = image;
	/* What gnu-efi's Print() and the BS/ST shortcuts need. Not
	 * InitializeLib(): its object file also defines memcpy and memset,
	 * which clash with runtime/lib/string.c at link time. */
	ST = systab;
	BS = systab->BootServices;
	RT = systab->RuntimeServices;
	boot_log(L"%a", BOOT_NAME);

	status = boot_run(&b);
	/* Only reached on failure. */
	if (b.handoff.exit_attempted)
		return status;     /* boot services may be half gone: no Print */
	boot_log(L"boot failed (%r), returning to firmware", status);
	boot_cleanup(&b);
	BS->Stall(BOOT_ERROR_PAUSE_US);
	return status;
}
