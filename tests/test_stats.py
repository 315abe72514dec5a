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


def test_differences_are_judged_in_plain_words():
    from analysis.verdict import judge

    assert judge("routine_wait_mean_days", -1.6, -2.3, -1.0) == "better"
    assert judge("routine_wait_mean_days", 0.2, 0.1, 0.3) == "worse"
    assert judge("slicc", 0.05, -0.01, 0.11) == "unclear"
    assert judge("slicc", 0.004, 0.002, 0.006) == "small"  # under a percentage point
    assert judge("same_day_share", 0.02, 0.01, 0.03) == "higher"  # neither way is better
    assert judge("slicc", 0.1, np.nan, np.nan) == "unclear"


def test_numbers_are_for_people():
    from analysis.labels import difference, number, short_names

    assert number("appointments", 58130.0) == "58,130"
    assert number("slicc", 0.4931) == "49%" and number("dna_rate", 0.0521) == "5.2%"
    assert number("routine_wait_mean_days", 4.2, unit=True) == "4.2 days"
    assert number("upc_mean", float("nan")) == "n/a"
    assert difference("slicc", 0.137) == "+13.7 points"
    assert difference("routine_wait_mean_days", -0.3) == "\u22120.3 days"
    assert difference("upc_mean", -0.0001) == "+0.00"
    assert short_names({"a": "Default practice, access-first", "b": "Default practice, usual"}) \
        == {"a": "access-first", "b": "usual"}
    assert short_names({"a": "One", "b": "Two"}) == {"a": "One", "b": "Two"}


def _cell_by_cell(frame, by, metrics, level=0.95):
    rows = []
    for key, g in frame.groupby(by, sort=False):
        for m in metrics:
            mean, low, high, n = mean_ci(g[m], level)
            rows.append({by: key, "metric": m, "mean": mean, "low": low, "high": high, "n": n})
    return pd.DataFrame(rows)


def test_intervals_by_group_are_mean_ci_to_the_last_bit():
    from analysis.stats import intervals_by

    rng = np.random.default_rng(5)
    parts = []
    # groups of 1, 3 and 20 rows (past 8, numpy sums in pairs), interleaved, and one of
    # 3 rows whose metrics have missing and infinite values
    for key, r in (("one", 1), ("three", 3), ("twenty", 20), ("gaps", 3)):
        parts.append(pd.DataFrame({"scenario": key, "replication": range(r),
                                   "a": rng.normal(3, 1, r) * 1e3 / 7,
                                   "b": rng.integers(0, 9, r),
                                   "c": rng.random(r) / 3}))
    frame = pd.concat(parts, ignore_index=True).sample(frac=1, random_state=2)
    frame.loc[frame["scenario"] == "gaps", "a"] = [np.nan, 1.5, 2.25]
    frame.loc[frame["scenario"] == "gaps", "c"] = [np.inf, np.nan, np.nan]
    for level in (0.95, 0.9):
        got = intervals_by(frame, "scenario", ["c", "a", "b"], level)
        want = _cell_by_cell(frame, "scenario", ["c", "a", "b"], level)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert got.to_csv() == want.to_csv()
    assert intervals_by(frame, "scenario", []).empty
