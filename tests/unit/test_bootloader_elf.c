/* test_bootloader_elf.c: bootloader/elf.c against good and malformed ELFs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicycle/bootinfo.h>

#include "elf.h"

#include "check.h"


#define FILE_SIZE 0x1200

/* A good image: text at 16 MiB (R+X, 0x100 bytes), data+bss one page up
 * (R+W, 0x10 bytes from the file, 0x2000 in memory), a PT_GNU_STACK. */
struct image {
	uint8_t bytes[FILE_SIZE];
};

static void put_ehdr(struct image *im, const struct elf64_ehdr *eh)
{
	memcpy(im->bytes, eh, sizeof(*eh));
}

static struct elf64_ehdr get_ehdr(const struct image *im)
{
	struct elf64_ehdr eh;

	memcpy(&eh, im->bytes, sizeof(eh));
	return eh;
}

static struct elf64_phdr get_phdr(const struct image *im, int i)
{
	struct elf64_phdr ph;
	struct elf64_ehdr eh = get_ehdr(im);

	memcpy(&ph, im->bytes + eh.e_phoff + i * sizeof(ph), sizeof(ph));
	return ph;
}

static void put_phdr(struct image *im, int i, const struct elf64_phdr *ph)
{
	struct elf64_ehdr eh = get_ehdr(im);

	memcpy(im->bytes + eh.e_phoff + i * sizeof(*ph), ph, sizeof(*ph));
}

static void make_good(struct image *im)
{
	struct elf64_ehdr eh = {
		.e_ident = { 0x7f, 'E', 'L', 'F', ELF_CLASS64, ELF_DATA2LSB,
		             ELF_EV_CURRENT },
		.e_type = ELF_ET_EXEC,
		.e_machine = ELF_EM_X86_64,
		.e_version = ELF_EV_CURRENT,
		.e_entry = 0x1000010,
		.e_phoff = sizeof(struct elf64_ehdr),
		.e_ehsize = sizeof(struct elf64_ehdr),
		.e_phentsize = sizeof(struct elf64_phdr),
		.e_phnum = 3,
	};
	struct elf64_phdr text = {
		.p_type = ELF_PT_LOAD, .p_flags = ELF_PF_R | ELF_PF_X,
		.p_offset = 0x1000, .p_vaddr = 0x1000000, .p_paddr = 0x1000000,
		.p_filesz = 0x100, .p_memsz = 0x100, .p_align = 0x1000,
	};
	struct elf64_phdr data = {
		.p_type = ELF_PT_LOAD, .p_flags = ELF_PF_R | ELF_PF_W,
		.p_offset = 0x1100, .p_vaddr = 0x1001000, .p_paddr = 0x1001000,
		.p_filesz = 0x10, .p_memsz = 0x2000, .p_align = 0x1000,
	};
	struct elf64_phdr stack = { .p_type = 0x6474e551, .p_flags = 6 };

	memset(im, 0, sizeof(*im));
	put_ehdr(im, &eh);
	put_phdr(im, 0, &text);
	put_phdr(im, 1, &data);
	put_phdr(im, 2, &stack);
	for (int i = 0; i < 0x100; i++)
		im->bytes[0x1000 + i] = (uint8_t)(0x90 + i);
	for (int i = 0; i < 0x10; i++)
		im->bytes[0x1100 + i] = (uint8_t)(0xa0 + i);
}

static enum elf_error check(const struct image *im, uint64_t size,
                            struct elf_fault *f)
{
	struct elf_image img;

	return elf_check(im->bytes, size, &img, f);
}

static void test_good(void)
{
	struct image im;
	struct elf_image img;
	struct elf_fault f;
	uint8_t *mem;

	make_good(&im);
	CHECK(elf_check(im.bytes, FILE_SIZE, &img, &f) == ELF_OK);
	CHECK(img.entry == 0x1000010);
	CHECK(img.base == 0x1000000);
	CHECK(img.end == 0x1003000);
	CHECK(img.nload == 2);
	CHECK(img.load[1].memsz == 0x2000 && img.load[1].filesz == 0x10);

	/* Placement: bytes copied, the rest zeroed. */
	mem = malloc(img.end - img.base);
	memset(mem, 0xcc, img.end - img.base);
	elf_place(&img, im.bytes, mem);
	CHECK(mem[0] == 0x90 && mem[0xff] == (uint8_t)(0x90 + 0xff));
	CHECK(mem[0x100] == 0 && mem[0xfff] == 0);
	CHECK(mem[0x1000] == 0xa0 && mem[0x100f] == 0xaf);
	CHECK(mem[0x1010] == 0 && mem[0x2fff] == 0);
	free(mem);

	/* Unaligned buffer: headers are copied out, never dereferenced. */
	uint8_t *odd = malloc(FILE_SIZE + 1);
	memcpy(odd + 1, im.bytes, FILE_SIZE);
	CHECK(elf_check(odd + 1, FILE_SIZE, &img, &f) == ELF_OK);
	free(odd);
}

