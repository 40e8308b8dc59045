"""`make bench-kv`: examples/kv vs. Debian's redis-server in a Linux VM, under the same QEMU (TCG), alternating.

Both guests get the same machine (q35, -cpu max, 512 MiB, 1 CPU, virtio-net-pci) and
the same load generator, the host's redis-benchmark (redis-tools): `-t set,get -c 50`
at -P 1 and at -P 16, after an unrecorded warm-up. The NIC is on a tap device in the
network namespace of bench/netns.py (--net tap, the default; root), or on QEMU
user-net with a hostfwd on 127.0.0.1 (--net hostfwd): there the 50 connections that
redis-benchmark opens at once overflow user-net's listen backlog of 1, and those whose
handshake the host kernel gives up on (about a minute) end the run with "Connection
reset by peer". kv boots directly (app.elf with -kernel through its PVH entry, no
OVMF), as the Linux VM boots with -kernel; it runs with appendonly=no (data in memory
only, no disk), as redis-server runs with --save "" --appendonly no. Each round boots
each guest once (kv first). A guest that does not answer PING, or a redis-benchmark
run that fails, stops the bench with the reason (exit status 1). Results: a table on
stdout and bench/results/kv.json (not committed).
"""
import argparse
import json
import re
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(REPO / "unicycle-cli"))
import linuxvm  # noqa: E402
import netns  # noqa: E402
from common import Guest, cpu_model, ensure_packages, fmt, log, stats, wait_quiet  # noqa: E402

APP_DIR = REPO / "examples" / "kv"
CACHE = REPO / ".cache" / "bench"
RESULTS = REPO / "bench" / "results"
SIDES = ("kv", "redis")
LABELS = {"kv": "unicycle kv", "redis": "Linux + redis-server"}
PORT = linuxvm.REDIS_PORT
# kv's settings on its command line (after boot.cfg's maxmemory=64mb): memory only.
KV_APPEND = "appendonly=no"
PIPELINES = (1, 16)
TESTS = ("SET", "GET")
CLIENTS = 50
PING_EVERY_S, PING_TRY_S = 0.1, 1.0
NETNS_GUEST = {"kv": "unicycle", "redis": "linux"}     # bench/netns.py's tap per guest
CSV_FIELDS = {"rps": "rps", "avg_ms": "avg_latency_ms", "p50_ms": "p50_latency_ms",
              "p99_ms": "p99_latency_ms", "max_ms": "max_latency_ms"}


class BenchError(Exception):
    """A guest that does not answer or a load that failed: the bench stops with this."""


# ---------------------------------------------------------------- setup

def build_kv(no_build: bool) -> dict:
    """Builds examples/kv and copies app.elf and boot.cfg aside (a rebuild cannot touch them)."""
    from unicycle import build as build_mod
    if not no_build:
        subprocess.run([str(Path(sys.executable).parent / "unicycle"), "build", "-C",
                        str(APP_DIR)], check=True, stdout=subprocess.DEVNULL)
    proj = build_mod.open_project(APP_DIR)
    work = CACHE / "kv"
    work.mkdir(parents=True, exist_ok=True)
    for name in ("app.elf", "boot.cfg"):
        src = proj.build_dir / name
        if not src.is_file():
            sys.exit(f"bench: {src} is missing; build it with `unicycle build -C {APP_DIR}`")
        shutil.copyfile(src, work / name)
    return {"project": proj, "work": work, "elf": work / "app.elf",
            "sizes": {"app.elf": (work / "app.elf").stat().st_size}}


def static_bootcfg(kv: dict, address: str, gateway: str) -> Path:
    """A copy of boot.cfg with a static address (no DHCP server on the tap)."""
    cfg = kv["work"] / "boot-static.cfg"
    kept = [l for l in (kv["work"] / "boot.cfg").read_text().splitlines()
            if not re.match(r"\s*(net|address|gateway)\s*=", l)]
    cfg.write_text("\n".join(kept + ["net = static", f"address = {address}",
                                     f"gateway = {gateway}"]) + "\n")
    return cfg


def kv_command(kv: dict, port: int, net) -> list[str]:
    from unicycle import qemu
    if net:
        spec = qemu.spec_for(kv["project"], boot="direct", kernel=kv["elf"],
                             initrd=kv["bootcfg_static"], workdir=kv["work"],
                             append=KV_APPEND, netdev=net.netdev(NETNS_GUEST["kv"]))
    else:
        spec = qemu.spec_for(kv["project"], boot="direct", kernel=kv["elf"],
                             initrd=kv["work"] / "boot.cfg", workdir=kv["work"],
                             append=KV_APPEND, forwards=[(port, PORT)])
    return qemu.command(spec)


