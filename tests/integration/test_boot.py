"""Boot under QEMU: a fresh `unicycle new` project prints its line and its status comes back
as `unicycle run`'s exit code, through OVMF and the image and booted directly; time-outs,
crashes (symbolized) and bad ELFs are reported. Direct boot (PVH) wherever the firmware is not
what is tested: the first boot and the bad ELF go through OVMF and BOOTX64.EFI."""
import subprocess

import pytest

from helpers import new_project, unicycle

pytestmark = pytest.mark.qemu


def test_new_project_boots_and_exits_with_its_status(tmp_path):
    proj = new_project(tmp_path, "bootme")
    r = unicycle("run", "-C", proj, "--timeout", "120", timeout=400)
    assert "Hello from bootme" in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0, r.stdout + r.stderr
    assert "app exited with status 0" in r.stderr

    main = proj / "src" / "main.c"
    main.write_text(main.read_text().replace("return 0;", "return 42;"))
    r = unicycle("run", "-C", proj, "--direct", "--timeout", "120", timeout=400)
    assert r.returncode == 42, r.stdout + r.stderr
    assert "unicycle: exit 42" in r.stdout


def test_timeout_stops_qemu_and_says_so(tmp_path):
    proj = new_project(tmp_path, "spin")
    main = proj / "src" / "main.c"
    main.write_text("#include <unicycle/unicycle.h>\nint app_main(void)\n{\n"
                    "\tuc_printf(\"spinning\\n\");\n\tfor (;;)\n\t\t__asm__ volatile(\"pause\");\n}\n")
    r = unicycle("run", "-C", proj, "--direct", "--timeout", "15", timeout=200)
    assert r.returncode == 124, r.stdout + r.stderr
    assert "timed out after 15 s; QEMU stopped" in r.stderr
    assert "spinning" in r.stdout
    left = subprocess.run(["pgrep", "-f", str(proj / "build")], capture_output=True, text=True)
    assert left.stdout.strip() == "", "QEMU still running after the time-out"


def test_bad_elf_is_refused_by_the_bootloader(tmp_path):
    from unicycle import image
    proj = new_project(tmp_path, "badelf")
    unicycle("build", "-C", proj, check=True)
    out = proj / "build" / "qemu-x86_64"
    bad = tmp_path / "app.elf"
    data = bytearray((out / "app.elf").read_bytes())
    data[18] = 0x28  # e_machine = EM_ARM
    bad.write_bytes(bytes(data))
    image.package(out / "BOOTX64.EFI", bad, out / "boot.cfg", out / "unicycle.img")
    r = unicycle("run", "-C", proj, "--no-build", "--timeout", "30", timeout=200)
    assert r.returncode == 124, r.stdout + r.stderr   # never jumped, never exited
    assert "unicycle-boot" in r.stdout and "machine" in r.stdout.lower(), r.stdout
    assert "unicycle: exit" not in r.stdout


CRASH_APP = r"""/* main.c: writes through a wild pointer on purpose. */
#include <unicycle/unicycle.h>

static volatile unsigned long *wild = (unsigned long *)0x700000000000UL;

__attribute__((noinline)) static void poke(void)
{
	*wild = 1;  /* line 8 */
}

int app_main(void)
{
	poke();
	uc_printf("not reached\n");  /* keeps poke() from being a tail call */
	return 0;
}
"""


def test_page_fault_is_reported_and_symbolized(tmp_path):
    proj = new_project(tmp_path, "crashy")
    (proj / "src" / "main.c").write_text(CRASH_APP)
    r = unicycle("run", "-C", proj, "--direct", "--timeout", "120", timeout=400)
    out = r.stdout
    assert "CPU exception 14" in out and "page fault" in out, out
    assert "CR2 0x700000000000" in out and "write" in out, out
    frames = [l.strip() for l in out.splitlines() if " at /" in l and l.startswith("    0x")]
    assert frames and frames[0].split()[1] == "poke" and frames[0].endswith("src/main.c:8"), out
    assert [f.split()[1] for f in frames[1:3]] == ["app_main", "kernel_main"], frames
    assert r.returncode == 127 and "the app crashed" in r.stderr, r.stderr


OVERFLOW_APP = r"""/* main.c: recurses until the stack runs into its guard page. */
#include <unicycle/unicycle.h>

__attribute__((noinline)) static unsigned long deep(volatile unsigned long n)
{
	volatile char pad[512];

	pad[0] = (char)n;
	return deep(n + 1) + pad[0];
}

int app_main(void)
{
	uc_printf("recursing\n");
	return (int)deep(0);
}
"""


def test_stack_overflow_is_caught_by_the_guard_page(tmp_path):
    proj = new_project(tmp_path, "overflow")
    (proj / "src" / "main.c").write_text(OVERFLOW_APP)
    r = unicycle("run", "-C", proj, "--direct", "--timeout", "120", timeout=400)
    out = r.stdout
    assert "recursing" in out, out
    # The fault lands on the unmapped guard page; its report comes from the
    # fault handler's own (IST) stack instead of a triple-fault reset.
    assert "CPU exception" in out and ("#PF" in out or "#DF" in out), out
    assert r.returncode == 127, r.stdout[-2000:] + r.stderr
