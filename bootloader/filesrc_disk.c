/* filesrc_disk.c: file source for the partition BOOTX64.EFI came from. */
#include "boot.h"

/* UEFI 2.10 sec 13.5 EFI_FILE_PROTOCOL: root directory of the volume. */
static EFI_FILE_PROTOCOL *disk_root(struct filesrc *src)
{
	return src->priv;
}

/* Nothing is read here: filesrc_load checks the size against max itself. */
static EFI_STATUS disk_open(struct filesrc *src, const CHAR16 *path, UINT64 max,
                            struct filesrc_file *file)
{
	EFI_FILE_PROTOCOL *root = disk_root(src), *fh = NULL;
	EFI_STATUS status;

	(void)max;

	/* sec 13.5.2 EFI_FILE_PROTOCOL.Open, read-only. */
	status = root->Open(root, &fh, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(status))
		return status;
	file->src = src;
	file->priv = fh;
	return EFI_SUCCESS;
}

static EFI_STATUS disk_size(struct filesrc_file *file, UINT64 *size)
{
	EFI_FILE_PROTOCOL *fh = file->priv;
	EFI_FILE_INFO *info = NULL;
	UINTN len = 0;
	EFI_STATUS status;

	/* sec 13.5.13 EFI_FILE_PROTOCOL.GetInfo(EFI_FILE_INFO_ID): ask for
	 * the size first (the name makes it variable), then fetch it. */
	status = fh->GetInfo(fh, &GenericFileInfo, &len, NULL);
	if (status != EFI_BUFFER_TOO_SMALL)
		return EFI_ERROR(status) ? status : EFI_DEVICE_ERROR;
	status = BS->AllocatePool(EfiLoaderData, len, (void **)&info);
	if (EFI_ERROR(status))
		return status;
	status = fh->GetInfo(fh, &GenericFileInfo, &len, info);
	if (!EFI_ERROR(status)) {
		if (info->Attribute & EFI_FILE_DIRECTORY)
			status = EFI_NOT_FOUND;   /* a directory is not the file */
		else
			*size = info->FileSize;
	}
	BS->FreePool(info);
	return status;
}

static EFI_STATUS disk_read(struct filesrc_file *file, void *buf, UINTN *len)
{
	EFI_FILE_PROTOCOL *fh = file->priv;

	/* sec 13.5.5 EFI_FILE_PROTOCOL.Read. */
	return fh->Read(fh, len, buf);
}

static void disk_close(struct filesrc_file *file)
{
	EFI_FILE_PROTOCOL *fh = file->priv;

	if (fh)
		fh->Close(fh);
	file->priv = NULL;
}

static void disk_release(struct filesrc *src)
{
	EFI_FILE_PROTOCOL *root = disk_root(src);

	if (root)
		root->Close(root);
	src->priv = NULL;
}

static const struct filesrc_ops disk_ops = {
	.open = disk_open,
	.size = disk_size,
	.read = disk_read,
	.close = disk_close,
	.release = disk_release,
};

EFI_STATUS filesrc_disk_init(EFI_HANDLE image, struct filesrc *src)
{
	EFI_LOADED_IMAGE *loaded = NULL;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs = NULL;
	EFI_FILE_PROTOCOL *root = NULL;
	EFI_STATUS status;

	/* sec 9.1 EFI_LOADED_IMAGE_PROTOCOL: DeviceHandle is the partition
	 * our own image was read from. */
	status = BS->HandleProtocol(image, &LoadedImageProtocol,
	                            (void **)&loaded);
	if (EFI_ERROR(status)) {
		boot_log(L"no loaded image protocol on our handle: %r", status);
		return status;
	}
	/* sec 13.4 EFI_SIMPLE_FILE_SYSTEM_PROTOCOL on that partition. */
	status = BS->HandleProtocol(loaded->DeviceHandle, &FileSystemProtocol,
	                            (void **)&fs);
	if (EFI_ERROR(status)) {
		boot_log(L"boot device has no FAT file system: %r", status);
		return status;
	}
	/* sec 13.4.2 OpenVolume. */
	status = fs->OpenVolume(fs, &root);
	if (EFI_ERROR(status)) {
		boot_log(L"cannot open the boot volume: %r", status);
		return status;
	}
	src->ops = &disk_ops;
	src->boot_source = "disk";
	src->boot_server = NULL;
	src->priv = root;
	return EFI_SUCCESS;
}
