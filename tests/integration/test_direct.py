"""Direct boot (PVH, no firmware): the same app.elf answers HTTP on q35 and on microvm, says how
long its own start took, gets boot.cfg's settings and the command line, and a boot.cfg that
breaks the rules ends in a panic that names it."""
import http.client
import re
import shutil
import time

import pytest

from helpers import ROOT, Guest, new_project, unicycle
from unicycle import qemu

pytestmark = pytest.mark.qemu

INDEX = b"<html><body><h1>Hello, World!</h1></body></html>"


@pytest.fixture(scope="module")
def hello(tmp_path_factory):
    app = tmp_path_factory.mktemp("direct") / "hh"
    shutil.copytree(ROOT / "examples" / "http-hello", app, ignore=shutil.ignore_patterns("build"))
    r = unicycle("build", "-C", app, "--direct", check=True)
    out = app / "build" / "qemu-x86_64"
    # only what direct boot needs: no bootloader, image or netboot payload
    assert (out / "app.elf").is_file() and (out / "boot.cfg").is_file()
    assert not (out / "BOOTX64.EFI").exists() and not (out / "unicycle.img").exists()
    assert "not built (--direct: app.elf only)" in r.stdout, r.stdout
    return app


def first_200(port, deadline):
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/")
            r = c.getresponse()
            return r.status, r.read()
        except OSError:
            time.sleep(0.05)
    raise AssertionError("no HTTP answer")


@pytest.mark.parametrize("machine", ["q35", "microvm"])
def test_http_hello_boots_directly(hello, machine):
    port = qemu.free_port()
    start = time.monotonic()
    guest = Guest(hello, forwards=[(port, 80)], machine=machine)
    try:
        status, body = first_200(port, start + 30)
        assert (status, body) == (200, INDEX)
        guest.wait_for("ms after entry")
        out = guest.serial()
        assert "boot from direct" in out and "since the PVH entry started" in out, out
        ready = re.search(r"http listening on port 80, ready (\d+)\.(\d) ms after entry", out)
        assert ready and 0 < float(f"{ready[1]}.{ready[2]}") < 5000, out
        if machine == "microvm":
            assert "virtio_mmio.device=" in out and "PCI: 0 devices" in out, out
    finally:
        guest.stop()


GREETER = r"""/* main.c: prints its command line and exits with 7. */
#include <unicycle/unicycle.h>

int app_main(void)
{
	uc_printf("cmdline=[%s]\n", uc_cmdline());
	return 7;
}
"""


@pytest.mark.parametrize("machine", ["q35", "microvm"])
def test_boot_cfg_and_command_line_reach_the_app(tmp_path, machine):
    proj = new_project(tmp_path, "greeter")
    (proj / "src" / "main.c").write_text(GREETER)
    toml = proj / "unicycle.toml"
    text = toml.read_text()
    assert 'cmdline = ""' in text
    toml.write_text(text.replace('cmdline = ""', 'cmdline = "mode=fast"'))
    r = unicycle("run", "-C", proj, "--machine", machine, "--direct", "--timeout", "60",
                 "--qemu-arg=-append", "--qemu-arg=from=vmm", timeout=300)
    assert r.returncode == 7, r.stdout + r.stderr
    # boot.cfg's cmdline first, then the VMM's (microvm adds its virtio-mmio words after ours)
    assert re.search(r"cmdline=\[mode=fast from=vmm( virtio_mmio\.device=\S+)*\]", r.stdout), r.stdout
    assert "app exited with status 7" in r.stderr
    assert not (proj / "build" / "qemu-x86_64" / "unicycle.img").exists()   # run --direct: app.elf only


def test_bad_boot_cfg_is_a_clear_panic(tmp_path):
    proj = new_project(tmp_path, "badcfg")
    unicycle("build", "-C", proj, "--direct", check=True)
    (proj / "build" / "qemu-x86_64" / "boot.cfg").write_text("cmdline = x\nnet = carrier-pigeon\n")
    r = unicycle("run", "-C", proj, "--direct", "--no-build", "--timeout", "60", timeout=300)
    assert "boot.cfg (PVH module 0) line 2 key net" in r.stdout, r.stdout
    assert "panic" in r.stdout.lower(), r.stdout
    assert "Hello from badcfg" not in r.stdout
    assert r.returncode == qemu.EXIT_CRASHED, r.stdout + r.stderr
