"""examples/kv under QEMU, driven by the real clients of Debian's redis-tools: redis-cli's
exact replies (checked against Debian's redis-server 7.0 when it is installed), keys
expiring on the clock, the maxmemory limit, a client that pipelines 10 MB without reading
while another is served, and -- on a tap device in a network namespace this test creates --
redis-benchmark with 50 clients and zero errors."""
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from helpers import Guest, new_project, tap_netns, unicycle
from unicycle import qemu

pytestmark = pytest.mark.qemu

GUEST = "10.0.2.15"        # QEMU user networking's guest address; the tap uses it too
HOST = "10.0.2.2"
KV_PORT = 6379
MAXMEMORY = 2 * 1024 * 1024
OOM = "OOM command not allowed when used memory > 'maxmemory'."

if not shutil.which("redis-cli") or not shutil.which("redis-benchmark"):
    pytest.skip("redis-tools not installed; run make deps", allow_module_level=True)


@pytest.fixture(scope="module")
def kv_app(tmp_path_factory):
    """`unicycle new --template kv`, a static address that works on user networking and on
    the tap, and a 2 MiB maxmemory so the limit is quick to reach."""
    proj = new_project(tmp_path_factory.mktemp("kv"), "kvtest", "kv")
    toml = proj / "unicycle.toml"
    text = toml.read_text()
    text = text.replace('mode = "dhcp"', f'mode = "static"\naddress = "{GUEST}/24"\n'
                                         f'gateway = "{HOST}"')
    text = text.replace('cmdline = "maxmemory=64mb"', 'cmdline = "maxmemory=2mb"')
    toml.write_text(text)
    unicycle("build", "-C", proj, "--direct", check=True)
    return proj


@pytest.fixture(scope="module")
def kv(kv_app):
    """The guest on user networking; yields the forwarded host port."""
    port = qemu.free_port()
    guest = Guest(kv_app, forwards=[(port, KV_PORT)])
    try:
        guest.wait_for(f"kv: listening on port {KV_PORT}, maxmemory {MAXMEMORY} bytes")
        guest.wait_for(f"net0 {GUEST}/24 via static")
        wait_answering("127.0.0.1", port)
        yield port
    finally:
        guest.stop()
    assert "panic" not in guest.serial().lower(), guest.serial()[-3000:]


def wait_answering(host, port, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if raw(host, port, b"PING\r\n", b"+PONG\r\n", timeout=3) == b"+PONG\r\n":
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"kv at {host}:{port} does not answer PING")


