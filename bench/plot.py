"""Pictures of bench/results/http.json, drawn with Debian's python3-matplotlib (bench/report.py).

  openloop-percentiles.png  latency by percentile at each open-loop rate both sides kept
                            up with, HdrHistogram-style: x = 1/(1-p) on a log axis, so
                            50 %, 90 %, 99 %, 99.9 % ... are evenly spaced; y log scale.
  openloop-rates.png        p99 latency and achieved throughput per offered rate.
  variants.png              phase 1: req/s at c80 and open-loop probe p99 of every variant.
"""
from pathlib import Path

COLORS = {"unicycle": "tab:blue", "linux": "tab:red"}
STYLES = ["-", "--", ":", "-."]


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _loglog(ax):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _label(key: str) -> str:
    side, variant = key.split(":", 1)
    return f"{'Linux + nginx' if side == 'linux' else 'unicycle'} ({variant})"


def percentiles(http: dict, out: Path) -> Path | None:
    """Percentile curves at every common rate, both sides' headline guests."""
    comp, summary = http["comparison"], http["summary"]
    rates = sorted(int(r) for r in comp.get("per_rate", {}))
    if not rates:
        return None
    rates = rates[-3:]                       # the three highest common rates
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 5))
    widest = 1.0
    for key, s in summary.items():
        side = key.split(":")[0]
        for i, rate in enumerate(rates):
            pt = next((p for p in s["openloop"] if p["rate"] == rate), None)
            curve = [(p, us) for p, us in (pt or {}).get("percentiles", []) if p < 100]
            if not curve:
                continue
            xs = [1 / (1 - p / 100) for p, _ in curve]
            widest = max(widest, xs[-1])
            ax.plot(xs, [us / 1e3 for _, us in curve],
                    STYLES[i % len(STYLES)], color=COLORS[side],
                    label=f"{_label(key)} at {rate:,} req/s")
    ticks = [t for t in (0, 50, 90, 99, 99.9, 99.99, 99.999) if 1 / (1 - t / 100) <= widest]
    _loglog(ax)
    ax.set_xlim(0.9, widest * 1.3)
    ax.set_xticks([1 / (1 - t / 100) for t in ticks])
    ax.set_xticklabels([f"{t:g}%" for t in ticks])
    ax.set_xlabel("percentile")
    ax.set_ylabel("latency from intended send time [ms]")
    ax.set_title("Open-loop latency by percentile (same QEMU, TCG)")
    path = out / "openloop-percentiles.png"
    return _save(plt, fig, path)


def rates(http: dict, out: Path) -> Path | None:
    """p99 and achieved req/s against the offered rate, every headline guest."""
    summary = http["summary"]
    if not any(s["openloop"] for s in summary.values()):
        return None
    plt = _plt()
    fig, (lat, tput) = plt.subplots(1, 2, figsize=(11, 4.5))
    for i, (key, s) in enumerate(summary.items()):
        side = key.split(":")[0]
        pts = [p for p in s["openloop"] if p.get("p99_ms") is not None]
        style = STYLES[i % len(STYLES)]
        lat.plot([p["rate"] for p in pts], [p["p99_ms"] for p in pts], style, marker="o",
                 color=COLORS[side], label=_label(key))
        tput.plot([p["rate"] for p in pts], [p["achieved_rps"] or 0 for p in pts], style,
                  marker="o", color=COLORS[side], label=_label(key))
    all_rates = sorted({p["rate"] for s in summary.values() for p in s["openloop"]})
    tput.plot(all_rates, all_rates, color="grey", linewidth=0.8, label="offered")
    for ax in (lat, tput):
        _loglog(ax)
        ax.set_xlabel("offered rate [req/s]")
    lat.axhline(5.0, color="grey", linestyle=":", linewidth=0.8)
    lat.set_ylabel("p99 latency [ms]")
    lat.set_title("p99 per offered rate (dotted: 5 ms)")
    tput.set_ylabel("answered [req/s]")
    tput.set_title("Throughput per offered rate")
    path = out / "openloop-rates.png"
    return _save(plt, fig, path)


def variants(http: dict, out: Path) -> Path | None:
    """Phase 1: every variant's c80 req/s and probe p99, as horizontal bars."""
    rows = [b for b in http["boots"] if b["phase"] == "variants" and b.get("boot_s")]
    if not rows:
        return None
    plt = _plt()
    names = [f"{b['side']}: {b['variant']}" for b in rows]
    c80 = [b["loads"].get("c80", {}).get("rps") or 0 for b in rows]
    p99 = [(b.get("probe", {}).get("latency_us") or {}).get("p99", 0) / 1e3 for b in rows]
    colors = [COLORS[b["side"]] for b in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 0.32 * len(rows) + 1.5), sharey=True)
    a.barh(names, c80, color=colors)
    a.set_xlabel("req/s, wrk -t2 -c80")
    a.set_xscale("log")
    b.barh(names, p99, color=colors)
    b.set_xlabel("p99 [ms], open loop 1,000 req/s")
    b.set_xscale("log")
    for ax in (a, b):
        ax.grid(True, axis="x", which="both", alpha=0.3)
    a.invert_yaxis()
    fig.suptitle("Every configuration, one boot each (phase 1)")
    path = out / "variants.png"
    return _save(plt, fig, path)


def draw_all(http: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [p for p in (percentiles(http, out), rates(http, out), variants(http, out)) if p]
