"""examples/kv's append-only log under QEMU (src/persist.h, format in src/logrec.h): with
appendfsync always, every acknowledged write survives SIGKILL of QEMU on each disk driver; a
log whose tail was corrupted between boots loads up to the bad record and says so once; many
overwrites compact the log into the other area. The image is also read on the host, with a
parser of its own, so the format on disk is checked as documented."""
import socket
import struct
import time
from pathlib import Path

import pytest

from helpers import Guest, new_project, unicycle
from unicycle import disks, qemu

pytestmark = pytest.mark.qemu

KV_PORT = 6379
DISK_BYTES = 16 << 20
COMPACT_MIN = 64 * 1024          # auto-aof-rewrite-min-size in the build below
BOOT_TIMEOUT = 120
HDR_MAGIC = b"UCKVLOG1"
REC_HDR = struct.Struct("<IIQQq")  # crc, len, generation, seq, stamp
OP_HDR = struct.Struct("<BBHIIIq")  # kind, ttl, 0, klen, vlen, 0, deadline
BAD_TAIL = "fails its checksum"


# ---- the image, read on the host ----

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """RFC 3720 B.4 CRC32C, written here again so the test does not trust the guest's."""
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def read_header(img: Path, block=512):
    """The valid header with the highest generation: (generation, area, area offset, length)."""
    data = img.read_bytes()
    best = None
    for slot in range(2):
        h = bytearray(data[slot * block:slot * block + 64])
        if h[:8] != HDR_MAGIC:
            continue
        crc = struct.unpack_from("<I", h, 12)[0]
        h[12:16] = b"\0\0\0\0"
        if crc32c(bytes(h)) != crc:
            continue
        gen, area, bs, off0, off1, alen = struct.unpack_from("<QIIQQQ", h, 16)
        assert gen % 2 == slot and bs == block
        if best is None or gen > best[0]:
            best = (gen, area, (off0, off1)[area], alen)
    assert best, "no valid kv log header on the image"
    return best


def read_records(img: Path):
    """Every record of the current log: [(offset in the image, size, seq, {key: value})]
    and whether it ended on a zero header (clean)."""
    gen, _, off, alen = read_header(img)
    data = img.read_bytes()[off:off + alen]
    pos, out = 0, []
    while pos + REC_HDR.size <= alen:
        crc, length, rgen, seq, _ = REC_HDR.unpack_from(data, pos)
        if data[pos:pos + REC_HDR.size] == bytes(REC_HDR.size):
            return out, True
        body = data[pos + 4:pos + REC_HDR.size + length]
        if crc32c(body) != crc or rgen != gen:
            return out, False
        nops = struct.unpack_from("<I", data, pos + REC_HDR.size)[0]
        p, sets = pos + REC_HDR.size + 8, {}
        for _ in range(nops):
            kind, _, _, klen, vlen, _, _ = OP_HDR.unpack_from(data, p)
            p += OP_HDR.size
            key, val = data[p:p + klen], data[p + klen:p + klen + vlen]
            p += klen + vlen
            sets[key] = val if kind == 0 else None
        out.append((off + pos, REC_HDR.size + length, seq, sets))
        pos += REC_HDR.size + length
    return out, True


# ---- a RESP client that waits for each reply ----

class Resp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("kv closed the connection")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("kv closed the connection")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n + 2:]
        return out

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return line.decode()
        if kind == b":":
            return int(rest)
        if kind == b"$":
            return None if int(rest) < 0 else self._exact(int(rest))
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise AssertionError(f"not RESP: {line!r}")

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send(self, *args):
        self.sock.sendall(self.encode(*args))

    def call(self, *args):
        self.send(*args)
        return self.reply()

    def pipeline(self, commands):
        self.sock.sendall(b"".join(self.encode(*c) for c in commands))
        return [self.reply() for _ in commands]


# ---- the guest ----

@pytest.fixture(scope="module")
def kv_app(tmp_path_factory):
    """The kv template with appendfsync always and a small compaction threshold, built once."""
    proj = new_project(tmp_path_factory.mktemp("kvp"), "kvpersist", "kv")
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text().replace(
        'cmdline = "maxmemory=64mb"',
        f'cmdline = "maxmemory=64mb appendfsync=always auto-aof-rewrite-min-size={COMPACT_MIN}"'))
    unicycle("build", "-C", proj, "--direct", check=True)
    return proj


class Booted:
    """kv in QEMU with `img` attached as the disk "kv" on `interface`."""

    def __init__(self, app, img: Path, interface: str):
        self.port = qemu.free_port()
        disk = disks.Disk(img, disks.INTERFACES[interface], "kv", None)
        self.guest = Guest(app, forwards=[(self.port, KV_PORT)], disks=[disk])
        try:
            self.guest.wait_for(f"kv: listening on port {KV_PORT}", timeout=BOOT_TIMEOUT)
            self.client = self._connect()
        except BaseException:
            self.kill()
            raise

    def _connect(self):
        end = time.monotonic() + 30
        while True:
            try:
                c = Resp(self.port)
                if c.call("PING") == "+PONG":
                    return c
                c.close()
            except OSError:
                if time.monotonic() > end:
                    raise
            time.sleep(0.3)

    def serial(self):
        return self.guest.serial()

    def kill(self):
        """SIGKILL: QEMU gets no chance to write anything more."""
        self.guest.proc.kill()
        self.guest.proc.wait()
        assert "panic" not in self.serial().lower(), self.serial()[-3000:]


def blank_image(path: Path) -> Path:
    with open(path, "wb") as f:
        f.truncate(DISK_BYTES)
    return path


