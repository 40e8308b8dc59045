"""http-hello on a real TCP/IP stack, for each NIC driver (virtio-net, e1000e):
exact pages through hostfwd, 10,000 keep-alive requests that give back every
allocated byte, and -- through a tap device in a namespace this test creates --
ping, 100 requests at concurrency 80, and a client reconnecting from a port whose
last connection the guest still holds in TIME_WAIT."""
import http.client
import json
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from helpers import NICS, Guest, http_hello, ns_socket, tap_netns, unicycle
from unicycle import qemu

pytestmark = pytest.mark.qemu

INDEX = b"<html><body><h1>Hello, World!</h1></body></html>"
GUEST = "10.99.0.2"
HOST = "10.99.0.1"


def copy_example(dst: Path, static: bool, *sets: str) -> Path:
    http_hello(dst, (GUEST, HOST) if static else None)
    unicycle("build", "-C", dst, "--direct", "--set", "HTTP_STATS=y",
             *[a for s in sets for a in ("--set", s)], check=True)
    return dst


@pytest.fixture(scope="module")
def user_net_app(tmp_path_factory):
    return copy_example(tmp_path_factory.mktemp("net") / "hh", static=False)


@pytest.fixture(scope="module")
def tap_app(tmp_path_factory):
    """With the per-request profile (CONFIG_PROFILE), which the c=80 test reads."""
    return copy_example(tmp_path_factory.mktemp("tap") / "hh", True, "PROFILE=y")


def test_profile_off_leaves_no_code_in_the_image(user_net_app):
    nm = subprocess.run(["nm", user_net_app / "build" / "qemu-x86_64" / "app.elf"],
                        capture_output=True, text=True, check=True).stdout
    names = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    assert "uc_http_route" in names, "nm printed no symbols"
    assert not {n for n in names if n.startswith("profile_")}, "profile code in a PROFILE=n image"


