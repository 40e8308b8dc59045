"""Disks under QEMU (examples/blktest, see its main.c for what it checks and its exit codes):
per driver a pattern over the whole disk that a second boot reads back, concurrency, refused
requests, flush; a corrupted block found after a reboot; several disks and drivers at once,
4 KiB blocks, disks smaller than a block, injected device errors, and interrupt mode."""
import re
import shutil
import struct

import pytest

from helpers import ROOT, unicycle

pytestmark = pytest.mark.qemu

MIB = 1 << 20
MAGIC = b"UCBLKTST"
DRIVERS = {"virtio": "virtio-blk", "ahci": "ahci", "nvme": "nvme"}
RUN_TIMEOUT = 180


def _copy_blktest(dest, cmdline=""):
    shutil.copytree(ROOT / "examples" / "blktest", dest, ignore=shutil.ignore_patterns("build"))
    if cmdline:
        toml = dest / "unicycle.toml"
        toml.write_text(toml.read_text().replace('cmdline = ""', f'cmdline = "{cmdline}"'))
    return dest


@pytest.fixture(scope="module")
def blktest(tmp_path_factory):
    """examples/blktest built once (polling, the default)."""
    proj = _copy_blktest(tmp_path_factory.mktemp("blk") / "blktest")
    unicycle("build", "-C", proj, "--direct", check=True)
    return proj


def boot(proj, *args, qemu=()):
    extra = [a for q in qemu for a in ("--qemu-arg", q)]
    r = unicycle("run", "-C", proj, "--direct", "--no-build", "--timeout", RUN_TIMEOUT, *args, *extra,
                 timeout=RUN_TIMEOUT + 120)
    return r, r.stdout + r.stderr


def disk_line(out, serial):
    """The disk name blktest reports for `serial`, e.g. 'disk0'."""
    m = re.search(rf"^blktest: (disk\d+): (\S+), model \"[^\"]*\", serial \"{serial}\"", out, re.M)
    assert m, out
    return m.group(1), m.group(2)


@pytest.mark.parametrize("interface", sorted(DRIVERS))
def test_pattern_over_the_whole_disk_survives_a_reboot(blktest, tmp_path, interface):
    img = tmp_path / f"blktest-{interface}.img"
    r, out = boot(blktest, "--disk", f"{img},if={interface},size=16M")
    assert r.returncode == 0, out
    assert f"unicycle: created {img} (16777216 bytes, raw)" in r.stderr
    name, driver = disk_line(out, f"blktest-{interface}")
    assert driver == DRIVERS[interface]
    assert f"blktest: {name}: bad requests refused before reaching the device" in out
    inflight = int(re.search(rf"^blktest: {name}: (\d+) requests in flight at most", out,
                             re.M).group(1))
    assert inflight > 1, out
    assert f"blktest: {name}: flush completed" in out
    seed = re.search(rf"^blktest: {name}: wrote, flushed and read back 32768 blocks "
                     rf"\(seed (0x[0-9a-f]+)\)$", out, re.M)
    assert seed, out
    # On the host: every block carries the magic, the seed and its own number.
    data = img.read_bytes()
    assert len(data) == 16 * MIB
    for lba in (0, 1, 4097, 32767):
        magic, s, n = struct.unpack_from("<8sQQ", data, lba * 512)
        assert (magic, s, n) == (MAGIC, int(seed.group(1), 16), lba), lba

    r, out = boot(blktest, "--disk", f"{img},if={interface}")
    assert r.returncode == 0, out
    name, _ = disk_line(out, f"blktest-{interface}")
    assert (f"blktest: {name}: verified what an earlier boot wrote: 32768 blocks "
            f"(seed {seed.group(1)})") in out
    assert "blktest: all checks passed" in out


