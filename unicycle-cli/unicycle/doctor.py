"""`unicycle doctor`: is this host ready for the workflow? One check per tool or file.

Every check ends `ok`, `warn` or `FAIL` with the exact command that fixes a
problem. FAIL is for what new/build/run/flash/serve cannot work without (exit
status 1); warn is for optional things (KVM; writing sticks without sudo).
Every Debian package named in a fix is in the Makefile's APT_PACKAGES.
"""
import errno
import fcntl
import grp
import os
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from . import build, kvm, output, paths, pymodules, thirdparty, tools

OK, WARN, FAIL = "ok", "warn", "FAIL"
VERSION_TIMEOUT = 5.0            # seconds for `tool --version`

VERSION_WIDTH = 60               # longer --version lines (curl's) are cut
# Each tool is its own check, in workflow order: compile, link, package, run (and symbolize
# backtraces), flash, serve; every tool the library asks tools.require/find for is here.
TOOLS = ("gcc", "ld", "objcopy", "nm", "objdump", "addr2line", "ninja", "mcopy", "mmd",
         "mkfs.vfat", "sgdisk", "sbsign", "sbverify", "qemu-system-x86_64", "qemu-img", "curl",
         "lsblk", "dnsmasq", "ip", "gdb", "openssl")
VERSION_FLAGS = {"ip": "-V"}     # tools without --version
OVMF_FILES = (("ovmf-code", tools.OVMF_CODE), ("ovmf-vars", tools.OVMF_VARS),
              ("ovmf-secboot", tools.OVMF_CODE_SECBOOT),
              ("ovmf-snakeoil", tools.OVMF_VARS_SNAKEOIL))
GNU_EFI_PACKAGE = "gnu-efi"
GNU_EFI_FILES = (build.EFI_LDS, build.EFI_CRT0, f"{build.EFI_LIBDIR}/libgnuefi.a",
                 f"{build.EFI_LIBDIR}/libefi.a", f"{build.EFI_INC[0]}/efi.h")

# Linux Documentation/virt/kvm/api.rst, 4.1 KVM_GET_API_VERSION: _IO(KVMIO, 0x00)
# with KVMIO = 0xAE; "Applications should refuse to run if KVM_GET_API_VERSION
# returns a value other than 12." (kvm.py, which `run --kvm` uses, holds the values.)
KVM_DEVICE = kvm.KVM_DEVICE
KVM_GET_API_VERSION = kvm.KVM_GET_API_VERSION
KVM_API_VERSION = kvm.KVM_API_VERSION
CPUINFO = "/proc/cpuinfo"
DISK_GROUP = "disk"
FIX_RELOGIN = "(then log out and in again)"


@dataclass
class Check:
    name: str
    status: str          # OK, WARN or FAIL
    detail: str
    fix: str = ""        # the exact command (or step) that fixes it; "" when nothing to do
    package: str = ""    # the Debian package a missing tool comes from

    def as_dict(self) -> dict:
        return asdict(self)


def _sudo() -> str:
    return "" if os.geteuid() == 0 else "sudo "


def apt_install(packages) -> str:
    return (f"{_sudo()}apt-get install -y --no-install-recommends "
            f"{' '.join(sorted(set(packages)))}")


