"""What every bench/ script shares: logging, Debian packages, one QEMU guest, wrk and its
checking script, the host's load, summary statistics and the machine's description."""
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
# wrk script that checks every response's status and body (see its header).
CHECK_LUA = BENCH / "soak.lua"


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
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
    if subprocess.run([*apt, "install", "-y", "-q", "--no-install-recommends", *missing],
                      env=env).returncode != 0:
        subprocess.run([*apt, "update", "-q"], check=True)
        subprocess.run([*apt, "install", "-y", "-q", "--no-install-recommends", *missing],
                       env=env, check=True)


def esp_offset(img: Path) -> int:
    """Byte offset of the first GPT partition (the EFI System Partition) in img."""
    with open(img, "rb") as f:
        f.seek(512)
        header = f.read(92)
        if header[:8] != b"EFI PART":
            raise RuntimeError(f"{img}: no GPT header")
        f.seek(int.from_bytes(header[72:80], "little") * 512 + 32)
        return int.from_bytes(f.read(8), "little") * 512


def build_static_copy(app_dir: Path, dest: Path, address: str, gateway: str,
                      sets: list[str]) -> subprocess.CompletedProcess:
    """A fresh copy of app_dir in dest whose manifest gives it a static address (a tap has
    no DHCP), built for direct boot with the Kconfig settings `sets` (SYM=VALUE)."""
    import shutil
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(app_dir, dest, ignore=shutil.ignore_patterns("build"))
    toml = dest / "unicycle.toml"
    toml.write_text(toml.read_text() + f'\n[network]\nmode = "static"\naddress = "{address}"\n'
                    f'gateway = "{gateway}"\n')
    cmd = [str(Path(sys.executable).parent / "unicycle"), "build", "-C", str(dest), "--direct"]
    for s in sets:
        cmd += ["--set", s]
    return subprocess.run(cmd, capture_output=True, text=True)


def last_line(r: subprocess.CompletedProcess) -> str:
    lines = (r.stderr or r.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit status {r.returncode}"


# ---------------------------------------------------------------- one guest

class Guest:
    """One QEMU process in its own session; serial console in a log file. A context
    manager: the process is stopped (SIGTERM, then SIGKILL) however the block ends."""

    def __init__(self, cmd, serial: Path, serial_to_stdout: bool):
        self.serial = serial
        serial.unlink(missing_ok=True)
        out = open(serial, "wb") if serial_to_stdout else subprocess.DEVNULL
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.PIPE, start_new_session=True)
        if out is not subprocess.DEVNULL:
            out.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

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


def first_response(guest: Guest, url: str, body_len: int, timeout: float, wrap) -> float | None:
    """Seconds from QEMU's start to the first HTTP 200 with a body_len-byte body (None: none
    within timeout, or QEMU exited)."""
    while time.monotonic() - guest.started < timeout and guest.alive():
        r = subprocess.run(wrap(["curl", "-s", "-o", "/dev/null", "-w",
                                 "%{http_code} %{size_download}", "--max-time", "2", url]),
                           capture_output=True, text=True)
        if r.stdout.strip() == f"200 {body_len}":
            return time.monotonic() - guest.started
        time.sleep(0.05)
    return None


# ---------------------------------------------------------------- wrk

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out: str) -> dict:
    """Requests/s, latency mean, max and percentiles (ms), request count and errors from
    wrk --latency."""
    res = {"rps": None, "mean_ms": None, "p50_ms": None, "p90_ms": None, "p99_ms": None,
           "max_ms": None, "requests": None, "errors": 0, "non_2xx": 0}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        res["rps"] = float(m.group(1))
    if m := re.search(r"Latency\s+([\d.]+(?:us|ms|s|m))\s+\S+\s+([\d.]+(?:us|ms|s|m))", out):
        res["mean_ms"], res["max_ms"] = _ms(m.group(1)), _ms(m.group(2))
    elif m := re.search(r"Latency\s+([\d.]+(?:us|ms|s|m))\s", out):
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


def checked_wrk_command(client: list[str], url: str, seconds: int, body_file: Path,
                        timeout_s: int = 5) -> list[str]:
    """wrk with CHECK_LUA: every response must be a 200 with body_file's bytes."""
    return ["wrk", *client, f"-d{seconds}s", "--timeout", f"{timeout_s}s", "--latency",
            "-s", str(CHECK_LUA), url, "--", str(body_file)]


def parse_checked(out: str) -> dict:
    """wrk's own counts (parse_wrk) plus CHECK_LUA's line; missing figures are errors."""
    res = parse_wrk(out)
    res["duration_s"] = None
    for line in out.splitlines():
        words = line.split()
        if words[:1] == ["soak:"] and len(words) == 7:
            res["responses"], res["bad_status"], res["bad_body"] = (
                int(words[2]), int(words[4]), int(words[6]))
        if len(words) >= 4 and words[1:3] == ["requests", "in"]:
            res["duration_s"] = float(words[3].rstrip(",").rstrip("s"))
    return res


def checked_errors(res: dict) -> list[str]:
    """What went wrong in one checked wrk run (empty: nothing)."""
    if res.get("requests") is None or "responses" not in res:
        return ["wrk printed no result" + (f": {res['output']}" if res.get("output") else "")]
    errs = []
    for key, what in (("errors", "socket errors/timeouts"), ("non_2xx", "non-2xx responses"),
                      ("bad_status", "responses not 200"), ("bad_body", "wrong bodies")):
        if res.get(key):
            errs.append(f"{res[key]} {what}")
    if res["responses"] != res["requests"]:
        errs.append(f"soak.lua saw {res['responses']} responses, wrk counted {res['requests']}")
    return errs


def run_checked_wrk(client: list[str], url: str, seconds: int, body_file: Path, wrap) -> dict:
    """One checked wrk run, bounded (seconds + 30); result has 'problems' (a list)."""
    cmd = wrap(checked_wrk_command(client, url, seconds, body_file))
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
        res = parse_checked(r.stdout)
        if res["requests"] is None:
            res["output"] = (r.stderr or r.stdout).strip()[-300:]
    except subprocess.TimeoutExpired:
        res = {"rps": None, "output": f"wrk did not finish within {seconds + 30} s"}
    res["problems"] = checked_errors(res)
    res.pop("output", None)
    return res


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


# ---------------------------------------------------------------- summaries

def stats(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"mean": statistics.fmean(vals), "min": min(vals), "max": max(vals), "n": len(vals)}


def fmt(st, unit="", digits=0):
    if st is None:
        return "n/a"
    f = f"{{:,.{digits}f}}"
    return f"{f.format(st['mean'])}{unit} ({f.format(st['min'])}–{f.format(st['max'])})"


def tool_version(cmd: list[str]) -> str | None:
    """The first line a tool prints of its version (None: not installed)."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (r.stdout or r.stderr).strip()
    return text.splitlines()[0] if text else None


def machine() -> dict:
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "kernel": platform.release(),
            "os": _os_release(), "qemu": tool_version(["qemu-system-x86_64", "--version"]),
            "accel": "tcg", "wrk": tool_version(["wrk", "-v"]),
            "ab": tool_version(["ab", "-V"]), "loadavg_at_start": os.getloadavg()}


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _os_release() -> str | None:
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None
