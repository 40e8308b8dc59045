"""The runtime's in-QEMU self-test (examples/selftest): timers, page protections, and the
same self-test under each sanitizer (runtime/sanitize/) with its deliberate bugs reported by
kind and symbolized location. Its exit status names the failed check (see
examples/selftest/src/main.c). One build per configuration, shared by the module's tests;
a mode is the manifest's cmdline, so switching it rewrites boot.cfg only."""
import re
import shutil
from pathlib import Path

import pytest

from helpers import ROOT, unicycle

pytestmark = pytest.mark.qemu

# mode -> (sanitizer, what the report says, the statement it must point at, its function)
ALL_BUGS_STATUS = 34   # "all-bugs": each of them in one run, none reported
BUGS = {
    "heap-overflow": ("KASAN", "KASAN: heap-buffer-overflow: write of 1 byte at ",
                      "p[13 + st_zero] = 'x';", "st_bug_heap_overflow"),
    "use-after-free": ("KASAN", "KASAN: use-after-free: read of 4 bytes at ",
                       "v = ((int *)st_launder)[2];", "st_bug_use_after_free"),
    "global-overflow": ("KASAN", "KASAN: global-buffer-overflow: write of 1 byte at ",
                        "st_global[13 + st_zero] = 'x';", "st_bug_global_overflow"),
    "signed-overflow": ("UBSAN", "UBSAN: signed integer overflow: 2147483647 + 1 cannot be "
                        "represented in type 'int' at ", "sum = big + 1;",
                        "st_bug_signed_overflow"),
    "misaligned": ("UBSAN", "UBSAN: misaligned access: store to address ",
                   "*q = 0x12345678;", "st_bug_misaligned"),
}


@pytest.fixture(scope="module")
def selftest(tmp_path_factory):
    """selftest(SAN) -> the project built with CONFIG_SAN=y ("none": as it is), once."""
    built = {}

    def get(san: str) -> Path:
        if san not in built:
            proj = tmp_path_factory.mktemp(f"selftest-{san}") / "selftest"
            shutil.copytree(ROOT / "examples" / "selftest", proj,
                            ignore=shutil.ignore_patterns("build"))
            if san != "none":
                toml = proj / "unicycle.toml"
                toml.write_text(toml.read_text().replace("[config]\n", f"[config]\n{san} = true\n"))
            unicycle("build", "-C", proj, "--direct", check=True)
            built[san] = proj
        return built[san]
    return get


def _run(proj: Path, cmdline: str = ""):
    toml = proj / "unicycle.toml"
    toml.write_text(re.sub(r'(?m)^cmdline = ".*"$', f'cmdline = "{cmdline}"', toml.read_text()))
    return unicycle("run", "-C", proj, "--direct", "--timeout", "120", timeout=400)


def _line_of(source: Path, statement: str) -> int:
    for n, line in enumerate(source.read_text().splitlines(), 1):
        if line.strip() == statement:
            return n
    raise AssertionError(f"{statement!r} not in {source}")


@pytest.mark.parametrize("san", ["none", "KASAN", "UBSAN"])
def test_selftest_passes(selftest, san):
    r = _run(selftest(san))
    out = r.stdout + r.stderr
    assert "selftest: all checks passed" in r.stdout, out
    assert r.returncode == 0, out
    assert re.search(r"selftest: timers: \d+ fired, \d+ cancelled", r.stdout), out
    assert "PANIC" not in r.stdout, out
    assert bool(re.search(r"KASAN: \d+ KiB of shadow", r.stdout)) == (san == "KASAN"), out
    assert ("unicycle: UBSAN: on" in r.stdout) == (san == "UBSAN"), out


@pytest.mark.parametrize("mode,expect", [
    ("wprotect", "protection violation, write"),
    ("nxexec", "protection violation, instruction fetch"),
])
def test_page_protections_fault(selftest, mode, expect):
    r = _run(selftest("none"), mode)
    out = r.stdout + r.stderr
    assert "CPU exception 14 (#PF page fault)" in r.stdout, out
    assert expect in r.stdout, out
    assert "FAIL" not in r.stdout, out
    assert re.search(r"^  #0 0x[0-9a-f]{16}", r.stdout, re.M), out
    assert r.returncode != 0, out


@pytest.mark.parametrize("mode", sorted(BUGS))
def test_sanitizer_reports_bug_with_location(selftest, mode):
    san, report, statement, func = BUGS[mode]
    proj = selftest(san)
    r = _run(proj, mode)
    out = r.stdout + r.stderr
    assert f"unicycle: PANIC: {report}" in r.stdout, out
    # Frame #0 as `unicycle run` symbolizes it: the function and line of the bad statement.
    where = f"{proj / 'src' / 'main.c'}:{_line_of(proj / 'src' / 'main.c', statement)}"
    assert re.search(rf"^  #0 0x[0-9a-f]{{16}}\n    0x[0-9a-f]+ {func} at {re.escape(where)}$",
                     r.stdout, re.M), out
    if san == "UBSAN":   # UBSAN's own line names file:line:column
        assert re.search(rf"at {re.escape(where)}:\d+$", r.stdout, re.M), out
    assert r.returncode == 127, out


def test_bugs_not_reported_without_sanitizers(selftest):
    r = _run(selftest("none"), "all-bugs")   # every bug, one boot
    out = r.stdout + r.stderr
    for mode in BUGS:
        assert f"selftest: {mode}: not reported" in r.stdout, out
    assert "KASAN" not in r.stdout and "UBSAN" not in r.stdout, out
    assert r.returncode == ALL_BUGS_STATUS, out
