"""Board definitions: boards/<name>.toml, validated against schemas/board.schema.json.

A board file writes each fact once. `[hardware]` says what the machine has;
the configuration defaults that follow from it (`derived_config`) and the
QEMU command line (qemu.spec_for) are derived, and `[config]` holds only the
choices that are not hardware facts. A `[config]` entry that repeats or
contradicts `[hardware]` is refused with the lines of both.
"""
from dataclasses import dataclass, field
from pathlib import Path

from . import paths, schema
from .errors import BoardError

DEFAULT = "qemu-x86_64"          # the board when neither --board nor app.board names one
SCHEMA = "board.schema.json"


@dataclass
class Board:
    name: str
    kind: str                    # "qemu" or "hardware"
    path: Path
    description: str
    hardware: dict
    config: dict
    run: dict
    text: str
    signing: dict = field(default_factory=dict)

    @property
    def require_signature(self) -> bool:
        """[signing] require-signature: default off for QEMU boards, on for hardware."""
        return self.signing.get("require-signature", self.kind != "qemu")

    @property
    def runnable(self) -> bool:
        return self.kind == "qemu"

    def where(self, *keypath) -> str:
        line = schema.key_line(self.text, keypath)
        return f"{self.path}:{line}" if line else str(self.path)

    def derived_config(self) -> dict:
        """symbol -> (value, key path of the [hardware] fact it follows from)."""
        hw = self.hardware
        console = hw["console"]
        out = {"UART16550": (console["device"] == "uart16550", ("hardware", "console")),
               "UART_BASE": (console["port"], ("hardware", "console")),
               "EXIT_ISA_DEBUG": (hw.get("exit-device") == "isa-debug-exit",
                                  ("hardware", "exit-device"))}
        default_watchdog = hw.get("watchdog", [None])[0]
        for family in watchdogs():
            out[watchdog_symbol(family)] = (family == default_watchdog, ("hardware", "watchdog"))
        for family in nic_families():
            out[nic_symbol(family)] = (family in hw["nics"], ("hardware", "nics"))
        for family in disk_controllers():
            out[disk_symbol(family)] = (family in hw.get("disk-controllers", []),
                                        ("hardware", "disk-controllers"))
        return out


def nic_families() -> list[str]:
    """Every NIC family a board may list (the schema's enum)."""
    return schema.load_schema(SCHEMA)["$defs"]["nics"]["items"]["enum"]


def nic_symbol(family: str) -> str:
    """The Kconfig symbol of the driver for a NIC family: virtio-net -> VIRTIO_NET."""
    return family.upper().replace("-", "_")


def disk_controllers() -> list[str]:
    """Every disk controller family a board may list (the schema's enum)."""
    return schema.load_schema(SCHEMA)["$defs"]["disk-controllers"]["items"]["enum"]


def disk_symbol(family: str) -> str:
    """The Kconfig symbol of the driver for a disk controller: virtio-blk -> VIRTIO_BLK."""
    return nic_symbol(family)


def watchdogs() -> list[str]:
    """Every hardware watchdog a board may list (the schema's enum)."""
    return schema.load_schema(SCHEMA)["$defs"]["watchdog"]["items"]["enum"]


def watchdog_symbol(family: str) -> str:
    """The Kconfig symbol of a watchdog's driver: itco -> ITCO."""
    return nic_symbol(family)


def pick(requested: str | None, manifest_board: str | None = None) -> str:
    """The board in force: --board, else the manifest's app.board, else DEFAULT."""
    return requested or manifest_board or DEFAULT


def names(directory: Path | None = None) -> list[str]:
    directory = directory or paths.boards_dir()
    return sorted(p.stem for p in directory.glob("*.toml"))


