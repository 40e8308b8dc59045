"""Signing BOOTX64.EFI for UEFI Secure Boot: key and certificate checked first, sbsign, sbverify.

The loader is signed with an Authenticode signature (what UEFI firmware checks against its db
of trusted certificates: UEFI 2.10 ch. 32, "Secure Boot and Driver Signing"). Debian's
sbsigntool does the PE/COFF work; this module makes sure its inputs are sound before a build
writes anything, and that its output verifies against the certificate.

The private key never lands inside build/ (nor anywhere else on disk): build.ninja holds only
its path, and an encrypted key is decrypted in memory and handed to sbsign through a pipe
(/dev/fd/N). Its passphrase comes from the environment (PASSPHRASE_ENV), since ninja runs the
signing step without a terminal.
"""
import os
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import tools
from .errors import BuildError, InputError, SetupError

PASSPHRASE_ENV = "UNICYCLE_EFI_KEY_PASSPHRASE"
SIGNED_NAME = "BOOTX64.signed.efi"   # in build/<board>/: what the image and netboot/ carry
MANIFEST_TABLE = "secure-boot"       # unicycle.toml: [secure-boot] key = ..., cert = ...
PEM_BEGIN = b"-----BEGIN "
# Microsoft PE Format: "MZ" header's e_lfanew at 0x3c -> "PE\0\0", the 20-byte COFF header,
# then the optional header; PE32+ (magic 0x20b) has its data directories at offset 112, and
# directory 4 is the Certificate Table (file offset, size) holding Authenticode signatures.
PE_LFANEW = 0x3C
PE_SIGNATURE = b"PE\0\0"
COFF_HEADER_SIZE = 20
PE32PLUS_MAGIC = 0x20B
PE32PLUS_DIRECTORIES = 112
CERTIFICATE_TABLE = 4
DIRECTORY = struct.Struct("<II")
MIN_RSA_BITS = 2048                  # firmware verifies RSA signatures; 2048 bits is the floor


@dataclass(frozen=True)
class Signing:
    """The key pair BOOTX64.EFI is signed with; `origin` says where it was asked for."""
    key: Path
    cert: Path
    origin: str                      # "--sign-efi" or "unicycle.toml:<line>"


def from_option(pair) -> Signing | None:
    """--sign-efi KEY CERT (relative to the working directory)."""
    if not pair:
        return None
    key, cert = pair
    return Signing(Path(key).expanduser().resolve(), Path(cert).expanduser().resolve(),
                   "--sign-efi")


def from_manifest(m) -> Signing | None:
    """[secure-boot] in unicycle.toml, paths relative to the project (`~` allowed)."""
    table = m.secure_boot
    if not table:
        return None
    def path(name):
        return (m.root / Path(table[name]).expanduser()).resolve()
    return Signing(path("key"), path("cert"), m.where(MANIFEST_TABLE))


def _read(path: Path, what: str, s: Signing) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: {what} file not found (from {s.origin})") from None
    except IsADirectoryError:
        raise InputError(f"{path}: {what} is a directory, not a file (from {s.origin})") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what}: {e.strerror} (from {s.origin})") \
            from None
    if PEM_BEGIN not in data:
        raise InputError(f"{path}: the {what} is not PEM (no '-----BEGIN' line; a DER file "
                         f"converts with `openssl {'x509' if what == 'certificate' else 'pkey'} "
                         f"-inform DER -in FILE -out FILE.pem`) (from {s.origin})")
    return data


def _crypto():
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ModuleNotFoundError:
        raise SetupError("signing BOOTX64.EFI needs the Python module cryptography: install the "
                         "Debian package python3-cryptography (make deps)") from None
    return x509, serialization, rsa


def _load_key(data: bytes, s: Signing):
    x509, serialization, rsa = _crypto()
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:              # encrypted, and no password given
        pass
    except ValueError as e:
        raise InputError(f"{s.key}: not a PEM private key ({e}) (from {s.origin})") from None
    phrase = os.environ.get(PASSPHRASE_ENV)
    if phrase is None:
        raise InputError(f"{s.key}: the private key is encrypted: put its passphrase in the "
                         f"environment variable {PASSPHRASE_ENV} (the build runs without a "
                         f"terminal to ask on)")
    try:
        return serialization.load_pem_private_key(data, password=phrase.encode())
    except ValueError:
        raise InputError(f"{s.key}: cannot decrypt the private key with the passphrase in "
                         f"{PASSPHRASE_ENV} (wrong passphrase?)") from None


