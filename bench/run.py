"""`make bench`: examples/http-hello vs. a Linux VM running nginx, under the same QEMU (TCG), alternating.

Both guests get the same machine (q35, -cpu max, 512 MiB, 1 CPU, virtio-net-pci
on QEMU user-net with a hostfwd on 127.0.0.1) and the same load generator
(wrk). Each round boots each guest once (unicycle first, then Linux), measures
the time from QEMU's start to the first HTTP 200 on /, then runs wrk with 1
connection and with 80 keep-alive connections, reads the guest's memory figures
from its serial console and stops it. Results: a table on stdout and
bench/results/latest.json. Run with the venv's Python (`make bench`).
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import linuxvm  # noqa: E402
import netns  # noqa: E402

APP_DIR = REPO / "examples" / "http-hello"
CACHE = REPO / ".cache" / "bench"
RESULTS = REPO / "bench" / "results"
PAGE_LEN = len(linuxvm.PAGE)
LOADS = {"c1": ["-t1", "-c1"], "c80": ["-t2", "-c80"]}
SIDES = ("unicycle", "linux")


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- setup

def ensure_packages(pkgs):
    """apt-get install the Debian packages that are missing (only as root)."""
    missing = [p for p in pkgs if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True
    ).stdout.find("install ok installed") < 0]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"bench: missing Debian packages {missing}; install them (as root)")
    log(f"bench: installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                      env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
                       env=env, check=True)


def build_unicycle(no_build: bool) -> dict:
    """Builds examples/http-hello; returns paths, with the image copied for the bench."""
    cli = Path(sys.executable).parent / "unicycle"
    if not no_build:
        # HTTP_STATS adds GET /_unicycle/stats, read once after the load for memory in use.
        subprocess.run([str(cli), "build", "-C", str(APP_DIR), "--set", "HTTP_STATS=y"],
                       check=True)
    from unicycle import build as build_mod
    proj = build_mod.open_project(APP_DIR)
    img, elf = proj.build_dir / "unicycle.img", proj.build_dir / "app.elf"
    if not img.is_file():
        sys.exit(f"bench: {img} is missing; build it with `unicycle build -C {APP_DIR}`")
    work = CACHE / "unicycle"
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(img, work / "unicycle.img")   # a rebuild during the bench cannot touch it
    shutil.copyfile(elf, work / "app.elf")
    return {"project": proj, "image": work / "unicycle.img", "work": work,
            "elf": work / "app.elf",
            "sizes": {"unicycle.img": img.stat().st_size,
                      "app.elf": elf.stat().st_size if elf.is_file() else None}}


# ---------------------------------------------------------------- guests

def esp_offset(img: Path) -> int:
    """Byte offset of the first GPT partition (the EFI System Partition) in img."""
    with open(img, "rb") as f:
        f.seek(512)
        header = f.read(92)
        if header[:8] != b"EFI PART":
            raise RuntimeError(f"{img}: no GPT header")
        f.seek(int.from_bytes(header[72:80], "little") * 512 + 32)
        return int.from_bytes(f.read(8), "little") * 512


def static_image(uc: dict, address: str, gateway: str) -> Path:
    """A copy of the image whose boot.cfg sets a static address (for --tap: no DHCP there)."""
    img = uc["work"] / "unicycle-static.img"
    shutil.copyfile(uc["image"], img)
    cfg = uc["work"] / "boot.cfg"
    original = (uc["project"].build_dir / "boot.cfg").read_text()
    kept = [l for l in original.splitlines() if not re.match(r"\s*(net|address|gateway)\s*=", l)]
    cfg.write_text("\n".join(kept + ["net = static", f"address = {address}",
                                     f"gateway = {gateway}"]) + "\n")
    subprocess.run(["mcopy", "-o", "-i", f"{img}@@{esp_offset(img)}", str(cfg),
                    "::/unicycle/boot.cfg"], check=True)
    return img


def unicycle_command(uc: dict, port: int, net) -> list[str]:
    from unicycle import qemu
    if net:
        spec = qemu.spec_for(uc["project"], image=uc["image_static"], workdir=uc["work"],
                             netdev=net.netdev("unicycle"))
    else:
        spec = qemu.spec_for(uc["project"], image=uc["image"], workdir=uc["work"],
                             forwards=[(port, 80)])
    return qemu.command(spec)


def linux_command(vm: dict, port: int, serial: Path, net) -> list[str]:
    if net:
        return linuxvm.command(vm, net.netdev("linux"), serial,
                               address=f"{net.address('linux')}/{netns.PREFIX}",
                               gateway=netns.BRIDGE_ADDR)
    return linuxvm.command(vm, f"user,id=net0,hostfwd=tcp:127.0.0.1:{port}-:80", serial)


class Guest:
    """One QEMU process in its own session; serial console in a log file."""

    def __init__(self, cmd, serial: Path, serial_to_stdout: bool):
        self.serial = serial
        serial.unlink(missing_ok=True)
        out = open(serial, "wb") if serial_to_stdout else subprocess.DEVNULL
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.PIPE, start_new_session=True)
        if out is not subprocess.DEVNULL:
            out.close()

    def console(self) -> str:
        try:
            return self.serial.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self):
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=wait)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.proc.communicate()


def first_response(guest: Guest, url: str, timeout: float, wrap) -> float | None:
    """Seconds from QEMU's start to the first HTTP 200 with the 48-byte page (None: none)."""
    while time.monotonic() - guest.started < timeout and guest.alive():
        r = subprocess.run(wrap(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                            "--max-time", "2", url]), capture_output=True, text=True)
        if r.stdout.strip() == f"200 {PAGE_LEN}":
            return time.monotonic() - guest.started
        time.sleep(0.05)
    return None


