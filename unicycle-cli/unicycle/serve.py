"""`unicycle serve`: a PXE boot server for build/<board>/netboot/ on one interface.

The server is Debian's dnsmasq (package dnsmasq-base), started and supervised
here: proxy DHCP (it only adds PXE options; the LAN's DHCP server still hands
out addresses), the PXE boot menu entry for x86-64 UEFI clients and TFTP from
the netboot directory, all bound to the one interface named, DNS off. Its log
(stderr) is parsed into a table of devices: MAC, IP, last file, bytes, state.

dnsmasq faces the LAN, so it does not keep root: started as root it drops to
DNSMASQ_USER (`nobody`, which Debian always has; dnsmasq-base alone creates no
user of its own) and that user's group. `nobody` may not reach the project
(a home directory of mode 0700, pytest's temporary folders), and dnsmasq
reads `--tftp-root=<dir>[,<interface>]` up to the first comma, so it never
serves the project's folder itself: serve publishes each build's netboot tree
into a directory of its own under the temporary folder (0755 directories,
0644 files: "other" may read them, which is all dnsmasq needs without
--tftp-secure; with it dnsmasq would serve only files that `nobody` owns) and
points dnsmasq there.
"""
import grp
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import netboot, tftpwatch, tools
from .errors import InputError, RunError, SetupError

PXE_MENU = "Unicycle"
BOOT_FILE = "BOOTX64.EFI"
# RFC 4578 client system architectures for x86-64 UEFI: 7 (named X86-64_EFI
# by dnsmasq) and 9 (BC_EFI in dnsmasq; what many x86-64 firmwares send).
PXE_CSA = ("X86-64_EFI", "BC_EFI")
DNSMASQ_USER = "nobody"


# --- host interfaces -------------------------------------------------------

@dataclass
class Interface:
    name: str
    state: str                    # "UP", "DOWN", "UNKNOWN"
    mac: str
    addresses: list[str]          # "a.b.c.d/len" and IPv6 "x::y/len"

    def ipv4(self) -> list[ipaddress.IPv4Interface]:
        return [ipaddress.IPv4Interface(a) for a in self.addresses if ":" not in a]


def parse_ip_json(text: str) -> list[Interface]:
    """Interfaces from `ip -json addr show`."""
    out = []
    for link in json.loads(text or "[]"):
        addrs = [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
                 if "local" in a]
        out.append(Interface(link["ifname"], link.get("operstate", "UNKNOWN"),
                             link.get("address", ""), addrs))
    return out


