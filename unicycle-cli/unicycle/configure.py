"""`unicycle config`: editing, showing and comparing a project's configuration.

The project's .config holds only the values chosen here that differ from the
board and manifest (config.Layers.below_dotconfig); every edit is resolved
in full before anything is written, so a refused value leaves .config alone.
"""
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import boards, config as cfg, manifest as manifest_mod, output, paths
from .errors import InputError


@dataclass
class Target:
    """What `unicycle config` works on: a project, or a board's defaults alone."""
    board: boards.Board
    layers: cfg.Layers
    dotconfig: Path | None       # None without a project


@dataclass
class Saved:
    path: Path
    lines: list[str]             # CONFIG_X=value of each value kept in .config
    notes: list[str]             # e.g. an --unset of a symbol .config did not hold
    kept: int = 0                # how many values .config holds now


def open_target(project_dir, board_name=None, need_project=True) -> Target:
    """The project in project_dir; without one, the board's defaults when
    `need_project` is false (--show and --diff work on a board alone)."""
    project_dir = Path(project_dir).resolve()
    if (project_dir / manifest_mod.MANIFEST).is_file():
        m = manifest_mod.load(manifest_mod.find(project_dir), boards.names())
        board = boards.load(boards.pick(board_name, m.board))
        dot = m.root / cfg.DOTCONFIG
        return Target(board, cfg.Layers(cfg.board_layer(board), cfg.manifest_layer(m),
                                        cfg.read_dotconfig(dot)), dot)
    if need_project:
        manifest_mod.find(project_dir)  # raises: no unicycle.toml here
    board = boards.load(boards.pick(board_name))
    return Target(board, cfg.Layers(cfg.board_layer(board)), None)


def edit(project_dir, board_name, sets=(), unsets=()) -> Saved:
    """--set SYM=VALUE and --unset SYM in the project's .config."""
    t = open_target(project_dir, board_name)
    kept = {r.symbol: r for r in t.layers.dotconfig}
    notes = []
    for name in unsets:
        name = name.removeprefix("CONFIG_")
        if kept.pop(name, None) is None:
            notes.append(f"note: {name} was not set in {t.dotconfig}")
    for item in sets:
        req = cfg.parse_set(item)
        kept[req.symbol] = req
    resolved = cfg.resolve(t.layers.below_dotconfig() + [list(kept.values())])
    cfg.write_dotconfig(t.dotconfig, list(kept.values()), resolved.kconf)
    lines = [f"CONFIG_{r.symbol}="
             f"{cfg.format_value(resolved.kconf.syms[r.symbol], resolved.values[r.symbol])}"
             for r in kept.values()]
    return Saved(t.dotconfig, lines, notes, len(kept))


# Where a value comes from, by the Layers field that set it (lowest first).
SOURCES = (("board", "board"), ("manifest", "manifest"), ("dotconfig", ".config"),
           ("command_line", "--set"))
KCONFIG_DEFAULT = "Kconfig default"


@dataclass
class Row:
    """One symbol of `config --show`: its value and where the value comes from."""
    symbol: str                  # without CONFIG_
    value: object                # bool, int, str, or None (off: dependencies unmet)
    text: str                    # as .config writes it
    source: str                  # one of SOURCES' names, or KCONFIG_DEFAULT
    origin: str                  # the file:line (or command line) that set it

    def as_dict(self) -> dict:
        return {"symbol": self.symbol, "value": self.value, "text": self.text,
                "source": self.source, "origin": self.origin}


def rows(project_dir, board_name) -> list[Row]:
    """Every symbol in Kconfig order with its value and the layer that decided it."""
    t = open_target(project_dir, board_name, need_project=False)
    resolved = cfg.resolve(t.layers)
    source_of = {}
    for attr, name in SOURCES:
        for req in getattr(t.layers, attr):
            source_of[req.symbol] = name
    out = []
    for sym in resolved.kconf.unique_defined_syms:
        value = resolved.values[sym.name]
        src = source_of.get(sym.name, KCONFIG_DEFAULT) if sym.name in resolved.origins \
            else KCONFIG_DEFAULT
        out.append(Row(sym.name, value, cfg.format_value(sym, value), src,
                       resolved.origin(sym.name)))
    return out


def _short(origin: str, roots) -> str:
    """An origin with the Unicycle tree's and the project's folder left out."""
    for root in roots:
        origin = origin.replace(f"{root}/", "")
    return origin


def show(project_dir, board_name, symbol=None) -> list[str]:
    """Every value and where it comes from in aligned columns, or one symbol in detail."""
    if symbol:
        resolved = cfg.resolve(open_target(project_dir, board_name, need_project=False).layers)
        return cfg.describe(resolved, symbol).splitlines()
    roots = [str(Path(project_dir).resolve()), str(paths.home())]
    table = [["SYMBOL", "VALUE", "FROM", "WHERE"]]
    for r in rows(project_dir, board_name):
        table.append([f"CONFIG_{r.symbol}", r.text, r.source,
                      "" if r.source == KCONFIG_DEFAULT else _short(r.origin, roots)])
    return output.table(table)


def diff(project_dir, board_name) -> list[str]:
    """What differs from the board's defaults, one line a symbol."""
    t = open_target(project_dir, board_name, need_project=False)
    resolved = cfg.resolve(t.layers)
    base = cfg.resolve([t.layers.board])
    out = []
    for sym in resolved.kconf.unique_defined_syms:
        old, new = base.values[sym.name], resolved.values[sym.name]
        if old != new:
            out.append(f"CONFIG_{sym.name}: {cfg.format_value(sym, old)} -> "
                       f"{cfg.format_value(sym, new)}   # {resolved.origin(sym.name)}")
    return out or [f"no differences from board {t.board.name}'s defaults"]


def menuconfig(project_dir, board_name) -> Saved:
    """kconfiglib's menuconfig on the resolved values; .config keeps only the changes."""
    t = open_target(project_dir, board_name)
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise InputError("menuconfig needs a terminal; use --set/--unset/--show/--diff")
    import menuconfig as ui
    base = cfg.resolve(t.layers.below_dotconfig())
    current = cfg.resolve(t.layers)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "config"
        current.kconf.write_config(str(full), header="")
        kconf = cfg.load_kconfig()
        with _environ("KCONFIG_CONFIG", str(full)):   # where menuconfig saves
            ui.menuconfig(kconf)
        kconf.load_config(str(full))
    wanted = {s.name: cfg.value_of(s) for s in kconf.unique_defined_syms}
    reqs = cfg.minimal_requests(base, wanted, "menuconfig")
    cfg.resolve(t.layers.below_dotconfig() + [reqs])
    cfg.write_dotconfig(t.dotconfig, reqs, kconf)
    return Saved(t.dotconfig, [], [], len(reqs))


class _environ:
    """Set one environment variable for a `with` block, then put it back."""

    def __init__(self, name, value):
        self.name, self.value = name, value

    def __enter__(self):
        self.old = os.environ.get(self.name)
        os.environ[self.name] = self.value

    def __exit__(self, *exc):
        if self.old is None:
            os.environ.pop(self.name, None)
        else:
            os.environ[self.name] = self.old