def test_a_block_corrupted_between_boots_is_found(blktest, tmp_path):
    img = tmp_path / "blktest-c.img"
    r, out = boot(blktest, "--disk", f"{img},if=nvme,size=4M")
    assert r.returncode == 0, out
    with open(img, "r+b") as f:        # one byte in block 1000
        f.seek(1000 * 512 + 77)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xff]))
    r, out = boot(blktest, "--disk", f"{img},if=virtio")   # another driver reads it back
    assert r.returncode == 13, out
    name, _ = disk_line(out, "blktest-c")
    assert f"blktest: {name}: 1 of 8192 blocks differ, the first is block 1000" in out


def test_several_disks_and_drivers_at_once(blktest, tmp_path):
    """AHCI and NVMe through --disk; through QEMU arguments a modern-only virtio-blk
    (1af4:1042), 4 KiB-block virtio-blk and NVMe disks and a SATA disk with its write cache
    off (durable on write); all tested at the same time, and a disk that is not blktest's
    (an AHCI disk with another serial, as the boot image is when booting from disk) is left
    alone."""
    a, n = tmp_path / "blktest-a.img", tmp_path / "blktest-n.img"
    images = {name: tmp_path / f"{name}.img"
              for name in ("blktest-m", "blktest-v4k", "blktest-n4k", "blktest-wt", "other-disk")}
    for img in images.values():
        img.write_bytes(b"\0" * (2 * MIB))
    qemu = []
    for i, (name, dev) in enumerate([("blktest-m", "virtio-blk-pci,disable-legacy=on"),
                                     ("blktest-v4k", "virtio-blk-pci,logical_block_size=4096,"
                                                     "physical_block_size=4096"),
                                     ("blktest-n4k", "nvme,logical_block_size=4096,"
                                                     "physical_block_size=4096"),
                                     ("blktest-wt", "ide-hd,bus=ide.4,write-cache=off"),
                                     ("other-disk", "ide-hd,bus=ide.5")]):
        qemu += ["-drive", f"if=none,id=x{i},format=raw,file={images[name]}",
                 "-device", f"{dev},drive=x{i},serial={name}"]
    r, out = boot(blktest, "--disk", f"{a},if=ahci,size=4M", "--disk", f"{n},if=nvme,size=4M",
                  qemu=qemu)
    assert r.returncode == 0, out
    assert re.search(r"^pci \S+ 1af4:1042 class 01\.00\.00 -> virtio-blk$", out, re.M), out
    assert re.search(r'^blktest: disk\d+ \(ahci, serial "other-disk"\): not a test disk, left alone$',
                     out, re.M), out
    for serial, driver, blocks, size, durable in [
            ("blktest-a", "ahci", 8192, 512, "on flush"),
            ("blktest-n", "nvme", 8192, 512, "on flush"),
            ("blktest-m", "virtio-blk", 4096, 512, "on flush"),
            ("blktest-v4k", "virtio-blk", 512, 4096, "on flush"),
            ("blktest-n4k", "nvme", 512, 4096, "on flush"),
            ("blktest-wt", "ahci", 4096, 512, "on write")]:
        name, drv = disk_line(out, serial)
        assert drv == driver, serial
        assert re.search(rf"^blktest: {name}: {driver}, .*{blocks} blocks of {size} bytes, "
                         rf".*durable {durable}$", out, re.M), (serial, out)
        assert re.search(rf"^blktest: {name}: wrote, flushed and read back {blocks} blocks",
                         out, re.M), (serial, out)
        assert re.search(rf"^blktest: {name}: passed;", out, re.M), (serial, out)
    assert "blktest: all checks passed" in out