def redis_command(vm: dict, port: int, serial: Path, net) -> list[str]:
    if net:
        g = NETNS_GUEST["redis"]
        return linuxvm.command(vm, net.netdev(g), serial,
                               address=f"{net.address(g)}/{netns.PREFIX}",
                               gateway=netns.BRIDGE_ADDR)
    return linuxvm.command(vm, f"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:{PORT}", serial)


# ---------------------------------------------------------------- talking to a guest

def ping(host: str, port: int, wrap) -> bool:
    """One PING on a fresh connection; True on +PONG. (hostfwd accepts the connection
    before the guest listens, so only the reply says the server is up.)"""
    if wrap is not None:                # inside the namespace: redis-cli there
        try:
            r = subprocess.run(wrap(["redis-cli", "-h", host, "-p", str(port), "PING"]),
                               capture_output=True, text=True, timeout=PING_TRY_S * 3)
        except subprocess.TimeoutExpired:
            return False
        return r.stdout.strip() == "PONG"
    try:
        with socket.create_connection((host, port), timeout=PING_TRY_S) as s:
            s.settimeout(PING_TRY_S)
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def first_pong(guest: Guest, host: str, port: int, wrap, timeout: float) -> float | None:
    """Seconds from QEMU's start to the first +PONG (None: none within timeout)."""
    while time.monotonic() - guest.started < timeout and guest.alive():
        if ping(host, port, wrap):
            return time.monotonic() - guest.started
        time.sleep(PING_EVERY_S)
    return None