def interfaces() -> list[Interface]:
    ip = tools.require("ip")
    try:
        proc = subprocess.run([ip, "-json", "addr", "show"], capture_output=True, text=True,
                              check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise SetupError(f"cannot list network interfaces (ip, package iproute2): {e}") from None
    return parse_ip_json(proc.stdout)


def interface_table(ifaces: list[Interface]) -> list[str]:
    lines = [f"{'INTERFACE':<16} {'STATE':<8} ADDRESSES"]
    for i in ifaces:
        lines.append(f"{i.name:<16} {i.state:<8} {', '.join(i.addresses) or '-'}")
    return lines


def proxy_subnet(iface: Interface) -> ipaddress.IPv4Network:
    """The IPv4 network dnsmasq answers proxy DHCP on (the interface's first)."""
    v4 = iface.ipv4()
    if not v4:
        raise InputError(f"interface {iface.name} has no IPv4 address; PXE needs one "
                         f"(e.g. ip addr add 192.168.50.1/24 dev {iface.name})")
    return v4[0].network


# --- dnsmasq ---------------------------------------------------------------

def dnsmasq_binary() -> str:
    return tools.require("dnsmasq")


def dnsmasq_identity(euid: int | None = None) -> tuple[str, str] | None:
    """(user, group) dnsmasq switches to after binding its ports when started as
    root; None when we are not root (dnsmasq then keeps our identity)."""
    if (os.geteuid() if euid is None else euid) != 0:
        return None
    try:
        pw = pwd.getpwnam(DNSMASQ_USER)
    except KeyError:
        raise SetupError(f"no user {DNSMASQ_USER!r} on this machine: dnsmasq must not keep "
                         f"root, and has no other unprivileged user to become") from None
    try:
        group = grp.getgrgid(pw.pw_gid).gr_name
    except KeyError:
        group = str(pw.pw_gid)
    return DNSMASQ_USER, group


def dnsmasq_args(interface: str, subnet: ipaddress.IPv4Network, tftp_root: Path,
                 identity: tuple[str, str] | None = None,
                 binary: str = "dnsmasq") -> list[str]:
    """The whole dnsmasq command line; nothing is read from /etc/dnsmasq.conf.
    `identity` (user, group): what dnsmasq drops to after start (see
    dnsmasq_identity)."""
    if "," in str(tftp_root):
        raise InputError(f"TFTP root {tftp_root} has a comma in its path: dnsmasq's "
                         f"--tftp-root=<dir>[,<interface>] would cut it there")
    args = [binary,
            "--keep-in-foreground", "--conf-file=/dev/null", "--pid-file",
            "--log-facility=-", "--log-dhcp",
            "--port=0",                                   # no DNS at all
            f"--interface={interface}", "--bind-interfaces", "--except-interface=lo",
            f"--dhcp-range={subnet.network_address},proxy,{subnet.netmask}",
            "--dhcp-leasefile=/dev/null",
            f"--pxe-prompt={PXE_MENU},0"]
    args += [f"--pxe-service={csa},{PXE_MENU},{BOOT_FILE}" for csa in PXE_CSA]
    args += ["--enable-tftp", f"--tftp-root={tftp_root}", "--tftp-no-fail"]
    if identity:
        args += [f"--user={identity[0]}", f"--group={identity[1]}"]
    return args


class TftpRoot:
    """The directory dnsmasq serves: <tmp>/unicycle-serve-*/netboot, a copy of the
    build's netboot tree published like a build publishes it (netboot.py), so
    a transfer sees one build whole. refresh() follows the build's link."""

    def __init__(self, build_dir: Path):
        self.source = netboot.current(build_dir)
        self.dir = Path(tempfile.mkdtemp(prefix="unicycle-serve-"))
        os.chmod(self.dir, netboot.DIR_MODE)
        self.path = self.dir / netboot.LINK
        self.tree: str | None = None          # the build tree copied last

    def refresh(self) -> bool:
        """Copy the build's current tree if it is not the one served; True when
        it was copied. A tree that a newer build removes mid-copy is skipped
        (the next call copies the newer one)."""
        tree = os.path.realpath(self.source)
        if tree == self.tree:
            return False
        try:
            netboot.publish(netboot.tree_files(Path(tree)), self.dir)
        except FileNotFoundError:
            return False
        self.tree = tree
        return True

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# --- log parsing -----------------------------------------------------------

@dataclass
class Device:
    mac: str
    ip: str = ""
    file: str = ""
    bytes: int = 0
    state: str = "seen"
    time: float = field(default_factory=time.time)
    boots: int = 0
    probing: bool = False         # a TFTP size probe ended with error 8; its "sent" follows


_MAC = r"(?P<mac>[0-9a-f]{2}(?::[0-9a-f]{2}){5})"
_IP = r"(?P<ip>\d+\.\d+\.\d+\.\d+)"
_RE = [
    # dnsmasq-dhcp[9]: 3948393 PXE(br0) 10.0.0.15 52:54:00:12:34:56 BOOTX64.EFI
    ("boot-file", re.compile(r"dnsmasq-dhcp\S*: (?:\d+ )?PXE\(\S+\) " + _IP + " " + _MAC +
                             r" (?P<file>\S+)", re.I)),
    # dnsmasq-dhcp[9]: 3948393 PXE(br0) 52:54:00:12:34:56 proxy
    ("pxe-offer", re.compile(r"dnsmasq-dhcp\S*: (?:\d+ )?PXE\(\S+\) " + _MAC + r" proxy", re.I)),
    # dnsmasq-dhcp[9]: 3948393 client MAC address: 52:54:00:12:34:56
    ("dhcp", re.compile(r"dnsmasq-dhcp\S*: (?:\d+ )?client MAC address: " + _MAC, re.I)),
    # dnsmasq-tftp[9]: sent /srv/netboot/unicycle/app.elf to 10.0.0.15
    ("sent", re.compile(r"dnsmasq-tftp\S*: sent (?P<path>\S+) to " + _IP)),
    # dnsmasq-tftp[9]: file /srv/netboot/x not found for 10.0.0.15
    ("missing", re.compile(r"dnsmasq-tftp\S*: file (?P<path>\S+) not found(?: for " + _IP +
                           ")?")),
    # dnsmasq-tftp[9]: error 8 User aborted the transfer received from 10.0.0.15
    # (error 8 = option negotiation ended, RFC 2347: how PXE clients ask a file's
    # size; dnsmasq then logs "sent <file>" for the aborted transfer too)
    ("tftp-error", re.compile(r"dnsmasq-tftp\S*: error (?P<code>\d+) (?P<msg>.*) received from "
                              + _IP)),
]


def arp_mac(ip: str, table: str = "/proc/net/arp") -> str | None:
    """The MAC the kernel's neighbour table has for `ip` (in this network namespace).
    dnsmasq's TFTP lines name only the IP, and in proxy DHCP the client has no
    address yet, so its PXE lines name only the MAC: the neighbour entry (made
    when the client ARPs for the server before its first TFTP request) joins them."""
    try:
        with open(table) as f:
            next(f, None)
            for line in f:
                cols = line.split()
                if len(cols) >= 4 and cols[0] == ip and cols[3] != "00:00:00:00:00:00":
                    return cols[3].lower()
    except OSError:
        pass
    return None


class DeviceTable:
    """Devices by MAC, fed one dnsmasq log line at a time."""

    def __init__(self, tftp_root: Path | None = None, resolve=None):
        """`resolve(ip)` -> MAC or None (serve uses arp_mac) names the device
        behind an IP that no log line tied to a MAC; without it such a device
        is keyed "?<ip>"."""
        self.root = tftp_root
        self.resolve = resolve
        self.devices: dict[str, Device] = {}
        self._by_ip: dict[str, str] = {}

    def _device(self, mac=None, ip=None) -> Device:
        if mac is None:
            mac = (self.resolve(ip) if self.resolve else None) or self._by_ip.get(ip, f"?{ip}")
            unnamed = self.devices.get(f"?{ip}")
            if unnamed and not mac.startswith("?"):
                # Named at last: the rows so far under "?<ip>" are this MAC's.
                del self.devices[f"?{ip}"]
                dev = self.devices.setdefault(mac.lower(), Device(mac.lower()))
                dev.file, dev.bytes, dev.boots = unnamed.file, unnamed.bytes, \
                    dev.boots + unnamed.boots
        mac = mac.lower()
        dev = self.devices.setdefault(mac, Device(mac))
        if ip:
            dev.ip = ip
            self._by_ip[ip] = mac
        dev.time = time.time()
        return dev

    def _rel(self, path: str) -> str:
        if self.root:
            root = str(self.root)
            for prefix in (root, os.path.realpath(root)):
                if path.startswith(prefix.rstrip("/") + "/"):
                    return path[len(prefix.rstrip("/")) + 1:]
        return path

    def feed(self, line: str) -> Device | None:
        """Update the table from one log line; the device it changed, if any."""
        for kind, rx in _RE:
            m = rx.search(line)
            if not m:
                continue
            g = m.groupdict()
            if kind in ("dhcp", "pxe-offer"):
                dev = self._device(g["mac"])
                if dev.state == "booted":    # a new boot: last boot's file is history
                    dev.file, dev.bytes = "", 0
                dev.state = "dhcp" if kind == "dhcp" else "pxe offer"
            elif kind == "boot-file":
                dev = self._device(g["mac"], g["ip"])
                dev.file, dev.state = g["file"], "pxe boot"
            elif kind == "sent":
                dev = self._device(ip=g["ip"])
                if dev.probing:              # the end of a size probe, not a transfer
                    dev.probing = False
                    return None
                dev.file = self._rel(g["path"])
                try:
                    dev.bytes = os.path.getsize(g["path"])
                except OSError:
                    dev.bytes = 0
                dev.state = {"BOOTX64.EFI": "loader sent",
                             "unicycle/payload.cfg": "fetching",
                             "unicycle/boot.cfg": "fetching",
                             "unicycle/app.elf": "booted"}.get(dev.file, "sent")
                if dev.file == "unicycle/app.elf":
                    dev.boots += 1
            elif kind == "missing":
                if not g.get("ip"):
                    return None
                dev = self._device(ip=g["ip"])
                dev.file, dev.state = self._rel(g["path"]), "not found"
            else:
                dev = self._device(ip=g["ip"])
                if g["code"] == "8":
                    dev.probing = True
                    return None
                dev.state = f"tftp error: {g['msg'].strip()}"
            return dev
        return None

    def progress(self, mac: str, ip: str, file: str, sent: int, size: int | None) -> Device:
        """A transfer under way (tftpwatch): bytes so far, and the share of `size`."""
        dev = self._device(mac or None, ip)
        dev.file, dev.bytes = file, sent
        dev.state = f"loading {100 * sent // size}%" if size else "loading"
        return dev

    def rows(self) -> list[str]:
        lines = [f"{'MAC':<17} {'IP':<15} {'FILE':<22} {'BYTES':>9} {'STATE':<12} TIME"]
        for d in sorted(self.devices.values(), key=lambda d: d.mac):
            lines.append(format_row(d))
        return lines


def format_row(d: Device) -> str:
    return (f"{d.mac:<17} {d.ip or '-':<15} {d.file or '-':<22} {d.bytes:>9} "
            f"{d.state:<12} {time.strftime('%H:%M:%S', time.localtime(d.time))}")


# --- supervision -------------------------------------------------------------

class Server:
    """dnsmasq running in its own process group; stop() ends it."""

    def __init__(self, args: list[str]):
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True, bufsize=1, start_new_session=True)
        return self.proc

    def lines(self):
        for line in self.proc.stderr:
            yield line.rstrip("\n")

    def stop(self):
        p = self.proc
        if p and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            except ProcessLookupError:
                pass


