"""`unicycle monitor` on a real crash: test_boot.py's CRASH_APP is built and booted directly
once, its raw serial console (no symbolizing) recorded, and replayed into a pseudo-terminal
standing in for the board's port: the backtrace comes out symbolized from the project's app.elf,
on the terminal and in the log file; typed keys reach the board; Ctrl-] exits and restores the
terminal."""
import os
import re
import subprocess
import sys
import termios

import pytest

from conftest import wait_until
from helpers import new_project, unicycle
from test_boot import CRASH_APP
from unicycle import build as build_mod, qemu

pytestmark = pytest.mark.qemu

CTRL_RBRACKET = b"\x1d"


@pytest.fixture(scope="module")
def crash(tmp_path_factory):
    """(project, the console bytes it printed before uc_exit(127))."""
    proj = new_project(tmp_path_factory.mktemp("monitor"), "crashy")
    (proj / "src" / "main.c").write_text(CRASH_APP)
    unicycle("build", "-C", proj, "--direct", check=True)
    spec = qemu.spec_for(build_mod.open_project(proj), boot="direct", nic=None)
    console = proj / "console.raw"
    with open(console, "wb") as out:
        r = subprocess.run(qemu.command(spec), stdout=out, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=120)
    data = console.read_bytes()
    assert qemu.decode_status(r.returncode, True) == qemu.EXIT_CRASHED, data[-2000:]
    assert b"CPU exception 14" in data and b"backtrace:" in data, data[-2000:]
    return proj, data


def test_replayed_crash_is_symbolized_logged_and_ctrl_bracket_exits(crash, tmp_path):
    proj, recording = crash
    first_frame = re.search(rb"#0 0x0*([0-9a-f]+)", recording)[1].decode()
    board, board_side = os.openpty()         # the "board" writes to `board`
    keys, keyboard = os.openpty()            # the user's terminal: monitor's stdin
    before = termios.tcgetattr(keyboard)
    log = tmp_path / "console.log"
    mon = subprocess.Popen([sys.executable, "-m", "unicycle", "monitor", "--port",
                            os.ttyname(board_side), "--log", str(log), "-C", str(proj)],
                           stdin=keyboard, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        # raw mode while it runs: no echo, keys one by one
        assert wait_until(lambda: not termios.tcgetattr(keyboard)[3] & termios.ECHO)
        os.write(board, recording)
        assert wait_until(lambda: log.exists() and b"kernel_main at" in log.read_bytes())
        os.write(keys, b"x")                 # typed keys go to the board
        assert wait_until(lambda: os.read(board, 16) == b"x")
        os.write(keys, CTRL_RBRACKET)
        out, err = mon.communicate(timeout=20)
    finally:
        if mon.poll() is None:
            mon.kill()
    assert mon.returncode == 0, err
    text = out.decode()
    frames = [l.strip() for l in text.splitlines() if l.startswith("    0x")]
    assert [f.split()[1] for f in frames] == ["poke", "app_main", "kernel_main", "_start"], text
    assert frames[0].startswith(f"0x{first_frame} poke at ") and frames[0].endswith("src/main.c:8")
    assert "CPU exception 14 (#PF page fault)" in text
    logged = log.read_bytes().decode()
    assert "unicycle: exit 127" in logged and frames[0] in logged, logged
    assert "Ctrl-] exits" in err.decode() and "monitor closed" in err.decode()
    assert termios.tcgetattr(keyboard) == before, "terminal not restored"
    for fd in (board, board_side, keys, keyboard):
        os.close(fd)
