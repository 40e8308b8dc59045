"""`bench/connrate.py`: examples/http-hello with a new TCP connection per request (ab -c 1, no keep-alive).

Each boot: QEMU (TCG, the board's q35, -cpu max, 512 MiB, 1 CPU, virtio-net-pci on user-net with a
hostfwd on 127.0.0.1) boots http-hello through OVMF (BOOTX64.EFI from unicycle.img) or directly
(app.elf with -kernel through its PVH entry); once GET / answers 200, an unrecorded warm-up
(`ab -c 1 -n WARMUP`), then `ab -c 1 -n REQUESTS -e CSV`: every request opens and closes its own
connection. A boot counts only if ab reports every request complete, "Failed requests: 0", no
non-2xx and the 48-byte page. Boots alternate (ovmf, direct, ovmf, ...). Results: a table on
stdout and bench/results/connrate.json (not committed). Run with the venv's Python.
"""
import argparse
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "unicycle-cli"))

APP_DIR = REPO / "examples" / "http-hello"
CACHE = REPO / ".cache" / "bench" / "connrate"
RESULTS = REPO / "bench" / "results"
PAGE_LEN = 48                       # <html><body><h1>Hello, World!</h1></body></html>
WAYS = {"ovmf": "disk", "direct": "direct"}
ARTIFACTS = ("app.elf", "boot.cfg", "unicycle.img")


class BenchError(Exception):
    """A problem the run cannot go on with; main prints it as one line."""


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- ab

def _num(pattern: str, text: str, cast=float):
    m = re.search(pattern, text, re.M)
    return cast(m.group(1)) if m else None


def parse_ab(out: str, csv: str = "") -> dict:
    """The figures of one `ab` run: its stdout and (optionally) the text of its -e CSV file.

    ab prints "Non-2xx responses" only when there were some, so its absence means 0. The
    percentiles come from the CSV (0..99 %, float ms); the longest request from stdout's
    "100% ... (longest request)" line (whole ms, ab's own rounding)."""
    res = {
        "complete": _num(r"^Complete requests:\s+(\d+)", out, int),
        "failed": _num(r"^Failed requests:\s+(\d+)", out, int),
        "non_2xx": _num(r"^Non-2xx responses:\s+(\d+)", out, int) or 0,
        "document_length": _num(r"^Document Length:\s+(\d+) bytes", out, int),
        "rps": _num(r"^Requests per second:\s+([\d.]+)", out),
        "mean_ms": _num(r"^Time per request:\s+([\d.]+) \[ms\] \(mean\)$", out),
        "max_ms": _num(r"^\s*100%\s+(\d+)\s+\(longest request\)", out),
        "p50_ms": None, "p90_ms": None, "p99_ms": None,
    }
    pct = {}
    for line in csv.splitlines():
        m = re.fullmatch(r"\s*(\d+),([\d.]+)\s*", line)
        if m:
            pct[int(m.group(1))] = float(m.group(2))
    for p in (50, 90, 99):
        res[f"p{p}_ms"] = pct.get(p)
    return res


def ab_problem(res: dict, requests: int) -> str | None:
    """Why an ab run does not count (None: it does)."""
    if res["rps"] is None or res["complete"] is None:
        return "ab printed no result"
    if res["complete"] != requests:
        return f"ab completed {res['complete']} of {requests} requests"
    if res["failed"]:
        return f"ab: Failed requests: {res['failed']}"
    if res["non_2xx"]:
        return f"ab: Non-2xx responses: {res['non_2xx']}"
    if res["document_length"] != PAGE_LEN:
        return f"ab: document length {res['document_length']}, not the {PAGE_LEN}-byte page"
    return None