def _version(path: str, flag: str = "--version") -> str:
    """The first line `path --version` prints, or "" when it prints none."""
    try:
        proc = subprocess.run([path, flag], capture_output=True, text=True,
                              timeout=VERSION_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return ""
    # A failed run's stderr is a complaint, not a version (mkfs.vfat prints its version
    # on stdout, then refuses --version on stderr).
    text = proc.stdout + proc.stderr if proc.returncode == 0 else proc.stdout
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= VERSION_WIDTH else line[:VERSION_WIDTH - 3] + "..."
    return ""


def check_tool(tool: str) -> Check:
    package = tools.PACKAGES[tool]
    path = tools.find(tool)
    if path is None:
        return Check(tool, FAIL, "not found on PATH", apt_install([package]), package)
    version = _version(path, VERSION_FLAGS.get(tool, "--version"))
    return Check(tool, OK, f"{path}" + (f" ({version})" if version else ""), package=package)


def check_module(module: pymodules.Module) -> Check:
    """A Python module from its Debian package; only monitor's (pyserial) is optional."""
    name = f"python3 {module.name}"
    if not pymodules.present(module):
        return Check(name, FAIL if module.required else WARN,
                     f"module missing (needed for {module.needed_by})",
                     apt_install([module.package]), module.package)
    version = pymodules.version(module)
    return Check(name, OK, f"{module.dist} {version}" if version else "importable",
                 package=module.package)


def check_file(name: str, path: str) -> Check:
    package = tools.PACKAGES[path]
    if tools.find(path) is None:
        return Check(name, FAIL, f"{path} missing", apt_install([package]), package)
    return Check(name, OK, path, package=package)


def check_gnu_efi(files=GNU_EFI_FILES) -> Check:
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        return Check("gnu-efi", FAIL, "missing " + ", ".join(missing),
                     apt_install([GNU_EFI_PACKAGE]), GNU_EFI_PACKAGE)
    return Check("gnu-efi", OK, f"{build.EFI_LIBDIR}/libgnuefi.a, {build.EFI_LDS}",
                 package=GNU_EFI_PACKAGE)


def cached_tarball(comp: thirdparty.Component) -> Path:
    """Where `unicycle fetch` keeps the downloaded .orig tarball (thirdparty.download)."""
    return paths.cache_dir() / "apt-src" / "out" / comp.orig


def check_component(comp: thirdparty.Component, root: Path | None = None) -> Check:
    """Unpacked, stamped with the pinned SHA-256; a cached tarball is hashed again."""
    root = root or paths.third_party_dir()
    name = f"source {comp.name}"
    tree, stamp = root / comp.name, root / comp.name / thirdparty.STAMP
    if not tree.is_dir():
        return Check(name, FAIL, f"not fetched ({tree} missing)", "unicycle fetch")
    if not stamp.is_file():
        return Check(name, FAIL, f"{tree} has no {thirdparty.STAMP} (unpacking was "
                                 "interrupted?)", "unicycle fetch")
    got = stamp.read_text().strip()
    if got != comp.sha256:
        return Check(name, FAIL, f"{tree} was unpacked from a tarball with SHA-256 {got}, "
                                 f"expected {comp.sha256} (thirdparty.py)", "unicycle fetch")
    detail = f"{comp.orig} SHA-256 {comp.sha256[:12]}... matches"
    tarball = cached_tarball(comp)
    if tarball.is_file():
        digest = thirdparty.sha256_file(tarball)
        if digest != comp.sha256:
            return Check(name, FAIL, f"cached {tarball} has SHA-256 {digest}, expected "
                                     f"{comp.sha256}", f"rm {tarball} && unicycle fetch")
        detail += " (cached tarball hashed again)"
    return Check(name, OK, detail)


def _in_vm() -> bool:
    """The CPU's `hypervisor` flag: this Linux itself runs in a virtual machine."""
    try:
        with open(CPUINFO) as f:
            return any(line.startswith("flags") and " hypervisor" in line for line in f)
    except OSError:
        return False


def _kvm_module() -> str:
    try:
        text = Path(CPUINFO).read_text()
    except OSError:
        return "kvm_intel"
    return "kvm_amd" if "AuthenticAMD" in text else "kvm_intel"


def check_kvm(device: str = KVM_DEVICE) -> Check:
    """Open /dev/kvm and ask its API version; optional (runs use TCG unless --kvm)."""
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return Check("kvm", WARN, f"no {device}: runs use TCG (the default, slower)",
                     f"{_sudo()}modprobe {_kvm_module()} (and enable virtualization in the "
                     "firmware setup)")
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM):
            return Check("kvm", WARN, f"{device}: permission denied",
                         f"sudo usermod -aG kvm $USER {FIX_RELOGIN}")
        return Check("kvm", WARN, f"{device}: {e.strerror}")
    try:
        version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
    except OSError as e:
        return Check("kvm", WARN, f"{device}: KVM_GET_API_VERSION failed: {e.strerror}")
    finally:
        os.close(fd)
    if version != KVM_API_VERSION:
        return Check("kvm", WARN, f"{device}: KVM API version {version}, expected "
                                  f"{KVM_API_VERSION}; not usable")
    # The test boot `run --kvm` makes: nested KVM opens and answers, then fails here.
    failed = kvm.test_boot("kvm")
    if failed:
        return Check("kvm", WARN, f"{device} opens (API {version}), but {failed}"
                                  f"{' (this host is itself a VM)' if _in_vm() else ''}; "
                                  "runs use TCG, --kvm would fail")
    return Check("kvm", OK, f"{device} usable (API {version}); `unicycle run --kvm` works")


