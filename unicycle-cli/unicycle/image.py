"""unicycle.img: a GPT disk with one FAT32 EFI System Partition, built without root.

Layout (512-byte sectors): protective MBR + primary GPT, the ESP from 1 MiB
(2048, aligned for flash media), then 1 MiB holding the backup GPT at the end.
The ESP holds EFI/BOOT/BOOTX64.EFI and unicycle/{app.elf,boot.cfg}.
Size: the contents plus 25% and 4 MiB of margin, never below the FAT32
minimum (65525 clusters of 512 bytes: 33 MiB, so the ESP is at least 34 MiB).
"""
import math
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import tools
from .errors import BuildError

MIB = 1 << 20
SECTOR = 512
ESP_START = 2048                  # sectors: 1 MiB
ESP_MIN_MIB = 34
MARGIN_MIB = 4
ESP_TYPE = "ef00"                 # sgdisk's code for C12A7328-F81F-11D2-BA4B-00A0C93EC93B


def _run(cmd, what):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed (exit {proc.returncode}): "
                         f"{(proc.stderr or proc.stdout).strip()}")
    return proc.stdout


def esp_size_mib(content_bytes: int) -> int:
    return max(ESP_MIN_MIB, math.ceil(content_bytes * 1.25 / MIB) + MARGIN_MIB)


def package(efi: Path, elf: Path, cfg: Path, out: Path, extra: dict | None = None) -> Path:
    """Write `out` atomically; `extra` maps ESP paths ('unicycle/x') to files."""
    files = {"EFI/BOOT/BOOTX64.EFI": Path(efi), "unicycle/app.elf": Path(elf),
             "unicycle/boot.cfg": Path(cfg)}
    files.update({k: Path(v) for k, v in (extra or {}).items()})
    for dest, src in files.items():
        if not src.is_file():
            raise BuildError(f"{src}: missing (needed for {dest} in the image)")
    mkfs = tools.require("mkfs.vfat")
    mmd, mcopy = tools.require("mmd"), tools.require("mcopy")
    sgdisk = tools.require("sgdisk")

    content = sum(p.stat().st_size for p in files.values())
    esp_mib = esp_size_mib(content)
    esp_sectors = esp_mib * MIB // SECTOR
    total = ESP_START * SECTOR + esp_mib * MIB + MIB
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".image-", dir=out.parent) as tmp:
        part = Path(tmp) / "esp.img"
        _run([mkfs, "-F", "32", "-S", str(SECTOR), "-s", "1", "-n", "UNICYCLE",
              "-C", str(part), str(esp_mib * 1024)], "mkfs.vfat")
        dirs = sorted({str(Path(d).parent) for d in files} - {"."},
                      key=lambda d: d.count("/"))
        made = set()
        for d in dirs:
            parts = Path(d).parts
            for i in range(1, len(parts) + 1):
                sub = "/".join(parts[:i])
                if sub not in made:
                    _run([mmd, "-i", str(part), f"::/{sub}"], f"mmd {sub}")
                    made.add(sub)
        for dest, src in files.items():
            _run([mcopy, "-i", str(part), str(src), f"::/{dest}"], f"mcopy {dest}")
        disk = Path(tmp) / "disk.img"
        with open(disk, "wb") as f:
            f.truncate(total)
        end = ESP_START + esp_sectors - 1
        _run([sgdisk, "-o", "-n", f"1:{ESP_START}:{end}", "-t", f"1:{ESP_TYPE}",
              "-c", "1:EFI System Partition", str(disk)], "sgdisk")
        with open(part, "rb") as src, open(disk, "r+b") as dst:
            dst.seek(ESP_START * SECTOR)
            shutil.copyfileobj(src, dst, 4 * MIB)
        os.replace(disk, out)
    return out
