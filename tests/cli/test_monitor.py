"""`unicycle monitor` against a pseudo-terminal standing in for a board's serial port: a busy,
missing or vanishing port, a bad rate, a file that is not a port and a missing pyserial are one
line each; without a keyboard it runs until interrupted. (A real crash replayed and symbolized:
tests/integration/test_monitor_crash.py.)"""
import os
import subprocess
import sys

import pytest

from conftest import wait_until
from unicycle.cli import cli

CTRL_RBRACKET = b"\x1d"

@pytest.fixture
def board_project(project_from):
    """A project for the real board q170m (not built: backtraces stay unsymbolized)."""
    return project_from("valid.toml")


def start_monitor(port_path, proj, log, keyboard):
    return subprocess.Popen([sys.executable, "-m", "unicycle", "monitor", "--port", port_path,
                             "--log", str(log), "-C", str(proj)],
                            stdin=keyboard, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))


def test_second_monitor_finds_the_port_busy(board_project, tmp_path):
    board, board_side = os.openpty()
    path = os.ttyname(board_side)
    first = start_monitor(path, board_project, tmp_path / "a.log", subprocess.PIPE)
    try:
        assert wait_until(lambda: (tmp_path / "a.log").exists())
        second = subprocess.run([sys.executable, "-m", "unicycle", "monitor", "--port", path,
                                 "-C", str(board_project)], capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=30)
        assert second.returncode == 1
        assert second.stderr.strip().splitlines()[-1] == (
            f"error: {path}: busy: another program holds the port (a monitor, screen, minicom?)")
        first.stdin.write(CTRL_RBRACKET)
        first.stdin.flush()
        first.communicate(timeout=20)
        assert first.returncode == 0
    finally:
        if first.poll() is None:
            first.kill()
        os.close(board)
        os.close(board_side)


def test_missing_port_and_bad_rate_are_one_line(runner, board_project):
    r = runner.invoke(cli, ["monitor", "--port", "/dev/ttyUSB97", "-C", str(board_project)])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1].startswith(
        "error: /dev/ttyUSB97: no such serial port (is the board plugged in?")
    r = runner.invoke(cli, ["monitor", "--baud", "115201", "-C", str(board_project)])
    assert r.exit_code == 2
    assert r.stderr.strip().startswith("error: --baud 115201: not a standard serial rate (one "
                                       "of 1200, 1800, 2400, ")


def test_not_a_serial_port(runner, board_project, tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("")
    r = runner.invoke(cli, ["monitor", "--port", str(plain), "-C", str(board_project)])
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1] == f"error: {plain}: not a serial port"


def test_without_a_project_the_console_is_shown_unsymbolized(runner, tmp_path):
    r = runner.invoke(cli, ["monitor", "--port", "/dev/ttyUSB97", "-C", str(tmp_path)])
    assert r.stderr.splitlines()[0] == (f"unicycle: no unicycle.toml in {tmp_path}: backtraces "
                                        f"are shown without symbols (-C DIR names the project)")


def test_without_a_keyboard_it_runs_until_interrupted(board_project, tmp_path):
    """stdin /dev/null (a script, a service): the console is still shown and logged, and
    SIGINT ends the monitor with 130 rather than a traceback."""
    import signal
    board, board_side = os.openpty()
    log = tmp_path / "console.log"
    mon = start_monitor(os.ttyname(board_side), board_project, log, subprocess.DEVNULL)
    try:
        assert wait_until(lambda: log.exists())
        os.write(board, b"hello from the board\r\n")
        assert wait_until(lambda: b"hello from the board" in log.read_bytes())
        assert mon.poll() is None
        mon.send_signal(signal.SIGINT)
        out, err = mon.communicate(timeout=20)
    finally:
        if mon.poll() is None:
            mon.kill()
        os.close(board)
        os.close(board_side)
    assert mon.returncode == 130, err
    assert b"hello from the board" in out
    assert err.decode().strip().endswith("unicycle: monitor interrupted"), err


def test_missing_pyserial_names_its_package(runner, board_project, monkeypatch):
    monkeypatch.setitem(sys.modules, "serial", None)     # import serial raises ImportError
    r = runner.invoke(cli, ["monitor", "--port", "/dev/ttyUSB97", "-C", str(board_project)])
    assert r.exit_code == 1
    assert r.stderr.strip() == ("error: python3-serial is not installed: install the Debian "
                                "package python3-serial (make deps)")


def test_port_going_away_is_one_line(board_project, tmp_path):
    """The board unplugged: the pty's other side closes under the monitor."""
    board, board_side = os.openpty()
    path = os.ttyname(board_side)
    log = tmp_path / "console.log"
    mon = start_monitor(path, board_project, log, subprocess.DEVNULL)
    try:
        assert wait_until(lambda: log.exists())
        os.close(board_side)
        os.close(board)
        out, err = mon.communicate(timeout=20)
    finally:
        if mon.poll() is None:
            mon.kill()
    assert mon.returncode == 1, err
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith(f"error: {path}: the port went away"), err
    assert b"Traceback" not in err
