"""The app-facing network APIs under QEMU, over a tap device in a namespace this
test creates: the tcp-echo template (1 MiB exact, 50 connections at once, bytes
in use back to the baseline); examples/nettest for connect (refused, timed out),
half-close, abort, idle timeout, peer addresses, UDP and HTTP deferred and
streamed answers; the default per-peer cap and eviction on a full pool of
plain tcp.h connections (issue 14 defect 1); DNS through a dnsmasq in the namespace (DHCP lease + DNS, or
servers from the manifest); and http-hello answering a request that arrives
with the client's FIN in one segment (issue 14 defect 2)."""
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from helpers import ROOT, Guest, new_project, ns_socket, tap_netns, unicycle

pytestmark = pytest.mark.qemu

TAP = "uctap1"
HOST = "10.99.1.1"
GUEST = "10.99.1.2"
BLACKHOLE = "10.99.1.77"      # in the tap's subnet, owned by nobody: no ARP answer
RESOLVED = "10.99.1.53"       # what dnsmasq answers for unicycle.test
GUEST_LL = "fe80::5054:ff:fe12:3456"   # from QEMU's default MAC
TAPDEV = f"tap,id=net0,ifname={TAP},script=no,downscript=no"


def pattern(n: int) -> bytes:
    """The bytes nettest generates (nt_pattern)."""
    return bytes(97 + i * 7 % 26 for i in range(n))


def static_network(proj: Path, extra: str = "") -> None:
    toml = proj / "unicycle.toml"
    text = re.sub(r'\[network\][^\[]*', "", toml.read_text())
    toml.write_text(text + f'\n[network]\nmode = "static"\naddress = "{GUEST}/24"\n'
                    f'gateway = "{HOST}"\n{extra}')


def copy_nettest(dst: Path, network: str) -> Path:
    shutil.copytree(ROOT / "examples" / "nettest", dst, ignore=shutil.ignore_patterns("build"))
    if network == "static":
        static_network(dst)
    elif network == "static+dns":
        static_network(dst, f'dns = ["{HOST}"]\n')
    unicycle("build", "-C", dst, "--direct", check=True)
    return dst


@pytest.fixture
def netns():
    with tap_netns("uc-api", TAP, f"{HOST}/24") as ns:
        yield ns


def boot(app: Path, ns: str, ready: str) -> Guest:
    guest = Guest(app, netdev=TAPDEV, prefix=["ip", "netns", "exec", ns])
    try:
        guest.wait_for(ready)
    except BaseException:
        guest.stop()
        raise
    return guest


def connect(ns, addr, port, timeout=10, family=socket.AF_INET):
    s = ns_socket(ns, family)
    s.settimeout(timeout)
    s.connect((addr, port) if family == socket.AF_INET else (addr, port, 0, 0))
    return s


def recv_all(s) -> bytes:
    out = bytearray()
    while True:
        b = s.recv(65536)
        if not b:
            return bytes(out)
        out += b


def echo_through(ns, data: bytes) -> bytes:
    """Sends `data` to the echo port while reading the echo back."""
    s = connect(ns, GUEST, 7, timeout=60)
    got = []
    reader = threading.Thread(target=lambda: got.append(recv_all(s)))
    reader.start()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    reader.join(90)
    s.close()
    assert got, "no echo within 90 s"
    return got[0]