def get(port, path, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    if conn is None:
        c.close()
    return r, body


def stats(port) -> dict:
    r, body = get(port, "/_unicycle/stats")
    assert r.status == 200
    return json.loads(body)


@pytest.mark.parametrize("nic", sorted(NICS))
def test_pages_and_keepalive_through_hostfwd(user_net_app, nic):
    port = qemu.free_port()
    guest = Guest(user_net_app, nic, forwards=[(port, 80)])
    try:
        guest.wait_for("via dhcp")
        curl = subprocess.run(["curl", "-sS", "-D", "-", f"http://127.0.0.1:{port}/"],
                              capture_output=True, timeout=30)
        head, _, body = curl.stdout.partition(b"\r\n\r\n")
        assert body == INDEX, curl.stdout
        assert b"HTTP/1.1 200" in head and b"Content-Type: text/html" in head
        assert b"Content-Length: 48" in head
        r, body = get(port, "/hello.txt")
        assert r.status == 200 and r.getheader("Content-Type").startswith("text/plain")
        assert int(r.getheader("Content-Length")) == len(body) and body
        r, _ = get(port, "/nope")
        assert r.status == 404
        r, _ = get(port, "/_unicycle/profile")
        assert r.status == 404, "the profile route answers in a PROFILE=n image"

        before = stats(port)["mem"]["bytes_in_use"]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        start = time.monotonic()
        for i in range(10_000):
            r, body = get(port, "/", conn)
            assert r.status == 200 and body == INDEX, (i, r.status)
        seconds = time.monotonic() - start
        conn.close()
        time.sleep(1.0)
        after = stats(port)["mem"]["bytes_in_use"]
        assert after == before, f"{after - before} bytes not given back after 10,000 requests"
        print(f"\n{nic}: 10,000 keep-alive requests in {seconds:.1f} s; "
              f"bytes in use {before} -> {after}")
    finally:
        guest.stop()


@pytest.fixture
def netns():
    with tap_netns("uc-net", "uctap0", f"{HOST}/24") as ns:
        yield ns


@pytest.mark.parametrize("nic", sorted(NICS))
def test_ping_and_concurrency_80_on_a_tap(tap_app, netns, nic):
    ab = shutil.which("ab")
    if not ab:
        pytest.skip("ab (apache2-utils) not installed; run make deps")
    inside = ["ip", "netns", "exec", netns]
    guest = Guest(tap_app, nic, netdev="tap,id=net0,ifname=uctap0,script=no,downscript=no",
                  prefix=inside)
    try:
        guest.wait_for(f"net0 {GUEST}/24 via static")
        ping = subprocess.run([*inside, "ping", "-c", "3", "-i", "0.3", "-W", "5", GUEST],
                              capture_output=True, text=True, timeout=60)
        assert ping.returncode == 0 and " 0% packet loss" in ping.stdout, ping.stdout
        res = subprocess.run([*inside, ab, "-n", "100", "-c", "80", "-s", "20",
                              f"http://{GUEST}/"], capture_output=True, text=True, timeout=120)
        out = res.stdout
        assert res.returncode == 0, out + res.stderr
        fields = {k.strip().lower(): v.strip() for k, _, v in
                  (line.partition(":") for line in out.splitlines() if ":" in line)}
        assert fields.get("complete requests") == "100", out
        assert fields.get("failed requests") == "0", out
        assert "non-2xx responses" not in fields, out
        assert fields.get("document length") == "48 bytes", out
        check_profile(inside, frames_at_least=100)
    finally:
        guest.stop()


def profile(inside: list[str], query: str = "") -> dict:
    r = subprocess.run([*inside, "curl", "-sS", "--fail", "--max-time", "10",
                        f"http://{GUEST}/_unicycle/profile{query}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def check_profile(inside: list[str], frames_at_least: int):
    """After ab's 100 requests at c=80: every stage ran, and transmit doorbells were
    batched (CONFIG_NET_TX_BATCH): 80 connections at once put several frames in one
    receive poll, whose answers leave on one doorbell. ?reset zeroes the counters."""
    p = profile(inside, "?reset")
    st = p["stages"]
    assert p["requests"] >= 100 and p["tsc_hz"] > 0, p
    assert st["http"]["count"] >= 100 and st["http_handler"]["count"] >= 100, st
    for name in ("driver_rx", "lwip_in", "http_parse", "lwip_write", "output", "tx_doorbell"):
        assert st[name]["count"] > 0 and st[name]["ns"] > 0, (name, st[name])
        assert st[name]["max_ns"] <= st[name]["ns"], (name, st[name])
    assert st["output"]["count"] >= frames_at_least, st["output"]
    assert st["tx_doorbell"]["count"] < st["output"]["count"], (
        f"{st['tx_doorbell']['count']} doorbells for {st['output']['count']} frames: "
        "nothing was batched")
    after = profile(inside)
    assert after["requests"] == 1, after       # this read only
    # Since the reset: the end of that read's connection and this one's (a few frames).
    assert after["stages"]["driver_rx"]["count"] <= 10 < st["driver_rx"]["count"], (
        after["stages"]["driver_rx"], st["driver_rx"])


# Less than Linux's first SYN retransmission (1 s): a connect that needed one failed.
REOPEN_CONNECT_S = 0.8


def close_first(ns: str, port: int) -> int:
    """One GET / with Connection: close from HOST:port (0: any); the guest closes first,
    so it holds the 4-tuple in TIME_WAIT afterwards. Returns the port used."""
    s = ns_socket(ns)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((HOST, port))
        s.settimeout(REOPEN_CONNECT_S)
        try:
            s.connect((GUEST, 80))
        except socket.timeout:
            pytest.fail(f"connect from port {s.getsockname()[1]} took over "
                        f"{REOPEN_CONNECT_S} s: the SYN did not get through at once")
        s.settimeout(10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: guest\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(INDEX), data
        return s.getsockname()[1]
    finally:
        s.close()


def test_syn_reopens_a_time_wait_connection(tap_app, netns):
    """RFC 9293 sec 3.6.1: a SYN whose sequence number is above the TIME_WAIT
    connection's may reopen it. lwIP alone answers it with an ACK, which the
    client resets, and ignores the reset (RFC 1337): the client retries each
    second until TIME_WAIT ends (20 s). Clients pick ports anew every few thousand
    connections, so under load this stalled new connections (make soak)."""
    inside = ["ip", "netns", "exec", netns]
    guest = Guest(tap_app, "virtio-net", netdev="tap,id=net0,ifname=uctap0,script=no,"
                  "downscript=no", prefix=inside)
    try:
        guest.wait_for(f"net0 {GUEST}/24 via static")
        port = close_first(netns, 0)
        for _ in range(3):
            time.sleep(0.2)           # the client's last ACK lands: the guest is in TIME_WAIT
            close_first(netns, port)
    finally:
        guest.stop()
