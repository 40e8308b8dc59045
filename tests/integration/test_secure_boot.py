"""UEFI Secure Boot under QEMU (Debian's Secure-Boot OVMF, snakeoil key in PK/KEK/db): a loader
signed through unicycle.toml's [secure-boot] boots the app; an unsigned loader and a signed one
changed by one byte afterwards are refused by the firmware. One build for the module; the
refused loaders are packaged into images of their own next to it."""
import os
import subprocess
from pathlib import Path

import pytest

from helpers import new_project, unicycle

pytestmark = pytest.mark.qemu

SNAKEOIL_KEY = "/usr/share/ovmf/PkKek-1-snakeoil.key"
SNAKEOIL_CERT = "/usr/share/ovmf/PkKek-1-snakeoil.pem"
SNAKEOIL_PASSPHRASE = "snakeoil"          # Debian's ovmf README.Debian
# What OVMF's boot manager prints when the image's signature is not in db (or does not match):
# LoadImage() returns EFI_ACCESS_DENIED (UEFI 2.10 sec. 7.4, LoadImage()).
REFUSED = "): Access Denied"
REFUSAL_TIMEOUT = 60                      # seconds; the line comes some 8-12 s after start
TAMPER_OFFSET = 0x1000                    # inside .text (file offset 0x400 on): hashed


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A hello project whose manifest signs the loader with the snakeoil key; built once."""
    proj = new_project(tmp_path_factory.mktemp("secboot"), "sbhello")
    with open(proj / "unicycle.toml", "a") as f:
        f.write(f'\n[secure-boot]\nkey = "{SNAKEOIL_KEY}"\ncert = "{SNAKEOIL_CERT}"\n')
    os.environ["UNICYCLE_EFI_KEY_PASSPHRASE"] = SNAKEOIL_PASSPHRASE
    try:
        r = unicycle("build", "-C", proj, check=True)
    finally:
        del os.environ["UNICYCLE_EFI_KEY_PASSPHRASE"]
    assert "signed for Secure Boot by O=SnakeOil" in r.stdout, r.stdout
    return proj


def _out(proj: Path) -> Path:
    return proj / "build" / "qemu-x86_64"


def _sbverify(efi: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["sbverify", "--cert", SNAKEOIL_CERT, str(efi)], capture_output=True,
                          text=True)


def _image_with(proj: Path, loader: Path, name: str) -> Path:
    from unicycle import image
    out = _out(proj)
    return image.package(loader, out / "app.elf", out / "boot.cfg", out / name)


def _boot_refused(proj: Path, img: Path, workdir: Path) -> str:
    """Boot `img` under Secure Boot as `unicycle run --secure-boot` does (qemu.run: stops at
    the firmware's refusal); the console."""
    from unicycle import build, qemu
    spec = qemu.spec_for(build.open_project(proj), boot="disk", workdir=workdir,
                         secure_boot=True)
    spec.image = img
    log = workdir / "serial.log"
    with open(log, "wb") as f:
        out = qemu.run(spec, timeout=REFUSAL_TIMEOUT, stdout=f)
    console = log.read_text(errors="replace")
    assert out.refused and not out.timed_out, console[-3000:]
    assert out.exit_code == qemu.EXIT_NO_STATUS
    return console


def test_signed_loader_is_in_the_image_and_the_netboot_tree(signed):
    out = _out(signed)
    loader = out / "BOOTX64.signed.efi"
    assert _sbverify(loader).returncode == 0
    assert _sbverify(out / "BOOTX64.EFI").returncode != 0        # the unsigned one stays apart
    assert (out / "netboot" / "BOOTX64.EFI").read_bytes() == loader.read_bytes()
    got = out / "from-image.efi"
    subprocess.run(["mcopy", "-n", "-i", f"{out / 'unicycle.img'}@@1M",
                    "::/EFI/BOOT/BOOTX64.EFI", str(got)], check=True,
                   env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    assert got.read_bytes() == loader.read_bytes()
    for p in out.rglob("*"):
        assert b"PRIVATE KEY" not in (p.read_bytes() if p.is_file() else b""), p


def test_signed_loader_boots_under_secure_boot(signed):
    r = unicycle("run", "-C", signed, "--no-build", "--secure-boot", "--timeout", "90",
                 timeout=200)
    assert "Hello from sbhello" in r.stdout, r.stdout[-3000:] + r.stderr
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "unicycle-boot" in r.stdout and "Access Denied" not in r.stdout
    assert "app exited with status 0" in r.stderr and "not signed" not in r.stderr


def test_unsigned_loader_is_refused(signed, tmp_path):
    img = _image_with(signed, _out(signed) / "BOOTX64.EFI", "unsigned.img")
    console = _boot_refused(signed, img, tmp_path)
    assert REFUSED in console, console[-3000:]
    assert "unicycle-boot" not in console and "Hello from" not in console


def test_tampered_loader_is_refused(signed, tmp_path):
    bad = tmp_path / "tampered.efi"
    data = bytearray((_out(signed) / "BOOTX64.signed.efi").read_bytes())
    data[TAMPER_OFFSET] ^= 0x01
    bad.write_bytes(bytes(data))
    assert _sbverify(bad).returncode != 0, "the byte changed is not covered by the signature"
    console = _boot_refused(signed, _image_with(signed, bad, "tampered.img"), tmp_path)
    assert REFUSED in console, console[-3000:]
    assert "unicycle-boot" not in console and "Hello from" not in console
