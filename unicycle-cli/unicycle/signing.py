"""Signed payloads: the project's key, payload.cfg and payload.sig, the loader's key header.

Scheme: ECDSA over NIST P-256 with SHA-256. Why: BearSSL (a small, well-kept
library with constant-time code and no allocation, which suits a freestanding
UEFI binary; Debian source package `bearssl`) verifies it in the bootloader in
about 15 KiB of code, the public key is 65 bytes to compile in, and the host
side is Debian's `openssl` command (key generation and signing; nothing
hand-written). BearSSL 0.6 has no Ed25519, which would otherwise be the
simpler choice. RSA-2048 would need a 256-byte key and slower big-number code.

- `unicycle keys generate` writes a P-256 private key (PEM, mode 0600) outside
  the project (default: $XDG_CONFIG_HOME/unicycle/keys/<app>.pem) and names it
  in unicycle.toml's [signing] key.
- Every build writes build/<board>/payload.cfg (sizes and SHA-256 of app.elf and
  boot.cfg, and `rollback`: the build's time in seconds) and, with a key,
  payload.sig (format in bootloader/sigcheck.h): the image and the netboot
  tree carry both. gen/bootkey.h gives BOOTX64.EFI the public key and the
  policy (require-signature: the manifest's [signing], else the board's).
"""
import hashlib
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import tools
from .errors import BuildError, InputError, SetupError

PAYLOAD_VERSION = 2
SIG_VERSION = 1
SCHEME = "ecdsa-p256-sha256"
KEY_MODE = 0o600
# DER SubjectPublicKeyInfo header of an uncompressed P-256 key (RFC 5480 sec. 2:
# id-ecPublicKey 1.2.840.10045.2.1 with namedCurve secp256r1 1.2.840.10045.3.1.7),
# then the 65-byte point 04 || X || Y (SEC 1 sec. 2.3.3).
P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
POINT_SIZE = 65


@dataclass
class Policy:
    key: Path | None          # the private key, None: unsigned builds
    require: bool             # the loader refuses unsigned payloads
    origin: str               # where `require` came from, for messages


def default_key_path(app_name: str) -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "unicycle" / "keys" / f"{app_name}.pem"


def policy(project) -> Policy:
    """The project's key and require-signature (manifest [signing] over the board's)."""
    m = project.manifest
    signing = m.signing
    key = None
    if "key" in signing:
        key = Path(os.path.expanduser(signing["key"]))
        if not key.is_absolute():
            key = m.root / key
    if "require-signature" in signing:
        require, origin = signing["require-signature"], f"{m.where('signing', 'require-signature')}"
    else:
        require = project.board.require_signature
        origin = f"board {project.board.name}"
    if require and key is None:
        raise InputError(f"{origin} requires signed payloads (require-signature = true) and "
                         f"{m.path} names no [signing] key: run `unicycle keys generate`")
    if key is not None:
        check_key_path(key, project)
        if not key.is_file():
            raise InputError(f"{m.where('signing', 'key')}: key {key} not found "
                             f"(`unicycle keys generate` makes one)")
    return Policy(key, bool(require), origin)


def check_key_path(key: Path, project) -> None:
    """A private key never lives in a build folder (it would ship, or be cleaned)."""
    resolved = key.resolve()
    build_root = (project.manifest.root / "build").resolve()
    if resolved == build_root or build_root in resolved.parents:
        raise InputError(f"signing key {key} is inside {build_root}: keep private keys out of "
                         f"build/ (default: {default_key_path(project.manifest.name)})")


def _openssl() -> str:
    return tools.require("openssl")


