"""Confidence intervals and paired differences against cases worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.stats import mean_ci, paired_differences, summarise_replications


def test_mean_ci_known_case():
    # x = 1..5: mean 3, SD sqrt(2.5), t(0.975, 4) = 2.776445; half = 2.776445 * 1.581139 / sqrt 5
    mean, low, high, n = mean_ci([1, 2, 3, 4, 5])
    half = 2.7764451 * np.sqrt(2.5) / np.sqrt(5)
    assert (mean, n) == (3.0, 5)
    assert low == pytest.approx(3 - half, abs=1e-6) and high == pytest.approx(3 + half, abs=1e-6)
    assert high - low == pytest.approx(3.926, abs=0.001)


def test_mean_ci_edge_cases():
    assert np.isnan(mean_ci([])[0])
    m, lo, hi, n = mean_ci([2.0, np.nan])
    assert m == 2.0 and np.isnan(lo) and np.isnan(hi) and n == 1


def test_paired_differences_remove_shared_noise():
    # B = A + 1 exactly in every replication, with large shared noise: the paired
    # interval is exactly [1, 1], while the unpaired intervals overlap widely.
    a = np.array([10.0, 30.0, 20.0, 50.0])
    runs = pd.DataFrame({"scenario": ["A"] * 4 + ["B"] * 4, "replication": [0, 1, 2, 3] * 2,
                         "wait": np.concatenate([a, a + 1])})
    d = paired_differences(runs, ["wait"], baseline="A").iloc[0]
    assert d["difference"] == pytest.approx(1.0)
    assert d["low"] == pytest.approx(1.0) and d["high"] == pytest.approx(1.0)
    s = summarise_replications(runs, ["wait"]).set_index("scenario")
    assert s.loc["A", "high"] > s.loc["B", "low"]


def test_paired_differences_pair_by_replication_number():
    runs = pd.DataFrame({"scenario": ["A", "A", "B", "B"], "replication": [0, 1, 1, 0],
                         "x": [1.0, 5.0, 7.0, 2.0]})
    d = paired_differences(runs, ["x"], baseline="A").iloc[0]
    # Pairs: rep 0: 2 - 1 = 1; rep 1: 7 - 5 = 2; mean 1.5, t(0.975, 1) = 12.706, SD 0.7071.
    assert d["difference"] == pytest.approx(1.5)
    assert d["high"] - d["difference"] == pytest.approx(12.7062 * 0.70711 / np.sqrt(2), rel=1e-4)


def test_report_verdicts_in_plain_words():
    from analysis.report import _verdict

    def d(diff, lo, hi):
        return pd.Series({"difference": diff, "low": lo, "high": hi})

    assert _verdict(d(-1.6, -2.3, -1.0), better=-1, baseline=10.0) == "lower (better)"
    assert _verdict(d(0.2, 0.1, 0.3), better=-1, baseline=10.0) == "higher (worse)"
    assert _verdict(d(0.5, -0.1, 1.1), better=1, baseline=10.0) == "no clear difference"
    assert _verdict(d(-0.001, -0.002, -0.0005), better=1, baseline=0.86).startswith(
        "a clear but negligible")
    assert _verdict(d(0.02, 0.01, 0.03), better=0, baseline=0.9) == "higher"
    assert _verdict(d(1.0, np.nan, np.nan), better=1) == "too few replications to say"
