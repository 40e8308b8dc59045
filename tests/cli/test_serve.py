"""unicycle serve: refuses to run without --interface, the dnsmasq command line,
and the device table parsed from dnsmasq's log."""
import grp
import hashlib
import ipaddress
import json
import os
import pwd
from pathlib import Path
from types import SimpleNamespace

import pytest

from unicycle import netboot, serve
from unicycle.cli import cli
from unicycle.errors import InputError, RunError

IP_JSON = json.dumps([
    {"ifname": "lo", "operstate": "UNKNOWN", "address": "00:00:00:00:00:00",
     "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}]},
    {"ifname": "eth1", "operstate": "UP", "address": "aa:bb:cc:dd:ee:ff",
     "addr_info": [{"family": "inet", "local": "192.168.50.1", "prefixlen": 24},
                   {"family": "inet6", "local": "fe80::1", "prefixlen": 64}]},
    {"ifname": "wlan0", "operstate": "DOWN", "address": "11:22:33:44:55:66", "addr_info": []},
])


def test_no_interface_lists_interfaces_and_exits_2(runner, monkeypatch):
    monkeypatch.setattr(serve, "interfaces", lambda: serve.parse_ip_json(IP_JSON))
    r = runner.invoke(cli, ["serve"])
    assert r.exit_code == 2
    assert "eth1" in r.stderr and "192.168.50.1/24" in r.stderr and "UP" in r.stderr
    assert "wlan0" in r.stderr and "DOWN" in r.stderr
    assert "--interface" in r.stderr


def test_parse_ip_json_and_subnet():
    ifaces = {i.name: i for i in serve.parse_ip_json(IP_JSON)}
    assert ifaces["eth1"].addresses == ["192.168.50.1/24", "fe80::1/64"]
    assert serve.proxy_subnet(ifaces["eth1"]) == ipaddress.IPv4Network("192.168.50.0/24")
    with pytest.raises(InputError, match="no IPv4 address"):
        serve.proxy_subnet(ifaces["wlan0"])


def test_dnsmasq_args():
    args = serve.dnsmasq_args("eth1", ipaddress.IPv4Network("192.168.50.0/24"),
                              Path("/p/build/q170m/netboot"), identity=("nobody", "nogroup"),
                              binary="/usr/sbin/dnsmasq")
    assert args[0] == "/usr/sbin/dnsmasq"
    assert "--conf-file=/dev/null" in args            # nothing from /etc
    assert "--port=0" in args                          # no DNS
    assert "--interface=eth1" in args and "--bind-interfaces" in args
    assert "--dhcp-range=192.168.50.0,proxy,255.255.255.0" in args
    assert not any(a.startswith("--dhcp-range") and "proxy" not in a for a in args)
    assert "--enable-tftp" in args
    assert "--tftp-root=/p/build/q170m/netboot" in args
    assert "--pxe-service=X86-64_EFI,Unicycle,BOOTX64.EFI" in args   # client arch 7
    assert "--pxe-service=BC_EFI,Unicycle,BOOTX64.EFI" in args       # client arch 9
    assert "--log-dhcp" in args and "--log-facility=-" in args
    assert "--keep-in-foreground" in args
    assert "--user=nobody" in args and "--group=nogroup" in args
    assert not any(a.startswith("--tftp-secure") for a in args)   # would hide root's files


def test_started_as_root_dnsmasq_drops_to_nobody():
    nobody = pwd.getpwnam("nobody")
    assert serve.dnsmasq_identity(euid=0) == ("nobody", grp.getgrgid(nobody.pw_gid).gr_name)
    assert serve.dnsmasq_identity(euid=1000) is None      # not root: nothing to drop


def test_a_comma_in_the_tftp_root_is_refused():
    with pytest.raises(InputError, match=r"TFTP root /p/a,b/netboot has a comma"):
        serve.dnsmasq_args("eth1", ipaddress.IPv4Network("192.168.50.0/24"),
                           Path("/p/a,b/netboot"))


# A stand-in for dnsmasq: records its command line and what the TFTP root
# holds, and whether `nobody` can read it (when run as root), then exits 3.
FAKE_DNSMASQ = '''#!/usr/bin/python3
import hashlib, json, os, pwd, sys
root = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--tftp-root="))
files = {}
for d, _, names in os.walk(root, followlinks=True):
    for n in names:
        p = os.path.join(d, n)
        files[os.path.relpath(p, root)] = [hashlib.sha256(open(p, "rb").read()).hexdigest(),
                                           os.stat(p).st_mode & 0o777]
readable = None
if os.geteuid() == 0:
    pid = os.fork()
    if pid == 0:
        nobody = pwd.getpwnam("nobody")
        os.setgid(nobody.pw_gid); os.setgroups([]); os.setuid(nobody.pw_uid)
        try:
            for rel in files:
                open(os.path.join(root, rel), "rb").read()
        except OSError:
            os._exit(1)
        os._exit(0)
    readable = os.waitpid(pid, 0)[1] == 0
json.dump({"argv": sys.argv, "files": files, "readable_by_nobody": readable},
          open(os.environ["FAKE_DNSMASQ_OUT"], "w"))
sys.exit(3)
'''


def _fake_build(build_dir: Path, marker: bytes):
    build_dir.mkdir(parents=True, exist_ok=True)
    parts = {}
    for name in ("BOOTX64.EFI", "app.elf", "boot.cfg", "payload.cfg"):
        parts[name] = build_dir / name
        parts[name].write_bytes(marker + name.encode())
    netboot.package(parts["BOOTX64.EFI"], parts["app.elf"], parts["boot.cfg"],
                    parts["payload.cfg"], build_dir)


def test_serve_passes_dnsmasq_a_root_without_comma_readable_by_nobody(tmp_path, monkeypatch):
    """A project under a folder with a comma, inside a 0700 folder as /root is:
    dnsmasq gets a TFTP root of serve's own, that `nobody` can read, holding the
    build's files, and is told to become nobody."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    build_dir = home / "my,app" / "build" / "qemu-x86_64"
    fake = tmp_path / "dnsmasq"
    fake.write_text(FAKE_DNSMASQ)
    fake.chmod(0o755)
    out = tmp_path / "dnsmasq.json"
    monkeypatch.setenv("FAKE_DNSMASQ_OUT", str(out))
    monkeypatch.setattr(serve, "interfaces", lambda: serve.parse_ip_json(IP_JSON))
    monkeypatch.setattr(serve, "dnsmasq_binary", lambda: str(fake))
    monkeypatch.setattr(serve.os, "geteuid", lambda: 0)      # as `sudo unicycle serve`
    logged = []
    with pytest.raises(RunError, match="dnsmasq exited with status 3"):
        serve.serve(SimpleNamespace(build_dir=build_dir), "eth1", False,
                    lambda: _fake_build(build_dir, b"one:"), logged.append)
    seen = json.loads(out.read_text())
    root = next(a.split("=", 1)[1] for a in seen["argv"] if a.startswith("--tftp-root="))
    assert "," not in root and not root.startswith(str(home)), root
    assert "--user=nobody" in seen["argv"] and not any(
        a == "--user=root" for a in seen["argv"]), seen["argv"]
    want = {"BOOTX64.EFI": b"one:BOOTX64.EFI", "unicycle/app.elf": b"one:app.elf",
            "unicycle/boot.cfg": b"one:boot.cfg"}
    for rel, data in want.items():
        assert seen["files"][rel] == [hashlib.sha256(data).hexdigest(), 0o644], rel
    assert "unicycle/payload.cfg" in seen["files"]
    if os.getuid() == 0:
        assert seen["readable_by_nobody"] is True
    assert not Path(root).exists()          # serve removed its copy when dnsmasq ended
    assert any(f"from {root}, dnsmasq as nobody:" in line for line in logged), logged


def test_tftp_root_follows_a_rebuild(tmp_path):
    build_dir = tmp_path / "build"
    _fake_build(build_dir, b"one:")
    root = serve.TftpRoot(build_dir)
    try:
        assert root.refresh() and not root.refresh()
        assert (root.path / "unicycle" / "app.elf").read_bytes() == b"one:app.elf"
        first = os.readlink(root.path)
        _fake_build(build_dir, b"two:")
        assert root.refresh()
        assert (root.path / "unicycle" / "app.elf").read_bytes() == b"two:app.elf"
        assert os.readlink(root.path) != first
        assert (root.dir / first / "unicycle" / "app.elf").read_bytes() == b"one:app.elf"
        assert os.stat(root.dir).st_mode & 0o777 == 0o755
    finally:
        root.close()
    assert not root.dir.exists()


LOG = """\
dnsmasq: started, version 2.90 DNS disabled
dnsmasq-dhcp: DHCP, proxy on subnet 10.77.0.0
dnsmasq-tftp: TFTP root is /srv/nb
dnsmasq-dhcp: 1133403436 available DHCP subnet: 10.77.0.0/255.255.255.0
dnsmasq-dhcp: 1133403436 vendor class: PXEClient:Arch:00007:UNDI:003000
dnsmasq-dhcp: 1133403436 client MAC address: 52:54:00:12:34:01
dnsmasq-dhcp: 1133403436 PXE(br0) 52:54:00:12:34:01 proxy
dnsmasq-dhcp: 1133403436 PXE(br0) 10.77.0.101 52:54:00:12:34:01 BOOTX64.EFI
dnsmasq-tftp: error 0 TFTP Aborted received from 10.77.0.101
dnsmasq-tftp: sent /srv/nb/BOOTX64.EFI to 10.77.0.101
dnsmasq-tftp: sent /srv/nb/unicycle/payload.cfg to 10.77.0.101
dnsmasq-tftp: file /srv/nb/unicycle/nothere not found for 10.77.0.101
dnsmasq-tftp: sent /srv/nb/unicycle/app.elf to 10.77.0.101
dnsmasq-dhcp: 99 PXE(br0) 10.77.0.102 52:54:00:12:34:02 BOOTX64.EFI
"""


def test_log_lines_make_the_device_table(tmp_path):
    root = tmp_path / "nb"
    (root / "unicycle").mkdir(parents=True)
    (root / "unicycle" / "app.elf").write_bytes(b"x" * 1234)
    table = serve.DeviceTable(root)
    states = []
    for line in LOG.replace("/srv/nb", str(root)).splitlines():
        dev = table.feed(line)
        if dev and dev.mac == "52:54:00:12:34:01":
            states.append(dev.state)
    assert states == ["dhcp", "pxe offer", "pxe boot", "tftp error: TFTP Aborted",
                      "loader sent", "fetching", "not found", "booted"]
    one = table.devices["52:54:00:12:34:01"]
    assert (one.ip, one.file, one.bytes, one.boots) == ("10.77.0.101", "unicycle/app.elf",
                                                        1234, 1)
    two = table.devices["52:54:00:12:34:02"]
    assert (two.ip, two.state, two.file) == ("10.77.0.102", "pxe boot", "BOOTX64.EFI")
    rows = table.rows()
    assert rows[0].split()[:5] == ["MAC", "IP", "FILE", "BYTES", "STATE"]
    assert len(rows) == 3 and "booted" in rows[1]
    assert table.feed("dnsmasq: reading /etc/resolv.conf") is None


# dnsmasq 2.90 serving two OVMF guests at once (tests/integration/test_netboot_netns.py):
# the proxy-DHCP lines name only the MAC (the client has no address yet), the TFTP
# lines only the IP; each file is fetched after a size probe that the client ends
# with error 8 and that dnsmasq still logs as "sent".
LOG_TWO = """\
dnsmasq-dhcp[23192]: 501848035 PXE(ucbr0) 52:54:00:77:00:01 proxy
dnsmasq-dhcp[23192]: 501848036 PXE(ucbr0) 52:54:00:77:00:02 proxy
dnsmasq-dhcp[23192]: 1962644332 bootfile name: BOOTX64.EFI
dnsmasq-tftp[23192]: error 8 User aborted the transfer received from 10.77.0.80
dnsmasq-tftp[23192]: sent /srv/nb/BOOTX64.EFI to 10.77.0.80
dnsmasq-tftp[23192]: error 8 User aborted the transfer received from 10.77.0.81
dnsmasq-tftp[23192]: sent /srv/nb/BOOTX64.EFI to 10.77.0.81
dnsmasq-tftp[23192]: sent /srv/nb/BOOTX64.EFI to 10.77.0.80
dnsmasq-tftp[23192]: error 8 User aborted the transfer received from 10.77.0.80
dnsmasq-tftp[23192]: sent /srv/nb/unicycle/payload.cfg to 10.77.0.80
dnsmasq-tftp[23192]: sent /srv/nb/BOOTX64.EFI to 10.77.0.81
dnsmasq-tftp[23192]: sent /srv/nb/unicycle/payload.cfg to 10.77.0.80
dnsmasq-tftp[23192]: error 8 User aborted the transfer received from 10.77.0.80
dnsmasq-tftp[23192]: sent /srv/nb/unicycle/app.elf to 10.77.0.80
dnsmasq-tftp[23192]: sent /srv/nb/unicycle/app.elf to 10.77.0.80
dnsmasq-tftp[23192]: error 8 User aborted the transfer received from 10.77.0.81
dnsmasq-tftp[23192]: sent /srv/nb/unicycle/app.elf to 10.77.0.81
dnsmasq-tftp[23192]: sent /srv/nb/unicycle/app.elf to 10.77.0.81
"""


def test_tftp_ips_are_named_by_the_neighbour_table(tmp_path):
    root = tmp_path / "nb"
    (root / "unicycle").mkdir(parents=True)
    (root / "unicycle" / "app.elf").write_bytes(b"x" * 99)
    neigh = {"10.77.0.80": "52:54:00:77:00:01", "10.77.0.81": "52:54:00:77:00:02"}
    table = serve.DeviceTable(root, resolve=neigh.get)
    logged = []
    for line in LOG_TWO.replace("/srv/nb", str(root)).splitlines():
        dev = table.feed(line)
        if dev:
            logged.append((dev.mac, dev.state))
    assert sorted(table.devices) == ["52:54:00:77:00:01", "52:54:00:77:00:02"]
    for mac, ip in (("52:54:00:77:00:01", "10.77.0.80"), ("52:54:00:77:00:02", "10.77.0.81")):
        d = table.devices[mac]
        assert (d.ip, d.file, d.bytes, d.state, d.boots) == (ip, "unicycle/app.elf", 99,
                                                           "booted", 1)
    # The size probes (error 8 and their "sent") make no rows: one per transfer.
    assert [s for m, s in logged if m.endswith("01")] == [
        "pxe offer", "loader sent", "fetching", "booted"]
    assert not any(s.startswith("tftp error") for _, s in logged)


def test_a_device_named_late_keeps_its_rows(tmp_path):
    neigh = {}
    table = serve.DeviceTable(tmp_path, resolve=neigh.get)
    table.feed(f"dnsmasq-tftp[1]: sent {tmp_path}/BOOTX64.EFI to 10.77.0.90")
    assert list(table.devices) == ["?10.77.0.90"]
    neigh["10.77.0.90"] = "52:54:00:77:00:09"
    dev = table.feed(f"dnsmasq-tftp[1]: sent {tmp_path}/unicycle/app.elf to 10.77.0.90")
    assert list(table.devices) == ["52:54:00:77:00:09"]
    assert (dev.mac, dev.ip, dev.boots) == ("52:54:00:77:00:09", "10.77.0.90", 1)


def test_arp_mac_reads_the_neighbour_table(tmp_path):
    arp = tmp_path / "arp"
    arp.write_text(
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "10.77.0.80       0x1         0x2         52:54:00:77:00:01     *        ucbr0\n"
        "10.77.0.81       0x1         0x0         00:00:00:00:00:00     *        ucbr0\n")
    assert serve.arp_mac("10.77.0.80", str(arp)) == "52:54:00:77:00:01"
    assert serve.arp_mac("10.77.0.81", str(arp)) is None        # incomplete entry
    assert serve.arp_mac("10.77.0.82", str(arp)) is None
    assert serve.arp_mac("10.77.0.80", str(tmp_path / "none")) is None


def test_a_new_boot_clears_the_last_file(tmp_path):
    table = serve.DeviceTable(tmp_path, resolve={"10.77.0.80": "52:54:00:77:00:01"}.get)
    table.feed(f"dnsmasq-tftp[1]: sent {tmp_path}/unicycle/app.elf to 10.77.0.80")
    dev = table.feed("dnsmasq-dhcp[1]: 7 PXE(ucbr0) 52:54:00:77:00:01 proxy")
    assert (dev.state, dev.file, dev.bytes, dev.boots) == ("pxe offer", "", 0, 1)
