"""`unicycle run`: build a project, then boot it under QEMU with its board's devices.

Everything the user asked for is checked before anything is built or started.
"""
import shlex
import socket
import sys
from dataclasses import dataclass

from . import (build as build_mod, disks as disks_mod, efisign, hostnet, kvm as kvm_mod, netboot,
               qemu)
from .errors import InputError

DEFAULT_FORWARD = (8080, 80)       # networked apps: 127.0.0.1:8080 -> the guest's port 80
FETCH_TIMEOUT = 120                # seconds --fetch waits without --timeout
MIN_MEMORY_MIB = 64                # as board.schema.json's hardware.memory-mib
MAX_MEMORY_MIB = 256 * 1024       # the runtime maps RAM below 512 GiB only (paging.c)


@dataclass
class Options:
    timeout: float | None = None
    forwards: tuple = ()           # ((host_port, guest_port), ...), from qemu.parse_forward
    nic: str | None = None         # a qemu.NICS name; None: the board's
    smp: int | None = None
    usb: bool = False              # attach the image as a USB stick instead of a disk
    direct: bool = False           # boot app.elf with -kernel (PVH), no firmware
    machine: str | None = None     # a board machine (hardware.machines); None: the first
    kvm: bool = False
    memory: int | None = None      # MiB; None: the board's hardware.memory-mib
    net: hostnet.Net = hostnet.Net()
    gdb_port: int | None = None    # open QEMU's gdbstub on 127.0.0.1:PORT (0: a free port)
    qemu_args: tuple = ()
    build: bool = True
    fetch: str | None = None       # GET this path through the first forward, then stop
    disks: tuple = ()              # disks.DiskSpec, from --disk
    secure_boot: bool = False      # Secure-Boot OVMF with the snakeoil key enrolled
    sign_efi: tuple | None = None  # (KEY, CERT): sign BOOTX64.EFI (as build --sign-efi)
    keep_nvram: bool = False       # the last run's OVMF variables, not a fresh copy
    verbose: bool = False


@dataclass
class Plan:
    project: build_mod.Project
    spec: qemu.RunSpec
    forwards: list


def prepare(project_dir, board_name, sets, opts: Options, log, boot: str | None = None) -> Plan:
    """Check every option and work out the QEMU run (`boot` forces one of qemu.BOOT_FROM);
    nothing is built or started yet."""
    proj = build_mod.open_project(project_dir, board_name, sets, opts.sign_efi)
    tap = opts.net.kind == "tap"
    if tap and opts.forwards:
        raise InputError("--forward works with --net user only: a tap device has no port "
                         "forwarding (reach the guest at its own address)")
    if tap and opts.fetch:
        raise InputError("--fetch goes through a --forward, which needs --net user")
    forwards = list(opts.forwards)
    if not forwards and not tap and proj.resolved.enabled("NET"):
        host = qemu.free_port() if opts.fetch else DEFAULT_FORWARD[0]
        forwards = [(host, DEFAULT_FORWARD[1])]
    if opts.fetch and not forwards:
        raise InputError("--fetch needs a networked app (CONFIG_NET) or --forward")
    direct = opts.direct or opts.machine == "microvm"
    if direct and opts.usb:
        raise InputError("--usb attaches the image, which direct boot does not use: "
                         "give one of --usb and --direct")
    if opts.machine == "microvm" and not opts.direct and boot is None:
        log("unicycle: microvm boots only directly: booting app.elf without firmware")
    if boot is None:
        boot = "direct" if direct else "usb" if opts.usb else "disk"
    if opts.keep_nvram and boot == "direct":
        raise InputError("--keep-nvram keeps the firmware's variables, and direct boot runs no "
                         "firmware: give one of --keep-nvram and --direct")
    if opts.secure_boot and boot == "direct":
        raise InputError("--secure-boot is checked by the firmware, which direct boot skips: "
                         "give one of --secure-boot and --direct")
    if opts.secure_boot and _unsigned_loader(proj, opts.build):
        log("unicycle: BOOTX64.EFI is not signed (no --sign-efi, no [secure-boot] in "
            "unicycle.toml): the firmware will refuse it")
    spec = qemu.spec_for(proj, boot=boot, smp=opts.smp, kvm=opts.kvm or None,
                         forwards=forwards, machine=opts.machine, memory_mib=opts.memory,
                         netdev=opts.net.netdev(), secure_boot=opts.secure_boot or None,
                         keep_nvram=opts.keep_nvram or None)
    spec.disks = disks_mod.plan(opts.disks, proj.board, proj.resolved.values, log)
    if opts.nic:
        spec.nic = qemu.NICS[opts.nic]
    if tap and not spec.nic:
        raise InputError(f"--net tap:{opts.net.ifname} needs a NIC, and this run has none "
                         f"(--nic none or a board without NICs)")
    if tap:
        hostnet.check_tap(opts.net.ifname)
    if opts.gdb_port is not None:
        port = opts.gdb_port or qemu.free_port()
        check_port_free(port)
        spec.gdb_port = port
    spec.extra += list(opts.qemu_args)
    if opts.kvm:
        kvm_mod.check()
    return Plan(proj, spec, forwards)


def _unsigned_loader(proj, building: bool) -> bool:
    """Will the loader booted be unsigned: the build about to run does not sign, or (without
    a build) the last build's loader, which netboot/ holds as the image does, has no signature."""
    if building:
        return proj.efi_signing is None
    last = netboot.current(proj.build_dir) / "BOOTX64.EFI"
    return last.is_file() and not efisign.has_signature(last)


def check_port_free(port: int):
    """Refuse a gdbstub port that something on 127.0.0.1 already holds."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise InputError(f"--gdb {port}: cannot listen on 127.0.0.1:{port}: "
                             f"{e.strerror}") from None


def gdb_command(proj, port: int) -> str:
    """What to type to attach gdb to a guest whose gdbstub is on `port`."""
    elf = proj.build_dir / "app.elf"
    return shlex.join(["gdb", str(elf), "-ex", f"target remote 127.0.0.1:{port}"])


def run(project_dir, board_name, sets, opts: Options, log) -> qemu.Outcome:
    """Build (unless opts.build is false) and boot; `log(line)` gets what is
    said before QEMU starts. The outcome's exit_code is `unicycle run`'s."""
    plan = prepare(project_dir, board_name, sets, opts, log)
    proj, spec, forwards = plan.project, plan.spec, plan.forwards
    if opts.build:
        build_mod.build(proj, verbose=opts.verbose, direct=spec.boot == "direct")
    disks_mod.create_missing(spec.disks, log)
    if opts.verbose:
        log(shlex.join(qemu.command(spec)))
    if forwards:
        log("unicycle: forwarding " + ", ".join(
            f"http://127.0.0.1:{h}/ -> guest:{g}" for h, g in forwards))
    if spec.gdb_port:
        log(f"unicycle: gdbstub on 127.0.0.1:{spec.gdb_port}; attach with: "
            f"{gdb_command(proj, spec.gdb_port)}")
    sys.stdout.flush()             # QEMU writes the console to the same stdout
    if opts.fetch:
        return qemu.run_and_fetch(spec, forwards[0][0], opts.fetch,
                                  opts.timeout or FETCH_TIMEOUT)
    return qemu.run(spec, timeout=opts.timeout, elf=proj.build_dir / "app.elf")
