"""Incremental builds: nothing to do twice, one file touched -> one file compiled,
manifest or board changes regenerate what depends on them; the image checks clean."""
import os
import re
import shutil
import subprocess
import time

import pytest

from helpers import new_project, unicycle


def compiled(out: str) -> list[str]:
    return re.findall(r"CC (\S+: \S+)", out)


def test_incremental_build(tmp_path):
    proj = new_project(tmp_path)
    first = unicycle("build", "-C", proj, check=True)
    assert "LINK app.elf" in first.stdout and "IMAGE unicycle.img" in first.stdout
    assert len(compiled(first.stdout)) > 10

    second = unicycle("build", "-C", proj, check=True)
    assert "no work to do" in second.stdout, second.stdout
    assert compiled(second.stdout) == []

    time.sleep(1.1)  # mtime granularity on some filesystems
    (proj / "src" / "main.c").touch()
    third = unicycle("build", "-C", proj, check=True)
    assert compiled(third.stdout) == ["app: src/main.c"], third.stdout
    assert "LINK app.elf" in third.stdout

    # A manifest change that alters the configuration rebuilds users of config.h.
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text().replace("[config]\n", "[config]\nUART_BAUD = 57600\n"))
    fourth = unicycle("build", "-C", proj, check=True)
    assert "#define CONFIG_UART_BAUD 57600" in (
        proj / "build" / "qemu-x86_64" / "gen" / "config.h").read_text()
    rebuilt = compiled(fourth.stdout)
    # ninja's depfiles: only the objects that include config.h are rebuilt.
    assert rebuilt and "app: src/main.c" not in rebuilt, fourth.stdout
    assert len(rebuilt) < len(compiled(first.stdout)) // 2, rebuilt

    # A manifest change that leaves config.h alone compiles nothing.
    toml.write_text(toml.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    fifth = unicycle("build", "-C", proj, check=True)
    assert compiled(fifth.stdout) == [], fifth.stdout

    # A new source in the manifest: build.ninja is regenerated and only it compiles.
    (proj / "src" / "extra.c").write_text("int extra_value = 7;\n")
    toml.write_text(toml.read_text().replace('sources = ["src/main.c"]',
                                             'sources = ["src/main.c", "src/extra.c"]'))
    sixth = unicycle("build", "-C", proj, check=True)
    assert compiled(sixth.stdout) == ["app: src/extra.c"], sixth.stdout


def test_compiler_errors_are_shown_as_printed(tmp_path):
    proj = new_project(tmp_path)
    (proj / "src" / "main.c").write_text("int app_main(void) { return undefined_thing; }\n")
    r = unicycle("build", "-C", proj)
    assert r.returncode == 1
    assert "main.c:1:" in r.stdout and "undefined_thing" in r.stdout
    assert "error: build failed for demoapp" in r.stderr
    assert "Traceback" not in r.stderr


def test_q170m_builds_too(tmp_path):
    """q170m boots only signed payloads: without a key the build says so, with one
    (`unicycle keys generate`) the image carries payload.cfg and payload.sig."""
    proj = new_project(tmp_path)
    r = unicycle("build", "-C", proj, "--board", "q170m")
    assert r.returncode == 2 and "board q170m requires signed payloads" in r.stderr, r.stderr
    assert "unicycle keys generate" in r.stderr and "Traceback" not in r.stderr
    unicycle("keys", "generate", "-C", proj, "--out", tmp_path / "keys" / "demo.pem", check=True)
    unicycle("build", "-C", proj, "--board", "q170m", check=True)
    out = proj / "build" / "q170m"
    assert (out / "unicycle.img").is_file()
    cfg = (out / "gen" / "config.h").read_text()
    assert "CONFIG_EXIT_ISA_DEBUG" not in cfg
    listing = subprocess.run(["mdir", "-b", "-i", f"{out / 'unicycle.img'}@@{2048 * 512}",
                              "::/unicycle"], capture_output=True, text=True).stdout
    assert "payload.cfg" in listing and "payload.sig" in listing, listing


def test_image_is_a_clean_gpt_with_fat32_esp(tmp_path):
    proj = new_project(tmp_path)
    unicycle("build", "-C", proj, check=True)
    img = proj / "build" / "qemu-x86_64" / "unicycle.img"
    sgdisk = shutil.which("sgdisk") or "/usr/sbin/sgdisk"
    v = subprocess.run([sgdisk, "-v", str(img)], capture_output=True, text=True)
    assert v.returncode == 0 and "No problems found" in v.stdout, v.stdout
    info = subprocess.run([sgdisk, "-i", "1", str(img)], capture_output=True, text=True).stdout
    assert "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" in info
    assert "First sector: 2048" in info
    # Extract the ESP and check the filesystem and its files.
    esp = tmp_path / "esp.img"
    with open(img, "rb") as src, open(esp, "wb") as dst:
        src.seek(2048 * 512)
        last = int(re.search(r"Last sector: (\d+)", info).group(1))
        dst.write(src.read((last - 2048 + 1) * 512))
    fsck = shutil.which("fsck.vfat") or "/usr/sbin/fsck.vfat"
    f = subprocess.run([fsck, "-n", str(esp)], capture_output=True, text=True)
    assert f.returncode == 0, f.stdout + f.stderr
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    ls = subprocess.run(["mdir", "-i", str(esp), "-/", "-b", "::/"], capture_output=True,
                        text=True, env=env).stdout
    for name in ("::/EFI/BOOT/BOOTX64.EFI", "::/unicycle/app.elf", "::/unicycle/boot.cfg"):
        assert name in ls, ls
    boot_sector = esp.read_bytes()[:512]
    assert boot_sector[82:90] == b"FAT32   " and boot_sector[510:512] == b"\x55\xaa"
