"""`make soak`: a million requests to http-hello, keep-alive and new connections at once; no errors, memory flat.

Not part of `make test`. http-hello (built with HTTP_STATS and NET_STATS, booted
directly: app.elf with -kernel, no OVMF) runs under QEMU (TCG, q35, -cpu max,
512 MiB, 1 CPU, virtio-net-pci) on a tap device in the network namespace
`ucsoak` (bench/netns.py; root): user-net's hostfwd listens with a backlog of 1,
which new-connection load overflows. Two wrk clients run side by side in legs of
--leg seconds until --requests responses have been read:

  keepalive  wrk -t1 -c32: every connection kept open for the whole leg;
  close      wrk -t1 -c16 -H "Connection: close": a new connection per request.

A warm-up of --warmup s at more connections (56 + 24) comes first. Both clients
run bench/soak.lua, which checks every response's status (200) and body
(the exact 48-byte page). Any socket error, timeout, non-2xx, wrong body or
response-count mismatch fails the run. Every --sample-every seconds GET
/_unicycle/stats records the allocator's bytes_in_use and peak_bytes and lwIP's
pools in use (PCBs, segments, pbufs). After the load the harness waits (at most
--settle s: TIME_WAIT is 20 s) for them to return to their values before the
load, and fails if they do not, or if bytes in use under load trend upward (the
last quarter's maximum above the first quarter's by more than TREND_SLACK).
The whole run, boot to verdict, is bounded by --minutes (hard: SIGALRM).
Results: a summary on stdout and bench/results/soak.json; exit status 1 on
any failure.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO / "unicycle-cli"))
import linuxvm  # noqa: E402
import netns  # noqa: E402
from common import Guest, build_static_copy, ensure_packages, last_line, log, machine  # noqa: E402
from common import checked_errors as leg_errors, checked_wrk_command  # noqa: E402
from common import parse_checked as parse_leg  # noqa: E402

APP_DIR = REPO / "examples" / "http-hello"
CACHE = REPO / ".cache" / "soak"
RESULTS = REPO / "bench" / "results"
NETNS_NAME = "ucsoak"
NETNS_GUEST = "unicycle"                  # bench/netns.py's tap and address for the guest
PAGE = linuxvm.PAGE                       # http-hello's GET / (examples/http-hello/src/main.c)
BUILD_SETS = ("HTTP_STATS=y", "NET_STATS=y")
# Connections in the soak, in the warm-up, and wrk's extra arguments. The warm-up opens
# more: what grows to the peak and stays (the HTTP engine's recycled connection buffers,
# the timer table) reaches a high-water mark the soak stays below, so the start sample
# already holds it. Both stay below CONFIG_NET_TCP_PER_PEER (128) with room for the
# server's closing connections, which count against it until TIME_WAIT.
CLIENTS = {"keepalive": (32, 56, []),
           "close": (16, 24, ["-H", "Connection: close"])}
WRK_TIMEOUT_S = 5                         # a response slower than this is a wrk timeout (an error)
STATS_TIMEOUT_S = 5                       # a stats request slower than this is a stall
BOOT_TIMEOUT_S = 30
LEG_GRACE_S = 30                          # a wrk leg may overrun its -d by this much
LEG_STALL_S = 5                           # ...but more than this is a stall (wrk stops only
                                          # at a response: none came for that long)
LWIP_POOLS = ("tcp_pcb", "tcp_pcb_listen", "tcp_seg", "pbuf_pool", "pbuf")
# Bytes in use under load move with the connections open at the sampling instant
# (up to 48 here, about 2 KiB each); growth beyond this is a trend.
TREND_SLACK_BYTES = 64 * 1024
TREND_SLACK_FRACTION = 0.10
TREND_MIN_SAMPLES = 8                     # fewer: too short to judge a trend (reported, not failed)


class SoakError(Exception):
    """The run cannot go on (no boot, a stall, a tool failure): reported as a failure."""


class Overrun(Exception):
    """--minutes elapsed (SIGALRM)."""


# ---------------------------------------------------------------- build and boot

def build(no_build: bool) -> Path:
    """A copy of http-hello with a static address for the tap, built for direct boot."""
    proj_dir = CACHE / "http-hello"
    if not no_build:
        r = build_static_copy(APP_DIR, proj_dir,
                              f"{netns.Netns.address(NETNS_GUEST)}/{netns.PREFIX}",
                              netns.BRIDGE_ADDR, list(BUILD_SETS))
        if r.returncode != 0:
            sys.exit(f"soak: building {proj_dir} failed: {last_line(r)}")
    if not (proj_dir / "unicycle.toml").is_file():
        sys.exit(f"soak: {proj_dir} is missing; run without --no-build first")
    return proj_dir


def guest_command(proj_dir: Path, net) -> list[str]:
    from unicycle import build as build_mod, qemu
    proj = build_mod.open_project(proj_dir)
    spec = qemu.spec_for(proj, boot="direct", netdev=net.netdev(NETNS_GUEST))
    return net.wrap(qemu.command(spec))


# ---------------------------------------------------------------- the guest's stats

def read_stats(url: str, wrap) -> dict | None:
    """GET /_unicycle/stats -> {'bytes_in_use', 'peak_bytes', lwIP pools...}; None if no answer."""
    try:
        r = subprocess.run(wrap(["curl", "-sS", "--max-time", str(STATS_TIMEOUT_S),
                                 url + "_unicycle/stats"]),
                           capture_output=True, text=True, timeout=STATS_TIMEOUT_S + 5)
        doc = json.loads(r.stdout)
    except (subprocess.TimeoutExpired, ValueError):
        return None
    s = {"bytes_in_use": doc["mem"]["bytes_in_use"], "peak_bytes": doc["mem"]["peak_bytes"]}
    s.update({k: doc["lwip"][k] for k in LWIP_POOLS if k in doc.get("lwip", {})})
    return s


def comparable(sample: dict) -> dict:
    """What must come back after the load: bytes in use and lwIP's pools (not the peak)."""
    return {k: v for k, v in sample.items() if k != "peak_bytes" and k not in ("t", "phase",
                                                                              "loadavg")}


