"""Board definitions: boards/<name>.toml, validated against boards/schema.json."""
import json
from dataclasses import dataclass
from pathlib import Path

from . import paths, schema
from .errors import BoardError


@dataclass
class Board:
    name: str
    path: Path
    description: str
    hardware: dict
    config: dict
    run: dict
    text: str

    @property
    def runnable(self) -> bool:
        return self.run["kind"] == "qemu"

    def where(self, *keypath) -> str:
        line = schema.key_line(self.text, keypath)
        return f"{self.path}:{line}" if line else str(self.path)


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
    board_schema = json.loads((directory / "schema.json").read_text())
    schema.validate(doc, text, board_schema, path, BoardError)
    if doc["board"]["name"] != name:
        raise BoardError(f"{path}: board.name {doc['board']['name']!r} does not match "
                         f"the file name {name!r}")
    return Board(name=name, path=path, description=doc["board"]["description"],
                 hardware=doc["hardware"], config=doc["config"], run=doc["run"], text=text)


def load_all(directory: Path | None = None) -> list[Board]:
    return [load(n, directory) for n in names(directory)]
