"""`unicycle monitor`: a real board's serial console, with panic backtraces symbolized live.

The port is opened with pyserial (Debian's python3-serial), locked against a second monitor
(flock, as picocom does); what the board prints goes to the terminal, and to the log file when
asked, with function and file:line after each backtrace frame as `unicycle run` prints them
(symbolize.py, from the project's app.elf). Keys go to the board as typed: the terminal is in
raw mode, so Ctrl-C reaches the board too. Ctrl-] ends the monitor and restores the terminal.
"""
import errno
import os
import selectors
import sys
import termios
import tty
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, RunError, SetupError, UnicycleError

DEFAULT_PORT = "/dev/ttyUSB0"
DEFAULT_BAUD = 115200              # what the runtime's uart16550 driver programs
EXIT_KEY = b"\x1d"                 # Ctrl-], as telnet and picocom-like monitors use
READ_SIZE = 4096
EXIT_INTERRUPTED = 130             # as a shell reports SIGINT


@dataclass
class Options:
    port: str = DEFAULT_PORT
    baud: int = DEFAULT_BAUD
    log: Path | None = None        # append the console here too
    elf: Path | None = None        # symbols for backtraces


def _serial():
    """pyserial, or a SetupError naming its Debian package."""
    try:
        import serial
    except ImportError:
        raise SetupError("python3-serial is not installed: install the Debian package "
                         "python3-serial (make deps)") from None
    return serial


def bauds() -> tuple:
    return _serial().Serial.BAUDRATES


def check_baud(baud: int):
    if baud not in bauds():
        raise InputError(f"--baud {baud}: not a standard serial rate (one of "
                         f"{', '.join(str(b) for b in bauds() if b >= 1200)})")


def open_port(port: str, baud: int):
    """The serial port, opened and locked, or a RunError saying why not."""
    serial = _serial()
    check_baud(baud)
    if not os.path.exists(port):
        raise RunError(f"{port}: no such serial port (is the board plugged in? `ls "
                       f"/dev/ttyUSB* /dev/ttyACM*` lists USB serial adapters)")
    try:
        return serial.Serial(port, baud, timeout=0, exclusive=True)
    except serial.SerialException as e:
        raise RunError(f"{port}: " + _why(e, port)) from None
    except (OSError, ValueError) as e:
        raise RunError(f"{port}: cannot open: {e}") from None


def _why(e, port: str) -> str:
    code = e.errno if isinstance(e.errno, int) else None
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied (add the user to group dialout: adduser $USER dialout)"
    if code in (errno.EAGAIN, errno.EBUSY) or "exclusively lock" in str(e):
        return "busy: another program holds the port (a monitor, screen, minicom?)"
    if code == errno.ENOTTY or "Inappropriate ioctl" in str(e):
        return "not a serial port"
    return f"cannot open: {e.strerror or e}"


class Terminal:
    """The user's terminal in raw mode (keys one at a time, no echo, no signals from
    Ctrl-C) with output newlines kept, restored on exit; a no-op when stdin is no terminal."""

    def __init__(self, fd: int):
        self.fd = fd
        self.saved = termios.tcgetattr(fd) if os.isatty(fd) else None

    def __enter__(self):
        if self.saved is not None:
            tty.setraw(self.fd, termios.TCSANOW)
            attrs = termios.tcgetattr(self.fd)
            attrs[1] |= termios.OPOST | termios.ONLCR   # "\n" still starts a new line
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def monitor(opts: Options, log) -> int:
    """Run until Ctrl-] (exit 0) or until the port goes away (RunError)."""
    from .symbolize import ConsoleFilter, Symbolizer
    port = open_port(opts.port, opts.baud)
    console = ConsoleFilter(Symbolizer(opts.elf) if opts.elf else None)
    logfile = None
    try:
        if opts.log is not None:
            try:
                logfile = open(opts.log, "ab")
            except OSError as e:
                raise InputError(f"--log {opts.log}: {e.strerror}") from None
        log(f"unicycle: monitoring {opts.port} at {opts.baud} baud"
            f"{'' if opts.elf else ' (no app.elf: backtraces not symbolized)'}"
            f"{f', logging to {opts.log}' if logfile else ''}; Ctrl-] exits")
        stdin = sys.stdin.fileno()
        try:
            with Terminal(stdin):
                _loop(port, stdin, sys.stdout.buffer, console, logfile)
        except KeyboardInterrupt:             # Ctrl-C when stdin is no terminal
            log("\nunicycle: monitor interrupted")
            return EXIT_INTERRUPTED
        log("\nunicycle: monitor closed")
        return 0
    finally:
        port.close()
        if logfile:
            logfile.close()


def _loop(port, stdin: int, out, console, logfile):
    serial = _serial()
    sel = selectors.DefaultSelector()
    sel.register(port.fileno(), selectors.EVENT_READ, "port")
    try:
        sel.register(stdin, selectors.EVENT_READ, "keys")
    except (PermissionError, ValueError):
        pass                                   # stdin is /dev/null or a file: no keys
    while True:
        for key, _ in sel.select():
            if key.data == "keys":
                typed = os.read(stdin, READ_SIZE)
                if not typed:                      # stdin closed: keep listening
                    sel.unregister(stdin)
                    continue
                if EXIT_KEY in typed:
                    typed = typed[:typed.index(EXIT_KEY)]
                    if typed:
                        port.write(typed)
                    return
                port.write(typed)
                continue
            try:
                chunk = port.read(READ_SIZE)
            except (serial.SerialException, OSError) as e:
                raise RunError(f"{port.port}: the port went away ({e})") from None
            shown = console.feed(chunk)
            out.write(shown)
            out.flush()
            if logfile:
                logfile.write(shown)
                logfile.flush()


def elf_for(project_dir, board_name, log) -> Path | None:
    """The project's app.elf for symbols, or None (said once) when there is none."""
    from . import build as build_mod, manifest
    try:
        manifest.find(Path(project_dir).resolve())
    except UnicycleError:
        log(f"unicycle: no unicycle.toml in {project_dir}: backtraces are shown without "
            f"symbols (-C DIR names the project)")
        return None
    proj = build_mod.open_project(project_dir, board_name)
    elf = proj.build_dir / "app.elf"
    if not elf.is_file():
        log(f"unicycle: no {elf} (run `unicycle build`): backtraces are shown without symbols")
        return None
    return elf
