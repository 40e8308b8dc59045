"""Netboot under QEMU: OVMF PXE-boots BOOTX64.EFI from build/<board>/netboot/
(QEMU's own DHCP + TFTP, no disk attached), the bootloader fetches payload.cfg,
boot.cfg and app.elf, checks them and boots examples/http-hello; a corrupted
app.elf is refused, and one larger than payload.cfg says is refused before it
is fetched.
Boots through OVMF on purpose: its PXE client and the bootloader's TFTP path are what is tested."""
import hashlib
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from helpers import ROOT, unicycle

pytestmark = pytest.mark.qemu

PAGE = b"<html><body><h1>Hello, World!</h1></body></html>"
BLOAT = 24 << 20           # bytes appended to app.elf: several seconds over user-net TFTP


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    """examples/http-hello copied into tmp and built once."""
    proj = tmp_path_factory.mktemp("netboot") / "http-hello"
    shutil.copytree(ROOT / "examples" / "http-hello", proj,
                    ignore=shutil.ignore_patterns("build"))
    unicycle("build", "-C", proj, check=True, timeout=900)
    return proj


class Guest:
    """One QEMU PXE-booting from a netdev; serial console into a file."""

    def __init__(self, netdev, workdir: Path, project: Path):
        from unicycle import build, qemu
        self.log = workdir / "serial.log"
        spec = qemu.spec_for(build.open_project(project), boot="net", netdev=netdev,
                             workdir=workdir)
        self.cmd = qemu.command(spec)
        self.out = open(self.log, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def serial(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text, timeout) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.serial():
                return True
            if self.proc.poll() is not None:
                return text in self.serial()
            time.sleep(0.5)
        return False

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.out.close()


def _user_netdev(root: Path, port: int) -> str:
    return (f"user,id=net0,tftp={root},bootfile=BOOTX64.EFI,"
            f"hostfwd=tcp:127.0.0.1:{port}-:80")


def _get(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def test_netboot_dir_layout(hello):
    from unicycle import netboot
    out = hello / "build" / "qemu-x86_64"
    nb = out / "netboot"
    assert nb.is_symlink()
    for f in ("BOOTX64.EFI", "unicycle/app.elf", "unicycle/boot.cfg", "unicycle/payload.cfg"):
        assert (nb / f).is_file(), f
    assert not (nb / "unicycle" / "payload.sig").exists()     # no key: unsigned
    m = netboot.parse_manifest((nb / "unicycle" / "payload.cfg").read_text())
    elf, cfg = (out / "app.elf").read_bytes(), (out / "boot.cfg").read_bytes()
    assert int(m.pop("rollback")) > 1_700_000_000
    assert m == {"version": "2", "size": str(len(elf)),
                 "sha256": hashlib.sha256(elf).hexdigest(), "config-size": str(len(cfg)),
                 "config-sha256": hashlib.sha256(cfg).hexdigest()}
    # A rebuild switches the link to a new complete tree.
    before = os.readlink(nb)
    netboot.package(out / "BOOTX64.EFI", out / "app.elf", out / "boot.cfg", out / "payload.cfg",
                    out)
    assert os.readlink(nb) != before
    assert (nb / "unicycle" / "payload.cfg").is_file()


def test_qemu_user_net_pxe(hello, tmp_path):
    from unicycle import qemu
    port = qemu.free_port()
    root = hello / "build" / "qemu-x86_64" / "netboot"
    g = Guest(_user_netdev(root, port), tmp_path, hello)
    try:
        body = None
        end = time.monotonic() + 180
        while time.monotonic() < end and g.proc.poll() is None:
            if "http listening" in g.serial():
                try:
                    status, body = _get(f"http://127.0.0.1:{port}/")
                    break
                except OSError:
                    pass
            time.sleep(0.5)
        log = g.serial()
        assert body == PAGE, log[-3000:]
        assert status == 200
        assert "network boot: this machine 10.0.2.15, boot server 10.0.2.2" in log
        assert "unicycle/app.elf, " in log and " bytes received" in log
        assert "size and SHA-256 match" in log
        assert "boot from net" in log
    finally:
        g.stop()


def test_corrupted_payload_is_refused(hello, tmp_path):
    from unicycle import qemu
    root = tmp_path / "netboot"
    shutil.copytree(hello / "build" / "qemu-x86_64" / "netboot", root, symlinks=False)
    elf = root / "unicycle" / "app.elf"
    data = bytearray(elf.read_bytes())
    data[len(data) // 2] ^= 0x40
    elf.write_bytes(bytes(data))
    g = Guest(_user_netdev(root, qemu.free_port()), tmp_path, hello)
    try:
        refused = g.wait_for("not jumping", 120)
        time.sleep(1)
        log = g.serial()
        assert refused, log[-3000:]
        assert "SHA-256 mismatch" in log
        assert "boot from net" not in log and "jumping to" not in log
    finally:
        g.stop()


def test_app_larger_than_payload_says_is_refused_before_fetching(hello, tmp_path):
    """app.elf bloated past the size payload.cfg announces: the loader compares
    the server's tsize with that limit and refuses without downloading it."""
    from unicycle import netboot, qemu
    root = tmp_path / "netboot"
    shutil.copytree(hello / "build" / "qemu-x86_64" / "netboot", root, symlinks=False)
    elf = root / "unicycle" / "app.elf"
    announced = int(netboot.parse_manifest((root / "unicycle" / "payload.cfg").read_text())
                    ["size"])
    with open(elf, "ab") as f:
        f.write(os.urandom(BLOAT))
    bloated = elf.stat().st_size
    g = Guest(_user_netdev(root, qemu.free_port()), tmp_path, hello)
    try:
        asked = g.wait_for("unicycle/app.elf is ", 120)
        t0 = time.monotonic()
        refused = g.wait_for("not jumping", 60)
        after = time.monotonic() - t0
        log = g.serial()
        assert asked and refused, log[-3000:]
        assert (f"unicycle/app.elf is {bloated} bytes, more than the {announced} allowed: "
                f"not fetching it") in log, log[-3000:]
        # Neither attempt (payload.cfg is fetched again once) downloaded it:
        # no "tftp ...: unicycle/app.elf, N bytes" nor "N of N bytes received".
        assert "unicycle/app.elf, " not in log, log[-3000:]
        assert log.count(f"unicycle/app.elf is {bloated} bytes") == 2, log[-3000:]
        assert "boot from net" not in log and "jumping to" not in log
        print(f"refused {bloated} bytes; the retry and refusal took {after:.1f} s")
    finally:
        g.stop()
