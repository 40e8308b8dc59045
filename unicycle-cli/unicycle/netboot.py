"""build/<board>/netboot/: the directory a TFTP server serves as its root.

Layout (paths as the bootloader asks for them):

    BOOTX64.EFI              what the PXE firmware loads (DHCP boot file)
    unicycle/app.elf
    unicycle/boot.cfg
    unicycle/payload.cfg     sizes and SHA-256 of app.elf and boot.cfg, rollback (signing.py)
    unicycle/payload.sig     its signature, when the project has a key

`netboot` is a symlink to `netboot.<n>/`. A build writes a complete new
`netboot.<n+1>/` and then renames a new symlink over the old one (rename(2)
is atomic), so a server resolving paths through the link sees one build or
the other, never a mix or a half-written file. Trees older than the previous
one are removed (a transfer in flight keeps its open file). Files are 0644 and
directories 0755 whatever the umask: a TFTP server that dropped root (dnsmasq
as `nobody`) reads them as "other". `unicycle serve` publishes a copy the same
way into a directory of its own (serve.py).
"""
import hashlib
import os
import re
import shutil
from pathlib import Path

from .errors import BuildError

LINK = "netboot"
_TREE = re.compile(r"^netboot\.(\d+)$")
FILE_MODE = 0o644                 # readable by a TFTP server that runs as nobody
DIR_MODE = 0o755


def payload_files(payload: Path) -> dict:
    """'unicycle/payload.cfg' (and 'unicycle/payload.sig' when the build signed it) -> file."""
    payload = Path(payload)
    files = {"unicycle/payload.cfg": payload}
    sig = payload.with_name("payload.sig")
    if sig.is_file():
        files["unicycle/payload.sig"] = sig
    return files


def parse_manifest(text: str) -> dict:
    """key -> value of a payload.cfg (for tests and `unicycle serve`)."""
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip()
    return out


def _trees(build_dir: Path) -> list[tuple[int, Path]]:
    found = []
    for p in build_dir.iterdir():
        m = _TREE.match(p.name)
        if m and p.is_dir() and not p.is_symlink():
            found.append((int(m.group(1)), p))
    return sorted(found)


def current(build_dir: Path) -> Path:
    """The netboot root of the latest build (the symlink, not its target)."""
    return Path(build_dir) / LINK


def package(efi: Path, elf: Path, cfg: Path, payload: Path, build_dir: Path) -> Path:
    """Write build_dir/netboot.<n+1>/ and switch build_dir/netboot to it."""
    files = {"BOOTX64.EFI": Path(efi), "unicycle/app.elf": Path(elf),
             "unicycle/boot.cfg": Path(cfg), **payload_files(payload)}
    for dest, src in files.items():
        if not src.is_file():
            raise BuildError(f"{src}: missing (needed for netboot/{dest})")
    return publish(files, Path(build_dir))


def tree_files(tree: Path) -> dict:
    """dest -> source path of every regular file below a netboot tree."""
    tree = Path(tree)
    return {p.relative_to(tree).as_posix(): p for p in sorted(tree.rglob("*")) if p.is_file()}


def publish(files: dict, base: Path) -> Path:
    """Write base/netboot.<n+1>/ from `files` (dest -> source Path, or bytes) and
    switch base/netboot to it; the link."""
    base = Path(base)
    link = base / LINK
    if link.exists() and not link.is_symlink():
        # An older layout (a plain directory): move it aside once.
        shutil.rmtree(link)
    trees = _trees(base)
    n = trees[-1][0] + 1 if trees else 1
    tree = base / f"netboot.{n}"
    tmp_tree = base / f".netboot.{n}.tmp"
    shutil.rmtree(tmp_tree, ignore_errors=True)
    try:
        for dest, src in files.items():
            out = tmp_tree / dest
            out.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(src, bytes):
                out.write_bytes(src)
            else:
                shutil.copyfile(src, out)
            os.chmod(out, FILE_MODE)
        for d in [tmp_tree, *(p for p in tmp_tree.rglob("*") if p.is_dir())]:
            os.chmod(d, DIR_MODE)
        os.replace(tmp_tree, tree)
    except BaseException:
        shutil.rmtree(tmp_tree, ignore_errors=True)
        raise
    tmp_link = base / f".{LINK}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(tree.name, tmp_link)
    os.replace(tmp_link, link)
    # Keep the tree just replaced (a client may be mid-transfer); drop older ones.
    for num, old in trees[:-1]:
        shutil.rmtree(old, ignore_errors=True)
    return link