def check(s: Signing, build_root: Path | None = None) -> bytes:
    """Read and check key and certificate: PEM, an RSA key of at least MIN_RSA_BITS, the
    key belonging to the certificate, the key not under `build_root` (the project's build/,
    which `unicycle clean` removes and whose netboot trees are served). Returns the key as
    unencrypted PEM (for sbsign's pipe). Every problem is one InputError naming the file."""
    if build_root and s.key.is_relative_to(Path(build_root).resolve()):
        raise InputError(f"{s.key}: the private key is inside {build_root}, which builds "
                         f"rewrite and `unicycle clean` removes: keep it outside the project "
                         f"(from {s.origin})")
    x509, serialization, rsa = _crypto()
    cert_pem = _read(s.cert, "certificate", s)
    key_pem = _read(s.key, "private key", s)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as e:
        raise InputError(f"{s.cert}: not a PEM X.509 certificate ({e}) (from {s.origin})") \
            from None
    key = _load_key(key_pem, s)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_RSA_BITS:
        raise InputError(f"{s.key}: Secure Boot needs an RSA key of at least {MIN_RSA_BITS} "
                         f"bits (firmware verifies RSA Authenticode signatures); this is "
                         f"{type(key).__name__.lstrip('_')} (from {s.origin})")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise InputError(f"{s.key}: this private key does not belong to the certificate "
                         f"{s.cert} (subject {cert.subject.rfc4514_string()}) (from {s.origin})")
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def subject(cert: Path) -> str:
    """The certificate's subject, for the build summary."""
    x509, _, _ = _crypto()
    return x509.load_pem_x509_certificate(Path(cert).read_bytes()).subject.rfc4514_string()


def has_signature(efi: Path) -> bool:
    """Does this PE32+ file carry a Certificate Table (any signature, trusted or not)?"""
    try:
        data = Path(efi).read_bytes()
        (lfanew,) = struct.unpack_from("<I", data, PE_LFANEW)
        opt = lfanew + len(PE_SIGNATURE) + COFF_HEADER_SIZE
        (magic,) = struct.unpack_from("<H", data, opt)
        if data[lfanew:lfanew + 4] != PE_SIGNATURE or magic != PE32PLUS_MAGIC:
            return False
        _, size = DIRECTORY.unpack_from(data, opt + PE32PLUS_DIRECTORIES +
                                        CERTIFICATE_TABLE * DIRECTORY.size)
    except (OSError, struct.error):
        return False
    return size != 0


def _run(cmd: list, what: str, pass_fds=()) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, pass_fds=pass_fds,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        said = (proc.stderr.strip() + "\n" + proc.stdout.strip()).strip()
        raise BuildError(f"{what} failed (exit {proc.returncode}): {said}")


def verify(cert: Path, efi: Path) -> None:
    """sbverify: `efi` carries a signature by `cert`'s key over its current contents."""
    _run([tools.require("sbverify"), "--cert", str(cert), str(efi)],
         f"sbverify --cert {cert} {efi}")


def sign(s: Signing, src: Path, out: Path) -> Path:
    """Sign `src` into `out` (atomically: out is whole and verified, or untouched)."""
    key_pem = check(s)
    sbsign = tools.require("sbsign")
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    # The key goes through a pipe, never to a file: it fits the pipe's buffer (64 KiB on Linux),
    # so it is written whole before sbsign starts, and sbsign opens /dev/fd/N as a file.
    rfd, wfd = os.pipe()
    try:
        os.write(wfd, key_pem)
        os.close(wfd)
        wfd = -1
        _run([sbsign, "--key", f"/dev/fd/{rfd}", "--cert", str(s.cert), "--output", str(tmp),
              str(src)], f"sbsign {src}", pass_fds=(rfd,))
        verify(s.cert, tmp)
        os.replace(tmp, out)
    finally:
        os.close(rfd)
        if wfd >= 0:
            os.close(wfd)
        tmp.unlink(missing_ok=True)
    return out
