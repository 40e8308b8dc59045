"""Live TFTP transfer progress for `unicycle serve`, read off the wire.

dnsmasq logs a TFTP transfer only when it has ended ("sent <file> to <ip>"),
so while a board loads a 1 MiB app.elf the device table would sit still.
This watches the served interface with a packet socket (Linux packet(7),
SOCK_DGRAM: frames arrive without their Ethernet header, with the sender's
MAC and a direction) and follows each transfer:

- RFC 1350 sec. 5: RRQ (opcode 1) from the client to port 69 names the file;
  the server answers from a port of its own, DATA (3) carries a 16-bit block
  number and up to blksize bytes, a shorter block ends the transfer; ERROR (5).
- RFC 2347: options follow the mode in the RRQ, the server confirms them in an
  OACK (6); a client that only wanted the size ends with ERROR code 8.
- RFC 2348 blksize (default 512) and RFC 2349 tsize (the file's size in the OACK).

A transfer is keyed by the client's address and port. Reports go to a
callback at the first block and then at most once per `interval`; the last
block is not reported (dnsmasq's "sent" line is the row that ends a transfer).
Block numbers wrap at 65535 (the rollover dnsmasq does), so bytes are counted
per new block, not computed from the number. A classic BPF filter on the
socket (Linux Documentation/networking/filter.rst) passes only UDP to Python.
"""
import ctypes
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

TFTP_PORT = 69
RRQ, DATA, ERROR, OACK = 1, 3, 5, 6
ERR_OPTION_REFUSED = 8            # RFC 2347: option negotiation ended (a size probe)
DEFAULT_BLKSIZE = 512             # RFC 1350
IPPROTO_UDP = 17
ETH_P_ALL, ETH_P_IP = 0x0003, 0x0800      # linux/if_ether.h
PACKET_HOST, PACKET_OUTGOING = 0, 4       # linux/if_packet.h sll_pkttype
SO_ATTACH_FILTER = 26                     # asm-generic/socket.h
SKF_AD_PROTOCOL = 0xFFFFF000              # linux/filter.h SKF_AD_OFF + SKF_AD_PROTOCOL
# BPF on the network header (SOCK_DGRAM): ldh skb->protocol; jeq #0x0800 else drop;
# ldb [9] (the IPv4 protocol); jeq #17 else drop; ret #65535 (pass); ret #0 (drop)
UDP_ONLY = ((0x28, 0, 0, SKF_AD_PROTOCOL), (0x15, 0, 3, ETH_P_IP), (0x30, 0, 0, 9),
            (0x15, 0, 1, IPPROTO_UDP), (0x06, 0, 0, 0xFFFF), (0x06, 0, 0, 0))


@dataclass
class Transfer:
    ip: str
    port: int
    mac: str
    file: str
    size: int | None = None
    blksize: int = DEFAULT_BLKSIZE
    block: int = 0                # last block number seen
    sent: int = 0                 # bytes in the new blocks seen
    reported: float | None = None
    done: bool = False
    started: float = field(default_factory=time.monotonic)


