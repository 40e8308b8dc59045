"""`unicycle serve` end to end on a LAN of its own: a network namespace made
here (a bridge at 10.77.0.1/24, one tap device per guest, a plain dnsmasq as
the LAN's DHCP server handing out 10.77.0.50-99), `unicycle serve` adding
PXE (proxy DHCP) and TFTP on the bridge, two QEMU guests PXE-booting a small
app, signed with the project's key (each guest checks the signature), at the same time, then a rebuild while serve keeps running and a third
boot that must get the new build. A second test runs `serve --watch` and
edits a source. All traffic stays inside the namespace; deleting it removes
the bridge and the taps.

The project lives under a folder whose name holds a comma, inside pytest's
0700 temporary folder: dnsmasq (which splits --tftp-root at a comma, and runs
as `nobody`, who cannot enter that folder) must still serve it.

Needs root (ip netns, tap devices); skipped otherwise.
Boots through OVMF on purpose: PXE against `unicycle serve` is what is tested.
"""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import wait_until
from helpers import new_project, unicycle

pytestmark = pytest.mark.qemu

BRIDGE = "ucbr0"
BRIDGE_ADDR = "10.77.0.1/24"
LAN_RANGE = "10.77.0.50,10.77.0.99,255.255.255.0,10m"
MACS = ("52:54:00:77:00:01", "52:54:00:77:00:02")
BOOT_TIMEOUT = 150         # one TCG guest: OVMF + PXE + TFTP + the app, ~20-40 s


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                          timeout=20)


class Namespace:
    """A network namespace with a bridge (BRIDGE_ADDR) and tap devices on it."""

    def __init__(self, taps):
        self.name = f"uc-nb-{os.getpid()}"
        self.taps = list(taps)
        self.procs: list[tuple[subprocess.Popen, object]] = []

    def create(self):
        if os.geteuid() != 0:
            pytest.skip("needs root: creates a network namespace, a bridge and tap devices")
        _ip("netns", "del", self.name, check=False)
        r = _ip("netns", "add", self.name, check=False)
        if r.returncode != 0:
            pytest.skip(f"`ip netns add` failed: {r.stderr.strip()}")
        try:
            n = ["-n", self.name]
            _ip(*n, "link", "set", "lo", "up")
            _ip(*n, "link", "add", BRIDGE, "type", "bridge")
            # Forward at once (no STP listening/learning delay on the new ports).
            _ip(*n, "link", "set", BRIDGE, "type", "bridge", "forward_delay", "0", "stp_state",
                "0")
            _ip(*n, "addr", "add", BRIDGE_ADDR, "dev", BRIDGE)
            _ip(*n, "link", "set", BRIDGE, "up")
            for tap in self.taps:
                _ip(*n, "tuntap", "add", "dev", tap, "mode", "tap")
                _ip(*n, "link", "set", tap, "master", BRIDGE)
                _ip(*n, "link", "set", tap, "up")
        except Exception as e:
            self.delete()
            pytest.skip(f"cannot set up the bridge and taps in {self.name}: "
                        f"{getattr(e, 'stderr', '') or e}")
        return self

    def wrap(self, cmd):
        return ["ip", "netns", "exec", self.name, *map(str, cmd)]

    def start(self, cmd, log: Path, **kw) -> subprocess.Popen:
        """Run cmd inside the namespace in its own process group, output into log."""
        out = open(log, "wb")
        p = subprocess.Popen(self.wrap(cmd), stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True, **kw)
        self.procs.append((p, out))
        return p

    def stop(self, p: subprocess.Popen, sig=signal.SIGTERM, timeout=10):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
            except ProcessLookupError:
                pass

    def delete(self):
        for p, out in reversed(self.procs):
            self.stop(p)
            out.close()
        self.procs.clear()
        _ip("netns", "del", self.name, check=False)


def _lan_dhcp(ns: Namespace, tmp: Path) -> subprocess.Popen:
    """The LAN's own DHCP server (addresses only, no PXE, no DNS)."""
    return ns.start(["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--pid-file",
                     "--log-facility=-", "--port=0", f"--interface={BRIDGE}",
                     "--bind-interfaces", "--except-interface=lo",
                     f"--dhcp-range={LAN_RANGE}", f"--dhcp-leasefile={tmp / 'lan.leases'}"],
                    tmp / "lan-dhcp.log")


