"""`make bench-http`: examples/http-hello against the best Linux + nginx VM under the same QEMU.

Both guests get the same QEMU (TCG, -cpu max, 512 MiB, 1 CPU) on a tap device in
the network namespace `ucbench` (bench/netns.py; root): QEMU's user-net hostfwd
listens with a backlog of 1, which open-loop load and new connections overflow.
Every response is checked (status 200 and the exact 48-byte page): wrk runs
bench/soak.lua, the open-loop generator and ab compare the body themselves.

Phase 1, variants: every Linux configuration of bench/linuxvm.py and every
unicycle variant (UNICYCLE_VARIANTS) is booted once and measured with wrk -c1,
wrk -c80 and a short open-loop probe. The best of each side (highest req/s at
c80, lowest probe p99) goes on to

Phase 2, headline: --rounds rounds, alternating the sides, each boot measured
with wrk -c1 and -c80 (closed loop), an open-loop sweep over --rates (latency
from each request's intended send time; bench/openloop.py), ab -c1 (a new
connection per request) and memory in use.

Results: bench/results/http.json (every figure of every boot, the summary, the
unicycle/Linux comparison and the goals); bench/report.py turns it and the
other benchmarks' results into bench/results/latest.json, pictures and the
README's table. Exit status 1 if a guest did not come up or a response was wrong.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "unicycle-cli"))
import connrate  # noqa: E402
import linuxvm  # noqa: E402
import netns  # noqa: E402
import openloop  # noqa: E402
from common import (REPO, RESULTS, Guest, build_static_copy, ensure_packages,  # noqa: E402
                    first_response, last_line, log, machine, run_checked_wrk, stats,
                    wait_quiet)

APP_DIR = REPO / "examples" / "http-hello"
CACHE = REPO / ".cache" / "bench"
PAGE = linuxvm.PAGE
CLOSED = {"c1": ["-t1", "-c1"], "c80": ["-t2", "-c80"]}
PROBE_RATE = 1000                 # phase 1's open-loop probe: req/s ...
PROBE_SECONDS = 3                 # ... for this long
OPENLOOP_CONNECTIONS = 64
AB_REQUESTS = 2000
P99_LIMIT_MS = openloop.SUSTAINED_P99_US / 1e3   # "sustains a rate": kept up, no errors, p99 < this
DEFAULT_RATES = "500,1000,2000,4000,8000,16000"

# Our side gets the same freedom as Linux's: each variant is a build (Kconfig
# settings) and a NIC. Every build has HTTP_STATS (GET /_unicycle/stats, for memory).
UNICYCLE_VARIANTS = {
    "poll": {"sets": [], "nic": "virtio-net",
             "why": "the default: the event loop busy-polls the NIC (CONFIG_POLL=y)"},
    "nopoll": {"sets": ["POLL=n"], "nic": "virtio-net",
               "why": "halts when idle and wakes on the timer/NIC, as the Linux guest does"},
    "e1000e": {"sets": [], "nic": "e1000e",
               "why": "the Intel e1000e NIC instead of virtio-net (the second NIC profile)"},
}

# The figures compared, per side's best headline guest: (key, label, better, goal).
# better: "high" or "low"; goal: the unicycle/Linux ratio the issue asks for, or None.
ROWS = [
    ("c80_rps", "req/s at saturation (wrk -c80, keep-alive)", "high", 3.0),
    ("c1_rps", "req/s, one connection (wrk -c1)", "high", None),
    ("c1_p99_ms", "p99 latency, one connection [ms]", "low", 1 / 3),
    ("c1_mean_ms", "mean latency, one connection [ms]", "low", None),
    ("c80_p99_ms", "p99 latency at saturation [ms]", "low", None),
    ("ab_rps", "req/s, new connection per request (ab -c1)", "high", None),
    ("sustained_rate", f"highest open-loop rate with p99 < {P99_LIMIT_MS:g} ms [req/s]",
     "high", None),
    ("mem_kib", "memory in use [KiB]", "low", 1 / 10),
]
OPENLOOP_FIGURES = ("mean", "p50", "p90", "p99", "p999", "max")


class BenchError(Exception):
    """The run cannot go on (a build failed, a tool is missing): one line to the user."""


# ---------------------------------------------------------------- the guests

def unicycle_builds(variants: list[str], no_build: bool) -> dict:
    """{variant: project dir}: one copy of http-hello per distinct set of Kconfig settings,
    with a static address for the tap, built for direct boot (no firmware: boot time is
    bench/boot.py's business)."""
    dirs = {}
    for name in variants:
        sets = ["HTTP_STATS=y", *UNICYCLE_VARIANTS[name]["sets"]]
        d = CACHE / ("uc-" + ("-".join(s.lower().replace("=", "") for s in sets[1:]) or "default"))
        dirs[name] = d
        if no_build or any(v == d for k, v in dirs.items() if k != name):
            continue
        log(f"bench: building http-hello ({name}: {' '.join(sets)})")
        r = build_static_copy(APP_DIR, d, f"{netns.Netns.address('unicycle')}/{netns.PREFIX}",
                              netns.BRIDGE_ADDR, sets)
        if r.returncode != 0:
            raise BenchError(f"unicycle build for variant {name} failed: {last_line(r)}")
    for name, d in dirs.items():
        if not app_elf(d).is_file():
            raise BenchError(f"{app_elf(d)} is missing; run without --no-build")
    return dirs


def app_elf(proj_dir: Path) -> Path:
    from unicycle import build as build_mod
    return build_mod.open_project(proj_dir).build_dir / "app.elf"


def unicycle_command(proj_dir: Path, variant: str, net) -> list[str]:
    from unicycle import build as build_mod, qemu
    proj = build_mod.open_project(proj_dir)
    spec = qemu.spec_for(proj, boot="direct", netdev=net.netdev("unicycle"),
                         nic=qemu.NICS[UNICYCLE_VARIANTS[variant]["nic"]])
    return qemu.command(spec)


def linux_command(vm: dict, variant: str, serial: Path, net) -> list[str]:
    return linuxvm.variant_command(vm, variant, net.netdev("linux"), serial,
                                   address=f"{net.address('linux')}/{netns.PREFIX}",
                                   gateway=netns.BRIDGE_ADDR)


# ---------------------------------------------------------------- memory

def image_memsz(elf: Path) -> int:
    """Bytes the app's PT_LOAD segments occupy in RAM (text, data, bss incl. lwIP's pools)."""
    out = subprocess.run(["readelf", "-lW", str(elf)], capture_output=True, text=True).stdout
    return sum(int(l.split()[5], 16) for l in out.splitlines() if l.strip().startswith("LOAD"))


def unicycle_memory(url: str, wrap, elf: Path) -> dict:
    """Pages taken from the page allocator (heap, driver rings) plus the loaded image,
    from GET /_unicycle/stats (CONFIG_HTTP_STATS) after the load."""
    r = subprocess.run(wrap(["curl", "-sS", "--max-time", "5", url + "_unicycle/stats"]),
                       capture_output=True, text=True)
    try:
        mem = json.loads(r.stdout)["mem"]
    except (ValueError, KeyError):
        return {"in_use_kib": None, "note": "no /_unicycle/stats answer"}
    pages = mem["pages_total"] - mem["pages_free"]
    return {"in_use_kib": (pages * 4096 + image_memsz(elf)) // 1024,
            "managed_kib": mem["pages_total"] * 4, "heap_bytes_in_use": mem["bytes_in_use"],
            "note": "pages taken from the page allocator + app.elf PT_LOAD memsz"}


def linux_memory(host: str, wrap) -> dict:
    """MemTotal - MemAvailable, read on demand from the VM's stats CGI after the load."""
    try:
        info = linuxvm.fetch_stats(linuxvm.stats_url(host), wrap)
    except linuxvm.StatsError as e:
        return {"in_use_kib": None, "note": str(e)}
    return {"in_use_kib": info["MemTotal"] - info["MemAvailable"],
            "managed_kib": info["MemTotal"], "tcp": {k: v for k, v in info.items()
                                                     if k.startswith(("Tcp.", "TcpExt."))},
            "note": "MemTotal - MemAvailable after the load (/proc/meminfo)"}


# ---------------------------------------------------------------- ab

def run_ab(url: str, requests: int, wrap) -> dict:
    """ab -c1: a new TCP connection for every request (bench/connrate.py's run and checks)."""
    res = connrate.run_ab(url, requests, 120, wrap)
    res["problems"] = [res.pop("error")] if "error" in res else []
    return res


# ---------------------------------------------------------------- one boot

def openloop_point(url: str, rate: int, seconds: float, wrap, warmup: float) -> dict:
    try:
        res = openloop.run(url, rate, seconds, connections=OPENLOOP_CONNECTIONS,
                           warmup=warmup, body=PAGE, wrap=wrap([]))
    except openloop.OpenloopError as e:
        return {"rate": rate, "error": str(e), "kept_up": False, "sustained": False,
                "problems": [str(e)]}
    res["sustained"] = openloop.sustained(res)
    res["problems"] = point_problems(res)
    return res


# A wrong answer is a failure at any rate. Timeouts, refused connects and closed
# connections are what a guest sent more than it can serve does: that point is not
# sustained (openloop.sustained needs 0 errors), and the run goes on.
WRONG_ANSWERS = ("bad_status", "bad_body", "protocol")


def point_problems(res: dict) -> list[str]:
    errs = res["errors"]
    wrong = {k: errs.get(k, 0) for k in WRONG_ANSWERS if errs.get(k)}
    return [f"{sum(wrong.values())} wrong answers ({wrong})"] if wrong else []


def sweep(url: str, rates: list[int], seconds: float, wrap, warmup: float) -> list[dict]:
    """Open-loop points at ascending rates; stops after two rates in a row not kept up."""
    out, misses = [], 0
    for rate in rates:
        res = openloop_point(url, rate, seconds, wrap, warmup)
        out.append(res)
        lat = res.get("latency_us", {})
        log(f"    open loop {rate:>6} req/s: "
            + (f"p50 {lat['p50'] / 1e3:.2f} p99 {lat['p99'] / 1e3:.2f} "
               f"max {lat['max'] / 1e3:.1f} ms, {'kept up' if res['kept_up'] else 'fell behind'}"
               if lat else res.get("error", "failed")))
        misses = 0 if res["kept_up"] else misses + 1
        if misses == 2:
            break
    return out


def measure(side: str, variant: str, cmd: list[str], host: str, wrap, args,
            phase: str) -> dict:
    """Boots one guest, runs the phase's loads, stops it. Every response checked."""
    url = f"http://{host}/"
    serial = CACHE / f"{side}-{variant}.serial.log"
    res = {"side": side, "variant": variant, "phase": phase, "loads": {}, "problems": []}
    with Guest(wrap(cmd), serial, serial_to_stdout=side == "unicycle") as guest:
        res["boot_s"] = first_response(guest, url, len(PAGE), args.boot_timeout, wrap)
        if res["boot_s"] is None:
            res["problems"].append(
                f"{side} ({variant}) did not answer GET / with the {len(PAGE)}-byte page within "
                f"{args.boot_timeout:g} s" + ("" if guest.alive() else " (QEMU exited)")
                + f"; console in {serial}")
            res["console_tail"] = guest.console()[-600:]
            return res
        run_checked_wrk(CLOSED["c1"], url, args.warmup, args.body_file, wrap)
        for load, client in CLOSED.items():
            res["loads"][load] = r = run_checked_wrk(client, url, args.duration,
                                                     args.body_file, wrap)
            res["problems"] += [f"wrk {load}: {p}" for p in r["problems"]]
        if phase == "variants":
            res["probe"] = p = openloop_point(url, PROBE_RATE, PROBE_SECONDS, wrap, 1)
            res["problems"] += [f"open loop {PROBE_RATE}: {x}" for x in p["problems"]]
        else:
            res["openloop"] = sweep(url, args.rates, args.openloop_duration, wrap, args.warmup)
            res["problems"] += [f"open loop {p['rate']}: {x}" for p in res["openloop"]
                                for x in p["problems"]]
            res["ab"] = a = run_ab(url, AB_REQUESTS, wrap)
            res["problems"] += [f"ab -c1: {x}" for x in a["problems"]]
        res["memory"] = (unicycle_memory(url, wrap, args.elves[variant]) if side == "unicycle"
                         else linux_memory(host, wrap))
    return res


def describe(res) -> str:
    if res["boot_s"] is None:
        return "FAILED: " + res["problems"][0]
    parts = [f"up after {res['boot_s']:.2f} s"]
    for load, r in res["loads"].items():
        if r.get("rps") is not None:
            parts.append(f"{load} {r['rps']:,.0f} req/s p99 {r['p99_ms']:.2f} ms")
    if (p := res.get("probe")) and p.get("latency_us"):
        parts.append(f"open loop {PROBE_RATE}/s p99 {p['latency_us']['p99'] / 1e3:.2f} ms")
    if (a := res.get("ab")) and a.get("rps"):
        parts.append(f"ab -c1 {a['rps']:,.0f} req/s")
    if (m := res.get("memory")) and m.get("in_use_kib"):
        parts.append(f"memory {m['in_use_kib']:,} KiB")
    if res["problems"]:
        parts.append("PROBLEMS: " + "; ".join(res["problems"]))
    return ", ".join(parts)


# ---------------------------------------------------------------- choosing and summing

def figure(res: dict, key: str):
    """One boot's value for a ROWS key (None: not measured)."""
    if key == "mem_kib":
        return res.get("memory", {}).get("in_use_kib")
    if key == "ab_rps":
        return res.get("ab", {}).get("rps")
    if key == "probe_p99_ms":
        p = res.get("probe", {}).get("latency_us")
        return p["p99"] / 1e3 if p else None
    if key == "sustained_rate":
        ok = [p["rate"] for p in res.get("openloop", []) if p.get("sustained")]
        return max(ok) if ok else None
    load, _, name = key.partition("_")
    return res.get("loads", {}).get(load, {}).get(name)


def best(results: list[dict]) -> dict:
    """Per side, the variants for the headline: the highest req/s at c80 and the lowest
    open-loop probe p99 (one or two variants per side)."""
    chosen = {}
    for side in ("unicycle", "linux"):
        ok = [r for r in results if r["side"] == side and r["boot_s"] is not None]
        picks = []
        tput = [r for r in ok if figure(r, "c80_rps") is not None]
        lat = [r for r in ok if figure(r, "probe_p99_ms") is not None]
        if tput:
            picks.append(max(tput, key=lambda r: figure(r, "c80_rps"))["variant"])
        if lat:
            picks.append(min(lat, key=lambda r: figure(r, "probe_p99_ms"))["variant"])
        chosen[side] = list(dict.fromkeys(picks))
    return chosen


def summarize(boots: list[dict]) -> dict:
    """{"side:variant": figures over the headline boots}: stats per ROWS key and, per
    open-loop rate, the mean of each percentile and whether every round kept up."""
    out = {}
    for key in dict.fromkeys(f"{r['side']}:{r['variant']}" for r in boots):
        runs = [r for r in boots if f"{r['side']}:{r['variant']}" == key]
        s = {k: stats([figure(r, k) for r in runs]) for k, *_ in ROWS}
        s["boots"] = len(runs)
        s["failed_boots"] = sum(r["boot_s"] is None for r in runs)
        rates = sorted({p["rate"] for r in runs for p in r.get("openloop", [])})
        s["openloop"] = []
        for rate in rates:
            pts = [p for r in runs for p in r.get("openloop", []) if p["rate"] == rate]
            pt = {"rate": rate, "rounds": len(pts),
                  "kept_up_all_rounds": len(pts) == len(runs) and all(p["kept_up"] for p in pts),
                  "sustained_all_rounds": len(pts) == len(runs) and all(p["sustained"]
                                                                        for p in pts)}
            for f in OPENLOOP_FIGURES:
                st = stats([p["latency_us"][f] / 1e3 for p in pts if p.get("latency_us")])
                pt[f"{f}_ms"] = st["mean"] if st else None
            pt["achieved_rps"] = (stats([p.get("achieved_rate") for p in pts]) or {}).get("mean")
            curves = [p["percentiles"] for p in pts if p.get("percentiles")]
            pt["percentiles"] = _mean_curve(curves)
            s["openloop"].append(pt)
        out[key] = s
    return out


def _mean_curve(curves: list[list]) -> list:
    """The point-wise mean of percentile curves ([[percentile, us], ...]) on the same grid."""
    if not curves:
        return []
    grid = [p for p, _ in curves[0]]
    same = [c for c in curves if [p for p, _ in c] == grid]
    return [[p, sum(c[i][1] for c in same) / len(same)] for i, p in enumerate(grid)]


def _side_best(summary: dict, side: str, key: str, better: str):
    """(value, variant) of the side's best headline guest for one figure."""
    vals = [(s[key]["mean"], k.split(":", 1)[1]) for k, s in summary.items()
            if k.startswith(side + ":") and s.get(key)]
    if not vals:
        return None, None
    return (max if better == "high" else min)(vals, key=lambda v: v[0])


def comparison(summary: dict) -> dict:
    """Each side's best per figure, the unicycle/Linux ratio, and the open-loop rows at
    the highest rate both sides kept up with in every round (the common rate)."""
    rows = []
    for key, label, better, goal in ROWS:
        (u, uv), (l, lv) = (_side_best(summary, s, key, better) for s in ("unicycle", "linux"))
        rows.append({"key": key, "label": label, "better": better, "unicycle": u,
                     "unicycle_variant": uv, "linux": l, "linux_variant": lv,
                     "ratio": u / l if u is not None and l else None, "goal": goal})
    kept = {}
    for side in ("unicycle", "linux"):
        kept[side] = {p["rate"]: (k, p) for k, s in summary.items() if k.startswith(side + ":")
                      for p in s["openloop"] if p["kept_up_all_rounds"]}
    common = sorted(set(kept["unicycle"]) & set(kept["linux"]))
    at = {}
    for rate in common:
        for f in OPENLOOP_FIGURES:
            (uk, up), (lk, lp) = kept["unicycle"][rate], kept["linux"][rate]
            u, lx = up[f"{f}_ms"], lp[f"{f}_ms"]
            at.setdefault(rate, []).append({
                "key": f"openloop_{rate}_{f}", "label": f"open loop {rate:,} req/s: {f} [ms]",
                "better": "low", "unicycle": u, "unicycle_variant": uk.split(":")[1],
                "linux": lx, "linux_variant": lk.split(":")[1],
                "ratio": u / lx if u is not None and lx else None,
                "goal": 1 / 3 if f == "p99" else None})
    common_rate = common[-1] if common else None
    return {"rows": rows + (at[common_rate] if common_rate else []), "common_rate": common_rate,
            "per_rate": {str(r): v for r, v in at.items()}}


def goals(comp: dict) -> list[dict]:
    """The issue's goal figures, each met or not (None: not measured)."""
    out = []
    for row in comp["rows"]:
        if row["goal"] is None:
            continue
        r, g = row["ratio"], row["goal"]
        met = None if r is None else (r >= g if row["better"] == "high" else r <= g)
        out.append({"figure": row["label"], "ratio": r,
                    "goal": (f">= {g:g}x Linux" if row["better"] == "high"
                             else f"<= 1/{round(1 / g)} of Linux"), "met": met})
    if comp["common_rate"] is None:
        out.append({"figure": "open-loop p99 at a common rate", "ratio": None,
                    "goal": "<= 1/3 of Linux", "met": None,
                    "note": "no rate that both sides kept up with in every round"})
    return out


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2, help="headline rounds (each boots "
                   "every chosen guest once)")
    p.add_argument("--duration", type=int, default=6, help="seconds per closed-loop wrk run")
    p.add_argument("--openloop-duration", type=float, default=4.0,
                   help="seconds per open-loop rate")
    p.add_argument("--rates", default=DEFAULT_RATES, help="open-loop rates, req/s, comma-separated")
    p.add_argument("--warmup", type=int, default=2, help="seconds of unrecorded load after boot")
    p.add_argument("--boot-timeout", type=float, default=60.0)
    p.add_argument("--wait-idle", type=float, default=10.0,
                   help="wait up to S seconds before each boot for other host load to settle")
    p.add_argument("--no-build", action="store_true", help="reuse the built http-hello copies")
    p.add_argument("--linux-variants", default=",".join(linuxvm.LINUX_VARIANTS),
                   help="Linux configurations for phase 1 (bench/linuxvm.py)")
    p.add_argument("--unicycle-variants", default=",".join(UNICYCLE_VARIANTS))
    p.add_argument("--out", type=Path, default=RESULTS / "http.json")
    args = p.parse_args(argv)
    try:
        args.rates = sorted({int(r) for r in args.rates.split(",")})
    except ValueError:
        p.error(f"--rates: not a comma-separated list of integers: {args.rates!r}")
    if any(r <= 0 for r in args.rates):
        p.error("--rates: every rate must be positive")
    for opt, table in (("linux_variants", linuxvm.LINUX_VARIANTS),
                       ("unicycle_variants", UNICYCLE_VARIANTS)):
        names = [n for n in getattr(args, opt).split(",") if n]
        unknown = [n for n in names if n not in table]
        if unknown or not names:
            p.error(f"--{opt.replace('_', '-')}: unknown variant {', '.join(unknown) or '(none)'}"
                    f"; known: {', '.join(table)}")
        setattr(args, opt, names)
    if args.rounds < 1 or args.duration < 1:
        p.error("--rounds and --duration must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it makes the network namespace ucbench with tap devices)")
    ensure_packages(["wrk", "curl", "qemu-system-x86", "iproute2", "apache2-utils", "gcc"])
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        doc = run(args)
    except (BenchError, openloop.OpenloopError, ValueError) as e:
        sys.exit(f"bench: {e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    log("\n" + table(doc))
    log(f"\nbench: results in {args.out}")
    if doc["problems"]:
        log("bench: FAILED:\n  " + "\n  ".join(doc["problems"]))
        return 1
    return 0


def run(args) -> dict:
    info = machine()
    dirs = unicycle_builds(args.unicycle_variants, args.no_build)
    args.elves = {v: app_elf(d) for v, d in dirs.items()}
    vm = linuxvm.build(CACHE / "linux", log)
    openloop.build()
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    args.body_file = tmp / "page.html"
    args.body_file.write_bytes(PAGE)
    boots = []

    def boot(side, variant, phase, net):
        busy = wait_quiet(args.wait_idle)
        if side == "unicycle":
            cmd = unicycle_command(dirs[variant], variant, net)
        else:
            cmd = linux_command(vm, variant, CACHE / f"linux-{variant}.serial.log", net)
        log(f"bench: {phase}: {side} {variant}")
        res = measure(side, variant, cmd, net.address(side), net.wrap, args, phase)
        res["host_busy_before"] = round(busy, 3)
        log("  " + describe(res))
        boots.append(res)
        return res

    try:
        with netns.Netns() as net:
            for v in args.linux_variants:
                boot("linux", v, "variants", net)
            for v in args.unicycle_variants:
                boot("unicycle", v, "variants", net)
            chosen = best(boots)
            log(f"bench: headline guests: {chosen}")
            for n in range(1, args.rounds + 1):
                for side in ("unicycle", "linux"):
                    for v in chosen[side]:
                        boot(side, v, f"headline round {n}", net)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    head = [b for b in boots if b["phase"] != "variants"]
    summary = summarize(head)
    comp = comparison(summary)
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": info,
            "config": {"rounds": args.rounds, "duration_s": args.duration,
                       "openloop_duration_s": args.openloop_duration, "rates": args.rates,
                       "openloop_connections": OPENLOOP_CONNECTIONS, "warmup_s": args.warmup,
                       "probe": f"{PROBE_RATE} req/s for {PROBE_SECONDS} s",
                       "ab_requests": AB_REQUESTS,
                       "closed_loads": {k: " ".join(v) for k, v in CLOSED.items()},
                       "qemu": "tcg, -cpu max, 512 MiB, 1 CPU",
                       "network": f"tap devices on a bridge in netns {netns.NAME}"},
            "commands": {"bench": "bench/run.py " + " ".join(sys.argv[1:]),
                         "wrk": "wrk -t1 -c1 | -t2 -c80 -dDs --timeout 5s --latency "
                                "-s bench/soak.lua URL -- page.html",
                         "openloop": f"openloop --rate R --duration "
                                     f"{args.openloop_duration:g} --connections "
                                     f"{OPENLOOP_CONNECTIONS} --warmup {args.warmup}",
                         "ab": f"ab -q -c 1 -n {AB_REQUESTS} -s 5 URL"},
            "versions": {"openloop": "bench/openloop.c", "wrk": info.get("wrk"),
                         "ab": info.get("ab"), "qemu": info.get("qemu"),
                         "linux": vm.get("versions"), "nginx": linuxvm.nginx_version(vm)},
            "variants": {"unicycle": {v: UNICYCLE_VARIANTS[v] for v in args.unicycle_variants},
                         "linux": {v: linuxvm.settings(v) for v in args.linux_variants}},
            "chosen": chosen, "summary": summary, "comparison": comp, "goals": goals(comp),
            "boots": [{k: v for k, v in b.items() if k != "console_tail"} for b in boots],
            "problems": [p for b in boots for p in b["problems"]]}


def _cell(v, key):
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if key.endswith(("rps", "rate", "kib")) else f"{v:,.2f}"


def table(doc: dict) -> str:
    lines = [f"{'':<52}{'unicycle':>24}{'linux':>24}{'ratio':>8}"]
    for r in doc["comparison"]["rows"]:
        u = f"{_cell(r['unicycle'], r['key'])} ({r['unicycle_variant']})" if r["unicycle"] \
            is not None else "n/a"
        lx = f"{_cell(r['linux'], r['key'])} ({r['linux_variant']})" if r["linux"] \
            is not None else "n/a"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "n/a"
        lines.append(f"{r['label'][:51]:<52}{u:>24}{lx:>24}{ratio:>8}")
    lines.append("goals: " + "; ".join(
        f"{g['figure']}: {'met' if g['met'] else 'NOT met' if g['met'] is False else 'n/a'}"
        for g in doc["goals"]))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
