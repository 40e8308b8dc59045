"""`make bench-report`: bench/results/*.json -> bench/results/latest.json, pictures, README table.

Reads what the benchmarks wrote (http.json from bench/run.py is required; kv.json,
boot.json, connrate.json, profile.json and blk-latest.json are added when there),
writes bench/results/latest.json (every figure, the unicycle/Linux ratios, the goals,
the machine, versions and exact commands), draws the pictures (bench/plot.py) and,
with --readme FILE, replaces the text between the markers
<!-- bench:begin --> and <!-- bench:end --> in FILE with the tables.
"""
import argparse
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import plot  # noqa: E402

RESULTS = BENCH / "results"
PARTS = {"http": "http.json", "kv": "kv.json", "boot": "boot.json", "connrate": "connrate.json",
         "profile": "profile.json", "block": "blk-latest.json"}
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


class ReportError(Exception):
    pass


def load_parts(results: Path) -> dict:
    parts = {}
    for name, file in PARTS.items():
        path = results / file
        if not path.is_file():
            continue
        try:
            parts[name] = json.loads(path.read_text())
        except ValueError as e:
            raise ReportError(f"{path}: not valid JSON ({e}); run its benchmark again")
    if "http" not in parts:
        raise ReportError(f"{results / PARTS['http']}: missing; run `make bench-http` first")
    for key in ("summary", "comparison", "goals", "boots"):
        if key not in parts["http"]:
            raise ReportError(f"{results / PARTS['http']}: no {key!r}; it was written by an "
                              "older bench/run.py, run `make bench-http` again")
    return parts


def kv_ratios(kv: dict) -> list[dict]:
    """kv / redis-server per redis-benchmark figure (req/s and p99)."""
    out = []
    s = kv.get("summary", {})
    a, b = s.get("kv", {}), s.get("redis", {})
    for key in sorted(a):
        if not key.endswith(("_rps", "_p99_ms")) or not a.get(key) or not b.get(key):
            continue
        out.append({"key": key, "unicycle": a[key]["mean"], "linux": b[key]["mean"],
                    "ratio": a[key]["mean"] / b[key]["mean"] if b[key]["mean"] else None})
    return out


def kv_label(key: str) -> str:
    """P16_GET_p99_ms -> "-P 16 GET p99 [ms]"; P1_SET_rps -> "-P 1 SET req/s"."""
    m = re.fullmatch(r"P(\d+)_([A-Z]+)_(rps|p\d+_ms)", key)
    if not m:
        return key
    what = "req/s" if m.group(3) == "rps" else f"{m.group(3)[:-3]} [ms]"
    return f"-P {m.group(1)} {m.group(2)} {what}"


def build_latest(parts: dict, pictures: list[Path]) -> dict:
    http = parts["http"]
    doc = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "machine": http.get("machine"), "versions": http.get("versions"),
           "commands": {"http": http.get("commands")},
           "headline": http["comparison"], "goals": http["goals"], "chosen": http.get("chosen"),
           "ratios": {"http": [{k: r[k] for k in ("key", "label", "unicycle", "linux", "ratio")}
                               for r in http["comparison"]["rows"]]},
           "pictures": [str(p.relative_to(BENCH.parent)) if p.is_relative_to(BENCH.parent)
                        else str(p) for p in pictures],
           "parts": parts}
    if "kv" in parts:
        doc["ratios"]["kv"] = kv_ratios(parts["kv"])
        doc["commands"]["kv"] = parts["kv"].get("config")
    for name in ("connrate", "block", "boot", "profile"):
        if name in parts and isinstance(parts[name], dict) and "commands" in parts[name]:
            doc["commands"][name] = parts[name]["commands"]
    return doc


def _num(v, key=""):
    if v is None:
        return "n/a"
    if key.endswith(("rps", "rate", "kib")) or abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:,.2f}"


