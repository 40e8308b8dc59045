"""`unicycle run --disk FILE[,if=virtio|ahci|nvme][,size=N]`: parsing, the checks made before
anything is built, image creation with qemu-img, and the QEMU devices each interface becomes."""
from pathlib import Path

import pytest

from unicycle import boards, disks, qemu
from unicycle.cli import cli
from unicycle.errors import InputError

FIXTURES = Path(__file__).resolve().parents[1] / "boards"


@pytest.fixture
def booted(runner, project_from, monkeypatch):
    """Runs `unicycle run --no-build ARGS` with QEMU replaced; returns (result, spec, argv)."""
    proj = project_from("valid.toml")
    seen = {}

    def fake_run(spec, timeout=None, stdout=None, elf=None):
        seen["spec"] = spec
        return qemu.Outcome(1, 0, False, 1.0)

    monkeypatch.setattr(qemu, "run", fake_run)

    def go(*args):
        seen.clear()
        r = runner.invoke(cli, ["run", "-C", str(proj), "-b", "qemu-x86_64", "--no-build",
                                *map(str, args)])
        spec = seen.get("spec")
        if spec is not None:
            (proj / "build" / "qemu-x86_64").mkdir(parents=True, exist_ok=True)
            spec.image.write_bytes(b"\0" * 512)
        return r, spec, qemu.command(spec) if spec else None

    go.proj = proj
    return go


@pytest.mark.parametrize("text, path, interface, size", [
    ("data.img", "data.img", None, None),
    ("data.img,if=nvme", "data.img", "nvme", None),
    ("/x/d.img,size=64M,if=ahci", "/x/d.img", "ahci", 64 << 20),
    ("d.img,size=512", "d.img", None, 512),
    ("d.img,size=2k", "d.img", None, 2048),
    ("d.img,size=1G", "d.img", None, 1 << 30),
    ("a,,b.img,if=virtio", "a,b.img", "virtio", None),
])
def test_parse(text, path, interface, size):
    spec = disks.parse(text)
    assert (spec.path, spec.interface, spec.size) == (Path(path), interface, size)


@pytest.mark.parametrize("text, message", [
    ("d.img,if=scsi", "if='scsi': expected one of virtio, ahci, nvme"),
    ("d.img,size=abc", "size='abc': expected a number of bytes with an optional K, M, G or T"),
    ("d.img,size=12X", "size='12X': expected a number of bytes"),
    ("d.img,size=0", "size=0: 0 bytes is not a whole, nonzero number of 512-byte sectors"),
    ("d.img,size=100", "size=100: 100 bytes is not a whole, nonzero number of 512-byte sectors"),
    ("d.img,size=-5M", "size='-5M': expected"),
    ("d.img,bus=3", "unknown option 'bus=3' (allowed: if=, size=)"),
    ("d.img,if", "unknown option 'if'"),
    (",if=nvme", "no file name before the options"),
])
def test_parse_refuses(text, message):
    with pytest.raises(InputError) as e:
        disks.parse(text)
    assert message in str(e.value)


def test_bad_option_is_a_usage_error_before_building(runner, project_from):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["run", "-C", str(proj), "--disk", "d.img,size=12X"])
    assert r.exit_code == 2
    assert "Invalid value for '--disk'" in r.stderr and "size='12X'" in r.stderr
    assert not (proj / "build").exists()


def test_each_interface_becomes_its_qemu_device(booted, tmp_path):
    images = []
    for name in ("a.img", "b.img", "c.img", "d.img"):
        (tmp_path / name).write_bytes(b"\0" * 4096)
        images.append(tmp_path / name)
    r, spec, argv = booted("--disk", images[0], "--disk", f"{images[1]},if=ahci",
                           "--disk", f"{images[2]},if=nvme", "--disk", f"{images[3]},if=ahci")
    assert r.exit_code == 0, r.stderr
    line = " ".join(argv)
    # The board's first controller (virtio-blk) is the default.
    assert f"-drive if=none,id=disk0,format=raw,file={images[0]}" in line
    assert "-device virtio-blk-pci,drive=disk0,serial=a" in line
    # AHCI disks go to q35's built-in controller from port 1 up (port 0 is the boot image).
    assert "-device ide-hd,drive=disk1,bus=ide.1,serial=b" in line
    assert "-device nvme,drive=disk2,serial=c" in line
    assert "-device ide-hd,drive=disk3,bus=ide.2,serial=d" in line
    assert [d.controller for d in spec.disks] == ["virtio-blk", "ahci", "nvme", "ahci"]


def test_missing_image_is_created_with_its_size(booted, tmp_path):
    img = tmp_path / "new disk.img"
    r, spec, argv = booted("--disk", f"{img},size=2M,if=nvme")
    assert r.exit_code == 0, r.stderr
    assert img.stat().st_size == 2 << 20
    assert f"unicycle: created {img} (2097152 bytes, raw)" in r.stderr
    assert "-device nvme,drive=disk0,serial=new_disk" in " ".join(argv)
    # A second run finds it and leaves it alone (same size given: fine).
    img.write_bytes(b"\1" * (2 << 20))
    r, spec, argv = booted("--disk", f"{img},size=2M,if=nvme")
    assert r.exit_code == 0, r.stderr
    assert img.read_bytes()[:1] == b"\1" and "created" not in r.stderr