def _sniffer(interface: str, root: TftpRoot, progress, log):
    """Transfer progress from the wire (tftpwatch), or None with one line saying why not."""
    def size_of(file):
        try:
            return os.path.getsize(root.path / file)
        except (OSError, ValueError):
            return None
    try:
        return tftpwatch.Sniffer(interface, tftpwatch.TftpWatch(progress, size_of)).start()
    except OSError as e:
        log(f"no transfer progress (a packet socket on {interface} needs CAP_NET_RAW: "
            f"{e.strerror}); rows appear when each file is sent")
        return None


def source_mtimes(paths) -> dict:
    out = {}
    for p in paths:
        try:
            out[str(p)] = os.stat(p).st_mtime_ns
        except OSError:
            out[str(p)] = None
    return out


def watched_paths(project) -> list[Path]:
    """What --watch polls: the manifest, .config and the app's sources and headers."""
    from . import config
    m = project.manifest
    paths = [m.path, m.root / config.DOTCONFIG, *m.sources]
    for d in [m.root / "src", *m.include_dirs]:
        if Path(d).is_dir():
            paths += sorted(Path(d).rglob("*.h"))
    return sorted(set(paths))


def serve(project, interface: str, watch: bool, build, log) -> None:
    """Build, then serve build/<board>/netboot on `interface` until Ctrl-C.
    `build()` rebuilds (raises on failure); `log(str)` prints one line."""
    ifaces = {i.name: i for i in interfaces()}
    if interface not in ifaces:
        raise InputError(f"no interface {interface!r}; interfaces: " +
                         ", ".join(sorted(ifaces)))
    subnet = proxy_subnet(ifaces[interface])
    identity = dnsmasq_identity()
    build()
    built = netboot.current(project.build_dir)
    if not (built / BOOT_FILE).is_file():
        raise RunError(f"{built}/{BOOT_FILE} missing after the build")
    root = TftpRoot(project.build_dir)
    try:
        root.refresh()
        _serve(project, root, interface, subnet, identity, watch, build, log)
    finally:
        root.close()