def pools(sample: dict) -> dict:
    return {k: sample[k] for k in LWIP_POOLS if k in sample}


def settle(url: str, wrap, done, limit_s: float, trace: list, every_s: float = 1.0):
    """Polls the stats until done(previous, sample) or limit_s passes; returns
    (last sample, seconds waited, whether done). Each sample goes to trace too."""
    start, prev = time.monotonic(), None
    while True:
        s = read_stats(url, wrap)
        if s is None:
            raise SoakError("GET /_unicycle/stats got no answer while settling")
        waited = time.monotonic() - start
        trace.append(dict(s, t=round(waited, 1)))
        ok = done(prev, s)
        if ok or waited >= limit_s:
            return s, round(waited, 1), ok
        prev = s
        time.sleep(every_s)


def settled_start(boot: dict):
    """The start sample: lwIP's pools as at boot (the warm-up's TIME_WAIT pcbs gone) and
    bytes in use still. Not the boot figure: the warm-up fills caches that stay (the
    HTTP engine recycles connection buffers, the timer table grows to the peak)."""
    return lambda prev, s: (pools(s) == pools(boot) and prev is not None
                            and prev["bytes_in_use"] == s["bytes_in_use"])


def back_to(start: dict):
    return lambda prev, s: comparable(s) == comparable(start)


class Sampler(threading.Thread):
    """Reads the stats every `every_s` seconds while the load runs."""

    def __init__(self, url: str, wrap, every_s: float, t0: float):
        super().__init__(daemon=True)
        self.url, self.wrap, self.every_s, self.t0 = url, wrap, every_s, t0
        self.samples, self.misses = [], 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.wait(self.every_s):
            s = read_stats(self.url, self.wrap)
            if s is None:
                self.misses += 1
                continue
            s["t"] = round(time.monotonic() - self.t0, 1)
            s["loadavg"] = round(os.getloadavg()[0], 2)
            self.samples.append(s)

    def stop(self):
        self.halt.set()
        self.join(STATS_TIMEOUT_S + 10)


# ---------------------------------------------------------------- wrk

def client_args(kind: str, warmup: bool = False) -> list[str]:
    conns, warm_conns, extra = CLIENTS[kind]
    return ["-t1", f"-c{warm_conns if warmup else conns}", *extra]


def wrk_command(kind: str, url: str, seconds: int, body_file: Path,
                warmup: bool = False) -> list[str]:
    return checked_wrk_command(client_args(kind, warmup), url, seconds, body_file,
                               WRK_TIMEOUT_S)


