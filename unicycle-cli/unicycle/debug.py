"""`unicycle debug`: the guest halted under QEMU's gdbstub, and gdb with app.elf's symbols.

QEMU starts with -S (no instruction run yet) and -gdb tcp:127.0.0.1:PORT on a free port; gdb
loads app.elf and connects with `target remote`, on the terminal (or in batch mode with a
command file, as the tests drive it). QEMU is stopped when gdb exits; the app's status, when it
exited, is `unicycle debug`'s exit status as for `unicycle run`.

Direct boot (the default) runs no firmware of ours: QEMU's own SeaBIOS hands over to app.elf's
PVH entry, pvh_entry32, whose first instruction is in 32-bit protected mode; the stub then
switches to long mode and enters _start. QEMU's x86-64 gdbstub reports the 64-bit register set
in every mode, so gdb (architecture i386:x86-64) keeps one register layout across the switch,
and under TCG both `break` and `hbreak` stop there: QEMU checks the addresses itself instead of
writing int3 into guest memory. Only disassembly of the 32-bit stub reads it as 64-bit code.
With --ovmf the guest goes through OVMF and the bootloader first: app.elf's symbols mean
nothing until the bootloader has jumped to _start, while breakpoints set before are kept.
"""
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import build as build_mod, disks as disks_mod, launch, qemu, tools
from .errors import InputError, RunError

STUB_WAIT = 10.0                   # seconds for QEMU to open its gdbstub
EXIT_GRACE = 2.0                   # seconds QEMU gets to end by itself after gdb has
PROC_NET_TCP = "/proc/net/tcp"
TCP_LISTEN = "0A"                  # st column of /proc/net/tcp (include/net/tcp_states.h)
LOOPBACK_HEX = "0100007F"          # 127.0.0.1 as /proc/net/tcp writes it (little-endian)


@dataclass
class Options:
    build: bool = True
    machine: str | None = None
    ovmf: bool = False             # boot through OVMF and the image instead of directly
    batch: Path | None = None      # gdb -batch -x FILE: no terminal needed
    gdb_args: tuple = ()           # more gdb arguments, after `target remote`
    verbose: bool = False


@dataclass
class Result:
    exit_code: int
    summary: str


def debug(project_dir, board_name, sets, opts: Options, log) -> Result:
    """Build, start QEMU halted, run gdb until it exits, stop QEMU."""
    if opts.ovmf and opts.machine == "microvm":
        raise InputError("--ovmf boots through the firmware, which the microvm machine does "
                         "not have: use --machine q35, or debug microvm without --ovmf")
    if opts.batch is not None and not Path(opts.batch).is_file():
        raise InputError(f"--gdb-batch {opts.batch}: no such file")
    gdb = tools.require("gdb")
    plan = launch.prepare(project_dir, board_name, sets,
                          launch.Options(machine=opts.machine, direct=not opts.ovmf,
                                         gdb_port=0),
                          log, boot="disk" if opts.ovmf else "direct")
    proj, spec = plan.project, plan.spec
    spec.halted = True
    if opts.build:
        build_mod.build(proj, verbose=opts.verbose, direct=spec.boot == "direct")
    disks_mod.create_missing(spec.disks, log)
    elf = proj.build_dir / "app.elf"
    cmd = gdb_command(gdb, elf, spec.gdb_port, opts)
    if opts.verbose:
        log(shlex.join(qemu.command(spec)))
        log(shlex.join(cmd))
    for line in banner(spec, plan.forwards):
        log(line)
    sys.stdout.flush()
    guest = qemu.Running(spec, elf=elf)
    try:
        with qemu.sigterm_exits():
            _wait_for_stub(guest, spec.gdb_port)
            gdb_status = _run_gdb(cmd)
        outcome = guest.wait(timeout=EXIT_GRACE)
    finally:
        qemu._stop(guest.proc)
    return result(outcome, gdb_status, guest.stderr)


def gdb_command(gdb: str, elf: Path, port: int, opts: Options) -> list[str]:
    cmd = [gdb, "-q"]
    if opts.batch is not None:
        cmd += ["-nx", "-batch"]          # no ~/.gdbinit: the same commands give the same run
    cmd += [str(elf), "-ex", f"target remote 127.0.0.1:{port}"]
    if opts.batch is not None:
        cmd += ["-x", str(opts.batch)]
    return cmd + list(opts.gdb_args)


def banner(spec: qemu.RunSpec, forwards) -> list[str]:
    """What the user is told before gdb's prompt."""
    lines = [f"unicycle: QEMU halted before the first instruction, gdbstub on "
             f"127.0.0.1:{spec.gdb_port}; QEMU stops when gdb exits"]
    if spec.boot == "direct":
        lines.append("unicycle: direct boot: app.elf runs from its first instruction "
                     "(pvh_entry32, 32-bit, then _start in 64-bit mode); "
                     "e.g. `break app_main` then `continue`")
    else:
        lines.append("unicycle: --ovmf: OVMF and the bootloader run first, without symbols; "
                     "app.elf's symbols apply once the runtime runs (_start); breakpoints "
                     "set now (`break app_main`) are kept until then")
    if forwards:
        lines.append("unicycle: forwarding " + ", ".join(
            f"http://127.0.0.1:{h}/ -> guest:{g}" for h, g in forwards))
    return lines


def _listening(port: int, table: str = PROC_NET_TCP) -> bool:
    """Whether something listens on 127.0.0.1:port (Linux's /proc/net/tcp)."""
    want = f"{LOOPBACK_HEX}:{port:04X}"
    try:
        rows = Path(table).read_text().splitlines()[1:]
    except OSError:
        return False
    return any(f[1] == want and f[3] == TCP_LISTEN for f in (r.split() for r in rows)
               if len(f) > 3)


def _wait_for_stub(guest: qemu.Running, port: int):
    end = time.monotonic() + STUB_WAIT
    while time.monotonic() < end:
        if _listening(port):
            return
        if guest.proc.poll() is not None:
            guest.wait()                      # raises RunError with QEMU's own error line
            raise RunError(f"QEMU ended (exit {guest.proc.returncode}) before opening its "
                           f"gdbstub")
        time.sleep(0.05)
    raise RunError(f"QEMU did not open its gdbstub on 127.0.0.1:{port} within "
                   f"{STUB_WAIT:g} s")


def _run_gdb(cmd: list[str]) -> int:
    """gdb on this terminal. Ctrl-C belongs to gdb (it interrupts the guest), so this
    process ignores it meanwhile; QEMU is in its own session and does not see it."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.run(cmd).returncode
    except OSError as e:
        raise RunError(f"cannot run gdb: {e}") from None
    finally:
        signal.signal(signal.SIGINT, old)


def result(outcome: qemu.Outcome, gdb_status: int, qemu_stderr: str) -> Result:
    """`unicycle debug`'s exit status and closing line."""
    if outcome.timed_out:
        return Result(gdb_status, f"unicycle: gdb exited (status {gdb_status}) with the guest "
                                  f"still running; QEMU stopped")
    if "Terminated via GDBstub" in qemu_stderr:
        return Result(gdb_status, "unicycle: gdb killed the guest")
    return Result(outcome.exit_code, outcome.summary())
