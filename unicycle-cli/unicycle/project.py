"""`unicycle new`: project skeletons from templates/new/<template>/."""
import re
import shutil
import tempfile
import tomllib
from pathlib import Path

from . import boards, paths, render
from .errors import InputError

DEFAULT_TEMPLATE = "hello"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
# Files whose template name differs from the file written.
RENAMES = {"gitignore": ".gitignore"}
TEMPLATE_INFO = "template.toml"      # a template's description; not copied (only *.j2 are)


def templates() -> list[str]:
    """The project skeletons: one folder each in templates/new/."""
    return sorted(p.name for p in (paths.templates_dir() / "new").iterdir() if p.is_dir())


def description(template: str) -> str:
    """The one-line description in templates/new/<template>/template.toml."""
    path = paths.templates_dir() / "new" / template / TEMPLATE_INFO
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: missing (every template says what it is there)") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path}: {e}") from None
    text = doc.get("description")
    if not isinstance(text, str) or not text.strip() or "\n" in text:
        raise InputError(f"{path}: description: expected one line of text")
    return text.strip()


def create(target: Path, template: str = DEFAULT_TEMPLATE, name: str | None = None) -> list[Path]:
    target = Path(target)
    name = name or target.resolve().name
    known = templates()
    if template not in known:
        raise InputError(f"unknown template {template!r} (known: {', '.join(known)})")
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
        files[rel] = render.render(str(tpl.relative_to(paths.templates_dir())), {"name": name, "board": boards.DEFAULT})
    example = paths.home() / "examples" / template / "src"
    if example.is_dir():
        # A template named after an example takes the example's sources:
        # the example is the one copy of the code.
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
