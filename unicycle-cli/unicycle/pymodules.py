"""The Python modules the CLI needs, each from a Debian package (PyPI is not used).

Nothing here imports a third-party module: `entry.main` uses this table to turn
a missing module into one line naming its package before the CLI (which
imports click, jinja2, kconfiglib and jsonschema at start) can fail with a
traceback, and `unicycle doctor` checks every module in it.
"""
import importlib.metadata
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Module:
    name: str           # what `import` names
    dist: str           # the distribution name its metadata is under (for the version)
    package: str        # the Debian package that installs it
    needed_by: str      # what cannot work without it
    required: bool = True


MODULES = (
    Module("click", "click", "python3-click", "every command"),
    Module("jinja2", "Jinja2", "python3-jinja2", "generating config.h and build.ninja"),
    Module("kconfiglib", "kconfiglib", "python3-kconfiglib", "build and config"),
    Module("jsonschema", "jsonschema", "python3-jsonschema", "manifests and board files"),
    Module("serial", "pyserial", "python3-serial", "monitor", required=False),
    Module("cryptography", "cryptography", "python3-cryptography", "build --sign-efi",
           required=False),
)
BY_NAME = {m.name: m for m in MODULES}


def present(module: Module) -> bool:
    try:
        return importlib.util.find_spec(module.name) is not None
    except (ImportError, ValueError):      # a None entry in sys.modules: blocked
        return False


def version(module: Module) -> str:
    try:
        return importlib.metadata.version(module.dist)
    except importlib.metadata.PackageNotFoundError:
        return ""
