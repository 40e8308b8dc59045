"""How the CLI prints: aligned tables, JSON, and colour only on a terminal.

Colour is decided per stream: a pipe or a file never gets escape codes
(whatever click would do), and NO_COLOR (https://no-color.org) turns it off
on a terminal too.
"""
import json
import os
import sys

import click

NO_COLOR_ENV = "NO_COLOR"
COLUMN_GAP = "  "


def colour_on(stream) -> bool:
    """Whether text for `stream` may carry ANSI colour: a terminal, and NO_COLOR unset."""
    if os.environ.get(NO_COLOR_ENV):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def styled(text: str, stream, **style) -> str:
    """click.style(text, **style) when `stream` is a terminal, else text unchanged."""
    return click.style(text, **style) if colour_on(stream) else text


def error(message: str) -> None:
    """One line on stderr: `error: message`, the prefix red and bold on a terminal."""
    stream = sys.stderr
    prefix = styled("error:", stream, fg="red", bold=True)
    click.echo(f"{prefix} {message}", err=True, color=colour_on(stream))


def table(rows, last_free=True) -> list[str]:
    """Rows of cells as lines with each column padded to its widest cell; the last
    column is not padded (no trailing blanks)."""
    rows = [[str(c) for c in row] for row in rows]
    if not rows:
        return []
    ncols = max(len(r) for r in rows)
    widths = [max((len(r[i]) for r in rows if i < len(r)), default=0) for i in range(ncols)]
    out = []
    for r in rows:
        cells = [c.ljust(widths[i]) if (i < len(r) - 1 or not last_free) else c
                 for i, c in enumerate(r)]
        out.append(COLUMN_GAP.join(cells).rstrip())
    return out


def echo_json(value) -> None:
    """A JSON document on stdout (indented, keys in the order given)."""
    click.echo(json.dumps(value, indent=2))


def size(n: int) -> str:
    """A byte count for people: 812 B, 12.3 KiB, 33.0 MiB."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.1f} {unit}"
    return f"{n} B"
