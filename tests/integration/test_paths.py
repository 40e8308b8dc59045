"""Paths the build must survive: the Unicycle tree, the Python running it, the
third-party cache and the project all under a folder whose name holds a space,
a '$' and a comma (one of them boots under QEMU), and an app source named with
'$(' (ninja's escape character, then a shell substitution)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import ROOT, new_project, unicycle

ODD = "odd dir $HOME,x"          # $HOME: a path that reaches a shell unquoted expands it


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    """A copy of the tree, a python3 link and a new project, all below ODD."""
    base = tmp_path_factory.mktemp("paths") / ODD
    home = base / "unicycle"
    for part in ("runtime", "bootloader", "templates", "boards", "unicycle-cli"):
        shutil.copytree(ROOT / part, home / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(ROOT / ".cache" / "third_party", home / ".cache" / "third_party")
    (base / "bin").mkdir()
    python = base / "bin" / "python3"
    python.symlink_to("/usr/bin/python3")
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNICYCLE_")}
    env.update(PYTHONPATH=str(home / "unicycle-cli"), PYTHONUNBUFFERED="1")

    def run(*args, timeout=600):
        return subprocess.run([str(python), "-m", "unicycle", *args], cwd=base, env=env,
                              capture_output=True, text=True, timeout=timeout)

    r = run("new", "app")
    assert r.returncode == 0, r.stderr
    return base / "app", run


def test_odd_paths_build_and_rebuild(odd):
    proj, run = odd
    r = run("build", "-C", proj)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    out = proj / "build" / "qemu-x86_64"
    assert (out / "unicycle.img").is_file()
    assert (out / "netboot" / "unicycle" / "app.elf").is_file()
    ninja = (out / "build.ninja").read_text()
    # shell-quoted, then '$' escaped for ninja
    quoted = f"'{proj.parent}/bin/python3'".replace("$", "$$")
    assert f"python = {quoted}" in ninja
    # ninja read every depfile back (paths with '$' and spaces): nothing to do twice.
    r = run("build", "-C", proj)
    assert r.returncode == 0 and "no work to do" in r.stdout, r.stdout[-3000:] + r.stderr


@pytest.mark.qemu
def test_odd_paths_boot(odd):
    proj, run = odd
    r = run("run", "-C", proj, "--direct", "--timeout", "120", timeout=400)
    assert "Hello from app" in r.stdout, r.stdout[-3000:] + r.stderr
    assert r.returncode == 0 and "app exited with status 0" in r.stderr, r.stderr


def test_source_named_with_dollar_paren_builds(tmp_path):
    proj = new_project(tmp_path, "dollar")
    odd_src = proj / "src" / "we$(ird) one.c"
    odd_src.write_text("int weird_value(void) { return 7; }\n")
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text().replace('sources = ["src/main.c"]',
                                             'sources = ["src/main.c", "src/we$(ird) one.c"]'))
    r = unicycle("build", "-C", proj)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "CC app: src/we$(ird) one.c" in r.stdout
    assert (proj / "build" / "qemu-x86_64" / "obj" / "app" / "src" / "we$(ird) one.c.o").is_file()
