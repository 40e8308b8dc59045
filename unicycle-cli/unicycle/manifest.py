"""unicycle.toml: the project manifest (schema in schemas/manifest.schema.json)."""
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from . import schema
from .errors import ManifestError

MANIFEST = "unicycle.toml"


@dataclass
class Manifest:
    path: Path                       # the unicycle.toml file
    text: str                        # its text, for line numbers
    name: str
    sources: list[Path]              # absolute
    include_dirs: list[Path] = field(default_factory=list)
    cflags: list[str] = field(default_factory=list)
    board: str | None = None
    config: dict = field(default_factory=dict)
    network: dict = field(default_factory=dict)
    boot: dict = field(default_factory=dict)
    signing: dict = field(default_factory=dict)
    secure_boot: dict = field(default_factory=dict)   # [secure-boot]: key, cert (efisign.py)
    version: str = "0.1.0"

    @property
    def root(self) -> Path:
        return self.path.parent

    def line_of(self, *keypath) -> int | None:
        return schema.key_line(self.text, keypath)

    def where(self, *keypath) -> str:
        line = self.line_of(*keypath)
        return f"{self.path}:{line}" if line else str(self.path)


def find(project_dir: Path) -> Path:
    path = Path(project_dir) / MANIFEST
    if not path.is_file():
        raise ManifestError(f"{path}: no {MANIFEST} here (create a project with "
                            "`unicycle new NAME`, or pass -C DIR)")
    return path


def load(path: Path, known_boards=None) -> Manifest:
    path = Path(path).resolve()
    doc, text = schema.read_toml(path, ManifestError)
    version = doc.get("manifest-version", 1)
    if version != 1:
        line = schema.key_line(text, ["manifest-version"])
        raise ManifestError(f"{path}:{line}: manifest-version: this unicycle reads version 1, "
                            f"got {version!r}")
    schema.validate(doc, text, schema.load_schema("manifest.schema.json"), path, ManifestError)
    app = doc["app"]
    m = Manifest(path=path, text=text, name=app["name"], sources=[],
                 cflags=list(app.get("cflags", [])), board=app.get("board"),
                 config=dict(doc.get("config", {})), network=dict(doc.get("network", {})),
                 boot=dict(doc.get("boot", {})), signing=dict(doc.get("signing", {})),
                 secure_boot=dict(doc.get("secure-boot", {})), version=app.get("version", "0.1.0"))
    for i, src in enumerate(app["sources"]):
        p = (m.root / src).resolve()
        if not p.is_file():
            raise ManifestError(f"{m.where('app', 'sources')}: app.sources[{i}]: "
                                f"file {src!r} does not exist")
        m.sources.append(p)
    for i, inc in enumerate(app.get("include-dirs", [])):
        p = (m.root / inc).resolve()
        if not p.is_dir():
            raise ManifestError(f"{m.where('app', 'include-dirs')}: app.include-dirs[{i}]: "
                                f"directory {inc!r} does not exist")
        m.include_dirs.append(p)
    if m.board is not None and known_boards is not None and m.board not in known_boards:
        raise ManifestError(f"{m.where('app', 'board')}: app.board: unknown board {m.board!r} "
                            f"(known: {', '.join(sorted(known_boards))})")
    _check_network(m)
    return m


def _check_network(m: Manifest) -> None:
    net = m.network
    mode = net.get("mode", "static" if "address" in net else None)
    if "address" in net:
        try:
            ipaddress.IPv4Interface(net["address"])
        except ValueError as e:
            raise ManifestError(f"{m.where('network', 'address')}: network.address: "
                               f"{net['address']!r} is not a valid IPv4 address/prefix ({e})") from None
    if "gateway" in net:
        try:
            ipaddress.IPv4Address(net["gateway"])
        except ValueError as e:
            raise ManifestError(f"{m.where('network', 'gateway')}: network.gateway: "
                               f"{net['gateway']!r} is not a valid IPv4 address ({e})") from None
    for i, server in enumerate(net.get("dns", [])):
        try:
            ipaddress.IPv4Address(server)
        except ValueError as e:
            raise ManifestError(f"{m.where('network', 'dns')}: network.dns[{i}]: "
                               f"{server!r} is not a valid IPv4 address ({e})") from None
    if mode == "static" and "address" not in net:
        raise ManifestError(f"{m.where('network', 'mode')}: network.address: required when "
                            "network.mode is 'static'")
    if mode == "dhcp" and ("address" in net or "gateway" in net):
        raise ManifestError(f"{m.where('network', 'mode')}: network: address/gateway are only "
                            "for mode = 'static'")
    if mode:
        net["mode"] = mode
