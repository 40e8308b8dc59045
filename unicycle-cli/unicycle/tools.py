"""Host tools and files the CLI uses, each with the Debian package that provides it.

`require(name)` finds a tool on PATH (or in /usr/sbin, which a non-root PATH
often lacks) or says which package to install; `find(name)` is the same for
optional tools. Every package named here is in the Makefile's APT_PACKAGES.
"""
import os
import shutil

from .errors import SetupError

OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"
# Secure Boot (run --secure-boot): the SMM build, and variables with Debian's test ("snakeoil")
# certificate enrolled as PK, KEK and db; its key signs loaders that this firmware trusts.
OVMF_CODE_SECBOOT = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
OVMF_VARS_SNAKEOIL = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd"
SNAKEOIL_KEY = "/usr/share/ovmf/PkKek-1-snakeoil.key"     # passphrase "snakeoil"
SNAKEOIL_CERT = "/usr/share/ovmf/PkKek-1-snakeoil.pem"

PACKAGES = {
    "addr2line": "binutils",
    "curl": "curl",
    "dnsmasq": "dnsmasq-base",
    "gcc": "gcc",
    "gdb": "gdb",
    "ip": "iproute2",
    "ld": "binutils",
    "lsblk": "util-linux",
    "mcopy": "mtools",
    "mkfs.vfat": "dosfstools",
    "mmd": "mtools",
    "ninja": "ninja-build",
    "nm": "binutils",
    "objcopy": "binutils",
    "objdump": "binutils",
    "openssl": "openssl",
    "qemu-img": "qemu-utils",
    "qemu-system-x86_64": "qemu-system-x86",
    "sbsign": "sbsigntool",
    "sbverify": "sbsigntool",
    "sgdisk": "gdisk",
    OVMF_CODE: "ovmf",
    OVMF_VARS: "ovmf",
    OVMF_CODE_SECBOOT: "ovmf",
    OVMF_VARS_SNAKEOIL: "ovmf",
    SNAKEOIL_KEY: "ovmf",
    SNAKEOIL_CERT: "ovmf",
}

_SBIN = ("/usr/sbin", "/sbin")


def find(name: str) -> str | None:
    """The path of tool `name` (or of the file `name`, when absolute), or None."""
    if name not in PACKAGES:
        raise KeyError(f"tools.PACKAGES has no entry for {name!r}")
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    found = shutil.which(name)
    if found:
        return found
    for d in _SBIN:
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    return None


def require(name: str) -> str:
    """Like find(), but a missing tool is a SetupError naming its Debian package."""
    path = find(name)
    if path is None:
        raise SetupError(f"{name} not found: install the Debian package {PACKAGES[name]} "
                         f"(make deps)")
    return path
