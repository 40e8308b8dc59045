"""Signed payloads under QEMU: a project with a key (`unicycle keys generate`) and
require-signature = true, built once; its image and netboot tree are then altered
the ways an attacker or a mix-up would, and OVMF boots each through BOOTX64.EFI.
The bootloader must boot the signed build and refuse, with one console line
naming the problem, a missing signature, another key's signature, a corrupted
signature, an altered payload.cfg, another build's boot.cfg or app.elf, and an
older signed payload once a newer one has booted (the rollback floor in the
firmware's NVRAM). The same refusals on the PXE path, over QEMU's TFTP. Two boots run at once.
Boots through OVMF on purpose: the bootloader is what is tested."""
import concurrent.futures
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import new_project, unicycle

pytestmark = pytest.mark.qemu

REFUSAL_WAIT = 150         # OVMF to the loader's verdict: ~5 s under TCG, much slower when loaded
APP_DONE = "unicycle: exit 0"


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """A new project with its own key, require-signature on, built once."""
    base = tmp_path_factory.mktemp("signing")
    proj = new_project(base, "signedapp")
    key = base / "keys" / "signedapp.pem"
    r = unicycle("keys", "generate", "-C", proj, "--out", key, check=True)
    assert "mode 0600" in r.stdout and oct(key.stat().st_mode & 0o777) == "0o600"
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text().replace("[signing]\n", "[signing]\nrequire-signature = true\n"))
    unicycle("build", "-C", proj, check=True, timeout=600)
    return proj, key


def _esp_offset():
    from unicycle import image
    return image.ESP_START * image.SECTOR


