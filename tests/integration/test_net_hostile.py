"""Hostile traffic (issue 14, must-have 2): http-hello under QEMU on a tap in a
namespace this test creates, fed frames built with scapy and written raw to
the tap (an AF_PACKET socket opened inside the namespace): truncated and
malformed Ethernet/ARP/IPv4/IPv6/TCP/UDP/ICMP, bad checksums and header
lengths, bad TCP options, IPv4 and IPv6 fragments (overlapping, incomplete,
past 64 KiB), out-of-window and overlapping TCP segments, RST and SYN floods
(2,000 packets each, from live and from never-answering spoofed sources),
out-of-order segments past the pbuf pool, a peer announcing MSS 1, and
oversized and binary-garbage HTTP requests; the frame groups once more
through e1000e. (Slowloris is test_net_hold.py's.) One boot for the module; after each group
a normal request is answered within a second, the console shows no panic and
the heap's bytes in use come back to the baseline (see `baseline`)."""
import json
import random
import select
import socket
import struct
import time

import pytest

from helpers import Guest, http_hello, ns_call, ns_connect, recv_all, tap_netns, unicycle

pytestmark = pytest.mark.qemu

scapy = pytest.importorskip("scapy.all", reason="needs Debian's python3-scapy")
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, ICMPv6EchoRequest,  # noqa: E402
                       ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop,
                       IPv6ExtHdrRouting, PadN, Raw, fragment)

TAP = "uctap14"
HOST = "10.99.14.1"
GUEST = "10.99.14.2"
GUEST_MAC = "52:54:00:12:34:56"            # QEMU's default for the first NIC
GUEST_LL = "fe80::5054:ff:fe12:3456"       # lwIP's EUI-64 link-local from it
FAKE_IP = "10.99.14.50"                    # a peer only this test plays (no kernel behind it)
FAKE_MAC = "02:00:00:0e:00:50"
FAKE_LL = "fe80::ff:fe0e:50"
GUEST_MAC_BYTES = bytes.fromhex(GUEST_MAC.replace(":", ""))
FAKE_IP_BYTES = socket.inet_aton(FAKE_IP)
FAKE_LL_BYTES = socket.inet_pton(socket.AF_INET6, FAKE_LL)
TAPDEV = f"tap,id=net0,ifname={TAP},script=no,downscript=no"
INDEX = b"<html><body><h1>Hello, World!</h1></body></html>"
FLOOD = 2000                               # packets per flood
ANSWER_S = 1.0                             # a normal request after each group
RECLAIM_S = 5.0                            # bytes in use back to the baseline within this
CONCURRENT = 4                             # most HTTP connections a group holds at once
RCVBUF = 8 << 20                           # frames the guest sends while we flood
PANIC_MARKS = ("PANIC", "CPU exception", "lwIP assertion")


def l2socket(ns, iface):
    """scapy's raw L2 socket on `iface`, opened inside namespace `ns`."""
    def make():
        s = scapy.conf.L2socket(iface=iface, promisc=False)
        s.ins.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        return s
    return ns_call(ns, make)


class Wire:
    """Frames to and from the guest: scapy's raw L2 socket on the tap."""

    def __init__(self, ns, iface=TAP):
        self.sock = l2socket(ns, iface)

    def send(self, frames):
        for f in frames:
            self.sock.send(f if isinstance(f, scapy.Packet) else Raw(f))

    def recv_raw(self, timeout):
        """The next frame the guest sent, as bytes, or None after `timeout`."""
        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            if not select.select([self.sock], [], [], left)[0]:
                break
            f = self.sock.ins.recv(65536)
            if f[6:12] == GUEST_MAC_BYTES:
                return f
        return None

    def recv(self, match, timeout=2.0):
        """The first frame from the guest for which match(pkt) is true, or None."""
        end = time.monotonic() + timeout
        while (f := self.recv_raw(end - time.monotonic())) is not None:
            if match(Ether(f)):
                return Ether(f)
        return None

    def drain(self):
        while select.select([self.sock], [], [], 0)[0]:
            self.sock.recv()

    def close(self):
        self.sock.close()


def fake_eth(**kw):
    return Ether(src=FAKE_MAC, dst=GUEST_MAC, **kw)


def announce(wire, tries=5):
    """Puts FAKE_IP -> FAKE_MAC in the guest's ARP table: an ARP request for
    the guest's address (RFC 826: the target records the sender's pair).
    Its answer also says the guest has taken every frame sent before: a
    burst can overflow the tap's queue (1,000 frames) while QEMU drains
    it, so the request is repeated until answered."""
    for _ in range(tries):
        wire.send([Ether(src=FAKE_MAC, dst="ff:ff:ff:ff:ff:ff") /
                   ARP(op=1, hwsrc=FAKE_MAC, psrc=FAKE_IP, pdst=GUEST)])
        if wire.recv(lambda p: p.haslayer(ARP) and p[ARP].op == 2 and p[ARP].pdst == FAKE_IP, 1.0):
            return
    raise AssertionError(f"no ARP reply from the guest in {tries} tries")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """http-hello with a static address and the stats route, built once."""
    app = http_hello(tmp_path_factory.mktemp("hostile") / "hh", (GUEST, HOST))
    unicycle("build", "-C", app, "--direct", "--set", "HTTP_STATS=y", check=True)
    return app


@pytest.fixture(scope="module")
def guest(app):
    with tap_netns("uc-hostile", TAP, f"{HOST}/24") as ns:
        g = Guest(app, netdev=TAPDEV, prefix=["ip", "netns", "exec", ns])
        wire = None
        try:
            g.wait_for("http listening on port 80")
            g.wait_for(f"net0 {GUEST}/24 via static")
            g.wait_for(f"net0 {GUEST_LL}/64 link-local")       # DAD done
            g.ns, g.app = ns, app
            wire = g.wire = Wire(ns)
            g.wire_host_mac = ns_call(ns, lambda: scapy.get_if_hwaddr(TAP))
            announce(wire)
            g.baseline = baseline(g)
            print(f"\nbaseline: {g.baseline} bytes in use")
            yield g
        finally:
            if wire:
                wire.close()
            g.stop()


# ---- the checks after each group ----

def connect(ns, timeout=ANSWER_S, source=HOST):
    return ns_connect(ns, source, (GUEST, 80), timeout)


