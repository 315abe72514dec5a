"""The report's distributions kept as summaries that add up run by run (analysis.spread)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.cbook import boxplot_stats

from analysis.spread import IndexValues, WaitsWithin, box_stats, wait_grid


@pytest.mark.parametrize("seed", range(6))
def test_box_statistics_from_counts_are_matplotlib_s_from_the_values(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    visits = rng.integers(3, 12, n)
    x = (rng.binomial(visits, rng.uniform(0.1, 0.9)) / visits).astype(np.float32).astype(float)
    if seed == 0:
        x = np.array([0.5])
    if seed == 1:
        x = np.concatenate([x, [0.0, 0.0, 1.0]])  # values beyond the whiskers
    values, counts = np.unique(x, return_counts=True)
    got = box_stats(values, counts)
    want = boxplot_stats(x)[0]
    for ours, theirs in (("q1", "q1"), ("median", "med"), ("q3", "q3"), ("whislo", "whislo"),
                         ("whishi", "whishi")):
        assert got[ours] == want[theirs], (ours, got[ours], want[theirs])
    assert got["n"] == x.size


def test_index_values_added_run_by_run_equal_the_pooled_values():
    rng = np.random.default_rng(3)
    runs = [pd.DataFrame({k: np.round(rng.uniform(0, 1, 300), 2) for k in ("upc", "coc", "secon")})
            for _ in range(5)]
    runs[2].loc[:10, "coc"] = np.nan
    by_run, pooled = IndexValues(), IndexValues()
    for df in runs:
        by_run.add("a", df)
    pooled.add("a", pd.concat(runs))
    pd.testing.assert_frame_equal(by_run.table(["a"]), pooled.table(["a"]))
    row = by_run.table(["a"]).set_index("index").loc["coc"]
    assert row["n"] == 5 * 300 - 11


def test_waits_within_added_run_by_run_are_the_pooled_ecdf():
    rng = np.random.default_rng(4)
    runs = [pd.DataFrame({"urgency": rng.choice(["urgent", "routine", "follow_up"], 500),
                          "wait_days": rng.exponential(2.0, 500).astype(np.float32)})
            for _ in range(4)]
    within = WaitsWithin()
    for df in runs:
        within.add("a", df)
    table = within.table(["a", "missing"])
    pooled = pd.concat(runs)
    for urgency, end, scale in (("urgent", 48.0, 24.0), ("routine", 42.0, 1.0)):
        w = np.sort(pooled.loc[pooled["urgency"] == urgency, "wait_days"].to_numpy(float) * scale)
        mine = table[table["urgency"] == urgency]
        assert (mine["n"] == w.size).all()
        assert np.array_equal(mine["within"], np.searchsorted(w, wait_grid(end), side="right"))
    assert set(table["scenario"]) == {"a"}, "an approach with no waits has no rows"


@pytest.mark.parametrize("kind", ["object", "category", "str"])
def test_waits_within_reads_the_urgency_as_any_table_stores_it(kind):
    """Python strings, categories (a run's own tables) or Arrow strings: the same counts."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"urgency": np.array(rng.choice(["urgent", "routine", "review"], 800),
                                           dtype=object),
                       "wait_days": rng.exponential(2.0, 800).astype(np.float32)})
    plain, stored = WaitsWithin(), WaitsWithin()
    plain.add("a", df)
    stored.add("a", df.assign(urgency=df["urgency"].astype(kind)))
    assert plain.n == stored.n and set(plain.n) == {("a", "urgent"), ("a", "routine")}
    for key in plain.n:
        assert np.array_equal(plain.within[key], stored.within[key])
