"""bench/reqprofile.py without booting: the guest's profile summarised per request, rounds
merged, the doorbell cut's before/after, the option checks, and the report's profile
section from a synthetic profile.json."""
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "bench"))
import reqprofile as bprofile  # noqa: E402
import report  # noqa: E402

from test_bench_http import http_doc  # noqa: E402


def raw(requests, doorbells, outputs=None):
    """A guest's GET /_unicycle/profile answer: ns per stage per request as given."""
    per_req = {"driver_rx": 1000, "lwip_in": 5000, "http_parse": 4000, "tx_doorbell": 10000}
    stages = {}
    for name, ns in per_req.items():
        count = doorbells if name == "tx_doorbell" else requests
        total = ns * count
        stages[name] = {"count": count, "cycles": total * 2, "max_cycles": ns * 8,
                        "ns": total, "max_ns": ns * 4, "cycles_per_request": 0,
                        "ns_per_request": total // requests}
    stages["output"] = {"count": outputs or requests, "ns": 0, "max_ns": 0,
                        "ns_per_request": 0}
    return {"tsc_hz": 2_000_000_000, "requests": requests, "stages": stages}


def test_summarise_shares_and_per_request_figures():
    s = bprofile.summarise(raw(1000, 1000))
    assert s["requests"] == 1000 and s["profiled_ns_per_request"] == 20000
    door = s["stages"]["tx_doorbell"]
    assert door["per_request"] == 1.0 and door["mean_ns"] == 10000
    assert door["share"] == 0.5 and door["ns_per_request"] == 10000
    assert s["stages"]["output"]["mean_ns"] == 0           # no time: no division by zero
    empty = bprofile.summarise({"requests": 0, "stages": {"http": {"count": 0, "ns": 0,
                                                                     "max_ns": 0}}})
    assert empty["profiled_ns_per_request"] is None and empty["stages"]["http"]["share"] == 0


def load(rps, p99, requests=1000, doorbells=None):
    m = {"rps": rps, "p99_ms": p99, "mean_ms": p99 / 3, "requests": requests}
    if doorbells is not None:
        m["profile"] = bprofile.summarise(raw(requests, doorbells))
    return m


def variants():
    rounds = {
        "profiled": [{"c1": load(8000, 0.4, doorbells=1000), "c32": load(40000, 2, 4000, 200)},
                     {"c1": load(8200, 0.5, doorbells=1000), "c32": load(42000, 3, 4000, 240)}],
        "no-cut": [{"c1": load(7900, 0.5, doorbells=1000), "c32": load(30000, 4, 4000, 1600)},
                   {"c1": load(8100, 0.6, doorbells=1000), "c32": load(32000, 5, 4000, 1500)}],
        "plain": [{"c1": load(9000, 0.3), "c32": load(44000, 2)},
                  {"c1": load(9200, 0.3), "c32": load(46000, 2)}],
    }
    return {name: {"sets": bprofile.VARIANTS[name], "loads": bprofile.merge(r)}
            for name, r in rounds.items()}


def test_merge_takes_medians_and_keeps_every_round():
    v = variants()
    c32 = v["profiled"]["loads"]["c32"]
    assert c32["rps"] == 41000 and c32["p99_ms"] == 2.5 and len(c32["rounds"]) == 2
    assert c32["profile"]["stages"]["tx_doorbell"]["per_request"] == 0.06   # the last round's
    assert "profile" not in v["plain"]["loads"]["c1"]


def test_cut_effect_before_and_after():
    cut = bprofile.cut_effect(variants())
    assert cut["c32"]["rps_before"] == 31000 and cut["c32"]["rps_after"] == 41000
    assert cut["c32"]["rps_ratio"] == pytest.approx(41000 / 31000, abs=1e-3)
    assert cut["c32"]["doorbells_per_request_before"] == 0.375
    assert cut["c32"]["doorbells_per_request_after"] == 0.06
    assert cut["c1"]["doorbells_per_request_before"] == cut["c1"]["doorbells_per_request_after"]
    assert cut["profile_overhead"]["c1"] == pytest.approx(1 - 8100 / 9100, abs=1e-3)
    table = bprofile.table(variants())
    assert "profiled c32: 41,000 req/s, p99 2.50 ms (median of 2)" in table
    assert "tx_doorbell" in table and "plain c1: 9,100 req/s" in table


@pytest.mark.parametrize("argv, message", [
    (["--duration", "0"], "--duration 0: must be 1..120 seconds"),
    (["--rounds", "11"], "--rounds 11: must be 1..10"),
    (["--nic", "rtl8139"], "invalid choice"),
])
def test_bad_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        bprofile.parse_args(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_report_shows_the_profile_and_the_cut(tmp_path):
    pytest.importorskip("matplotlib")
    (tmp_path / "http.json").write_text(json.dumps(http_doc()))
    v = variants()
    (tmp_path / "profile.json").write_text(json.dumps(
        {"variants": v, "doorbell_cut": bprofile.cut_effect(v), "commands": {"c1": "wrk"}}))
    # connrate.json as bench/connrate.py writes it: its "config" has a count of boots
    (tmp_path / "connrate.json").write_text(json.dumps(
        {"config": {"boots": 2}, "ovmf": {"boots": [{"rps": 3062.0}, {"rps": None}]}}))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- bench:begin -->\n<!-- bench:end -->\n")
    assert report.main(["--results", str(tmp_path), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert "| tx_doorbell | 1.0 | 10,000 | 50% |" in text
    assert "- ovmf: 3,062, failed req/s" in text
    assert "- c32: 31,000 -> 41,000 req/s (x1.32), doorbells per request 0.375 -> 0.06" in text
    latest = json.loads((tmp_path / "latest.json").read_text())
    assert latest["commands"]["profile"] == {"c1": "wrk"} and "profile" in latest["parts"]


def test_report_names_kv_figures_as_redis_benchmark_does():
    assert report.kv_label("P16_GET_p99_ms") == "-P 16 GET p99 [ms]"
    assert report.kv_label("P1_SET_rps") == "-P 1 SET req/s"
    assert report.kv_label("boot_s") == "boot_s"
