"""`unicycle flash` and `unicycle image` without hardware: a fake sysfs/proc tree for
discovery and every refusal, a regular file (test-only switch) for the write path."""
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from unicycle import flash, project
from unicycle.cli import cli
from unicycle.errors import DeviceRefused

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "sysfs"
# Stand-ins for the device nodes of the fake tree: one sparse file per block
# device in sys/class/block, made by the `host` fixture. FakeNodes answers stat()
# for them (by path or open descriptor) as for block devices, by inode: moving
# one file over another is a stick swapped under the same name.
DEV = Path(tempfile.gettempdir()) / f"unicycle-fake-dev-{os.getpid()}"
NODE_SIZE = 8 << 20
IMAGE_SIZE = 3 * (1 << 20) + 1536   # not a multiple of 4096: exercises the unaligned tail


class FakeNodes:
    def __init__(self):
        shutil.rmtree(DEV, ignore_errors=True)
        DEV.mkdir()
        self.names = {}                  # inode -> kernel name
        for entry in sorted((FAKE / "sys" / "class" / "block").iterdir()):
            with open(DEV / entry.name, "wb") as f:
                f.truncate(NODE_SIZE)
            self.names[(DEV / entry.name).stat().st_ino] = entry.name

    def stat(self, path):
        if isinstance(path, int):
            return self._as_block(os.fstat(path))
        path = Path(path)
        if path.parent != DEV:
            return os.stat(path)
        if path.name == "ttyS0":
            return SimpleNamespace(st_mode=stat.S_IFCHR | 0o660, st_rdev=os.makedev(4, 64))
        return self._as_block(os.stat(path))

    def _as_block(self, st):
        name = self.names.get(st.st_ino)
        if name is None:
            return st
        major, minor = map(int, (FAKE / "sys" / "class" / "block" / name / "dev")
                           .read_text().split(":"))
        return SimpleNamespace(st_mode=stat.S_IFBLK | 0o660, st_rdev=os.makedev(major, minor))

    def remove(self):
        shutil.rmtree(DEV, ignore_errors=True)


@pytest.fixture
def nodes():
    n = FakeNodes()
    yield n
    n.remove()


@pytest.fixture
def host(monkeypatch, nodes):
    h = flash.Host(FAKE / "sys", FAKE / "proc", DEV, FAKE / "run", stat_fn=nodes.stat)
    monkeypatch.setattr(flash, "host", lambda: h)
    return h


def make_image(path: Path, size: int = IMAGE_SIZE) -> Path:
    data = bytearray(os.urandom(size))
    data[512:520] = b"EFI PART"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def image(tmp_path):
    return make_image(tmp_path / "unicycle.img")


@pytest.fixture
def stick(tmp_path, monkeypatch):
    """A regular file standing in for a 8 MiB stick, through the test-only switch."""
    monkeypatch.setenv(flash.ALLOW_FILE_ENV, "1")
    path = tmp_path / "stick.bin"
    path.write_bytes(b"\xa5" * (8 << 20))
    return path


def one_line_error(result, code=2) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), result.stderr
    return lines[-1]


# -- discovery ---------------------------------------------------------------

def test_host_reads_disks_from_the_fake_tree(host):
    sdb = host.disk("sdb")
    assert (sdb.vendor, sdb.model, sdb.serial, sdb.bus) == (
        "SanDisk", "Cruzer Blade", "4C530001230812345678", "usb")
    assert sdb.removable and not sdb.read_only and sdb.size == 31277232 * 512
    assert [(p.name, p.fstype, p.label) for p in sdb.partitions] == [
        ("sdb1", "vfat", "OLDSTICK"), ("sdb2", "ext4", "data")]
    nvme = host.disk("nvme0n1")
    assert (nvme.bus, nvme.serial, nvme.removable) == ("nvme", "S4EWNX0R123456", False)
    assert host.disk("sda").bus == "ata"
    assert host.root_disks() == ["sda"]
    assert [d.name for d in host.candidates()] == ["sdb", "sdc", "sdd", "sde", "sdf", "sdg"]
    fixed = [d.name for d in host.candidates(include_fixed=True)]
    assert "nvme0n1" in fixed and "sda" not in fixed     # the system disk is never offered
    assert "loop0" not in [d.name for d in host.candidates(include_fixed=True)]  # empty


