"""Running an image in QEMU (TCG) with OVMF, or app.elf directly (PVH), and what its exit means.

Direct boot (`boot="direct"`) starts app.elf with -kernel through its PVH entry, no firmware and
no image: boot.cfg goes along as the first PVH module (-initrd), as the runtime's PVH converter
expects (runtime/include/unicycle/bootinfo.h). On QEMU's microvm machine (no PCI) it is the only
way to boot; QEMU runs it with ACPI off, so that it lists the virtio-mmio devices on the kernel
command line (virtio_mmio.device=size@base:irq words), which is how the runtime finds them.

The app's uc_exit(status) reaches isa-debug-exit, which ends QEMU with
(status << 1) | 1; any other QEMU exit code means the guest did not exit
through the runtime (a crash, a reset with -no-reboot, QEMU failing).
`Outcome.exit_code` is what `unicycle run` exits with.
"""
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import tools
from .errors import InputError, RunError
from .tools import OVMF_CODE, OVMF_CODE_SECBOOT, OVMF_VARS, OVMF_VARS_SNAKEOIL

# --nic names -> QEMU -device models ("none": no NIC at all).
NICS = {"virtio-net": "virtio-net-pci", "virtio-net-modern": "virtio-net-pci,disable-legacy=on",
        "e1000e": "e1000e", "e1000": "e1000", "none": None}
BOOT_FROM = ("disk", "usb", "net", "direct")
MACHINES = ("q35", "microvm")
# microvm has no PCI: its devices are the virtio-mmio ones.
MICROVM_DEVICES = {"virtio-net-pci": "virtio-net-device", "virtio-blk": "virtio-blk-device"}
NETDEV_ID = "net0"                 # the id a RunSpec.netdev override must use
EXIT_TIMED_OUT = 124               # like timeout(1)
EXIT_NO_STATUS = 125               # the guest stopped without uc_exit()
EXIT_CRASHED = 127                 # the runtime reports a CPU exception or panic with this status


@dataclass
class RunSpec:
    image: Path | None                 # the disk image (not needed to boot from the network)
    workdir: Path                      # where the OVMF vars copy lives
    boot: str = "disk"                 # one of BOOT_FROM
    kernel: Path | None = None         # direct boot: app.elf
    initrd: Path | None = None         # direct boot: boot.cfg (PVH module 0)
    append: str | None = None          # direct boot: more command line (after boot.cfg's)
    machine: str = "q35"
    cpu: str = "max"
    memory_mib: int = 512
    smp: int = 1
    nic: str | None = "virtio-net-pci"
    mac: str | None = None
    exit_device: str | None = None
    forwards: list = field(default_factory=list)   # [(host_port, guest_port)] tcp on 127.0.0.1
    netdev: str | None = None          # full -netdev override with id=net0 (tap, user+tftp)
    disks: list = field(default_factory=list)      # disks.Disk, from --disk
    kvm: bool = False
    gdb_port: int | None = None        # QEMU's gdbstub listens on 127.0.0.1:PORT
    halted: bool = False               # -S: the CPU waits for gdb's `continue`
    keep_nvram: bool = False           # reuse the last run's OVMF vars, like a board's NVRAM
    secure_boot: bool = False          # Secure-Boot OVMF, snakeoil key in PK/KEK/db
    extra: list = field(default_factory=list)


