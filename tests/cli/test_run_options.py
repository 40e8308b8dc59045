"""`unicycle run --memory/--net/--gdb/--kvm` without booting: values reach the QEMU command
line, and each bad value or unusable host device is one line before anything is built."""
import os
import socket

import pytest

from unicycle import hostnet, kvm, qemu
from unicycle.cli import cli


@pytest.fixture
def fake_run(monkeypatch):
    seen = {}

    def run(spec, timeout=None, stdout=None, elf=None):
        seen["spec"] = spec
        seen["cmd"] = qemu.command(spec)
        return qemu.Outcome(1, 0, False, 1.0)

    monkeypatch.setattr(qemu, "run", run)
    return seen


@pytest.fixture
def built(project_from):
    """A project whose direct-boot files exist (qemu.command checks them)."""
    proj = project_from("valid.toml")
    out = proj / "build" / "qemu-x86_64"
    out.mkdir(parents=True)
    for f in ("app.elf", "boot.cfg"):
        (out / f).write_bytes(b"x")
    return proj


def invoke(runner, proj, *args):
    return runner.invoke(cli, ["run", "-C", str(proj), "-b", "qemu-x86_64", "--no-build",
                               "--direct", *args])


def test_memory_reaches_qemu(runner, built, fake_run):
    r = invoke(runner, built, "--memory", "1024")
    assert r.exit_code == 0, r.stderr
    cmd = fake_run["cmd"]
    assert cmd[cmd.index("-m") + 1] == "1024"


@pytest.mark.parametrize("bad", ["32", "0", "lots"])
def test_bad_memory_is_a_usage_error(runner, project_from, bad):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["run", "-C", str(proj), "--memory", bad])
    assert r.exit_code == 2 and "--memory" in r.stderr, r.stderr
    assert not (proj / "build").exists()


@pytest.mark.parametrize("text, net", [
    ("user", hostnet.Net()), ("tap", hostnet.Net("tap", "tap0")),
    ("tap:uc-lab1", hostnet.Net("tap", "uc-lab1")),
])
def test_parse_net(text, net):
    assert hostnet.parse(text) == net


@pytest.mark.parametrize("bad, says", [
    ("slirp", "expected user, tap or tap:IFNAME"),
    ("user:x", "expected user, tap or tap:IFNAME"),
    ("tap:a-name-far-too-long", "is not an interface name"),
    ("tap:a,b", "is not an interface name"),
])
def test_bad_net_is_a_usage_error(runner, project_from, bad, says):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["run", "-C", str(proj), "--net", bad])
    assert r.exit_code == 2 and says in r.stderr, r.stderr
    assert not (proj / "build").exists()


def test_tap_netdev_replaces_user_networking(runner, built, fake_run, monkeypatch):
    checked = []
    monkeypatch.setattr(hostnet, "check_tap", checked.append)
    r = invoke(runner, built, "--net", "tap:uc-lab1")
    assert r.exit_code == 0, r.stderr
    assert checked == ["uc-lab1"]
    cmd = fake_run["cmd"]
    assert cmd[cmd.index("-netdev") + 1] == "tap,id=net0,ifname=uc-lab1,script=no,downscript=no"
    assert "virtio-net-pci,netdev=net0,romfile=" in cmd


def test_missing_tap_says_how_to_make_it(runner, built):
    r = invoke(runner, built, "--net", "tap:uc-nosuch9")
    assert r.exit_code == 1
    line = r.stderr.strip()
    assert line.startswith("error: --net tap:uc-nosuch9: no network device uc-nosuch9; "
                           "create it as root: ip tuntap add dev uc-nosuch9 mode tap user "), line
    assert "\n" not in line


def test_tap_with_forward_is_refused(runner, project_from):
    proj = project_from("valid.toml")
    r = runner.invoke(cli, ["run", "-C", str(proj), "--net", "tap", "--forward", "8080:80"])
    assert r.exit_code == 2
    assert "--forward works with --net user only" in r.stderr
    assert not (proj / "build").exists()


def test_check_tap_without_tun_flags_or_of_tun_kind(tmp_path):
    (tmp_path / "eth9").mkdir()
    with pytest.raises(Exception, match="eth9 is not a tap device"):
        hostnet.check_tap("eth9", sys_net=tmp_path)
    (tmp_path / "tun9").mkdir()
    (tmp_path / "tun9" / "tun_flags").write_text("0x1001\n")
    with pytest.raises(Exception, match="tun9 is a tun device"):
        hostnet.check_tap("tun9", sys_net=tmp_path)
    (tmp_path / "tap9").mkdir()
    (tmp_path / "tap9" / "tun_flags").write_text("0x1002\n")
    with pytest.raises(Exception, match=r"cannot open .*nodev: No such file"):
        hostnet.check_tap("tap9", sys_net=tmp_path, tun_device=str(tmp_path / "nodev"))


