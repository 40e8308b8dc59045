"""SMP: the selftest's allocator stress on 4 CPUs at once (examples/selftest with SMP=y),
CONFIG_NR_CPUS capping the CPUs started, and spinlocks/atomics compiling to plain code
without CONFIG_SMP (objdump of a tiny app)."""
import re
import shutil
import subprocess

import pytest

from helpers import ROOT, new_project, unicycle


def _selftest(tmp_path):
    proj = tmp_path / "selftest"
    shutil.copytree(ROOT / "examples" / "selftest", proj, ignore=shutil.ignore_patterns("build"))
    return proj


@pytest.mark.qemu
def test_allocator_stress_on_four_cpus(tmp_path):
    proj = _selftest(tmp_path)
    r = unicycle("run", "-C", proj, "--direct", "--set", "SMP=y", "--smp", "4", "--timeout", "120",
                 timeout=400)
    out = r.stdout + r.stderr
    assert "unicycle: 4 CPUs online" in r.stdout, out
    assert re.search(r"selftest: smp: allocator stress on 4 CPUs: 80000 operations, .*"
                     r"(\d+) bytes in use before and \1 after: passed", r.stdout), out
    assert "selftest: all checks passed" in r.stdout, out
    assert "FAIL" not in r.stdout, out
    assert r.returncode == 0, out


@pytest.mark.qemu
def test_nr_cpus_caps_the_cpus_started(tmp_path):
    proj = _selftest(tmp_path)
    r = unicycle("run", "-C", proj, "--direct", "--set", "SMP=y", "--set", "NR_CPUS=2", "--smp", "4",
                 "--timeout", "120", timeout=400)
    out = r.stdout + r.stderr
    assert "unicycle: 2 CPUs online (4 in the MADT, CONFIG_NR_CPUS 2)" in r.stdout, out
    assert "selftest: smp: allocator stress on 2 CPUs" in r.stdout, out
    assert r.returncode == 0, out


AP_FAULT_APP = r"""
#include <unicycle/cpu.h>
#include <unicycle/unicycle.h>

__attribute__((noinline)) static void ap_crash(void *arg)
{
	uc_printf("apfault: on CPU %u\n", uc_cpu_id());
	*(volatile int *)arg = 1;
}

int app_main(void)
{
	if (uc_cpu_run(2, ap_crash, (void *)0) != 0)
		return 3;
	uc_run();
}
"""


@pytest.mark.qemu
def test_fault_on_an_ap_is_reported(tmp_path):
    """A NULL write from work run on CPU 2: the report names the CPU and the
    backtrace walks that CPU's own stack down to the event loop."""
    proj = new_project(tmp_path, "apfault")
    (proj / "src" / "main.c").write_text(AP_FAULT_APP)
    r = unicycle("run", "-C", proj, "--direct", "--set", "SMP=y", "--smp", "4", "--timeout", "120",
                 timeout=400)
    out = r.stdout + r.stderr
    assert "apfault: on CPU 2" in r.stdout, out
    assert "CPU exception 14 (#PF page fault)" in r.stdout, out
    assert re.search(r"^  on CPU 2 \(APIC \d+\)", r.stdout, re.M), out
    assert re.search(r"ap_crash at .*main\.c", r.stdout), out
    assert re.search(r"loop_pass at .*loop\.c", r.stdout), out
    assert r.returncode != 0, out


LOCKS_APP = r"""
#include <unicycle/atomic.h>
#include <unicycle/unicycle.h>

static uc_spinlock_t lock = UC_SPINLOCK_INIT;
unsigned counter, hits;

__attribute__((noinline)) void locked_inc(void)
{
	uc_spin_lock(&lock);
	counter++;
	uc_spin_unlock(&lock);
	uc_atomic_add(&hits, 1);
}

int app_main(void)
{
	locked_inc();
	return counter == 1 && hits == 1 ? 0 : 1;
}
"""


def _disassemble(elf, func):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(rf"^[0-9a-f]+ <{func}>:\n(.*?)(?:\n\n|\Z)", out, re.M | re.S)
    assert m, f"{func} not in {elf}"
    return m.group(1)


def test_locks_vanish_without_smp(tmp_path):
    proj = new_project(tmp_path, "locks")
    (proj / "src" / "main.c").write_text(LOCKS_APP)
    elf = proj / "build" / "qemu-x86_64" / "app.elf"
    found = {}
    for smp in ("n", "y"):
        unicycle("build", "-C", proj, "--direct", "--set", f"SMP={smp}", check=True)
        body = _disassemble(elf, "locked_inc")
        found[smp] = {
            "lock": bool(re.search(r"\block\b", body)),
            "xchg": "xchg" in body,
            "pause": "pause" in body,
        }
        print(f"\nlocked_inc with SMP={smp}:\n{body}")
    assert not any(found["n"].values()), found
    assert all(found["y"].values()), found