def command(spec: RunSpec) -> list[str]:
    """The QEMU command line booting `spec` from its disk image, as a USB stick,
    or from the network (PXE through OVMF, no disk attached)."""
    if spec.boot not in BOOT_FROM:
        raise RunError(f"cannot boot from {spec.boot!r} (one of {', '.join(BOOT_FROM)})")
    direct, microvm = spec.boot == "direct", spec.machine == "microvm"
    if microvm and not direct:
        raise RunError("the microvm machine has no firmware here: it boots only directly "
                       "(--direct)")
    qemu = tools.require("qemu-system-x86_64")
    if direct:
        for what, path in (("app.elf", spec.kernel), ("boot.cfg", spec.initrd)):
            if not (path and Path(path).is_file()):
                raise RunError(f"{path}: no {what}; run `unicycle build` first")
    elif spec.secure_boot:
        tools.require(OVMF_CODE_SECBOOT)
        tools.require(OVMF_VARS_SNAKEOIL)
    else:
        tools.require(OVMF_CODE)
        tools.require(OVMF_VARS)
    if spec.secure_boot and (direct or spec.machine != "q35"):
        raise RunError("Secure Boot is the firmware's: it needs OVMF on q35 (not --direct, "
                       "not microvm)")
    if spec.boot in ("disk", "usb") and not (spec.image and Path(spec.image).is_file()):
        raise RunError(f"{spec.image}: no image; run `unicycle build` first")
    if spec.boot == "net" and not spec.nic:
        raise RunError("booting from the network needs a NIC")
    accel = "kvm" if spec.kvm else "tcg"
    # microvm: ACPI off makes QEMU put virtio_mmio.device= words on the command line.
    cmd = [qemu, "-accel", accel, "-machine", "microvm,acpi=off" if microvm else spec.machine,
           "-cpu", "host" if spec.kvm else spec.cpu, "-m", str(spec.memory_mib),
           "-smp", str(spec.smp),
           "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot"]
    if microvm:
        # QEMU 7.2 makes virtio-mmio devices legacy (version 1) unless told otherwise; the
        # runtime drives version 2 only (VIRTIO 1.1 sec 4.2.2).
        cmd += ["-global", "virtio-mmio.force-legacy=false"]
    if direct:
        # -nodefaults: no VGA, floppy or CD-ROM nobody uses (each costs boot time).
        # -kernel and -initrd take the path as it is: no option parsing, commas included.
        cmd += ["-nodefaults", "-kernel", str(spec.kernel), "-initrd", str(spec.initrd)]
        if spec.append:
            cmd += ["-append", spec.append]
    else:
        code, template = ((OVMF_CODE_SECBOOT, OVMF_VARS_SNAKEOIL) if spec.secure_boot else
                          (OVMF_CODE, OVMF_VARS))
        vars_copy = Path(spec.workdir) / Path(template).name
        vars_copy.parent.mkdir(parents=True, exist_ok=True)
        if not (spec.keep_nvram and vars_copy.is_file()):
            shutil.copyfile(template, vars_copy)
        cmd += ["-drive", f"if=pflash,format=raw,readonly=on,file={_opt(code)}",
                "-drive", f"if=pflash,format=raw,file={_opt(vars_copy)}"]
        if spec.secure_boot:
            cmd = _secure_boot_machine(cmd)
    if spec.boot == "usb":
        cmd += ["-drive", f"if=none,id=stick,format=raw,file={_opt(spec.image)}",
                "-device", "qemu-xhci,id=xhci", "-device", "usb-storage,bus=xhci.0,drive=stick"]
    elif spec.boot == "disk":
        cmd += ["-drive", f"format=raw,file={_opt(spec.image)}"]
    if spec.exit_device:
        cmd += ["-device", spec.exit_device]
    cmd += _disk_args(spec)
    if spec.nic:
        if spec.netdev:
            cmd += ["-netdev", spec.netdev]
        else:
            fwd = "".join(f",hostfwd=tcp:127.0.0.1:{h}-:{g}" for h, g in spec.forwards)
            cmd += ["-netdev", f"user,id={NETDEV_ID}{fwd}"]
        # romfile= leaves out QEMU's iPXE option ROM: OVMF has its own drivers
        # for these NICs, loading iPXE costs ~1 s under TCG, and iPXE's PXE Base
        # Code has no TFTP client (Mtftp returns Unsupported) for a netboot.
        mac = f",mac={spec.mac}" if spec.mac else ""
        if microvm:
            model = MICROVM_DEVICES.get(spec.nic.split(",")[0])
            if not model:
                raise RunError(f"the microvm machine has no PCI: NIC {spec.nic} needs q35; "
                               f"microvm has virtio-net (virtio-mmio)")
            cmd += ["-device", f"{model},netdev={NETDEV_ID}{mac}"]
        else:
            rom = "" if "romfile=" in spec.nic else ",romfile="
            cmd += ["-device", f"{spec.nic},netdev={NETDEV_ID}{rom}{mac}"]
    else:
        cmd += ["-nic", "none"]
    if spec.boot == "net":
        cmd += ["-boot", "n"]
    if spec.gdb_port:
        cmd += ["-gdb", f"tcp:127.0.0.1:{spec.gdb_port}"]
    if spec.halted:
        cmd += ["-S"]
    return cmd + list(spec.extra)


