"""The built unicycle.img, found for a project, and exported to other disk formats by qemu-img."""
import os
import subprocess
import tempfile
from pathlib import Path

from . import tools
from .errors import BuildError, InputError

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


def image_for(project_dir, board_name=None, image=None) -> Path:
    """The image a command works on: `image` when given, else the project's built one."""
    if image:
        return Path(image)
    from . import build
    return built_image(build.open_project(project_dir, board_name))


def export_project(project_dir, board_name, fmt: str, output=None) -> Path:
    """`unicycle image`: the project's built image converted to FMT."""
    src = image_for(project_dir, board_name)
    return export(src, fmt, Path(output) if output else default_output(src, fmt))


def export(image: Path, fmt: str, out: Path) -> Path:
    """Convert IMAGE (raw) to FMT at OUT, atomically: a temp file beside OUT, then rename."""
    qemu_img = tools.require("qemu-img")
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
