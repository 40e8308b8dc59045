"""`unicycle run` without booting: options are checked before anything is built, and
QEMU's outcome becomes the exit status and the closing line (qemu.Outcome)."""
from pathlib import Path

import pytest

from unicycle import qemu
from unicycle.cli import cli

PACKAGE = Path(qemu.__file__).resolve().parent


def test_bad_forward_is_refused_before_building(runner, project_from):
    proj = project_from("valid.toml")
    for bad in ("8080", "0:80", "8080:99999", "a:b"):
        r = runner.invoke(cli, ["run", "-C", str(proj), "--forward", bad])
        assert r.exit_code == 2, (bad, r.stderr)
        assert f"'{bad}': expected HOST:GUEST ports (1-65535)" in r.stderr
    assert not (proj / "build").exists()


def test_fetch_needs_a_networked_app(runner, project_from):
    proj = project_from("valid.toml")
    (proj / "unicycle.toml").write_text('[app]\nname = "x"\nsources = ["main.c"]\n')
    r = runner.invoke(cli, ["run", "-C", str(proj), "--fetch", "/"])
    assert r.exit_code == 2
    assert r.stderr.strip() == "error: --fetch needs a networked app (CONFIG_NET) or --forward"
    assert not (proj / "build").exists()


@pytest.mark.parametrize("outcome, code, line", [
    (qemu.Outcome(85, 42, False, 3.21), 42, "unicycle: app exited with status 42 after 3.2 s"),
    (qemu.Outcome(1, 0, False, 1.0), 0, "unicycle: app exited with status 0 after 1.0 s"),
    (qemu.Outcome(255, 127, False, 2.0), 127, "unicycle: the app crashed (CPU exception or "
     "panic; see the report above) or exited with a status outside 0-126, after 2.0 s"),
    (qemu.Outcome(None, None, True, 25.0, 25.0), 124,
     "unicycle: timed out after 25 s; QEMU stopped"),
    (qemu.Outcome(0, None, False, 5.0), 125,
     "unicycle: the guest stopped without uc_exit() (QEMU exit 0: it reset, e.g. through the "
     "watchdog, or powered off)"),
    (qemu.Outcome(2, None, False, 5.0), 125,
     "unicycle: the guest stopped without uc_exit() (QEMU exit 2)"),
    (qemu.Outcome(-15, None, False, 5.0, response="HTTP/1.1 200 OK"), 0,
     "unicycle: guest shut down"),
])
def test_outcome_exit_code_and_summary(outcome, code, line):
    assert outcome.exit_code == code
    assert outcome.summary() == line


def test_decode_status_needs_the_exit_device():
    assert qemu.decode_status((42 << 1) | 1, True) == 42
    assert qemu.decode_status((42 << 1) | 1, False) is None
    assert qemu.decode_status(0, True) is None


def test_run_exits_with_the_outcome(runner, project_from, monkeypatch):
    proj = project_from("valid.toml")
    seen = {}

    def fake_run(spec, timeout=None, stdout=None, elf=None):
        seen["spec"] = spec
        return qemu.Outcome(None, None, True, 7.0, timeout)

    monkeypatch.setattr(qemu, "run", fake_run)
    r = runner.invoke(cli, ["run", "-C", str(proj), "-b", "qemu-x86_64", "--no-build",
                            "--timeout", "7", "--forward", "8081:80", "--nic", "e1000e",
                            "--smp", "2"])
    assert r.exit_code == 124, r.stderr
    assert "unicycle: forwarding http://127.0.0.1:8081/ -> guest:80" in r.stderr
    assert r.stderr.strip().endswith("unicycle: timed out after 7 s; QEMU stopped")
    spec = seen["spec"]
    assert spec.forwards == [(8081, 80)] and spec.nic == "e1000e" and spec.smp == 2
    assert spec.boot == "disk" and spec.image == proj / "build" / "qemu-x86_64" / "unicycle.img"


def test_one_command_builder_boots_disk_usb_and_net(project_from, tmp_path):
    from unicycle import build
    proj = build.open_project(project_from("valid.toml"), "qemu-x86_64")
    proj.image.parent.mkdir(parents=True)
    proj.image.write_bytes(b"\0" * 512)
    disk = qemu.command(qemu.spec_for(proj))
    assert f"format=raw,file={proj.image}" in disk and "-boot" not in disk
    usb = qemu.command(qemu.spec_for(proj, boot="usb"))
    assert "usb-storage,bus=xhci.0,drive=stick" in usb
    net = qemu.command(qemu.spec_for(proj, boot="net", workdir=tmp_path, mac="52:54:00:00:00:01",
                                     netdev="user,id=net0,tftp=/x,bootfile=BOOTX64.EFI"))
    assert net[-2:] == ["-boot", "n"] and not any(str(proj.image) in a for a in net)
    assert "virtio-net-pci,netdev=net0,romfile=,mac=52:54:00:00:00:01" in net
    assert "isa-debug-exit,iobase=0xf4,iosize=0x04" in net


