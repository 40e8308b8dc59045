"""bench/soak.py without booting: the flatness and trend verdicts, wrk's and soak.lua's
figures, and soak.lua itself against a local server (a wrong body must be counted)."""
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import soak  # noqa: E402

START = {"bytes_in_use": 462272, "peak_bytes": 479824, "tcp_pcb": 1, "tcp_pcb_listen": 1,
         "tcp_seg": 0, "pbuf_pool": 1, "pbuf": 0}


def load_samples(values):
    return [dict(START, bytes_in_use=v, tcp_pcb=256, t=i, loadavg=1.0)
            for i, v in enumerate(values)]


def test_flat_run_passes():
    samples = load_samples([478000, 476000, 479000, 477500] * 5)
    assert soak.memory_failures(START, dict(START, peak_bytes=480480), samples) == []


def test_bytes_not_back_after_settle_fail():
    fails = soak.memory_failures(START, dict(START, bytes_in_use=462272 + 48), [])
    assert fails == ["bytes_in_use 462320 after the settle, 462272 before the load"]


def test_lwip_pool_not_back_fails():
    fails = soak.memory_failures(START, dict(START, tcp_pcb=3), [])
    assert fails == ["tcp_pcb 3 after the settle, 1 before the load"]


def test_upward_trend_fails_even_when_end_is_back():
    # Per-connection growth freed at close: end == start, but under load it climbs.
    samples = load_samples([478000 + i * 8000 for i in range(20)])
    fails = soak.memory_failures(START, dict(START), samples)
    assert len(fails) == 1 and fails[0].startswith("bytes in use grew under load")


def test_trend_within_slack_and_too_short():
    t = soak.trend([400000] * 5 + [400000 + soak.TREND_SLACK_BYTES] * 5)
    assert t["grew"] is False and t["slack"] == soak.TREND_SLACK_BYTES
    assert soak.trend([1, 2, 3])["grew"] is None


def test_fake_leak_makes_a_flat_run_fail():
    samples = load_samples([478000] * 20)
    end = dict(START)
    soak.apply_fake_leak(samples, end, 10000)
    fails = soak.memory_failures(START, end, samples)
    assert len(fails) == 2 and fails[0].startswith("bytes_in_use 672272 after the settle")


WRK_OUT = """Running 5s test @ http://10.0.9.2/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   800.23us  705.46us  15.36ms   94.99%
    Req/Sec    11.30k     2.20k   15.18k    72.00%
  56189 requests in 5.02s, 7.02MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  11193.03
Transfer/sec:      1.40MB
soak: responses 56189 bad_status 4 bad_body 7
"""


def test_leg_output_is_parsed_and_every_error_named():
    r = soak.parse_leg(WRK_OUT)
    assert (r["requests"], r["duration_s"], r["responses"], r["bad_body"]) == (56189, 5.02,
                                                                               56189, 7)
    assert soak.leg_errors(r) == ["3 socket errors/timeouts", "4 non-2xx responses",
                                  "4 responses not 200", "7 wrong bodies"]


def test_missing_lua_line_or_count_mismatch_is_an_error():
    no_lua = WRK_OUT.replace("soak: responses", "other:")
    assert soak.leg_errors(soak.parse_leg(no_lua)) == ["wrk printed no result"]
    clean = "  100 requests in 1.00s, 1KB read\nRequests/sec: 100\n" \
            "soak: responses 99 bad_status 0 bad_body 0\n"
    assert soak.leg_errors(soak.parse_leg(clean)) == [
        "soak.lua saw 99 responses, wrk counted 100"]


class _Page(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        # One write: the answer and the close (Connection: close) in one go, as the guest's.
        # (wrk counts a close the answer did not announce as a read error.)
        self.close_connection = self.headers.get("Connection", "").lower() == "close"
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (
            len(soak.PAGE), b"Connection: close\r\n" if self.close_connection else b"",
            soak.PAGE))

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def page_url():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (Debian package) not installed")
@pytest.mark.parametrize("kind", sorted(soak.CLIENTS))
@pytest.mark.parametrize("body,bad", [(soak.PAGE, False), (soak.PAGE[:-1] + b"!", True)],
                         ids=["right-body", "wrong-body"])
def test_soak_lua_checks_every_body(tmp_path, page_url, kind, body, bad):
    expected = tmp_path / "body"
    expected.write_bytes(body)
    cmd = soak.wrk_command(kind, page_url, 1, expected)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
    r = soak.parse_leg(out)
    assert r["responses"] > 0 and r["responses"] == r["requests"], out
    assert r["bad_body"] == (r["responses"] if bad else 0), out
    assert (soak.leg_errors(r) != []) == bad
