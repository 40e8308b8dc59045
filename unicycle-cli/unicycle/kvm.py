"""`unicycle run --kvm`: does KVM work here? Checked before anything is built, said in one line.

Three steps, each naming what failed:
1. open /dev/kvm (missing: no KVM module or a VM without nested virtualization; not allowed:
   the user is not in group kvm);
2. the KVM_GET_API_VERSION ioctl answers KVM_API_VERSION (12) (the kernel's
   Documentation/virt/kvm/api.rst, 4.1);
3. a test boot: QEMU with -accel kvm and the CPU model `run` uses starts a 64 KiB firmware
   of our own that runs one x87 and one SSE instruction and writes a status to isa-debug-exit.
   Nested KVM can pass 1 and 2 and still fail here: QEMU aborts setting up the vCPU ("failed
   to set MSR ...") or KVM stops at the first FPU instruction with "KVM internal error"
   (emulation failure), which is where OVMF and the runtime would stop too.
"""
import errno
import fcntl
import os
import subprocess
import tempfile
import time
from pathlib import Path

from . import tools
from .errors import RunError

KVM_DEVICE = "/dev/kvm"
KVM_GET_API_VERSION = 0xAE00       # _IO(KVMIO = 0xAE, 0x00), linux/kvm.h
KVM_API_VERSION = 12
PROBE_CPU = "host"                 # what qemu.command uses with -accel kvm
PROBE_SECONDS = 5.0
PROBE_STATUS = 5                   # what the probe firmware writes to isa-debug-exit
PROBE_PORT = 0xF4
ROM_SIZE = 0x10000                 # QEMU takes -bios files in multiples of 64 KiB
RESET_OFFSET = 0xFFF0              # the reset vector F000:FFF0 is the ROM's last 16 bytes

# Real-mode code at the ROM's start (CS base 0xFFFF0000 after reset, SDM Vol. 3A sec 9.1.4):
PROBE_CODE = bytes([
    0xDB, 0xE3,                          # fninit: the x87 unit runs (CR0.EM = 0 at reset)
    0x0F, 0x20, 0xE0,                    # mov eax, cr4
    0x66, 0x0D, 0x00, 0x06, 0x00, 0x00,  # or eax, CR4.OSFXSR | CR4.OSXMMEXCPT (bits 9, 10)
    0x0F, 0x22, 0xE0,                    # mov cr4, eax
    0x0F, 0x12, 0xC8,                    # movhlps xmm1, xmm0: an SSE instruction
    0xB0, PROBE_STATUS,                  # mov al, PROBE_STATUS
    0xE6, PROBE_PORT,                    # out PROBE_PORT, al: isa-debug-exit ends QEMU
    0xF4,                                # hlt (not reached)
    0xEB, 0xFD,                          # jmp back to the hlt
])
# At F000:FFF0: jmp near 0x0000 (E9 rel16, relative to the next instruction at 0xFFF3).
RESET_JUMP = bytes([0xE9]) + ((0x0000 - (RESET_OFFSET + 3)) & 0xFFFF).to_bytes(2, "little")


def probe_rom() -> bytes:
    """The 64 KiB test firmware: PROBE_CODE at offset 0, the jump to it at the reset vector."""
    rom = bytearray(b"\xF4" * ROM_SIZE)
    rom[:len(PROBE_CODE)] = PROBE_CODE
    rom[RESET_OFFSET:RESET_OFFSET + len(RESET_JUMP)] = RESET_JUMP
    return bytes(rom)


def check(device: str | None = None):
    """Raise RunError saying in one line why KVM cannot run the guest here."""
    _open_and_ask(device or KVM_DEVICE)
    error = test_boot("kvm")
    if error:
        raise RunError(f"--kvm: KVM does not work here: {error}; run without --kvm (TCG)")


def _open_and_ask(device: str):
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise RunError(f"--kvm: no {device}: the kernel has no KVM (modprobe kvm_intel or "
                           f"kvm_amd), or this is a VM without nested virtualization") from None
        if e.errno in (errno.EACCES, errno.EPERM):
            raise RunError(f"--kvm: cannot open {device}: permission denied (add the user to "
                           f"group kvm: adduser $USER kvm, then log in again)") from None
        raise RunError(f"--kvm: cannot open {device}: {e.strerror}") from None
    try:
        version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
    except OSError as e:
        raise RunError(f"--kvm: {device} is not a KVM device (KVM_GET_API_VERSION: "
                       f"{e.strerror})") from None
    finally:
        os.close(fd)
    if version != KVM_API_VERSION:
        raise RunError(f"--kvm: {device} speaks KVM API version {version}, QEMU needs "
                       f"{KVM_API_VERSION}")


def test_boot(accel: str = "kvm") -> str | None:
    """Boot the probe firmware with `accel`; None if it wrote its status, else why not."""
    qemu = tools.find("qemu-system-x86_64")
    if qemu is None:
        return "no test boot: qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
    with tempfile.TemporaryDirectory(prefix="unicycle-kvm-") as tmp:
        rom = Path(tmp) / "probe.rom"
        rom.write_bytes(probe_rom())
        errfile = Path(tmp) / "stderr"
        cmd = [qemu, "-accel", accel, "-machine", "q35",
               "-cpu", PROBE_CPU if accel == "kvm" else "max", "-m", "16", "-nodefaults",
               "-display", "none", "-monitor", "none", "-serial", "none", "-no-reboot",
               "-bios", str(rom), "-device", f"isa-debug-exit,iobase={PROBE_PORT:#x},iosize=1"]
        with open(errfile, "wb") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, start_new_session=True)
        status = _wait(proc, errfile)
        text = errfile.read_text(errors="replace")
    if status == (PROBE_STATUS << 1) | 1:
        return None
    return _reason(status, text)


def _wait(proc, errfile: Path) -> int | None:
    """QEMU's exit status, or None when it hung (stopped after PROBE_SECONDS)."""
    end = time.monotonic() + PROBE_SECONDS
    while time.monotonic() < end:
        if proc.poll() is not None:
            return proc.returncode
        # KVM stops the vCPU on an internal error and QEMU waits: no reason to wait on.
        if b"KVM internal error" in errfile.read_bytes():
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    return None


def _reason(status: int | None, stderr: str) -> str:
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    if any("KVM internal error" in l for l in lines):
        return ("a test boot stopped with 'KVM internal error' (emulation failure) at its first "
                "x87/SSE instruction, as OVMF and the runtime would (typical of nested KVM)")
    errors = [l for l in lines if "error" in l.lower()]
    if errors:
        return f"a test boot failed: {errors[0]}"
    if status is None:
        return f"a test boot did not finish within {PROBE_SECONDS:g} s"
    return f"a test boot ended with QEMU exit {status}" + (f": {lines[-1]}" if lines else "")