def _user() -> str:
    return os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.geteuid())


def check_flash(group: str = DISK_GROUP) -> Check:
    """Can this user open block devices for `unicycle flash`: root, or the disk group."""
    if os.geteuid() == 0:
        return Check("flash", OK, "root: can open block devices")
    try:
        g = grp.getgrnam(group)
    except KeyError:
        return Check("flash", WARN, f"no {group!r} group here: flash needs sudo",
                     "sudo unicycle flash ...")
    if g.gr_gid in os.getgroups():
        return Check("flash", OK, f"in the {group} group: can open block devices")
    if _user() in g.gr_mem:
        return Check("flash", WARN, f"added to the {group} group, not yet in this session",
                     f"log out and in again (or `newgrp {group}`)")
    return Check("flash", WARN, f"not root and not in the {group} group: flash needs sudo",
                 f"sudo usermod -aG {group} $USER {FIX_RELOGIN}")


def run_checks() -> list[Check]:
    checks = [check_tool(tool) for tool in TOOLS]
    checks += [check_module(m) for m in pymodules.MODULES]
    checks += [check_file(name, path) for name, path in OVMF_FILES]
    checks.append(check_gnu_efi())
    checks += [check_component(c) for c in thirdparty.COMPONENTS]
    checks.append(check_kvm())
    checks.append(check_flash())
    return checks


def healthy(checks) -> bool:
    return not any(c.status == FAIL for c in checks)


def fix_all(checks) -> list[str]:
    """The fixes of every failed check, packages in one apt-get line, in order."""
    failed = [c for c in checks if c.status == FAIL]
    packages = [c.package for c in failed if c.package]
    out = [apt_install(packages)] if packages else []
    for c in failed:
        if not c.package and c.fix not in out:
            out.append(c.fix)
    return out


STATUS_STYLE = {OK: {"fg": "green"}, WARN: {"fg": "yellow"}, FAIL: {"fg": "red", "bold": True}}


def report(checks, stream=None) -> list[str]:
    """One aligned line per check (status, name, what was found, the fix), then a verdict."""
    rows = [[c.status, c.name, c.detail + (f"  -> fix: {c.fix}" if c.fix else "")]
            for c in checks]
    lines = output.table(rows)
    if stream is not None:      # colour after aligning: escape codes have no width
        lines = [output.styled(line[:len(c.status)], stream, **STATUS_STYLE[c.status]) +
                 line[len(c.status):] for c, line in zip(checks, lines)]
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    if not failed:
        lines.append(f"all {len(checks)} checks passed" +
                     (f" ({warned} warning(s) about optional features)" if warned else ""))
    else:
        lines.append(f"{failed} problem(s); to fix them run:")
        lines += [f"  {cmd}" for cmd in fix_all(checks)]
    return lines
