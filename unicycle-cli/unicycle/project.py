"""`unicycle new`: project skeletons from templates/new/<template>/."""
import re
import shutil
import tempfile
from pathlib import Path

from . import paths, render
from .errors import InputError

TEMPLATES = ("hello", "http-hello", "tcp-echo", "kv")
# Templates whose C sources are an example's src/ (the one copy of the code).
EXAMPLE_SOURCES = {"http-hello": "http-hello", "kv": "kv"}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
# Files whose template name differs from the file written.
RENAMES = {"gitignore": ".gitignore"}


def create(target: Path, template: str = "hello", name: str | None = None) -> list[Path]:
    target = Path(target)
    name = name or target.resolve().name
    if template not in TEMPLATES:
        raise InputError(f"unknown template {template!r} (known: {', '.join(TEMPLATES)})")
    if not NAME_RE.match(name):
        raise InputError(f"invalid project name {name!r}: use letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    if target.exists() and not target.is_dir():
        raise InputError(f"{target}: exists and is not a directory")
    if target.is_dir() and any(target.iterdir()):
        raise InputError(f"{target}: directory exists and is not empty; refusing to overwrite")
    src = paths.templates_dir() / "new" / template
    files = {}
    for tpl in sorted(src.rglob("*.j2")):
        rel = tpl.relative_to(src).with_suffix("")
        rel = rel.with_name(RENAMES.get(rel.name, rel.name))
        files[rel] = render.render(str(tpl.relative_to(paths.templates_dir())), {"name": name})
    if template in EXAMPLE_SOURCES:
        # The example is the one source of truth for the server's code.
        example = paths.home() / "examples" / EXAMPLE_SOURCES[template] / "src"
        for src_file in sorted(example.iterdir()):
            if src_file.suffix in (".c", ".h"):
                files[Path("src") / src_file.name] = src_file.read_text()
    # Write everything into a temporary sibling, then move it in place.
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for rel, text in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(text)
        if target.is_dir():
            target.rmdir()
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [target / rel for rel in files]
