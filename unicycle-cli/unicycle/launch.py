"""`unicycle run`: build a project, then boot it under QEMU with its board's devices.

Everything the user asked for is checked before anything is built or started.
"""
import shlex
import sys
from dataclasses import dataclass

from . import build as build_mod, disks as disks_mod, qemu
from .errors import InputError

DEFAULT_FORWARD = (8080, 80)       # networked apps: 127.0.0.1:8080 -> the guest's port 80
FETCH_TIMEOUT = 120                # seconds --fetch waits without --timeout


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
    qemu_args: tuple = ()
    build: bool = True
    fetch: str | None = None       # GET this path through the first forward, then stop
    disks: tuple = ()              # disks.DiskSpec, from --disk
    verbose: bool = False


def run(project_dir, board_name, sets, opts: Options, log) -> qemu.Outcome:
    """Build (unless opts.build is false) and boot; `log(line)` gets what is
    said before QEMU starts. The outcome's exit_code is `unicycle run`'s."""
    proj = build_mod.open_project(project_dir, board_name, sets)
    forwards = list(opts.forwards)
    if not forwards and proj.resolved.enabled("NET"):
        host = qemu.free_port() if opts.fetch else DEFAULT_FORWARD[0]
        forwards = [(host, DEFAULT_FORWARD[1])]
    if opts.fetch and not forwards:
        raise InputError("--fetch needs a networked app (CONFIG_NET) or --forward")
    direct = opts.direct or opts.machine == "microvm"
    if direct and opts.usb:
        raise InputError("--usb attaches the image, which direct boot does not use: "
                         "give one of --usb and --direct")
    if opts.machine == "microvm" and not opts.direct:
        log("unicycle: microvm boots only directly: booting app.elf without firmware")
    spec = qemu.spec_for(proj, boot="direct" if direct else "usb" if opts.usb else "disk",
                         smp=opts.smp, kvm=opts.kvm or None, forwards=forwards,
                         machine=opts.machine)
    spec.disks = disks_mod.plan(opts.disks, proj.board, proj.resolved.values, log)
    if opts.nic:
        spec.nic = qemu.NICS[opts.nic]
    spec.extra += list(opts.qemu_args)
    if opts.build:
        build_mod.build(proj, verbose=opts.verbose, direct=spec.boot == "direct")
    disks_mod.create_missing(spec.disks, log)
    if opts.verbose:
        log(shlex.join(qemu.command(spec)))
    if forwards:
        log("unicycle: forwarding " + ", ".join(
            f"http://127.0.0.1:{h}/ -> guest:{g}" for h, g in forwards))
    sys.stdout.flush()             # QEMU writes the console to the same stdout
    if opts.fetch:
        return qemu.run_and_fetch(spec, forwards[0][0], opts.fetch,
                                  opts.timeout or FETCH_TIMEOUT)
    return qemu.run(spec, timeout=opts.timeout, elf=proj.build_dir / "app.elf")