def raw(host, port, request: bytes, until: bytes = None, timeout=10, lines=None) -> bytes:
    """Sends `request` on a new connection, reads until `until` is in the answer, or `lines`
    CRLFs arrived (or EOF)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        while (until is None or until not in out) and (lines is None or out.count(b"\r\n") < lines):
            d = s.recv(65536)
            if not d:
                break
            out += d
        return out


def cli(port, script: str, host="127.0.0.1") -> str:
    """The script's lines through one redis-cli connection, replies as redis-cli prints them."""
    r = subprocess.run(["redis-cli", "-h", host, "-p", str(port), "--no-raw"], input=script,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def info(port, host="127.0.0.1") -> dict:
    text = raw(host, port, b"INFO\r\n", b"# Keyspace\r\n").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


# Each line of the script, and what redis-cli prints for it (kv and redis-server 7.0 alike).
# There is one type (strings), so WRONGTYPE cannot happen: INCR on a non-number answers with
# the string type's own error instead.
TRANSCRIPT = [
    ("FLUSHALL", "OK"),
    ("PING", "PONG"),
    ("PING hello", '"hello"'),
    ('ECHO "a b"', '"a b"'),
    ("SET k v", "OK"),
    ("GET k", '"v"'),
    ("GET nokey", "(nil)"),
    ("SET k v2 XX GET", '"v"'),
    ("SET k v3 NX", "(nil)"),
    ("GET k", '"v2"'),
    ("SET n 10", "OK"),
    ("INCR n", "(integer) 11"),
    ("INCRBY n 5", "(integer) 16"),
    ("DECR n", "(integer) 15"),
    ("DECRBY n 20", "(integer) -5"),
    ("INCR k", "(error) ERR value is not an integer or out of range"),
    ("SET big 9223372036854775807", "OK"),
    ("INCR big", "(error) ERR increment or decrement would overflow"),
    ("INCRBY n abc", "(error) ERR value is not an integer or out of range"),
    ("MSET a 1 b 2", "OK"),
    ("MGET a b nokey", '1) "1"\n2) "2"\n3) (nil)'),
    ("DEL a b nokey", "(integer) 2"),
    ("EXISTS k n nokey", "(integer) 2"),
    ("EXPIRE n 100", "(integer) 1"),
    ("TTL n", "(integer) 100"),
    ("PERSIST n", "(integer) 1"),
    ("TTL n", "(integer) -1"),
    ("TTL nokey", "(integer) -2"),
    ("PTTL nokey", "(integer) -2"),
    ("EXPIRE nokey 10", "(integer) 0"),
    ("DBSIZE", "(integer) 3"),
    ("SET k v EX 0", "(error) ERR invalid expire time in 'set' command"),
    ("SET k v NX XX", "(error) ERR syntax error"),
    ("SET k v EX abc", "(error) ERR value is not an integer or out of range"),
    ("EXPIRE k 10 NX XX", "(error) ERR NX and XX, GT or LT options at the same time are not "
                          "compatible"),
    ("GET", "(error) ERR wrong number of arguments for 'get' command"),
    ("SET k", "(error) ERR wrong number of arguments for 'set' command"),
    ("MSET a", "(error) ERR wrong number of arguments for 'mset' command"),
    ("TTL", "(error) ERR wrong number of arguments for 'ttl' command"),
    ("FOO bar baz", "(error) ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' "),
    ("CONFIG GET save", '1) "save"\n2) ""'),
    ("CONFIG GET appendonly", '1) "appendonly"\n2) "no"'),
    ("CONFIG NOPE", "(error) ERR unknown subcommand 'NOPE'. Try CONFIG HELP."),
    ("SELECT 0", "OK"),
    ("CLIENT SETNAME kvtest", "OK"),
    ("CLIENT GETNAME", '"kvtest"'),
    ("TYPE k", "string"),
    ("TYPE nokey", "none"),
    ("FLUSHALL", "OK"),
    ("DBSIZE", "(integer) 0"),
]


def transcript_script():
    return "".join(line + "\n" for line, _ in TRANSCRIPT)


def transcript_expected():
    return "".join(out + "\n" for _, out in TRANSCRIPT)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """Debian's redis-server on 127.0.0.1, for comparison; None when not installed."""
    exe = shutil.which("redis-server")
    if not exe:
        yield None
        return
    port = qemu.free_port()
    work = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(work)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_answering("127.0.0.1", port, timeout=20)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_cli_replies_and_errors(kv, redis_server):
    got = cli(kv, transcript_script())
    if redis_server:
        # the transcript is Redis 7.0's own (wording included)
        assert cli(redis_server, transcript_script()) == transcript_expected()
    assert got == transcript_expected()


def test_raw_replies_protocol_error_and_quit(kv):
    # byte-exact, pipelined in one send
    assert raw("127.0.0.1", kv, b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\nPING\r\n*1\r\n$4\r\nPING\r\n",
               b"+PONG\r\n+PONG\r\n") == b"$0\r\n\r\n+PONG\r\n+PONG\r\n"
    # commands before a protocol error run; the error is answered, then the server closes
    assert raw("127.0.0.1", kv, b"PING\r\n*1\r\n+foo\r\nPING\r\n") == \
        b"+PONG\r\n-ERR Protocol error: expected '$', got '+'\r\n"
    assert raw("127.0.0.1", kv, b"*99999999\r\n") == \
        b"-ERR Protocol error: invalid multibulk length\r\n"
    # QUIT answers OK and closes; what follows it is not run
    assert raw("127.0.0.1", kv, b"QUIT\r\nSET after quit\r\n") == b"+OK\r\n"
    assert cli(kv, "EXISTS after\n") == "(integer) 0\n"


def test_interactive_redis_cli(kv):
    """redis-cli's prompt (it asks COMMAND DOCS on connect) takes kv's answers."""
    pexpect = pytest.importorskip("pexpect")
    p = pexpect.spawn("redis-cli", ["-p", str(kv)], timeout=20, encoding="utf-8",
                      env=dict(os.environ, TERM="dumb"))
    prompt = f"127.0.0.1:{kv}> "
    try:
        p.expect_exact(prompt)
        p.send("SET hello world\r")
        p.expect_exact("OK")
        p.expect_exact(prompt)
        p.send("GET hello\r")
        p.expect_exact('"world"')
        p.expect_exact(prompt)
        p.send("DEL hello\r")
        p.expect_exact("(integer) 1")
        p.send("quit\r")
        p.expect(pexpect.EOF)
    finally:
        p.close(force=True)


def test_keys_expire_on_the_clock(kv):
    assert cli(kv, "SET k v PX 300\nGET k\nPTTL k\n").splitlines()[:2] == ["OK", '"v"']
    time.sleep(0.5)
    assert cli(kv, "GET k\nEXISTS k\nTTL k\n") == "(nil)\n(integer) 0\n(integer) -2\n"
    # active expiry: 200 keys nobody reads again are gone from DBSIZE (which does not
    # look at deadlines) by the periodic timer alone
    script = "".join(f"SET tmp:{i} v PX 200\n" for i in range(200)) + "DBSIZE\n"
    assert cli(kv, script).splitlines()[-1] == "(integer) 200"
    time.sleep(1.0)
    assert cli(kv, "DBSIZE\n") == "(integer) 0\n"
    assert int(info(kv)["expired_keys"]) >= 201


def test_maxmemory_limit(kv):
    assert cli(kv, "FLUSHALL\nCONFIG GET maxmemory\n") == f'OK\n1) "maxmemory"\n2) "{MAXMEMORY}"\n'
    value = b"x" * 10000
    req = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nfill:%d\r\n$%d\r\n%s\r\n"
                   % (len(b"fill:%d" % i), i, len(value), value) for i in range(300))
    replies = raw("127.0.0.1", kv, req, lines=300).decode().splitlines()
    stored = replies.index(f"-{OOM}")
    assert 150 < stored < 210, replies[:3]          # 2 MiB / ~10 KB
    assert replies[:stored] == ["+OK"] * stored
    assert replies[stored:] == [f"-{OOM}"] * (300 - stored)
    used = int(info(kv)["used_memory"])
    assert used <= MAXMEMORY
    # what clients see, and nothing changed
    assert cli(kv, f"SET one-more {'y' * 30000}\nEXISTS one-more\n") == \
        f"(error) {OOM}\n(integer) 0\n"
    assert int(info(kv)["used_memory"]) == used
    # DEL frees; the same write passes again
    assert cli(kv, "DEL fill:0 fill:1 fill:2 fill:3\n") == "(integer) 4\n"
    assert cli(kv, f"SET one-more {'y' * 30000}\nEXISTS one-more\n") == "OK\n(integer) 1\n"
    assert cli(kv, "FLUSHALL\n") == "OK\n"
    assert int(info(kv)["used_memory"]) == 0