def idle_bytes(guest: Guest, after: int) -> tuple[int, int]:
    """The newest "idle, N bytes in use" line past console offset `after`."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        text = guest.serial()
        found = re.findall(r"idle, (\d+) bytes in use", text[after:])
        if found:
            return int(found[-1]), len(text)
        time.sleep(0.3)
    raise AssertionError(f"no idle line:\n{guest.serial()[-2000:]}")


def test_tcp_echo_template(tmp_path, netns):
    proj = new_project(tmp_path, "echo", template="tcp-echo")
    static_network(proj)
    unicycle("build", "-C", proj, "--direct", check=True)
    guest = boot(proj, netns, "echo: echo on port 7")
    try:
        guest.wait_for(f"net0 {GUEST}/24 via static")
        # Warm up with the shape of the load below (timer heap, pools).
        assert echo_through(netns, b"warm\n") == b"warm\n"
        _, mark = idle_bytes(guest, 0)
        many(netns, 50, 2000)
        baseline, mark = idle_bytes(guest, mark)

        data = os.urandom(1 << 20)
        start = time.monotonic()
        assert echo_through(netns, data) == data
        seconds = time.monotonic() - start
        after_one, mark = idle_bytes(guest, mark)
        many(netns, 50, 20_000)
        after_many, mark = idle_bytes(guest, mark)
        assert after_one == baseline and after_many == baseline, (baseline, after_one, after_many)
        assert "connection lost" not in guest.serial()
        print(f"\ntcp-echo: 1 MiB echoed in {seconds:.1f} s; bytes in use {baseline} "
              f"-> {after_one} -> {after_many} after 50 connections")
        full_pool(netns, guest)
    finally:
        guest.stop()


PCBS, PER_PEER = 256, 128     # NET_TCP_PCBS and NET_TCP_PER_PEER defaults
MORE_HOSTS = ["10.99.1.21", "10.99.1.22"]


def full_pool(ns, guest):
    """Issue 14 defect 1 on plain <unicycle/tcp.h> connections, default limits:
    one address gets PER_PEER connections and a reset for the next; when idle
    connections fill the pool, a new one evicts the one silent longest."""
    for addr in MORE_HOSTS:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "addr", "add", f"{addr}/24", "dev", TAP],
                       check=True, capture_output=True)

    def open_from(addr):
        s = ns_socket(ns)
        s.settimeout(5)
        s.bind((addr, 0))
        s.connect((GUEST, 7))
        return s

    began = time.monotonic()
    held = [open_from(HOST)]
    try:
        time.sleep(1.2)                # the oldest by lwIP's 500 ms ticks
        held += [open_from(HOST) for _ in range(PER_PEER - 1)]
        with pytest.raises(ConnectionRefusedError):
            open_from(HOST).close()
        held += [open_from(MORE_HOSTS[0]) for _ in range(PCBS - PER_PEER)]
        start = time.monotonic()
        s = open_from(MORE_HOSTS[1])
        s.sendall(b"through\n")
        assert s.recv(100) == b"through\n"
        s.close()
        took = time.monotonic() - start
        with pytest.raises(ConnectionResetError):
            held[0].recv(100)
        guest.wait_for("echo: connection lost (-110)", timeout=10)
        print(f"tcp-echo: with all {PCBS} slots idle a new connection echoed in "
              f"{took * 1000:.0f} ms (the oldest evicted); {time.monotonic() - began:.1f} s in all")
    finally:
        for s in held:
            s.close()


def many(ns, n: int, size: int) -> None:
    """`n` connections at once, each echoing `size` distinct bytes exactly."""
    errors = []

    def one(i):
        data = bytes((i + j) % 251 for j in range(size))
        try:
            if echo_through(ns, data) != data:
                errors.append(f"connection {i}: wrong echo")
        except OSError as e:
            errors.append(f"connection {i}: {e}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


class Control:
    """The nettest command port: one line out, one line back."""

    def __init__(self, ns):
        self.s = connect(ns, GUEST, 9000, timeout=30)
        self.f = self.s.makefile("rb")

    def __call__(self, line: str) -> str:
        self.s.sendall(line.encode() + b"\n")
        return self.f.readline().decode().strip()


def serve_once(ns, port):
    """A host server in the namespace: accepts one connection, reads to the
    client's FIN, answers "thanks N", closes. Returns (thread, result dict)."""
    srv = ns_socket(ns)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, port))
    srv.listen(1)
    srv.settimeout(30)
    result = {}

    def run():
        c, addr = srv.accept()
        c.settimeout(30)
        result["data"] = recv_all(c)     # ends only at the guest's half-close
        result["peer"] = addr
        c.sendall(b"thanks %d\n" % len(result["data"]))
        c.close()
        srv.close()

    t = threading.Thread(target=run)
    t.start()
    return t, result


