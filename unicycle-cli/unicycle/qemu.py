"""Running an image in QEMU (TCG) with OVMF, and reading the app's exit status.

The app's uc_exit(status) reaches isa-debug-exit, which ends QEMU with
(status << 1) | 1; any other QEMU exit code means the guest did not exit
through the runtime (a crash, a reset with -no-reboot, QEMU failing).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import RunError, SetupError

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"
NICS = {"virtio-net": "virtio-net-pci", "virtio-net-modern": "virtio-net-pci,disable-legacy=on",
        "e1000e": "e1000e", "e1000": "e1000", "none": None}


@dataclass
class RunSpec:
    image: Path
    workdir: Path                      # where the OVMF vars copy lives
    machine: str = "q35"
    cpu: str = "max"
    memory_mib: int = 512
    smp: int = 1
    nic: str | None = "virtio-net-pci"
    exit_device: str | None = None
    forwards: list = field(default_factory=list)   # [(host_port, guest_port)] tcp on 127.0.0.1
    netdev: str | None = None          # full -netdev override (e.g. tap)
    usb: bool = False                  # attach the image as a USB stick (xhci)
    kvm: bool = False
    extra: list = field(default_factory=list)


def command(spec: RunSpec) -> list[str]:
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise SetupError("qemu-system-x86_64 not found: install qemu-system-x86 (make deps)")
    for f in (OVMF_CODE, OVMF_VARS):
        if not os.path.isfile(f):
            raise SetupError(f"{f} not found: install the Debian package ovmf (make deps)")
    if not Path(spec.image).is_file():
        raise RunError(f"{spec.image}: no image; run `unicycle build` first")
    vars_copy = Path(spec.workdir) / "OVMF_VARS.fd"
    vars_copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OVMF_VARS, vars_copy)
    accel = "kvm" if spec.kvm else "tcg"
    cmd = [qemu, "-accel", accel, "-machine", spec.machine, "-cpu",
           "host" if spec.kvm else spec.cpu, "-m", str(spec.memory_mib), "-smp", str(spec.smp),
           "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
           "-drive", f"if=pflash,format=raw,readonly=on,file={OVMF_CODE}",
           "-drive", f"if=pflash,format=raw,file={vars_copy}"]
    if spec.usb:
        cmd += ["-drive", f"if=none,id=stick,format=raw,file={spec.image}",
                "-device", "qemu-xhci,id=xhci", "-device", "usb-storage,bus=xhci.0,drive=stick"]
    else:
        cmd += ["-drive", f"format=raw,file={spec.image}"]
    if spec.exit_device:
        cmd += ["-device", spec.exit_device]
    if spec.nic:
        if spec.netdev:
            cmd += ["-netdev", spec.netdev]
        else:
            fwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-:{g}" for h, g in spec.forwards)
            cmd += ["-netdev", f"user,id=net0{fwd}"]
        # romfile= leaves out QEMU's iPXE option ROM: OVMF has its own
        # drivers for these NICs, and loading iPXE costs ~1 s under TCG.
        rom = "" if "romfile=" in spec.nic else ",romfile="
        cmd += ["-device", f"{spec.nic},netdev=net0{rom}"]
    else:
        cmd += ["-nic", "none"]
    return cmd + list(spec.extra)


@dataclass
class Outcome:
    qemu_status: int | None
    app_status: int | None      # None: the app did not exit through the runtime
    timed_out: bool
    seconds: float


def decode_status(qemu_status: int, has_exit_device: bool) -> int | None:
    if has_exit_device and qemu_status > 0 and qemu_status & 1:
        return qemu_status >> 1
    return None


def _pump(src, dst, symbolizer):
    """Copy the guest's console to `dst`, adding symbolized lines after fault
    reports. Reads in chunks so prompts without a newline show at once."""
    pending = b""
    while True:
        chunk = os.read(src.fileno(), 4096)
        if not chunk:
            break
        *lines, tail = chunk.split(b"\n")
        for line in lines:
            dst.write(line + b"\n")
            full = (pending + line).decode(errors="replace")
            pending = b""
            extra = symbolizer.annotate(full)
            if extra:
                dst.write(("\n".join(extra) + "\n").encode())
        dst.write(tail)
        dst.flush()
        pending = (pending + tail)[-4096:]


def run(spec: RunSpec, timeout: float | None = None, stdout=None, elf: Path | None = None) -> Outcome:
    """Run QEMU with serial on stdout (or `stdout`); stops it at `timeout`.
    With `elf`, code addresses in fault reports are printed as function and file:line."""
    import threading
    from .symbolize import Symbolizer
    cmd = command(spec)
    start = time.monotonic()
    pipe = elf is not None and Path(elf).is_file()
    errfile = tempfile.TemporaryFile()  # a pipe nobody reads could fill and stall QEMU
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if pipe else stdout,
                            stderr=errfile, start_new_session=True)
    pump = None
    if pipe:
        import sys
        dst = stdout if stdout is not None else sys.stdout.buffer
        pump = threading.Thread(target=_pump, args=(proc.stdout, dst, Symbolizer(elf)),
                                daemon=True)
        pump.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop(proc)
    except KeyboardInterrupt:
        _stop(proc)
        raise
    finally:
        if pump:
            pump.join(timeout=5)
    err = _read_back(errfile)
    seconds = time.monotonic() - start
    status = proc.returncode
    if not timed_out and status not in (0, None) and not (spec.exit_device and status & 1):
        msg = err.decode(errors="replace").strip() if err else ""
        if msg:
            raise RunError(f"QEMU failed (exit {status}): {msg.splitlines()[-1]}")
    return Outcome(status, None if timed_out else decode_status(status, bool(spec.exit_device)),
                   timed_out, seconds)


def _read_back(f) -> bytes:
    """QEMU's stderr, collected in a temporary file."""
    f.seek(0)
    data = f.read()
    f.close()
    return data