static void test_header(void)
{
	struct image im;
	struct elf64_ehdr eh;
	struct elf_fault f;

	make_good(&im);
	CHECK(check(&im, 10, &f) == ELF_ERR_TOO_SMALL && f.value == 10);
	CHECK(check(&im, 0, &f) == ELF_ERR_TOO_SMALL);

	make_good(&im);
	im.bytes[1] = 'X';
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_MAGIC && f.phdr == -1);

	make_good(&im);
	im.bytes[ELF_EI_CLASS] = 1;          /* ELFCLASS32 */
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_CLASS && f.value == 1);

	make_good(&im);
	im.bytes[ELF_EI_DATA] = 2;           /* big-endian */
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_DATA && f.value == 2);

	make_good(&im);
	im.bytes[ELF_EI_VERSION] = 0;
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_VERSION);

	make_good(&im);
	eh = get_ehdr(&im);
	eh.e_machine = 183;                  /* EM_AARCH64 */
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_MACHINE && f.value == 183);

	make_good(&im);
	eh = get_ehdr(&im);
	eh.e_type = 3;                       /* ET_DYN: PIE */
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_TYPE && f.value == 3);

	make_good(&im);
	eh = get_ehdr(&im);
	eh.e_ehsize = 52;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_EHSIZE);

	make_good(&im);
	eh = get_ehdr(&im);
	eh.e_phentsize = 32;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_PHENTSIZE && f.value == 32);

	make_good(&im);
	eh = get_ehdr(&im);
	eh.e_phnum = 0;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_PHNUM);
	eh.e_phnum = ELF_PN_XNUM;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_PHNUM);
}

static void test_phdr_table(void)
{
	struct image im;
	struct elf64_ehdr eh;
	struct elf_fault f;

	/* Truncated: the file ends inside the program header table. */
	make_good(&im);
	CHECK(check(&im, sizeof(struct elf64_ehdr) + 60, &f) ==
	      ELF_ERR_PHDRS_OUTSIDE);

	/* e_phoff past the end, and e_phoff + size wrapping around. */
	make_good(&im);
	eh = get_ehdr(&im);
	eh.e_phoff = FILE_SIZE + 8;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_PHDRS_OUTSIDE &&
	      f.value == FILE_SIZE + 8);
	eh.e_phoff = UINT64_MAX - 8;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_PHDRS_OUTSIDE);
}

static void test_segments(void)
{
	struct image im;
	struct elf64_ehdr eh;
	struct elf64_phdr ph;
	struct elf_fault f;

	/* Segment bytes past the end of the file. */
	make_good(&im);
	ph = get_phdr(&im, 1);
	ph.p_filesz = 0x200;
	put_phdr(&im, 1, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_SEG_OUTSIDE_FILE &&
	      f.phdr == 1);

	/* p_offset + p_filesz wraps. */
	make_good(&im);
	ph = get_phdr(&im, 0);
	ph.p_offset = UINT64_MAX - 0x10;
	put_phdr(&im, 0, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_SEG_OUTSIDE_FILE &&
	      f.phdr == 0);

	make_good(&im);
	ph = get_phdr(&im, 1);
	ph.p_memsz = 0x8;
	put_phdr(&im, 1, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_SEG_FILESZ && f.phdr == 1);

	make_good(&im);
	ph = get_phdr(&im, 0);
	ph.p_vaddr = 0xffffffff81000000;
	put_phdr(&im, 0, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_SEG_VADDR && f.phdr == 0);

	/* Below 1 MiB, past the canonical half, and paddr + memsz wrapping. */
	make_good(&im);
	ph = get_phdr(&im, 0);
	ph.p_vaddr = ph.p_paddr = 0x7000;
	put_phdr(&im, 0, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_SEG_RANGE && f.value == 0x7000);
	ph.p_vaddr = ph.p_paddr = ELF_LOAD_MAX;
	put_phdr(&im, 0, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_SEG_RANGE);
	make_good(&im);
	ph = get_phdr(&im, 1);
	ph.p_memsz = UINT64_MAX - 0x1000;
	put_phdr(&im, 1, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_SEG_RANGE && f.phdr == 1);

	/* Overlapping segments: data starts inside text. */
	make_good(&im);
	ph = get_phdr(&im, 1);
	ph.p_vaddr = ph.p_paddr = 0x10000f0;
	put_phdr(&im, 1, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_SEG_OVERLAP &&
	      f.phdr == 0 && f.other == 1);
	/* Touching is fine. */
	ph.p_vaddr = ph.p_paddr = 0x1000100;
	put_phdr(&im, 1, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_OK);

	/* Dynamic executables need a loader we do not have. */
	make_good(&im);
	ph = get_phdr(&im, 2);
	ph.p_type = ELF_PT_INTERP;
	put_phdr(&im, 2, &ph);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_INTERP && f.phdr == 2);

	/* No PT_LOAD at all. */
	make_good(&im);
	eh = get_ehdr(&im);
	eh.e_phoff = sizeof(struct elf64_ehdr) + 2 * sizeof(struct elf64_phdr);
	eh.e_phnum = 1;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_NO_LOAD);
}

