"""`unicycle config` with no options: the menuconfig UI in a real terminal (tmux)."""
import os
import shutil
import subprocess
import sys
import time

import pytest

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (make deps)")


class Terminal:
    def __init__(self, tmp_path, command, cwd):
        self.sock = f"uc-test-{os.getpid()}-{tmp_path.name}"  # unique per run
        self.tmux = [TMUX, "-L", self.sock]
        script = f"cd {cwd} && {command}; echo EXIT=$?; sleep 60"
        subprocess.run(self.tmux + ["new-session", "-d", "-s", "t", "-x", "120", "-y", "40",
                                    script], check=True)

    def keys(self, *keys):
        subprocess.run(self.tmux + ["send-keys", "-t", "t", *keys], check=True)
        time.sleep(0.6)

    def screen(self) -> str:
        return subprocess.run(self.tmux + ["capture-pane", "-t", "t", "-p"], check=True,
                              capture_output=True, text=True).stdout

    def wait_for(self, text, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.screen():
                return
            time.sleep(0.3)
        raise AssertionError(f"{text!r} never appeared:\n{self.screen()}")

    def close(self):
        subprocess.run(self.tmux + ["kill-server"], capture_output=True)


def test_menuconfig_edits_and_saves_only_the_change(tmp_path, project_from):
    proj = project_from("valid.toml")
    term = Terminal(tmp_path, f"{sys.executable} -m unicycle config", proj)
    try:
        term.wait_for("Unicycle runtime configuration")
        term.keys("/")
        term.keys("UART_BAUD")
        term.keys("Enter")
        term.wait_for("(115200) Console baud rate")
        term.keys("Enter")
        term.wait_for("Range: 300-115200")
        term.keys(*["BSpace"] * 8, "19200", "Enter")
        term.wait_for("(19200) Console baud rate")
        term.keys("Q")
        term.wait_for("Save configuration?")
        term.keys("Y")
        term.wait_for("EXIT=0")
        assert "1 value(s) differ from board and manifest" in term.screen().replace("\n", "")
    finally:
        term.close()
    lines = [l for l in (proj / ".config").read_text().splitlines() if not l.startswith("#")]
    assert lines == ["CONFIG_UART_BAUD=19200"]
