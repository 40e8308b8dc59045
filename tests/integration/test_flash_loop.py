"""What `unicycle flash` is for, end to end: the image boots under OVMF as a USB
mass-storage stick, and flashing a real block device (a loop device we create
ourselves, never a real disk) writes and verifies it, reading the real /sys and /proc;
a device swapped at the confirmation prompt is not written.
Boots through OVMF on purpose: the USB stick image and BOOTX64.EFI are what is tested."""
import os
import select
import shutil
import subprocess
import sys
import time

import pytest

from helpers import new_project, unicycle

MIB = 1 << 20


@pytest.mark.qemu
def test_boots_as_usb_stick(tmp_path):
    proj = new_project(tmp_path, "usbstick")
    r = unicycle("run", "-C", proj, "--usb", "--timeout", "120", timeout=400)
    assert "Hello from usbstick" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0, r.stdout + r.stderr


def attach_loop(tmp_path, *flags, name="backing.bin"):
    """A 64 MiB loop device over a temp file, detached afterwards; skips with the reason."""
    if os.geteuid() != 0:
        pytest.skip("loop devices need root (losetup); the regular-file tests cover the rest")
    losetup = shutil.which("losetup") or "/usr/sbin/losetup"
    backing = tmp_path / name
    with open(backing, "wb") as f:
        f.truncate(64 * MIB)
    proc = subprocess.run([losetup, *flags, "-f", "--show", str(backing)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        pytest.skip(f"losetup -f --show failed here: {proc.stderr.strip()}")
    dev = proc.stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run([losetup, "-d", dev], check=False)


@pytest.fixture
def loop_device(tmp_path):
    yield from attach_loop(tmp_path)


@pytest.fixture
def other_loop_device(tmp_path):
    yield from attach_loop(tmp_path, name="other.bin")


@pytest.fixture
def read_only_loop_device(tmp_path):
    yield from attach_loop(tmp_path, "--read-only")


@pytest.fixture
def real_image(tmp_path):
    """A genuine GPT + FAT32 unicycle.img, packaged from stand-in files (no toolchain)."""
    from unicycle import image
    parts = {}
    for name in ("BOOTX64.EFI", "app.elf", "boot.cfg"):
        parts[name] = tmp_path / name
        parts[name].write_bytes(os.urandom(64 * 1024) if name != "boot.cfg" else b"cmdline=\n")
    return image.package(parts["BOOTX64.EFI"], parts["app.elf"], parts["boot.cfg"],
                         tmp_path / "unicycle.img")


def test_flash_to_a_loop_device_writes_and_verifies(loop_device, real_image):
    refused = unicycle("flash", loop_device, "--image", real_image, "--yes")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "is not removable (virtual disk" in refused.stderr and "--force" in refused.stderr

    r = unicycle("flash", loop_device, "--image", real_image, "--yes", "--force", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"about to overwrite {loop_device}" in r.stdout
    assert "verified:" in r.stdout and "ready to boot" in r.stdout
    size = real_image.stat().st_size
    with open(loop_device, "rb") as dev:
        assert dev.read(size) == real_image.read_bytes()
    listing = subprocess.run(["mdir", "-b", "-i", f"{loop_device}@@{MIB}", "::/unicycle"],
                             capture_output=True, text=True,
                             env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    assert "app.elf" in listing.stdout and "boot.cfg" in listing.stdout, listing


def test_unaligned_image_to_a_loop_device(loop_device, tmp_path):
    """An image whose size is not a multiple of 4 KiB: the tail leaves O_DIRECT."""
    img = tmp_path / "odd.img"
    data = bytearray(os.urandom(3 * MIB + 1536))
    data[512:520] = b"EFI PART"
    img.write_bytes(bytes(data))
    r = unicycle("flash", loop_device, "--image", img, "--yes", "--force", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(loop_device, "rb") as dev:
        assert dev.read(len(data)) == bytes(data)


def test_read_only_loop_device_is_refused(read_only_loop_device, real_image):
    r = unicycle("flash", read_only_loop_device, "--image", real_image, "--yes", "--force")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"refusing to write: {read_only_loop_device} is read-only" in r.stderr


def _read_until(proc, text: str, timeout=30) -> str:
    out = b""
    end = time.monotonic() + timeout
    while text.encode() not in out and time.monotonic() < end:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


def test_a_link_repointed_at_the_prompt_writes_neither_disk(loop_device, other_loop_device,
                                                           real_image, tmp_path):
    """The user names a link to one disk; while `flash` waits for the name to be
    typed, the link comes to point at another disk (a stick swapped under the same
    /dev/disk/by-* name). The confirmed disk was not what the link now means, and
    the other disk was never checked nor confirmed: both stay as they were."""
    link = tmp_path / "stick"
    link.symlink_to(loop_device)
    zeros = bytes(real_image.stat().st_size)
    proc = subprocess.Popen([sys.executable, "-m", "unicycle", "flash", str(link), "--image", str(real_image),
                             "--force"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        shown = _read_until(proc, "to overwrite it")
        assert f"about to overwrite {link}" in shown, shown
        os.unlink(link)
        link.symlink_to(other_loop_device)
        rest, err = proc.communicate(f"{os.path.basename(loop_device)}\n".encode(),
                                     timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err.decode()
    assert proc.returncode == 2, shown + rest.decode() + err
    assert f"refusing to write: {link} now names" in err and "nothing was written" in err, err
    for dev in (loop_device, other_loop_device):
        with open(dev, "rb") as f:
            assert f.read(len(zeros)) == zeros, f"{dev} was written"


def test_a_loop_device_held_exclusively_is_refused(loop_device, real_image):
    """O_EXCL: the kernel refuses the open while someone else claims the device
    (as a mount or a device-mapper table would)."""
    held = os.open(loop_device, os.O_RDONLY | os.O_EXCL)
    try:
        r = unicycle("flash", loop_device, "--image", real_image, "--yes", "--force")
    finally:
        os.close(held)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"refusing to write: {loop_device} is busy (mounted or in use)" in r.stderr