static void test_too_many(void)
{
	static uint8_t buf[sizeof(struct elf64_ehdr) +
	                   (ELF_MAX_LOAD + 1) * sizeof(struct elf64_phdr)];
	struct image im;
	struct elf64_ehdr eh;
	struct elf_image img;
	struct elf_fault f;

	make_good(&im);
	eh = get_ehdr(&im);
	eh.e_phnum = ELF_MAX_LOAD + 1;
	memcpy(buf, &eh, sizeof(eh));
	for (int i = 0; i <= ELF_MAX_LOAD; i++) {
		struct elf64_phdr ph = {
			.p_type = ELF_PT_LOAD, .p_flags = ELF_PF_R | ELF_PF_X,
			.p_vaddr = 0x1000000 + i * 0x1000,
			.p_paddr = 0x1000000 + i * 0x1000,
			.p_memsz = 0x1000,
		};
		memcpy(buf + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
	CHECK(elf_check(buf, sizeof(buf), &img, &f) == ELF_ERR_TOO_MANY_LOADS &&
	      f.phdr == ELF_MAX_LOAD);
}

static void test_entry(void)
{
	struct image im;
	struct elf64_ehdr eh;
	struct elf_fault f;

	/* Outside every segment. */
	make_good(&im);
	eh = get_ehdr(&im);
	eh.e_entry = 0x2000000;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_ENTRY && f.value == 0x2000000);

	/* Inside the data segment, which is not executable. */
	eh.e_entry = 0x1001000;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_ENTRY);

	/* Just past the text bytes the file provides. */
	eh.e_entry = 0x1000100;
	put_ehdr(&im, &eh);
	CHECK(check(&im, FILE_SIZE, &f) == ELF_ERR_ENTRY);
}

static void test_strerror(void)
{
	for (int e = ELF_OK; e <= ELF_ERR_ENTRY; e++)
		CHECK(strcmp(elf_strerror(e), "unknown error") != 0);
	CHECK(strstr(elf_strerror(ELF_ERR_MACHINE), "e_machine") != NULL);
}

/* Every prefix of a good file is checked without reading past its end
 * (ASan watches); it passes once it holds the last segment byte (0x1110). */
static void test_truncations(void)
{
	struct image im;
	struct elf_fault f;

	make_good(&im);
	for (uint64_t n = 0; n < FILE_SIZE; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct elf_image img;

		memcpy(copy, im.bytes, n);
		CHECK((elf_check(copy, n, &img, &f) == ELF_OK) == (n >= 0x1110));
		free(copy);
	}
}

/* Random header damage: whatever elf_check accepts must keep its promises
 * (every accepted segment inside the file and the window, no overlaps,
 * entry in executable file bytes), and placing it must stay in bounds. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_random_damage(void)
{
	int accepted = 0, bad = 0;

	for (int iter = 0; iter < 50000; iter++) {
		struct image im;
		struct elf_image img;
		struct elf_fault f;
		uint64_t size = FILE_SIZE;
		int flips = 1 + (int)(rng() % 4);

		make_good(&im);
		/* Damage the header and program headers (first 232 bytes). */
		for (int i = 0; i < flips; i++) {
			size_t at = rng() % (sizeof(struct elf64_ehdr) +
			                     3 * sizeof(struct elf64_phdr));
			im.bytes[at] = (uint8_t)rng();
		}
		if (rng() % 8 == 0)
			size = rng() % FILE_SIZE;
		uint8_t *copy = malloc(size ? size : 1);
		memcpy(copy, im.bytes, size);
		if (elf_check(copy, size, &img, &f) != ELF_OK) {
			free(copy);
			continue;
		}
		accepted++;
		int entry_ok = 0;
		for (unsigned a = 0; a < img.nload; a++) {
			const struct elf_segment *s = &img.load[a];

			if (s->offset > size || s->filesz > size - s->offset ||
			    s->filesz > s->memsz || s->paddr < ELF_LOAD_MIN ||
			    s->paddr + s->memsz > ELF_LOAD_MAX ||
			    s->paddr < img.base || s->paddr + s->memsz > img.end)
				bad++;
			for (unsigned b = a + 1; b < img.nload; b++) {
				const struct elf_segment *t = &img.load[b];

				if (s->memsz && t->memsz && s->paddr < t->paddr + t->memsz &&
				    t->paddr < s->paddr + s->memsz)
					bad++;
			}
			if ((s->flags & ELF_PF_X) && img.entry >= s->paddr &&
			    img.entry < s->paddr + s->filesz)
				entry_ok = 1;
		}
		if (!entry_ok || img.base % BOOTINFO_PAGE || img.end % BOOTINFO_PAGE)
			bad++;
		if (img.end - img.base <= (1u << 20)) {
			uint8_t *mem = malloc(img.end - img.base);

			elf_place(&img, copy, mem);
			free(mem);
		}
		free(copy);
	}
	CHECK(bad == 0);
	CHECK(accepted > 0);   /* some damage (unused fields) is harmless */
}

int main(void)
{
	test_good();
	test_header();
	test_phdr_table();
	test_segments();
	test_too_many();
	test_entry();
	test_strerror();
	test_truncations();
	test_random_damage();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