def _stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def spec_for_board(board, image: Path, workdir: Path, **overrides) -> RunSpec:
    r = board.run
    spec = RunSpec(image=image, workdir=workdir, machine=r.get("machine", "q35"),
                   cpu=r.get("cpu", "max"), memory_mib=r.get("memory-mib", 512),
                   nic=r.get("nic", "virtio-net-pci"), exit_device=r.get("exit-device"),
                   extra=list(r.get("args", [])))
    for k, v in overrides.items():
        if v is not None:
            setattr(spec, k, v)
    return spec


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_and_fetch(spec: RunSpec, host_port: int, path: str, timeout: float,
                  log=print) -> tuple[Outcome, str]:
    """Boot, fetch http://127.0.0.1:host_port/path with curl once the guest
    answers, then stop the guest. Returns the outcome and the response."""
    curl = shutil.which("curl")
    if not curl:
        raise SetupError("curl not found: install the Debian package curl (make deps)")
    cmd = command(spec)
    start = time.monotonic()
    errfile = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=errfile,
                            start_new_session=True)
    url = f"http://127.0.0.1:{host_port}{path}"
    body = None
    try:
        while time.monotonic() - start < timeout:
            if proc.poll() is not None:
                break
            r = subprocess.run([curl, "-sS", "-i", "--max-time", "1", url],
                               capture_output=True, text=True)
            if r.returncode == 0 and r.stdout.startswith("HTTP/"):
                body = r.stdout
                break
            time.sleep(0.2)
    finally:
        running = proc.poll() is None
        _stop(proc)
        err = _read_back(errfile)
    seconds = time.monotonic() - start
    if body is None:
        if not running:
            msg = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
            raise RunError(f"the guest stopped before answering {url} (QEMU exit "
                           f"{proc.returncode}){': ' + msg[0] if msg else ''}")
        raise RunError(f"no HTTP answer from {url} within {timeout:g} s; QEMU stopped")
    return Outcome(proc.returncode, None, False, seconds), body