def request(ns, raw: bytes, timeout=ANSWER_S) -> bytes:
    s = connect(ns, timeout)
    try:
        s.sendall(raw)
        return recv_all(s)
    finally:
        s.close()


def get_index(ns, timeout=ANSWER_S) -> bytes:
    return request(ns, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout)


def bytes_in_use(ns) -> int:
    got = request(ns, b"GET /_unicycle/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                  timeout=5)
    return json.loads(got.partition(b"\r\n\r\n")[2])["mem"]["bytes_in_use"]


def baseline(g) -> int:
    """Bytes in use as a stats request sees them with nothing else open, after
    CONCURRENT connections were open at once and a settle second. The pbuf
    pool, pcbs and segments are static (lwIP's memp pools), so the heap holds
    only what connections and queued frames took; the HTTP engine keeps
    freed connection structs for reuse, up to the most ever open at once,
    hence the warm-up."""
    held = [connect(g.ns, 5) for _ in range(CONCURRENT - 1)]
    bytes_in_use(g.ns)
    for s in held:
        s.close()
    time.sleep(1)
    return bytes_in_use(g.ns)


def no_panic(g):
    console = g.serial()
    for mark in PANIC_MARKS:
        assert mark not in console, console[-3000:]
    assert g.proc.poll() is None, f"QEMU exited {g.proc.returncode}:\n{console[-3000:]}"


def healthy(g, what):
    """A normal request answered within ANSWER_S, no panic, and bytes in use
    back to the baseline within RECLAIM_S (all once the guest has taken
    the frames sent before); returns the seconds that took."""
    announce(g.wire)
    no_panic(g)
    start = time.monotonic()
    got = get_index(g.ns)
    took = time.monotonic() - start
    assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(INDEX), (what, got)
    assert took < ANSWER_S, (what, took)
    start = time.monotonic()
    while (now := bytes_in_use(g.ns)) > g.baseline:
        assert time.monotonic() - start < RECLAIM_S, \
            f"after {what}: {now} bytes in use, baseline {g.baseline}"
        time.sleep(0.25)
    no_panic(g)
    reclaim = time.monotonic() - start
    print(f"\n{what}: answered in {took * 1000:.0f} ms, bytes in use {now} "
          f"(baseline {g.baseline}) after {reclaim:.1f} s")
    return reclaim


# ---- a peer this test plays, and connections scripted segment by segment ----

class Peer:
    """FAKE_IP and FAKE_LL behaving as a host's kernel would: answers the
    guest's ARP requests and neighbour solicitations for them, and resets
    segments of connections it did not open (RFC 9293 3.10.7.1), so that
    half-open connections from floods end at once instead of after lwIP's
    20 s SYN_RCVD timeout. Ports in `owned` are left to a RawConn."""

    def __init__(self, ns, iface=TAP):
        import threading
        self.sock = l2socket(ns, iface)
        self.owned = set()
        self.resets = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            if not select.select([self.sock], [], [], 0.1)[0]:
                continue
            f = self.sock.ins.recv(65536)
            # only what the guest sent to FAKE_IP/FAKE_LL or asks about
            # them (ARP, neighbour solicitations): dissecting every frame
            # of a flood would take the CPU QEMU needs
            if f[6:12] != GUEST_MAC_BYTES or not (FAKE_IP_BYTES in f or FAKE_LL_BYTES[-3:] in f):
                continue
            self.answer(Ether(f))

    def answer(self, p):
        if p.haslayer(ARP) and p[ARP].op == 1 and p[ARP].pdst == FAKE_IP:
            self.sock.send(Ether(src=FAKE_MAC, dst=GUEST_MAC) /
                           ARP(op=2, hwsrc=FAKE_MAC, psrc=FAKE_IP, hwdst=GUEST_MAC, pdst=GUEST))
        elif p.haslayer(ICMPv6ND_NS) and p[ICMPv6ND_NS].tgt == FAKE_LL:
            self.sock.send(Ether(src=FAKE_MAC, dst=GUEST_MAC) / IPv6(src=FAKE_LL, dst=GUEST_LL, hlim=255) /
                           ICMPv6ND_NA(tgt=FAKE_LL, R=0, S=1, O=1) /
                           scapy.ICMPv6NDOptDstLLAddr(lladdr=FAKE_MAC))
        elif p.haslayer(TCP) and not p[TCP].flags.R and p[TCP].dport not in self.owned:
            ip = p[IP] if p.haslayer(IP) else p[IPv6]
            if ip.dst not in (FAKE_IP, FAKE_LL):
                return
            t = p[TCP]
            if t.flags.A:
                rst = TCP(sport=t.dport, dport=t.sport, flags="R", seq=t.ack)
            else:
                n = len(t.payload) + int(bool(t.flags.S)) + int(bool(t.flags.F))
                rst = TCP(sport=t.dport, dport=t.sport, flags="RA", seq=0, ack=t.seq + n)
            l3 = IP(src=FAKE_IP, dst=GUEST) if ip.version == 4 else IPv6(src=FAKE_LL, dst=GUEST_LL)
            self.sock.send(fake_eth() / l3 / rst)
            self.resets += 1

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


class RawConn:
    """A TCP connection from FAKE_IP driven by hand: a handshake with the
    given SYN options, then segments at any sequence number."""

    def __init__(self, wire, peer, options=(("MSS", 1460),), sport=None):
        self.wire, self.peer = wire, peer
        self.sport = sport or random.randrange(20000, 60000)
        peer.owned.add(self.sport)
        self.iss = random.randrange(1 << 32)
        wire.drain()
        wire.send([fake_eth() / IP(src=FAKE_IP, dst=GUEST) /
                   TCP(sport=self.sport, dport=80, flags="S", seq=self.iss, options=list(options))])
        sa = self.expect(lambda t: t.flags.S and t.flags.A)
        assert sa is not None, "no SYN-ACK"
        self.snd = (self.iss + 1) & 0xffffffff     # our next sequence number
        self.rcv = (sa.seq + 1) & 0xffffffff       # the guest's next
        self.send_seg(b"", flags="A")

    def expect(self, match, timeout=2.0):
        p = self.wire.recv(lambda p: p.haslayer(TCP) and p[TCP].dport == self.sport and
                           match(p[TCP]), timeout)
        return p[TCP] if p is not None else None

    def frame(self, data=b"", seq=None, flags="PA", ack=None, **tcp):
        seq = self.snd if seq is None else seq & 0xffffffff
        ack = self.rcv if ack is None else ack & 0xffffffff
        return (fake_eth() / IP(src=FAKE_IP, dst=GUEST) /
                TCP(sport=self.sport, dport=80, flags=flags, seq=seq, ack=ack, **tcp) / Raw(data))

    def send_seg(self, data=b"", offset=0, **kw):
        """One segment carrying data at our next sequence number + offset."""
        self.wire.send([self.frame(data, seq=self.snd + offset, **kw)])

    def advance(self, n):
        self.snd = (self.snd + n) & 0xffffffff

    def read(self, timeout=2.0, quiet=0.3):
        """What the guest sends in order until its FIN or `quiet` seconds of
        silence, acknowledging as it comes; returns (bytes, fin)."""
        out, fin = bytearray(), False
        end = time.monotonic() + timeout
        while time.monotonic() < end and not fin:
            t = self.expect(lambda t: True, min(quiet, end - time.monotonic()))
            if t is None:
                if out:
                    break
                continue
            data = bytes(t.payload) if t.payload else b""
            if t.flags.R:
                raise ConnectionResetError(bytes(out))
            if t.seq == self.rcv:
                out += data
                self.rcv = (self.rcv + len(data)) & 0xffffffff
                if t.flags.F:
                    self.rcv = (self.rcv + 1) & 0xffffffff
                    fin = True
            self.send_seg(b"", flags="A")
        return bytes(out), fin

    def reset(self):
        self.send_seg(b"", flags="R")
        self.peer.owned.discard(self.sport)


@pytest.fixture(scope="module")
def peer(guest):
    p = Peer(guest.ns)
    yield p
    p.close()


# ---- the e1000e NIC: the frame groups once more ----

E1000E_TAP = "uctap15"


def test_e1000e_malformed_and_mutated_frames(app):
    """The malformed and mutated frames of groups 1 and 2 through QEMU's
    e1000e and our driver for it: a guest of the same build in its own
    namespace. First in the module, before the virtio-net guest boots: two
    TCG guests at once on a loaded machine missed the 1 s answer now and then."""
    with tap_netns("uc-hostile-e", E1000E_TAP, f"{HOST}/24") as ns:
        g = Guest(app, nic="e1000e", prefix=["ip", "netns", "exec", ns],
                  netdev=f"tap,id=net0,ifname={E1000E_TAP},script=no,downscript=no")
        wire = p = None
        try:
            g.wait_for(f"net0 {GUEST}/24 via static")
            assert "e1000e" in g.serial(), g.serial()[-2000:]
            g.ns, wire = ns, Wire(ns, E1000E_TAP)
            g.wire = wire
            p = Peer(ns, E1000E_TAP)
            announce(wire)
            g.baseline = baseline(g)
            frames = malformed_l2_l3() + mutated(templates(), MUTATED, seed=15)
            wire.send(frames)
            healthy(g, f"e1000e: {len(frames)} malformed and mutated frames")
        finally:
            if p:
                p.close()
            if wire:
                wire.close()
            g.stop()


# ---- group 1: Ethernet, ARP and IPv4 headers ----

def ip4(**kw):
    return IP(src=FAKE_IP, dst=GUEST, **kw)


def syn(sport=40000, **kw):
    return TCP(sport=sport, dport=80, flags="S", seq=1000, **kw)


def with_bytes(frame: bytes, at: int, value: bytes) -> bytes:
    return frame[:at] + value + frame[at + len(value):]


ETH_HLEN = 14
IP_OFF = ETH_HLEN


def inet_csum(b: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4_raw_options(opts: bytes, payload: bytes, proto=6) -> bytes:
    """An IPv4 header carrying `opts` as given (padded to 32 bits), right
    checksum: scapy would parse and fix them."""
    opts += b"\0" * (-len(opts) % 4)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | (5 + len(opts) // 4), 0, 20 + len(opts) + len(payload),
                      1, 0, 64, proto, 0, socket.inet_aton(FAKE_IP), socket.inet_aton(GUEST)) + opts
    return with_bytes(hdr, 10, struct.pack("!H", inet_csum(hdr))) + payload


def malformed_l2_l3():
    """Frames wrong at the Ethernet, ARP or IPv4 layer."""
    eth = bytes(fake_eth())
    good = bytes(fake_eth() / ip4() / syn())
    out = [b"", b"\x00", eth[:6], eth[:13], eth]                    # short frames
    for etype in (0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x0000, 0x05dc, 0xffff):
        out += [eth[:12] + struct.pack("!H", etype) + b"\x45" * k for k in (0, 1, 8, 19)]
    out += [good[:n] for n in range(ETH_HLEN, len(good))]          # IPv4 cut at every byte
    for ihl in (0, 1, 4, 6, 15):                                    # bad IHL (RFC 791 3.1)
        out.append(bytes(fake_eth() / ip4(ihl=ihl) / syn()))
    for tl in (0, 1, 19, 20, 39, 41, 1500, 65535):                  # bad total length
        out.append(bytes(fake_eth() / ip4(len=tl) / syn()))
    out += [bytes(fake_eth() / ip4(chksum=0x1234) / syn()),          # bad header checksum
            bytes(fake_eth() / IP(src=FAKE_IP, dst=GUEST, version=6) / syn()),
            bytes(fake_eth() / IP(src=FAKE_IP, dst=GUEST, version=15) / syn()),
            bytes(fake_eth() / ip4(ttl=0) / syn()),
            bytes(fake_eth() / ip4(proto=253) / Raw(b"x" * 40)),
            bytes(fake_eth() / IP(src="255.255.255.255", dst=GUEST) / syn()),
            bytes(fake_eth() / IP(src="224.0.0.1", dst=GUEST) / syn()),
            bytes(fake_eth() / IP(src=GUEST, dst=GUEST) / syn(sport=80)),     # "land"
            bytes(fake_eth() / IP(src="127.0.0.1", dst=GUEST) / syn()),
            bytes(Ether(src=FAKE_MAC, dst="ff:ff:ff:ff:ff:ff") /
                  IP(src=FAKE_IP, dst="10.99.14.255") / ICMP())]
    # IPv4 options: zero length, length past the header, an endless-looking list
    for opts in (b"\x44\x00\x00\x00", b"\x44\x01\x00\x00", b"\x44\x28\x05\x00",
                 b"\x83\xff\x00\x00", b"\x07\x03\x04\x00", b"\x01" * 40, b"\x94\x04\x00\x00"):
        out.append(bytes(fake_eth(type=0x0800)) + ip4_raw_options(opts, bytes(syn())))
    # ARP: truncated, odd lengths and opcodes (the sender stays FAKE_IP: a
    # spoofed HOST entry would be poisoning, which no stack can refuse)
    arp = bytes(Ether(src=FAKE_MAC, dst="ff:ff:ff:ff:ff:ff") /
                ARP(op=1, hwsrc=FAKE_MAC, psrc=FAKE_IP, pdst=GUEST))
    out += [arp[:n] for n in range(ETH_HLEN, len(arp))]
    for field, at in ((b"\x00\x00", 14), (b"\x00", 18), (b"\x10", 19), (b"\x00\x00", 20),
                      (b"\x00\x63", 20), (b"\x06", 18), (b"\x08\x06", 16)):
        out.append(with_bytes(arp, at, field))
    out.append(bytes(fake_eth() / scapy.Dot1Q(vlan=5) / ip4() / syn()))
    out.append(bytes(fake_eth() / scapy.Dot1Q(vlan=0) / scapy.Dot1Q(vlan=7) / ip4() / syn()))
    out.append(bytes(fake_eth() / ip4() / syn()) + b"\x00" * 1400)   # trailing bytes
    out.append(bytes(fake_eth() / ip4() / Raw(b"\xff" * 1480)))
    return out


def mutated(templates, n, seed):
    """n frames: a template with 1-8 random bytes overwritten, cut short or
    grown by random bytes; the destination MAC is kept so every one arrives."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        f = bytearray(rng.choice(templates))
        how = rng.randrange(3)
        if how == 0:
            for _ in range(rng.randint(1, 8)):
                f[rng.randrange(6, len(f))] = rng.randrange(256)
        elif how == 1:
            f = f[:rng.randrange(6, len(f))]
        else:
            f[rng.randrange(ETH_HLEN, len(f)):] = rng.randbytes(rng.randrange(1, 200))
        out.append(bytes(f))
    return out


def templates():
    return [bytes(fake_eth() / ip4() / syn(options=[("MSS", 1460), ("WScale", 7),
                                                      ("SAckOK", b""), ("NOP", None)])),
            bytes(fake_eth() / ip4() / TCP(sport=40001, dport=80, flags="PA", seq=5, ack=9) /
                  Raw(b"GET / HTTP/1.1\r\n\r\n")),
            bytes(fake_eth() / ip4() / UDP(sport=5000, dport=7) / Raw(b"u" * 30)),
            bytes(fake_eth() / ip4() / ICMP() / Raw(b"p" * 56)),
            bytes(fake_eth() / ip4(flags="MF", frag=0, id=77) / Raw(b"f" * 64)),
            bytes(Ether(src=FAKE_MAC, dst="ff:ff:ff:ff:ff:ff") /
                  ARP(op=1, hwsrc=FAKE_MAC, psrc=FAKE_IP, pdst=GUEST)),
            bytes(fake_eth() / IPv6(src=FAKE_LL, dst=GUEST_LL) / ICMPv6EchoRequest(data=b"q" * 32)),
            bytes(fake_eth() / IPv6(src=FAKE_LL, dst=GUEST_LL) /
                  IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\x00" * 4)]) /
                  TCP(sport=40002, dport=80, flags="S")),
            bytes(Ether(src=FAKE_MAC, dst="33:33:ff:12:34:56") /
                  IPv6(src=FAKE_LL, dst="ff02::1:ff12:3456", hlim=255) /
                  ICMPv6ND_NS(tgt=GUEST_LL) / ICMPv6NDOptSrcLLAddr(lladdr=FAKE_MAC))]


MUTATED = 1500


def test_malformed_ethernet_arp_ipv4(guest, peer):
    frames = malformed_l2_l3()
    guest.wire.send(frames)
    healthy(guest, f"{len(frames)} malformed Ethernet/ARP/IPv4 frames")
    announce(guest.wire)


def test_mutated_frames(guest, peer):
    frames = mutated(templates(), MUTATED, seed=14)
    guest.wire.send(frames)
    healthy(guest, f"{len(frames)} randomly mutated frames")
    announce(guest.wire)


# ---- group 2: TCP, UDP and ICMP headers ----

def tcp_raw(offset_words: int, opts: bytes = b"", flags=0x02, payload=b"", sport=40010,
            csum_ok=True) -> bytes:
    """A TCP header as given (data offset and options unchecked) in an IPv4
    packet from FAKE_IP, with the checksum right unless told otherwise."""
    hdr = struct.pack("!HHIIBBHHH", sport, 80, 1000, 0, (offset_words & 0xf) << 4, flags,
                      8192, 0, 0) + opts
    seg = hdr + payload
    pseudo = socket.inet_aton(FAKE_IP) + socket.inet_aton(GUEST) + struct.pack("!BBH", 0, 6, len(seg))
    csum = inet_csum(pseudo + seg) if csum_ok else 0x1234
    seg = with_bytes(seg, 16, struct.pack("!H", csum))
    return bytes(fake_eth() / IP(src=FAKE_IP, dst=GUEST, proto=6) / Raw(seg))


def malformed_l4():
    out = []
    for off in (0, 1, 4, 6, 15):                                   # data offset (RFC 9293 3.1)
        out.append(tcp_raw(off))
        out.append(tcp_raw(off, payload=b"x" * 8))
    for opts in (b"\x02\x00\x05\xb4", b"\x02\x01\x05\xb4",         # MSS with length 0, 1
                 b"\x02\x03\x05\xb4", b"\x02\x04\x00\x00",         # MSS length 3, MSS 0
                 b"\x02\x04\x00\x01", b"\x02\xff\x05\xb4",         # MSS 1, length past the header
                 b"\x03\x03\x0f\x00", b"\x03\x00\x0e\x01",         # window scale 15, length 0
                 b"\x04\x00\x01\x01", b"\x05\x00\x00\x00",         # SACK-permitted / SACK length 0
                 b"\x08\x0a" + b"\x00" * 6, b"\x08\x01\x00\x00",   # timestamp cut short / len 1
                 b"\x22\x00\x00\x00", b"\xfe\x28" + b"\x00" * 2,   # unknown kind, len 0 / past the end
                 b"\x01" * 40, b"\x00\x02\x04\x05\xb4\x00\x00\x00"):  # all NOP; EOL then MSS
        words = 5 + (len(opts) + 3) // 4
        padded = opts + b"\x00" * (-len(opts) % 4)
        out.append(tcp_raw(min(words, 15), padded[:40]))
    out.append(tcp_raw(5, csum_ok=False))                          # bad checksum
    out.append(tcp_raw(5, flags=0x3f))                             # every flag
    out.append(tcp_raw(5, flags=0x00))                             # no flag
    out.append(tcp_raw(5, flags=0x03, payload=b"GET / HTTP/1.0\r\n\r\n"))   # SYN+FIN with data
    out.append(tcp_raw(5, flags=0x12))                             # SYN-ACK to a listener
    for dport in (81, 0):
        out.append(bytes(fake_eth() / ip4() / TCP(sport=40011, dport=dport, flags="S")))
    udp = bytes(fake_eth() / ip4() / UDP(sport=5000, dport=9) / Raw(b"u" * 16))
    out += [udp[:n] for n in range(34, len(udp))]                  # UDP cut short
    for ln in (0, 7, 8, 9, 100, 65535):                            # UDP length field
        out.append(bytes(fake_eth() / ip4() / UDP(sport=5000, dport=9, len=ln) / Raw(b"u" * 16)))
    out.append(bytes(fake_eth() / ip4() / UDP(sport=5000, dport=9, chksum=0x1234) / Raw(b"u")))
    out.append(bytes(fake_eth() / ip4() / UDP(sport=5000, dport=9, chksum=0)))
    out.append(bytes(fake_eth() / ip4() / UDP(sport=68, dport=67) / Raw(b"\x01" + b"\xff" * 300)))
    icmp = bytes(fake_eth() / ip4() / ICMP() / Raw(b"p" * 32))
    out += [icmp[:n] for n in range(34, len(icmp))]                # ICMP cut short
    out += [bytes(fake_eth() / ip4() / ICMP(chksum=0x1234) / Raw(b"p" * 32)),
            bytes(fake_eth() / ip4() / ICMP(type=8, code=99)),
            bytes(fake_eth() / ip4() / ICMP(type=0)),
            bytes(fake_eth() / ip4() / ICMP(type=5, gw="10.99.14.66") / IP(src=GUEST, dst=FAKE_IP)),
            bytes(fake_eth() / ip4() / ICMP(type=13)),
            bytes(fake_eth() / ip4() / ICMP(type=255, code=255) / Raw(b"z" * 100))]
    for t, c in ((3, 3), (3, 4), (11, 0), (12, 0), (4, 0)):        # errors quoting our traffic
        quoted = IP(src=GUEST, dst=FAKE_IP) / TCP(sport=80, dport=40000, seq=5)
        out.append(bytes(fake_eth() / ip4() / ICMP(type=t, code=c, nexthopmtu=68) / quoted))
        out.append(bytes(fake_eth() / ip4() / ICMP(type=t, code=c) / bytes(quoted)[:10]))
    out.append(bytes(fake_eth() / ip4() / ICMP() / Raw(b"\x00" * 1472)))   # largest unfragmented ping
    return out


def test_malformed_tcp_udp_icmp(guest, peer):
    frames = malformed_l4()
    guest.wire.send(frames)
    healthy(guest, f"{len(frames)} malformed TCP/UDP/ICMP segments")


# ---- group 3: IPv4 fragments ----

def frag(ident, offset_bytes, data, more=True, proto=1):
    return bytes(fake_eth() / IP(src=FAKE_IP, dst=GUEST, id=ident, proto=proto,
                                 flags="MF" if more else 0, frag=offset_bytes // 8) / Raw(data))


def fragments():
    ping = IP(src=FAKE_IP, dst=GUEST, id=0x1400) / ICMP(id=7, seq=1) / Raw(b"a" * 3000)
    out = [bytes(fake_eth() / f) for f in fragment(ping, fragsize=1000)]   # a good one
    icmp = bytes(ICMP(id=7, seq=2) / Raw(b"b" * 64))
    out += [frag(0x1401, 0, icmp[:32]), frag(0x1401, 16, b"X" * 48, more=False)]   # overlapping
    out += [frag(0x1402, 0, icmp[:40]), frag(0x1402, 0, icmp[:40]),               # duplicate,
            frag(0x1402, 8, icmp[8:40]), frag(0x1402, 40, icmp[40:], more=False)]  # contained
    out += [frag(0x1403, 24, b"t" * 8), frag(0x1403, 8, b"t" * 8),  # tiny, never complete
            frag(0x1403, 0, b"t" * 8)]
    out += [frag(0x1404, 65528, b"d" * 64, more=False)]             # ends past 65535 (ping of death)
    out += [frag(0x1405 + i, 8, b"i" * 64) for i in range(40)]      # 40 incomplete sets
    out += [frag(0x1440, 0, b"z" * 0), frag(0x1441, 0, b"e" * 7),   # empty / odd-sized non-last
            frag(0x1442, 1480, b"l" * 100, more=False), frag(0x1442, 1480, b"m" * 60, more=False)]
    # a TCP SYN whose header is split across fragments (RFC 1858 tiny fragments) and an overlap
    # rewriting its ports
    s = bytes(TCP(sport=40020, dport=80, flags="S", seq=9))
    out += [frag(0x1450, 0, s[:8], proto=6), frag(0x1450, 8, s[8:], more=False, proto=6)]
    out += [frag(0x1451, 0, s[:16], proto=6), frag(0x1451, 0, b"\x00" * 8, proto=6),
            frag(0x1451, 16, s[16:], more=False, proto=6)]
    # a 65535-byte ping in 45 fragments: the answer is fragmented as well
    big = IP(src=FAKE_IP, dst=GUEST, id=0x1460) / ICMP(id=7, seq=3) / Raw(b"B" * (65535 - 28))
    out += [bytes(fake_eth() / f) for f in fragment(big, fragsize=1480)]
    return out


def test_ipv4_fragments(guest, peer):
    frames = fragments()
    guest.wire.send(frames)
    got = guest.wire.recv(lambda p: p.haslayer(ICMP) and p[ICMP].type == 0 and p[ICMP].seq == 1
                          and p[IP].frag == 0, timeout=3)
    assert got is not None, "no answer to a good fragmented ping"
    # reassembly holds what it waits for at most IP_REASS_MAXAGE (15 s);
    # those are pool pbufs (static), so bytes in use are back at once
    healthy(guest, f"{len(frames)} IPv4 fragments")


# ---- group 4: IPv6, its extension headers, fragments and ICMPv6 ----

def ip6(**kw):
    return IPv6(src=FAKE_LL, dst=GUEST_LL, **kw)


def frag6(ident, offset_bytes, data, more=True, nh=58):
    return bytes(fake_eth() / ip6() / IPv6ExtHdrFragment(id=ident, offset=offset_bytes // 8,
                                                           m=int(more), nh=nh) / Raw(data))


def nd_raw(icmp_type: int, body: bytes, hlim=255, src=FAKE_LL, dst=GUEST_LL) -> bytes:
    """An ICMPv6 message with a right checksum over whatever body it is given."""
    msg = struct.pack("!BBH", icmp_type, 0, 0) + body
    pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
              struct.pack("!IxxxB", len(msg), 58))
    msg = with_bytes(msg, 2, struct.pack("!H", inet_csum(pseudo + msg)))
    return bytes(fake_eth() / IPv6(src=src, dst=dst, nh=58, hlim=hlim) / Raw(msg))


def malformed_ipv6():
    good = bytes(fake_eth() / ip6() / ICMPv6EchoRequest(id=1, seq=1, data=b"e" * 16))
    out = [good[:n] for n in range(ETH_HLEN, len(good))]            # cut at every byte
    out += [bytes(fake_eth() / ip6(plen=pl) / ICMPv6EchoRequest()) for pl in (0, 1, 7, 500, 65535)]
    out += [bytes(fake_eth() / IPv6(version=4, src=FAKE_LL, dst=GUEST_LL) / ICMPv6EchoRequest()),
            bytes(fake_eth() / ip6(nh=253) / Raw(b"x" * 16)),          # unknown next header
            bytes(fake_eth() / ip6(hlim=0) / ICMPv6EchoRequest()),
            bytes(fake_eth() / IPv6(src="::1", dst=GUEST_LL) / ICMPv6EchoRequest()),
            bytes(fake_eth() / IPv6(src="ff02::1", dst=GUEST_LL) / ICMPv6EchoRequest()),
            bytes(fake_eth() / IPv6(src=GUEST_LL, dst=GUEST_LL) / TCP(sport=80, dport=80, flags="S")),
            bytes(fake_eth() / ip6() / ICMPv6EchoRequest(cksum=0x1234))]
    # extension headers: a hop-by-hop not first (RFC 8200 4.1), options past the
    # header, zero-length PadN, unknown options asking for an ICMP error, 40 in a row
    out += [bytes(fake_eth() / ip6() / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / ICMPv6EchoRequest()),
            bytes(fake_eth() / ip6() / IPv6ExtHdrHopByHop(options=[PadN(optdata=b"")]) /
                  ICMPv6EchoRequest()),
            bytes(fake_eth() / ip6() / IPv6ExtHdrHopByHop(autopad=0, options=[
                scapy.HBHOptUnknown(otype=0x80, optlen=0)]) / ICMPv6EchoRequest()),
            bytes(fake_eth() / IPv6(src=FAKE_LL, dst="ff02::1") / IPv6ExtHdrDestOpt(options=[
                scapy.HBHOptUnknown(otype=0xc2, optdata=b"abcd")]) / ICMPv6EchoRequest()),
            bytes(fake_eth() / ip6() / IPv6ExtHdrRouting(type=0, segleft=1, addresses=["fe80::1"]) /
                  ICMPv6EchoRequest()),
            bytes(fake_eth() / ip6() / IPv6ExtHdrRouting(type=4, segleft=3) / ICMPv6EchoRequest()),
            bytes(fake_eth() / ip6() / IPv6ExtHdrRouting(type=2, segleft=0, len=0) / ICMPv6EchoRequest())]
    chain = ip6()
    for _ in range(40):
        chain = chain / IPv6ExtHdrDestOpt()
    out.append(bytes(fake_eth() / chain / ICMPv6EchoRequest()))
    for nh, body in ((0, b"\x3a\xff" + b"\x01\x00" * 3), (60, b"\x3a\x00\x05\x08" + b"\x00" * 4),
                     (43, b"\x3a\x00"), (0, b"\x3a\x00\xc2\x04\x00\x00\x00\x05")):  # raw, cut short
        out.append(bytes(fake_eth() / ip6(nh=nh) / Raw(body)))
    # fragments: overlapping (RFC 5722: the whole datagram is dropped), atomic,
    # incomplete, past 65535, a fragment header alone
    echo = bytes(ICMPv6EchoRequest(id=2, seq=2, data=b"F" * 64))
    out += [frag6(0x6601, 0, echo[:40]), frag6(0x6601, 32, echo[32:], more=False),
            frag6(0x6602, 0, echo, more=False),
            *[frag6(0x6610 + i, 8, b"i" * 48) for i in range(30)],
            frag6(0x6603, 65528, b"d" * 64, more=False),
            frag6(0x6604, 0, b"", more=False),
            frag6(0x6605, 0, b"x" * 7), frag6(0x6605, 8, b"y" * 8, more=False)]
    # neighbour discovery: zero-length options (RFC 4861 4.6: discard), options past
    # the end, hop limit not 255, RA with odd prefix and MTU options, truncated
    tgt = socket.inet_pton(socket.AF_INET6, GUEST_LL)
    out += [nd_raw(135, b"\x00" * 4 + tgt + b"\x01\x00" + b"\x00" * 6),     # NS, option len 0
            nd_raw(135, b"\x00" * 4 + tgt + b"\x01\x05" + b"\x00" * 6),     # option past the end
            nd_raw(135, b"\x00" * 4 + tgt + b"\x01\x01\x02\x00\x00\x0e\x00\x50", hlim=64),
            nd_raw(135, b"\x00" * 4 + tgt[:8]),                             # cut short
            nd_raw(136, b"\x20" + b"\x00" * 3 + socket.inet_pton(socket.AF_INET6, FAKE_LL) +
                   b"\x02\x00" + b"\x00" * 6),                              # NA, option len 0
            nd_raw(134, b"\x40\x00\x07\x08" + b"\x00" * 8 + b"\x03\x00" + b"\x00" * 30),  # RA, len 0
            nd_raw(134, b"\x40\x00\x07\x08" + b"\x00" * 8 + b"\x05\x01\x00\x00\x00\x00\x00\x00"),  # MTU 0
            nd_raw(134, b"\x40\x00\x07\x08" + b"\x00" * 8 + b"\x05\x01\x00\x00\xff\xff\xff\xff"),  # MTU 4G
            nd_raw(134, b"\x40\x00\x07\x08" + b"\x00" * 8 + b"\x03\x04\xc8\xc0" + b"\xff" * 12 +
                   b"\x20\x01\x0d\xb8" + b"\x00" * 12),                     # prefix length 200
            nd_raw(134, b"\x40\x00\x07\x08" + b"\x00" * 8 + b"\x18\x03\x81\x00" + b"\x00" * 20),  # route info
            nd_raw(134, b"\x40\x00\x07\x08" + b"\x00" * 8 + b"\x19\xff\x00\x00"),  # RDNSS past the end
            nd_raw(134, b"\x40"),                                           # RA cut short
            nd_raw(137, b"\x00" * 4 + tgt + tgt[:4]),                       # redirect cut short
            nd_raw(137, b"\x00" * 4 + tgt + tgt + b"\x04\x00" + b"\x00" * 6),
            nd_raw(130, b"\x00\x00\x00\x00" + tgt[:8], src=FAKE_LL, dst="ff02::1"),  # MLD query short
            nd_raw(143, b"\x00\x00\x00\xff" + b"\x04\x00\x00\x01" + b"\x00" * 8),  # MLDv2: past the end
            nd_raw(1, b"\x00" * 4 + bytes(IPv6(src=GUEST_LL, dst=FAKE_LL) / TCP(sport=80))),
            nd_raw(2, b"\x00\x00\x00\x10" + bytes(IPv6(src=GUEST_LL, dst=FAKE_LL))),  # too big: MTU 16
            nd_raw(4, b"\x00\x00\x00\xff" + bytes(IPv6(src=GUEST_LL, dst=FAKE_LL))),
            nd_raw(128, b"")]                                               # echo with no id
    return out


def ping6(wire, seq):
    wire.drain()
    wire.send([fake_eth() / ip6() / ICMPv6EchoRequest(id=0x66, seq=seq, data=b"ok")])
    return wire.recv(lambda p: p.haslayer(scapy.ICMPv6EchoReply) and
                     p[scapy.ICMPv6EchoReply].seq == seq, timeout=ANSWER_S)


def test_malformed_ipv6(guest, peer):
    assert ping6(guest.wire, 1) is not None, "no IPv6 echo reply before"
    frames = malformed_ipv6()
    guest.wire.send(frames)
    healthy(guest, f"{len(frames)} malformed IPv6 packets")
    assert ping6(guest.wire, 2) is not None, "no IPv6 echo reply after"


# ---- group 5: out-of-window and overlapping TCP segments ----

REQ = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def answered(data: bytes) -> bool:
    return data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(INDEX)


def test_overlapping_and_out_of_window_segments(guest, peer):
    announce(guest.wire)
    c = RawConn(guest.wire, peer)
    try:
        # the request out of order and overlapping itself, a conflicting
        # retransmission of bytes already taken, then the rest
        c.send_seg(REQ[10:20], offset=10)
        c.send_seg(REQ[5:15], offset=5)
        c.send_seg(REQ[:12])
        c.send_seg(b"XXXXXXXX", offset=2)                # old bytes, other content
        c.send_seg(REQ[18:], offset=18)
        c.advance(len(REQ))
        data, _ = c.read()
        assert answered(data), data
        # data out of the window both ways and an old byte with other content
        # (RFC 9293 3.10.7.4: acknowledged, dropped), ACKs for bytes never sent or
        # long acknowledged, RSTs and a SYN out of the window (RFC 5961 3, 4:
        # a challenge ACK, no reset), a zero window
        w = 32 * 1024
        for seq_off, data in ((1 << 31, b"G" * 20), (-100000, b"G" * 20), (w + 10, b"G" * 20),
                              (-1, b"G")):
            c.send_seg(data, offset=seq_off)
        for seq_off, kw in ((0, {"ack": c.rcv + 100000, "flags": "A"}),
                            (0, {"ack": c.rcv - (1 << 30), "flags": "A"}),
                            (w + 10, {"flags": "R"}), (1 << 30, {"flags": "R"}),
                            (12345, {"flags": "S"}), (0, {"flags": "A", "window": 0})):
            c.send_seg(b"", offset=seq_off, **kw)
        c.send_seg(REQ)                                  # the connection still works
        c.advance(len(REQ))
        data, _ = c.read()
        assert answered(data), data
    finally:
        c.reset()
    healthy(guest, "overlapping and out-of-window segments")


def test_tiny_mss_still_gets_its_answer(guest, peer):
    """A peer announcing MSS 1 (lwIP takes it: 1-byte segments) gets the
    whole answer, not a connection that never sends."""
    announce(guest.wire)
    c = RawConn(guest.wire, peer, options=(("MSS", 1),))
    try:
        c.send_seg(REQ)
        c.advance(len(REQ))
        data, _ = c.read(timeout=5, quiet=1)
        assert answered(data), data
    finally:
        c.reset()
    healthy(guest, "a peer with MSS 1")


PBUF_POOL = 512            # CONFIG_NET_PBUF_POOL's default: receive pbufs


def test_out_of_order_segments_cannot_take_the_pbuf_pool(guest, peer):
    """One-byte segments with a hole before each wait in lwIP's out-of-order
    queue, in a pool pbuf each: a connection sending as many as the pool
    holds leaves none for the next frame, a normal client's SYN say (lost
    without ethif.c's retry: answered after the 1 s retransmission). The
    pool's free count at that moment is not exactly known, so a few
    counts around it; and more than the pool, then everything is reset."""
    announce(guest.wire)
    for n in [*range(PBUF_POOL - 4, PBUF_POOL + 2), PBUF_POOL + 200]:
        c = RawConn(guest.wire, peer)
        try:
            c.send_seg(REQ[:4])
            c.advance(4)
            guest.wire.send([c.frame(b"x", seq=c.snd + 2 + 2 * i) for i in range(n)])
            time.sleep(0.2)
            no_panic(guest)
            start = time.monotonic()
            assert answered(get_index(guest.ns, timeout=3)), n
            took = time.monotonic() - start
            assert took < ANSWER_S, f"{n} out-of-order segments held: answered after {took:.1f} s"
        finally:
            c.reset()
    healthy(guest, "out-of-order one-byte segments up to the pbuf pool and past it")


# ---- group 6: RST and SYN floods ----

def test_rst_flood(guest, peer):
    ns = guest.ns
    held = connect(ns, 5)                 # a real connection the flood aims at
    try:
        sport = held.getsockname()[1]
        rng = random.Random(1)
        host = Ether(src=guest.wire_host_mac, dst=GUEST_MAC) / IP(src=HOST, dst=GUEST)
        frames = [host / TCP(sport=sport, dport=80, flags=rng.choice(["R", "RA"]),
                             seq=rng.randrange(1 << 32), ack=rng.randrange(1 << 32))
                  for _ in range(FLOOD // 2)]
        frames += [fake_eth() / ip4() / TCP(sport=rng.randrange(1024, 65536), dport=80, flags="R",
                                            seq=rng.randrange(1 << 32)) for _ in range(FLOOD // 2)]
        guest.wire.send(frames)
        held.sendall(REQ)                 # blind resets missed it
        got = b""
        while not got.endswith(INDEX):
            b = held.recv(65536)
            assert b, got
            got += b
    finally:
        held.close()
    healthy(guest, f"{FLOOD} RSTs")


def test_syn_flood(guest, peer):
    """SYNs from the host's own address and FAKE_IP (both answer the
    SYN-ACKs with a reset, as live hosts do) and from random ports: the
    per-peer cap and eviction keep a normal request going meanwhile."""
    rng = random.Random(2)
    host = Ether(src=guest.wire_host_mac, dst=GUEST_MAC) / IP(src=HOST, dst=GUEST)
    frames = []
    for i in range(FLOOD):
        l2l3 = host if i % 2 else fake_eth() / ip4()
        frames.append(l2l3 / TCP(sport=rng.randrange(1024, 65536), dport=80, flags="S",
                                 seq=rng.randrange(1 << 32), options=[("MSS", 536)]))
    start = time.monotonic()
    guest.wire.send(frames[:FLOOD // 2])
    mid = get_index(guest.ns, timeout=ANSWER_S)       # in the middle of the flood
    guest.wire.send(frames[FLOOD // 2:])
    print(f"\nSYN flood sent in {time.monotonic() - start:.1f} s")
    assert answered(mid), mid
    healthy(guest, f"{FLOOD} SYNs")


HALF_OPEN_BYTES = 256 * 160          # CONFIG_NET_TCP_PCBS pcbs, each with its SYN-ACK queued


def test_syn_flood_from_addresses_that_never_answer(guest, peer):
    """SYNs from 100 addresses off the subnet that nobody answers for (the
    SYN-ACKs go to the gateway, which drops them): half-open connections
    fill the pcb pool and would stay for lwIP's SYN_RCVD timeout (20 s),
    yet a normal request is answered within a second, evicting the oldest.
    Then the spoofed hosts wake up and reset their half-open connections,
    which gives back their buffers."""
    rng = random.Random(4)
    sources = [f"10.98.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(100)]
    frames = [fake_eth() / IP(src=rng.choice(sources), dst=GUEST) /
              TCP(sport=rng.randrange(1024, 65536), dport=80, flags="S", seq=rng.randrange(1 << 32))
              for _ in range(FLOOD)]
    guest.wire.drain()
    for half in (frames[:FLOOD // 2], frames[FLOOD // 2:]):
        guest.wire.send(half)
        start = time.monotonic()
        got = get_index(guest.ns, timeout=3)
        took = time.monotonic() - start
        assert answered(got) and took < ANSWER_S, f"answered after {took:.1f} s during the flood"
    held = bytes_in_use(guest.ns) - guest.baseline
    assert held <= HALF_OPEN_BYTES, held
    # the SYN-ACKs the gateway dropped, seen on the tap: reset each
    # (RFC 9293 3.10.7.1, as the hosts would)
    resets, seen = [], set()
    while (f := guest.wire.recv_raw(0.5)) is not None:
        ip = IP_OFF
        if f[12:14] != b"\x08\x00" or f[ip + 9] != 6:
            continue
        dst = socket.inet_ntoa(f[ip + 16:ip + 20])
        tcp = ip + (f[ip] & 0xf) * 4
        dport, ack, flags = struct.unpack("!2xH4xIxB", f[tcp:tcp + 14])
        if flags & 0x3f == 0x12 and dst != HOST and (dst, dport) not in seen:   # SYN-ACK
            seen.add((dst, dport))
            resets.append(fake_eth() / IP(src=dst, dst=GUEST) /
                          TCP(sport=dport, dport=80, flags="R", seq=ack))
    guest.wire.send(resets)
    print(f"\n{held} bytes held by half-open connections; {len(resets)} reset")
    healthy(guest, f"{FLOOD} SYNs from addresses that never answer")


# ---- group 7: oversized and binary-garbage HTTP requests ----

def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12])


def test_oversized_and_garbage_requests(guest, peer):
    ns = guest.ns
    rng = random.Random(3)
    cases = {
        "request line of 100 KB": (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                                   (414, 431, 400)),
        "header block of 1 MB": (b"GET / HTTP/1.1\r\n" + b"X-A: " + b"b" * 1_000_000 + b"\r\n\r\n", (431,)),
        "10,000 headers": (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 10_000 + b"\r\n", (431,)),
        "body over the limit": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" +
                                b"c" * 200_000, (413,)),
        "huge chunk size": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"ffffffffffffffff\r\n" + b"d" * 1000, (400, 413)),
        "binary garbage": (rng.randbytes(64 * 1024), (400,)),
        "NUL bytes": (b"\x00" * 4096, (400,)),
        "garbage after a request": (REQ + rng.randbytes(8192), (200,)),
        "TLS hello": (bytes.fromhex("160301020001000200" + "03035b") + rng.randbytes(500), (400,)),
        "bad method and version": (b"\xff\xfe / HTTP/9.9\r\n\r\n", (400,)),
        "negative Content-Length": (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", (400,)),
    }
    for name, (raw, statuses) in cases.items():
        s = connect(ns, 5)
        try:
            try:
                s.sendall(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass                          # answered and closed before all of it went out
            got = b""
            try:
                got = recv_all(s)
            except ConnectionResetError:
                pass
        finally:
            s.close()
        assert got, f"{name}: no answer"
        assert status_of(got) in statuses, (name, got[:200])
    healthy(guest, f"{len(cases)} oversized and garbage requests")