def markdown(doc: dict) -> str:
    http = doc["parts"]["http"]
    m = http.get("machine", {})
    lines = [f"Measured {http.get('date', '?')[:10]} by `make bench` on {m.get('cpus')} cores "
             f"({m.get('cpu_model')}), {m.get('qemu')}, TCG, load average "
             f"{(m.get('loadavg_at_start') or [0])[0]:.1f} at the start; "
             f"{http['config']['rounds']} headline rounds. Figures are means over the rounds; "
             "the variant each side used is in brackets. Written by `bench/report.py` from "
             "`bench/results/latest.json`.", "",
             "| | unicycle | Linux + nginx | unicycle / Linux |", "| --- | --- | --- | --- |"]
    for r in doc["headline"]["rows"]:
        u = f"{_num(r['unicycle'], r['key'])} ({r['unicycle_variant']})" \
            if r["unicycle"] is not None else "n/a"
        lx = f"{_num(r['linux'], r['key'])} ({r['linux_variant']})" \
            if r["linux"] is not None else "n/a"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "n/a"
        lines.append(f"| {r['label']} | {u} | {lx} | {ratio} |")
    lines += ["", "Goals (issue #15):", ""]
    for g in doc["goals"]:
        verdict = {True: "met", False: "**not met**", None: "not measured"}[g["met"]]
        ratio = f"{g['ratio']:.3f}" if g["ratio"] is not None else "n/a"
        lines.append(f"- {g['figure']}: ratio {ratio}, goal {g['goal']}: {verdict}"
                     + (f" ({g['note']})" if g.get("note") else ""))
    if doc["ratios"].get("kv"):
        lines += ["", "Key-value server (`examples/kv` vs `redis-server` in the Linux VM, "
                  "`redis-benchmark -c 50`):", "",
                  "| figure | kv | redis-server | kv / redis |", "| --- | --- | --- | --- |"]
        for r in doc["ratios"]["kv"]:
            lines.append(f"| {kv_label(r['key'])} | {_num(r['unicycle'], r['key'])} | "
                         f"{_num(r['linux'], r['key'])} | "
                         + (f"{r['ratio']:.2f} |" if r["ratio"] is not None else "n/a |"))
    cr = doc["parts"].get("connrate")
    if cr:
        lines += ["", "New connection per request, `ab -c 1` through hostfwd, one figure per "
                  "boot (`make bench-connrate`):", ""]
        for way, s in cr.items():
            if isinstance(s, dict) and isinstance(s.get("boots"), list):   # not "config"
                vals = ", ".join(f"{b['rps']:,.0f}" if b.get("rps") else "failed"
                                 for b in s["boots"])
                lines.append(f"- {way}: {vals} req/s")
    lines += profile_markdown(doc["parts"].get("profile"))
    if doc["pictures"]:
        lines += [""] + [f"![{Path(p).stem}]({p})" for p in doc["pictures"]]
    return "\n".join(lines) + "\n"


def profile_markdown(prof: dict | None) -> list[str]:
    """Where one request's time goes (c=1, the profiled build) and the doorbell cut."""
    if not prof or "variants" not in prof:
        return []
    c1 = prof["variants"]["profiled"]["loads"]["c1"].get("profile")
    if not c1:
        return []
    lines = ["", f"Where a request's time goes, one connection, http-hello with CONFIG_PROFILE "
             f"(`make bench-profile`; {c1['profiled_ns_per_request']:,} ns profiled per "
             "request, own time per stage):", "",
             "| stage | runs per request | ns per request | share |", "| --- | --- | --- | --- |"]
    for stage, s in sorted(c1["stages"].items(), key=lambda kv: -kv[1]["share"]):
        if s["count"]:
            lines.append(f"| {stage} | {s['per_request']} | {s['ns_per_request']:,} | "
                         f"{s['share']:.0%} |")
    cut = prof.get("doorbell_cut", {})
    lines += ["", "The TX doorbell cut (one doorbell per receive poll, CONFIG_NET_TX_BATCH=16, "
              "against one per frame), median of the rounds:", ""]
    for load in ("c1", "c32"):
        if load in cut:
            c = cut[load]
            lines.append(f"- {load}: {c['rps_before']:,.0f} -> {c['rps_after']:,.0f} req/s "
                         f"(x{c['rps_ratio']:.2f}), doorbells per request "
                         f"{c['doorbells_per_request_before']} -> "
                         f"{c['doorbells_per_request_after']}, p99 {c['p99_ms_before']:.2f} -> "
                         f"{c['p99_ms_after']:.2f} ms")
    return lines


def replace_block(readme: Path, text: str):
    body = readme.read_text()
    if body.count(BEGIN) != 1 or body.count(END) != 1 or body.index(BEGIN) > body.index(END):
        raise ReportError(f"{readme}: needs exactly one {BEGIN} followed by one {END}")
    head, rest = body.split(BEGIN)
    _, tail = rest.split(END)
    tmp = readme.with_suffix(readme.suffix + ".tmp")
    tmp.write_text(head + BEGIN + "\n" + text + END + tail)
    tmp.replace(readme)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--readme", type=Path, help="file whose bench block gets the tables")
    args = p.parse_args(argv)
    try:
        parts = load_parts(args.results)
        if args.readme and not args.readme.is_file():
            raise ReportError(f"{args.readme}: no such file")
        pictures = plot.draw_all(parts["http"], args.results)
        doc = build_latest(parts, pictures)
        text = markdown(doc)
        out = args.results / "latest.json"
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
        tmp.replace(out)
        if args.readme:
            replace_block(args.readme, text)
    except ReportError as e:
        print(f"bench-report: {e}", file=sys.stderr)
        return 1
    print(text)
    print(f"bench-report: wrote {out}" + (f", {len(pictures)} pictures" if pictures else "")
          + (f", the table in {args.readme}" if args.readme else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