def test_no_device_without_a_terminal_lists_the_removable_disks(runner, host, image):
    result = runner.invoke(cli, ["flash", "--image", str(image)])
    line = one_line_error(result)
    assert "no device given and no terminal" in line
    for name in ("sdb", "sdc", "sdd", "sde", "sdf", "sdg"):
        assert f"{DEV}/{name} (" in line
    assert f"{DEV}/sdb (SanDisk Cruzer Blade, 14.9 GiB)" in line
    assert f"{DEV}/sdc (Kingston DataTraveler 3.0, 7.4 GiB; cannot: {DEV}/sdc is mounted" in line
    assert "sda" not in line.replace(str(DEV), "") and "nvme0n1" not in line


def test_no_device_on_a_terminal_shows_a_table_and_asks(runner, host, image, monkeypatch):
    monkeypatch.setattr(flash, "stdin_is_terminal", lambda: True)
    result = runner.invoke(cli, ["flash", "--image", str(image)], input="1\nnope\n")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    out = result.stdout
    assert "removable disks:" in out
    row = next(l for l in out.splitlines() if "[1]" in l)
    for cell in (f"{DEV}/sdb", "SanDisk Cruzer Blade", "14.9 GiB", "4C530001230812345678", "usb"):
        assert cell in row, row
    refused = next(l for l in out.splitlines() if f"{DEV}/sdd" in l)
    assert "[-]" in refused and "(cannot: " in refused and "is too small" in refused
    assert "[2]" not in out                               # sdb is the only safe choice
    assert "write to which disk" in out
    assert f"about to overwrite {DEV}/sdb" in out
    assert "aborted: typed 'nope', not 'sdb'; nothing was written" in result.stderr


# -- refusals: each one line, exit != 0, before anything is opened -----------

REFUSALS = {
    "sdz": "no such device",
    "ttyS0": "is a character device, not a disk",
    "sdb1": f"is a partition; give the whole disk {DEV}/sdb",
    "sda": "holds the running system's root filesystem (/)",
    "sdc": "is mounted: /dev/sdc1 on /media/user/CAMERA; unmount it first",
    "sdg": "holds active swap /dev/sdg2; swapoff it first",
    "sdf": "sdf1 is held by dm-0 (LVM, RAID, LUKS or device-mapper)",
    "sde": "is read-only",
    "nvme0n1": "is not removable (nvme disk Samsung SSD 970 EVO Plus 1TB); pass --force",
    "sdd": "is too small: 2.0 MiB < the image's 3.0 MiB",
}


@pytest.mark.parametrize("device", sorted(REFUSALS))
def test_refuses_unsafe_targets_with_one_line(runner, host, image, device, monkeypatch):
    def no_open(*args, **kw):
        raise AssertionError("a refused device must never be opened")
    monkeypatch.setattr(flash, "_open_target", no_open)
    result = runner.invoke(cli, ["flash", device, "--image", str(image), "--yes"])
    line = one_line_error(result)
    assert REFUSALS[device] in line, line
    assert result.stdout == ""


def test_refuses_a_regular_file_without_the_test_switch(runner, host, image, tmp_path):
    target = tmp_path / "disk.bin"
    target.write_bytes(b"\0" * (8 << 20))
    result = runner.invoke(cli, ["flash", str(target), "--image", str(image), "--yes"])
    assert "is a regular file, not a disk" in one_line_error(result)
    assert target.read_bytes() == b"\0" * (8 << 20)


def test_force_allows_a_fixed_disk_but_nothing_else(host):
    size = 1 << 20
    assert host.refusal(host.resolve("nvme0n1"), size, force=True) is None
    assert "root filesystem" in host.refusal(host.resolve("sda"), size, force=True)
    assert "read-only" in host.refusal(host.resolve("sde"), size, force=True)


def test_mount_is_found_by_major_minor_alone(host, monkeypatch):
    monkeypatch.setattr(host, "mounts", lambda: [("8:18", "/srv/data", "none")])
    assert "is mounted: none on /srv/data" in host.refusal(host.resolve("sdb"), 1 << 20)


def test_ready_stick_passes_every_check(host):
    assert host.refusal(host.resolve("sdb"), 1 << 20) is None


# -- confirmation -------------------------------------------------------------

def test_confirmation_shows_what_will_be_lost_and_wrong_name_aborts(runner, host, image):
    result = runner.invoke(cli, ["flash", "sdb", "--image", str(image)], input="sdc\n")
    line = one_line_error(result, code=1)
    assert "aborted: typed 'sdc', not 'sdb'; nothing was written" in line
    assert (DEV / "sdb").read_bytes() == bytes(NODE_SIZE)
    out = result.stdout
    assert f"about to overwrite {DEV}/sdb: SanDisk Cruzer Blade, 14.9 GiB, bus usb" in out
    assert "serial 4C530001230812345678" in out
    assert "sdb1" in out and "vfat, label 'OLDSTICK'" in out
    assert "sdb2" in out and "ext4, label 'data'" in out
    assert "everything on it will be lost" in out
    assert "type sdb to overwrite it" in out


