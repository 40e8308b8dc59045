/* filesize.h: the size check a file passes before the loader allocates memory
 * for it or fetches it (pure code, no firmware calls, host unit-tested). */
#ifndef BOOTLOADER_FILESIZE_H
#define BOOTLOADER_FILESIZE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * May a file the source says is `size` bytes (the disk's EFI_FILE_INFO, the
 * TFTP server's tsize option) be read into memory when at most `max` bytes
 * are allowed? When it may, *alloc is the buffer to allocate: size + 1, the
 * spare byte giving an empty file a buffer too. A size over max, or one
 * whose + 1 would wrap (max = UINT64_MAX), may not; *alloc is 0 then.
 */
bool filesize_fits(uint64_t size, uint64_t max, uint64_t *alloc);

#endif