def _serve(project, root: TftpRoot, interface: str, subnet, identity, watch: bool, build,
           log) -> None:
    server = Server(dnsmasq_args(interface, subnet, root.path, identity=identity,
                                 binary=dnsmasq_binary()))
    table = DeviceTable(root.path, resolve=arp_mac)
    log(f"serving {root.source} on {interface} ({subnet}, proxy DHCP + PXE + TFTP) from "
        f"{root.path}" + (f", dnsmasq as {identity[0]}:{identity[1]}" if identity else "")
        + "; Ctrl-C stops")
    server.start()
    errors: list[str] = []
    lock = threading.Lock()            # the log reader and the sniffer share the table

    def progress(*transfer):
        with lock:
            log(format_row(table.progress(*transfer)))
    sniffer = _sniffer(interface, root, progress, log)

    def on_line(line):
        dev = table.feed(line)
        if dev:
            log(format_row(dev))
            if dev.state == "booted":
                log(f"boot #{dev.boots} of {dev.mac} ({dev.ip}): app.elf {dev.bytes} bytes sent")
        elif "dnsmasq:" in line and ("fail" in line.lower() or "error" in line.lower()
                                     or "illegal" in line.lower()):
            errors.append(line)
            log(line)

    def pump():
        for line in server.lines():
            with lock:
                on_line(line)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    old_term = signal.signal(signal.SIGTERM, on_term)   # `kill` stops cleanly too

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    paths = watched_paths(project) if watch else []
    seen = source_mtimes(paths)
    try:
        while server.proc.poll() is None:
            time.sleep(1)
            if root.refresh():
                log(f"serving the new build {os.path.basename(root.tree)}")
            if not watch:
                continue
            now = source_mtimes(paths)
            if now != seen:
                seen = now
                log("sources changed: rebuilding")
                try:
                    build()
                    root.refresh()
                    log("rebuilt; the next boot gets the new payload")
                except Exception as e:       # a failed build keeps serving the old one
                    log(f"build failed, still serving the previous build: {e}")
                paths = watched_paths(project)
                seen = source_mtimes(paths)
        reader.join(timeout=2)
        raise RunError(f"dnsmasq exited with status {server.proc.returncode}"
                       + (f": {errors[-1]}" if errors else ""))
    except KeyboardInterrupt:
        log("stopping dnsmasq")
    finally:
        server.stop()
        if sniffer:
            sniffer.stop()
        signal.signal(signal.SIGTERM, old_term)
        for line in table.rows():
            log(line)


def serve_project(project_dir, board_name, interface: str, watch: bool, log,
                  verbose=False) -> None:
    """`unicycle serve`: serve the project's netboot tree, rebuilt first (and on
    source changes with `watch`)."""
    from . import build
    proj = build.open_project(project_dir, board_name)
    serve(proj, interface, watch, lambda: build.build(proj, verbose=verbose), log)
