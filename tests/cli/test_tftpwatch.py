"""Transfer progress from TFTP packets (tftpwatch): the packets a PXE client and
dnsmasq exchange, built here byte by byte after RFC 1350/2347/2348/2349."""
import socket
import struct

from unicycle import serve, tftpwatch

CLIENT, SERVER = ("10.77.0.50", 1468), ("10.77.0.1", 40001)
MAC = "52:54:00:77:00:01"


def udp(src, dst, payload: bytes, flags_frag: int = 0, ihl: int = 5) -> bytes:
    """An IPv4 header (checksum left 0: nothing checks it here) + UDP header + payload."""
    length = ihl * 4 + 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, length, 1, flags_frag, 64, 17, 0,
                     socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    ip += b"\0" * (ihl * 4 - 20)
    return ip + struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload


def rrq(file: str, **opts) -> bytes:
    body = file.encode() + b"\0octet\0" + b"".join(f"{k}\0{v}\0".encode() for k, v in opts.items())
    return udp(CLIENT, ("10.77.0.1", 69), struct.pack("!H", 1) + body)


def oack(**opts) -> bytes:
    return udp(SERVER, CLIENT, struct.pack("!H", 6) +
               b"".join(f"{k}\0{v}\0".encode() for k, v in opts.items()))


def data(block: int, length: int) -> bytes:
    return udp(SERVER, CLIENT, struct.pack("!HH", 3, block & 0xFFFF) + b"x" * length)


def error(code: int, src=CLIENT, dst=SERVER) -> bytes:
    return udp(src, dst, struct.pack("!HH", 5, code) + b"aborted\0")


class Clock:
    def __init__(self, step):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


def watch(step=0.3, size_of=None):
    reports = []
    w = tftpwatch.TftpWatch(lambda *r: reports.append(r), size_of=size_of, interval=1.0,
                            clock=Clock(step))
    return w, reports


def test_a_transfer_is_reported_at_the_start_then_once_a_second_but_not_at_its_end():
    w, reports = watch(step=0.3)
    w.feed(rrq("/unicycle/app.elf", tsize=0, blksize=1468), outgoing=False, mac=MAC)
    w.feed(oack(tsize=10000, blksize=1000), outgoing=True)
    for block in range(1, 11):
        w.feed(data(block, 1000), outgoing=True)
    w.feed(data(11, 0), outgoing=True)                # RFC 1350: a short block ends it
    # clock 0.3, 0.6, ...: reports at block 1 (t=0.3), block 5 (t=1.5), block 9 (t=2.7)
    assert reports == [(MAC, CLIENT[0], "unicycle/app.elf", 1000, 10000),
                       (MAC, CLIENT[0], "unicycle/app.elf", 5000, 10000),
                       (MAC, CLIENT[0], "unicycle/app.elf", 9000, 10000)]
    assert w.transfers == {}


def test_retransmitted_and_out_of_order_blocks_are_not_counted():
    w, reports = watch(step=2.0)
    w.feed(rrq("unicycle/boot.cfg"), outgoing=False, mac=MAC)     # no options: blksize 512
    for block in (1, 1, 3, 2, 2):
        w.feed(data(block, 512), outgoing=True)
    assert [r[3] for r in reports] == [512, 1024]


def test_a_size_probe_ends_without_a_report():
    """RFC 2347: the client asks tsize, then ends the negotiation with ERROR 8."""
    w, reports = watch()
    w.feed(rrq("unicycle/app.elf", tsize=0), outgoing=False, mac=MAC)
    w.feed(oack(tsize=5000), outgoing=True)
    w.feed(error(tftpwatch.ERR_OPTION_REFUSED), outgoing=False, mac=MAC)
    w.feed(data(1, 512), outgoing=True)              # no transfer any more: ignored
    assert reports == [] and w.transfers == {}


def test_block_numbers_wrap_without_losing_bytes():
    w, reports = watch(step=0.0001, size_of=lambda f: 80000 * 8)
    w.feed(rrq("big", blksize=8), outgoing=False, mac=MAC)
    for block in range(1, 80000):
        w.feed(data(block, 8), outgoing=True)
    t = w.transfers[CLIENT]
    assert (t.sent, t.block) == (79999 * 8, 79999 & 0xFFFF)
    sent = [r[3] for r in reports]                   # one report per 10,000 blocks
    assert sent == sorted(sent) and sent[-1] > 65536 * 8 and reports[-1][4] == 80000 * 8


def test_the_size_comes_from_the_file_without_tsize():
    w, reports = watch(size_of=lambda f: {"unicycle/app.elf": 4096}.get(f))
    w.feed(rrq("unicycle/app.elf"), outgoing=False, mac=MAC)
    w.feed(data(1, 512), outgoing=True)
    assert reports == [(MAC, CLIENT[0], "unicycle/app.elf", 512, 4096)]


def test_malformed_packets_are_ignored():
    w, reports = watch()
    w.feed(rrq("unicycle/app.elf"), outgoing=False, mac=MAC)
    for bad in (b"", b"\x45" * 19, data(1, 512)[:27],              # short IP / UDP / TFTP
                udp(SERVER, CLIENT, struct.pack("!HH", 3, 1) + b"x" * 512, flags_frag=0x2000),
                udp(SERVER, CLIENT, struct.pack("!HH", 3, 1) + b"x" * 512, ihl=4),
                b"\x60" + data(1, 512)[1:],                         # version 6
                rrq(""), udp(CLIENT, ("10.77.0.1", 69), b"\0\1")):  # no file name
        w.feed(bad, outgoing=True)
        w.feed(bad, outgoing=False, mac=MAC)
    assert reports == [] and list(w.transfers) == [CLIENT]
    w.feed(data(1, 512), outgoing=True)
    assert [r[3] for r in reports] == [512]


def test_progress_rows_in_the_device_table(tmp_path):
    table = serve.DeviceTable(tmp_path)
    dev = table.progress(MAC, CLIENT[0], "unicycle/app.elf", 250000, 1000000)
    assert (dev.file, dev.bytes, dev.state) == ("unicycle/app.elf", 250000, "loading 25%")
    row = serve.format_row(dev)
    assert row.split()[:5] == [MAC, CLIENT[0], "unicycle/app.elf", "250000", "loading"]
    assert table.progress(MAC, CLIENT[0], "x", 10, None).state == "loading"
    # dnsmasq's "sent" line ends the transfer as before
    f = tmp_path / "unicycle" / "app.elf"
    f.parent.mkdir()
    f.write_bytes(b"\0" * 1000)
    dev = table.feed(f"dnsmasq-tftp[1]: sent {f} to {CLIENT[0]}")
    assert (dev.state, dev.bytes, dev.mac) == ("booted", 1000, MAC)
