"""Where the time of an HTTP request goes, and what the TX doorbell cut bought.

Not part of `make test` (`make bench-profile`). Builds copies of
examples/http-hello under .cache/bench/profile/ in three variants:

  profiled   CONFIG_PROFILE=y, the default CONFIG_NET_TX_BATCH (one doorbell per poll)
  no-cut     CONFIG_PROFILE=y, CONFIG_NET_TX_BATCH=1 (a doorbell for every frame: before)
  plain      CONFIG_PROFILE=n: what the profile's own stamps cost

and, for --rounds rounds in turn, boots each directly (PVH) in QEMU on a tap device in
the network namespace `ucbench` (bench/netns.py; root, as for bench/run.py: QEMU's
user-net adds retransmission stalls of 0.2-1.7 s at 16 or more connections), and
for each load (wrk -t1 -c1, wrk -t2 -c32) zeroes the profile
(GET /_unicycle/profile?reset), runs checked wrk (every body compared) and reads the
profile back. Profile stages (runtime/kernel/profile.h) are each charged only their own
TSC cycles, so their times add up. Writes bench/results/profile.json and prints, per
variant and load, req/s and p99 and the stage table (runs per request, own ns per run
and per request, share). Run as root with the venv's Python: .venv/bin/python
bench/reqprofile.py
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "unicycle-cli"))
sys.path.insert(0, str(HERE))

import netns  # noqa: E402
from common import (Guest, build_static_copy, first_response, last_line, log,  # noqa: E402
                    machine, run_checked_wrk, wait_quiet)
from linuxvm import PAGE  # noqa: E402

APP = REPO / "examples" / "http-hello"
WORK = REPO / ".cache" / "bench" / "profile"
OUT = HERE / "results" / "profile.json"
LOADS = {"c1": ["-t1", "-c1"], "c32": ["-t2", "-c32"]}
VARIANTS = {
    "profiled": ["PROFILE=y"],
    "no-cut": ["PROFILE=y", "NET_TX_BATCH=1"],
    "plain": ["PROFILE=n"],
}
BOOT_TIMEOUT_S = 60
PROFILE_PATH = "/_unicycle/profile"


class BenchError(Exception):
    """One line for the user: what went wrong."""


def build(name: str, sets: list[str]) -> Path:
    """A fresh copy of http-hello in WORK/name, on the tap's address, built with `sets`."""
    dest = WORK / name
    r = build_static_copy(APP, dest, f"{netns.Netns.address('unicycle')}/{netns.PREFIX}",
                          netns.BRIDGE_ADDR, sets)
    if r.returncode != 0:
        raise BenchError(f"building {dest} ({' '.join(sets)}) failed: {last_line(r)}")
    return dest


def boot(app: Path, nic: str | None, net) -> Guest:
    from unicycle import build as build_mod, qemu
    proj = build_mod.open_project(app)
    spec = qemu.spec_for(proj, boot="direct", netdev=net.netdev("unicycle"),
                         nic=qemu.NICS[nic] if nic else None)
    return Guest(net.wrap(qemu.command(spec)), proj.build_dir / "serial-profile.log", True)


