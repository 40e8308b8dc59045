"""Third-party C sources from Debian source packages, verified and unpacked.

Nothing third-party is committed. `apt-get source --download-only` fetches the
package into the cache using a private sources list (the host's apt
configuration is never touched); the upstream .orig tarball's SHA-256 must
match the pinned value, which stays the same across Debian revisions.
"""
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .errors import SetupError


@dataclass(frozen=True)
class Component:
    name: str            # folder under third_party/
    package: str         # Debian source package
    orig: str            # upstream tarball file name
    sha256: str
    prefix: str          # path inside the tarball to extract
    keep: tuple = ()     # only these entries under prefix (empty: all)


COMPONENTS = (
    Component("lwip", "lwip", "lwip_2.1.3+dfsg1.orig.tar.xz",
              "0a8276d09fc4e97bbba2f953d74af2388fc2195ea156be9d7589e297a68fde24",
              "lwip-2.1.3/", ("src",)),
    Component("libfdt", "u-boot", "u-boot_2023.01+dfsg.orig.tar.xz",
              "e75da6f089d063aaef39a1c17f1631791d87700662624e18de2121fa39a1ed44",
              "u-boot-2023.01/scripts/dtc/libfdt/"),
    Component("http-parser", "http-parser", "http-parser_2.9.4.orig.tar.gz",
              "467b9e30fd0979ee301065e70f637d525c28193449e1b13fbcb1b1fab3ad224f",
              "http-parser-2.9.4/", ("http_parser.c", "http_parser.h", "LICENSE-MIT")),
    # BearSSL: the bootloader's signature check (ECDSA P-256); test/ for its test vectors.
    Component("bearssl", "bearssl", "bearssl_0.6+dfsg.1.orig.tar.xz",
              "102a625bd8f6155260867a50c508df8d8c3f796985dd744df1a68e5cd1a79004",
              "bearssl-0.6/", ("inc", "src", "test", "LICENSE.txt")),
)

STAMP = ".unicycle-sha256"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_ready(comp: Component, root: Path | None = None) -> bool:
    root = root or paths.third_party_dir()
    stamp = root / comp.name / STAMP
    return stamp.is_file() and stamp.read_text().strip() == comp.sha256


def require(names) -> None:
    """Raise with the fix when a needed component is not unpacked."""
    missing = [c.name for c in COMPONENTS if c.name in names and not is_ready(c)]
    if missing:
        raise SetupError(f"third-party sources missing: {', '.join(missing)}; "
                         "run `unicycle fetch` (or `make deps`)")


def _apt_options(state: Path) -> list[str]:
    return ["-o", "Dir::Etc::SourceList=/dev/null",
            "-o", f"Dir::Etc::SourceParts={state / 'etc'}",
            "-o", f"Dir::State::Lists={state / 'lists'}",
            "-o", f"Dir::Cache={state / 'cache'}",
            "-o", "APT::Sandbox::User=root"]


def _write_source_list(state: Path) -> None:
    """deb-src twins of the host's deb entries (deb822 and one-line formats)."""
    out = []
    host = Path("/etc/apt/sources.list.d")
    for f in sorted(host.glob("*.sources")) if host.is_dir() else []:
        text = f.read_text()
        if "deb.debian.org" in text or "debian" in f.name:
            out.append(text.replace("Types: deb\n", "Types: deb-src\n"))
    (state / "etc").mkdir(parents=True, exist_ok=True)
    for old in (state / "etc").glob("*"):
        old.unlink()
    if out:
        (state / "etc" / "unicycle-src.sources").write_text("\n".join(out))
        return
    lines = []
    legacy = [Path("/etc/apt/sources.list"), *sorted(host.glob("*.list"))]
    for f in legacy:
        if f.is_file():
            for line in f.read_text().splitlines():
                if line.strip().startswith("deb "):
                    lines.append("deb-src " + line.strip()[4:])
    if not lines:
        raise SetupError("no Debian apt sources found in /etc/apt to derive deb-src entries from")
    (state / "etc" / "unicycle-src.list").write_text("\n".join(lines) + "\n")


def download(comp: Component, state: Path) -> Path:
    """apt-get source --download-only into state/out; returns the .orig path."""
    out = state / "out"
    target = out / comp.orig
    if target.is_file() and sha256_file(target) == comp.sha256:
        return target
    for d in ("lists/partial", "cache/archives/partial", "out"):
        (state / d).mkdir(parents=True, exist_ok=True)
    _write_source_list(state)
    opts = _apt_options(state)
    lists = list((state / "lists").glob("*Sources*"))
    if not lists:
        _run(["apt-get", *opts, "update"], "apt-get update (deb-src)", cwd=out)
    _run(["apt-get", *opts, "source", "--download-only", comp.package],
         f"apt-get source {comp.package}", cwd=out)
    if not target.is_file():
        raise SetupError(f"{comp.package}: apt-get source did not produce {comp.orig} "
                         "(the Debian version may have changed)")
    return target


def _run(cmd, what, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise SetupError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def verify(comp: Component, tarball: Path) -> None:
    got = sha256_file(tarball)
    if got != comp.sha256:
        raise SetupError(f"{tarball}: SHA-256 mismatch for {comp.name}: expected "
                         f"{comp.sha256}, got {got}; refusing to use it")


def unpack(comp: Component, tarball: Path, root: Path) -> int:
    """Extract only comp.prefix (and comp.keep) into root/comp.name, atomically;
    returns how many files it extracted."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{comp.name}-", dir=root))
    try:
        with tarfile.open(tarball) as tar:
            members = []
            for m in tar.getmembers():
                if not m.name.startswith(comp.prefix):
                    continue
                rel = m.name[len(comp.prefix):]
                if not rel or (comp.keep and rel.split("/")[0] not in comp.keep):
                    continue
                if not (m.isfile() or m.isdir()):
                    continue
                if rel.startswith("/") or ".." in Path(rel).parts:
                    raise SetupError(f"{tarball}: unsafe path {m.name}")
                m.name = rel
                members.append(m)
            if not members:
                raise SetupError(f"{tarball}: nothing under {comp.prefix}")
            tar.extractall(tmp, members=members)
        (tmp / STAMP).write_text(comp.sha256 + "\n")
        dest = root / comp.name
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
        return sum(m.isfile() for m in members)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def fetch_all(log=print, tarball_dir: Path | None = None) -> None:
    """Make every component ready; quick when already done."""
    root = paths.third_party_dir()
    state = paths.cache_dir() / "apt-src"
    for comp in COMPONENTS:
        if is_ready(comp, root):
            log(f"{comp.name}: ready")
            continue
        if tarball_dir is not None:
            tarball = Path(tarball_dir) / comp.orig
            if not tarball.is_file():
                raise SetupError(f"{tarball}: not found")
            log(f"{comp.name}: using {tarball}")
        else:
            log(f"{comp.name}: fetching Debian source package {comp.package}")
            tarball = download(comp, state)
        verify(comp, tarball)
        log(f"{comp.name}: verified {comp.orig} (SHA-256 {comp.sha256[:16]}...)")
        files = unpack(comp, tarball, root)
        log(f"{comp.name}: unpacked {files} files into {root / comp.name}")
