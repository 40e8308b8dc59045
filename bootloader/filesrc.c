/* filesrc.c: whole-file reads on top of any file source. */
#include "boot.h"
#include "filesize.h"

/* Some firmware FAT drivers misbehave on very large single reads; read in
 * chunks of this many bytes. */
#define FILESRC_CHUNK (1024 * 1024)

EFI_STATUS filesrc_load(struct filesrc *src, const CHAR16 *path, UINT64 max,
                        void **buf, UINTN *size)
{
	struct filesrc_file file;
	EFI_STATUS status;
	UINT64 total, alloc, done = 0;
	UINT8 *data = NULL;

	*buf = NULL;
	*size = 0;
	status = src->ops->open(src, path, max, &file);
	if (EFI_ERROR(status)) {
		/* Not found: the caller says; too big: the source said. */
		if (status != EFI_NOT_FOUND && status != EFI_BAD_BUFFER_SIZE)
			boot_log(L"%s: cannot open: %r", path, status);
		return status;
	}
	status = src->ops->size(&file, &total);
	if (EFI_ERROR(status)) {
		boot_log(L"%s: cannot get its size: %r", path, status);
		goto out;
	}
	if (!filesize_fits(total, max, &alloc)) {
		boot_log(L"%s: %ld bytes, more than the %ld allowed: not reading it",
		         path, total, max);
		status = EFI_BAD_BUFFER_SIZE;
		goto out;
	}
	/* UEFI 2.10 sec 7.2.4 AllocatePool: 8-byte aligned EfiLoaderData. */
	status = BS->AllocatePool(EfiLoaderData, alloc, (void **)&data);
	if (EFI_ERROR(status)) {
		boot_log(L"%s: no memory for %ld bytes: %r", path, total, status);
		data = NULL;
		goto out;
	}
	while (done < total) {
		UINTN len = total - done;

		if (len > FILESRC_CHUNK)
			len = FILESRC_CHUNK;
		status = src->ops->read(&file, data + done, &len);
		if (EFI_ERROR(status)) {
			boot_log(L"%s: read failed at byte %ld: %r", path, done,
			         status);
			goto out;
		}
		if (len == 0) {
			boot_log(L"%s: file ended at byte %ld of %ld", path, done,
			         total);
			status = EFI_END_OF_FILE;
			goto out;
		}
		done += len;
	}
	*buf = data;
	*size = total;
	data = NULL;
	status = EFI_SUCCESS;
out:
	if (data)
		BS->FreePool(data);
	src->ops->close(&file);
	return status;
}