# ---------------------------------------------------------------- wrk

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out: str) -> dict:
    """Requests/s, latency mean and percentiles (ms), request count and errors from wrk --latency."""
    res = {"rps": None, "mean_ms": None, "p50_ms": None, "p90_ms": None, "p99_ms": None,
           "requests": None, "errors": 0, "non_2xx": 0}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        res["rps"] = float(m.group(1))
    if m := re.search(r"Latency\s+([\d.]+(?:us|ms|s|m))\s", out):
        res["mean_ms"] = _ms(m.group(1))
    for p in ("50", "90", "99"):
        if m := re.search(rf"^\s+{p}%\s+([\d.]+(?:us|ms|s|m))", out, re.M):
            res[f"p{p}_ms"] = _ms(m.group(1))
    if m := re.search(r"(\d+) requests in", out):
        res["requests"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        res["errors"] = sum(int(x) for x in m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        res["non_2xx"] = int(m.group(1))
    return res


def run_wrk(url: str, load: str, seconds: int, wrap) -> dict:
    cmd = wrap(["wrk", *LOADS[load], f"-d{seconds}s", "--timeout", "5s", "--latency", url])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    res = parse_wrk(r.stdout)
    if res["rps"] is None:
        res["error"] = (r.stderr or r.stdout).strip()[-300:]
    return res


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
        return {"in_use_kib": None, "managed_kib": None,
                "note": "no /_unicycle/stats answer (built without HTTP_STATS?)"}
    pages = mem["pages_total"] - mem["pages_free"]
    image = image_memsz(elf) if elf.is_file() else 0
    return {"in_use_kib": (pages * 4096 + image) // 1024,
            "managed_kib": mem["pages_total"] * 4,
            "heap_bytes_in_use": mem["bytes_in_use"],
            "note": "allocated pages + app.elf PT_LOAD memsz"}


def linux_memory(console: str) -> dict:
    info = linuxvm.parse_meminfo(console)
    if not info or "MemAvailable" not in info:
        return {"in_use_kib": None, "managed_kib": None, "note": "no meminfo on the console"}
    return {"in_use_kib": info["MemTotal"] - info["MemAvailable"], "managed_kib": info["MemTotal"],
            "note": "MemTotal - MemAvailable after the load"}


# ---------------------------------------------------------------- host load

def host_busy(interval=1.0) -> float:
    """Fraction of all host CPU time spent busy over `interval` seconds (/proc/stat)."""
    def sample():
        f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(f), f[3] + f[4]                      # total, idle + iowait
    t0, i0 = sample()
    time.sleep(interval)
    t1, i1 = sample()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(limit_s: float, threshold=0.25) -> float:
    """Waits (at most limit_s) until the host is mostly idle; returns the last busy fraction."""
    deadline = time.monotonic() + limit_s
    busy = host_busy()
    while busy > threshold and time.monotonic() < deadline:
        busy = host_busy(2.0)
    if busy > threshold:
        log(f"  warning: host {busy:.0%} busy with other work; numbers will be low")
    return busy


# ---------------------------------------------------------------- one round

def measure(side: str, cmd: list[str], url: str, wrap, args) -> dict:
    serial = CACHE / f"{side}.serial.log"
    guest = Guest(cmd, serial, serial_to_stdout=side == "unicycle")
    try:
        boot = first_response(guest, url, args.boot_timeout, wrap)
        res = {"boot_s": boot, "loads": {}}
        if boot is None:
            res["error"] = (f"no HTTP 200 with the {PAGE_LEN}-byte page on / within "
                            f"{args.boot_timeout:g} s" + ("" if guest.alive() else
                                                         " (QEMU exited)"))
            res["console_tail"] = guest.console()[-600:]
            return res
        run_wrk(url, "c1", args.warmup, wrap)           # warm TCG's translation cache
        for load in LOADS:
            res["loads"][load] = run_wrk(url, load, args.duration, wrap)
        time.sleep(2.5 if side == "linux" else 0.5)     # let the next meminfo sample land
        console = guest.console()
        if side == "linux":
            res["memory"] = linux_memory(console)
        else:
            res["memory"] = unicycle_memory(url, wrap, args.elf)
        return res
    finally:
        guest.stop()


def one(side, ctx, args):
    from unicycle import qemu
    net = ctx.get("net")
    host, port = (net.address(side), 80) if net else ("127.0.0.1", qemu.free_port())
    if side == "unicycle":
        cmd = unicycle_command(ctx["unicycle"], port, net)
    else:
        cmd = linux_command(ctx["linux"], port, CACHE / "linux.serial.log", net)
    wrap = net.wrap if net else (lambda c: c)
    return measure(side, wrap(cmd), f"http://{host}:{port}/", wrap, args)


# ---------------------------------------------------------------- summary

def stats(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"mean": statistics.fmean(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def summarize(rounds: dict) -> dict:
    out = {}
    for side, runs in rounds.items():
        s = {"boot_s": stats([r["boot_s"] for r in runs])}
        for load in LOADS:
            for key in ("rps", "mean_ms", "p50_ms", "p90_ms", "p99_ms"):
                s[f"{load}_{key}"] = stats([r["loads"].get(load, {}).get(key) for r in runs])
            s[f"{load}_errors"] = sum(r["loads"].get(load, {}).get("errors", 0) or 0 for r in runs)
            s[f"{load}_non_2xx"] = sum(r["loads"].get(load, {}).get("non_2xx", 0) or 0
                                       for r in runs)
        s["mem_in_use_kib"] = stats([r.get("memory", {}).get("in_use_kib") for r in runs])
        out[side] = s
    return out


def fmt(st, unit="", digits=0):
    if st is None:
        return "n/a"
    f = f"{{:,.{digits}f}}"
    return f"{f.format(st['mean'])}{unit} ({f.format(st['min'])}–{f.format(st['max'])})"


def table(summary: dict, sizes: dict) -> str:
    rows = [("boot to first 200 on / [s]", "boot_s", "", 2)]
    for load, label in (("c1", "1 conn"), ("c80", "80 conns")):
        rows += [(f"{label}: throughput [req/s]", f"{load}_rps", "", 0),
                 (f"{label}: latency mean [ms]", f"{load}_mean_ms", "", 2),
                 (f"{label}: latency p50 [ms]", f"{load}_p50_ms", "", 2),
                 (f"{label}: latency p90 [ms]", f"{load}_p90_ms", "", 2),
                 (f"{label}: latency p99 [ms]", f"{load}_p99_ms", "", 2)]
    rows.append(("memory in use [KiB]", "mem_in_use_kib", "", 0))
    w = max(len(r[0]) for r in rows) + 2
    lines = ["mean (min–max) over rounds", f"{'':<{w}}{'unicycle':<32}{'linux + nginx':<32}"]
    for label, key, unit, d in rows:
        lines.append(f"{label:<{w}}" + "".join(
            f"{fmt(summary.get(s, {}).get(key), unit, d):<32}" for s in SIDES))
    for load in LOADS:
        errs = [f"{s}: {summary.get(s, {}).get(f'{load}_errors', 0)} socket errors, "
                f"{summary.get(s, {}).get(f'{load}_non_2xx', 0)} non-2xx" for s in SIDES]
        lines.append(f"{load + ' errors':<{w}}" + "; ".join(errs))
    lines.append(f"{'image size [bytes]':<{w}}" + "".join(
        f"{', '.join(f'{k} {v:,}' for k, v in sizes[s].items() if v is not None) or 'n/a':<44}"
        for s in SIDES))
    return "\n".join(lines)


def machine() -> dict:
    qemu_v = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                            text=True).stdout.splitlines()[0]
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {"cpus": os.cpu_count(), "cpu_model": _cpu_model(), "kernel": platform.release(),
            "qemu": qemu_v, "accel": "tcg", "wrk": (wrk_v.stdout or wrk_v.stderr).split("\n")[0],
            "loadavg_at_start": os.getloadavg()}


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# ---------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="rounds (each boots both guests once)")
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of unrecorded load after boot")
    p.add_argument("--boot-timeout", type=float, default=60.0)
    p.add_argument("--wait-idle", type=float, default=30.0,
                   help="wait up to S seconds before each boot for other host load to settle")
    p.add_argument("--no-build", action="store_true", help="use the existing http-hello image")
    p.add_argument("--only", choices=SIDES, help="measure one side only")
    p.add_argument("--tap", action="store_true",
                   help="tap devices in a network namespace instead of user-net hostfwd "
                        "(root; no backlog-of-1 limit on new connections)")
    p.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    ensure_packages(["wrk", "curl", "qemu-system-x86", "ovmf", "iproute2", "mtools"])
    CACHE.mkdir(parents=True, exist_ok=True)
    sides = [args.only] if args.only else list(SIDES)
    ctx, sizes = {}, {"unicycle": {}, "linux": {}}
    if "unicycle" in sides:
        ctx["unicycle"] = build_unicycle(args.no_build)
        args.elf = ctx["unicycle"]["elf"]
        sizes["unicycle"] = ctx["unicycle"]["sizes"]
    if "linux" in sides:
        ctx["linux"] = linuxvm.build(CACHE / "linux", log)
        sizes["linux"] = {"vmlinuz": ctx["linux"]["kernel"].stat().st_size,
                          "initrd.gz": ctx["linux"]["initrd"].stat().st_size}
    info = machine()
    if info["loadavg_at_start"][0] > 0.5:
        log(f"bench: warning: load average {info['loadavg_at_start'][0]:.1f} at start; "
            "other work on this machine skews TCG numbers")
    if args.tap:
        if "unicycle" in sides:
            ctx["unicycle"]["image_static"] = static_image(
                ctx["unicycle"], f"{netns.Netns.address('unicycle')}/{netns.PREFIX}",
                netns.BRIDGE_ADDR)
        with netns.Netns() as ctx["net"]:
            rounds = run_rounds(sides, ctx, args)
    else:
        rounds = run_rounds(sides, ctx, args)
    summary = summarize(rounds)
    log("\n" + table(summary, sizes))
    write_results(args, info, sizes, rounds, summary)
    return 0


def run_rounds(sides, ctx, args) -> dict:
    """Alternates the sides for args.rounds rounds; a side that never answers is dropped."""
    rounds = {s: [] for s in sides}
    dead = set()
    for n in range(1, args.rounds + 1):
        for side in sides:
            if side in dead:
                continue
            log(f"bench: round {n}/{args.rounds}: {side}")
            busy = wait_quiet(args.wait_idle)
            res = one(side, ctx, args)
            res["host_busy_before"] = round(busy, 3)
            rounds[side].append(res)
            log("  " + describe(res))
            if res["boot_s"] is None:
                dead.add(side)
                log(f"bench: {side} did not answer; not booting it again. Console tail:\n"
                    + res.get("console_tail", ""))
    return rounds


def describe(res) -> str:
    if res["boot_s"] is None:
        return f"FAILED: {res['error']}"
    parts = [f"first 200 after {res['boot_s']:.2f} s"]
    for load, r in res["loads"].items():
        if r.get("rps") is None:
            parts.append(f"{load}: wrk failed ({r.get('error', '')})")
        else:
            parts.append(f"{load}: {r['rps']:,.0f} req/s, mean {r['mean_ms']:.2f} ms, "
                         f"p99 {r['p99_ms']:.2f} ms, {r['errors']} errors")
    return "; ".join(parts)


def write_results(args, info, sizes, rounds, summary):
    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": info,
           "config": {"rounds": args.rounds, "duration_s": args.duration,
                      "warmup_s": args.warmup, "loads": {k: " ".join(v) for k, v in LOADS.items()},
                      "qemu": "tcg, q35, -cpu max, 512 MiB, 1 CPU, virtio-net-pci",
                      "network": ("tap devices on a bridge in netns " + netns.NAME) if args.tap
                      else "user-net hostfwd on 127.0.0.1"},
           "sizes": sizes, "summary": summary,
           "rounds": {s: [{k: v for k, v in r.items() if k != "console_tail"} for r in rs]
                      for s, rs in rounds.items()},
           "failures": {s: rs[0]["error"] for s, rs in rounds.items() if rs and "error" in rs[0]}}
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    log(f"\nbench: results in {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")


if __name__ == "__main__":
    sys.exit(main())
