"""Helpers for integration tests: run the real `unicycle` command in a subprocess."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def unicycle(*args, cwd=None, timeout=600, check=False):
    """Run `python -m unicycle ARGS`; returns CompletedProcess with text output."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "unicycle", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"unicycle {' '.join(map(str, args))} exited {proc.returncode}:\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def new_project(tmp_path, name="demoapp", template="hello") -> Path:
    unicycle("new", name, "--template", template, cwd=tmp_path, check=True)
    return tmp_path / name