class Boot:
    """QEMU booting a disk image or a TFTP tree through OVMF; serial into a file."""

    def __init__(self, proj: Path, workdir: Path, image: Path | None = None,
                 tftp: Path | None = None, keep_nvram=False):
        from unicycle import build, qemu
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / "serial.log"
        if tftp:
            spec = qemu.spec_for(build.open_project(proj), boot="net", workdir=workdir,
                                 netdev=f"user,id=net0,tftp={tftp},bootfile=BOOTX64.EFI")
        else:
            spec = qemu.spec_for(build.open_project(proj), boot="disk", image=image,
                                 workdir=workdir, keep_nvram=keep_nvram)
        self.out = open(self.log, "wb")
        self.proc = subprocess.Popen(qemu.command(spec), stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def serial(self) -> str:
        return self.log.read_text(errors="replace")

    def until(self, *texts, timeout=REFUSAL_WAIT) -> str:
        """Wait for any of `texts` (or QEMU's exit), stop QEMU, return the console."""
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end and self.proc.poll() is None:
                if any(t in self.serial() for t in texts):
                    break
                time.sleep(0.3)
            return self.serial()
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.out.close()


def _image_copy(proj: Path, tmp: Path) -> Path:
    img = tmp / "unicycle.img"
    shutil.copyfile(proj / "build" / "qemu-x86_64" / "unicycle.img", img)
    return img


def _esp_put(img: Path, dest: str, data: bytes, tmp: Path):
    src = tmp / Path(dest).name
    src.write_bytes(data)
    subprocess.run(["mcopy", "-o", "-i", f"{img}@@{_esp_offset()}", str(src), f"::/{dest}"],
                   check=True, capture_output=True)


def _esp_del(img: Path, dest: str):
    subprocess.run(["mdel", "-i", f"{img}@@{_esp_offset()}", f"::/{dest}"], check=True,
                   capture_output=True)


def _built(proj: Path, name: str) -> bytes:
    return (proj / "build" / "qemu-x86_64" / name).read_bytes()


def _refused(console: str, *words, case=""):
    lines = [ln for ln in console.splitlines() if "unicycle-boot" in ln and "refusing" in ln]
    assert lines, f"{case}: no refusal\n{console[-3000:]}"
    assert all(w in lines[0] for w in words), (case, lines)
    assert APP_DONE not in console and "unicycle: " not in console.replace("unicycle-boot", ""), \
        f"{case}: the app ran\n{console[-2000:]}"


def test_signed_build_boots(signed, tmp_path):
    proj, _ = signed
    out = Boot(proj, tmp_path, image=_image_copy(proj, tmp_path)).until(APP_DONE)
    assert "payload.cfg: signature valid (key " in out, out[-3000:]
    assert "size and SHA-256 match" in out and APP_DONE in out, out[-3000:]


def _sig_corrupted(proj, tmp):
    sig = _built(proj, "payload.sig").decode()
    head, _, hexsig = sig.rpartition("signature = ")
    flipped = hexsig[:20] + ("0" if hexsig[20] != "0" else "1") + hexsig[21:]
    return head + "signature = " + flipped


def _sig_other_key(proj, tmp):
    from unicycle import signing
    tmp.mkdir(parents=True, exist_ok=True)
    other = signing.generate_key(tmp / "other.pem")
    return signing.sign(_built(proj, "payload.cfg"), other)


CASES = {
    # name: (what to change in the image, words of the refusal line)
    "missing-signature": (lambda proj, tmp: None, ("payload.sig", "missing")),
    "other-key": (lambda proj, tmp: ("unicycle/payload.sig", _sig_other_key(proj, tmp)),
                  ("payload.sig", "another key")),
    "corrupted-signature": (lambda proj, tmp: ("unicycle/payload.sig", _sig_corrupted(proj, tmp)),
                            ("payload.sig", "does not verify")),
    "altered-payload": (lambda proj, tmp: ("unicycle/payload.cfg", _built(proj, "payload.cfg")
                                           .decode().replace("rollback = ", "rollback = 9")),
                        ("payload.sig", "does not verify")),
    "other-boot-cfg": (lambda proj, tmp: ("unicycle/boot.cfg", _built(proj, "boot.cfg").decode()
                                          + "# another build's\n"),
                       ("boot.cfg", "not the boot.cfg of this build")),
    "other-app-elf": (lambda proj, tmp: ("unicycle/app.elf", _built(proj, "app.elf") + b"\0"),
                      ("app.elf", "does not match")),
}


PARALLEL = 2               # boots at once: TCG runs one vCPU per host thread, 2 cores here


def _each_case(boot_one) -> dict:
    """{case: console} for every CASES entry, PARALLEL boots at a time."""
    with concurrent.futures.ThreadPoolExecutor(PARALLEL) as pool:
        return dict(zip(CASES, pool.map(boot_one, CASES)))


def test_disk_refuses_each_case(signed, tmp_path):
    proj, _ = signed

    def boot_one(case):
        work = tmp_path / case
        work.mkdir()
        img = _image_copy(proj, work)
        edit = CASES[case][0](proj, work)
        if edit is None:
            _esp_del(img, "unicycle/payload.sig")
        else:
            dest, data = edit
            _esp_put(img, dest, data.encode() if isinstance(data, str) else data, work)
        return Boot(proj, work, image=img).until("refusing", APP_DONE)

    for case, console in _each_case(boot_one).items():
        _refused(console, *CASES[case][1], case=case)


def test_older_signed_payload_is_refused_after_a_newer_one(signed, tmp_path):
    """The floor lives in OVMF's variable store (kept between the two boots like a
    board's NVRAM): boot a payload signed with a later rollback, then the build's own."""
    from unicycle import signing
    proj, key = signed
    cfg = _built(proj, "payload.cfg").decode()
    built = int(cfg.split("rollback = ")[1].split()[0])
    newer = cfg.replace(f"rollback = {built}", f"rollback = {built + 1000}")
    img = _image_copy(proj, tmp_path)
    _esp_put(img, "unicycle/payload.cfg", newer.encode(), tmp_path)
    _esp_put(img, "unicycle/payload.sig", signing.sign(newer.encode(), key).encode(), tmp_path)
    nvram = tmp_path / "nvram"
    first = Boot(proj, nvram, image=img, keep_nvram=True).until(APP_DONE)
    assert APP_DONE in first and "signature valid" in first, first[-3000:]
    out = Boot(proj, nvram, image=_image_copy(proj, tmp_path), keep_nvram=True) \
        .until("refusing", APP_DONE)
    _refused(out, "rollback", str(built), str(built + 1000))


def test_pxe_path_boots_the_signed_build_and_refuses_each_case(signed, tmp_path):
    """The same checks when the payload comes from a boot server (QEMU's TFTP)."""
    proj, _ = signed

    def tree_for(case):
        tree = tmp_path / case / "tftp"
        shutil.copytree(proj / "build" / "qemu-x86_64" / "netboot", tree, symlinks=False)
        edit = CASES[case][0](proj, tmp_path / case) if case != "good" else ("", None)
        if edit is None:
            (tree / "unicycle" / "payload.sig").unlink()
        elif edit[1] is not None:
            dest, data = edit
            (tree / dest).write_bytes(data.encode() if isinstance(data, str) else data)
        return tree

    def boot_one(case):
        return Boot(proj, tmp_path / case, tftp=tree_for(case)).until("refusing", APP_DONE)

    good = boot_one("good")
    assert "boot from net" in good and "signature valid" in good and APP_DONE in good, \
        good[-3000:]
    for case, console in _each_case(boot_one).items():
        _refused(console, *CASES[case][1], case=case)
