"""Where the time of an HTTP request goes: examples/http-hello built with PROFILE=y.

Not part of `make test`. Builds a copy of http-hello under .cache/bench/profile/
with CONFIG_PROFILE (TSC stamps around each stage of a request, runtime/kernel/
profile.h), boots it directly (PVH) in QEMU on user-net with a hostfwd on
127.0.0.1, and for each load (wrk -t1 -c1, wrk -t2 -c32) zeroes the profile
(GET /_unicycle/profile?reset), runs wrk for --duration seconds and reads the
profile back. Writes bench/results/profile.json and prints a table: per stage its
runs per request, its own time per request (ns) and its share of the profiled
time. Run with the venv's Python: .venv/bin/python bench/profile.py
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "examples" / "http-hello"
WORK = REPO / ".cache" / "bench" / "profile"
OUT = REPO / "bench" / "results" / "profile.json"
LOADS = {"c1": ["-t1", "-c1"], "c32": ["-t2", "-c32"]}
BUILD_SETS = ("PROFILE=y",)
BOOT_TIMEOUT_S = 60


class BenchError(Exception):
    """One line for the user: what went wrong."""


def build(app: Path, sets=BUILD_SETS) -> Path:
    """A copy of http-hello in `app`, built (--direct) with `sets`; returns the copy."""
    if app.exists():
        shutil.rmtree(app)
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("build"))
    cli = [sys.executable, "-m", "unicycle", "build", "-C", str(app), "--direct"]
    for s in sets:
        cli += ["--set", s]
    r = subprocess.run(cli, capture_output=True, text=True)
    if r.returncode != 0:
        tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise BenchError(f"building {app} failed: {tail[0]}")
    return app


class Guest:
    """The built copy in QEMU (direct boot), port 80 forwarded to 127.0.0.1:port."""

    def __init__(self, app: Path, nic: str = "virtio-net-pci"):
        from unicycle import build as build_mod, qemu
        proj = build_mod.open_project(app)
        self.port = qemu.free_port()
        spec = qemu.spec_for(proj, boot="direct", nic=nic, forwards=[(self.port, 80)])
        self.log = proj.build_dir / "serial-profile.log"
        self.proc = subprocess.Popen(qemu.command(spec), stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, timeout: float = 10) -> bytes:
        with urllib.request.urlopen(self.url(path), timeout=timeout) as r:
            return r.read()

    def wait_up(self, timeout: float = BOOT_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"QEMU exited ({self.proc.returncode}) before the guest "
                                 f"answered; see {self.log}")
            try:
                self.get("/", timeout=2)
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise BenchError(f"the guest did not answer http://127.0.0.1:{self.port}/ within "
                         f"{timeout:.0f} s; see {self.log}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(url: str, args: list[str], seconds: int) -> dict:
    """One wrk run (bounded: its own -d plus a margin); requests/s and requests."""
    if not shutil.which("wrk"):
        raise BenchError("wrk is not installed (apt-get install wrk)")
    try:
        r = subprocess.run(["wrk", *args, f"-d{seconds}s", "--timeout", "5s", url],
                           capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk {' '.join(args)} did not finish within {seconds + 30} s")
    m = re.search(r"Requests/sec:\s*([\d.]+)", r.stdout)
    n = re.search(r"(\d+) requests in", r.stdout)
    if r.returncode != 0 or not m or not n:
        raise BenchError(f"wrk {' '.join(args)} failed: {(r.stderr or r.stdout).strip()[:200]}")
    return {"rps": float(m.group(1)), "requests": int(n.group(1))}


def summarise(raw: dict) -> dict:
    """The guest's profile -> {stages: {name: {count, per_request, mean_ns, ...}}}."""
    requests = raw["requests"]
    total = sum(s["ns"] for s in raw["stages"].values()) or 1
    stages = {}
    for name, s in raw["stages"].items():
        stages[name] = {
            "count": s["count"],
            "per_request": round(s["count"] / requests, 3) if requests else None,
            "mean_ns": round(s["ns"] / s["count"]) if s["count"] else 0,   # per run
            "ns_per_request": s["ns_per_request"],
            "max_ns": s["max_ns"],
            "share": round(s["ns"] / total, 3),
        }
    return {"requests": requests, "profiled_ns_per_request": round(total / requests)
            if requests else None, "stages": stages}


def measure(guest: Guest, duration: int) -> dict:
    loads = {}
    for name, args in LOADS.items():
        guest.get("/_unicycle/profile?reset")
        w = wrk(guest.url("/"), args, duration)
        raw = json.loads(guest.get("/_unicycle/profile"))
        # The profile's own GET is counted too; wrk's requests are the rest.
        loads[name] = {"wrk": w, "tsc_hz": raw["tsc_hz"], **summarise(raw)}
    return loads


def table(loads: dict) -> str:
    lines = []
    for name, load in loads.items():
        lines.append(f"{name}: {load['wrk']['rps']:.0f} req/s, {load['requests']} requests, "
                     f"{load['profiled_ns_per_request']} ns profiled per request")
        lines.append(f"  {'stage':<12} {'runs/req':>9} {'ns/run':>9} {'ns/req':>9} "
                     f"{'max ns':>10} {'share':>6}")
        for stage, s in sorted(load["stages"].items(), key=lambda kv: -kv[1]["share"]):
            lines.append(f"  {stage:<12} {s['per_request']:>9} {s['mean_ns']:>9} "
                         f"{s['ns_per_request']:>9} {s['max_ns']:>10} {s['share']:>6.1%}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds of wrk per load (1-120)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"JSON results (default {OUT})")
    ap.add_argument("--nic", default="virtio-net-pci", choices=("virtio-net-pci", "e1000e"),
                    help="QEMU NIC model")
    args = ap.parse_args(argv)
    if not 1 <= args.duration <= 120:
        ap.error(f"--duration {args.duration}: must be 1..120 seconds")
    sys.path.insert(0, str(REPO / "unicycle-cli"))
    guest = None
    try:
        print(f"profile: building http-hello with {' '.join(BUILD_SETS)} in {WORK}", flush=True)
        app = build(WORK / "http-hello")
        guest = Guest(app, args.nic)
        guest.wait_up()
        loads = measure(guest, args.duration)
    except BenchError as e:
        print(f"profile: {e}", file=sys.stderr)
        return 1
    finally:
        if guest:
            guest.stop()
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "nic": args.nic, "duration_s": args.duration, "loads": loads}
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    except OSError as e:
        print(f"profile: cannot write {args.out}: {e.strerror}", file=sys.stderr)
        return 1
    print(table(loads))
    print(f"profile: results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
