"""CONFIG_WATCHDOG under QEMU: a stalled event loop is reported (symbolized backtrace of where
the CPU is stuck; by the LAPIC timer interrupt, or by the PIT's NMI when interrupts are off) and
the i6300esb (or ICH9's TCO) resets the machine; a healthy loop is never reset.

examples/selftest built with WATCHDOG on, a 400 ms limit (the i6300esb resets after 1.2 s
unfed), booted directly, the mode on the command line (-append; see its src/watchdog.c).
QEMU runs with its reboot action "reset" instead of `unicycle run`'s -no-reboot, so the
watchdog's reset boots the app a second time: there the i6300esb's WDT_TIMEOUT bit says the
reset was the watchdog's (not a triple fault or a reboot), and the app exits through
isa-debug-exit with a status saying whether that reset was wanted (0 in the stall modes, 42 in
wd-healthy).
"""
import re
import shutil
import subprocess
import time

import pytest

from helpers import ROOT, unicycle

pytestmark = pytest.mark.qemu

LIMIT_MS = 400
BANNER = "unicycle: selftest starting on qemu-x86_64"
REPORT = "unicycle: PANIC: watchdog: the event loop stalled"
RESET_SEEN = "i6300esb: the last reset was a watchdog timeout"


# Two builds cover the combinations: "halt" (POLL off) leaves the NMI out, so only the LAPIC
# timer wakes a halted loop and checks it; "poll" (POLL on) has the PIT's NMI as well.
BUILDS = {"halt": "POLL = false\nWATCHDOG_NMI = false", "poll": "POLL = true\nWATCHDOG_NMI = true"}
# One more, for one test: ICH9's TCO in place of the i6300esb.
TCO_BUILD = "POLL = true\nWATCHDOG_NMI = true\nITCO = true\nI6300ESB = false"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """"halt" or "poll" -> a built selftest project with the watchdog on (one build each)."""
    cache = {}

    def get(kind: str):
        if kind not in cache:
            proj = tmp_path_factory.mktemp(f"wd-{kind}") / "selftest"
            shutil.copytree(ROOT / "examples" / "selftest", proj,
                            ignore=shutil.ignore_patterns("build"))
            toml = proj / "unicycle.toml"
            toml.write_text(toml.read_text().replace(
                "POLL = false",
                f"{BUILDS.get(kind, TCO_BUILD)}\nWATCHDOG = true\n"
                f"WATCHDOG_TIMEOUT_MS = {LIMIT_MS}"))
            unicycle("build", "-C", proj, "--direct", check=True, timeout=300)
            cache[kind] = proj
        return cache[kind]
    return get


def _run(proj, mode):
    r = unicycle("run", "-C", proj, "--direct", "--timeout", "30",
                 "--qemu-arg=-action", "--qemu-arg=reboot=reset",
                 "--qemu-arg=-append", f"--qemu-arg={mode}", timeout=120)
    return r, r.stdout + r.stderr


@pytest.mark.parametrize("kind", BUILDS)
def test_stall_is_reported_then_the_watchdog_resets(built, kind):
    r, out = _run(built(kind), "wd-stall")
    assert r.returncode == 0, out
    boots = r.stdout.split(BANNER)[1:]
    assert len(boots) == 2, f"not booted exactly twice:\n{out}"
    first, second = boots
    m = re.search(rf"{re.escape(REPORT)}: no pass for (\d+) ms \(limit {LIMIT_MS} ms\)", first)
    assert m, out
    # Checked every quarter limit: seen after one limit and a quarter at most (twice the limit
    # allowed: a loaded host delays the vCPU).
    assert LIMIT_MS <= int(m.group(1)) <= 2 * LIMIT_MS, out
    # Frame #0 is the interrupted RIP, symbolized by `unicycle run` on the next line.
    assert re.search(r"^  #0 0x[0-9a-f]{16}\n +0x[0-9a-f]+ st_wd_spin at .*watchdog\.c:\d+",
                     first, re.M), out
    assert "st_wd_stall at" in first, out
    assert "i6300esb resets the machine" in first, out
    assert RESET_SEEN not in first and RESET_SEEN in second, out
    assert "this boot follows a watchdog reset" in second, out


