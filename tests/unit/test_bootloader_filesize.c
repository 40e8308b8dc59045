/* test_bootloader_filesize.c: bootloader/filesize.c, the size check before a file is allocated or fetched. */
#include <stdint.h>
#include <stdio.h>

#include "filesize.h"

#include "check.h"

#define APP_MAX (1ULL << 30)   /* bootloader/main.c BOOT_APP_MAX */

int main(void)
{
	uint64_t alloc;

	/* Within the limit: the size + the spare byte. */
	CHECK(filesize_fits(0, 4096, &alloc) && alloc == 1);
	CHECK(filesize_fits(4095, 4096, &alloc) && alloc == 4096);
	CHECK(filesize_fits(4096, 4096, &alloc) && alloc == 4097);
	CHECK(filesize_fits(APP_MAX, APP_MAX, &alloc) && alloc == APP_MAX + 1);
	/* Over it: refused, nothing to allocate. */
	CHECK(!filesize_fits(4097, 4096, &alloc) && alloc == 0);
	CHECK(!filesize_fits(APP_MAX + 1, APP_MAX, &alloc) && alloc == 0);
	/* A server's tsize of 2^64 - 1: over any real limit, and its + 1
	 * would wrap to a 0-byte buffer the download then overruns. */
	CHECK(!filesize_fits(UINT64_MAX, APP_MAX, &alloc) && alloc == 0);
	CHECK(!filesize_fits(UINT64_MAX, UINT64_MAX, &alloc) && alloc == 0);
	CHECK(filesize_fits(UINT64_MAX - 1, UINT64_MAX, &alloc) && alloc == UINT64_MAX);
	/* A limit of 0 (payload.cfg announcing an empty app.elf). */
	CHECK(filesize_fits(0, 0, &alloc) && alloc == 1);
	CHECK(!filesize_fits(1, 0, &alloc));

	printf("filesize: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
