"""Rendering templates/ with Jinja2 (StrictUndefined: a missing value is an error)."""
import os
from pathlib import Path

import jinja2

from . import paths
from .errors import BuildError


def environment(directory: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory or paths.templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
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
