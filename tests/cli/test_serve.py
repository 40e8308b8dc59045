"""unicycle serve: refuses to run without --interface, the dnsmasq command line,
and the device table parsed from dnsmasq's log."""
import ipaddress
import json
from pathlib import Path

from unicycle import serve
from unicycle.cli import cli

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
    import pytest
    from unicycle.errors import InputError
    with pytest.raises(InputError, match="no IPv4 address"):
        serve.proxy_subnet(ifaces["wlan0"])


def test_dnsmasq_args():
    args = serve.dnsmasq_args("eth1", ipaddress.IPv4Network("192.168.50.0/24"),
                              Path("/p/build/q170m/netboot"), user="root",
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
    assert "--user=root" in args


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
