"""bench/run.py and bench/report.py without booting: choosing each side's best variant,
the unicycle/Linux comparison and goals, ab's output, the option checks, and the report
(latest.json, the pictures, the README block) from a synthetic http.json."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))
import report  # noqa: E402
import run  # noqa: E402


def curve(scale_us):
    return [[p, scale_us * (1 + i)] for i, p in enumerate((0, 50, 90, 99, 99.9, 100))]


def point(rate, p99_ms, kept_up=True):
    lat = {f: p99_ms * 1e3 * k for f, k in
           (("mean", 0.4), ("p50", 0.3), ("p90", 0.6), ("p99", 1), ("p999", 2), ("max", 4))}
    return {"rate": rate, "kept_up": kept_up, "latency_us": lat, "achieved_rate": rate * 0.99,
            "sustained": kept_up and p99_ms < 5, "percentiles": curve(p99_ms * 100),
            "errors": {"total": 0}, "problems": []}


def boot(side, variant, c80, c1_p99, probe_p99=None, mem=1000, phase="variants", sweep=()):
    b = {"side": side, "variant": variant, "phase": phase, "boot_s": 1.0, "problems": [],
         "loads": {"c1": {"rps": c80 / 4, "p99_ms": c1_p99, "mean_ms": c1_p99 / 3},
                   "c80": {"rps": c80, "p99_ms": 10 * c1_p99}},
         "memory": {"in_use_kib": mem}}
    if probe_p99 is not None:
        b["probe"] = point(1000, probe_p99)
    if sweep:
        b["openloop"] = [point(r, p, k) for r, p, k in sweep]
        b["ab"] = {"rps": c80 / 10}
    return b


def headline():
    uc = [("unicycle", "poll"), ("unicycle", "poll")]
    lx = [("linux", "best"), ("linux", "best")]
    boots = [boot(*g, c80=20000, c1_p99=0.2, mem=3000, phase="headline",
                  sweep=[(1000, 0.3, True), (2000, 0.4, True), (4000, 0.5, True)]) for g in uc]
    boots += [boot(*g, c80=4000, c1_p99=1.0, mem=40000, phase="headline",
                   sweep=[(1000, 1.2, True), (2000, 3.0, True), (4000, 50, False)]) for g in lx]
    return boots


def test_best_picks_throughput_and_latency_winners():
    boots = [boot("linux", "default", 2000, 1.0, probe_p99=2.0),
             boot("linux", "tuned", 4600, 0.8, probe_p99=0.9),
             boot("linux", "idle-poll", 3000, 0.5, probe_p99=0.6),
             boot("unicycle", "poll", 30000, 0.2, probe_p99=0.3),
             boot("unicycle", "nopoll", 20000, 0.3, probe_p99=0.4)]
    boots.append(dict(boot("linux", "broken", 0, 0), boot_s=None))
    assert run.best(boots) == {"unicycle": ["poll"], "linux": ["tuned", "idle-poll"]}


def test_comparison_ratios_common_rate_and_goals():
    summary = run.summarize(headline())
    comp = run.comparison(summary)
    rows = {r["key"]: r for r in comp["rows"]}
    assert rows["c80_rps"]["ratio"] == pytest.approx(5.0)
    assert rows["c1_p99_ms"]["ratio"] == pytest.approx(0.2)
    assert rows["mem_kib"]["ratio"] == pytest.approx(3000 / 40000)
    # Linux fell behind at 4000 req/s: the common rate is 2000.
    assert comp["common_rate"] == 2000
    assert rows["openloop_2000_p99"]["ratio"] == pytest.approx(0.4 / 3.0)
    assert rows["sustained_rate"]["unicycle"] == 4000 and rows["sustained_rate"]["linux"] == 2000
    verdicts = {g["figure"]: g["met"] for g in run.goals(comp)}
    assert all(verdicts.values()), verdicts


def test_goal_not_met_is_reported():
    boots = headline()
    for b in boots:
        if b["side"] == "unicycle":
            b["loads"]["c80"]["rps"] = 9000          # 2.25x Linux: below the 3x goal
    comp = run.comparison(run.summarize(boots))
    g = next(g for g in run.goals(comp) if g["figure"].startswith("req/s at saturation"))
    assert g["met"] is False and g["ratio"] == pytest.approx(2.25)


def test_no_common_rate_is_not_measured():
    boots = headline()
    for b in boots:
        if b["side"] == "linux":
            b["openloop"] = [point(r, 60, False) for r in (1000, 2000)]
    comp = run.comparison(run.summarize(boots))
    assert comp["common_rate"] is None
    assert any(g["met"] is None and "common rate" in g["figure"] for g in run.goals(comp))


@pytest.mark.parametrize("argv, message", [
    (["--unicycle-variants", "poll,turbo"], "unknown variant turbo"),
    (["--linux-variants", "nosuch"], "unknown variant nosuch"),
    (["--rates", "100,fast"], "not a comma-separated list"),
    (["--rates", "0"], "must be positive"),
])
def test_bad_options_are_usage_errors(argv, message):
    r = subprocess.run([sys.executable, str(BENCH / "run.py"), *argv], capture_output=True,
                       text=True)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def http_doc():
    boots = headline() + [boot("linux", "default", 2000, 1.0, probe_p99=2.0),
                          boot("unicycle", "poll", 30000, 0.2, probe_p99=0.3)]
    summary = run.summarize([b for b in boots if b["phase"] != "variants"])
    comp = run.comparison(summary)
    return {"date": "2026-12-04T12:00:00+00:00", "machine": {"cpus": 2, "cpu_model": "x",
            "qemu": "QEMU emulator version 7.2", "loadavg_at_start": [0.1, 0, 0]},
            "config": {"rounds": 2}, "commands": {"bench": "bench/run.py"}, "versions": {},
            "summary": summary, "comparison": comp, "goals": run.goals(comp), "boots": boots,
            "chosen": {"unicycle": ["poll"], "linux": ["best"]}, "problems": []}


def test_report_writes_latest_pictures_and_readme(tmp_path):
    pytest.importorskip("matplotlib")
    (tmp_path / "http.json").write_text(json.dumps(http_doc()))
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- bench:begin -->\nold table\n<!-- bench:end -->\nafter\n")
    assert report.main(["--results", str(tmp_path), "--readme", str(readme)]) == 0
    latest = json.loads((tmp_path / "latest.json").read_text())
    ratios = {r["key"]: r["ratio"] for r in latest["ratios"]["http"]}
    assert ratios["c80_rps"] == pytest.approx(5.0)
    assert latest["machine"]["cpus"] == 2 and "http" in latest["parts"]
    for png in ("openloop-percentiles.png", "openloop-rates.png", "variants.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = readme.read_text()
    assert "old table" not in text and text.endswith("<!-- bench:end -->\nafter\n")
    assert "| req/s at saturation (wrk -c80, keep-alive) | 20,000 (poll) | 4,000 (best) | 5.00 |" \
        in text


def test_report_refuses_missing_or_broken_input(tmp_path, capsys):
    assert report.main(["--results", str(tmp_path)]) == 1
    assert "http.json: missing" in capsys.readouterr().err
    (tmp_path / "http.json").write_text("{not json")
    assert report.main(["--results", str(tmp_path)]) == 1
    assert "not valid JSON" in capsys.readouterr().err
    (tmp_path / "http.json").write_text(json.dumps(http_doc()))
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    assert report.main(["--results", str(tmp_path), "--readme", str(readme)]) == 1
    assert "needs exactly one <!-- bench:begin -->" in capsys.readouterr().err
    assert readme.read_text() == "no markers here\n"


def test_open_loop_overload_is_not_sustained_but_wrong_answers_fail():
    """64 timeouts at a rate the guest cannot serve: that point is not sustained, the
    run goes on; a wrong body is a failure at any rate."""
    errors = {"bad_status": 0, "bad_body": 0, "connect": 0, "timeout": 64, "closed": 0,
              "protocol": 0, "total": 64}
    over = {"rate": 8000, "kept_up": False, "errors": errors}
    assert run.point_problems(over) == []
    bad = {"rate": 500, "kept_up": True, "errors": {**errors, "bad_body": 2, "total": 66}}
    assert run.point_problems(bad) == ["2 wrong answers ({'bad_body': 2})"]
