"""The resolved configuration: Kconfig defaults < board < manifest < .config < --set.

Kconfig (runtime/Kconfig, read with kconfiglib) owns types, ranges and
dependencies. Every request records where it came from so a refusal names it.
"""
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import kconfiglib

from . import paths
from .errors import ConfigError

DOTCONFIG = ".config"


@dataclass
class Request:
    symbol: str       # without CONFIG_
    value: object     # bool, int or str as the user wrote it
    origin: str       # "board q170m (boards/q170m.toml:20)", "unicycle.toml:12", ...
    soft: bool = False  # board defaults: silently yield to Kconfig dependencies


def load_kconfig() -> kconfiglib.Kconfig:
    root = paths.runtime_dir() / "Kconfig"
    old = os.environ.get("srctree")
    os.environ["srctree"] = str(paths.runtime_dir())
    try:
        return kconfiglib.Kconfig(str(root), warn_to_stderr=False)
    except kconfiglib.KconfigError as e:
        raise ConfigError(f"{root}: {e}") from None
    finally:
        if old is None:
            os.environ.pop("srctree", None)
        else:
            os.environ["srctree"] = old


def _to_kconfig_str(sym, value, origin) -> str:
    t = sym.orig_type
    if t in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        if isinstance(value, bool):
            return "y" if value else "n"
        if isinstance(value, str) and value in ("y", "n"):
            return value
        raise ConfigError(f"{origin}: {sym.name}: expected a boolean (true/false or y/n), "
                          f"got {value!r}")
    if t == kconfiglib.INT:
        if isinstance(value, bool):
            raise ConfigError(f"{origin}: {sym.name}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str) and re.fullmatch(r"-?(0x[0-9a-fA-F]+|[0-9]+)", value):
            return str(int(value, 0))
        raise ConfigError(f"{origin}: {sym.name}: expected an integer, got {value!r}")
    if t == kconfiglib.HEX:
        if isinstance(value, bool):
            raise ConfigError(f"{origin}: {sym.name}: expected a hex number, got {value!r}")
        if isinstance(value, int):
            return hex(value)
        if isinstance(value, str) and re.fullmatch(r"(0x)?[0-9a-fA-F]+", value):
            return hex(int(value, 16))
        raise ConfigError(f"{origin}: {sym.name}: expected a hex number, got {value!r}")
    if t == kconfiglib.STRING:
        if not isinstance(value, str):
            raise ConfigError(f"{origin}: {sym.name}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{origin}: {sym.name}: symbol has no type")


def _range_of(sym):
    for low, high, cond in sym.ranges:
        if kconfiglib.expr_value(cond):
            return int(low.str_value, 0), int(high.str_value, 0)
    return None


def _unmet_deps(sym) -> str:
    return kconfiglib.expr_str(sym.direct_dep)


class Resolved:
    """The configuration after every layer was applied; `values` is the dict
    the templates see: {"NET": True, "UART_BASE": 1016, "BOARD_NAME": "...", ...}."""

    def __init__(self, kconf, origins):
        self.kconf = kconf
        self.origins = origins     # symbol -> origin of the value in force
        self.values = {sym.name: value_of(sym) for sym in kconf.unique_defined_syms}

    def enabled(self, name: str) -> bool:
        return self.values.get(name) is True

    def origin(self, name: str) -> str:
        return self.origins.get(name, "Kconfig default")

    def defines(self):
        """(name, C text) pairs for config.h, in Kconfig order; off bools absent."""
        out = []
        for sym in self.kconf.unique_defined_syms:
            v = self.values[sym.name]
            if v is False or v is None:
                continue
            if v is True:
                out.append((sym.name, "1"))
            elif sym.orig_type == kconfiglib.HEX:
                out.append((sym.name, hex(v)))
            elif isinstance(v, int):
                out.append((sym.name, str(v)))
            else:
                out.append((sym.name, c_string(v)))
        return out


def c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def value_of(sym):
    """A kconfiglib symbol's current value as Python: bool, int, str or None."""
    t = sym.orig_type
    if t in (kconfiglib.BOOL, kconfiglib.TRISTATE):
        return sym.str_value != "n"
    if t == kconfiglib.INT:
        return int(sym.str_value) if sym.str_value else None
    if t == kconfiglib.HEX:
        return int(sym.str_value, 16) if sym.str_value else None
    return sym.str_value


def read_dotconfig(path: Path) -> list[Request]:
    """Parse a project .config (CONFIG_X=y, CONFIG_X=0x10, CONFIG_X="s",
    '# CONFIG_X is not set')."""
    reqs = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return reqs
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    for n, line in enumerate(lines, 1):
        line = line.strip()
        origin = f"{path}:{n}"
        m = re.fullmatch(r"# CONFIG_([A-Za-z0-9_]+) is not set", line)
        if m:
            reqs.append(Request(m.group(1), "n", origin))
            continue
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"CONFIG_([A-Za-z0-9_]+)=(.*)", line)
        if not m:
            raise ConfigError(f"{origin}: expected CONFIG_NAME=value, got {line!r}")
        name, raw = m.groups()
        if raw.startswith('"'):
            if len(raw) < 2 or not raw.endswith('"'):
                raise ConfigError(f"{origin}: CONFIG_{name}: unterminated string")
            value = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        else:
            value = raw
        reqs.append(Request(name, value, origin))
    return reqs