def test_pipelined_flood_without_reading(kv):
    """A client pipelines 10 MB of GETs and reads nothing: the server stops reading from it,
    its memory stays bounded, another client keeps getting PING answered within 1 s, and
    every reply arrives once the flooder reads."""
    value = b"v" * 64
    assert raw("127.0.0.1", kv, b"SET flood " + value + b"\r\n", b"\r\n") == b"+OK\r\n"
    base = info(kv)
    heap0 = int(base["allocator_allocated"])
    cmd = b"*2\r\n$3\r\nGET\r\n$5\r\nflood\r\n"
    count = 10_000_000 // len(cmd)
    data = cmd * count
    sent = [0]
    flood = socket.create_connection(("127.0.0.1", kv), timeout=120)
    flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)

    def pump():
        try:
            while sent[0] < len(data):
                sent[0] += flood.send(data[sent[0]:sent[0] + 65536])
        except OSError:
            pass

    pusher = threading.Thread(target=pump, daemon=True)
    pusher.start()
    pinger = socket.create_connection(("127.0.0.1", kv), timeout=10)
    worst, heap_peak, clients_peak, pings = 0.0, heap0, 0, 0
    try:
        end = time.monotonic() + 8
        while time.monotonic() < end:
            t0 = time.monotonic()
            pinger.sendall(b"PING\r\n")
            assert pinger.recv(64) == b"+PONG\r\n"
            worst = max(worst, time.monotonic() - t0)
            pings += 1
            if pings % 5 == 0:
                st = info(kv)
                heap_peak = max(heap_peak, int(st["allocator_allocated"]))
                clients_peak = max(clients_peak, int(st["mem_clients_normal"]))
            time.sleep(0.1)
        stalled_at = sent[0]
        assert worst < 1.0, f"PING took {worst:.2f} s during the flood"
        # the flooder is held back: its replies are not read, so the server stopped reading
        assert stalled_at < len(data) * 0.8, f"server took {stalled_at} of {len(data)} bytes"
        assert heap_peak - heap0 < 2 * 1024 * 1024, (heap0, heap_peak)
        assert clients_peak < 512 * 1024, clients_peak
        # now read: every reply, in order, complete
        want = (b"$64\r\n" + value + b"\r\n") * count
        got = bytearray()
        flood.settimeout(60)
        while len(got) < len(want):
            d = flood.recv(1 << 20)
            if not d:
                break
            got += d
        assert len(got) == len(want) and got == want
        pusher.join(timeout=30)
        assert sent[0] == len(data)
        print(f"\nflood: sender held at {stalled_at / 1e6:.1f} of {len(data) / 1e6:.1f} MB; "
              f"allocator {heap0} -> peak {heap_peak} bytes; client buffers peak {clients_peak};"
              f" worst PING {worst * 1000:.0f} ms over {pings}")
    finally:
        flood.close()
        pinger.close()


