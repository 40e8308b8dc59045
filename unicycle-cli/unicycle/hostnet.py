"""`unicycle run --net user|tap[:IFNAME]`: how the guest's NIC reaches the host.

`user` is QEMU's user-mode network (slirp): no set-up, ports forwarded with --forward. `tap`
joins the NIC to a host tap device that root made beforehand, e.g.
  ip tuntap add dev tap0 mode tap user $USER && ip link set tap0 up
The device is checked before QEMU starts, by attaching to it the way QEMU will
(linux/if_tun.h TUNSETIFF on /dev/net/tun), so that a missing, busy or foreign device is one
line naming the problem rather than QEMU's "could not configure /dev/net/tun".
"""
import errno
import fcntl
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError, RunError
from .qemu import NETDEV_ID

KINDS = ("user", "tap")
DEFAULT_TAP = "tap0"
TUN_DEVICE = "/dev/net/tun"
SYS_NET = Path("/sys/class/net")
IFNAMSIZ = 16                      # linux/if.h, the terminating NUL included
# linux/if_tun.h
TUNSETIFF = 0x400454CA             # _IOW('T', 202, int)
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_MULTI_QUEUE = 0x0100
IFF_NO_PI = 0x1000
IFREQ_SIZE = 40                    # struct ifreq on x86-64: name[16] + a 24-byte union


@dataclass(frozen=True)
class Net:
    kind: str = "user"             # one of KINDS
    ifname: str | None = None      # tap: the host device

    def netdev(self) -> str | None:
        """The -netdev value for a tap (None for user: qemu.command adds its forwards)."""
        if self.kind != "tap":
            return None
        # script=no: QEMU runs no /etc/qemu-ifup; the device is set up already.
        return f"tap,id={NETDEV_ID},ifname={self.ifname},script=no,downscript=no"


def parse(text: str) -> Net:
    """--net user | tap | tap:IFNAME."""
    kind, _, name = text.partition(":")
    if kind not in KINDS or (kind == "user" and name):
        raise InputError(f"--net {text!r}: expected user, tap or tap:IFNAME")
    if kind == "user":
        return Net()
    name = name or DEFAULT_TAP
    if len(name) >= IFNAMSIZ or not all(c.isalnum() or c in "-_." for c in name):
        raise InputError(f"--net {text!r}: {name!r} is not an interface name (at most "
                         f"{IFNAMSIZ - 1} letters, digits, '-', '_' or '.')")
    return Net("tap", name)


def setup_hint(name: str) -> str:
    return (f"create it as root: ip tuntap add dev {name} mode tap user {_user()} && "
            f"ip link set {name} up")


def _user() -> str:
    import pwd
    return pwd.getpwuid(os.getuid()).pw_name


def check_tap(name: str, sys_net: Path | None = None, tun_device: str | None = None):
    """Raise RunError unless tap device `name` exists and this user can attach to it."""
    sys_net, tun_device = sys_net or SYS_NET, tun_device or TUN_DEVICE
    dev = Path(sys_net) / name
    if not dev.exists():
        raise RunError(f"--net tap:{name}: no network device {name}; {setup_hint(name)}")
    flags_file = dev / "tun_flags"
    if not flags_file.exists():
        raise RunError(f"--net tap:{name}: {name} is not a tap device (no tun_flags in {dev})")
    flags = int(flags_file.read_text().strip(), 16)
    if not flags & IFF_TAP:
        raise RunError(f"--net tap:{name}: {name} is a tun device (IP packets); QEMU needs a "
                       f"tap (Ethernet frames): ip tuntap add dev NAME mode tap")
    _attach(name, flags & IFF_MULTI_QUEUE, tun_device)


def _attach(name: str, multi_queue: int, tun_device: str):
    """Attach to the device and let go at once, as a dry run of QEMU's own open."""
    try:
        fd = os.open(tun_device, os.O_RDWR)
    except OSError as e:
        raise RunError(f"--net tap:{name}: cannot open {tun_device}: {e.strerror} "
                       f"(modprobe tun)") from None
    try:
        req = struct.pack(f"{IFNAMSIZ}sH", name.encode(), IFF_TAP | IFF_NO_PI | multi_queue)
        fcntl.ioctl(fd, TUNSETIFF, req.ljust(IFREQ_SIZE, b"\0"))
    except OSError as e:
        raise RunError(f"--net tap:{name}: cannot attach to {name}: " + _why(e, name)) from None
    finally:
        os.close(fd)


def _why(e: OSError, name: str) -> str:
    if e.errno == errno.EPERM:
        return (f"permission denied (the device belongs to another user: run as root, or "
                f"recreate it with `ip tuntap add dev {name} mode tap user {_user()}`)")
    if e.errno == errno.EBUSY:
        return "it is in use (another QEMU attached to it?)"
    return e.strerror or str(e)
