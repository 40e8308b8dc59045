"""The built unicycle.img, found for a project, and exported to other disk formats by qemu-img."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import BuildError, InputError, SetupError

FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk"}     # format -> file extension


def built_image(project) -> Path:
    """build/<board>/unicycle.img of an opened project; refuses if it was never built."""
    img = project.build_dir / "unicycle.img"
    if not img.is_file():
        raise InputError(f"{img}: no image for board {project.board.name}; "
                         f"run `unicycle build` first")
    return img


def default_output(image: Path, fmt: str) -> Path:
    return image.with_name(f"unicycle.{FORMATS[fmt]}")


def export(image: Path, fmt: str, out: Path) -> Path:
    """Convert IMAGE (raw) to FMT at OUT, atomically: a temp file beside OUT, then rename."""
    qemu_img = shutil.which("qemu-img")
    if not qemu_img:
        raise SetupError("qemu-img not found: install the Debian package qemu-utils")
    out = Path(out)
    if out.resolve() == Path(image).resolve():
        raise InputError(f"{out}: would overwrite the image being exported")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        proc = subprocess.run([qemu_img, "convert", "-f", "raw", "-O", fmt, str(image), tmp],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"qemu-img convert to {fmt} failed (exit {proc.returncode}): "
                             f"{(proc.stderr or proc.stdout).strip()}")
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