# The secboot build is OVMF with SMM_REQUIRE: it stops without SMM (Debian's ovmf README), and
# edk2's OvmfPkg/README asks for the variable flash to be SMM-only (cfi.pflash01 secure=on),
# so that only the firmware's SMM code, not a loaded image, can rewrite PK, KEK and db.
SECURE_BOOT_GLOBALS = ["-global", "driver=cfi.pflash01,property=secure,value=on"]


def _secure_boot_machine(cmd: list[str]) -> list[str]:
    """q35 with SMM on, and the pflash holding the variables secure."""
    i = cmd.index("-machine") + 1
    cmd[i] += ",smm=on"
    return cmd + SECURE_BOOT_GLOBALS


def _disk_args(spec: RunSpec) -> list[str]:
    """-drive/-device arguments for spec.disks: virtio-blk-pci, nvme, or ide-hd on an AHCI
    port: q35's built-in controller (bus ide.N, port 0 holding the boot image when booting
    from disk), on other machines an added `ahci` device."""
    q35 = spec.machine == "q35"
    out, port = [], 1 if q35 and spec.boot == "disk" else 0
    if spec.machine == "microvm":
        for d in spec.disks:
            if d.controller != "virtio-blk":
                raise RunError(f"--disk {d.path}: the microvm machine has no PCI: a {d.controller} "
                               f"disk needs q35; microvm has virtio-blk (virtio-mmio)")
    if not q35 and any(d.controller == "ahci" for d in spec.disks):
        out += ["-device", "ahci,id=ahci"]
    for i, d in enumerate(spec.disks):
        drive = f"disk{i}"
        out += ["-drive", f"if=none,id={drive},format=raw,file={_opt(d.path)}"]
        if d.controller == "virtio-blk":
            model = MICROVM_DEVICES["virtio-blk"] if spec.machine == "microvm" else "virtio-blk-pci"
            dev = f"{model},drive={drive}"
        elif d.controller == "nvme":
            dev = f"nvme,drive={drive}"
        else:
            dev = f"ide-hd,drive={drive},bus={'ide' if q35 else 'ahci'}.{port}"
            port += 1
        out += ["-device", f"{dev},serial={d.serial}"]
    return out


def _opt(path) -> str:
    """A path as a QEMU option value: a comma separates options, so it is doubled."""
    return str(path).replace(",", ",,")


@dataclass
class Outcome:
    qemu_status: int | None
    app_status: int | None      # None: the app did not exit through the runtime
    timed_out: bool
    seconds: float
    timeout: float | None = None
    response: str | None = None   # run_and_fetch: the guest's HTTP answer
    refused: str | None = None    # Secure Boot: the firmware's line refusing the loader

    @property
    def exit_code(self) -> int:
        """What `unicycle run` exits with: the app's status, or why there is none."""
        if self.response is not None:
            return 0
        if self.refused:
            return EXIT_NO_STATUS
        if self.timed_out:
            return EXIT_TIMED_OUT
        if self.app_status is None:
            return EXIT_NO_STATUS
        return self.app_status

    def summary(self) -> str:
        """One line saying how the guest ended."""
        if self.response is not None:
            return "unicycle: guest shut down"
        if self.refused:
            return ("unicycle: the firmware refused BOOTX64.EFI under Secure Boot (not signed "
                    "by a key in its db, or changed after signing); QEMU stopped")
        if self.timed_out:
            return f"unicycle: timed out after {self.timeout:g} s; QEMU stopped"
        if self.app_status is None and self.qemu_status == 0:
            # -no-reboot turns a reset (a triple fault, the watchdog's) into QEMU's exit 0.
            return ("unicycle: the guest stopped without uc_exit() (QEMU exit 0: it reset, "
                    "e.g. through the watchdog, or powered off)")
        if self.app_status is None:
            return (f"unicycle: the guest stopped without uc_exit() (QEMU exit "
                    f"{self.qemu_status})")
        if self.app_status == EXIT_CRASHED:
            return (f"unicycle: the app crashed (CPU exception or panic; see the report above) "
                    f"or exited with a status outside 0-126, after {self.seconds:.1f} s")
        return f"unicycle: app exited with status {self.app_status} after {self.seconds:.1f} s"


def parse_forward(text: str) -> tuple[int, int]:
    """--forward HOST:GUEST -> (host_port, guest_port)."""
    try:
        h, g = text.split(":")
        pair = (int(h), int(g))
    except ValueError:
        pair = None
    if pair is None or not all(1 <= port <= 65535 for port in pair):
        raise InputError(f"{text!r}: expected HOST:GUEST ports (1-65535)")
    return pair


