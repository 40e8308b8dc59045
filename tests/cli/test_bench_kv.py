"""bench/kv.py without booting: redis-benchmark's --csv is parsed, a failed or incomplete
run is an error (not zeros in the table), and the redis-server VM finds the binary behind
the redis-server package's symlink."""
import os
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import kv  # noqa: E402
import linuxvm  # noqa: E402

CSV = ('"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",'
       '"p99_latency_ms","max_latency_ms"\n'
       '"SET","3407.85","6.571","0.104","2.591","12.535","19.983","3000.319"\n'
       '"GET","3359.07","4.223","0.096","1.391","8.311","13.567","3000.319"\n')


def test_csv_is_parsed():
    res = kv.parse_csv(CSV)
    assert res == {"SET": {"rps": 3407.85, "avg_ms": 6.571, "p50_ms": 2.591, "p99_ms": 19.983,
                           "max_ms": 3000.319},
                   "GET": {"rps": 3359.07, "avg_ms": 4.223, "p50_ms": 1.391, "p99_ms": 13.567,
                           "max_ms": 3000.319}}


def fake_benchmark(tmp_path, monkeypatch, stdout: str, stderr: str = "", status: int = 0):
    """A redis-benchmark on PATH that prints the given output and exits with status."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (tmp_path / "out").write_text(stdout)
    (tmp_path / "err").write_text(stderr)
    script = bindir / "redis-benchmark"
    script.write_text(f"#!/bin/sh\ncat {tmp_path / 'out'}\ncat {tmp_path / 'err'} >&2\n"
                      f"exit {status}\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_a_good_run_gives_both_tests(tmp_path, monkeypatch):
    fake_benchmark(tmp_path, monkeypatch, CSV)
    assert set(kv.redis_benchmark(1, 16, 100, 10)) == {"SET", "GET"}


@pytest.mark.parametrize("stdout,stderr,status,says", [
    # redis-benchmark 7.0 stops at the first error and prints only the header
    (CSV.splitlines()[0] + "\n", "Error: Connection reset by peer\n", 0, "Connection reset"),
    (CSV.splitlines()[0] + "\n" + CSV.splitlines()[1] + "\n", "", 0, "failed"),
    ("", "Could not connect to Redis at 127.0.0.1:1: Connection refused\n", 1,
     "exit status 1"),
    (CSV, "Error from server: OOM command not allowed\n", 0, "OOM"),
])
def test_a_failed_run_is_an_error(tmp_path, monkeypatch, stdout, stderr, status, says):
    fake_benchmark(tmp_path, monkeypatch, stdout, stderr, status)
    with pytest.raises(kv.BenchError, match=says):
        kv.redis_benchmark(1, 1, 100, 10)


def test_a_run_that_hangs_is_an_error(tmp_path, monkeypatch):
    fake_benchmark(tmp_path, monkeypatch, "")
    (tmp_path / "bin" / "redis-benchmark").write_text("#!/bin/sh\nexec sleep 30\n")
    with pytest.raises(kv.BenchError, match="did not finish within 0.5 s"):
        kv.redis_benchmark(1, 1, 100, 0.5)


def test_redis_server_binary_behind_the_symlink(tmp_path):
    server, tools = tmp_path / "redis-server", tmp_path / "redis-tools"
    (server / "usr/bin").mkdir(parents=True)
    (tools / "usr/bin").mkdir(parents=True)
    (tools / "usr/bin/redis-check-rdb").write_bytes(b"\x7fELF")
    os.symlink("redis-check-rdb", server / "usr/bin/redis-server")
    assert linuxvm._redis_binary(server, tools) == tools / "usr/bin/redis-check-rdb"
    (tools / "usr/bin/redis-check-rdb").unlink()
    with pytest.raises(RuntimeError, match="neither redis-server nor redis-tools holds"):
        linuxvm._redis_binary(server, tools)


def test_static_bootcfg_replaces_the_network_lines(tmp_path):
    (tmp_path / "boot.cfg").write_text("# boot.cfg\ncmdline = maxmemory=64mb\nnet = dhcp\n"
                                       "address = 10.0.2.15/24\n")
    cfg = kv.static_bootcfg({"work": tmp_path}, "10.0.9.2/24", "10.0.9.1")
    assert cfg.read_text().splitlines() == [
        "# boot.cfg", "cmdline = maxmemory=64mb", "net = static", "address = 10.0.9.2/24",
        "gateway = 10.0.9.1"]
