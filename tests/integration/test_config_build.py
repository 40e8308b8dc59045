"""Only what is enabled gets built: CONFIG_NET off leaves lwIP and every NIC driver
out of app.elf, and the image's payload shrinks by a measured amount."""
import re
import subprocess

from helpers import new_project, unicycle


def symbols(elf) -> set[str]:
    out = subprocess.run(["nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def text_data_size(elf) -> int:
    out = subprocess.run(["size", str(elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = map(int, out.splitlines()[1].split()[:3])
    return text + data


def test_net_off_leaves_lwip_and_drivers_out(tmp_path):
    proj = new_project(tmp_path, "small")
    unicycle("build", "-C", proj, check=True)
    off = proj / "build" / "qemu-x86_64" / "app.elf"
    off_syms = symbols(off)
    off_size = text_data_size(off)
    ninja = (proj / "build" / "qemu-x86_64" / "build.ninja").read_text()
    assert "lwip/src" not in ninja and "drivers/virtio" not in ninja

    r = unicycle("build", "-C", proj, "--set", "NET=y", check=True)
    on = proj / "build" / "qemu-x86_64" / "app.elf"
    on_syms = symbols(on)
    on_size = text_data_size(on)
    lwip = {"tcp_input", "etharp_output", "dhcp_start", "ip4_input"}
    drivers = {s for s in on_syms if re.match(r"(virtio_net|e1000e)_", s)}
    assert lwip <= on_syms and drivers, "NET=y must link lwIP and the board's NIC drivers"
    assert not (lwip & off_syms), lwip & off_syms
    assert not (drivers & off_syms), drivers & off_syms
    assert on_size - off_size > 50_000, (off_size, on_size)
    print(f"\napp.elf text+data: NET=n {off_size} bytes, NET=y {on_size} bytes "
          f"(+{on_size - off_size})")


def test_block_off_leaves_the_block_layer_and_disk_drivers_out(tmp_path):
    proj = new_project(tmp_path, "nodisk")
    unicycle("build", "-C", proj, check=True)
    elf = proj / "build" / "qemu-x86_64" / "app.elf"
    off_syms, off_size = symbols(elf), text_data_size(elf)
    ninja = (proj / "build" / "qemu-x86_64" / "build.ninja").read_text()
    for src in ("block/blkdev.c", "drivers/virtio", "drivers/ahci.c", "drivers/nvme.c"):
        assert src not in ninja, src

    unicycle("build", "-C", proj, "--set", "BLOCK=y", check=True)
    on_syms, on_size = symbols(elf), text_data_size(elf)
    block = {s for s in on_syms if re.match(r"(blkdev|vblk|ahci|nvme|virtio_pci|virtio_mmio)_", s)}
    for needed in ("blkdev_register", "vblk_attach", "ahci_probe", "nvme_probe",
                   "virtio_pci_start", "virtio_mmio_scan"):
        assert needed in block, f"BLOCK=y must link {needed}"
    assert not (block & off_syms), block & off_syms
    assert on_size - off_size > 10_000, (off_size, on_size)
    print(f"\napp.elf text+data: BLOCK=n {off_size} bytes, BLOCK=y {on_size} bytes "
          f"(+{on_size - off_size})")