@pytest.mark.parametrize("kind", BUILDS)
def test_stall_with_interrupts_off_is_reset(built, kind):
    """No timer interrupt gets through: the PIT's NMI reports the stall (WATCHDOG_NMI), or
    nothing does; either way the i6300esb resets the machine."""
    r, out = _run(built(kind), "wd-stall-irqoff")
    assert r.returncode == 0, out
    boots = r.stdout.split(BANNER)[1:]
    assert len(boots) == 2, f"not booted exactly twice:\n{out}"
    first, second = boots
    assert "stalling the loop in st_wd_spin, interrupts off" in first, out
    assert RESET_SEEN in second, out
    if kind == "halt":
        assert REPORT not in r.stdout, out
        return
    assert re.search(rf"{re.escape(REPORT)}: no pass for \d+ ms \(limit {LIMIT_MS} ms\), "
                     r"CPU 0 at RIP 0x[0-9a-f]+ with interrupts off \(seen by NMI\)", first), out
    assert re.search(r"^  #0 0x[0-9a-f]{16}\n +0x[0-9a-f]+ st_wd_spin at ", first, re.M), out


@pytest.mark.parametrize("kind", BUILDS)
def test_healthy_loop_is_not_reset(built, kind):
    """100 ms of work in one callback, then 2.9 s without timers (halted with POLL off: only
    the watchdog's own tick wakes the loop to feed the i6300esb, "halt" having no NMI):
    7.5 limits, no reset."""
    r, out = _run(built(kind), "wd-healthy")
    assert r.returncode == 0, out
    assert "selftest: watchdog: healthy for 3000 ms" in r.stdout, out
    assert REPORT not in r.stdout and RESET_SEEN not in r.stdout, out
    assert r.stdout.count(BANNER) == 1, out
    assert f"loop stall limit {LIMIT_MS} ms, i6300esb resets after {3 * LIMIT_MS} ms" \
        in r.stdout, out


def test_halted_after_exit_is_reset_without_a_report(built, tmp_path):
    """As on hardware (QEMU without the isa-debug-exit device): uc_exit() halts the CPU, which is
    no stall (no report, although the heartbeat stops), and the unfed i6300esb resets the
    machine. The NMI (on in "poll") keeps coming after the exit. Serial to a file, unsymbolized:
    QEMU never ends by itself here."""
    from unicycle import build as build_mod, qemu
    spec = qemu.spec_for(build_mod.open_project(built("poll")), boot="direct", append="wd-exit")
    spec.exit_device = None
    spec.extra += ["-action", "reboot=reset"]
    log = tmp_path / "serial.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen(qemu.command(spec), stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and "this boot follows a watchdog reset" not in \
                log.read_text(errors="replace"):
            time.sleep(0.2)
    finally:
        qemu._stop(proc)
    out = log.read_text(errors="replace")
    boots = out.split(BANNER)[1:]
    assert len(boots) >= 2, f"no reset after the exit:\n{out}"
    assert "unicycle: exit 0" in boots[0] and RESET_SEEN in boots[1], out
    assert REPORT not in out, out


def test_stall_is_reset_by_the_tco(built):
    """ITCO=y I6300ESB=n: `unicycle run` clears ICH9-LPC's noreboot strap, the driver clears
    GCS.NO_REBOOT and starts the TCO timer (2 ticks of 0.6 s, the least it takes, twice); the
    stall is reported, then the TCO's second expiry resets the machine, and the second boot
    reads TCO2_STS.SECOND_TO_STS. (With either NO_REBOOT left set QEMU never resets: the run
    times out.)"""
    r, out = _run(built("tco"), "wd-stall")
    assert r.returncode == 0, out
    boots = r.stdout.split(BANNER)[1:]
    assert len(boots) == 2, f"not booted exactly twice:\n{out}"
    first, second = boots
    assert "itco: ICH9 TCO at I/O" in first and "i6300esb" not in out, out
    assert "itco: 2 ticks of 0.6 s, twice: resets after about 2400 ms unfed" in first, out
    assert re.search(rf"{re.escape(REPORT)}: no pass for \d+ ms \(limit {LIMIT_MS} ms\)",
                     first), out
    assert "itco resets the machine" in first, out
    tco_seen = "itco: the last reset was a TCO watchdog timeout"
    assert tco_seen not in first and tco_seen in second, out
    assert "this boot follows a watchdog reset" in second, out
