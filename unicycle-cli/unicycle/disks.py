"""`unicycle run --disk FILE[,if=virtio|ahci|nvme][,size=64M]`: disk images for the guest.

A disk is a raw image file attached to one of the board's disk controllers
(`[hardware] disk-controllers`; without `if=` the first listed). A missing
file is created with `qemu-img create -f raw` when `size=` is given. The
guest sees the file's name (up to 20 characters) as the disk's serial, so
an app finds its disk with uc_block_find(). Everything is checked
(`plan`) before anything is built or created (`create_missing`); qemu.py
turns the disks into -drive/-device arguments.
"""
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import tools
from .errors import InputError, RunError

INTERFACES = {"virtio": "virtio-blk", "ahci": "ahci", "nvme": "nvme"}   # if= -> controller family
SYMBOLS = {"virtio-blk": "VIRTIO_BLK", "ahci": "AHCI", "nvme": "NVME"}  # its driver's Kconfig symbol
SECTOR = 512                       # QEMU rounds an image up to whole 512-byte sectors
SERIAL_MAX = 20                    # ATA, NVMe and virtio-blk serials
AHCI_PORTS = 6                     # q35's ICH9 AHCI
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^(\d+)([KMGT]?)$", re.I)
_SERIAL_OK = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class DiskSpec:
    """One --disk as written."""
    path: Path
    interface: str | None = None   # a key of INTERFACES; None: the board's first controller
    size: int | None = None        # bytes: create the file when it is missing
    text: str = ""


@dataclass(frozen=True)
class Disk:
    """One disk to attach, checked."""
    path: Path
    controller: str                # a value of INTERFACES
    serial: str
    create_size: int | None        # bytes when the file is to be created


def parse_size(text: str) -> int:
    """"64M" -> 67108864 (K, M, G, T are powers of 1024); a whole number of sectors."""
    m = _SIZE.match(text.strip())
    if not m:
        raise InputError(f"size={text!r}: expected a number of bytes with an optional "
                         f"K, M, G or T suffix (e.g. size=64M)")
    size = int(m.group(1)) * SIZE_UNITS[m.group(2).upper()]
    if size == 0 or size % SECTOR:
        raise InputError(f"size={text}: {size} bytes is not a whole, nonzero number of "
                         f"{SECTOR}-byte sectors")
    return size


def parse(text: str) -> DiskSpec:
    """--disk FILE[,if=...][,size=...] -> DiskSpec. A ',' in FILE is written ',,' (as QEMU does)."""
    parts = [p.replace("\0", ",") for p in text.replace(",,", "\0").split(",")]
    if not parts[0]:
        raise InputError(f"--disk {text!r}: no file name before the options")
    interface = size = None
    for opt in parts[1:]:
        key, eq, value = opt.partition("=")
        if key == "if" and eq:
            if value not in INTERFACES:
                raise InputError(f"--disk {text!r}: if={value!r}: expected one of "
                                 f"{', '.join(INTERFACES)}")
            interface = value
        elif key == "size" and eq:
            size = parse_size(value)
        else:
            raise InputError(f"--disk {text!r}: unknown option {opt!r} (allowed: if=, size=)")
    return DiskSpec(Path(parts[0]), interface, size, text)


def serial_for(path: Path) -> str:
    """The serial the guest sees: the file name without its last suffix, ASCII, <= 20 characters."""
    return _SERIAL_OK.sub("_", path.stem or path.name)[:SERIAL_MAX]


def plan(specs, board, values: dict | None = None, log=None) -> list[Disk]:
    """Check every --disk against the board and the file system; nothing is created.
    With `values` (the resolved configuration), `log` is told about disks whose
    driver the build leaves out."""
    if not specs:
        return []
    controllers = board.hardware.get("disk-controllers", [])
    if not controllers:
        raise InputError(f"--disk: board {board.name} has no disk controllers "
                         f"(hardware.disk-controllers in {board.path})")
    named = {v: k for k, v in INTERFACES.items()}
    out, serials = [], {}
    for spec in specs:
        controller = INTERFACES[spec.interface] if spec.interface else controllers[0]
        if controller not in controllers:
            raise InputError(f"--disk {spec.text}: board {board.name} has no {controller} "
                             f"controller (it lists: "
                             f"{', '.join(named[c] for c in controllers)})")
        path = spec.path.expanduser()
        create = None
        if path.exists():
            if not path.is_file():
                raise InputError(f"--disk {spec.text}: {path} is not a regular file")
            have = path.stat().st_size
            if have % SECTOR:
                raise InputError(f"--disk {spec.text}: {path} has {have} bytes, not a whole "
                                 f"number of {SECTOR}-byte sectors (QEMU would round it up "
                                 f"and grow the file on write); make it "
                                 f"{(have // SECTOR + 1) * SECTOR} bytes with "
                                 f"`truncate -s {(have // SECTOR + 1) * SECTOR} {path}`")
            if spec.size is not None and spec.size != have:
                raise InputError(f"--disk {spec.text}: {path} exists with {have} bytes; "
                                 f"size= only applies to a new image")
        elif spec.size is None:
            raise InputError(f"--disk {spec.text}: {path} does not exist; add size=N "
                             f"(e.g. size=64M) to create it")
        elif not path.parent.is_dir():
            raise InputError(f"--disk {spec.text}: {path.parent} is not a directory")
        else:
            create = spec.size
        serial = serial_for(path)
        if serial in serials:
            raise InputError(f"--disk {spec.text}: the guest would see serial {serial!r} "
                             f"twice (also --disk {serials[serial]}); rename a file")
        serials[serial] = spec.text
        out.append(Disk(path.resolve(), controller, serial, create))
    if values is not None and log:
        for d in out:
            sym = SYMBOLS[d.controller]
            if values.get(sym) is not True:
                log(f"unicycle: note: --disk {d.path.name}: CONFIG_{sym} is off in this build: "
                    f"the app will not see this disk")
    ahci = sum(d.controller == "ahci" for d in out)
    if ahci > AHCI_PORTS - 1:
        raise InputError(f"--disk: {ahci} AHCI disks, but the controller has "
                         f"{AHCI_PORTS - 1} free ports (port 0 holds the boot image)")
    return out


def create_missing(disks: list[Disk], log=None) -> None:
    """qemu-img create -f raw for every disk that is to be created."""
    for d in disks:
        if d.create_size is None or d.path.exists():
            continue
        qemu_img = tools.require("qemu-img")
        proc = subprocess.run([qemu_img, "create", "-q", "-f", "raw", str(d.path),
                               str(d.create_size)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RunError(f"qemu-img create {d.path} failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()}")
        if log:
            log(f"unicycle: created {d.path} ({d.create_size} bytes, raw)")
