"""Helpers for integration tests: run the real `unicycle` command in a subprocess."""
import contextlib
import ctypes
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def unicycle(*args, cwd=None, timeout=600, check=False):
    """Run `python -m unicycle ARGS`; returns CompletedProcess with text output."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "unicycle", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"unicycle {' '.join(map(str, args))} exited {proc.returncode}:\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def new_project(tmp_path, name="demoapp", template="hello") -> Path:
    unicycle("new", name, "--template", template, cwd=tmp_path, check=True)
    return tmp_path / name


def http_hello(dst: Path, static: tuple[str, str] | None = None) -> Path:
    """examples/http-hello copied to `dst` (not built); with `static` = (guest, gateway),
    the guest gets that /24 address instead of DHCP (a tap in a namespace has no DHCP)."""
    shutil.copytree(ROOT / "examples" / "http-hello", dst, ignore=shutil.ignore_patterns("build"))
    if static:
        toml = dst / "unicycle.toml"
        toml.write_text(toml.read_text() + f'\n[network]\nmode = "static"\n'
                        f'address = "{static[0]}/24"\ngateway = "{static[1]}"\n')
    return dst


NICS = {"virtio-net": "virtio-net-pci", "e1000e": "e1000e"}


class Guest:
    """A built project in QEMU, in the background, serial to a log file. Booted directly
    (PVH, no firmware: a fraction of a second) unless `boot` says otherwise ("disk":
    OVMF and the image, for tests of the firmware path)."""

    def __init__(self, app: Path, nic: str = "virtio-net", netdev=None, forwards=(), prefix=(),
                 boot: str = "direct", machine: str | None = None, disks=()):
        """`disks`: unicycle.disks.Disk values to attach (their files must exist)."""
        from unicycle import build as build_mod, qemu
        proj = build_mod.open_project(app)
        build = proj.build_dir
        spec = qemu.spec_for(proj, boot=boot, nic=NICS[nic], forwards=list(forwards),
                             netdev=netdev, machine=machine, disks=list(disks) or None)
        self.log = build / f"serial-{nic}.log"
        self.proc = subprocess.Popen([*prefix, *qemu.command(spec)], stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)

    def serial(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text, timeout=90):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.serial():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise AssertionError(f"{text!r} not on the console:\n{self.serial()[-3000:]}")

    def stop(self):
        from unicycle import qemu
        qemu._stop(self.proc)


@contextlib.contextmanager
def tap_netns(prefix: str, tap: str, host_cidr: str):
    """A network namespace holding tap device `tap` with `host_cidr` on it;
    skips the test without root or namespaces. Yields the namespace name."""
    import pytest
    if os.geteuid() != 0:
        pytest.skip("needs root for a network namespace and a tap device")
    ns = f"{prefix}-{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode != 0:
        pytest.skip("ip netns add failed: network namespaces unavailable here")
    try:
        def sh(*cmd):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True, capture_output=True)
        sh("ip", "link", "set", "lo", "up")
        sh("ip", "tuntap", "add", "dev", tap, "mode", "tap")
        sh("ip", "addr", "add", host_cidr, "dev", tap)
        sh("ip", "link", "set", tap, "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


CLONE_NEWNET = 0x40000000


def ns_socket(ns: str, family=socket.AF_INET, kind=socket.SOCK_STREAM) -> socket.socket:
    """A socket that lives in namespace `ns` (a socket keeps the namespace it was
    created in)."""
    return ns_call(ns, lambda: socket.socket(family, kind))


def ns_connect(ns: str, source: str, dest, timeout: float) -> socket.socket:
    """A TCP connection from `source` to `dest` (host, port) made inside namespace `ns`."""
    s = ns_socket(ns)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(dest)
    return s


def recv_all(s: socket.socket) -> bytes:
    """Everything until the peer closes."""
    out = bytearray()
    while b := s.recv(65536):
        out += b
    return bytes(out)


def ns_call(ns: str, fn):
    """fn() run by a thread that entered namespace `ns`; returns its result.
    Sockets it makes (an AF_PACKET socket on a tap, say) stay in `ns`."""
    out = {}

    def run():
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                out["err"] = OSError(ctypes.get_errno(), "setns")
                return
        finally:
            os.close(fd)
        try:
            out["value"] = fn()
        except BaseException as e:   # handed to the caller's thread
            out["err"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "err" in out:
        raise out["err"]
    return out["value"]
