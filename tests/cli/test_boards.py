"""Board files: the shipped ones validate, `unicycle boards` lists them, what follows
from [hardware] reaches the configuration and QEMU, and bad ones are refused."""
import shutil
from pathlib import Path

import pytest

from unicycle import boards, build, qemu
from unicycle.cli import cli
from unicycle.errors import BoardError

FIXTURES = Path(__file__).resolve().parents[1] / "boards"


def test_boards_lists_each_with_description(runner):
    result = runner.invoke(cli, ["boards"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    names = [l.split()[0] for l in lines]
    assert names == ["q170m", "qemu-x86_64"]
    assert "I219" in lines[0] and "OVMF" in lines[1]


def test_shipped_boards_validate():
    q = boards.load("q170m")
    assert q.kind == "hardware" and not q.runnable
    assert q.derived_config()["E1000E"][0] is True
    assert q.derived_config()["VIRTIO_NET"][0] is False
    v = boards.load("qemu-x86_64")
    assert v.runnable and v.hardware["exit-device"] == "isa-debug-exit"


def test_disk_controllers_become_driver_defaults_while_block_is_on(project_from):
    proj = project_from("valid.toml")
    v = build.open_project(proj, "qemu-x86_64", ["BLOCK=y"])
    assert all(v.resolved.values[s] is True for s in ("VIRTIO_BLK", "AHCI", "NVME"))
    assert "hardware.disk-controllers" in v.resolved.origin("NVME")
    q = build.open_project(proj, "q170m", ["BLOCK=y"])
    assert q.resolved.values["VIRTIO_BLK"] is False and q.resolved.values["AHCI"] is True
    # Without BLOCK the board's defaults yield silently, as NIC drivers do without NET.
    off = build.open_project(proj, "qemu-x86_64")
    assert not any(off.resolved.values[s] for s in ("BLOCK", "VIRTIO_BLK", "AHCI", "NVME"))


def test_hardware_facts_become_configuration_defaults(project_from):
    proj = project_from("valid.toml")
    q = build.open_project(proj, "q170m")
    assert q.resolved.values["VIRTIO_NET"] is False and q.resolved.values["E1000E"] is True
    assert "q170m.toml:17 (hardware.nics" in q.resolved.origin("VIRTIO_NET")
    assert q.resolved.values["EXIT_ISA_DEBUG"] is False
    v = build.open_project(proj, "qemu-x86_64")
    assert v.resolved.values["UART_BASE"] == 0x3f8
    assert "hardware.console" in v.resolved.origin("UART_BASE")


def test_qemu_command_follows_the_board_and_the_exit_port(project_from):
    proj = project_from("valid.toml")
    spec = qemu.spec_for(build.open_project(proj, "qemu-x86_64"))
    assert (spec.machine, spec.memory_mib, spec.smp, spec.nic) == ("q35", 512, 1,
                                                                   "virtio-net-pci")
    assert spec.exit_device == "isa-debug-exit,iobase=0xf4,iosize=0x04"
    # The device is derived from the configuration: moving the port moves it.
    moved = qemu.spec_for(build.open_project(proj, "qemu-x86_64",
                                             ["EXIT_ISA_DEBUG_PORT=0x501"]))
    assert moved.exit_device == "isa-debug-exit,iobase=0x501,iosize=0x04"
    off = qemu.spec_for(build.open_project(proj, "qemu-x86_64", ["EXIT_ISA_DEBUG=n"]))
    assert off.exit_device is None


def test_watchdog_device_follows_the_board_and_the_configuration(project_from):
    """hardware.watchdog gives I6300ESB; QEMU gets the i6300esb only when the build feeds it."""
    proj = project_from("valid.toml")
    dev = ["-device", "i6300esb", "-action", "watchdog=reset"]
    off = build.open_project(proj, "qemu-x86_64")
    assert off.resolved.values["WATCHDOG"] is False and off.resolved.values["I6300ESB"] is False
    assert "i6300esb" not in qemu.spec_for(off).extra
    on = build.open_project(proj, "qemu-x86_64", ["WATCHDOG=y"])
    assert on.resolved.values["I6300ESB"] is True
    assert "hardware.watchdog" in on.resolved.origin("I6300ESB")
    assert qemu.spec_for(on).extra[:4] == dev
    # microvm has no PCI; a build without the driver has nothing to feed it.
    assert "i6300esb" not in qemu.spec_for(on, boot="direct", machine="microvm").extra
    nodrv = build.open_project(proj, "qemu-x86_64", ["WATCHDOG=y", "I6300ESB=n"])
    assert "i6300esb" not in qemu.spec_for(nodrv).extra
    q = build.open_project(proj, "q170m", ["WATCHDOG=y"])
    assert q.resolved.values["I6300ESB"] is False  # no 6300ESB there: its PCH's TCO
    assert q.resolved.values["ITCO"] is True and "hardware.watchdog" in q.resolved.origin("ITCO")


NOREBOOT = ["-global", "ICH9-LPC.noreboot=false"]


def _has(args: list[str], seq: list[str]) -> bool:
    return any(args[i:i + len(seq)] == seq for i in range(len(args)))


def test_tco_gets_the_noreboot_global_only_when_selected(project_from):
    """qemu-x86_64 keeps the i6300esb by default; ITCO=y I6300ESB=n picks ICH9's TCO, and only
    then does QEMU get its noreboot strap cleared (q35 only)."""
    proj = project_from("valid.toml")
    default = qemu.spec_for(build.open_project(proj, "qemu-x86_64", ["WATCHDOG=y"])).extra
    assert _has(default, ["-device", "i6300esb"]) and not _has(default, NOREBOOT)
    tco = build.open_project(proj, "qemu-x86_64", ["WATCHDOG=y", "ITCO=y", "I6300ESB=n"])
    assert tco.resolved.values["ITCO"] is True
    extra = qemu.spec_for(tco).extra
    assert _has(extra, NOREBOOT + ["-action", "watchdog=reset"]), extra
    assert "i6300esb" not in extra
    assert not _has(qemu.spec_for(tco, boot="direct", machine="microvm").extra, NOREBOOT)
    off = build.open_project(proj, "qemu-x86_64")   # WATCHDOG off: no driver, no strap
    assert off.resolved.values["ITCO"] is False and not _has(qemu.spec_for(off).extra, NOREBOOT)


def test_unknown_board_on_command_line(runner, project_from):
    proj = project_from("valid.toml")
    result = runner.invoke(cli, ["build", "--regenerate-only", "-C", str(proj), "--board", "vax"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error: unknown board 'vax' (known: q170m, qemu-x86_64)")


def test_hardware_board_does_not_run(runner, project_from):
    proj = project_from("valid.toml")
    result = runner.invoke(cli, ["run", "-C", str(proj), "--board", "q170m", "--no-build"])
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: board q170m is real hardware: write the image "
                                     "with `unicycle flash`, or netboot it with `unicycle serve`")


@pytest.mark.parametrize("edit, fragment", [
    (lambda t: t.replace('arch = "x86_64"', 'arch = "arm64"'), "board.arch"),
    (lambda t: t.replace("cpus = 1\n", "cpus = 0\n"), "hardware.cpus"),
    (lambda t: t.replace('cpu = "max"', 'cpu = "max"\nturbo = true'), "unknown key 'turbo'"),
    (lambda t: t.replace('name = "qemu-x86_64"', 'name = "other"'), "does not match"),
])
def test_invalid_board_file_is_refused(tmp_path, edit, fragment):
    from unicycle import paths
    src = paths.boards_dir()
    (tmp_path / "qemu-x86_64.toml").write_text(edit((src / "qemu-x86_64.toml").read_text()))
    with pytest.raises(BoardError) as e:
        boards.load("qemu-x86_64", tmp_path)
    assert fragment in str(e.value)
    assert "qemu-x86_64.toml:" in str(e.value)


# One fixture per kind of mistake: file:line, the key, and what is wrong.
INVALID = {
    "invalid_nic_driver": ":21: config.E1000E = true, but hardware.nics "
                          "(invalid_nic_driver.toml:16) has no e1000e NIC (it lists: virtio-net)",
    "invalid_watchdog_driver": ":22: config.ITCO = true, but hardware.watchdog "
                               "(invalid_watchdog_driver.toml:19) has no itco watchdog "
                               "(it lists: i6300esb)",
    "invalid_repeated_fact": ":21: config.VIRTIO_NET = true repeats what follows from "
                             "hardware.nics (invalid_repeated_fact.toml:16); remove it",
    "invalid_uart_port": ":21: config.UART_BASE = 0x2f8 contradicts hardware.console "
                         "(invalid_uart_port.toml:15); write the fact once, in [hardware]",
    "invalid_hardware_exit": ":19: config.EXIT_ISA_DEBUG = true, but the board has no exit "
                             "device: [hardware] (invalid_hardware_exit.toml:11) has no "
                             "exit-device",
    "invalid_hardware_exit_port": ":19: config.EXIT_ISA_DEBUG_PORT: the board has no exit "
                                  "device",
    "invalid_run_memory": ":21: run.memory-mib: not read here: a hardware fact: write it once "
                          "as hardware.memory-mib",
    "invalid_run_exit_device": ":21: run.exit-device: not read here: derived from "
                               "hardware.exit-device and the EXIT_ISA_DEBUG_PORT configuration",
    "invalid_hardware_machines": ":12: hardware.machines: unknown key 'machines' (allowed with "
                                 "board.kind = \"hardware\": boot, console, cpus, "
                                 "disk-controllers, memory-mib, nics, watchdog)",
    "invalid_hardware_pvh": ":16: hardware.boot.1: expected one of 'uefi', got 'pvh'",
    "invalid_hardware_no_how": ":18: run: 'how' is required",
    "invalid_microvm_uefi": ":12: hardware.machines: microvm has no UEFI firmware here and "
                            "boots only directly; add \"pvh\" to hardware.boot",
    "invalid_disk_controller": ":18: hardware.disk-controllers.0: expected one of "
                               "'virtio-blk', 'ahci', 'nvme', got 'scsi'",
    "invalid_disk_driver": ":24: config.NVME = true, but hardware.disk-controllers "
                           "(invalid_disk_driver.toml:18) has no nvme disk controller "
                           "(it lists: ahci)",
    "invalid_kind": ":6: board.kind: expected one of 'qemu', 'hardware', got 'vm'",
    "invalid_schema_version": ":2: schema: expected 2, got 1",
}


def test_every_invalid_fixture_is_listed():
    assert sorted(p.stem for p in FIXTURES.glob("invalid_*.toml")) == sorted(INVALID)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_board_fixture(name):
    with pytest.raises(BoardError) as e:
        boards.load(name, FIXTURES)
    message = str(e.value).replace(f"{FIXTURES}/", "")
    assert message.startswith(f"{name}.toml{INVALID[name]}"), message


def test_invalid_board_fixture_through_the_cli(runner, project_from, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(boards.paths.home(), home, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", ".cache", "build", "tests"))
    shutil.copy(FIXTURES / "invalid_nic_driver.toml", home / "boards")
    monkeypatch.setenv("UNICYCLE_HOME", str(home))
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["build", "--regenerate-only", "-C", str(proj),
                            "--board", "invalid_nic_driver"])
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == (f"error: {home}/boards/invalid_nic_driver.toml:21: "
                                f"config.E1000E = true, but hardware.nics ({home}/boards/"
                                f"invalid_nic_driver.toml:16) has no e1000e NIC "
                                f"(it lists: virtio-net)")
