"""Writing an image to a USB stick on Linux: find disks, refuse unsafe targets, write, verify.

Everything the host tells us (sysfs, /proc, /dev, the udev database) is read
through one `Host` whose roots are configurable, so tests run against a fake
tree in tests/fixtures/sysfs/ and never see a real disk.
"""
import errno
import fcntl
import hashlib
import json
import mmap
import os
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import tools
from .errors import (DeviceRefused, FlashError, ImageInvalid, InputError, Interrupted,
                     UnicycleError)

SECTOR = 512                      # /sys/block/<d>/size counts 512-byte units, whatever the device
BLOCK = 4 << 20                   # write size: big and aligned for O_DIRECT on any sector size
DIRECT_ALIGN = 4096               # a tail not a multiple of this is written through the page cache
GPT_SIGNATURE = b"EFI PART"       # UEFI 2.10, 5.3.2: GPT header at LBA 1
ALLOW_FILE_ENV = "UNICYCLE_FLASH_ALLOW_REGULAR_FILE"   # tests only: a regular file stands in
FIX_PERMISSIONS = ("run with sudo, or add yourself to the disk group: "
                   "sudo usermod -aG disk $USER (then log in again)")


@dataclass
class Partition:
    name: str
    dev: str                      # "major:minor"
    size: int                     # bytes
    holders: list = field(default_factory=list)
    fstype: str = ""
    label: str = ""


@dataclass
class Disk:
    name: str                     # sdb, nvme0n1; for a stand-in file its file name
    path: str                     # what we open
    dev: str = ""
    size: int = 0
    removable: bool = False
    read_only: bool = False
    vendor: str = ""
    model: str = ""
    serial: str = ""
    bus: str = ""
    partitions: list = field(default_factory=list)
    holders: list = field(default_factory=list)
    is_file: bool = False         # the test-only regular-file stand-in

    @property
    def description(self) -> str:
        return " ".join(p for p in (self.vendor, self.model) if p) or "(no model)"


def format_size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _read(path: Path, default: str = "") -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return default


def _listdir(path: Path) -> list:
    try:
        return sorted(p.name for p in path.iterdir())
    except OSError:
        return []


