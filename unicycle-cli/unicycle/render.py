"""Rendering templates/ with Jinja2 (StrictUndefined: a missing value is an error)."""
import os
import re
from pathlib import Path

import jinja2

from . import paths
from .errors import BuildError


def ninja_escape(text) -> str:
    """Escape for a ninja path or variable value ($, space, colon, newline)."""
    text = str(text)
    if "\n" in text:
        raise BuildError(f"newline in a build path: {text!r}")
    return re.sub(r"([$ :])", r"$\1", text)


def environment(directory: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or paths.templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["ninja_path"] = ninja_escape
    return env


def render(name: str, context: dict, directory: Path | None = None) -> str:
    try:
        return environment(directory).get_template(name).render(**context)
    except jinja2.UndefinedError as e:
        raise BuildError(f"templates/{name}: {e.message}") from None
    except jinja2.TemplateError as e:
        raise BuildError(f"templates/{name}: {e}") from None


def write_if_changed(path: Path, text: str) -> bool:
    """Atomically replace `path` when its content differs; True if written.
    Unchanged files keep their mtime so nothing depending on them rebuilds."""
    path = Path(path)
    try:
        if path.read_text() == text:
            return False
    except (FileNotFoundError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True