@pytest.mark.parametrize("setup, arg, message", [
    (None, "{d}/none.img", "{d}/none.img does not exist; add size=N (e.g. size=64M) to create it"),
    ("small", "{d}/small.img", "{d}/small.img has 100 bytes, not a whole number of 512-byte "
                               "sectors (QEMU would round it up and grow the file on write); "
                               "make it 512 bytes with `truncate -s 512 {d}/small.img`"),
    ("dir", "{d}/adir", "{d}/adir is not a regular file"),
    ("ok", "{d}/ok.img,size=1M", "{d}/ok.img exists with 4096 bytes; size= only applies to a "
                                 "new image"),
    (None, "{d}/nodir/x.img,size=1M", "{d}/nodir is not a directory"),
])
def test_bad_images_are_refused_before_building(booted, tmp_path, setup, arg, message):
    if setup == "small":
        (tmp_path / "small.img").write_bytes(b"x" * 100)
    elif setup == "dir":
        (tmp_path / "adir").mkdir()
    elif setup == "ok":
        (tmp_path / "ok.img").write_bytes(b"\0" * 4096)
    r, spec, _ = booted("--disk", arg.format(d=tmp_path))
    assert r.exit_code == 2 and spec is None
    assert r.stderr.strip() == f"error: --disk {arg.format(d=tmp_path)}: {message.format(d=tmp_path)}"
    assert not (booted.proj / "build").exists()


def test_two_disks_with_one_serial_are_refused(booted, tmp_path):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "data.img").write_bytes(b"\0" * 512)
    r, spec, _ = booted("--disk", tmp_path / "x" / "data.img", "--disk", tmp_path / "y" / "data.img")
    assert r.exit_code == 2 and spec is None
    assert "the guest would see serial 'data' twice" in r.stderr


def test_serial_is_the_file_name_cut_to_20_ascii_characters():
    assert disks.serial_for(Path("/a/blktest-virtio.img")) == "blktest-virtio"
    assert disks.serial_for(Path("my disk#1.raw")) == "my_disk_1"
    assert disks.serial_for(Path("a" * 30 + ".img")) == "a" * 20


def test_interface_the_board_does_not_list_is_refused():
    board = boards.load("qemu_ahci_only", FIXTURES)
    with pytest.raises(InputError) as e:
        disks.plan([disks.parse("x.img,if=nvme,size=1M")], board)
    assert str(e.value) == ("--disk x.img,if=nvme,size=1M: board qemu_ahci_only has no nvme "
                            "controller (it lists: ahci)")
    # Without if= the board's first (only) controller is used.
    assert disks.plan([disks.parse("x.img,size=1M")], board)[0].controller == "ahci"


def test_board_without_disk_controllers_refuses_disks(tmp_path):
    text = (FIXTURES / "qemu_ahci_only.toml").read_text()
    (tmp_path / "bare.toml").write_text(
        text.replace('name = "qemu_ahci_only"', 'name = "bare"')
            .replace('disk-controllers = ["ahci"]\n', ""))
    with pytest.raises(InputError) as e:
        disks.plan([disks.parse("x.img,size=1M")], boards.load("bare", tmp_path))
    assert "board bare has no disk controllers (hardware.disk-controllers in" in str(e.value)


def test_too_many_ahci_disks(tmp_path):
    board = boards.load("qemu-x86_64")
    specs = [disks.parse(f"{tmp_path}/d{i}.img,if=ahci,size=1M") for i in range(6)]
    with pytest.raises(InputError) as e:
        disks.plan(specs, board)
    assert "6 AHCI disks, but the controller has 5 free ports" in str(e.value)


def test_note_when_the_build_has_no_driver_for_the_disk(booted, tmp_path):
    (tmp_path / "d.img").write_bytes(b"\0" * 512)
    r, spec, _ = booted("--disk", f"{tmp_path}/d.img,if=nvme")   # valid.toml: BLOCK is off
    assert r.exit_code == 0, r.stderr
    assert ("unicycle: note: --disk d.img: CONFIG_NVME is off in this build: the app will "
            "not see this disk") in r.stderr
    r, spec, _ = booted("--disk", f"{tmp_path}/d.img,if=nvme", "--set", "BLOCK=y")
    assert r.exit_code == 0, r.stderr
    assert "note:" not in r.stderr


def test_usb_boot_frees_ahci_port_0_and_other_machines_get_an_ahci_device(project_from, tmp_path):
    from unicycle import build
    proj = build.open_project(project_from("valid.toml"), "qemu-x86_64")
    proj.image.parent.mkdir(parents=True)
    proj.image.write_bytes(b"\0" * 512)
    d = disks.Disk(tmp_path / "s.img", "ahci", "s", None)
    usb = qemu.command(qemu.spec_for(proj, boot="usb", disks=[d]))
    assert "ide-hd,drive=disk0,bus=ide.0,serial=s" in usb
    spec = qemu.spec_for(proj, disks=[d])
    spec.machine = "pc"            # not a board machine: how _disk_args treats others
    pc = qemu.command(spec)
    assert pc[pc.index("ahci,id=ahci") - 1] == "-device"
    assert "ide-hd,drive=disk0,bus=ahci.0,serial=s" in pc