def get(url: str, wrap, timeout: float = 10) -> bytes:
    """The body of a 200 to GET url (curl, inside the namespace)."""
    cmd = wrap(["curl", "-sS", "--fail", "--max-time", str(timeout), url])
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        raise BenchError(f"GET {url}: no answer within {timeout:.0f} s")
    if r.returncode != 0:
        raise BenchError(f"GET {url}: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def read_profile(base: str, wrap) -> dict:
    raw = get(base + PROFILE_PATH, wrap)
    try:
        prof = json.loads(raw)
        prof["stages"], prof["requests"]
    except (ValueError, KeyError, TypeError):
        raise BenchError(f"{base}{PROFILE_PATH} answered no profile: {raw[:120]!r}")
    return prof


def summarise(raw: dict) -> dict:
    """The guest's profile -> {requests, profiled_ns_per_request, stages: {name: {...}}}."""
    requests = raw["requests"]
    total = sum(s["ns"] for s in raw["stages"].values()) or 1
    stages = {}
    for name, s in raw["stages"].items():
        stages[name] = {
            "count": s["count"],
            "per_request": round(s["count"] / requests, 3) if requests else None,
            "mean_ns": round(s["ns"] / s["count"]) if s["count"] else 0,   # per run
            "ns_per_request": round(s["ns"] / requests) if requests else None,
            "max_ns": s["max_ns"],
            "share": round(s["ns"] / total, 3),
        }
    return {"requests": requests,
            "profiled_ns_per_request": round(total / requests) if requests else None,
            "stages": stages}


def measure(guest: Guest, base: str, profiled: bool, duration: int, body: Path, wrap) -> dict:
    loads = {}
    for name, client in LOADS.items():
        if profiled:
            get(base + PROFILE_PATH + "?reset", wrap)
        w = run_checked_wrk(client, base + "/", duration, body, wrap)
        if w["problems"]:
            raise BenchError(f"wrk {' '.join(client)}: {'; '.join(w['problems'])}")
        load = {"rps": w["rps"], "p99_ms": w["p99_ms"], "mean_ms": w["mean_ms"],
                "requests": w["requests"]}
        if profiled:
            # The profile's own reads are requests too: one or two of many thousand.
            load["profile"] = summarise(read_profile(base, wrap))
        loads[name] = load
    if not guest.alive():
        raise BenchError(f"QEMU exited during the loads; see {guest.serial}")
    return loads


def merge(rounds: list[dict]) -> dict:
    """Rounds of {load: {...}} -> per load the median req/s and p99 and every round's."""
    out = {}
    for load in LOADS:
        runs = [r[load] for r in rounds]
        out[load] = {"rps": statistics.median(r["rps"] for r in runs),
                     "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                     "mean_ms": statistics.median(r["mean_ms"] for r in runs),
                     "rounds": runs}
        if "profile" in runs[-1]:
            out[load]["profile"] = runs[-1]["profile"]   # the last round's, whole
    return out


def table(variants: dict) -> str:
    lines = []
    for vname, v in variants.items():
        for load, m in v["loads"].items():
            lines.append(f"{vname} {load}: {m['rps']:,.0f} req/s, p99 {m['p99_ms']:.2f} ms "
                         f"(median of {len(m['rounds'])})")
            prof = m.get("profile")
            if not prof:
                continue
            lines.append(f"  {prof['profiled_ns_per_request']} ns profiled per request")
            lines.append(f"  {'stage':<13} {'runs/req':>9} {'ns/run':>9} {'ns/req':>9} "
                         f"{'max ns':>10} {'share':>6}")
            for stage, s in sorted(prof["stages"].items(), key=lambda kv: -kv[1]["share"]):
                lines.append(f"  {stage:<13} {s['per_request']:>9} {s['mean_ns']:>9} "
                             f"{s['ns_per_request']:>9} {s['max_ns']:>10} {s['share']:>6.1%}")
    return "\n".join(lines)


def cut_effect(variants: dict) -> dict:
    """The doorbell cut, before (no-cut) and after (profiled), per load."""
    out = {}
    for load in LOADS:
        before, after = variants["no-cut"]["loads"][load], variants["profiled"]["loads"][load]
        bd = before["profile"]["stages"]["tx_doorbell"]
        ad = after["profile"]["stages"]["tx_doorbell"]
        out[load] = {"rps_before": before["rps"], "rps_after": after["rps"],
                     "rps_ratio": round(after["rps"] / before["rps"], 3),
                     "p99_ms_before": before["p99_ms"], "p99_ms_after": after["p99_ms"],
                     "doorbells_per_request_before": bd["per_request"],
                     "doorbells_per_request_after": ad["per_request"],
                     "doorbell_ns_per_request_before": bd["ns_per_request"],
                     "doorbell_ns_per_request_after": ad["ns_per_request"]}
    plain, prof = variants["plain"]["loads"], variants["profiled"]["loads"]
    out["profile_overhead"] = {load: round(1 - prof[load]["rps"] / plain[load]["rps"], 3)
                               for load in LOADS}
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=5, help="seconds of wrk per load (1-120)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="rounds; each boots every variant once, in turn (1-10)")
    ap.add_argument("--nic", default=None, choices=("virtio-net-pci", "e1000e"),
                    help="QEMU NIC model (default: the board's)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"JSON results (default {OUT})")
    ap.add_argument("--no-build", action="store_true", help="use the copies built last time")
    args = ap.parse_args(argv)
    if not 1 <= args.duration <= 120:
        ap.error(f"--duration {args.duration}: must be 1..120 seconds")
    if not 1 <= args.rounds <= 10:
        ap.error(f"--rounds {args.rounds}: must be 1..10")
    return args


def run(args, body: Path) -> dict:
    apps = {}
    for name, sets in VARIANTS.items():
        if args.no_build and (WORK / name / "build").is_dir():
            apps[name] = WORK / name
            continue
        log(f"profile: building {name} ({' '.join(sets)})")
        apps[name] = build(name, sets)
    rounds = {name: [] for name in VARIANTS}
    base = f"http://{netns.Netns.address('unicycle')}"
    with netns.Netns() as net:
        for i in range(args.rounds):
            for name, sets in VARIANTS.items():
                wait_quiet(10)
                with boot(apps[name], args.nic, net) as guest:
                    if first_response(guest, base + "/", len(PAGE), BOOT_TIMEOUT_S,
                                      net.wrap) is None:
                        raise BenchError(f"{name} did not answer {base}/ within "
                                         f"{BOOT_TIMEOUT_S} s; see {guest.serial}")
                    log(f"profile: round {i + 1}/{args.rounds}, {name}")
                    rounds[name].append(measure(guest, base, "PROFILE=y" in sets,
                                                args.duration, body, net.wrap))
    variants = {name: {"sets": VARIANTS[name], "loads": merge(rounds[name])}
                for name in VARIANTS}
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "nic": args.nic or "board default", "duration_s": args.duration,
            "rounds": args.rounds, "machine": machine(),
            "network": f"tap devices on a bridge in netns {netns.NAME}",
            "commands": {load: f"ip netns exec {netns.NAME} wrk {' '.join(c)} "
                         f"-d{args.duration}s --latency -s bench/soak.lua {base}/"
                         for load, c in LOADS.items()},
            "variants": variants, "doorbell_cut": cut_effect(variants)}


def main(argv=None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("profile: run as root (it makes the network namespace ucbench with tap "
              "devices)", file=sys.stderr)
        return 1
    try:
        with tempfile.TemporaryDirectory() as tmp:
            body = Path(tmp) / "page.html"
            body.write_bytes(PAGE)
            result = run(args, body)
    except BenchError as e:
        print(f"profile: {e}", file=sys.stderr)
        return 1
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    except OSError as e:
        print(f"profile: cannot write {args.out}: {e.strerror}", file=sys.stderr)
        return 1
    print(table(result["variants"]))
    for load in LOADS:
        c = result["doorbell_cut"][load]
        print(f"doorbell cut, {load}: {c['rps_before']:,.0f} -> {c['rps_after']:,.0f} req/s "
              f"(x{c['rps_ratio']}), doorbells per request {c['doorbells_per_request_before']} "
              f"-> {c['doorbells_per_request_after']}")
    print(f"profile: results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