def test_wrong_name_leaves_the_file_untouched(runner, image, stick):
    before = stick.read_bytes()
    result = runner.invoke(cli, ["flash", str(stick), "--image", str(image)], input="sdb\n")
    assert one_line_error(result, code=1).endswith("nothing was written")
    assert stick.read_bytes() == before


# -- writing and verifying (regular-file stand-in) ---------------------------

def test_writes_and_verifies_a_regular_file_stand_in(runner, image, stick):
    result = runner.invoke(cli, ["flash", str(stick), "--image", str(image)],
                           input=f"{stick.name}\n")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    data = stick.read_bytes()
    assert data[:IMAGE_SIZE] == image.read_bytes()
    assert data[IMAGE_SIZE:] == b"\xa5" * ((8 << 20) - IMAGE_SIZE)   # past the image: untouched
    assert "verified:" in result.stdout and "ready to boot" in result.stdout
    assert "writing   3.0 MiB in" in result.stderr and "verifying 3.0 MiB in" in result.stderr


def test_writes_and_verifies_a_checked_disk_of_the_fake_tree(runner, host, image):
    result = runner.invoke(cli, ["flash", "sdb", "--image", str(image)], input="sdb\n")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    data = (DEV / "sdb").read_bytes()
    assert data[:IMAGE_SIZE] == image.read_bytes() and data[IMAGE_SIZE:] == bytes(
        NODE_SIZE - IMAGE_SIZE)
    assert f"verified: {DEV}/sdb reads back" in result.stdout


def _swap(old_name: str, new_name: str):
    """The stick behind DEV/<old_name> pulled, another one now under that name."""
    os.replace(DEV / old_name, DEV / f"{old_name}.pulled")
    os.replace(DEV / new_name, DEV / old_name)


def test_a_stick_swapped_at_the_prompt_is_not_written(host, image):
    """The check and the confirmation were about sdb; at the prompt its name
    comes to mean sdd's device: neither disk is written."""
    def confirm_after_a_swap(disk):
        _swap("sdb", "sdd")
        return disk.name
    with pytest.raises(DeviceRefused, match=rf"{DEV}/sdb now names 8:48, not the 8:16 that "
                                            r"was checked and confirmed"):
        flash.flash(image, "sdb", False, False, None, confirm_after_a_swap, lambda line: None)
    assert (DEV / "sdb").read_bytes() == bytes(NODE_SIZE)          # sdd's, under sdb's name
    assert (DEV / "sdb.pulled").read_bytes() == bytes(NODE_SIZE)


def test_a_device_swapped_between_check_and_open_is_refused(host, image, monkeypatch):
    """The descriptor opened must be the device checked: its stat says which."""
    real_check = host.check

    def check_then_swap(disk, size, force=False):
        real_check(disk, size, force)
        _swap("sdb", "sdd")
    monkeypatch.setattr(host, "check", check_then_swap)
    with pytest.raises(DeviceRefused, match=rf"{DEV}/sdb changed while it was checked: it was "
                                            r"8:16, it now opens 8:48; nothing was written"):
        flash.flash(image, "sdb", False, True, None, None, lambda line: None)
    assert (DEV / "sdb").read_bytes() == bytes(NODE_SIZE)


def test_write_and_read_back_use_the_descriptor_opened_first(host, image, monkeypatch):
    """Nothing reopens the path after the check: the bytes land in, and are read
    back from, the device that was opened, even when the name is reused."""
    real_write = flash.write

    def swap_then_write(img, target, stream=None):
        _swap("sdb", "sdd")
        return real_write(img, target, stream)
    monkeypatch.setattr(flash, "write", swap_then_write)
    disk, result = flash.flash(image, "sdb", False, True, None, None, lambda line: None)
    assert (DEV / "sdb.pulled").read_bytes()[:IMAGE_SIZE] == image.read_bytes()
    assert (DEV / "sdb").read_bytes() == bytes(NODE_SIZE)
    assert result.size == IMAGE_SIZE


