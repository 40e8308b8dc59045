"""`make bench-boot`: how long examples/http-hello takes to answer, booted three ways, alternating.

Per round, one boot each of: OVMF on q35 (BOOTX64.EFI from unicycle.img, what real hardware
does), direct on q35 (app.elf with -kernel through its PVH entry; SeaBIOS still runs first) and
direct on microvm (qboot, no PCI, virtio-mmio). Same QEMU (TCG), -cpu max, 512 MiB, 1 CPU, the
virtio NIC on user-net with a hostfwd. For each boot:

  * QEMU start -> first HTTP 200 on / (a fresh connection every 20 ms, each try 0.25 s at most);
  * the runtime's own time from its entry to the HTTP listener (TSC), from the console line
    "http listening on port 80, ready X ms after entry".

TCG figures move 2-3x between machines: compare the rows of one run. Results: a table on stdout
and bench/results/boot.json (not committed).
"""
import argparse
import http.client
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "unicycle-cli"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import stats  # noqa: E402
from unicycle import build as build_mod, qemu  # noqa: E402

APP_DIR = REPO / "examples" / "http-hello"
RESULTS = REPO / "bench" / "results"
WAYS = {"ovmf-q35": ("disk", "q35"), "direct-q35": ("direct", "q35"),
        "direct-microvm": ("direct", "microvm")}
POLL_S, TRY_S, GIVE_UP_S = 0.02, 0.25, 60
READY = re.compile(r"http listening on port 80, ready (\d+\.\d) ms after entry")


def first_200(port: int, proc, start: float) -> float | None:
    while time.monotonic() - start < GIVE_UP_S and proc.poll() is None:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=TRY_S)
            c.request("GET", "/")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(POLL_S)
    return None


def boot_once(proj, way: str) -> dict:
    boot, machine = WAYS[way]
    port = qemu.free_port()
    spec = qemu.spec_for(proj, boot=boot, machine=machine, forwards=[(port, 80)])
    with tempfile.TemporaryFile() as console:
        start = time.monotonic()
        proc = subprocess.Popen(qemu.command(spec), stdout=console, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            seconds = first_200(port, proc, start)
        finally:
            qemu._stop(proc)
        console.seek(0)
        out = console.read().decode(errors="replace")
    m = READY.search(out)
    if seconds is None:
        raise SystemExit(f"bench-boot: {way}: no HTTP 200 within {GIVE_UP_S} s:\n{out[-2000:]}")
    return {"first_200_s": round(seconds, 3), "runtime_ready_ms": float(m[1]) if m else None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    proj = build_mod.open_project(APP_DIR)
    build_mod.build(proj)
    rounds = []
    for i in range(args.rounds):
        rounds.append({way: boot_once(proj, way) for way in WAYS})
        print(f"round {i + 1}: " + ", ".join(f"{w} {r['first_200_s']:.2f} s" for w, r in
                                             rounds[-1].items()), flush=True)
    result = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "host": platform.node(), "cpus": len(__import__("os").sched_getaffinity(0)),
              "qemu": subprocess.run([qemu.tools.require("qemu-system-x86_64"), "--version"],
                                     capture_output=True, text=True).stdout.splitlines()[0],
              "rounds": rounds,
              "summary": {w: {"first_200_s": stats([r[w]["first_200_s"] for r in rounds]),
                              "runtime_ready_ms": stats([r[w]["runtime_ready_ms"] for r in rounds])}
                          for w in WAYS}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "boot.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{'boot':<16} {'QEMU start -> first 200 (s)':>30} {'entry -> listening (ms)':>26}")
    for w, s in result["summary"].items():
        f, r = s["first_200_s"], s["runtime_ready_ms"]
        print(f"{w:<16} {f['mean']:>12.2f} ({f['min']:.2f}-{f['max']:.2f})"
              + (f" {r['mean']:>20.1f} ({r['min']:.1f}-{r['max']:.1f})" if r else f" {'n/a':>20}"))
    print(f"\nwrote {RESULTS / 'boot.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