def parse_set(item: str) -> Request:
    """--set SYM=VALUE from the command line."""
    if "=" not in item:
        raise ConfigError(f"--set {item}: expected SYMBOL=VALUE")
    name, value = item.split("=", 1)
    name = name.strip().removeprefix("CONFIG_")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return Request(name, value, f"command line (--set {item})")


@dataclass
class Layers:
    """The configuration requests of a project, by where they come from, lowest first."""
    board: list[Request]
    manifest: list[Request] = field(default_factory=list)
    dotconfig: list[Request] = field(default_factory=list)
    command_line: list[Request] = field(default_factory=list)

    def below_dotconfig(self) -> list[list[Request]]:
        """What the project's .config is written against: board and manifest."""
        return [self.board, self.manifest]

    def all(self) -> list[list[Request]]:
        return [self.board, self.manifest, self.dotconfig, self.command_line]


def resolve(layers, kconf=None) -> Resolved:
    """Apply each layer (a Layers, or a list of request lists) in order; a
    later request for a symbol wins."""
    if isinstance(layers, Layers):
        layers = layers.all()
    kconf = kconf or load_kconfig()
    final: dict[str, Request] = {}
    for layer in layers:
        for req in layer:
            sym = kconf.syms.get(req.symbol)
            if sym is None or not sym.nodes:
                raise ConfigError(f"{req.origin}: unknown configuration symbol "
                                  f"{req.symbol!r} (see runtime/Kconfig or `unicycle config --show`)")
            final[req.symbol] = req
    # Two passes so requests for symbols that depend on later ones settle.
    for _ in range(2):
        for req in final.values():
            sym = kconf.syms[req.symbol]
            text = _to_kconfig_str(sym, req.value, req.origin)
            if sym.orig_type in (kconfiglib.INT, kconfiglib.HEX):
                rng = _range_of(sym)
                if rng and not rng[0] <= int(text, 0) <= rng[1]:
                    raise ConfigError(f"{req.origin}: {sym.name}: {req.value!r} is outside the "
                                      f"allowed range {rng[0]}..{rng[1]}")
            sym.set_value(text)
    origins = {}
    for req in final.values():
        sym = kconf.syms[req.symbol]
        want = _to_kconfig_str(sym, req.value, req.origin)
        got = sym.str_value
        if sym.orig_type == kconfiglib.HEX and got:
            same = int(got, 16) == int(want, 16)
        else:
            same = got == want
        if not same and req.soft:
            origins[sym.name] = (f"{req.origin} asks {want}; held back by "
                                 f"{_unmet_deps(sym)}")
            continue
        if not same:
            deps = _unmet_deps(sym)
            if kconfiglib.expr_value(sym.direct_dep) == 0:
                raise ConfigError(f"{req.origin}: {sym.name}={want} needs {deps}, "
                                  f"which is off")
            raise ConfigError(f"{req.origin}: {sym.name}: cannot be set to {want!r} "
                              f"(Kconfig keeps {got!r}; see its dependencies and selects)")
        origins[sym.name] = req.origin
    return Resolved(kconf, origins)


