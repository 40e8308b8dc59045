"""Unicycle: build, run, flash and netboot unikernels (library package).

Everything here is library code: command definitions live in cli.py only.
"""

__version__ = "0.1.0"