def key(i):
    return f"key:{i:05d}".encode()


def value(i, rnd=0):
    return f"value {i} round {rnd} ".encode() * 3


# ---- tests ----

N_KEYS = 150


@pytest.mark.parametrize("interface", sorted(disks.INTERFACES))
def test_acknowledged_writes_survive_sigkill(kv_app, tmp_path, interface):
    img = blank_image(tmp_path / "kv.img")
    kv = Booted(kv_app, img, interface)
    try:
        assert ": new log, two areas of 8191 KiB" in kv.serial(), kv.serial()[-2000:]
        assert "appendfsync always" in kv.serial()
        c = kv.client
        # The other write commands, each acknowledged before the next is sent. Nothing from
        # before the FLUSHALL comes back.
        assert c.call("MSET", "old1", "1", "old2", "2") == "+OK"
        assert c.call("FLUSHALL") == "+OK"
        assert c.call("SET", "gone", "x") == "+OK"
        assert c.call("DEL", "gone") == 1
        assert c.call("MSET", "m1", "a", "m2", "b") == "+OK"
        assert c.call("SET", "n", "41") == "+OK"
        assert c.call("INCR", "n") == 42
        assert c.call("SET", "ttl", "t", "EX", "1000") == "+OK"
        assert c.call("SET", "persisted", "p", "PX", "600000") == "+OK"
        assert c.call("PERSIST", "persisted") == 1
        assert c.call("SET", "flushed", "f") == "+OK"
        for i in range(N_KEYS):
            assert c.call("SET", key(i), value(i)) == "+OK"
        # A key that expired while the server ran stays expired: its DEL is logged (the
        # clock after a reboot resumes at the last record's; there is no wall clock).
        assert c.call("SET", "short", "s", "PX", "300") == "+OK"
        time.sleep(0.6)
        assert c.call("GET", "short") is None
    finally:
        kv.kill()   # right after the last acknowledgement

    records, clean = read_records(img)
    logged = {k: v for *_, sets in records for k, v in sets.items()}
    assert logged[key(N_KEYS - 1)] == value(N_KEYS - 1), "an acknowledged SET is not on disk"
    assert logged[b"short"] is None, "the expired key's DEL is not on disk"

    kv = Booted(kv_app, img, interface)
    try:
        assert "kv: log: replayed" in kv.serial()
        assert BAD_TAIL not in kv.serial()
        c = kv.client
        got = c.call("MGET", *[key(i) for i in range(N_KEYS)])
        assert got == [value(i) for i in range(N_KEYS)]
        assert c.call("EXISTS", "gone", "old1", "old2", "short") == 0
        assert c.call("MGET", "m1", "m2", "n", "flushed") == [b"a", b"b", b"42", b"f"]
        assert 990 <= c.call("TTL", "ttl") <= 1000   # absolute on the log's clock
        assert c.call("TTL", "persisted") == -1
        assert c.call("DBSIZE") == N_KEYS + 6
    finally:
        kv.kill()


KEYS_COMPACT = 50
ROUNDS = 60


def test_compaction_then_a_corrupted_tail(kv_app, tmp_path):
    """Many overwrites of the same keys compact the log (more than once) into a small one;
    then the last record is corrupted on the image: the next boot says so once, loads
    everything before it (that key keeps its previous value, never the damaged bytes) and
    compacts into the other area at once."""
    img = blank_image(tmp_path / "kv.img")
    kv = Booted(kv_app, img, "ahci")
    written = 0
    try:
        c = kv.client
        for rnd in range(ROUNDS):
            cmds = [("SET", key(i), value(i, rnd)) for i in range(KEYS_COMPACT)]
            assert c.pipeline(cmds) == ["+OK"] * KEYS_COMPACT
            written += sum(len(Resp.encode(*cmd)) for cmd in cmds)
        info = c.call("INFO", "persistence").decode()
        rewrites = int(info.split("aof_rewrites:")[1].split()[0])
        assert rewrites >= 2, info
        assert c.call("SET", key(0), b"last") == "+OK"
    finally:
        kv.kill()
    assert written > 3 * COMPACT_MIN   # RESP bytes; the log took more
    gen, area, off, _ = read_header(img)
    # One more when the last SET started a compaction that switched before the kill.
    assert gen in (rewrites + 1, rewrites + 2), (gen, rewrites)
    records, clean = read_records(img)
    assert clean
    used = records[-1][0] + records[-1][1] - off
    assert used < 2 * COMPACT_MIN, used
    rec_off, size, _, sets = records[-1]
    assert sets == {key(0): b"last"}
    with open(img, "r+b") as f:        # flip bytes inside the last record's value
        f.seek(rec_off + size - 3)
        b = f.read(3)
        f.seek(rec_off + size - 3)
        f.write(bytes(x ^ 0xFF for x in b))

    kv = Booted(kv_app, img, "ahci")
    try:
        out = kv.serial()
        assert out.count(BAD_TAIL) == 1, out[-3000:]
        assert f"kv: log: compacted into area {1 - area} (generation {gen + 1}" in out
        got = kv.client.call("MGET", *[key(i) for i in range(KEYS_COMPACT)])
        assert got == [value(i, ROUNDS - 1) for i in range(KEYS_COMPACT)]
        assert kv.client.call("DBSIZE") == KEYS_COMPACT
    finally:
        kv.kill()
    assert read_header(img)[:2] == (gen + 1, 1 - area)
    records, clean = read_records(img)
    assert clean
    assert {k: v for *_, sets in records for k, v in sets.items()} == \
        {key(i): value(i, ROUNDS - 1) for i in range(KEYS_COMPACT)}
