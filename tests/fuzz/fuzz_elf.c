/* fuzz_elf.c: libFuzzer target: arbitrary files through the bootloader's app.elf checks and placement (bootloader/elf.c). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/bootinfo.h>

#include "elf.h"

/*
 * The file is copied into a heap block of exactly its size, so a read past
 * its end is caught. A file elf_check() accepts must keep every promise
 * elf.h makes (segments inside the file and inside the load window, no
 * overlap, entry in an executable segment's file bytes, base/end covering
 * every segment on page boundaries); when its image is small enough,
 * elf_place() runs into a buffer of exactly end - base bytes and the copy
 * is compared with the file.
 */

#define FUZZ_PLACE_MAX (8u << 20)   /* images up to this are placed */

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_elf: %s\n", what);
	abort();
}

static void check_image(const struct elf_image *img, const uint8_t *file, uint64_t size)
{
	bool entry_ok = false;

	if (img->nload == 0 || img->nload > ELF_MAX_LOAD)
		fuzz_fail("segment count");
	if (img->base % BOOTINFO_PAGE || img->end % BOOTINFO_PAGE || img->base >= img->end ||
	    img->base < (ELF_LOAD_MIN & ~(BOOTINFO_PAGE - 1)) || img->end > ELF_LOAD_MAX)
		fuzz_fail("image range");
	for (unsigned i = 0; i < img->nload; i++) {
		const struct elf_segment *s = &img->load[i];

		if (s->offset > size || s->filesz > size - s->offset || s->filesz > s->memsz)
			fuzz_fail("segment outside the file");
		if (s->paddr < ELF_LOAD_MIN || s->paddr < img->base ||
		    s->memsz > img->end - s->paddr)
			fuzz_fail("segment outside the image range");
		for (unsigned j = i + 1; j < img->nload; j++) {
			const struct elf_segment *t = &img->load[j];

			if (s->memsz && t->memsz && s->paddr < t->paddr + t->memsz &&
			    t->paddr < s->paddr + s->memsz)
				fuzz_fail("overlapping segments accepted");
		}
		if ((s->flags & ELF_PF_X) && img->entry >= s->paddr &&
		    img->entry - s->paddr < s->filesz)
			entry_ok = true;
	}
	if (!entry_ok)
		fuzz_fail("entry not in an executable segment");
	if (img->end - img->base <= FUZZ_PLACE_MAX) {
		size_t n = (size_t)(img->end - img->base);
		uint8_t *dst = malloc(n);

		memset(dst, 0xa5, n);
		elf_place(img, file, dst);
		for (unsigned i = 0; i < img->nload; i++) {
			const struct elf_segment *s = &img->load[i];
			const uint8_t *at = dst + (s->paddr - img->base);

			if (memcmp(at, file + s->offset, s->filesz) != 0)
				fuzz_fail("placed bytes differ from the file");
			for (uint64_t k = s->filesz; k < s->memsz; k++)
				if (at[k] != 0)
					fuzz_fail(".bss not zeroed");
		}
		free(dst);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *file = malloc(size ? size : 1);
	struct elf_image img;
	struct elf_fault fault;
	enum elf_error err;

	memcpy(file, data, size);
	err = elf_check(file, size, &img, &fault);
	if (!elf_strerror(err) || !strcmp(elf_strerror(err), "unknown error"))
		fuzz_fail("error without a message");
	if (err == ELF_OK)
		check_image(&img, file, size);
	else if (fault.phdr < -1 || fault.phdr >= 0xffff)
		fuzz_fail("fault names no program header");
	free(file);
	return 0;
}