def test_disks_smaller_than_a_block(blktest, tmp_path):
    """Empty images on each driver and 2 KiB images with 4 KiB blocks are reported and left
    out; the disk next to them works. (A 100-byte image is refused by `unicycle run`
    itself: tests/cli/test_disks.py.)"""
    ok = tmp_path / "blktest-ok.img"
    empty = {i: tmp_path / f"empty-{i}.img" for i in DRIVERS}
    for img in empty.values():
        img.write_bytes(b"")
    args = ["--disk", f"{ok},size=1M"]
    for i, img in empty.items():
        args += ["--disk", f"{img},if={i}"]
    qemu = []
    for i, dev in enumerate(["virtio-blk-pci", "nvme"]):
        img = tmp_path / f"tiny4k-{i}.img"
        img.write_bytes(b"\0" * 2048)
        qemu += ["-drive", f"if=none,id=t{i},format=raw,file={img}",
                 "-device", f"{dev},drive=t{i},serial=tiny4k-{i},logical_block_size=4096,"
                            f"physical_block_size=4096"]
    r, out = boot(blktest, *args, qemu=qemu)
    assert r.returncode == 0, out
    for i, driver in DRIVERS.items():
        assert (f'blkdev: {driver} disk "empty-{i}": smaller than one 512-byte block: '
                f'not used') in out, out
    for i, driver in enumerate(["virtio-blk", "nvme"]):
        assert (f'blkdev: {driver} disk "tiny4k-{i}": smaller than one 4096-byte block: '
                f'not used') in out, out
    name, _ = disk_line(out, "blktest-ok")
    assert re.search(rf"^blktest: {name}: passed;", out, re.M), out
    assert not re.search(r'serial "(empty|tiny4k)', out), out


BLKDEBUG = """[inject-error]
event = "read_aio"
errno = "5"
sector = "2048"
"""


def test_device_errors_become_eio_with_the_status_logged_once(blktest, tmp_path):
    """QEMU's blkdebug fails every read of sector 2048: each driver reports -EIO to the app,
    logs the device's own status once, and the disk still works afterwards (AHCI: port
    error recovery)."""
    cfg = tmp_path / "blkdebug.cfg"
    cfg.write_text(BLKDEBUG)
    qemu = []
    for i, dev in enumerate(["virtio-blk-pci", "ide-hd,bus=ide.1", "nvme"]):
        img = tmp_path / f"err{i}.img"
        img.write_bytes(b"\0" * (4 * MIB))
        qemu += ["-drive", f"if=none,id=e{i},driver=raw,file.driver=blkdebug,"
                           f"file.config={cfg},file.image.driver=file,file.image.filename={img}",
                 "-device", f"{dev},drive=e{i},serial=blktest-err{i}"]
    r, out = boot(blktest, qemu=qemu)
    assert r.returncode == 12, out
    status = {"virtio-blk": r"status 1 \(IOERR\)",
              "ahci": r"PxIS 0x4\w+, PxTFD 0x\w+ \(status 0x\w+, error 0x\w+\), PxSERR 0x\w+",
              "nvme": r"status type 2 code 0x81"}
    for i in range(3):
        name, driver = disk_line(out, f"blktest-err{i}")
        errors = re.findall(rf"^{name}: {driver}: read of 1 block at block 2048 failed \(-5\): "
                            rf"{status[driver]}$", out, re.M)
        assert len(errors) == 1, (driver, out)
        assert f"blktest: {name}: FAIL 12: read failed (-5)" in out
        assert f"blktest: {name}: the disk still works after the error" in out
        assert re.search(rf"^blktest: {name}: FAILED; \d+ reads, 0 writes, 0 flushes, 1 errors$",
                         out, re.M), out


def test_interrupt_mode(tmp_path):
    """POLL=n: completions arrive by MSI-X (virtio-blk, NVMe) and MSI (AHCI); every disk
    must get one (no fallback polling) and pass."""
    proj = _copy_blktest(tmp_path / "blktest")
    args = []
    for i in DRIVERS:
        args += ["--disk", f"{tmp_path}/blktest-irq-{i}.img,if={i},size=4M"]
    r = unicycle("run", "-C", proj, "--direct", "--set", "POLL=n", "--timeout", RUN_TIMEOUT, *args,
                 timeout=RUN_TIMEOUT + 600)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "no interrupt, polled" not in out and "polling" not in out, out
    for i, driver in DRIVERS.items():
        name, drv = disk_line(out, f"blktest-irq-{i}")
        assert drv == driver
        assert re.search(rf"^blktest: {name}: passed;", out, re.M), out
