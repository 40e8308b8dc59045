/* elf.h: ELF64 header layout and the checks app.elf must pass before the
 * bootloader places it (pure code, no firmware calls, host unit-tested). */
#ifndef BOOTLOADER_ELF_H
#define BOOTLOADER_ELF_H

#include <stddef.h>
#include <stdint.h>

/* ELF-64 Object File Format 1.5 / System V gABI 4.1, "ELF Header". */
#define ELF_EI_NIDENT     16
#define ELF_EI_CLASS      4   /* e_ident[] index */
#define ELF_EI_DATA       5
#define ELF_EI_VERSION    6
#define ELF_CLASS64       2
#define ELF_DATA2LSB      1
#define ELF_EV_CURRENT    1
#define ELF_ET_EXEC       2   /* e_type */
#define ELF_EM_X86_64     62  /* e_machine */
#define ELF_PN_XNUM       0xffff  /* e_phnum escape: real count elsewhere */

/* gABI "Program Header": p_type values and p_flags bits. */
#define ELF_PT_LOAD       1
#define ELF_PT_DYNAMIC    2
#define ELF_PT_INTERP     3
#define ELF_PF_X          0x1
#define ELF_PF_W          0x2
#define ELF_PF_R          0x4

struct elf64_ehdr {
	uint8_t  e_ident[ELF_EI_NIDENT];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};

/* More PT_LOAD segments than this is not a Unicycle app (ours have 2-4). */
#define ELF_MAX_LOAD      16

/* The window a segment may land in: above the first MiB (real-mode IVT,
 * EBDA, legacy ROMs) and inside the lower canonical half (128 TiB). Whether
 * the RAM is there is the firmware's answer when the loader asks for it. */
#define ELF_LOAD_MIN      0x100000ULL
#define ELF_LOAD_MAX      0x0000800000000000ULL

enum elf_error {
	ELF_OK = 0,
	ELF_ERR_TOO_SMALL,       /* file shorter than the ELF header */
	ELF_ERR_MAGIC,           /* e_ident[0..3] != "\177ELF" */
	ELF_ERR_CLASS,           /* not ELFCLASS64 */
	ELF_ERR_DATA,            /* not little-endian */
	ELF_ERR_VERSION,         /* e_ident[EI_VERSION] or e_version != 1 */
	ELF_ERR_TYPE,            /* not ET_EXEC (PIE/shared/relocatable) */
	ELF_ERR_MACHINE,         /* not EM_X86_64 */
	ELF_ERR_EHSIZE,          /* e_ehsize smaller than the header */
	ELF_ERR_PHENTSIZE,       /* e_phentsize != sizeof(struct elf64_phdr) */
	ELF_ERR_PHNUM,           /* no program headers, or PN_XNUM */
	ELF_ERR_PHDRS_OUTSIDE,   /* program header table past end of file */
	ELF_ERR_INTERP,          /* PT_INTERP/PT_DYNAMIC: needs a dynamic loader */
	ELF_ERR_TOO_MANY_LOADS,  /* more than ELF_MAX_LOAD PT_LOAD segments */
	ELF_ERR_NO_LOAD,         /* no PT_LOAD segment */
	ELF_ERR_SEG_OUTSIDE_FILE,/* p_offset + p_filesz past end of file */
	ELF_ERR_SEG_FILESZ,      /* p_filesz > p_memsz */
	ELF_ERR_SEG_VADDR,       /* p_vaddr != p_paddr (we identity-map) */
	ELF_ERR_SEG_RANGE,       /* p_paddr + p_memsz overflows or leaves the
	                            [ELF_LOAD_MIN, ELF_LOAD_MAX) window */
	ELF_ERR_SEG_OVERLAP,     /* two PT_LOAD segments share bytes */
	ELF_ERR_ENTRY,           /* e_entry not inside an executable PT_LOAD */
};

struct elf_segment {
	uint64_t paddr;    /* where it goes (== p_vaddr) */
	uint64_t memsz;    /* bytes in memory */
	uint64_t offset;   /* where its bytes are in the file */
	uint64_t filesz;   /* bytes copied from the file; the rest is zeroed */
	uint32_t flags;    /* ELF_PF_* */
};

/* What elf_check() learned: everything the loader needs, already checked. */
struct elf_image {
	uint64_t entry;
	uint64_t base;       /* lowest paddr of a PT_LOAD, rounded down to BOOTINFO_PAGE */
	uint64_t end;        /* highest paddr + memsz, rounded up to BOOTINFO_PAGE */
	unsigned nload;
	struct elf_segment load[ELF_MAX_LOAD];
};

/* Where a check failed, for the message on screen. */
struct elf_fault {
	int phdr;            /* program header index, -1 when about the header */
	int other;           /* the second header index for ELF_ERR_SEG_OVERLAP */
	uint64_t value;      /* the offending field's value */
};

/*
 * Check that the size bytes at file are an x86_64 static executable that can
 * be placed by copying its PT_LOAD segments to their physical addresses.
 * file needs no particular alignment. On success fills *img and returns
 * ELF_OK; otherwise returns the first failed check and fills *fault.
 */
enum elf_error elf_check(const void *file, uint64_t size,
                         struct elf_image *img, struct elf_fault *fault);

/* One line of English for an error ("wrong machine (e_machine)"). */
const char *elf_strerror(enum elf_error err);

/*
 * Copy each segment from file to dst + (paddr - img->base), zero the rest of
 * the image range [base, end). dst must hold img->end - img->base bytes. In
 * the bootloader dst == (void *)img->base; the unit tests pass a buffer.
 */
void elf_place(const struct elf_image *img, const void *file, void *dst);

#endif
