/* elf.c: validation and placement of app.elf (no firmware calls). */
#include <string.h>
#include <unicycle/bootinfo.h>

#include "elf.h"

static enum elf_error fail(struct elf_fault *fault, enum elf_error err,
                           int phdr, uint64_t value)
{
	fault->phdr = phdr;
	fault->other = -1;
	fault->value = value;
	return err;
}

/* Checks in the order the header is read: nothing is trusted until the
 * checks before it have passed. Headers are copied out with memcpy so the
 * file buffer needs no alignment. */
enum elf_error elf_check(const void *file, uint64_t size,
                         struct elf_image *img, struct elf_fault *fault)
{
	const uint8_t *bytes = file;
	struct elf64_ehdr eh;
	uint64_t table_size, i;

	memset(img, 0, sizeof(*img));
	fail(fault, ELF_OK, -1, 0);

	if (size < sizeof(eh))
		return fail(fault, ELF_ERR_TOO_SMALL, -1, size);
	memcpy(&eh, bytes, sizeof(eh));

	if (eh.e_ident[0] != 0x7f || eh.e_ident[1] != 'E' ||
	    eh.e_ident[2] != 'L' || eh.e_ident[3] != 'F')
		return fail(fault, ELF_ERR_MAGIC, -1,
		            (uint64_t)eh.e_ident[0] << 24 | eh.e_ident[1] << 16 |
		            eh.e_ident[2] << 8 | eh.e_ident[3]);
	if (eh.e_ident[ELF_EI_CLASS] != ELF_CLASS64)
		return fail(fault, ELF_ERR_CLASS, -1, eh.e_ident[ELF_EI_CLASS]);
	if (eh.e_ident[ELF_EI_DATA] != ELF_DATA2LSB)
		return fail(fault, ELF_ERR_DATA, -1, eh.e_ident[ELF_EI_DATA]);
	if (eh.e_ident[ELF_EI_VERSION] != ELF_EV_CURRENT)
		return fail(fault, ELF_ERR_VERSION, -1, eh.e_ident[ELF_EI_VERSION]);
	if (eh.e_version != ELF_EV_CURRENT)
		return fail(fault, ELF_ERR_VERSION, -1, eh.e_version);
	if (eh.e_machine != ELF_EM_X86_64)
		return fail(fault, ELF_ERR_MACHINE, -1, eh.e_machine);
	if (eh.e_type != ELF_ET_EXEC)
		return fail(fault, ELF_ERR_TYPE, -1, eh.e_type);
	if (eh.e_ehsize < sizeof(eh))
		return fail(fault, ELF_ERR_EHSIZE, -1, eh.e_ehsize);
	if (eh.e_phentsize != sizeof(struct elf64_phdr))
		return fail(fault, ELF_ERR_PHENTSIZE, -1, eh.e_phentsize);
	if (eh.e_phnum == 0 || eh.e_phnum == ELF_PN_XNUM)
		return fail(fault, ELF_ERR_PHNUM, -1, eh.e_phnum);

	/* e_phnum < 2^16 and e_phentsize == 56: the product cannot overflow,
	 * but e_phoff + table_size can. */
	table_size = (uint64_t)eh.e_phnum * eh.e_phentsize;
	if (eh.e_phoff > size || table_size > size - eh.e_phoff)
		return fail(fault, ELF_ERR_PHDRS_OUTSIDE, -1, eh.e_phoff);

	for (i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph;
		struct elf_segment *seg;
		int idx = (int)i;

		memcpy(&ph, bytes + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == ELF_PT_INTERP || ph.p_type == ELF_PT_DYNAMIC)
			return fail(fault, ELF_ERR_INTERP, idx, ph.p_type);
		if (ph.p_type != ELF_PT_LOAD)
			continue;
		if (img->nload == ELF_MAX_LOAD)
			return fail(fault, ELF_ERR_TOO_MANY_LOADS, idx, eh.e_phnum);
		if (ph.p_offset > size || ph.p_filesz > size - ph.p_offset)
			return fail(fault, ELF_ERR_SEG_OUTSIDE_FILE, idx,
			            ph.p_offset);
		if (ph.p_filesz > ph.p_memsz)
			return fail(fault, ELF_ERR_SEG_FILESZ, idx, ph.p_filesz);
		if (ph.p_vaddr != ph.p_paddr)
			return fail(fault, ELF_ERR_SEG_VADDR, idx, ph.p_vaddr);
		if (ph.p_paddr < ELF_LOAD_MIN || ph.p_paddr >= ELF_LOAD_MAX ||
		    ph.p_memsz > ELF_LOAD_MAX - ph.p_paddr)
			return fail(fault, ELF_ERR_SEG_RANGE, idx, ph.p_paddr);
		seg = &img->load[img->nload++];
		seg->paddr = ph.p_paddr;
		seg->memsz = ph.p_memsz;
		seg->offset = ph.p_offset;
		seg->filesz = ph.p_filesz;
		seg->flags = ph.p_flags;
	}
	if (img->nload == 0)
		return fail(fault, ELF_ERR_NO_LOAD, -1, eh.e_phnum);