def test_gdb_port_opens_the_stub_and_says_how_to_attach(runner, built, fake_run):
    r = invoke(runner, built, "--gdb", "4321")
    assert r.exit_code == 0, r.stderr
    assert fake_run["cmd"][-2:] == ["-gdb", "tcp:127.0.0.1:4321"]     # no -S: runs at once
    elf = built / "build" / "qemu-x86_64" / "app.elf"
    assert (f"unicycle: gdbstub on 127.0.0.1:4321; attach with: gdb {elf} -ex "
            f"'target remote 127.0.0.1:4321'") in r.stderr


def test_gdb_without_port_picks_a_free_one(runner, built, fake_run):
    r = invoke(runner, built, "--gdb")
    assert r.exit_code == 0, r.stderr
    port = fake_run["spec"].gdb_port
    assert port and fake_run["cmd"][-1] == f"tcp:127.0.0.1:{port}"


def test_busy_gdb_port_is_one_line(runner, built):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = invoke(runner, built, "--gdb", str(port))
    assert r.exit_code == 2
    assert r.stderr.strip() == (f"error: --gdb {port}: cannot listen on 127.0.0.1:{port}: "
                                f"Address already in use")


def test_kvm_without_the_device(runner, built, monkeypatch, tmp_path):
    monkeypatch.setattr(kvm, "KVM_DEVICE", str(tmp_path / "kvm"))
    r = invoke(runner, built, "--kvm")
    assert r.exit_code == 1
    assert r.stderr.strip() == (f"error: --kvm: no {tmp_path / 'kvm'}: the kernel has no KVM "
                                f"(modprobe kvm_intel or kvm_amd), or this is a VM without "
                                f"nested virtualization")


def test_kvm_device_that_is_not_kvm(runner, built, monkeypatch):
    monkeypatch.setattr(kvm, "KVM_DEVICE", os.devnull)
    r = invoke(runner, built, "--kvm")
    assert r.exit_code == 1
    assert r.stderr.strip() == ("error: --kvm: /dev/null is not a KVM device "
                                "(KVM_GET_API_VERSION: Inappropriate ioctl for device)")


def test_kvm_test_boot_failure_is_one_line(runner, built, monkeypatch, fake_run):
    monkeypatch.setattr(kvm, "_open_and_ask", lambda device: None)
    monkeypatch.setattr(kvm, "test_boot", lambda accel="kvm": "a test boot failed: boom")
    r = invoke(runner, built, "--kvm")
    assert r.exit_code == 1 and "spec" not in fake_run
    assert r.stderr.strip() == ("error: --kvm: KVM does not work here: a test boot failed: "
                                "boom; run without --kvm (TCG)")


# What QEMU printed on this project's CI machine (nested KVM) with -accel kvm -cpu host, and
# with -cpu host,-arch-capabilities, booting the probe firmware.
MSR_ABORT = ("qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n"
             "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: "
             "Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n")
INTERNAL = "KVM internal error. Suberror: 1\nextra data[0]: 0x0000000000000001\nemulation failure\n"


def test_kvm_reasons():
    assert kvm._reason(-6, MSR_ABORT) == ("a test boot failed: qemu-system-x86_64: error: "
                                          "failed to set MSR 0x10a to 0x69")
    assert kvm._reason(None, INTERNAL).startswith(
        "a test boot stopped with 'KVM internal error' (emulation failure) at its first x87/SSE")
    assert kvm._reason(None, "") == "a test boot did not finish within 5 s"


def test_probe_rom_layout():
    rom = kvm.probe_rom()
    assert len(rom) == 0x10000
    assert rom[0xFFF0:0xFFF3] == bytes([0xE9, 0x0D, 0x00])     # jmp 0x0000 from 0xFFF3
    assert rom[:2] == bytes([0xDB, 0xE3])                       # fninit


@pytest.mark.qemu
def test_probe_firmware_boots_under_tcg():
    """The probe is a real guest: under TCG it writes its status and QEMU exits with it."""
    assert kvm.test_boot("tcg") is None


def test_keep_nvram_keeps_the_firmware_variables_between_runs(runner, built, fake_run):
    """A fresh copy of OVMF's variables each run, or the last run's with --keep-nvram (where
    the signed payloads' rollback floor lives, as in a board's NVRAM)."""
    out = built / "build" / "qemu-x86_64"
    (out / "unicycle.img").write_bytes(b"x")
    args = ["run", "-C", str(built), "-b", "qemu-x86_64", "--no-build"]
    assert runner.invoke(cli, args).exit_code == 0
    nvram = out / os.path.basename(qemu.OVMF_VARS)
    nvram.write_bytes(b"variables the firmware wrote")
    r = runner.invoke(cli, [*args, "--keep-nvram"])
    assert r.exit_code == 0, r.stderr
    assert fake_run["spec"].keep_nvram and nvram.read_bytes() == b"variables the firmware wrote"
    assert runner.invoke(cli, args).exit_code == 0
    assert nvram.read_bytes() == open(qemu.OVMF_VARS, "rb").read()
    r = runner.invoke(cli, [*args, "--keep-nvram", "--direct"])
    assert r.exit_code == 2 and "direct boot runs no firmware" in r.stderr
