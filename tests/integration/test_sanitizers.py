"""http-hello's core requests under the sanitizers (runtime/sanitize/): GETs, a 404, a 400,
POSTs with a length and chunked, keep-alive, and every byte given back, with no report on the
console. To stay cheap, one build with KASAN and UBSAN both on and one direct boot (lwIP makes
http-hello the expensive build); test_runtime_selftest.py builds each sanitizer alone."""
import http.client
import shutil
import socket
import time
from pathlib import Path

import pytest

from helpers import ROOT, Guest, unicycle
from unicycle import qemu

pytestmark = pytest.mark.qemu

INDEX = b"<html><body><h1>Hello, World!</h1></body></html>"


def _copy(example: str, dst: Path, config: dict) -> Path:
    shutil.copytree(ROOT / "examples" / example, dst, ignore=shutil.ignore_patterns("build"))
    toml = dst / "unicycle.toml"
    lines = "".join(f"{k} = {v}\n" for k, v in config.items())
    toml.write_text(toml.read_text().replace("[config]\n", "[config]\n" + lines))
    unicycle("build", "-C", dst, "--direct", check=True)
    return dst


@pytest.fixture(scope="module")
def http_guest(tmp_path_factory):
    proj = _copy("http-hello", tmp_path_factory.mktemp("hh-sanitized") / "hh",
                 {"KASAN": "true", "UBSAN": "true", "HTTP_STATS": "true"})
    port = qemu.free_port()
    guest = Guest(proj, forwards=[(port, 80)])
    try:
        guest.wait_for("via dhcp")
        assert "KiB of shadow" in guest.serial() and "UBSAN: on" in guest.serial()
        yield guest, port
    finally:
        guest.stop()
    assert "PANIC" not in guest.serial(), guest.serial()[-3000:]


def _request(port, method, path, body=None, headers=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    if conn is None:
        c.close()
    return r, data


def _raw(port, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(data)
        out = b""
        while chunk := s.recv(4096):
            out += chunk
    return out


def _bytes_in_use(port) -> int:
    import json
    r, body = _request(port, "GET", "/_unicycle/stats")
    assert r.status == 200
    return json.loads(body)["mem"]["bytes_in_use"]


def test_http_core_requests(http_guest):
    guest, port = http_guest
    before = _bytes_in_use(port)
    r, body = _request(port, "GET", "/")
    assert r.status == 200 and body == INDEX
    r, body = _request(port, "GET", "/hello.txt")
    assert r.status == 200 and body.startswith(b"Hello")
    r, _ = _request(port, "GET", "/nope")
    assert r.status == 404
    assert _raw(port, b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400")
    r, body = _request(port, "POST", "/", body=b"x" * 3000,
                       headers={"Content-Type": "application/octet-stream"})
    assert r.status == 200 and body == INDEX
    chunked = (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert _raw(port, chunked).startswith(b"HTTP/1.1 200")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    for i in range(300):
        r, body = _request(port, "GET", "/" if i % 2 else "/hello.txt", conn=conn)
        assert r.status == 200 and body, i
    conn.close()
    time.sleep(1.0)
    assert _bytes_in_use(port) == before
    assert "PANIC" not in guest.serial(), guest.serial()[-3000:]
