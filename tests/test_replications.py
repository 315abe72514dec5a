"""How many replications: the confidence-interval method, its look-ahead, and where it is used.

The method is checked against its formulas (the Student-t interval from
scipy.stats, worked independently of the code), the look-ahead against Hoad,
Robinson and Davies' rule, the projection against the interval it promises,
``gpsim replications`` end to end on a small practice, ``compare --precision``
against a plain ``compare`` with the same count (byte-identical tables), and
the verdict's words on differences it cannot yet tell from none.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from scipy import stats

from analysis.replications import (
    INITIAL,
    Advice,
    advise,
    look_ahead,
    needed,
    replications_for,
    replications_reached,
    running_precision,
    to_settle,
)
from analysis.verdict import verdict

SMALL = ["--set", "population.size=1500", "--set", "start_date=2025-01-06", "--set",
         "warmup_days=14", "--set", "duration_days=42"]


def sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


def test_running_precision_is_the_student_t_interval_after_each_replication():
    x = np.random.default_rng(3).normal(10.0, 2.0, 12)
    table = running_precision(x)
    assert list(table["replications"]) == list(range(1, 13))
    assert math.isnan(table.loc[0, "half_width"])
    for n in (2, 5, 12):
        part = x[:n]
        low, high = stats.t.interval(0.95, n - 1, loc=part.mean(), scale=stats.sem(part))
        row = table.iloc[n - 1]
        assert row["low"] == pytest.approx(low) and row["high"] == pytest.approx(high)
        assert row["relative_precision"] == pytest.approx((high - low) / 2 / part.mean())


def test_the_look_ahead_follows_hoad_robinson_and_davies():
    assert [look_ahead(n) for n in (3, 50, 100)] == [5, 5, 5]
    assert look_ahead(200) == 10 and look_ahead(1000) == 50


def _table(rel):
    return pd.DataFrame({"replications": range(1, len(rel) + 1), "relative_precision": rel})


def test_precision_must_be_reached_and_kept_for_the_look_ahead():
    nan = float("nan")
    # Within the target from 4 on, and 5 more kept: reached at 4.
    assert replications_reached(_table([nan, .2, .1, .04, .04, .03, .03, .03, .02]), .05) == 4
    # Dips within at 3, out again at 5: the dip does not count.
    assert replications_reached(
        _table([nan, .2, .04, .04, .06, .04, .04, .04, .04, .04, .04]), .05) == 6
    # Within at the end but not yet kept for the look-ahead: not reached.
    assert replications_reached(_table([nan, .2, .1, .1, .1, .1, .04, .04]), .05) is None
    # Never judged before the initial replications.
    assert INITIAL == 3
    assert replications_reached(_table([nan, .01, .01, .01, .01, .01, .01, .01]), .05) == 3


def test_the_projection_gives_the_fewest_replications_with_that_half_width():
    x = np.random.default_rng(7).normal(5.0, 1.5, 10)
    s = x.std(ddof=1)
    for target in (0.2, 0.5, 1.0):
        n = replications_for(x, target)
        assert stats.t.ppf(0.975, n - 1) * s / math.sqrt(n) <= target
        assert stats.t.ppf(0.975, n - 2) * s / math.sqrt(n - 1) > target
    assert replications_for([1.0, 1.0, 1.0], 0.1) == 2
    assert replications_for([1.0], 0.1) is None


def test_to_settle_is_the_count_whose_interval_excludes_a_difference_that_size():
    d = np.random.default_rng(1).normal(0.3, 1.0, 10)
    n = to_settle(d)
    assert stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n) <= abs(d.mean())
    assert to_settle(np.zeros(5)) is None


def test_advice_reaches_a_steady_measure_and_projects_a_noisy_one():
    rng = np.random.default_rng(5)
    runs = pd.DataFrame({"scenario": "a", "replication": range(20),
                         "slicc": rng.normal(0.40, 0.004, 20),
                         "ae_per_1000": rng.normal(300.0, 60.0, 20)})
    got = {a.measure: a for a in advise(runs, 0.05, ("slicc", "ae_per_1000", "absent"))}
    assert set(got) == {"slicc", "ae_per_1000"}
    assert got["slicc"].reached == INITIAL and got["slicc"].wanted == INITIAL
    noisy = got["ae_per_1000"]
    assert noisy.reached is None and noisy.projected > 20
    assert noisy.wanted == noisy.projected + look_ahead(noisy.projected)
    assert needed(list(got.values())) == noisy.wanted
    assert needed([Advice("a", "m", 0.0, 1.0, math.inf, 5, None, None)]) is None


def test_the_verdict_says_what_it_cannot_tell_apart_and_what_would_settle_it():
    rng = np.random.default_rng(11)
    n = 8
    base = pd.DataFrame({"scenario": "a", "replication": range(n),
                         "slicc": rng.normal(0.35, 0.01, n),
                         "routine_wait_mean_days": rng.normal(5.0, 0.3, n)})
    other = base.copy()
    other["scenario"] = "b"
    other["slicc"] += 0.05
    # a half-day difference, blurred so that 8 replications cannot tell it from none
    other["routine_wait_mean_days"] += 0.5 + rng.normal(0, 1.2, n)
    runs = pd.concat([base, other], ignore_index=True)
    rows = []
    for lb, g in runs.groupby("scenario"):
        for m in ("slicc", "routine_wait_mean_days"):
            rows.append({"scenario": lb, "metric": m, "mean": g[m].mean()})
    text = " ".join(verdict(pd.DataFrame(rows), runs, ["a", "b"], {"a": "A", "b": "B"}, n))
    assert "Not yet told from the baseline at 8 replications: B on routine wait (about " in text
    diffs = other["routine_wait_mean_days"].to_numpy() - base["routine_wait_mean_days"].to_numpy()
    assert f"about {to_settle(diffs):,} replications would settle" in text
    assert "compare --precision" in text


@pytest.mark.slow
def test_the_replications_command_writes_its_advice(tmp_path):
    out = tmp_path / "rep"
    p = sh("replications", "scenarios/default.yaml", "-r", "9", "--precision", "10%",
           "--measures", "slicc,routine_wait_mean_days", "--out", str(out), *SMALL)
    assert p.returncode == 0, p.stderr
    assert "confidence-interval method" in p.stdout and "Recommended:" in p.stdout
    advice = pd.read_csv(out / "advice.csv")
    assert list(advice["measure"]) == ["slicc", "routine_wait_mean_days"]
    table = pd.read_csv(out / "replications.csv")
    assert len(table) == 2 * 9
    assert (out / "replications.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "recommendation.txt").read_text().startswith("Method:")


def test_the_replications_command_refuses_bad_arguments():
    p = sh("replications", "scenarios/default.yaml", "-r", "5")
    assert p.returncode == 2 and "must be 8 or more" in p.stderr and "Traceback" not in p.stderr
    p = sh("replications", "scenarios/default.yaml", "--precision", "1.5")
    assert p.returncode == 2 and "above 0 and below 1" in p.stderr
    p = sh("replications", "scenarios/default.yaml", "--measures", "slicc,wait_time")
    assert p.returncode == 2 and "not a measure of summary.csv: wait_time" in p.stderr


@pytest.mark.slow
def test_compare_to_a_precision_adds_replications_and_equals_a_plain_compare(tmp_path):
    files = ["scenarios/policies/access_first.yaml", "scenarios/policies/usual_gp_first.yaml"]
    p = sh("compare", *files, "-r", "8", "--precision", "0.02", "--max-replications", "14",
           "--measures", "slicc", "--out", str(tmp_path / "p"), *SMALL)
    assert p.returncode == 0, p.stderr
    meta = json.loads((tmp_path / "p" / "comparison.json").read_text())
    n = meta["replications"]
    assert 8 < n <= 14 and meta["precision"]["target"] == 0.02
    assert "running to" in p.stdout
    plain = sh("compare", *files, "-r", str(n), "--out", str(tmp_path / "q"), *SMALL)
    assert plain.returncode == 0, plain.stderr
    for name in ("runs.csv", "comparison.csv", "differences.csv"):
        assert (tmp_path / "p" / name).read_bytes() == (tmp_path / "q" / name).read_bytes()
    report = (tmp_path / "p" / "report.html").read_text()
    assert "confidence-interval method" in report
    import html5lib

    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(report)
