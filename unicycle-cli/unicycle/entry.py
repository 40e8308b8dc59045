"""The `unicycle` command's entry point: the CLI, or one line if a module it needs is missing."""
import os
import sys

from . import pymodules


def main():
    try:
        from .cli import main as cli_main
    except ModuleNotFoundError as e:
        top = (e.name or "").split(".")[0]
        module = pymodules.BY_NAME.get(top)
        if module is None:
            raise
        sudo = "" if os.geteuid() == 0 else "sudo "
        sys.stderr.write(f"error: Python module {top} is missing (needed for {module.needed_by}): "
                         f"{sudo}apt-get install -y --no-install-recommends {module.package} "
                         f"(or `make deps`)\n")
        sys.exit(1)
    cli_main()