def run_ab(url: str, requests: int, timeout: float, wrap=lambda cmd: cmd) -> dict:
    """ab -c 1 -n requests against url (wrap(cmd) may run it in a network namespace); its
    parsed figures, with "error" when it does not count."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "pct.csv"
        try:
            r = subprocess.run(wrap(["ab", "-q", "-c", "1", "-n", str(requests), "-s", "10",
                                     "-e", str(csv), url]),
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {**parse_ab(""), "error": f"ab did not finish {requests} requests in "
                                             f"{timeout:g} s"}
        res = parse_ab(r.stdout, csv.read_text() if csv.is_file() else "")
    problem = ab_problem(res, requests)
    if problem:
        tail = (r.stderr or "").strip().splitlines()
        res["error"] = problem + (f" ({tail[-1]})" if tail else "")
    return res


# ---------------------------------------------------------------- summary

def summarize(boots: list[dict]) -> dict:
    """min, max and median over the boots that counted, for req/s and the per-request times."""
    good = [b for b in boots if "error" not in b]
    out = {"boots": boots, "counted": len(good)}
    for key in ("rps", "mean_ms", "p50_ms", "p99_ms", "max_ms"):
        vals = [b[key] for b in good if b.get(key) is not None]
        out[key] = ({"min": min(vals), "max": max(vals), "median": statistics.median(vals)}
                    if vals else None)
    # The top level of each way is the req/s figure (what the issue asks about).
    for k in ("min", "max", "median"):
        out[k] = out["rps"][k] if out["rps"] else None
    return out


def table(summary: dict) -> str:
    rows = [("req/s", "rps", 0), ("mean per request [ms]", "mean_ms", 3),
            ("p50 [ms]", "p50_ms", 3), ("p99 [ms]", "p99_ms", 3),
            ("longest request [ms]", "max_ms", 0)]
    lines = [f"{'median (min-max) over boots':<30}" + "".join(f"{w:<28}" for w in summary)]
    for label, key, d in rows:
        cells = []
        for w in summary:
            st = summary[w].get(key)
            cells.append("n/a" if st is None else
                         f"{st['median']:,.{d}f} ({st['min']:,.{d}f}-{st['max']:,.{d}f})")
        lines.append(f"{label:<30}" + "".join(f"{c:<28}" for c in cells))
    lines.append(f"{'boots counted':<30}" + "".join(
        f"{summary[w]['counted']} of {len(summary[w]['boots'])}".ljust(28) for w in summary))
    per_boot = [f"{w}: " + ", ".join("failed" if "error" in b else f"{b['rps']:,.0f}"
                                     for b in summary[w]["boots"]) for w in summary]
    lines.append("req/s per boot: " + "; ".join(per_boot))
    return "\n".join(lines)


# ---------------------------------------------------------------- guests

def first_200(port: int, proc, start: float, timeout: float) -> float | None:
    """Seconds from QEMU's start to a 200 with the 48-byte page on / (None: none in time)."""
    while time.monotonic() - start < timeout and proc.poll() is None:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status == 200 and len(body) == PAGE_LEN:
                return time.monotonic() - start
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    return None


