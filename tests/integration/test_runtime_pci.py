"""PCI enumeration: a NIC behind two PCI-to-PCI bridges is found on the bus the firmware gave
it (through ECAM on q35); i440fx, which has no MCFG, falls back to port I/O, and so does an
MCFG (added with -acpitable) whose window is misaligned or does not decode configuration space."""
import re
import struct

import pytest

from helpers import new_project, unicycle

pytestmark = pytest.mark.qemu

# 00:05.0 bridge br1 -> 02.0 bridge br2 behind it -> 01.0 virtio-net behind that.
BRIDGES = ["-device", "pci-bridge,id=br1,chassis_nr=1,addr=0x5",
           "-device", "pci-bridge,id=br2,bus=br1,chassis_nr=2,addr=0x2",
           "-netdev", "user,id=n1",
           "-device", "virtio-net-pci,netdev=n1,bus=br2,addr=0x1"]


def _run(tmp_path, *qemu_args):
    proj = new_project(tmp_path, "pcihello")
    args = [a for q in qemu_args for a in ("--qemu-arg", q)]
    r = unicycle("run", "-C", proj, "--direct", "--nic", "none", "--timeout", "90", *args, timeout=400)
    return r, r.stdout + r.stderr


def test_nic_behind_nested_bridges_through_ecam(tmp_path):
    r, out = _run(tmp_path, *BRIDGES)
    lines = re.findall(r"^pci (\w{4}):(\w\w):(\w\w)\.(\w) (\w{4}):(\w{4}) class (\S+)", r.stdout,
                       re.M)
    bridges = [(bus, slot) for seg, bus, slot, fn, ven, dev, cls in lines
               if (ven, dev) == ("1b36", "0001")]
    nics = [(seg, bus, slot, fn) for seg, bus, slot, fn, ven, dev, cls in lines
            if (ven, dev) == ("1af4", "1000")]
    assert ("00", "05") in bridges and len(bridges) == 2, out
    # Behind two bridges: neither bus 0 nor the first bridge's secondary bus.
    outer = next(b for b, s in bridges if b != "00")
    assert len(nics) == 1 and nics[0][0] == "0000" and nics[0][2:] == ("01", "0"), out
    assert int(nics[0][1], 16) > int(outer, 16) > 0, out
    assert len(lines) == len(set(lines)), f"a function listed twice:\n{out}"
    assert re.search(rf"^unicycle: PCI: {len(lines)} devices on 1 segment via ECAM$", r.stdout,
                     re.M), out
    assert "Hello from pcihello" in r.stdout, out
    assert r.returncode == 0, out


def test_port_io_without_mcfg(tmp_path):
    r, out = _run(tmp_path, "-machine", "pc")
    assert "MCFG" not in r.stdout, out
    assert re.search(r"^pci 0000:00:00\.0 8086:1237 class 06\.00\.00$", r.stdout, re.M), out
    assert re.search(r"^unicycle: PCI: \d+ devices on 1 segment via port I/O$", r.stdout,
                     re.M), out
    assert r.returncode == 0, out


@pytest.mark.parametrize("base, why", [
    (0xB0080000, "base is not 1 MiB aligned"),
    (0xC0000000, "reads differ from port I/O"),  # not where i440fx decodes anything
])
def test_bad_mcfg_entry_falls_back_to_port_io(tmp_path, base, why):
    # PCI Firmware 3.2 Table 4-3 after the 36-byte header QEMU adds: 8 reserved bytes,
    # then one allocation (base, segment 0, buses 0-255).
    table = tmp_path / "mcfg.bin"
    table.write_bytes(bytes(8) + struct.pack("<QHBBI", base, 0, 0, 255, 0))
    r, out = _run(tmp_path, "-machine", "pc", "-acpitable", f"sig=MCFG,rev=1,data={table}")
    assert (f"unicycle: PCI: MCFG segment 0 buses 00-ff at {base:#x}: {why}, using port I/O"
            in r.stdout), out
    assert re.search(r"^unicycle: PCI: \d+ devices on 1 segment via port I/O$", r.stdout,
                     re.M), out
    assert r.returncode == 0, out