def decode_status(qemu_status: int, has_exit_device: bool) -> int | None:
    if has_exit_device and qemu_status > 0 and qemu_status & 1:
        return qemu_status >> 1
    return None


# What OVMF's boot manager (edk2 BdsDxe) prints when LoadImage() returns EFI_ACCESS_DENIED,
# "the platform policy prohibits the image from being loaded" (UEFI 2.10 sec. 7.4): under
# Secure Boot, a loader whose signature is not in db, or that changed after signing.
FIRMWARE_REFUSED = re.compile(r"BdsDxe: failed to load Boot[0-9A-F]{4} .*: Access Denied")


class RefusalWatch:
    """Spots the firmware's refusal line in the console as it arrives in chunks."""

    MAX_LINE = 4096

    def __init__(self):
        self.pending = b""
        self.line: str | None = None

    def feed(self, chunk: bytes) -> bool:
        """True once, at the chunk that completes the refusal line."""
        *lines, tail = (self.pending + chunk).split(b"\n")
        self.pending = tail[-self.MAX_LINE:]
        for line in lines:
            m = FIRMWARE_REFUSED.search(line.decode(errors="replace"))
            if m and self.line is None:
                self.line = m.group(0)
                return True
        return False


def _pump(src, dst, symbolizer, watch: RefusalWatch | None = None, on_refused=None):
    """Copy the guest's console to `dst`, adding symbolized lines after fault
    reports. Reads in chunks so prompts without a newline show at once. With `watch`,
    on_refused() is called when the firmware refuses the loader."""
    from .symbolize import ConsoleFilter
    console = ConsoleFilter(symbolizer)
    while True:
        chunk = os.read(src.fileno(), 4096)
        if not chunk:
            break
        dst.write(console.feed(chunk))
        dst.flush()
        if watch and watch.feed(chunk):
            on_refused()


class Running:
    """A QEMU started in the background: serial on stdout (or `stdout`); with `elf`, code
    addresses in fault reports are printed as function and file:line."""

    def __init__(self, spec: RunSpec, stdout=None, elf: Path | None = None):
        from .symbolize import Symbolizer
        self.spec, self.cmd = spec, command(spec)
        self.start = time.monotonic()
        has_elf = elf is not None and Path(elf).is_file()
        # Under Secure Boot the console is watched: a refused loader stops QEMU at once,
        # instead of the firmware trying the network and waiting at its menu for ever.
        self.watch = RefusalWatch() if spec.secure_boot else None
        pipe = has_elf or self.watch is not None
        self.errfile = tempfile.TemporaryFile()  # a pipe nobody reads could fill and stall QEMU
        self.stderr = ""
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE if pipe else stdout,
                                     stderr=self.errfile, start_new_session=True)
        self.pump = None
        if pipe:
            import sys
            dst = stdout if stdout is not None else sys.stdout.buffer
            self.pump = threading.Thread(target=_pump, daemon=True,
                                         args=(self.proc.stdout, dst,
                                               Symbolizer(elf) if has_elf else None,
                                               self.watch, self._refused))
            self.pump.start()

    def wait(self, timeout: float | None = None) -> Outcome:
        """Wait for QEMU to end, stopping it at `timeout`; raises RunError when QEMU
        itself failed."""
        spec, proc = self.spec, self.proc
        timed_out = False
        try:
            with sigterm_exits():
                proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _stop(proc)
        except BaseException:              # Ctrl-C, or SIGTERM (SystemExit): QEMU goes too
            _stop(proc)
            raise
        finally:
            if self.pump:
                self.pump.join(timeout=5)
        err = _read_back(self.errfile)
        seconds = time.monotonic() - self.start
        status = proc.returncode
        self.stderr = err.decode(errors="replace")
        lines = self.stderr.strip().splitlines()
        # QEMU's own failures are exit 1, which is also uc_exit(0) through isa-debug-exit:
        # told apart by QEMU's error line ("qemu-system-x86_64: ...", not a warning).
        failed = [l for l in lines
                  if l.startswith(f"{Path(self.cmd[0]).name}:") and ": warning:" not in l]
        refused = self.watch.line if self.watch else None
        stopped = timed_out or refused        # by us: QEMU's status says nothing
        if not stopped and status not in (0, None) and lines and (
                not (spec.exit_device and status & 1) or (status == 1 and failed)):
            raise RunError(f"QEMU failed (exit {status}): {(failed or lines)[-1]}")
        return Outcome(status, None if stopped else decode_status(status, bool(spec.exit_device)),
                       timed_out, seconds, timeout, refused=refused)

    def _refused(self):
        """From the console thread: the firmware refused the loader; QEMU goes (wait() sees)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)


EXIT_TERMINATED = 128 + signal.SIGTERM


@contextlib.contextmanager
def sigterm_exits():
    """SIGTERM ends this process through SystemExit(143), so that `finally` and `except`
    clauses stop QEMU: it runs in a session of its own, which the signal does not reach."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def exit_now(signum, frame):
        raise SystemExit(EXIT_TERMINATED)

    old = signal.signal(signal.SIGTERM, exit_now)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run(spec: RunSpec, timeout: float | None = None, stdout=None,
        elf: Path | None = None) -> Outcome:
    """Run QEMU with serial on stdout (or `stdout`); stops it at `timeout`.
    With `elf`, code addresses in fault reports are printed as function and file:line."""
    return Running(spec, stdout, elf).wait(timeout)


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