class Host:
    """The machine's disks and what uses them, read from sysfs, procfs, /dev and udev."""

    def __init__(self, sys_root="/sys", proc_root="/proc", dev_root="/dev", run_root="/run",
                 stat_fn=os.stat):
        self.sys_root, self.proc_root = Path(sys_root), Path(proc_root)
        self.dev_root, self.run_root = Path(dev_root), Path(run_root)
        # stat() of a path or an open descriptor, like os.stat; tests fake the
        # device nodes (no mknod needed).
        self.stat = stat_fn

    @property
    def is_real(self) -> bool:
        return self.sys_root == Path("/sys")

    # -- discovery ---------------------------------------------------------

    def disk(self, name: str) -> Disk:
        base = self.sys_root / "block" / name
        real = base.resolve()
        d = Disk(name=name, path=str(self.dev_root / name), dev=_read(base / "dev"),
                 size=int(_read(base / "size", "0") or 0) * SECTOR,
                 removable=_read(base / "removable") == "1", read_only=_read(base / "ro") == "1",
                 vendor=_read(base / "device" / "vendor"), model=_read(base / "device" / "model"),
                 bus=self._bus(name, real), holders=_listdir(base / "holders"))
        udev = self._udev(d.dev)
        d.serial = (_read(base / "device" / "serial") or self._serial_above(real)
                    or udev.get("ID_SERIAL_SHORT", ""))
        d.vendor = d.vendor or udev.get("ID_VENDOR", "")
        d.model = d.model or udev.get("ID_MODEL", "")
        for part in _listdir(base):
            if (base / part / "partition").exists():
                d.partitions.append(self._partition(base / part))
        if self.is_real and any(not p.fstype for p in d.partitions):
            self._lsblk_labels(d)
        return d

    def disks(self) -> list:
        return [self.disk(n) for n in _listdir(self.sys_root / "block")]

    def candidates(self, include_fixed: bool = False) -> list:
        """Disks worth offering: removable (all with --force), never the system disk,
        no empty card readers, no device-mapper volumes."""
        root = self.root_disks()
        return [d for d in self.disks()
                if d.size > 0 and (d.removable or include_fixed) and d.name not in root
                and not d.name.startswith("dm-")]

    def _partition(self, path: Path) -> Partition:
        p = Partition(name=path.name, dev=_read(path / "dev"),
                      size=int(_read(path / "size", "0") or 0) * SECTOR,
                      holders=_listdir(path / "holders"))
        udev = self._udev(p.dev)
        p.fstype, p.label = udev.get("ID_FS_TYPE", ""), udev.get("ID_FS_LABEL", "")
        return p

    def _bus(self, name: str, real: Path) -> str:
        where = str(real)
        for needle, bus in (("/usb", "usb"), ("/nvme", "nvme"), ("/mmc", "mmc"),
                            ("/virtio", "virtio"), ("/ata", "ata"), ("/virtual/", "virtual")):
            if needle in where:
                return bus
        return "nvme" if name.startswith("nvme") else "scsi" if name.startswith("sd") else "?"

    def _serial_above(self, real: Path) -> str:
        """USB and NVMe serials live in the device directory above the block device."""
        stop = self.sys_root / "devices"
        for parent in real.parents:
            if parent == stop or stop not in parent.parents:
                break
            serial = _read(parent / "serial")
            if serial:
                return serial
        return ""

    def _udev(self, dev: str) -> dict:
        """udev's database entry for a block device (E:KEY=value lines), if udev runs."""
        out = {}
        for line in _read(self.run_root / "udev" / "data" / f"b{dev}").splitlines():
            if line.startswith("E:") and "=" in line:
                key, _, value = line[2:].partition("=")
                out[key] = value
        return out

    def _lsblk_labels(self, d: Disk):
        """Without udev data, lsblk probes the filesystems itself (real host only)."""
        try:
            lsblk = tools.find("lsblk")
            if lsblk is None:
                return
            out = subprocess.run([lsblk, "-J", "-o", "NAME,FSTYPE,LABEL", d.path],
                                 capture_output=True, text=True, timeout=10)
            tree = json.loads(out.stdout)["blockdevices"][0].get("children", [])
        except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError):
            return
        found = {c["name"]: c for c in tree}
        for p in d.partitions:
            c = found.get(p.name, {})
            p.fstype, p.label = p.fstype or c.get("fstype") or "", p.label or c.get("label") or ""

    # -- what is in use ----------------------------------------------------

    def mounts(self) -> list:
        """[(major:minor, mount point, source)] from mountinfo (else /proc/mounts)."""
        out = []
        info = _read(self.proc_root / "self" / "mountinfo")
        for line in info.splitlines():
            f = line.split()
            sep = f.index("-") if "-" in f else len(f) - 1
            out.append((f[2], f[4], f[sep + 2] if sep + 2 < len(f) else ""))
        if not info:
            for line in _read(self.proc_root / "mounts").splitlines():
                f = line.split()
                out.append(("", f[1], f[0]))
        return out

    def swaps(self) -> list:
        return [line.split()[0] for line in _read(self.proc_root / "swaps").splitlines()[1:]
                if line.strip()]

    def name_of(self, source: str) -> str:
        """The kernel name for a /dev path (following /dev/disk/by-* links), else ''."""
        if not source.startswith(("/dev/", str(self.dev_root) + "/")):
            return ""
        path = Path(source)
        if str(self.dev_root) != "/dev" and source.startswith("/dev/"):
            path = self.dev_root / source[len("/dev/"):]
        return os.path.realpath(path).rsplit("/", 1)[-1]

    def disk_of_dev(self, dev: str) -> list:
        """The whole disks beneath a major:minor (through partitions and dm/md slaves)."""
        entry = self.sys_root / "dev" / "block" / dev
        if not entry.exists():
            return []
        return self._disks_beneath(entry.resolve())

    def _disks_beneath(self, real: Path) -> list:
        if (real / "partition").exists():
            return [real.parent.name]
        slaves = _listdir(real / "slaves")
        if not slaves:
            return [real.name]
        out = []
        for s in slaves:
            out += self._disks_beneath((self.sys_root / "class" / "block" / s).resolve()
                                       if (self.sys_root / "class" / "block" / s).exists()
                                       else self._find_block(s))
        return out

    def _find_block(self, name: str) -> Path:
        for disk in _listdir(self.sys_root / "block"):
            base = (self.sys_root / "block" / disk).resolve()
            if disk == name:
                return base
            if (base / name / "partition").exists():
                return base / name
        return self.sys_root / "block" / name

    def root_disks(self) -> list:
        return [d for dev, mp, _ in self.mounts() if mp == "/" for d in self.disk_of_dev(dev)]

    # -- choosing and checking a target ------------------------------------

    def resolve(self, device: str) -> Disk:
        """The whole disk at DEVICE (a path or a bare name like sdb); refuses anything else."""
        path = Path(device) if "/" in device else self.dev_root / device
        try:
            st = self.stat(path)
        except FileNotFoundError:
            raise DeviceRefused(f"{path}: no such device (unicycle flash without a device "
                                f"lists the removable disks)") from None
        except OSError as e:
            raise DeviceRefused(f"{path}: {e.strerror}") from None
        if stat.S_ISREG(st.st_mode):
            raise DeviceRefused(f"{path} is a regular file, not a disk; give a device such "
                                f"as /dev/sdb (unicycle flash lists them)")
        if stat.S_ISCHR(st.st_mode):
            raise DeviceRefused(f"{path} is a character device, not a disk")
        if not stat.S_ISBLK(st.st_mode):
            raise DeviceRefused(f"{path} is not a block device")
        dev = identity(st)
        entry = self.sys_root / "dev" / "block" / dev
        if not entry.exists():
            raise DeviceRefused(f"{path}: block device {dev} is unknown to {self.sys_root}")
        real = entry.resolve()
        if (real / "partition").exists():
            whole = self.dev_root / real.parent.name
            raise DeviceRefused(f"{path} is a partition; give the whole disk {whole}")
        disk = self.disk(real.name)
        disk.path = str(path)
        return disk

    def refusal(self, disk: Disk, image_size: int, force: bool = False) -> str | None:
        """Why DISK must not be overwritten, or None. --force only allows a fixed disk."""
        if disk.name in self.root_disks():
            return f"{disk.path} holds the running system's root filesystem (/)"
        devs = {disk.dev} | {p.dev for p in disk.partitions}
        names = {disk.name} | {p.name for p in disk.partitions}
        for dev, mountpoint, source in self.mounts():
            if dev in devs or self.name_of(source) in names:
                return f"{disk.path} is mounted: {source or dev} on {mountpoint}; unmount it first"
        for swap in self.swaps():
            if self.name_of(swap) in names:
                return f"{disk.path} holds active swap {swap}; swapoff it first"
        for owner, holders in [(disk.name, disk.holders)] + [(p.name, p.holders)
                                                             for p in disk.partitions]:
            if holders:
                return (f"{disk.path} is in use: {owner} is held by {', '.join(holders)} "
                        f"(LVM, RAID, LUKS or device-mapper); release it first")
        if disk.read_only:
            return f"{disk.path} is read-only (a write-protect switch?)"
        if not disk.removable and not force:
            return (f"{disk.path} is not removable ({disk.bus or 'fixed'} disk "
                    f"{disk.description}); pass --force if you really mean it")
        if disk.size < image_size:
            return (f"{disk.path} is too small: {format_size(disk.size)} < the image's "
                    f"{format_size(image_size)}")
        return None

    def check(self, disk: Disk, image_size: int, force: bool = False):
        why = self.refusal(disk, image_size, force)
        if why:
            raise DeviceRefused(f"refusing to write: {why}")


