"""bench/connrate.py without booting: ab's figures, what makes a boot not count, the summary."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "bench"))
import connrate  # noqa: E402

AB_OUT = """\
Document Path:          /
Document Length:        48 bytes

Concurrency Level:      1
Complete requests:      2000
Failed requests:        0
Requests per second:    1523.41 [#/sec] (mean)
Time per request:       0.656 [ms] (mean)
Percentage of the requests served within a certain time (ms)
  50%      1
  99%      3
 100%     12 (longest request)
"""
CSV = "Percentage served,Time in ms\n0,0.312\n50,0.598\n90,0.811\n99,2.904\n100,12.1\n"


def test_ab_figures_from_stdout_and_csv():
    r = connrate.parse_ab(AB_OUT, CSV)
    assert r["rps"] == pytest.approx(1523.41) and r["mean_ms"] == pytest.approx(0.656)
    assert (r["p50_ms"], r["p90_ms"], r["p99_ms"], r["max_ms"]) == (0.598, 0.811, 2.904, 12)
    assert r["non_2xx"] == 0 and connrate.ab_problem(r, 2000) is None


@pytest.mark.parametrize("edit, problem", [
    (("Failed requests:        0", "Failed requests:        7"), "ab: Failed requests: 7"),
    (("48 bytes", "12 bytes"), "ab: document length 12, not the 48-byte page"),
    (("Complete requests:      2000", "Complete requests:      1999"),
     "ab completed 1999 of 2000 requests"),
    (("Concurrency Level:      1", "Non-2xx responses:      5"), "ab: Non-2xx responses: 5"),
])
def test_a_bad_run_does_not_count(edit, problem):
    assert connrate.ab_problem(connrate.parse_ab(AB_OUT.replace(*edit)), 2000) == problem
    assert connrate.ab_problem(connrate.parse_ab(""), 2000) == "ab printed no result"


def test_summary_over_counted_boots_only():
    boots = [dict(connrate.parse_ab(AB_OUT.replace("1523.41", v), CSV)) for v in
             ("5000.0", "7000.0", "6000.0")]
    boots.append({"error": "ab: Failed requests: 3", "rps": 100.0})
    s = connrate.summarize(boots)
    assert s["counted"] == 3 and (s["min"], s["median"], s["max"]) == (5000.0, 6000.0, 7000.0)
    assert "failed" in connrate.table({"direct": s})
