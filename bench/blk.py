"""`make bench-block`: 4 KiB random reads and writes at queue depth 1 and 32, per disk driver.

For each of virtio-blk, AHCI and NVMe the same 64 MiB raw image (on the host's
file system, QEMU's default cache) is attached to the same QEMU machine (TCG,
q35, -cpu max, 512 MiB, 1 CPU) and measured twice, alternating:
  - unicycle: examples/blktest in its bench mode (src/blkbench.c), which keeps
    1 or 32 requests in flight through <unicycle/block.h> for --seconds after
    a fifth of that as warm-up; latency from submission to callback;
  - Linux: fio 3.x (the host's Debian package, in an initramfs with Debian's
    generic 6.1 kernel and busybox) with --direct=1 --ioengine=libaio, the same
    job shape, latency `lat` (submission to completion).
It prints a table and writes bench/results/blk-latest.json. Not a test.
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import linuxvm  # noqa: E402
from common import ensure_packages, log, wait_quiet  # noqa: E402

CACHE = REPO / ".cache" / "bench"
RESULTS = REPO / "bench" / "results"
UNICYCLE = REPO / ".venv" / "bin" / "unicycle"
DRIVERS = {"virtio": "virtio-blk-pci", "ahci": "ide-hd", "nvme": "nvme"}
DISK_MIB = 64
SERIAL = "blkbench"                  # the image's name: blkbench's default disk
JOBS = [f"{rw} qd{qd}" for rw, qd in linuxvm.FIO_JOBS]
_LINE = re.compile(r"^blkbench: \S+ (\w+ qd\d+): (\d+) IOPS, mean (\d+) us, p50 (\d+) us, "
                   r"p99 (\d+) us, (\d+) requests", re.M)


def disk_image(driver: str) -> Path:
    """A fresh 64 MiB image, filled once so neither side reads holes."""
    d = CACHE / "blk" / driver
    d.mkdir(parents=True, exist_ok=True)
    img = d / f"{SERIAL}.img"
    if not img.is_file() or img.stat().st_size != DISK_MIB << 20:
        with open(img, "wb") as f:
            chunk = bytes(range(256)) * 4096
            for _ in range((DISK_MIB << 20) // len(chunk)):
                f.write(chunk)
    return img


def build_unicycle(seconds: int) -> Path:
    proj = CACHE / "blk" / "blktest"
    shutil.rmtree(proj, ignore_errors=True)
    shutil.copytree(REPO / "examples" / "blktest", proj, ignore=shutil.ignore_patterns("build"))
    toml = proj / "unicycle.toml"
    toml.write_text(toml.read_text().replace('cmdline = ""',
                                             f'cmdline = "bench seconds={seconds}"'))
    subprocess.run([str(UNICYCLE), "build", "-C", str(proj)], check=True,
                   stdout=subprocess.DEVNULL)
    return proj


def run_unicycle(proj: Path, driver: str, seconds: int) -> dict:
    img = disk_image(driver)
    timeout = 60 + 8 * seconds
    r = subprocess.run([str(UNICYCLE), "run", "-C", str(proj), "--no-build", "--timeout",
                        str(timeout), "--disk", f"{img},if={driver}"],
                       capture_output=True, text=True, timeout=timeout + 60)
    out = {}
    for m in _LINE.finditer(r.stdout):
        out[m.group(1)] = {"iops": int(m.group(2)), "mean_us": int(m.group(3)),
                           "p50_us": int(m.group(4)), "p99_us": int(m.group(5)),
                           "requests": int(m.group(6))}
    if len(out) != len(JOBS):
        log(f"bench: unicycle on {driver} gave {len(out)} of {len(JOBS)} results; console tail:\n"
            + "\n".join(r.stdout.splitlines()[-15:]))
    return out


def linux_disk_args(driver: str, img: Path) -> list[str]:
    dev = {"virtio": "virtio-blk-pci,drive=d0", "ahci": "ide-hd,drive=d0,bus=ide.0",
           "nvme": "nvme,drive=d0"}[driver]
    return ["-drive", f"if=none,id=d0,format=raw,file={img}", "-device", f"{dev},serial={SERIAL}"]


def run_linux(vm: dict, driver: str, seconds: int) -> dict:
    img = disk_image(driver)
    serial_log = CACHE / "blk" / f"linux-{driver}.log"
    serial_log.unlink(missing_ok=True)
    ramp = max(1, seconds // 5)
    cmd = linuxvm.fio_command(vm, linux_disk_args(driver, img), serial_log, seconds, ramp)
    timeout = 120 + 4 * (seconds + ramp) * 3
    try:
        subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log(f"bench: the fio VM on {driver} did not finish in {timeout} s")
    text = serial_log.read_text(errors="replace") if serial_log.exists() else ""
    out = {}
    for (rw, qd), doc in linuxvm.parse_fio(text).items():
        side = doc["jobs"][0]["read" if rw == "randread" else "write"]
        lat = side.get("lat_ns", {})
        pct = lat.get("percentile", {})
        out[f"{rw} qd{qd}"] = {"iops": round(side["iops"]), "mean_us": round(lat.get("mean", 0) / 1000),
                               "p50_us": round(pct.get("50.000000", 0) / 1000),
                               "p99_us": round(pct.get("99.000000", 0) / 1000),
                               "requests": side.get("total_ios", 0)}
    if len(out) != len(JOBS):
        log(f"bench: fio on {driver} gave {len(out)} of {len(JOBS)} results; console tail:\n"
            + "\n".join(text.splitlines()[-15:]))
    return out


def summarise(values):
    if not values:
        return None
    return {"mean": statistics.mean(values), "min": min(values), "max": max(values)}


def table(summary: dict) -> str:
    rows = ["| driver | job | unicycle IOPS | unicycle p99 (us) | Linux fio IOPS | "
            "Linux fio p99 (us) |", "| --- | --- | --- | --- | --- | --- |"]
    for driver in DRIVERS:
        for job in JOBS:
            cells = []
            for side in ("unicycle", "linux"):
                s = summary.get(driver, {}).get(side, {}).get(job)
                cells += ([f"{s['iops']['mean']:,.0f} ({s['iops']['min']:,}–{s['iops']['max']:,})",
                           f"{s['p99_us']['mean']:,.0f}"] if s else ["n/a", "n/a"])
            rows.append(f"| {driver} | {job} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=5, help="per job (5)")
    ap.add_argument("--only", choices=("unicycle", "linux"))
    ap.add_argument("--drivers", default=",".join(DRIVERS))
    ap.add_argument("--wait-idle", type=float, default=30)
    ap.add_argument("--out", type=Path, default=RESULTS / "blk-latest.json")
    args = ap.parse_args()
    drivers = [d for d in args.drivers.split(",") if d]
    for d in drivers:
        if d not in DRIVERS:
            sys.exit(f"bench: unknown driver {d!r} (one of {', '.join(DRIVERS)})")
    sides = [args.only] if args.only else ["unicycle", "linux"]
    proj = vm = None
    if "unicycle" in sides:
        log("bench: building examples/blktest (bench mode)")
        proj = build_unicycle(args.seconds)
    if "linux" in sides:
        ensure_packages(["fio"])
        vm = linuxvm.build_fio(CACHE / "linux", Path(shutil.which("fio") or "/usr/bin/fio"), log)
    rounds = {d: {s: [] for s in sides} for d in drivers}
    for rnd in range(1, args.rounds + 1):
        for d in drivers:
            for side in sides:
                wait_quiet(args.wait_idle)
                log(f"bench: round {rnd}/{args.rounds}: {side} on {d}")
                t0 = time.monotonic()
                res = run_unicycle(proj, d, args.seconds) if side == "unicycle" else \
                    run_linux(vm, d, args.seconds)
                log(f"bench:   {len(res)} jobs in {time.monotonic() - t0:.0f} s: " + ", ".join(
                    f"{j} {r['iops']} IOPS p99 {r['p99_us']} us" for j, r in res.items()))
                rounds[d][side].append(res)
    summary = {d: {s: {j: {k: summarise([r[j][k] for r in rounds[d][s] if j in r])
                           for k in ("iops", "mean_us", "p50_us", "p99_us")}
                       for j in JOBS if any(j in r for r in rounds[d][s])}
                   for s in sides} for d in drivers}
    print(table(summary))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "machine": platform.machine(),
                 "qemu": subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                                        text=True).stdout.splitlines()[0]},
        "linux": vm["version"] if vm else None, "seconds": args.seconds, "disk_mib": DISK_MIB,
        "rounds": rounds, "summary": summary}, indent=2))
    log(f"bench: wrote {args.out}")


if __name__ == "__main__":
    main()