def host() -> Host:
    """The real machine; tests replace this to point at a fake tree."""
    return Host()


def identity(st) -> str:
    """What names one target across opens: "major:minor" of a block device, the
    inode of the test-only regular file."""
    if stat.S_ISBLK(st.st_mode):
        return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    return f"inode {st.st_dev}:{st.st_ino}"


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def regular_file_allowed() -> bool:
    return os.environ.get(ALLOW_FILE_ENV) == "1"


def file_target(path: str) -> Disk:
    """A regular file standing in for a disk (tests): no block-device checks apply."""
    p = Path(path)
    st = p.stat()
    return Disk(name=p.name, path=str(p), dev=identity(st), size=st.st_size, removable=True,
                model="regular file (test stand-in)", bus="file", is_file=True)


def check_image(path: Path) -> int:
    """The image's size, after checking it is a file with a GPT header at LBA 1."""
    path = Path(path)
    if not path.exists():
        raise ImageInvalid(f"{path}: no such image; run `unicycle build` first")
    if not path.is_file():
        raise ImageInvalid(f"{path}: not a regular file")
    with open(path, "rb") as f:
        f.seek(SECTOR)
        sig = f.read(len(GPT_SIGNATURE))
    if sig != GPT_SIGNATURE:
        raise ImageInvalid(f"{path}: not a GPT disk image (no 'EFI PART' header at LBA 1)")
    return path.stat().st_size


