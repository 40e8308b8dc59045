"""`unicycle debug` and `unicycle run --gdb`, driven by gdb in batch mode through the same code
path as an interactive session: a breakpoint in app_main is hit, a local is printed with its
value, `continue` lets the app finish and its status comes back; a running guest is attached
to later, a global changed from gdb, and the app ends as told. Booted directly (PVH)."""
import subprocess
import sys
import time

import pytest

from helpers import new_project, unicycle
from unicycle import qemu

pytestmark = pytest.mark.qemu

LOCAL_APP = r"""/* main.c: a local variable for gdb to print. */
#include <unicycle/unicycle.h>

int app_main(void)
{
	volatile int answer = 41;

	answer = answer + 1;
	uc_printf("answer is %d\n", answer);
	return 3;
}
"""

STEPS = """break app_main
continue
next
next
info locals
print answer
continue
"""


def no_qemu_left(proj):
    left = subprocess.run(["pgrep", "-f", str(proj / "build")], capture_output=True, text=True)
    return left.stdout.strip() == ""


@pytest.mark.parametrize("machine, ovmf", [("q35", False), ("microvm", False), ("q35", True)])
def test_breakpoint_local_and_exit_status(tmp_path, machine, ovmf):
    """Direct boot on both machines, and through OVMF and the bootloader (--ovmf): the
    breakpoint set before the firmware ran is hit once the runtime runs."""
    proj = new_project(tmp_path, "dbg")
    (proj / "src" / "main.c").write_text(LOCAL_APP)
    script = tmp_path / "steps.gdb"
    script.write_text(STEPS)
    r = unicycle("debug", "-C", proj, "--machine", machine, *(["--ovmf"] if ovmf else []),
                 "--gdb-batch", script, timeout=300)
    out = r.stdout
    assert "Breakpoint 1, app_main () at " in out and "src/main.c:6" in out, out + r.stderr
    assert "answer = 42" in out and "$1 = 42" in out, out
    assert "answer is 42" in out, out           # the app ran on after `continue`
    assert r.returncode == 3, out + r.stderr
    assert "unicycle: app exited with status 3" in r.stderr, r.stderr
    assert "gdbstub on 127.0.0.1:" in r.stderr, r.stderr
    if ovmf:
        assert "unicycle-boot" in out and "symbols apply once the runtime runs" in r.stderr
    else:
        assert "pvh_entry32" in r.stderr and "unicycle-boot" not in out, r.stderr
    assert no_qemu_left(proj)


WAITER_APP = r"""/* main.c: spins until gdb sets `go`, then exits with it. */
#include <unicycle/unicycle.h>

volatile int go;

int app_main(void)
{
	uc_printf("waiting for gdb\n");
	while (!go)
		__asm__ volatile("pause");
	return go;
}
"""


def test_run_gdb_attaches_to_a_running_guest(tmp_path):
    proj = new_project(tmp_path, "waiter")
    (proj / "src" / "main.c").write_text(WAITER_APP)
    unicycle("build", "-C", proj, check=True)
    port = qemu.free_port()
    console = tmp_path / "console.txt"
    with open(console, "w") as out:
        run = subprocess.Popen([sys.executable, "-m", "unicycle", "run", "-C", proj,
                                "--direct", "--no-build", "--gdb", str(port), "--timeout", "120"],
                               stdout=out, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 60             # until the app spins, past .bss clearing
        while "waiting for gdb" not in console.read_text() and time.monotonic() < end:
            assert run.poll() is None, console.read_text()
            time.sleep(0.2)
        elf = proj / "build" / "qemu-x86_64" / "app.elf"
        g = subprocess.run(["gdb", "-nx", "-batch", str(elf),
                            "-ex", f"target remote 127.0.0.1:{port}", "-ex", "print go",
                            "-ex", "set var go = 9", "-ex", "detach"],
                           capture_output=True, text=True, timeout=60)
        assert "$1 = 0" in g.stdout, g.stdout + g.stderr
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    out = console.read_text()
    assert "waiting for gdb" in out and "exit 9" in out, out
    assert f"gdbstub on 127.0.0.1:{port}; attach with: gdb {elf} -ex " \
           f"'target remote 127.0.0.1:{port}'" in err, err
    assert run.returncode == 9, out + err
    assert no_qemu_left(proj)
