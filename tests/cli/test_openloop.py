"""bench/openloop.c (via bench/openloop.py) against small HTTP servers on 127.0.0.1."""
import http.server
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import openloop  # noqa: E402

PAGE = b"<html><body><h1>Hello, World!</h1></body></html>"


class Server:
    """A threaded HTTP/1.1 server; `behave(n)` runs before the n-th response (1-based)."""

    def __init__(self, body=PAGE, behave=None, close=False):
        outer = self
        self.count = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with outer.lock:
                    outer.count += 1
                    n = outer.count
                if behave:
                    behave(n)
                extra = b"Connection: close\r\n" if close else b""
                # one write: a header and body written apart meet Nagle + delayed ACK (40 ms)
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n"
                                 % (len(body), extra) + body)
                if close:
                    self.close_connection = True

            def log_message(self, *a):
                pass

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self.httpd = S(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(**kw):
        servers.append(Server(**kw))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="module", autouse=True)
def built():
    return openloop.build()


def test_fixed_rate_completes_the_schedule(serve):
    s = serve()
    r = openloop.run(s.url, rate=200, duration=1, connections=8, warmup=0.2, body=PAGE)
    assert r["scheduled"] == 200
    assert r["completed"] == 200 and r["ok"] == 200
    assert r["errors"]["total"] == 0
    assert r["kept_up"] is True
    assert 195 <= r["achieved_rate"] <= 205
    assert s.count == 240                   # 40 warm-up requests were sent too, not counted
    lat = r["latency_us"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    ps = [p for p, _ in r["percentiles"]]
    assert ps[0] == 0 and ps[-1] == 100 and 99 in ps and ps == sorted(ps)


def test_wrong_body_is_counted(serve):
    s = serve(body=PAGE.replace(b"World", b"Wordl"))
    r = openloop.run(s.url, rate=100, duration=0.5, connections=4, warmup=0, body=PAGE)
    assert r["completed"] == 50
    assert r["errors"]["bad_body"] == 50 and r["errors"]["total"] == 50
    assert r["ok"] == 0
    assert not openloop.sustained(r)


def test_body_of_other_length_is_counted(serve):
    s = serve(body=PAGE + b"\n")
    r = openloop.run(s.url, rate=100, duration=0.3, connections=2, warmup=0, body=PAGE)
    assert r["errors"]["bad_body"] == r["completed"] == 30


def test_a_stall_is_charged_to_every_request_queued_behind_it(serve):
    # The whole server pauses 200 ms once (like a GC pause): at 200 req/s, 40
    # requests fall due during it. A closed-loop tool with 8 connections records at
    # most 8 slow samples (4%); measured from the due time, ~20% are slow.
    gate = threading.Lock()

    def behave(n):
        if n == 60:
            with gate:
                time.sleep(0.2)
        else:
            with gate:
                pass

    s = serve(behave=behave)
    r = openloop.run(s.url, rate=200, duration=1, connections=8, warmup=0, body=PAGE)
    assert r["completed"] == 200 and r["errors"]["total"] == 0
    lat = r["latency_us"]
    assert lat["max"] >= 195_000
    assert lat["p99"] >= 150_000
    assert lat["p90"] >= 50_000             # more than the 8 requests in flight saw the stall
    assert r["kept_up"] is True             # a 200 ms stall is caught up within the run


def test_server_too_slow_is_not_kept_up(serve):
    one = threading.Lock()

    def behave(n):                          # serialised, 20 ms each: 50 req/s at most
        with one:
            time.sleep(0.02)

    s = serve(behave=behave)
    r = openloop.run(s.url, rate=200, duration=1, connections=8, warmup=0, timeout_ms=500)
    assert r["kept_up"] is False
    assert r["completed"] < 0.99 * r["scheduled"]
    assert r["max_lag_ms"] > 500
    assert not openloop.sustained(r)


def test_connection_close_reconnects_without_errors(serve):
    s = serve(close=True)
    r = openloop.run(s.url, rate=100, duration=0.5, connections=4, warmup=0, body=PAGE)
    assert r["completed"] == 50 and r["errors"]["total"] == 0
    assert r["reconnects"] >= 50


def test_nothing_listening_counts_connect_errors(serve):
    s = serve()
    url = s.url
    s.stop()
    r = openloop.run(url, rate=50, duration=0.3, connections=2, warmup=0, timeout_ms=200)
    assert r["completed"] == 0 and r["errors"]["connect"] > 0
    assert r["kept_up"] is False


@pytest.mark.parametrize("args, message", [
    ([], "--url is required"),
    (["--url", "ftp://x/", "--rate", "1", "--duration", "1", "--connections", "1"],
     "--url must start with http://"),
    (["--url", "http://127.0.0.1:99999/", "--rate", "1", "--duration", "1", "--connections", "1"],
     "port 99999 is out of range"),
    (["--url", "http://127.0.0.1/", "--rate", "fast", "--duration", "1", "--connections", "1"],
     "--rate wants a number, got 'fast'"),
    (["--url", "http://127.0.0.1/", "--rate", "1", "--duration", "1", "--connections", "0"],
     "--connections 0 is out of range"),
    (["--url", "http://127.0.0.1/", "--rate", "1", "--duration", "1"], "--connections is required"),
    (["--url", "http://127.0.0.1/", "--rate", "1", "--duration", "1", "--connections", "1",
      "--expect-body", "/nonexistent/body"], "cannot read --expect-body /nonexistent/body"),
    (["--url", "http://127.0.0.1/", "--rate", "1", "--duration", "1", "--connections", "1",
      "--bogus", "1"], "unknown option '--bogus'"),
])
def test_bad_arguments_exit_2_with_one_line(args, message):
    r = subprocess.run([str(openloop.BINARY), *args], capture_output=True, text=True, timeout=5)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert message in r.stderr


def test_bad_arguments_raise_openloop_error():
    with pytest.raises(openloop.OpenloopError, match="--url must start with http://"):
        openloop.run("https://127.0.0.1/", rate=1, duration=1)


def test_sweep_stops_after_two_rates_not_kept_up(serve):
    one = threading.Lock()

    def behave(n):                          # 50 req/s at most
        with one:
            time.sleep(0.02)

    s = serve(behave=behave)
    seen = []
    rs = openloop.sweep(s.url, [400, 20, 200, 800], duration=0.5, connections=4, warmup=0,
                        timeout_ms=1000, progress=seen.append)
    why = [(r["rate"], r["kept_up"], r["max_lag_ms"], r["completed"], r["errors"]) for r in rs]
    assert [r["rate"] for r in rs] == [20, 200, 400], why   # ascending; 800 never run
    assert [r["kept_up"] for r in rs] == [True, False, False]
    assert seen == rs
    assert openloop.highest_sustained(rs) is None           # 20 ms per request: p99 > 5 ms


def test_sustained_and_highest_sustained():
    def result(rate, kept_up=True, errors=0, p99=1000):
        return {"rate": rate, "kept_up": kept_up, "errors": {"total": errors},
                "latency_us": {"count": 100, "p99": p99}}

    rs = [result(100), result(200), result(400, p99=5000), result(800, kept_up=False),
          result(300, errors=1)]
    assert [openloop.sustained(r) for r in rs] == [True, True, False, False, False]
    assert openloop.highest_sustained(rs)["rate"] == 200
    assert openloop.highest_sustained([result(1, kept_up=False)]) is None


def test_build_rebuilds_when_the_source_changes(tmp_path, monkeypatch):
    src = tmp_path / "openloop.c"
    src.write_bytes(openloop.SOURCE.read_bytes())
    monkeypatch.setattr(openloop, "SOURCE", src)
    monkeypatch.setattr(openloop, "OUT_DIR", tmp_path / "out")
    monkeypatch.setattr(openloop, "BINARY", tmp_path / "out" / "openloop")
    b = openloop.build()
    first = b.stat().st_mtime_ns
    assert openloop.build().stat().st_mtime_ns == first      # unchanged: not rebuilt
    src.write_text(src.read_text() + "\n/* changed */\n")
    time.sleep(0.01)
    assert openloop.build().stat().st_mtime_ns != first
    src.write_text("this is not C\n")
    with pytest.raises(openloop.OpenloopError, match="building bench/openloop.c failed"):
        openloop.build()