def _run(cmd, what: str, data: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SetupError(f"{what}: {e}") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BuildError(f"{what} failed: {msg[0] if msg else f'exit {proc.returncode}'}")
    return proc.stdout


def public_point(key: Path) -> bytes:
    """The 65-byte public point of a P-256 private key file; InputError if it is not one."""
    try:
        der = _run([_openssl(), "pkey", "-in", str(key), "-pubout", "-outform", "DER"],
                   f"reading key {key}")
    except BuildError:
        raise InputError(f"{key}: not a readable PEM private key "
                         f"(`unicycle keys generate` makes one)") from None
    if len(der) != len(P256_SPKI_PREFIX) + POINT_SIZE or not der.startswith(P256_SPKI_PREFIX):
        raise InputError(f"{key}: not an ECDSA P-256 key (the loader verifies {SCHEME}; "
                         f"`unicycle keys generate` makes one)")
    return der[len(P256_SPKI_PREFIX):]


def key_id(point: bytes) -> str:
    """16 hex digits: the first 8 bytes of SHA-256 of the point (bootloader/sigcheck.c)."""
    return hashlib.sha256(point).hexdigest()[:16]


def bootkey_header(pol: Policy) -> str:
    """gen/bootkey.h for BOOTX64.EFI."""
    lines = ["/* bootkey.h: generated by `unicycle build` (signing.py); do not edit. */",
             "#ifndef UNICYCLE_BOOTKEY_H", "#define UNICYCLE_BOOTKEY_H", ""]
    lines.append(f"#define BOOT_REQUIRE_SIGNATURE {int(pol.require)}  /* {pol.origin} */")
    if pol.key is None:
        lines += ["#define BOOT_HAVE_KEY 0", '#define BOOT_KEY_ID "none"',
                  "static const unsigned char boot_key[65] = { 0 };"]
    else:
        point = public_point(pol.key)
        body = ", ".join(f"0x{b:02x}" for b in point)
        lines += ["#define BOOT_HAVE_KEY 1", f'#define BOOT_KEY_ID "{key_id(point)}"',
                  f"static const unsigned char boot_key[65] = {{ {body} }};"]
    lines += ["", "#endif", ""]
    return "\n".join(lines)


def rollback_now() -> int:
    """The build's rollback value: seconds since 1970 (SOURCE_DATE_EPOCH if set)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return int(epoch) if epoch and epoch.isdigit() else int(time.time())


def payload_text(elf: bytes, cfg: bytes, rollback: int) -> str:
    """unicycle/payload.cfg (bootloader/payload.h)."""
    return ("# unicycle payload manifest: the bootloader checks app.elf and boot.cfg\n"
            "# against it, after payload.sig when the build is signed.\n"
            f"version = {PAYLOAD_VERSION}\n"
            f"size = {len(elf)}\n"
            f"sha256 = {hashlib.sha256(elf).hexdigest()}\n"
            f"config-size = {len(cfg)}\n"
            f"config-sha256 = {hashlib.sha256(cfg).hexdigest()}\n"
            f"rollback = {rollback}\n")


def sign(data: bytes, key: Path) -> str:
    """payload.sig's text: an ECDSA P-256/SHA-256 signature over `data`, checked once here."""
    openssl = _openssl()
    point = public_point(key)
    der = _run([openssl, "dgst", "-sha256", "-sign", str(key)], f"signing with {key}", data)
    with tempfile.TemporaryDirectory() as tmp:
        pub, sig, msg = Path(tmp) / "pub.pem", Path(tmp) / "sig", Path(tmp) / "msg"
        pub.write_bytes(_run([openssl, "pkey", "-in", str(key), "-pubout"], "public key"))
        sig.write_bytes(der)
        msg.write_bytes(data)
        _run([openssl, "dgst", "-sha256", "-verify", str(pub), "-signature", str(sig),
              str(msg)], "verifying the new signature")
    return ("# unicycle payload signature (bootloader/sigcheck.h)\n"
            f"version = {SIG_VERSION}\n"
            f"scheme = {SCHEME}\n"
            f"key-id = {key_id(point)}\n"
            f"signature = {der.hex()}\n")


def write_payload(elf: Path, cfg: Path, out: Path, key: Path | None) -> None:
    """build/<board>/payload.cfg, and payload.sig next to it when `key`; atomically."""
    for f in (elf, cfg):
        if not Path(f).is_file():
            raise BuildError(f"{f}: missing (needed for {Path(out).name})")
    text = payload_text(Path(elf).read_bytes(), Path(cfg).read_bytes(), rollback_now()).encode()
    sig_path = Path(out).with_name("payload.sig")
    outputs = {Path(out): text}
    if key is not None:
        outputs[sig_path] = sign(text, key).encode()
    for path, data in outputs.items():
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    if key is None and sig_path.exists():
        sig_path.unlink()              # an unsigned build carries no stale signature


def generate_key(path: Path) -> Path:
    """A new P-256 private key at `path`, mode 0600 from its first byte; never overwrites."""
    path = Path(path)
    if path.exists():
        raise InputError(f"{path} exists: not overwriting a key (name another with --out)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".key-", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, KEY_MODE)
        _run([_openssl(), "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-out", tmp], "openssl genpkey")
        os.chmod(tmp, KEY_MODE)
        os.link(tmp, path)             # fails if `path` appeared meanwhile: no overwrite
    finally:
        os.unlink(tmp)
    return path


def add_key_to_manifest(manifest, key: Path) -> None:
    """Name `key` in unicycle.toml's [signing] (appended, or under an existing
    [signing] header), written atomically. The caller checked no key is named."""
    text = manifest.text
    line = f'key = "{key}"\n'
    lines = text.splitlines(keepends=True)
    for i, ln in enumerate(lines):
        if ln.strip() == "[signing]":
            lines.insert(i + 1, line)
            break
    else:
        lines.append(("" if text.endswith("\n") or not text else "\n") + "\n[signing]\n" + line)
    tmp = manifest.path.with_name(f".{manifest.path.name}.tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, manifest.path)


def keys_generate(project_dir, out: Path | None) -> tuple[Path, str]:
    """`unicycle keys generate`: a new key, named in the manifest; (path, key id)."""
    from . import manifest as manifest_mod
    m = manifest_mod.load(manifest_mod.find(Path(project_dir)))
    if "key" in m.signing:
        raise InputError(f"{m.where('signing', 'key')}: the project already names a key "
                         f"({m.signing['key']}); remove that line first to replace it")
    path = Path(os.path.expanduser(str(out))) if out else default_key_path(m.name)
    path = path if path.is_absolute() else Path.cwd() / path
    build_root = (m.root / "build").resolve()
    if build_root == path.resolve() or build_root in path.resolve().parents:
        raise InputError(f"--out {path}: inside {build_root}; keep private keys out of build/")
    generate_key(path)
    add_key_to_manifest(m, path)
    return path, key_id(public_point(path))