def _serve(ns: Namespace, proj: Path, tmp: Path, *extra) -> tuple[subprocess.Popen, Path]:
    log = tmp / "serve.log"
    p = ns.start([sys.executable, "-m", "unicycle", "serve", "-C", proj, "--interface",
                  BRIDGE, *extra], log, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    return p, log


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _serving(p: subprocess.Popen, log: Path, timeout=180):
    ok = wait_until(lambda: "serving " in _text(log) or p.poll() is not None, timeout)
    assert ok and p.poll() is None, f"serve did not start:\n{_text(log)[-3000:]}"


def _set_marker(proj: Path, marker: str):
    (proj / "src" / "main.c").write_text(
        "/* main.c: prints a build marker, then exits 0. */\n"
        "#include <unicycle/unicycle.h>\n\n"
        "int app_main(void)\n{\n"
        f"\tuc_printf(\"netboot marker: {marker}\\n\");\n"
        "\treturn 0;\n}\n")


class Guest:
    """QEMU PXE-booting over a tap in the namespace; serial into a file."""

    def __init__(self, ns: Namespace, tap: str, mac: str, workdir: Path, project: Path):
        from unicycle import build, qemu
        workdir.mkdir(parents=True, exist_ok=True)
        self.mac = mac
        self.log = workdir / "serial.log"
        spec = qemu.spec_for(build.open_project(project), boot="net", workdir=workdir, mac=mac,
                             netdev=f"tap,id=net0,ifname={tap},script=no,downscript=no")
        cmd = qemu.command(spec)
        self.proc = ns.start(cmd, self.log)

    def serial(self) -> str:
        return _text(self.log)

    def wait(self, timeout) -> int | None:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


def _check_guest(g: Guest, status, marker: str):
    log = g.serial()
    assert status == 1, f"{g.mac}: QEMU exit {status} (1 = app returned 0)\n{log[-3000:]}"
    assert "boot from net" in log, log[-3000:]
    assert "size and SHA-256 match" in log, log[-3000:]
    assert "payload.cfg: signature valid" in log, log[-3000:]     # serve hands out signed builds
    assert f"netboot marker: {marker}" in log, log[-3000:]


def _dnsmasq_user(serve: subprocess.Popen) -> str:
    """The user the dnsmasq that `unicycle serve` started runs as."""
    r = subprocess.run(["ps", "-o", "user=,comm=", "--ppid", str(serve.pid)],
                       capture_output=True, text=True, timeout=10)
    users = [line.split()[0] for line in r.stdout.splitlines() if line.split()[1:] == ["dnsmasq"]]
    assert len(users) == 1, r.stdout
    return users[0]


@pytest.fixture
def project(tmp_path):
    parent = tmp_path / "lan,one"
    parent.mkdir()
    proj = new_project(parent, "nbapp")
    unicycle("keys", "generate", "-C", proj, "--out", tmp_path / "keys" / "nbapp.pem", check=True)
    _set_marker(proj, "build-one")
    return proj


def test_serve_boots_two_guests_and_a_rebuild(project, tmp_path):
    ns = Namespace(["uctap0", "uctap1"]).create()
    try:
        lan = _lan_dhcp(ns, tmp_path)
        serve, serve_log = _serve(ns, project, tmp_path)
        _serving(serve, serve_log)           # serve builds first
        assert lan.poll() is None, _text(tmp_path / "lan-dhcp.log")
        assert _dnsmasq_user(serve) == "nobody"     # LAN-facing code does not keep root
        link = project / "build" / "qemu-x86_64" / "netboot"
        first_tree = os.readlink(link)

        t0 = time.monotonic()
        guests = [Guest(ns, f"uctap{i}", mac, tmp_path / f"guest{i}", project)
                  for i, mac in enumerate(MACS)]
        statuses = [g.wait(BOOT_TIMEOUT) for g in guests]
        both = time.monotonic() - t0
        for g, st in zip(guests, statuses):
            _check_guest(g, st, "build-one")
        print(f"two concurrent PXE boots: {both:.1f} s")

        # serve logged each boot with its MAC and the files it sent.
        wait_until(lambda: all(f"of {m} (" in _text(serve_log) for m in MACS), 10)
        out = _text(serve_log)
        for mac in MACS:
            assert re.search(rf"boot #1 of {mac} \(10\.77\.0\.\d+\): app\.elf \d+ bytes sent",
                             out), out[-3000:]
            booted = re.search(rf"{mac}\s+10\.77\.0\.\d+\s+unicycle/app\.elf\s+\d+\s+booted",
                               out)
            assert booted, out[-3000:]
            # progress while OVMF's PXE client loaded app.elf, before dnsmasq's "sent"
            loading = re.search(rf"{mac}\s+10\.77\.0\.\d+\s+unicycle/app\.elf\s+(\d+)\s+"
                                r"loading (\d+)%", out)
            assert loading and loading.start() < booted.start(), out[-3000:]
            assert 0 < int(loading.group(1)) and int(loading.group(2)) < 100, loading.group(0)
        assert "?10.77" not in out, out[-3000:]      # every row keyed by its MAC

        # Rebuild with a new marker while serve runs: the next boot gets it.
        _set_marker(project, "build-two")
        unicycle("build", "-C", project, check=True, timeout=300)
        assert os.readlink(link) != first_tree
        g = Guest(ns, "uctap0", MACS[0], tmp_path / "guest-after-rebuild", project)
        _check_guest(g, g.wait(BOOT_TIMEOUT), "build-two")
        assert "build-one" not in g.serial()
        assert wait_until(lambda: f"boot #2 of {MACS[0]} (" in _text(serve_log), 10), \
            _text(serve_log)[-3000:]

        # SIGTERM: serve stops dnsmasq and prints the table.
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=15) == 0, _text(serve_log)[-3000:]
        out = _text(serve_log)
        final = out.split("stopping dnsmasq", 1)[1].strip().splitlines()
        assert final[0].split()[1:3] == ["MAC", "IP"], out[-2000:]
        assert sorted(r.split()[1] for r in final[1:]) == sorted(MACS), out[-2000:]
    finally:
        ns.delete()


def test_serve_watch_rebuilds(project, tmp_path):
    ns = Namespace([]).create()
    try:
        serve, serve_log = _serve(ns, project, tmp_path, "--watch")
        _serving(serve, serve_log)
        link = project / "build" / "qemu-x86_64" / "netboot"
        before = os.readlink(link)
        time.sleep(1.1)                   # a new mtime, even on coarse-grained filesystems
        _set_marker(project, "watched")
        assert wait_until(lambda: "rebuilt; the next boot gets the new payload" in _text(serve_log)
                     or serve.poll() is not None, 120), _text(serve_log)[-3000:]
        assert "sources changed: rebuilding" in _text(serve_log)
        assert os.readlink(link) != before
        assert b"netboot marker: watched" in (link / "unicycle" / "app.elf").read_bytes()
    finally:
        ns.delete()