ISA_DEBUG_EXIT_IOSIZE = 4          # bytes of I/O ports the device decodes


def exit_device(values: dict) -> str | None:
    """The isa-debug-exit -device for a resolved configuration: at the port the
    runtime writes (EXIT_ISA_DEBUG_PORT), or none when EXIT_ISA_DEBUG is off."""
    if values.get("EXIT_ISA_DEBUG") is not True:
        return None
    return (f"isa-debug-exit,iobase={values['EXIT_ISA_DEBUG_PORT']:#x},"
            f"iosize={ISA_DEBUG_EXIT_IOSIZE:#04x}")


def watchdog_device(values: dict, machine: str) -> list[str]:
    """The hardware watchdog for a resolved configuration that feeds one (WATCHDOG on): QEMU's
    i6300esb (I6300ESB), and for ICH9's TCO (ITCO) the LPC's "noreboot" pin strap cleared
    (QEMU 7.2: on by default, and while set the TCO's second timeout does not reset). Its
    timeout resets the machine (with -no-reboot QEMU then ends, exit 0). None on microvm,
    which has no PCI; only q35 has an ICH9."""
    if values.get("WATCHDOG") is not True or machine == "microvm":
        return []
    args = []
    if values.get("I6300ESB") is True:
        args += ["-device", "i6300esb"]
    if values.get("ITCO") is True and machine == "q35":
        args += ["-global", "ICH9-LPC.noreboot=false"]
    return [*args, "-action", "watchdog=reset"] if args else []


def spec_for(project, boot: str = "disk", **overrides) -> RunSpec:
    """How to run an opened project (build.Project) on its board: machine, memory,
    CPUs and NIC from the board's [hardware], the exit device from the configuration.
    Overrides that are None keep the board's value."""
    board = project.board
    if not board.runnable:
        raise RunError(f"board {board.name} is real hardware: {board.run['how']}")
    hw, r = board.hardware, board.run
    machine = overrides.pop("machine", None) or hw["machines"][0]
    if machine not in hw["machines"]:
        raise InputError(f"board {board.name} has no machine {machine!r} (hardware.machines in "
                         f"{board.path} lists: {', '.join(hw['machines'])})")
    if boot == "direct" and "pvh" not in hw["boot"]:
        raise InputError(f"board {board.name} does not boot directly: hardware.boot in "
                         f"{board.path} has no \"pvh\"")
    if boot == "direct" and not project.resolved.enabled("PVH"):
        raise InputError("direct boot needs the PVH entry, which this build leaves out "
                         "(CONFIG_PVH=n): enable PVH or boot through the firmware")
    spec = RunSpec(image=project.image, workdir=project.build_dir, boot=boot,
                   kernel=project.build_dir / "app.elf", initrd=project.build_dir / "boot.cfg",
                   machine=machine, cpu=r.get("cpu", "max"),
                   memory_mib=hw["memory-mib"], smp=hw["cpus"],
                   nic=NICS[hw["nics"][0]] if hw["nics"] else None,
                   exit_device=exit_device(project.resolved.values),
                   extra=[*watchdog_device(project.resolved.values, machine),
                          *r.get("args", [])])
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
                  ) -> Outcome:
    """Boot, fetch http://127.0.0.1:host_port/path with curl once the guest
    answers, then stop the guest. The outcome carries the response."""
    curl = tools.require("curl")
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
    return Outcome(proc.returncode, None, False, seconds, timeout, response=body)