def test_direct_boot_command_lines(project_from):
    """--direct: app.elf with -kernel and boot.cfg as -initrd, no firmware, no image; microvm
    with ACPI off (QEMU then lists the virtio-mmio devices on the command line) and
    virtio-mmio device models; what microvm lacks is refused by name."""
    from unicycle import build, disks
    proj = build.open_project(project_from("valid.toml"), "qemu-x86_64")
    proj.build_dir.mkdir(parents=True)
    for name in ("app.elf", "boot.cfg"):
        (proj.build_dir / name).write_bytes(b"x")
    q35 = qemu.command(qemu.spec_for(proj, boot="direct"))
    assert q35[q35.index("-kernel") + 1] == str(proj.build_dir / "app.elf")
    assert q35[q35.index("-initrd") + 1] == str(proj.build_dir / "boot.cfg")
    assert "-nodefaults" in q35 and not any("pflash" in a or "unicycle.img" in a for a in q35)
    assert q35[q35.index("-machine") + 1] == "q35"
    vm = qemu.command(qemu.spec_for(proj, boot="direct", machine="microvm"))
    assert vm[vm.index("-machine") + 1] == "microvm,acpi=off"
    assert "virtio-net-device,netdev=net0" in vm and "virtio-mmio.force-legacy=false" in vm
    spec = qemu.spec_for(proj, boot="direct", machine="microvm", nic="e1000e")
    with pytest.raises(qemu.RunError, match="microvm machine has no PCI: NIC e1000e needs q35"):
        qemu.command(spec)
    spec = qemu.spec_for(proj, boot="direct", machine="microvm")
    spec.disks = [disks.Disk(Path("/tmp/d.img"), "virtio-blk", "d", None),
                  disks.Disk(Path("/tmp/n.img"), "nvme", "n", None)]
    with pytest.raises(qemu.RunError, match="a nvme disk needs q35"):
        qemu.command(spec)
    spec.disks = spec.disks[:1]
    assert "virtio-blk-device,drive=disk0,serial=d" in qemu.command(spec)
    with pytest.raises(qemu.RunError, match="boots only directly"):
        qemu.command(qemu.spec_for(proj, boot="disk", machine="microvm"))
    (proj.build_dir / "app.elf").unlink()
    with pytest.raises(qemu.RunError, match="no app.elf; run `unicycle build` first"):
        qemu.command(qemu.spec_for(proj, boot="direct"))


def test_direct_boot_is_refused_where_it_cannot_work(runner, project_from):
    proj = project_from("valid.toml")
    qemu_board = ["run", "-C", str(proj), "--board", "qemu-x86_64"]
    r = runner.invoke(cli, [*qemu_board, "--direct", "--usb"])
    assert r.exit_code == 2 and "give one of --usb and --direct" in r.stderr, r.stderr
    r = runner.invoke(cli, [*qemu_board, "--direct", "--set", "PVH=n"])
    assert r.exit_code == 2 and "CONFIG_PVH=n" in r.stderr, r.stderr
    r = runner.invoke(cli, [*qemu_board, "--machine", "pc"])
    assert r.exit_code == 2 and "'pc' is not one of" in r.stderr, r.stderr
    r = runner.invoke(cli, ["run", "-C", str(proj), "--board", "q170m", "--direct"])
    assert r.exit_code == 1 and "real hardware" in r.stderr, r.stderr
    assert not (proj / "build").exists()


def test_default_board_is_written_once_in_the_package():
    hits = [(p.name, n) for p in PACKAGE.rglob("*") if p.is_file() and p.suffix in (".py", ".json")
            for n, line in enumerate(p.read_text().splitlines(), 1) if "qemu-x86_64" in line]
    assert len(hits) == 1 and hits[0][0] == "boards.py", hits


def test_templates_are_the_folders_of_templates_new(runner, tmp_path, monkeypatch):
    from unicycle import paths, project
    folders = sorted(p.name for p in (paths.templates_dir() / "new").iterdir() if p.is_dir())
    assert project.templates() == folders and "hello" in folders
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(cli, ["new", "x", "--template", "nope"])
    assert r.exit_code == 2
    assert all(f"'{name}'" in r.stderr for name in folders), r.stderr
