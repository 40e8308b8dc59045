"""The runtime's in-QEMU self-test (examples/selftest): timers, page protections.
Its exit status names the failed check (see examples/selftest/src/main.c)."""
import re
import shutil
from pathlib import Path

import pytest

from helpers import ROOT, unicycle

pytestmark = pytest.mark.qemu


def _project(tmp_path, cmdline=""):
    proj = tmp_path / "selftest"
    shutil.copytree(ROOT / "examples" / "selftest", proj, ignore=shutil.ignore_patterns("build"))
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text().replace('cmdline = ""', f'cmdline = "{cmdline}"'))
    return proj


def test_selftest_passes(tmp_path):
    proj = _project(tmp_path)
    r = unicycle("run", "-C", proj, "--direct", "--timeout", "120", timeout=400)
    out = r.stdout + r.stderr
    assert "selftest: all checks passed" in r.stdout, out
    assert r.returncode == 0, out
    assert re.search(r"selftest: timers: \d+ fired, \d+ cancelled", r.stdout), out


@pytest.mark.parametrize("mode,expect", [
    ("wprotect", "protection violation, write"),
    ("nxexec", "protection violation, instruction fetch"),
])
def test_page_protections_fault(tmp_path, mode, expect):
    proj = _project(tmp_path, mode)
    r = unicycle("run", "-C", proj, "--direct", "--timeout", "120", timeout=400)
    out = r.stdout + r.stderr
    assert "CPU exception 14 (#PF page fault)" in r.stdout, out
    assert expect in r.stdout, out
    assert "FAIL" not in r.stdout, out
    assert re.search(r"^  #0 0x[0-9a-f]{16}", r.stdout, re.M), out
    assert r.returncode != 0, out