def load(name: str, directory: Path | None = None) -> Board:
    directory = directory or paths.boards_dir()
    path = directory / f"{name}.toml"
    known = names(directory)
    if name not in known:
        raise BoardError(f"unknown board {name!r} (known: {', '.join(known)})")
    doc, text = schema.read_toml(path, BoardError)
    schema.validate(doc, text, schema.load_schema(SCHEMA), path, BoardError)
    b = doc["board"]
    board = Board(name=name, kind=b["kind"], path=path, description=b["description"],
                  hardware=doc["hardware"], config=doc.get("config", {}), run=doc["run"],
                  text=text, signing=doc.get("signing", {}))
    if b["name"] != name:
        raise BoardError(f"{board.where('board', 'name')}: board.name: {b['name']!r} does not "
                         f"match the file name {name!r}")
    _check_facts(board)
    return board


def load_all(directory: Path | None = None) -> list[Board]:
    return [load(n, directory) for n in names(directory)]


def _bool(value):
    """A board [config] boolean as written (true/false or "y"/"n"), else None."""
    return {True: True, False: False, "y": True, "n": False}.get(value) \
        if isinstance(value, (bool, str)) else None


def _shown(value) -> str:
    """A value as a board file writes it (the derived integers are I/O ports)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:#x}" if isinstance(value, int) else repr(value)


def _check_facts(board: Board) -> None:
    """Refuse [config] entries that repeat or contradict [hardware], and
    [hardware] facts that cannot hold together."""
    hw = board.hardware
    derived = board.derived_config()
    nic_of = {nic_symbol(f): f for f in nic_families()}
    disk_of = {disk_symbol(f): f for f in disk_controllers()}
    watchdog_of = {watchdog_symbol(f): f for f in watchdogs()}
    for sym, value in board.config.items():
        if sym not in derived:
            continue
        fact_value, fact = derived[sym]
        fact_at = f"hardware.{'.'.join(fact[1:])} ({board.where(*fact)})"
        wrote = _bool(value) if isinstance(fact_value, bool) else value
        where = f"{board.where('config', sym)}: config.{sym} = {_shown(value)}"
        if wrote == fact_value:
            raise BoardError(f"{where} repeats what follows from {fact_at}; remove it")
        if (sym in nic_of or sym in disk_of) and wrote is False:
            continue     # a device whose driver the board leaves out by default: a choice
        if sym in watchdog_of and (wrote is False
                                   or watchdog_of[sym] in hw.get("watchdog", [])):
            continue     # another watchdog the board has, or none: a choice
        if sym in watchdog_of:
            raise BoardError(f"{where}, but {fact_at} has no {watchdog_of[sym]} watchdog "
                             f"(it lists: {', '.join(hw.get('watchdog', [])) or 'none'})")
        if sym in nic_of:
            raise BoardError(f"{where}, but {fact_at} has no {nic_of[sym]} NIC "
                             f"(it lists: {', '.join(hw['nics']) or 'none'})")
        if sym in disk_of:
            raise BoardError(f"{where}, but {fact_at} has no {disk_of[sym]} disk controller "
                             f"(it lists: {', '.join(hw.get('disk-controllers', [])) or 'none'})")
        if sym == "EXIT_ISA_DEBUG" and wrote is True:
            raise BoardError(f"{where}, but the board has no exit device: [hardware] "
                             f"({board.where('hardware')}) has no exit-device")
        raise BoardError(f"{where} contradicts {fact_at}; write the fact once, in [hardware]")
    if "EXIT_ISA_DEBUG_PORT" in board.config and not derived["EXIT_ISA_DEBUG"][0]:
        raise BoardError(f"{board.where('config', 'EXIT_ISA_DEBUG_PORT')}: "
                         f"config.EXIT_ISA_DEBUG_PORT: the board has no exit device: "
                         f"[hardware] ({board.where('hardware')}) has no exit-device")
    if "microvm" in hw.get("machines", []) and "pvh" not in hw["boot"]:
        raise BoardError(f"{board.where('hardware', 'machines')}: hardware.machines: microvm "
                         f"has no UEFI firmware here and boots only directly; add \"pvh\" "
                         f"to hardware.boot ({board.where('hardware', 'boot')})")
