"""Turning code addresses on the guest's console into function and file:line.

Fault reports and panics print one frame a line (runtime/kernel/panic.c):
  backtrace:
    #0 0x0000000004001234
After each frame line whose address lies in app.elf's code, `unicycle run`
prints the function and file:line that binutils' addr2line gives for it.
"""
import re
import subprocess
from pathlib import Path

from . import tools
from .errors import SetupError

TRIGGER = re.compile(r"^\s*#\d+\s+0x")
ADDRESS = re.compile(r"0x([0-9a-fA-F]{6,16})\b")


class Symbolizer:
    def __init__(self, elf: Path):
        self.elf = Path(elf)
        self.addr2line = tools.find("addr2line")
        self.ranges = self._code_ranges()

    def _code_ranges(self):
        """Executable sections of the ELF as (start, end) pairs."""
        try:
            out = subprocess.run([tools.require("objdump"), "-h", str(self.elf)],
                                 capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError, SetupError):
            return []
        ranges, lines = [], out.splitlines()
        for i, line in enumerate(lines):
            parts = line.split()
            if len(parts) >= 7 and parts[0].isdigit() and i + 1 < len(lines) \
                    and "CODE" in lines[i + 1]:
                size, vma = int(parts[2], 16), int(parts[3], 16)
                ranges.append((vma, vma + size))
        return ranges

    def in_code(self, addr: int) -> bool:
        return any(lo <= addr < hi for lo, hi in self.ranges)

    def resolve(self, addrs: list[int]) -> list[str]:
        """'0x4001234 func at file.c:12' for each address, in order."""
        if not self.addr2line or not addrs:
            return []
        proc = subprocess.run([self.addr2line, "-f", "-C", "-e", str(self.elf),
                               *[hex(a) for a in addrs]], capture_output=True, text=True)
        lines = proc.stdout.splitlines()
        out = []
        for i, addr in enumerate(addrs):
            func = lines[2 * i] if 2 * i < len(lines) else "??"
            where = lines[2 * i + 1] if 2 * i + 1 < len(lines) else "??:0"
            where = re.sub(r" \(discriminator \d+\)", "", where)
            out.append(f"    {addr:#x} {func} at {where}")
        return out

    def annotate(self, line: str) -> list[str]:
        """Extra lines to print after `line` (empty for ordinary output)."""
        if not TRIGGER.search(line):
            return []
        addrs = [int(m.group(1), 16) for m in ADDRESS.finditer(line)]
        addrs = [a for a in addrs if self.in_code(a)]
        return self.resolve(addrs)


class ConsoleFilter:
    """The console as it arrives in chunks, with symbolized lines added after each frame line.
    Chunks pass on at once (a prompt without a newline shows); only whole lines are read."""

    MAX_LINE = 4096

    def __init__(self, symbolizer: Symbolizer | None):
        self.symbolizer = symbolizer
        self.pending = b""

    def feed(self, chunk: bytes) -> bytes:
        """What to show for `chunk`: the chunk itself, with extra lines after its frame lines."""
        if self.symbolizer is None:
            return chunk
        *lines, tail = chunk.split(b"\n")
        out = []
        for line in lines:
            out.append(line + b"\n")
            full = (self.pending + line).decode(errors="replace")
            self.pending = b""
            extra = self.symbolizer.annotate(full.rstrip("\r"))
            if extra:
                out.append(("\n".join(extra) + "\n").encode())
        out.append(tail)
        self.pending = (self.pending + tail)[-self.MAX_LINE:]
        return b"".join(out)