def _udp(packet: bytes):
    """(src ip, src port, dst ip, dst port, payload) of an IPv4 UDP datagram, or None."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != IPPROTO_UDP:
        return None
    ihl = (packet[0] & 0x0F) * 4
    if ihl < 20 or len(packet) < ihl + 8:
        return None
    if struct.unpack_from("!H", packet, 6)[0] & 0x3FFF:     # a fragment (MF or offset)
        return None
    sport, dport, length = struct.unpack_from("!HHH", packet, ihl)
    payload = packet[ihl + 8:ihl + max(length, 8)]
    return (socket.inet_ntoa(packet[12:16]), sport, socket.inet_ntoa(packet[16:20]), dport,
            payload)


def _options(fields: list[bytes]) -> dict[str, str]:
    """RFC 2347 name/value pairs (names case-insensitive)."""
    out = {}
    for name, value in zip(fields[0::2], fields[1::2]):
        out[name.decode("ascii", "replace").lower()] = value.decode("ascii", "replace")
    return out


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class TftpWatch:
    """Follows transfers from packets handed to feed(); calls
    on_progress(mac, ip, file, sent, size) (size None when unknown)."""

    def __init__(self, on_progress, size_of=None, interval: float = 1.0, clock=time.monotonic):
        self.on_progress = on_progress
        self.size_of = size_of or (lambda file: None)
        self.interval = interval
        self.clock = clock
        self.transfers: dict[tuple[str, int], Transfer] = {}

    def feed(self, packet: bytes, outgoing: bool, mac: str = "") -> None:
        udp = _udp(packet)
        if udp is None or len(udp[4]) < 4:
            return
        src, sport, dst, dport, payload = udp
        opcode = struct.unpack_from("!H", payload)[0]
        if not outgoing and dport == TFTP_PORT and opcode == RRQ:
            self._request(src, sport, mac, payload[2:])
        elif not outgoing and opcode == ERROR:
            self.transfers.pop((src, sport), None)
        elif outgoing and (dst, dport) in self.transfers:
            t = self.transfers[(dst, dport)]
            if opcode == OACK:
                opts = _options(payload[2:].split(b"\0"))
                t.blksize = _int(opts.get("blksize")) or t.blksize
                t.size = _int(opts.get("tsize")) or t.size
            elif opcode == DATA:
                self._data(t, struct.unpack_from("!H", payload, 2)[0], len(payload) - 4)
            elif opcode == ERROR:
                del self.transfers[(dst, dport)]

    def _request(self, ip: str, port: int, mac: str, body: bytes):
        fields = body.split(b"\0")
        if len(fields) < 2 or not fields[0]:
            return
        file = fields[0].decode("ascii", "replace").lstrip("/")
        t = Transfer(ip, port, mac, file, size=self.size_of(file))
        opts = _options(fields[2:])
        t.blksize = _int(opts.get("blksize")) or DEFAULT_BLKSIZE
        self.transfers[(ip, port)] = t

    def _data(self, t: Transfer, block: int, length: int):
        if t.done or block != (t.block + 1) & 0xFFFF:
            return                                   # a retransmission or out of order
        t.block = block
        t.sent += length
        if length < t.blksize or (t.size is not None and t.sent >= t.size):
            t.done = True
            del self.transfers[(t.ip, t.port)]
            return
        now = self.clock()
        if t.reported is None or now - t.reported >= self.interval:
            t.reported = now
            self.on_progress(t.mac, t.ip, t.file, t.sent, t.size)


def packet_socket(interface: str) -> socket.socket:
    """A packet socket on `interface` that passes IPv4 UDP (needs CAP_NET_RAW).
    ETH_P_ALL, not ETH_P_IP: only ETH_P_ALL sockets see what the host sends
    (dnsmasq's DATA blocks); the filter drops everything but IPv4 UDP in the kernel."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    try:
        prog = b"".join(struct.pack("HBBI", *insn) for insn in UDP_ONLY)
        buf = ctypes.create_string_buffer(prog, len(prog))
        fprog = struct.pack("HL", len(UDP_ONLY), ctypes.addressof(buf))
        s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
        s.bind((interface, ETH_P_ALL))
        s.settimeout(0.5)
    except OSError:
        s.close()
        raise
    return s


class Sniffer:
    """A thread feeding a TftpWatch from a packet socket until stop()."""

    def __init__(self, interface: str, watch: TftpWatch):
        self.sock = packet_socket(interface)       # OSError (e.g. EPERM) to the caller
        self.watch = watch
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            try:
                packet, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            pkttype, hwaddr = addr[2], addr[4]
            if pkttype not in (PACKET_HOST, PACKET_OUTGOING):
                continue
            mac = ":".join(f"{b:02x}" for b in hwaddr[:6])
            self.watch.feed(packet, pkttype == PACKET_OUTGOING, mac)

    def stop(self):
        self._stop.set()
        self.thread.join(timeout=2)
        self.sock.close()