# -- listing and describing -------------------------------------------------

def table(disks: list, refusals: dict) -> list:
    """One line per disk: path, vendor/model, size, serial, bus, and why not if refused."""
    return [f"{d.path:<16} {d.description:<28} {format_size(d.size):>10}  "
            f"serial {d.serial or '-':<22} {d.bus}"
            + (f"  (cannot: {refusals[d.name]})" if refusals.get(d.name) else "")
            for d in disks]


def overwrite_summary(disk: Disk) -> list:
    lines = [f"about to overwrite {disk.path}: {disk.description}, {format_size(disk.size)}, "
             f"bus {disk.bus or '?'}" + (f", serial {disk.serial}" if disk.serial else "")]
    if not disk.partitions:
        lines.append("  no partitions found")
    for p in disk.partitions:
        what = ", ".join(x for x in (p.fstype, f"label '{p.label}'" if p.label else "") if x)
        lines.append(f"  {p.name:<12} {format_size(p.size):>10}  {what or 'filesystem unknown'}")
    lines.append("everything on it will be lost")
    return lines


def confirmed(disk: Disk, typed: str) -> bool:
    return typed.strip() in (disk.name, disk.path)


# -- writing and verifying --------------------------------------------------

class Progress:
    """One line on stderr: bytes done, rate and time left; redrawn only on a terminal."""

    def __init__(self, label: str, total: int, stream=None):
        self.label, self.total, self.done = label, total, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = self.last = time.monotonic()

    def update(self, n: int):
        self.done += n
        now = time.monotonic()
        if self.tty and now - self.last >= 0.2:
            self.last = now
            self.stream.write("\r" + self.line(now) + "\033[K")
            self.stream.flush()

    def line(self, now: float) -> str:
        secs = max(now - self.start, 1e-6)
        rate = self.done / secs
        left = (self.total - self.done) / rate if rate else 0
        return (f"{self.label} {format_size(self.done)} / {format_size(self.total)}  "
                f"{format_size(int(rate))}/s  {left:.0f} s left")

    def finish(self) -> float:
        secs = time.monotonic() - self.start
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(f"{self.label} {format_size(self.done)} in {secs:.1f} s "
                          f"({format_size(int(self.done / max(secs, 1e-6)))}/s)\n")
        self.stream.flush()
        return secs


@dataclass
class Result:
    size: int
    sha256: str
    seconds: float


@dataclass
class Target:
    """The disk opened once, before the prompt, and written and read back through
    that one descriptor: whatever the path names later, this is the device that
    was checked and confirmed. O_EXCL keeps the kernel from letting anyone mount
    or claim it meanwhile."""
    disk: Disk
    fd: int
    direct: bool                  # O_DIRECT worked at open

    def close(self):
        os.close(self.fd)


def open_target(disk: Disk, h: Host) -> Target:
    """Open DISK read/write, exclusively, and make sure the descriptor is the
    device that was checked (the path may name another one by now)."""
    fd, direct = _open_target(disk, os.O_RDWR)
    try:
        got = identity(h.stat(fd))
    except OSError as e:
        os.close(fd)
        raise FlashError(f"cannot examine {disk.path}: {e.strerror}") from None
    if got != disk.dev:
        os.close(fd)
        raise DeviceRefused(f"refusing to write: {disk.path} changed while it was checked: "
                            f"it was {disk.dev}, it now opens {got}; nothing was written")
    return Target(disk, fd, direct)


