"""bench/openloop.c from Python: build it, run it at one rate or a sweep of rates, judge the results.

openloop sends request k at t0 + k/rate whatever the server does (open loop) and
measures each latency from that intended send time, so a stall is charged to every
request queued behind it. See /bench/openloop.c for the JSON it prints.

    import openloop
    r = openloop.run("http://127.0.0.1:8080/", rate=1000, duration=10, body=PAGE)
    rs = openloop.sweep("http://10.0.9.2/", [500, 1000, 2000, 4000], duration=10,
                        wrap=["ip", "netns", "exec", "ucbench"])
    best = openloop.highest_sustained(rs)      # the highest sustained result, or None
"""
import hashlib
import json
import os
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = Path(__file__).resolve().parent / "openloop.c"
OUT_DIR = REPO / ".cache" / "bench" / "openloop"
BINARY = OUT_DIR / "openloop"
SUSTAINED_P99_US = 5000                   # sustained(): p99 below 5 ms ...
STOP_AFTER = 2                            # sweep(): stop after this many rates in a row not kept up


class OpenloopError(Exception):
    """openloop could not be built or run, or printed no result; the message is one line."""


def build() -> Path:
    """Compile bench/openloop.c into .cache/bench/openloop/openloop unless it is up to date.

    Up to date means built from a source with the same SHA-256 (kept next to the binary),
    so an edit, a checkout or a copied cache all rebuild when they should."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()
    stamp = OUT_DIR / "openloop.sha256"
    if BINARY.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return BINARY
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    tmp = OUT_DIR / f"openloop.{os.getpid()}.tmp"
    cmd = ["gcc", "-O2", "-Wall", "-o", str(tmp), str(SOURCE), "-lm"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise OpenloopError("gcc not found: it is needed to build bench/openloop.c") from None
    except subprocess.TimeoutExpired:
        raise OpenloopError("gcc did not finish building bench/openloop.c within 120 s") from None
    if r.returncode != 0:
        first = next((ln for ln in r.stderr.splitlines() if "error" in ln), r.stderr.strip())
        raise OpenloopError(f"building bench/openloop.c failed: {first}")
    tmp.replace(BINARY)
    stamp.write_text(digest + "\n")
    return BINARY


def command(url: str, rate: float, duration: float, connections: int = 64, warmup: float = 1,
            body_file: str | None = None, timeout_ms: int = 2000) -> list[str]:
    """The openloop argv (without building or wrapping)."""
    cmd = [str(BINARY), "--url", url, "--rate", f"{rate:g}", "--duration", f"{duration:g}",
           "--connections", str(connections), "--warmup", f"{warmup:g}",
           "--timeout-ms", str(timeout_ms)]
    if body_file is not None:
        cmd += ["--expect-body", body_file]
    return cmd


def run(url: str, rate: float, duration: float, connections: int = 64, warmup: float = 1,
        body: bytes | str | None = None, wrap: list[str] | None = None,
        timeout_ms: int = 2000) -> dict:
    """One open-loop run; the tool's JSON as a dict.

    body: the exact body every response must carry (bytes or str; None: not checked).
    wrap: an argv prefix the tool runs under, e.g. ["ip", "netns", "exec", "ucbench"]."""
    build()
    body_file = None
    try:
        if body is not None:
            data = body.encode() if isinstance(body, str) else bytes(body)
            fd, body_file = tempfile.mkstemp(prefix="openloop-body-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(body_file, 0o644)       # readable under a wrap that changes user
        cmd = list(wrap or []) + command(url, rate, duration, connections, warmup,
                                         body_file, timeout_ms)
        # the tool stops by itself at warmup + duration + timeout; allow start-up slack
        limit = warmup + duration + timeout_ms / 1000 + 30
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
        except FileNotFoundError as e:
            raise OpenloopError(f"cannot start {cmd[0]}: {e.strerror}") from None
        except subprocess.TimeoutExpired:
            raise OpenloopError(f"openloop did not finish within {limit:g} s") from None
    finally:
        if body_file:
            os.unlink(body_file)
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines()
        msg = lines[-1].split(" (usage:")[0] if lines else f"exit status {r.returncode}"
        raise OpenloopError(msg if msg.startswith("openloop: ") else f"openloop: {msg}")
    try:
        return json.loads(r.stdout)
    except json.JSONDecodeError:
        raise OpenloopError(f"openloop printed no JSON result: {r.stdout.strip()[:200]!r}") from None


def sustained(result: dict) -> bool:
    """Kept up with the schedule, no errors at all, and p99 below 5 ms."""
    return (bool(result.get("kept_up")) and result["errors"]["total"] == 0
            and result["latency_us"]["count"] > 0
            and result["latency_us"]["p99"] < SUSTAINED_P99_US)


def sweep(url: str, rates, duration: float, connections: int = 64, warmup: float = 1,
          body: bytes | str | None = None, wrap: list[str] | None = None,
          timeout_ms: int = 2000, stop_after: int = STOP_AFTER, progress=None) -> list[dict]:
    """run() at each rate, lowest first; stop after `stop_after` rates in a row not kept up.

    progress: called with each result as it arrives (e.g. to print a line)."""
    results, misses = [], 0
    for rate in sorted(rates):
        r = run(url, rate, duration, connections, warmup, body, wrap, timeout_ms)
        results.append(r)
        if progress:
            progress(r)
        misses = 0 if r["kept_up"] else misses + 1
        if misses >= stop_after:
            break
    return results


def highest_sustained(results: list[dict]) -> dict | None:
    """The sustained() result with the highest rate, or None if none was sustained."""
    ok = [r for r in results if sustained(r)]
    return max(ok, key=lambda r: r["rate"]) if ok else None