def test_nettest_tcp_udp_http(tmp_path, netns):
    app = copy_nettest(tmp_path / "nt", "static")
    guest = boot(app, netns, "nettest: ready")
    try:
        guest.wait_for(f"net0 {GUEST}/24 via static")
        ctl = Control(netns)
        ctl("mem")

        # connect + half-close from the guest + both addresses
        t, result = serve_once(netns, 7100)
        reply = ctl(f"connect {HOST}:7100 3000")
        t.join(30)
        assert result["data"] == b"hello from nettest\n"
        m = re.fullmatch(rf"ok local={GUEST}:(\d+) peer={HOST}:7100 got=thanks 19", reply)
        assert m, reply
        assert int(m.group(1)) == result["peer"][1]

        # a refused port, then an unanswered peer within the timeout
        reply = ctl(f"connect {HOST}:7101 3000")
        assert reply.startswith("error -111 "), reply
        reply = ctl(f"connect {BLACKHOLE}:7100 1500")
        m = re.fullmatch(r"error -110 (\d+)", reply)
        assert m and 1400 <= int(m.group(1)) <= 3000, reply

        # the client half-closes; the guest answers after the FIN with our address
        s = connect(netns, GUEST, 9001)
        s.sendall(b"x" * 5000)
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == f"5000 bytes from {HOST}:{s.getsockname()[1]}\n".encode()
        s.close()

        # IPv6 link-local: the same listener, the peer address with its zone
        ifindex = int(subprocess.run(["ip", "netns", "exec", netns, "cat",
                                      f"/sys/class/net/{TAP}/ifindex"],
                                     capture_output=True, text=True, check=True).stdout)
        s = ns_socket(netns, socket.AF_INET6)
        s.settimeout(10)
        deadline = time.monotonic() + 15
        while True:   # the tap's own link-local address passes DAD first
            try:
                s.connect((GUEST_LL, 9001, 0, ifindex))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                s.close()
                s = ns_socket(netns, socket.AF_INET6)
                s.settimeout(10)
                time.sleep(0.5)
        host_ll, port = s.getsockname()[:2]
        s.sendall(b"v6")
        s.shutdown(socket.SHUT_WR)
        got = recv_all(s).decode()
        s.close()
        assert got == f"2 bytes from [{host_ll.split('%')[0]}%net0]:{port}\n", got

        # abort: the client sees a reset
        s = connect(netns, GUEST, 9002)
        s.sendall(b"x")
        with pytest.raises(ConnectionResetError):
            s.recv(100)
            s.recv(100)
        s.close()

        # idle timeout: the guest closes a silent connection after 1 s
        s = connect(netns, GUEST, 9003)
        start = time.monotonic()
        assert recv_all(s) == b""
        waited = time.monotonic() - start
        assert 0.9 <= waited <= 4, waited
        guest.wait_for(f"nettest: idle {HOST}:{s.getsockname()[1]} -110", timeout=10)
        s.close()

        # UDP: the answer names the sender as the guest saw it
        u = ns_socket(netns, socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(5)
        u.bind((HOST, 0))
        u.sendto(b"ping", (GUEST, 9007))
        data, frm = u.recvfrom(2000)
        assert frm == (GUEST, 9007)
        assert data == f"{HOST}:{u.getsockname()[1]} ping".encode()
        u.close()

        http_checks(netns)

        # everything above gave back what it took (once its closes have completed)
        time.sleep(1.5)
        before = int(ctl("mem").split()[1])
        t, result = serve_once(netns, 7102)
        assert ctl(f"connect {HOST}:7102 3000").startswith("ok ")
        t.join(30)
        http_checks(netns)
        time.sleep(1.5)
        after = int(ctl("mem").split()[1])
        assert after == before, f"{after - before} bytes not given back"
    finally:
        guest.stop()


def curl(ns, path, *args, timeout=120):
    return subprocess.run(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "60", *args,
                           f"http://{GUEST}{path}"], capture_output=True, timeout=timeout)


def http_checks(ns):
    start = time.monotonic()
    r = curl(ns, "/defer?ms=400")
    assert r.returncode == 0 and r.stdout == b"deferred after 400 ms\n", r
    assert time.monotonic() - start >= 0.4

    # /wait is answered from /release's handler on another connection
    waiting = subprocess.Popen(["ip", "netns", "exec", ns, "curl", "-sS", "--max-time", "30",
                                f"http://{GUEST}/wait"], stdout=subprocess.PIPE)
    time.sleep(1.0)
    assert waiting.poll() is None, "answered before the release"
    r = curl(ns, "/release")
    assert r.stdout == b"ok\n", r
    assert waiting.communicate(timeout=30)[0] == b"released by another connection\n"

    want = pattern(1 << 20)
    r = curl(ns, "/stream?bytes=1048576", "-D", "-")
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and body == want, (head, len(body))
    r = curl(ns, "/ref", "-D", "-")
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    assert b"Content-Length: 1048576" in head and body == want, (head, len(body))
    # a pipelined request after a streamed answer, on the same connection
    s = connect(ns, GUEST, 80, timeout=60)
    s.sendall(b"GET /stream?bytes=100000 HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    raw = recv_all(s)
    s.close()
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head, head
    body = bytearray()
    while True:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        body += rest[:n]
        assert rest[n:n + 2] == b"\r\n"
        rest = rest[n + 2:]
        if n == 0:
            break
    assert body == pattern(100000)
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b"\r\n\r\nnettest\n"), rest