def still_named(target: Target, h: Host):
    """Refuse when DISK's path no longer names the open device (a stick swapped,
    a link re-pointed at the prompt): the user confirmed one disk, the path now
    means another."""
    disk = target.disk
    try:
        now = identity(h.stat(disk.path))
    except OSError as e:
        raise DeviceRefused(f"refusing to write: {disk.path} is gone since it was confirmed "
                            f"({e.strerror}); nothing was written") from None
    if now != disk.dev:
        raise DeviceRefused(f"refusing to write: {disk.path} now names {now}, not the "
                            f"{disk.dev} that was checked and confirmed (swapped at the "
                            f"prompt?); nothing was written")


def _open_target(disk: Disk, flags: int) -> tuple:
    """(fd, direct): O_DIRECT when the device takes it; O_EXCL makes the kernel refuse a
    block device that something mounted or claimed since we looked."""
    if not disk.is_file:
        flags |= os.O_EXCL
    for extra in (os.O_DIRECT, 0):
        try:
            return os.open(disk.path, flags | extra | os.O_CLOEXEC), bool(extra)
        except OSError as e:
            if e.errno == errno.EINVAL and extra:
                continue                    # tmpfs and some drivers do not do O_DIRECT
            raise _open_error(disk, e) from None


def _open_error(disk: Disk, e: OSError) -> UnicycleError:
    if e.errno in (errno.EACCES, errno.EPERM):
        return FlashError(f"cannot open {disk.path}: permission denied; {FIX_PERMISSIONS}")
    if e.errno == errno.EROFS:
        return DeviceRefused(f"refusing to write: {disk.path} is read-only")
    if e.errno == errno.EBUSY:
        return DeviceRefused(f"refusing to write: {disk.path} is busy (mounted or in use)")
    return FlashError(f"cannot open {disk.path}: {e.strerror}")


def _set_direct(fd: int, on: bool):
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, (flags | os.O_DIRECT) if on else (flags & ~os.O_DIRECT))


def _write_all(fd: int, view: memoryview, offset: int):
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def write(image: Path, target: Target, stream=None) -> tuple:
    """Copy IMAGE onto the target from byte 0 in aligned BLOCK chunks, fsync;
    returns (sha256, seconds)."""
    disk, fd, direct = target.disk, target.fd, target.direct
    size = Path(image).stat().st_size
    buf = mmap.mmap(-1, BLOCK)          # page-aligned, as O_DIRECT needs
    digest = hashlib.sha256()
    progress = Progress("writing  ", size, stream)
    try:
        with open(image, "rb", buffering=0) as src:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                if direct and n % DIRECT_ALIGN:
                    _set_direct(fd, False)  # the unaligned tail goes through the page cache
                    direct = False
                with memoryview(buf) as whole, whole[:n] as chunk:   # released even on ^C
                    digest.update(chunk)
                    try:
                        _write_all(fd, chunk, progress.done)
                    except OSError as e:
                        if e.errno != errno.EINVAL or not direct:
                            raise
                        _set_direct(fd, False)
                        direct = False
                        _write_all(fd, chunk, progress.done)
                progress.update(n)
        os.fsync(fd)
    except OSError as e:
        raise FlashError(f"writing {disk.path} failed after {format_size(progress.done)}: "
                         f"{e.strerror}; the stick is NOT bootable") from None
    finally:
        buf.close()
    return digest.hexdigest(), progress.finish()