	/* No two segments may share a byte: the copy order would decide
	 * which one wins. Empty segments (p_memsz 0) occupy nothing. At most
	 * ELF_MAX_LOAD^2 / 2 comparisons. */
	for (unsigned a = 0; a < img->nload; a++) {
		const struct elf_segment *sa = &img->load[a];

		for (unsigned b = a + 1; b < img->nload; b++) {
			const struct elf_segment *sb = &img->load[b];

			if (sa->memsz && sb->memsz &&
			    sa->paddr < sb->paddr + sb->memsz &&
			    sb->paddr < sa->paddr + sa->memsz) {
				fail(fault, ELF_ERR_SEG_OVERLAP, (int)a,
				     sb->paddr);
				fault->other = (int)b;
				return ELF_ERR_SEG_OVERLAP;
			}
		}
	}

	img->base = UINT64_MAX;
	img->end = 0;
	for (unsigned a = 0; a < img->nload; a++) {
		const struct elf_segment *s = &img->load[a];

		if (s->paddr < img->base)
			img->base = s->paddr;
		if (s->paddr + s->memsz > img->end)
			img->end = s->paddr + s->memsz;
	}
	img->base &= ~(BOOTINFO_PAGE - 1);
	/* end < ELF_LOAD_MAX, so rounding up cannot overflow. */
	img->end = (img->end + BOOTINFO_PAGE - 1) & ~(BOOTINFO_PAGE - 1);

	/* The entry must be code the file provides, in an executable segment. */
	for (unsigned a = 0; a < img->nload; a++) {
		const struct elf_segment *s = &img->load[a];

		if ((s->flags & ELF_PF_X) && eh.e_entry >= s->paddr &&
		    eh.e_entry - s->paddr < s->filesz) {
			img->entry = eh.e_entry;
			return ELF_OK;
		}
	}
	return fail(fault, ELF_ERR_ENTRY, -1, eh.e_entry);
}

const char *elf_strerror(enum elf_error err)
{
	switch (err) {
	case ELF_OK:                   return "no error";
	case ELF_ERR_TOO_SMALL:        return "file smaller than an ELF64 header";
	case ELF_ERR_MAGIC:            return "not an ELF file (bad magic)";
	case ELF_ERR_CLASS:            return "not a 64-bit ELF (EI_CLASS)";
	case ELF_ERR_DATA:             return "not little-endian (EI_DATA)";
	case ELF_ERR_VERSION:          return "unknown ELF version";
	case ELF_ERR_TYPE:             return "not a static executable (e_type, want ET_EXEC)";
	case ELF_ERR_MACHINE:          return "wrong machine (e_machine, want EM_X86_64)";
	case ELF_ERR_EHSIZE:           return "header size too small (e_ehsize)";
	case ELF_ERR_PHENTSIZE:        return "bad program header size (e_phentsize)";
	case ELF_ERR_PHNUM:            return "bad program header count (e_phnum)";
	case ELF_ERR_PHDRS_OUTSIDE:    return "program headers past end of file (e_phoff)";
	case ELF_ERR_INTERP:           return "dynamic executable (PT_INTERP/PT_DYNAMIC)";
	case ELF_ERR_TOO_MANY_LOADS:   return "too many PT_LOAD segments";
	case ELF_ERR_NO_LOAD:          return "no PT_LOAD segment";
	case ELF_ERR_SEG_OUTSIDE_FILE: return "segment past end of file (p_offset + p_filesz)";
	case ELF_ERR_SEG_FILESZ:       return "segment p_filesz larger than p_memsz";
	case ELF_ERR_SEG_VADDR:        return "segment p_vaddr differs from p_paddr";
	case ELF_ERR_SEG_RANGE:        return "segment outside loadable memory (p_paddr + p_memsz)";
	case ELF_ERR_SEG_OVERLAP:      return "segments overlap";
	case ELF_ERR_ENTRY:            return "entry point not in an executable segment (e_entry)";
	}
	return "unknown error";
}

void elf_place(const struct elf_image *img, const void *file, void *dst)
{
	uint8_t *out = dst;

	/* Zero the whole range first: gaps between segments and each .bss. */
	memset(out, 0, img->end - img->base);
	for (unsigned i = 0; i < img->nload; i++) {
		const struct elf_segment *s = &img->load[i];

		memcpy(out + (s->paddr - img->base),
		       (const uint8_t *)file + s->offset, s->filesz);
	}
}