def run_leg(url: str, seconds: int, body_file: Path, wrap, warmup: bool = False) -> dict:
    """Both clients side by side for `seconds`; {kind: parsed result}."""
    procs = {k: subprocess.Popen(wrap(wrk_command(k, url, seconds, body_file, warmup)),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for k in CLIENTS}
    out = {}
    try:
        for kind, p in procs.items():
            try:
                text, _ = p.communicate(timeout=seconds + LEG_GRACE_S)
            except subprocess.TimeoutExpired:
                raise SoakError(f"wrk ({kind}) still running {LEG_GRACE_S} s after its "
                                f"{seconds} s leg: the server stalled")
            out[kind] = parse_leg(text)
            if out[kind].get("requests") is None:
                out[kind]["output"] = text.strip()[-300:]
    finally:
        for p in procs.values():          # after a stall or --minutes: no wrk left behind
            if p.poll() is None:
                p.kill()
                p.communicate()
    return out


def add_leg(totals: dict, leg: dict):
    for kind, r in leg.items():
        t = totals.setdefault(kind, {"requests": 0, "duration_s": 0.0, "socket_errors": 0,
                                     "non_2xx": 0, "bad_status": 0, "bad_body": 0, "legs": 0})
        t["requests"] += r.get("requests") or 0
        t["duration_s"] += r.get("duration_s") or 0.0
        t["socket_errors"] += r.get("errors") or 0
        for k in ("non_2xx", "bad_status", "bad_body"):
            t[k] += r.get(k) or 0
        t["legs"] += 1


# ---------------------------------------------------------------- verdict

def trend(values: list[int]) -> dict:
    """First and last quarter maxima of bytes in use under load; `grew` when the last
    exceeds the first by more than the slack (None: too few samples to judge)."""
    if len(values) < TREND_MIN_SAMPLES:
        return {"samples": len(values), "grew": None}
    q = len(values) // 4
    first, last = max(values[:q]), max(values[-q:])
    slack = max(TREND_SLACK_BYTES, int(first * TREND_SLACK_FRACTION))
    return {"samples": len(values), "first_quarter_max": first, "last_quarter_max": last,
            "slack": slack, "grew": last > first + slack}


def memory_failures(start: dict, end: dict, load: list[dict]) -> list[str]:
    """Memory that did not come back after the settle, or grew under load."""
    fails = []
    for key, want in comparable(start).items():
        got = end.get(key)
        if got != want:
            fails.append(f"{key} {got} after the settle, {want} before the load")
    t = trend([s["bytes_in_use"] for s in load])
    if t["grew"]:
        fails.append(f"bytes in use grew under load: last quarter max {t['last_quarter_max']}, "
                     f"first quarter max {t['first_quarter_max']} (slack {t['slack']})")
    return fails


def apply_fake_leak(samples: list[dict], end: dict, per_sample: int):
    """--fake-leak: adds per_sample bytes per sample to bytes in use (a harness self-check)."""
    for i, s in enumerate(samples, 1):
        s["bytes_in_use"] += i * per_sample
    end["bytes_in_use"] += (len(samples) + 1) * per_sample


# ---------------------------------------------------------------- the run

def boot(proj_dir: Path, net, url: str) -> tuple[Guest, dict]:
    serial = CACHE / "serial.log"
    guest = Guest(guest_command(proj_dir, net), serial, serial_to_stdout=True)
    while time.monotonic() - guest.started < BOOT_TIMEOUT_S and guest.alive():
        s = read_stats(url, net.wrap)
        if s is not None:
            return guest, s
        time.sleep(0.2)
    guest.stop()
    raise SoakError(f"no answer on /_unicycle/stats within {BOOT_TIMEOUT_S} s of boot "
                    f"(console: {serial}):\n" + guest.console()[-600:])


def load(args, url: str, wrap, body_file: Path, deadline: float, doc: dict):
    """Legs until --requests responses or an error; fills doc['clients'], doc['failures']."""
    totals, legs = doc["clients"], doc["legs"]
    while sum(t["requests"] for t in totals.values()) < args.requests:
        seconds = int(min(args.leg, deadline - time.monotonic()))
        if seconds < 1:
            doc["failures"].append(f"only {sum(t['requests'] for t in totals.values()):,} of "
                                   f"{args.requests:,} requests within --minutes {args.minutes:g}")
            return
        began = time.monotonic()
        leg = run_leg(url, seconds, body_file, wrap)
        add_leg(totals, leg)
        legs.append({k: {f: v.get(f) for f in ("requests", "duration_s", "rps", "errors",
                                                "non_2xx", "bad_status", "bad_body")}
                     for k, v in leg.items()})
        legs[-1]["wall_s"] = round(time.monotonic() - began, 1)
        errs = [f"{kind}: {e}" for kind, r in leg.items() for e in leg_errors(r)]
        if legs[-1]["wall_s"] > seconds + LEG_STALL_S:
            errs.append(f"the {seconds} s leg took {legs[-1]['wall_s']:g} s: no response for "
                        f"over {LEG_STALL_S} s (a stall)")
        done = sum(t["requests"] for t in totals.values())
        log(f"soak: leg {len(legs)} ({legs[-1]['wall_s']:g} s): {done:,} requests so far; "
            + ", ".join(f"{k} {v.get('rps') or 0:,.0f} req/s" for k, v in leg.items())
            + (f"; ERRORS: {'; '.join(errs)}" if errs else ""))
        if errs:
            doc["failures"].extend(f"leg {len(legs)}, {e}" for e in errs)
            return


def soak(args, proj_dir: Path, net, doc: dict, deadline: float):
    host = net.address(NETNS_GUEST)
    url = f"http://{host}/"
    body_file = CACHE / "expected-body"
    body_file.write_bytes(args.expect_body.encode() if args.expect_body is not None else PAGE)
    guest, doc["memory"]["boot"] = boot(proj_dir, net, url)
    try:
        log(f"soak: http-hello up at {host}; warm-up {args.warmup} s")
        warm = run_leg(url, args.warmup, body_file, net.wrap, warmup=True)
        errs = [f"warm-up, {k}: {e}" for k, r in warm.items() for e in leg_errors(r)]
        if errs:
            doc["failures"].extend(errs)
            return
        start, waited, ok = settle(url, net.wrap, settled_start(doc["memory"]["boot"]),
                                   args.settle, doc["memory"].setdefault("start_settle", []))
        doc["memory"]["start"], doc["memory"]["start_settle_s"] = start, waited
        if not ok:
            doc["failures"].append(f"lwIP's pools not back to their boot values "
                                   f"{args.settle:g} s after the warm-up: {pools(start)}, "
                                   f"at boot {pools(doc['memory']['boot'])}")
            return
        t0 = time.monotonic()
        sampler = Sampler(url, net.wrap, args.sample_every, t0)
        sampler.start()
        try:
            load(args, url, net.wrap, body_file, deadline - args.settle - LEG_GRACE_S, doc)
        finally:
            sampler.stop()
            doc["load_s"] = round(time.monotonic() - t0, 1)
        samples = doc["memory"]["samples"] = sampler.samples
        if sampler.misses:
            doc["failures"].append(f"{sampler.misses} stats requests unanswered within "
                                   f"{STATS_TIMEOUT_S} s under load (a stall)")
        end, waited, _ = settle(url, net.wrap, back_to(start), args.settle,
                                doc["memory"].setdefault("end_settle", []))
        if args.fake_leak:
            apply_fake_leak(samples, end, args.fake_leak)
        doc["memory"]["end"], doc["memory"]["end_settle_s"] = end, waited
        doc["memory"]["peak_bytes"] = end["peak_bytes"]
        doc["memory"]["load_max_bytes_in_use"] = max((s["bytes_in_use"] for s in samples),
                                                     default=None)
        doc["memory"]["trend"] = trend([s["bytes_in_use"] for s in samples])
        doc["failures"].extend(memory_failures(start, end, samples))
        final_check(url, net.wrap, guest, doc)
    finally:
        guest.stop()


def final_check(url: str, wrap, guest: Guest, doc: dict):
    """After it all: the guest still alive, GET / still the page, no panic on the console."""
    r = subprocess.run(wrap(["curl", "-sS", "--max-time", "5", url]), capture_output=True,
                       timeout=15)
    if r.stdout != PAGE:
        doc["failures"].append(f"GET / after the soak: {r.stdout[:80]!r} {r.stderr[-120:]!r}")
    console = guest.console()
    if not guest.alive() or "PANIC" in console:
        doc["failures"].append("the guest stopped or panicked; console tail:\n"
                               + console[-600:])


# ---------------------------------------------------------------- report

def summary(doc: dict) -> str:
    lines = [f"soak: {doc['requests']:,} requests in {doc.get('load_s', 0):g} s of load, "
             f"{doc['errors']} errors"]
    for kind, t in doc["clients"].items():
        lines.append(f"  {kind:<10} {t['requests']:>11,} requests  {t['rps']:>9,.0f} req/s  "
                     f"{t['errors']} errors  ({' '.join(client_args(kind))})")
    m = doc["memory"]
    if "start" in m and "end" in m:
        lines.append(f"  bytes in use: start {m['start']['bytes_in_use']:,}, max under load "
                     f"{m['load_max_bytes_in_use'] or 0:,}, end {m['end']['bytes_in_use']:,} "
                     f"(after {m['end_settle_s']:g} s); peak_bytes {m['peak_bytes']:,}; "
                     f"{len(m['samples'])} samples")
        names = [k for k in LWIP_POOLS if k in m["start"]]
        if names:
            lines.append("  lwIP in use start/end: " + ", ".join(
                f"{k} {m['start'][k]}/{m['end'].get(k)}" for k in names))
        t = m["trend"]
        lines.append("  trend: " + ("too few samples to judge" if t["grew"] is None else
                                    f"first quarter max {t['first_quarter_max']:,}, last "
                                    f"quarter max {t['last_quarter_max']:,}"))
    lines.append("soak: " + ("PASSED" if not doc["failures"] else
                             "FAILED:\n  " + "\n  ".join(doc["failures"])))
    return "\n".join(lines)


def finish(doc: dict, out: Path):
    for t in doc["clients"].values():
        t["errors"] = t["socket_errors"] + t["non_2xx"] + t["bad_status"] + t["bad_body"]
        t["duration_s"] = round(t["duration_s"], 2)
        t["rps"] = round(t["requests"] / t["duration_s"], 1) if t["duration_s"] else 0.0
    doc["requests"] = sum(t["requests"] for t in doc["clients"].values())
    doc["errors"] = sum(t["errors"] for t in doc["clients"].values())
    doc["duration_s"] = round(time.monotonic() - doc.pop("_t0"), 1)
    doc["loadavg_at_end"] = os.getloadavg()
    doc["passed"] = not doc["failures"]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    log(summary(doc))
    log(f"soak: results in {out.relative_to(REPO) if out.is_relative_to(REPO) else out}")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=1_000_000,
                   help="responses to read after the warm-up, both clients together (1000000)")
    p.add_argument("--minutes", type=float, default=20.0,
                   help="hard bound on the whole run, boot to verdict (20)")
    p.add_argument("--leg", type=int, default=30, help="seconds per wrk run (30)")
    p.add_argument("--warmup", type=int, default=3, help="seconds of load before the start "
                   "sample (3)")
    p.add_argument("--sample-every", type=float, default=2.0,
                   help="seconds between stats samples under load (2)")
    p.add_argument("--settle", type=float, default=60.0,
                   help="longest wait for memory to come back after the load (60)")
    p.add_argument("--no-build", action="store_true", help="boot the previous soak build")
    p.add_argument("--out", type=Path, default=RESULTS / "soak.json")
    p.add_argument("--expect-body", metavar="TEXT",
                   help="harness self-check: expect this body instead of the page (must fail)")
    p.add_argument("--fake-leak", type=int, default=0, metavar="BYTES",
                   help="harness self-check: add BYTES per sample to bytes in use (must fail)")
    args = p.parse_args(argv)
    for name in ("requests", "leg", "warmup"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1")
    for name in ("minutes", "sample_every", "settle"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    if args.fake_leak < 0:
        p.error("--fake-leak must not be negative")
    return args


def _overrun(signum, frame):
    raise Overrun()


def main(argv=None):
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("soak: needs root (a network namespace with a tap device; see bench/netns.py)")
    ensure_packages(["wrk", "curl", "qemu-system-x86", "iproute2"])
    CACHE.mkdir(parents=True, exist_ok=True)
    proj_dir = build(args.no_build)
    doc = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": machine(), "_t0": time.monotonic(),
           "config": {"requests": args.requests, "minutes": args.minutes, "leg_s": args.leg,
                      "warmup_s": args.warmup, "sample_every_s": args.sample_every,
                      "settle_s": args.settle, "build": " ".join(BUILD_SETS),
                      "clients": {k: " ".join(client_args(k)) for k in CLIENTS},
                      "warmup_clients": {k: " ".join(client_args(k, warmup=True))
                                         for k in CLIENTS},
                      "wrk_timeout_s": WRK_TIMEOUT_S,
                      "qemu": "tcg, q35, -cpu max, 512 MiB, 1 CPU, virtio-net-pci, direct boot",
                      "network": f"tap on a bridge in netns {NETNS_NAME}",
                      "self_check": {"expect_body": args.expect_body,
                                     "fake_leak": args.fake_leak}},
           "clients": {}, "legs": [], "memory": {}, "failures": []}
    deadline = time.monotonic() + args.minutes * 60
    signal.signal(signal.SIGALRM, _overrun)
    signal.alarm(int(args.minutes * 60) + 1)
    try:
        with netns.Netns(NETNS_NAME) as net:
            soak(args, proj_dir, net, doc, deadline)
    except SoakError as e:
        doc["failures"].append(str(e))
    except Overrun:
        doc["failures"].append(f"the run passed its hard bound of --minutes {args.minutes:g}")
    finally:
        signal.alarm(0)
    finish(doc, args.out)
    return 1 if doc["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
