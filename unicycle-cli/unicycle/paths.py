"""Where things are: the Unicycle home (runtime, templates, boards) and caches."""
import os
from pathlib import Path

from .errors import SetupError


def home() -> Path:
    """The Unicycle source tree: $UNICYCLE_HOME, else found above this package."""
    env = os.environ.get("UNICYCLE_HOME")
    if env:
        root = Path(env).resolve()
        if not (root / "runtime" / "Kconfig").is_file():
            raise SetupError(f"UNICYCLE_HOME={env} does not hold runtime/Kconfig")
        return root
    for parent in Path(__file__).resolve().parents:
        if (parent / "runtime" / "Kconfig").is_file() and (parent / "templates").is_dir():
            return parent
    raise SetupError("cannot find the Unicycle tree (runtime/Kconfig); set UNICYCLE_HOME")


def cache_dir() -> Path:
    env = os.environ.get("UNICYCLE_CACHE")
    return Path(env).resolve() if env else home() / ".cache"


def third_party_dir() -> Path:
    return cache_dir() / "third_party"


def templates_dir() -> Path:
    return home() / "templates"


def boards_dir() -> Path:
    return home() / "boards"


def runtime_dir() -> Path:
    return home() / "runtime"
