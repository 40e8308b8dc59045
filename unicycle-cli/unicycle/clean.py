"""`unicycle clean`: remove a project's build/ and, with --all, the Unicycle tree's caches.

Only folders this tool creates are ever removed, each named with its size
before anything goes. Kept on purpose: the project's .config (a choice, not a
product) and the downloaded .orig tarballs (.cache/apt-src), so `unicycle
fetch` after `clean --all` unpacks again without the network.
"""
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import manifest as manifest_mod, paths
from .errors import UnicycleError

BUILD_DIR = "build"
BENCH_CACHE = "bench"           # bench/run.py and bench/blk.py: <tree>/.cache/bench


@dataclass
class Target:
    path: Path
    what: str          # what it is, for the user
    restore: str       # how it comes back
    size: int = 0


def bench_cache_dir() -> Path:
    return paths.home() / ".cache" / BENCH_CACHE


def _size(path: Path) -> int:
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + dirs:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def plan(project_dir, everything=False) -> list[Target]:
    """What clean would remove: the targets that exist, with their sizes."""
    root = manifest_mod.find(Path(project_dir).resolve()).parent
    build = root / BUILD_DIR
    boards = sorted(p.name for p in build.iterdir() if p.is_dir()) if build.is_dir() else []
    targets = [Target(build, f"the project's build output ({', '.join(boards) or 'empty'})",
                      "unicycle build")]
    if everything:
        targets += [Target(paths.third_party_dir(), "the unpacked third-party sources",
                           "unicycle fetch"),
                    Target(bench_cache_dir(), "the benchmarks' Linux VM and tool caches",
                           "make bench")]
    out = []
    for t in targets:
        if t.path.is_symlink() or t.path.exists():
            t.size = _size(t.path) if t.path.is_dir() else 0
            out.append(t)
    return out


def remove(targets) -> int:
    """Remove each target; returns the bytes freed."""
    freed = 0
    for t in targets:
        try:
            if t.path.is_symlink() or not t.path.is_dir():
                t.path.unlink()
            else:
                shutil.rmtree(t.path)
        except OSError as e:
            raise UnicycleError(f"cannot remove {t.path}: {e.strerror}") from None
        freed += t.size
    return freed