def boot_once(spec_for, way: str, args) -> dict:
    from unicycle import qemu
    port = qemu.free_port()
    spec = spec_for(WAYS[way], port)
    with tempfile.TemporaryFile() as console:
        start = time.monotonic()
        proc = subprocess.Popen(qemu.command(spec), stdout=console, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            up = first_200(port, proc, start, args.boot_timeout)
            if up is None:
                console.seek(0)
                tail = console.read().decode(errors="replace").strip().splitlines()[-3:]
                why = "QEMU exited" if proc.poll() is not None else \
                    f"no 200 on / within {args.boot_timeout:g} s"
                return {"error": f"{way}: guest did not come up ({why}); console: "
                                 + " | ".join(tail)}
            url = f"http://127.0.0.1:{port}/"
            if args.warmup:
                run_ab(url, args.warmup, args.ab_timeout)
            res = run_ab(url, args.requests, args.ab_timeout)
            res["first_200_s"] = round(up, 2)
            return res
        finally:
            qemu._stop(proc)


def prepare(args):
    """spec_for(boot, port) -> RunSpec for the build to measure (built here unless told)."""
    from unicycle import build as build_mod, qemu
    if args.artifacts:
        src = args.artifacts
        missing = [a for a in ARTIFACTS if not (src / a).is_file()]
        if missing:
            raise BenchError(f"--artifacts {src}: no {', '.join(missing)} there")
        proj_dir = APP_DIR
    else:
        proj_dir = CACHE / "http-hello"
        if not args.no_build:
            shutil.rmtree(proj_dir, ignore_errors=True)
            shutil.copytree(APP_DIR, proj_dir, ignore=shutil.ignore_patterns("build"))
    proj = build_mod.open_project(proj_dir)
    if not args.artifacts:
        if not args.no_build:
            build_mod.build(proj)
        src = proj.build_dir
    # A copy: a rebuild while the bench runs cannot change what it boots.
    work = CACHE / "boot"
    work.mkdir(parents=True, exist_ok=True)
    for a in ARTIFACTS:
        if not (src / a).is_file():
            raise BenchError(f"{src / a} is missing; build http-hello first (or drop --no-build)")
        shutil.copyfile(src / a, work / a)

    def spec_for(boot, port):
        return qemu.spec_for(proj, boot=boot, forwards=[(port, 80)], workdir=work,
                             image=work / "unicycle.img", kernel=work / "app.elf",
                             initrd=work / "boot.cfg")
    return spec_for


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0].strip("`"))
    p.add_argument("--boots", type=int, default=3, help="boots per way (3)")
    p.add_argument("--requests", type=int, default=2000, help="ab -n per boot (2000)")
    p.add_argument("--warmup", type=int, default=200,
                   help="unrecorded requests after the first 200 (200; 0: none)")
    p.add_argument("--ovmf", action="store_true", help="only through OVMF (default: both)")
    p.add_argument("--direct", action="store_true", help="only direct boot (default: both)")
    p.add_argument("--boot-timeout", type=float, default=90.0)
    p.add_argument("--ab-timeout", type=float, default=300.0)
    p.add_argument("--no-build", action="store_true", help="boot the last build")
    p.add_argument("--artifacts", type=Path,
                   help="boot app.elf, boot.cfg and unicycle.img from this directory")
    p.add_argument("--out", type=Path, default=RESULTS / "connrate.json")
    args = p.parse_args(argv)
    for name in ("boots", "requests"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must be 0 or more")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    ways = [w for w in WAYS if getattr(args, w)] or list(WAYS)
    try:
        if not shutil.which("ab"):
            raise BenchError("ab is missing: apt-get install apache2-utils")
        spec_for = prepare(args)
        boots = {w: [] for w in ways}
        for n in range(1, args.boots + 1):
            for w in ways:
                res = boot_once(spec_for, w, args)
                boots[w].append(res)
                log(f"boot {n}/{args.boots} {w}: " + (res["error"] if "error" in res else
                    f"{res['rps']:,.0f} req/s, mean {res['mean_ms']:.3f} ms, "
                    f"p99 {res['p99_ms']} ms, longest {res['max_ms']:g} ms"))
                if "rps" not in res:          # never came up: booting again will not help
                    raise BenchError(res["error"])
    except BenchError as e:
        sys.exit(f"connrate: {e}")
    except KeyboardInterrupt:
        sys.exit("connrate: interrupted")
    summary = {w: summarize(b) for w, b in boots.items()}
    log("\n" + table(summary))
    qemu_v = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                            text=True).stdout.splitlines()[0]
    doc = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "qemu": qemu_v,
                       "loadavg_at_end": os.getloadavg()},
           "config": {"boots": args.boots, "requests": args.requests, "warmup": args.warmup,
                      "load": "ab -c 1 (a new connection per request)",
                      "network": "user-net hostfwd on 127.0.0.1"},
           **summary}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n")
    log(f"\nconnrate: results in {args.out}")
    bad = [w for w in summary if summary[w]["counted"] < len(summary[w]["boots"])]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