def read_back(target: Target, size: int, stream=None) -> str:
    """SHA-256 of the first SIZE bytes read from the target, bypassing the page cache."""
    disk, fd, direct = target.disk, target.fd, target.direct
    buf = mmap.mmap(-1, BLOCK)
    digest = hashlib.sha256()
    progress = Progress("verifying", size, stream)
    try:
        if direct:
            _set_direct(fd, True)           # write() may have left it for the tail
        else:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)   # drop what we just wrote
        left = size
        while left:
            want = min(BLOCK, -(-left // DIRECT_ALIGN) * DIRECT_ALIGN) if direct else \
                min(BLOCK, left)
            with memoryview(buf) as whole, whole[:want] as chunk:
                n = os.preadv(fd, [chunk], size - left)
                used = min(n, left)
                digest.update(chunk[:used])
            if n == 0:
                raise FlashError(f"verification failed: {disk.path} ended after "
                                 f"{format_size(size - left)}; the stick is NOT bootable")
            left -= used
            progress.update(used)
    except OSError as e:
        raise FlashError(f"reading {disk.path} back failed: {e.strerror}; "
                         f"the stick is NOT bootable") from None
    finally:
        buf.close()
    progress.finish()
    return digest.hexdigest()


def write_and_verify(image: Path, target: Target, stream=None) -> Result:
    """Write, read back, compare; Ctrl-C and mismatches end in a typed error."""
    disk = target.disk
    size = Path(image).stat().st_size
    start = time.monotonic()
    try:
        wrote, _ = write(image, target, stream)
        got = read_back(target, size, stream)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted: {disk.path} is partly written and NOT bootable; "
                          f"run unicycle flash again") from None
    if got != wrote:
        raise FlashError(f"verification failed: {disk.path} reads back sha256 {got[:16]}... "
                         f"but the image is {wrote[:16]}...; the stick is NOT bootable "
                         f"(bad or fake flash?)")
    return Result(size, wrote, time.monotonic() - start)


# -- `unicycle flash` from start to end -------------------------------------

@dataclass
class Menu:
    """The disks offered when no device was named; `safe` are the ones that can be written."""
    kind: str                       # "removable disks", or "disks" with --force
    disks: list
    refusals: dict                  # disk name -> why it cannot be written ("" or None: it can)
    safe: list

    def rows(self) -> list:
        """(mark, line) per disk: [n] for the n-th safe disk, [-] for the others."""
        marks = [f"[{self.safe.index(d) + 1}]" if d in self.safe else "[-]" for d in self.disks]
        return list(zip(marks, table(self.disks, self.refusals)))

    def answers(self) -> list:
        """What may be typed to pick a disk: its number, name or path."""
        return [str(i) for i in range(1, len(self.safe) + 1)] + \
            [d.name for d in self.safe] + [d.path for d in self.safe]

    def device(self, answer: str) -> str:
        return self.safe[int(answer) - 1].path if answer.isdigit() else answer


def menu(h: Host, image_size: int, force: bool) -> Menu:
    disks = h.candidates(include_fixed=force)
    kind = "disks" if force else "removable disks"
    why = {d.name: h.refusal(d, image_size, force) for d in disks}
    if not disks:
        raise InputError(f"no {kind} found; plug in the USB stick (or name the device)")
    if not stdin_is_terminal():
        raise InputError(f"no device given and no terminal to ask; {kind}: " + "; ".join(
            f"{d.path} ({d.description}, {format_size(d.size)}"
            + (f"; cannot: {why[d.name]})" if why[d.name] else ")") for d in disks))
    return Menu(kind, disks, why, [d for d in disks if not why[d.name]])


def flash(image: Path, device: str | None, force: bool, yes: bool, choose, confirm,
          log) -> tuple[Disk, Result]:
    """Check the image and the target, confirm, write and verify.
    choose(menu) -> an answer from menu.answers(), or None when none is safe;
    confirm(disk) -> what the user typed; log(line) prints."""
    size = check_image(image)
    if device and regular_file_allowed() and Path(device).is_file():
        disk = file_target(device)
        h = Host()                          # plain os calls; no disk checks apply
    else:
        h = host()
        if not device:
            m = menu(h, size, force)
            answer = choose(m)
            if answer is None:
                raise InputError(f"none of the {m.kind} can be written (reasons above)")
            device = m.device(answer)
        disk = h.resolve(device)
        h.check(disk, size, force)
    target = open_target(disk, h)
    try:
        log(f"image {image} ({format_size(size)})")
        for line in overwrite_summary(disk):
            log(line)
        if not yes:
            typed = confirm(disk)
            if not confirmed(disk, typed):
                raise UnicycleError(f"aborted: typed {typed!r}, not {disk.name!r}; "
                                    f"nothing was written")
        still_named(target, h)
        return disk, write_and_verify(image, target)
    finally:
        target.close()
