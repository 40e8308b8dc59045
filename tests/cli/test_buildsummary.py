"""The build summary's pieces: ELF section sizes (against binutils' `size -A`),
ninja's CC lines, and refusing a file that is not an ELF."""
import re
import subprocess

import pytest

from unicycle import buildsummary
from unicycle.errors import BuildError

SOURCE = """
const char table[300] = {1};          /* rodata */
int counters[10] = {1};               /* data: 40 bytes */
char scratch[4096];                   /* bss */
int twice(int x) { return counters[x] + table[x] + scratch[x]; }
"""


def size_a(path) -> dict:
    """`size -A`: section -> size."""
    out = subprocess.run(["size", "-A", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\.\S+)\s+(\d+)", out, re.M)}


def test_section_sizes_match_size(tmp_path):
    src = tmp_path / "t.c"
    src.write_text(SOURCE)
    obj = tmp_path / "t.o"
    subprocess.run(["gcc", "-O2", "-fno-common", "-fno-asynchronous-unwind-tables", "-c",
                    str(src), "-o", str(obj)], check=True)
    got = buildsummary.section_sizes(obj)
    ref = size_a(obj)
    assert got["bss"] == ref[".bss"] == 4096
    assert got["data"] == ref[".data"] == 40
    assert got["rodata"] == ref[".rodata"] >= 300
    assert got["text"] == ref[".text"] > 0


def test_not_an_elf(tmp_path):
    bad = tmp_path / "app.elf"
    bad.write_bytes(b"MZ" + b"\0" * 100)
    with pytest.raises(BuildError, match="not an ELF file"):
        buildsummary.section_sizes(bad)
    bad.write_bytes(b"\x7fELF\x01\x01" + b"\0" * 58)
    with pytest.raises(BuildError, match="not a 64-bit little-endian ELF"):
        buildsummary.section_sizes(bad)


def test_compiled_counts_ninja_cc_lines():
    lines = ["ninja: Entering directory `build/qemu-x86_64'",
             "[1/9] CC kernel: kernel/main.c", "[2/9] CC lwip: src/core/tcp.c",
             "[3/9] CC lwip: src/core/udp.c", "main.c:3:1: warning: CC foo: bar",
             "[4/9] CC app: src/main.c", "[5/9] LINK app.elf"]
    assert buildsummary.compiled(lines) == {"kernel": 1, "lwip": 2, "app": 1}
    groups = {"kernel": "runtime", "lwip": "third-party"}
    assert buildsummary.grouped(buildsummary.compiled(lines), groups) == \
        {"app": 1, "runtime": 1, "third-party": 2}