def board_layer(board) -> list[Request]:
    """The board's defaults: what follows from its [hardware], then its [config]."""
    reqs = [Request("BOARD_NAME", board.name, f"board {board.name}")]
    for name, (value, fact) in board.derived_config().items():
        reqs.append(Request(name, value, f"{board.where(*fact)} ({'.'.join(fact)}, "
                                         f"board {board.name})", soft=True))
    for name, value in board.config.items():
        reqs.append(Request(name, value, f"{board.where('config', name)} (board {board.name})",
                            soft=True))
    return reqs


def manifest_layer(manifest) -> list[Request]:
    reqs = [Request("APP_NAME", manifest.name, f"{manifest.where('app', 'name')}")]
    for name, value in manifest.config.items():
        reqs.append(Request(name, value, manifest.where("config", name)))
    return reqs


def project_layers(manifest, board, sets=()) -> Layers:
    return Layers(board_layer(board), manifest_layer(manifest),
                  read_dotconfig(manifest.root / DOTCONFIG), [parse_set(s) for s in sets])


# --- the project's .config, as `unicycle config` edits it -------------------

def format_value(sym, value) -> str:
    """A resolved value as .config text (y/n, 0x.., decimal, "string")."""
    if value is None:
        return "(off: needs " + kconfiglib.expr_str(sym.direct_dep) + ")"
    if value is True:
        return "y"
    if value is False:
        return "n"
    if sym.orig_type == kconfiglib.HEX:
        return hex(value)
    if isinstance(value, int):
        return str(value)
    return c_string(value or "")


def write_dotconfig(path: Path, requests: list[Request], kconf) -> None:
    """Write only the given requests, atomically, in Kconfig order."""
    order = {s.name: i for i, s in enumerate(kconf.unique_defined_syms)}
    lines = ["# .config: this project's configuration choices (written by `unicycle config`).",
             "# Only values that differ from the board and manifest are kept here."]
    for req in sorted(requests, key=lambda r: order.get(r.symbol, 1 << 30)):
        sym = kconf.syms[req.symbol]
        text = _to_kconfig_str(sym, req.value, req.origin)
        if sym.orig_type in (kconfiglib.BOOL, kconfiglib.TRISTATE) and text == "n":
            lines.append(f"# CONFIG_{sym.name} is not set")
        elif sym.orig_type == kconfiglib.STRING:
            lines.append(f"CONFIG_{sym.name}={c_string(text)}")
        else:
            lines.append(f"CONFIG_{sym.name}={text}")
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


def minimal_requests(base: Resolved, wanted: dict, origin: str) -> list[Request]:
    """Requests for each symbol whose wanted value differs from `base`."""
    out = []
    for name, value in wanted.items():
        if base.values.get(name) != value:
            out.append(Request(name, value if not isinstance(value, bool) else
                               ("y" if value else "n"), origin))
    return out


def describe(resolved: Resolved, name: str) -> str:
    """Type, value, origin, dependencies and help of one symbol."""
    name = name.removeprefix("CONFIG_")
    sym = resolved.kconf.syms.get(name)
    if sym is None or not sym.nodes:
        raise ConfigError(f"unknown configuration symbol {name!r}")
    node = sym.nodes[0]
    lines = [f"CONFIG_{name}={format_value(sym, resolved.values[name])}",
             f"  type:    {kconfiglib.TYPE_TO_STR[sym.orig_type]}",
             f"  from:    {resolved.origin(name)}",
             f"  defined: runtime/{node.filename}:{node.linenr}"]
    if sym.direct_dep is not resolved.kconf.y:
        lines.append(f"  depends: {kconfiglib.expr_str(sym.direct_dep)}")
    rng = _range_of(sym)
    if rng:
        lines.append(f"  range:   {rng[0]}..{rng[1]}")
    if node.help:
        lines.append("  help:    " + node.help.strip().replace("\n", "\n           "))
    return "\n".join(lines)
