"""`unicycle run` host options, booted directly: with `--net tap:IFNAME` (root, inside a network
namespace the test makes) the guest's NIC joins the tap device and answers HTTP at its static
address, and a second guest on the same tap is refused in one line while the first holds it;
`--memory` and `--smp` reach the guest."""
import re
import signal
import subprocess
import sys
import time

import pytest

from helpers import http_hello, new_project, tap_netns, unicycle

pytestmark = pytest.mark.qemu

TAP = "uctap7"
HOST = "10.99.7.1"
GUEST = "10.99.7.2"


@pytest.fixture(scope="module")
def static_app(tmp_path_factory):
    app = http_hello(tmp_path_factory.mktemp("tapnet") / "hh", (GUEST, HOST))
    unicycle("build", "-C", app, check=True)
    return app


def test_guest_on_a_tap_answers_and_a_busy_tap_is_refused(static_app):
    with tap_netns("uc-tapnet", TAP, f"{HOST}/24") as ns:
        inside = ["ip", "netns", "exec", ns]
        run = subprocess.Popen([*inside, sys.executable, "-m", "unicycle", "run", "-C",
                                static_app, "--direct", "--no-build", "--net", f"tap:{TAP}",
                                "--timeout", "120"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            answer = None
            end = time.monotonic() + 60
            while time.monotonic() < end and run.poll() is None:
                r = subprocess.run([*inside, "curl", "-sS", "--max-time", "2",
                                    f"http://{GUEST}/"], capture_output=True, text=True)
                if r.returncode == 0:
                    answer = r.stdout
                    break
                time.sleep(0.5)
            assert answer and "Hello, World!" in answer, run.poll()
            busy = subprocess.run([*inside, sys.executable, "-m", "unicycle", "run", "-C",
                                   static_app, "--direct", "--no-build", "--net", f"tap:{TAP}"],
                                  capture_output=True, text=True, timeout=60)
            assert busy.returncode == 1
            assert busy.stderr.strip() == (f"error: --net tap:{TAP}: cannot attach to {TAP}: "
                                           f"it is in use (another QEMU attached to it?)")
        finally:
            run.send_signal(signal.SIGINT)      # unicycle run stops its QEMU
            out, err = run.communicate(timeout=30)
        assert f"net0 {GUEST}/24 via static" in out, out + err


def test_memory_and_smp_reach_the_guest(tmp_path):
    proj = new_project(tmp_path, "sized")
    r = unicycle("run", "-C", proj, "--direct", "--memory", "200", "--smp", "2",
                 "--timeout", "60", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    ram = re.search(r"(\d+) MiB usable RAM", r.stdout)
    assert ram and 190 <= int(ram[1]) < 200, r.stdout       # the board's default is 512
    assert " 2 CPUs," in r.stdout, r.stdout


SPIN_APP = r"""/* main.c: prints a line, then spins. */
#include <unicycle/unicycle.h>

int app_main(void)
{
	uc_printf("spinning now\n");
	for (;;)
		__asm__ volatile("pause");
}
"""


def test_sigterm_stops_qemu_too(tmp_path):
    """QEMU runs in a session of its own: a SIGTERM to `unicycle run` must not leave it behind."""
    proj = new_project(tmp_path, "termed")
    (proj / "src" / "main.c").write_text(SPIN_APP)
    unicycle("build", "-C", proj, check=True)
    console = tmp_path / "console.txt"
    with open(console, "w") as out:
        run = subprocess.Popen([sys.executable, "-m", "unicycle", "run", "-C", proj, "--direct",
                                "--no-build"], stdout=out, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 60
        while "spinning now" not in console.read_text() and time.monotonic() < end:
            assert run.poll() is None, console.read_text()
            time.sleep(0.2)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert "spinning now" in console.read_text()
    assert run.returncode == 143, err
    assert b"Traceback" not in err, err
    left = subprocess.run(["pgrep", "-f", str(proj / "build")], capture_output=True, text=True)
    assert left.stdout.strip() == "", "QEMU still running after SIGTERM"