def test_progress_line_has_bytes_rate_and_time_left():
    p = flash.Progress("writing", 100 << 20)
    p.done = 25 << 20
    line = p.line(p.start + 5)
    assert line == "writing 25.0 MiB / 100.0 MiB  5.0 MiB/s  15 s left"


def test_corrupted_read_back_is_a_failure(runner, image, stick, monkeypatch):
    real_read_back = flash.read_back

    def flip_a_byte_then_read(target, size, stream=None):
        with open(target.disk.path, "r+b") as f:
            f.seek(1 << 20)
            b = f.read(1)
            f.seek(1 << 20)
            f.write(bytes([b[0] ^ 0xff]))
        return real_read_back(target, size, stream)

    monkeypatch.setattr(flash, "read_back", flip_a_byte_then_read)
    result = runner.invoke(cli, ["flash", str(stick), "--image", str(image), "--yes"])
    line = one_line_error(result, code=1)
    assert "verification failed" in line and "NOT bootable" in line


def test_ctrl_c_stops_and_says_the_stick_is_not_bootable(runner, image, stick, monkeypatch):
    def interrupted(fd, view, offset):
        raise KeyboardInterrupt
    monkeypatch.setattr(flash, "_write_all", interrupted)
    result = runner.invoke(cli, ["flash", str(stick), "--image", str(image), "--yes"])
    line = one_line_error(result, code=130)
    assert "interrupted" in line and "NOT bootable" in line


def test_permission_denied_names_the_fix(runner, image, stick, monkeypatch):
    real_open = os.open

    def denied(path, flags, *args):
        if str(path) == str(stick):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(flash.os, "open", denied)
    result = runner.invoke(cli, ["flash", str(stick), "--image", str(image), "--yes"])
    line = one_line_error(result, code=1)
    assert "permission denied" in line and "sudo" in line
    assert "sudo usermod -aG disk $USER" in line


# -- the image to write -------------------------------------------------------

def test_image_must_be_a_gpt_disk_file(runner, host, tmp_path):
    zeros = tmp_path / "zeros.img"
    zeros.write_bytes(b"\0" * 4096)
    for path, why in ((tmp_path / "missing.img", "no such image"),
                      (tmp_path, "not a regular file"),
                      (zeros, "not a GPT disk image (no 'EFI PART' header at LBA 1)")):
        result = runner.invoke(cli, ["flash", "sdb", "--image", str(path), "--yes"])
        line = one_line_error(result)
        assert str(path) in line and why in line, line


@pytest.fixture
def proj(tmp_path):
    root = tmp_path / "app"
    project.create(root, "hello", name="app")
    return root


def test_flash_without_a_built_image_says_to_build(runner, host, proj):
    result = runner.invoke(cli, ["flash", "sdb", "-C", str(proj), "--yes"])
    line = one_line_error(result)
    assert "build/qemu-x86_64/unicycle.img: no image" in line
    assert "run `unicycle build` first" in line


def test_flash_uses_the_projects_built_image(runner, proj, stick):
    built = make_image(proj / "build" / "qemu-x86_64" / "unicycle.img", 1 << 20)
    result = runner.invoke(cli, ["flash", str(stick), "-C", str(proj), "--yes"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert stick.read_bytes()[:1 << 20] == built.read_bytes()


# -- unicycle image -------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["raw", "qcow2", "vmdk"])
def test_image_exports_with_qemu_img(runner, proj, fmt):
    make_image(proj / "build" / "qemu-x86_64" / "unicycle.img")
    result = runner.invoke(cli, ["image", "--format", fmt, "-C", str(proj)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    out = proj / "build" / "qemu-x86_64" / f"unicycle.{fmt}"
    assert f"wrote {out} ({fmt}, " in result.stdout
    info = subprocess.run(["qemu-img", "info", "--output=json", str(out)],
                          capture_output=True, text=True, check=True).stdout
    assert f'"format": "{fmt}"' in info
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_image_output_path_and_contents(runner, proj, tmp_path):
    src = make_image(proj / "build" / "qemu-x86_64" / "unicycle.img")
    out = tmp_path / "exports" / "stick.qcow2"
    result = runner.invoke(cli, ["image", "--format", "qcow2", "-o", str(out), "-C", str(proj)])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    back = tmp_path / "back.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(out), str(back)], check=True)
    assert back.read_bytes() == src.read_bytes()


def test_image_without_a_build_says_to_build(runner, proj):
    result = runner.invoke(cli, ["image", "--format", "qcow2", "-C", str(proj)])
    assert "run `unicycle build` first" in one_line_error(result)