def info(host: str, port: int, wrap) -> dict:
    """INFO's fields (redis-cli), {} if it gets no answer."""
    try:
        r = subprocess.run((wrap or list)(["redis-cli", "-h", host, "-p", str(port), "INFO"]),
                           capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return {}
    return dict(l.strip().split(":", 1) for l in r.stdout.splitlines() if ":" in l)


# ---------------------------------------------------------------- redis-benchmark

def parse_csv(out: str) -> dict:
    """{'SET': {'rps': .., 'p50_ms': .., ...}, 'GET': ...} from redis-benchmark --csv."""
    rows = [l.replace('"', "").split(",") for l in out.splitlines() if l.startswith('"')]
    if not rows or rows[0][:2] != ["test", "rps"]:
        return {}
    head = rows[0]
    res = {}
    for r in rows[1:]:
        row = dict(zip(head, r))
        try:
            res[row["test"]] = {k: float(row[v]) for k, v in CSV_FIELDS.items()}
        except (KeyError, ValueError):
            continue
    return res


def redis_benchmark(port: int, pipeline: int, requests: int, timeout: float,
                    host: str = "127.0.0.1", wrap=None) -> dict:
    """One redis-benchmark run; raises BenchError unless both tests report."""
    cmd = ["redis-benchmark", "-h", host, "-p", str(port), "-t", "set,get",
           "-n", str(requests), "-c", str(CLIENTS), "-P", str(pipeline), "--csv"]
    try:
        r = subprocess.run((wrap or list)(cmd), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError(f"`{' '.join(cmd)}` did not finish within {timeout:g} s")
    res = parse_csv(r.stdout)
    errors = [l for l in (r.stdout + r.stderr).splitlines() if "error" in l.lower()]
    if r.returncode != 0 or errors or set(res) != set(TESTS):
        raise BenchError(f"`{' '.join(cmd)}` failed (exit status {r.returncode}): "
                         + ((r.stderr + r.stdout).strip()[-400:] or "no output"))
    return res


# ---------------------------------------------------------------- one boot

def measure(side: str, ctx: dict, args) -> dict:
    from unicycle import qemu
    net = ctx.get("net")
    host, port = (net.address(NETNS_GUEST[side]), PORT) if net else ("127.0.0.1", qemu.free_port())
    wrap = net.wrap if net else None
    serial = CACHE / f"{side}.serial.log"
    if side == "kv":
        cmd = kv_command(ctx["kv"], port, net)
    else:
        cmd = redis_command(ctx["redis"], port, serial, net)
    guest = Guest((wrap or list)(cmd), serial, serial_to_stdout=side == "kv")
    bench = lambda p, n: redis_benchmark(port, p, n, args.load_timeout, host, wrap)  # noqa: E731
    try:
        boot = first_pong(guest, host, port, wrap, args.boot_timeout)
        if boot is None:
            raise BenchError(f"{LABELS[side]} did not answer PING within {args.boot_timeout:g} s"
                             + ("" if guest.alive() else " (QEMU exited)")
                             + "; console tail:\n" + guest.console()[-800:])
        res = {"boot_s": round(boot, 3), "loads": {}}
        before = int(info(host, port, wrap).get("total_commands_processed", 0))
        bench(max(PIPELINES), args.warmup)                 # warms TCG's translation cache
        for p in PIPELINES:
            res["loads"][f"P{p}"] = bench(p, requests(args, p))
        after = info(host, port, wrap)
        if not ping(host, port, wrap) or not after:
            raise BenchError(f"{LABELS[side]} stopped answering after the load; console tail:\n"
                             + guest.console()[-800:])
        done = int(after.get("total_commands_processed", 0)) - before
        wanted = len(TESTS) * (args.warmup + sum(requests(args, p) for p in PIPELINES))
        if done < wanted:
            raise BenchError(f"{LABELS[side]} counted {done} commands, redis-benchmark sent "
                             f"{wanted}")
        res["commands_processed"] = done
        res["used_memory"] = int(after["used_memory"]) if "used_memory" in after else None
        return res
    finally:
        guest.stop()


def requests(args, pipeline: int) -> int:
    return args.requests if pipeline == 1 else args.requests_pipelined


# ---------------------------------------------------------------- summary

def summarize(rounds: dict) -> dict:
    out = {}
    for side, runs in rounds.items():
        s = {"boot_s": stats([r["boot_s"] for r in runs])}
        for p in PIPELINES:
            for t in TESTS:
                for k in CSV_FIELDS:
                    s[f"P{p}_{t}_{k}"] = stats([r["loads"][f"P{p}"][t][k] for r in runs])
        out[side] = s
    return out


def table(summary: dict) -> str:
    rows = [("PING answered after boot [s]", "boot_s", 2)]
    for p in PIPELINES:
        for t in TESTS:
            rows += [(f"-P {p} {t}: requests/s", f"P{p}_{t}_rps", 0),
                     (f"-P {p} {t}: p50 [ms]", f"P{p}_{t}_p50_ms", 3),
                     (f"-P {p} {t}: p99 [ms]", f"P{p}_{t}_p99_ms", 3)]
    w = max(len(r[0]) for r in rows) + 2
    lines = ["mean (min–max) over rounds",
             f"{'':<{w}}" + "".join(f"{LABELS[s]:<34}" for s in SIDES) + "kv / redis"]
    for label, key, d in rows:
        cells = [summary.get(s, {}).get(key) for s in SIDES]
        ratio = (f"{cells[0]['mean'] / cells[1]['mean']:.2f}x"
                 if all(cells) and cells[1]["mean"] else "")
        lines.append(f"{label:<{w}}" + "".join(f"{fmt(c, digits=d):<34}" for c in cells) + ratio)
    return "\n".join(lines)


def machine() -> dict:
    qemu_v = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                            text=True).stdout.splitlines()[0]
    bench_v = subprocess.run(["redis-benchmark", "--version"], capture_output=True, text=True)
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "kernel": platform.release(),
            "qemu": qemu_v, "accel": "tcg", "redis_benchmark": bench_v.stdout.strip(),
            "loadavg_at_start": os.getloadavg()}


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds (each boots both guests once)")
    p.add_argument("--requests", type=int, default=100000, help="-n per test at -P 1 (100000)")
    p.add_argument("--requests-pipelined", type=int, default=500000,
                   help="-n per test at -P 16 (500000)")
    p.add_argument("--warmup", type=int, default=20000,
                   help="-n per test of the unrecorded -P 16 run after boot (20000)")
    p.add_argument("--boot-timeout", type=float, default=90.0)
    p.add_argument("--load-timeout", type=float, default=300.0,
                   help="give up on one redis-benchmark run after S seconds (300)")
    p.add_argument("--wait-idle", type=float, default=30.0,
                   help="wait up to S seconds before each boot for other host load to settle")
    p.add_argument("--no-build", action="store_true", help="use the existing examples/kv build")
    p.add_argument("--only", choices=SIDES, help="measure one side only")
    p.add_argument("--net", choices=("tap", "hostfwd"), default="tap",
                   help="tap devices in a network namespace (root; default) or user-net hostfwd")
    p.add_argument("--out", type=Path, default=RESULTS / "kv.json")
    args = p.parse_args(argv)
    for name in ("rounds", "requests", "requests_pipelined", "warmup"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    ensure_packages(["redis-tools", "qemu-system-x86"])
    CACHE.mkdir(parents=True, exist_ok=True)
    sides = [args.only] if args.only else list(SIDES)
    ctx, sizes = {}, {}
    if "kv" in sides:
        ctx["kv"] = build_kv(args.no_build)
        sizes["kv"] = ctx["kv"]["sizes"]
    if "redis" in sides:
        ctx["redis"] = linuxvm.build_redis(CACHE / "linux", log)
        sizes["redis"] = {"vmlinuz": ctx["redis"]["kernel"].stat().st_size,
                          "initrd.gz": ctx["redis"]["initrd"].stat().st_size}
    info_ = machine()
    if info_["loadavg_at_start"][0] > 0.5:
        log(f"bench: warning: load average {info_['loadavg_at_start'][0]:.1f} at start; "
            "other work on this machine skews TCG numbers")
    if args.net == "tap":
        if os.geteuid() != 0:
            sys.exit("bench: --net tap needs root (a network namespace with tap devices); "
                     "run as root or with --net hostfwd")
        if "kv" in ctx:
            g = NETNS_GUEST["kv"]
            ctx["kv"]["bootcfg_static"] = static_bootcfg(
                ctx["kv"], f"{netns.Netns.address(g)}/{netns.PREFIX}", netns.BRIDGE_ADDR)
        with netns.Netns() as ctx["net"]:
            rounds, failure = run_rounds(sides, ctx, args)
    else:
        rounds, failure = run_rounds(sides, ctx, args)
    summary = summarize(rounds)
    write_results(args, info_, ctx, sizes, rounds, summary, failure)
    if failure:
        log(f"bench: FAILED: {failure}")
        return 1
    log("\n" + table(summary))
    return 0


def run_rounds(sides, ctx, args):
    """Alternates the sides; returns (rounds, failure), failure None or the first error."""
    rounds = {s: [] for s in sides}
    try:
        for n in range(1, args.rounds + 1):
            for side in sides:
                log(f"bench: round {n}/{args.rounds}: {LABELS[side]}")
                busy = wait_quiet(args.wait_idle)
                res = measure(side, ctx, args)
                res["host_busy_before"] = round(busy, 3)
                rounds[side].append(res)
                log("  " + describe(res))
    except BenchError as e:
        return rounds, f"round {n}, {LABELS[side]}: {e}"
    return rounds, None


def describe(res) -> str:
    parts = [f"PONG after {res['boot_s']:.2f} s"]
    for load, r in res["loads"].items():
        parts.append(f"{load}: " + ", ".join(
            f"{t} {r[t]['rps']:,.0f}/s p50 {r[t]['p50_ms']:.3f} p99 {r[t]['p99_ms']:.3f} ms"
            for t in TESTS))
    return "; ".join(parts)


def write_results(args, info_, ctx, sizes, rounds, summary, failure):
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": info_,
           "config": {"rounds": args.rounds, "clients": CLIENTS, "tests": "set,get",
                      "requests": {"P1": args.requests, "P16": args.requests_pipelined},
                      "warmup_requests": args.warmup,
                      "qemu": "tcg, q35, -cpu max, 512 MiB, 1 CPU, virtio-net-pci",
                      "network": ("tap devices on a bridge in netns " + netns.NAME)
                      if args.net == "tap" else "user-net hostfwd on 127.0.0.1",
                      "kv": {"boot": "direct (PVH, -kernel app.elf, no OVMF)",
                             "cmdline": f"maxmemory=64mb {KV_APPEND}"},
                      "redis": {"version": linuxvm.redis_version(ctx["redis"])
                                if "redis" in ctx else None,
                                "kernel": ctx["redis"]["version"] if "redis" in ctx else None,
                                "args": " ".join(linuxvm.REDIS_ARGS)}},
           "sizes": sizes, "summary": summary, "rounds": rounds, "failure": failure}
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    log(f"bench: results in {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")


if __name__ == "__main__":
    sys.exit(main())
