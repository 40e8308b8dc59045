"""What `unicycle build` says when it is done: app.elf by section, image size,
what ninja compiled, time taken; as a few aligned lines or as JSON.

Section sizes come from app.elf's section headers (System V gABI, "Sections":
sh_type, sh_flags). Allocated sections are counted as `size -A` lists them,
grouped the way Berkeley `size` does, except that read-only data is apart
from text: executable -> text, SHT_NOBITS -> bss, writable -> data, the
rest -> rodata.
"""
import re
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import build as build_mod, components, efisign, output
from .errors import BuildError

ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2                    # e_ident[EI_CLASS]
ELFDATA2LSB = 1                   # e_ident[EI_DATA]
EHDR64 = struct.Struct("<16sHHIQQQIHHHHHH")   # Elf64_Ehdr
SHDR64 = struct.Struct("<IIQQQQIIQQ")         # Elf64_Shdr
SHT_NOBITS = 8
SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
KINDS = ("text", "rodata", "data", "bss")

# ninja's status line for one compile: "[3/57] CC lwip: src/core/tcp.c" (build.py's cc rule)
CC_LINE = re.compile(r"^\[\d+/\d+\] CC ([^:\s]+): ")
NO_WORK = "ninja: no work to do."


def section_sizes(elf: Path) -> dict:
    """{"text": n, "rodata": n, "data": n, "bss": n} in bytes for a 64-bit little-endian ELF."""
    data = Path(elf).read_bytes()
    if len(data) < EHDR64.size or data[:4] != ELF_MAGIC:
        raise BuildError(f"{elf}: not an ELF file")
    ident, *_, shoff, _flags, _ehsize, _phentsize, _phnum, shentsize, shnum, _shstrndx = \
        EHDR64.unpack_from(data)
    if ident[4] != ELFCLASS64 or ident[5] != ELFDATA2LSB:
        raise BuildError(f"{elf}: not a 64-bit little-endian ELF")
    if shnum and (shentsize < SHDR64.size or shoff + shnum * shentsize > len(data)):
        raise BuildError(f"{elf}: section headers run past the end of the file")
    sizes = dict.fromkeys(KINDS, 0)
    for i in range(shnum):
        _name, sh_type, flags, _addr, _off, sh_size, *_ = \
            SHDR64.unpack_from(data, shoff + i * shentsize)
        if not flags & SHF_ALLOC:
            continue
        kind = ("text" if flags & SHF_EXECINSTR else "bss" if sh_type == SHT_NOBITS
                else "data" if flags & SHF_WRITE else "rodata")
        sizes[kind] += sh_size
    return sizes


def compiled(ninja_lines) -> dict:
    """component -> how many of its files ninja compiled, from ninja's CC lines."""
    out = {}
    for line in ninja_lines:
        m = CC_LINE.match(line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + 1
    return out


APP_GROUP = "app"                  # build.py's obj/app/ objects: "CC app: src/main.c"
GROUPS = (APP_GROUP, "runtime", "third-party", "bootloader")


def group_of(comps) -> dict:
    """component name -> the group the summary counts it in (GROUPS)."""
    return {c.name: "bootloader" if c.binary == "bootloader" else
            "third-party" if c.third_party else "runtime" for c in comps}


def grouped(compiled_by_component: dict, groups: dict) -> dict:
    out = {}
    for name, n in compiled_by_component.items():
        g = APP_GROUP if name == APP_GROUP else groups.get(name, "runtime")
        out[g] = out.get(g, 0) + n
    return {g: out[g] for g in GROUPS if g in out}


@dataclass
class Summary:
    app: str
    board: str
    image: Path
    image_size: int
    elf: Path
    sections: dict
    compiled: dict = field(default_factory=dict)    # component -> files compiled
    groups: dict = field(default_factory=dict)      # component -> GROUPS entry
    up_to_date: bool = False
    seconds: float = 0.0
    signed_by: str | None = None                    # the certificate's subject (--sign-efi)

    def as_dict(self) -> dict:
        return {"app": self.app, "board": self.board,
                "image": str(self.image) if self.image_size is not None else None,
                "image_size": self.image_size, "elf": str(self.elf),
                "sections": self.sections, "compiled": self.compiled,
                "compiled_by_group": grouped(self.compiled, self.groups),
                "objects_compiled": sum(self.compiled.values()),
                "up_to_date": self.up_to_date, "signed_by": self.signed_by,
                "seconds": round(self.seconds, 3)}

    def lines(self, shown=str) -> list[str]:
        """One screen: the headline, then aligned rows; `shown` shortens paths."""
        n = sum(self.compiled.values())
        what = ("nothing: up to date" if self.up_to_date else
                f"{n} object(s): " + ", ".join(
                    f"{g} {k}" for g, k in grouped(self.compiled, self.groups).items())
                if n else "nothing (relinked or repackaged only)")
        elf_total = sum(self.sections.values())
        rows = [["compiled", what],
                ["app.elf", "  ".join(f"{k} {output.size(self.sections[k])}" for k in KINDS)
                 + f"  (total {output.size(elf_total)})"],
                ["image", f"{shown(self.image)} {output.size(self.image_size)}"
                 if self.image_size is not None else "not built (--direct: app.elf only)"]]
        if self.signed_by and self.image_size is not None:
            rows.append(["loader", f"BOOTX64.EFI signed for Secure Boot by {self.signed_by} "
                                   "(sbverify OK)"])
        head = f"built {self.app} for {self.board} in {self.seconds:.1f} s"
        return [head] + ["  " + line for line in output.table(rows)]


def build(project_dir, board, sets=(), verbose=False, log=print, direct=False,
          sign_efi=None) -> Summary:
    """`unicycle build` with its summary: ninja's lines go to log as they come. With
    `direct`, only app.elf (no image: image_size is None)."""
    start = time.monotonic()
    proj = build_mod.build_project(project_dir, board, sets, verbose=verbose, log=log,
                                   direct=direct, sign_efi=sign_efi)
    seconds = time.monotonic() - start
    elf = proj.build_dir / "app.elf"
    return Summary(app=proj.manifest.name, board=proj.board.name, image=proj.image,
                   image_size=None if direct else proj.image.stat().st_size, elf=elf,
                   sections=section_sizes(elf),
                   compiled=compiled(proj.ninja_output),
                   groups=group_of(components.enabled(proj.resolved)),
                   up_to_date=NO_WORK in proj.ninja_output, seconds=seconds,
                   signed_by=efisign.subject(proj.efi_signing.cert) if proj.efi_signing else None)