def request_with_fin(ns, request: bytes, extra: bytes = b"") -> bytes:
    """Sends `request` (+ `extra`) and the FIN in one segment (TCP_CORK), then
    reads the whole answer; a reset raises ConnectionResetError."""
    s = connect(ns, GUEST, 80)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    s.sendall(request + extra)
    s.shutdown(socket.SHUT_WR)        # uncorks: data and FIN leave together
    try:
        return recv_all(s)
    finally:
        s.close()


def test_http_answer_survives_the_clients_fin(tmp_path, netns):
    """Issue 14 defect 2: the request and the client's FIN in one segment got a
    reset instead of the answer, and so did client bytes after the close."""
    app = tmp_path / "hh"
    shutil.copytree(ROOT / "examples" / "http-hello", app, ignore=shutil.ignore_patterns("build"))
    static_network(app)
    unicycle("build", "-C", app, "--direct", check=True)
    guest = boot(app, netns, "http listening on port 80")
    try:
        guest.wait_for(f"net0 {GUEST}/24 via static")
        index = b"<html><body><h1>Hello, World!</h1></body></html>"
        for i in range(20):
            got = request_with_fin(netns, b"GET / HTTP/1.0\r\n\r\n")
            assert got.startswith(b"HTTP/1.1 200 OK\r\n") and got.endswith(index), (i, got)
        got = request_with_fin(netns, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert got.endswith(index), got
        # an error answer, with more client bytes arriving after the close
        got = request_with_fin(netns, b"BAD\r\n\r\n", extra=b"x" * 20000)
        assert got.startswith(b"HTTP/1.1 400 Bad Request\r\n") and got.endswith(b"Bad Request\n")
        s = connect(netns, GUEST, 80)
        s.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        time.sleep(0.5)
        s.sendall(b"y" * 30000)        # after the server's FIN
        assert recv_all(s).endswith(index)
        s.close()
    finally:
        guest.stop()


def dnsmasq(ns, *args):
    return subprocess.Popen(["ip", "netns", "exec", ns, "dnsmasq", "--no-daemon", "--no-resolv",
                             "--no-hosts", f"--interface={TAP}", "--bind-interfaces",
                             f"--address=/unicycle.test/{RESOLVED}", "--address=/missing.test/",
                             "--pid-file=", "--log-facility=-", "--user=root", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_dns_from_a_dhcp_lease(tmp_path, netns):
    app = copy_nettest(tmp_path / "nt", "dhcp")
    leases = tmp_path / "leases"
    server = dnsmasq(netns, f"--dhcp-range={GUEST},{GUEST},255.255.255.0,1h",
                     f"--dhcp-leasefile={leases}")
    guest = None
    try:
        guest = boot(app, netns, "nettest: ready")
        guest.wait_for(f"net0 {GUEST}/24 via dhcp", timeout=60)
        ctl = Control(netns)
        assert ctl("dnsserver") == f"dnsserver {HOST}:53"
        assert ctl("dns unicycle.test 4") == f"dns unicycle.test {RESOLVED}"
        assert ctl("dns unicycle.test any") == f"dns unicycle.test {RESOLVED}"
        assert ctl("dns www.missing.test 4") == "dns www.missing.test error -2"
        assert ctl("dns 192.0.2.7 4") == "dns 192.0.2.7 192.0.2.7"
        assert ctl("dns " + "a" * 256 + " 4").endswith("error -22")
    finally:
        if guest:
            guest.stop()
        server.terminate()
        server.wait(10)


def test_dns_servers_from_the_manifest(tmp_path, netns):
    app = copy_nettest(tmp_path / "nt", "static+dns")
    server = dnsmasq(netns)
    guest = boot(app, netns, "nettest: ready")
    try:
        guest.wait_for(f"net0 {GUEST}/24 via static")
        ctl = Control(netns)
        assert ctl("dnsserver") == f"dnsserver {HOST}:53"
        assert ctl("dns unicycle.test 4") == f"dns unicycle.test {RESOLVED}"
        server.terminate()
        server.wait(10)
        start = time.monotonic()
        assert ctl("dns other.unicycle.test 4") == "dns other.unicycle.test error -110"
        print(f"\nDNS timeout reported after {time.monotonic() - start:.1f} s")
    finally:
        guest.stop()
        if server.poll() is None:
            server.terminate()