def test_maxclients_and_idle_timeout(tmp_path):
    """Boot settings: maxclients=2 turns the third client away with Redis's error, and
    timeout=2 closes clients idle for 2 s, which makes room again."""
    proj = new_project(tmp_path, "kvlimits", "kv")
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text().replace('cmdline = "maxmemory=64mb"',
                                             'cmdline = "maxclients=2 timeout=2"'))
    unicycle("build", "-C", proj, "--direct", check=True)
    port = qemu.free_port()
    guest = Guest(proj, forwards=[(port, KV_PORT)])
    try:
        guest.wait_for("kv: listening on port 6379, maxmemory 67108864 bytes, maxclients 2")
        wait_answering("127.0.0.1", port)
        a = socket.create_connection(("127.0.0.1", port), timeout=10)
        b = socket.create_connection(("127.0.0.1", port), timeout=10)
        for s in (a, b):
            s.sendall(b"PING\r\n")
            assert s.recv(64) == b"+PONG\r\n"
        assert raw("127.0.0.1", port, b"PING\r\n") == b"-ERR max number of clients reached\r\n"
        # both go quiet: closed by the server after 2 s (EOF), not before 1.5 s
        t0 = time.monotonic()
        a.settimeout(10)
        assert a.recv(64) == b""
        assert 1.5 < time.monotonic() - t0 < 6
        b.settimeout(10)
        assert b.recv(64) == b""
        assert raw("127.0.0.1", port, b"PING\r\nQUIT\r\n") == b"+PONG\r\n+OK\r\n"
        assert int(info(port)["rejected_connections"]) == 1
        a.close()
        b.close()
    finally:
        guest.stop()


@pytest.fixture
def netns():
    with tap_netns("uc-kv", "uckv0", f"{HOST}/24") as ns:
        yield ns


def test_redis_benchmark_50_clients_on_a_tap(kv_app, netns, tmp_path):
    inside = ["ip", "netns", "exec", netns]
    # a copy of the built project: the user-networking guest still has its image open
    app = shutil.copytree(kv_app, tmp_path / "kv-tap", symlinks=True)
    guest = Guest(app, netdev="tap,id=net0,ifname=uckv0,script=no,downscript=no", prefix=inside)
    try:
        guest.wait_for(f"net0 {GUEST}/24 via static")
        guest.wait_for("kv: listening")

        def inside_run(*cmd, timeout=300):
            return subprocess.run([*inside, *cmd], capture_output=True, text=True,
                                  timeout=timeout)

        end = time.monotonic() + 60
        while inside_run("redis-cli", "-h", GUEST, "PING", timeout=10).stdout.strip() != "PONG":
            assert time.monotonic() < end, "kv does not answer on the tap"
            time.sleep(0.5)
        before = inside_run("redis-cli", "-h", GUEST, "INFO").stdout
        heap0 = int(dict(l.split(":", 1) for l in before.splitlines() if ":" in l)
                    ["allocator_allocated"])
        bench = inside_run("redis-benchmark", "-h", GUEST, "-P", "16", "-c", "50", "-n", "20000",
                           "-t", "set,get", "--csv")
        # redis-benchmark 7 exits at the first error reply ("Error from server: ...")
        assert bench.returncode == 0, bench.stdout + bench.stderr
        assert "error" not in (bench.stdout + bench.stderr).lower(), bench.stdout + bench.stderr
        rows = [line.replace('"', "").split(",") for line in bench.stdout.splitlines()]
        header, data = rows[0], {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
        assert header[:2] == ["test", "rps"] and set(data) == {"SET", "GET"}, bench.stdout
        for test in ("SET", "GET"):
            assert float(data[test]["rps"]) > 0
        after = inside_run("redis-cli", "-h", GUEST, "INFO").stdout
        st = dict(l.split(":", 1) for l in after.splitlines() if ":" in l)
        assert int(st["total_commands_processed"]) >= 40000
        assert int(st["rejected_connections"]) == 0
        assert int(st["connected_clients"]) == 1           # every benchmark client is gone
        # connections leave nothing behind (allow for lwIP's own pools warming up)
        assert int(st["allocator_allocated"]) - heap0 < 64 * 1024, (heap0, st)
        print(f"\nredis-benchmark -P 16 -c 50 -n 20000 on a tap: SET {data['SET']['rps']} req/s "
              f"(p50 {data['SET']['p50_latency_ms']} ms, p99 {data['SET']['p99_latency_ms']} ms), "
              f"GET {data['GET']['rps']} req/s (p50 {data['GET']['p50_latency_ms']} ms, "
              f"p99 {data['GET']['p99_latency_ms']} ms)")
    finally:
        guest.stop()
