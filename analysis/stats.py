"""Means, confidence intervals and paired differences over replications.

Replication ``k`` of every scenario uses the same random streams (common
random numbers), so differences between scenarios are taken replication by
replication (paired), which removes most of the shared noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and Student-t confidence interval of the finite values: (mean, low, high, n).

    With one value the interval is undefined (NaN); with none, everything is NaN.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    mean = float(x.mean())
    if n == 1:
        return mean, np.nan, np.nan, 1
    # The t quantile (what scipy.stats.t.ppf calls); imported here, as only intervals need
    # it (0.1 to 0.2 s that a single run or a one-replication network never spends).
    from scipy.special import stdtrit

    half = float(stdtrit(n - 1, 0.5 + level / 2) * x.std(ddof=1) / np.sqrt(n))
    return mean, mean - half, mean + half, n


def summarise_replications(runs: pd.DataFrame, metrics, level: float = 0.95) -> pd.DataFrame:
    """One row per scenario and metric: ``scenario, metric, mean, low, high, n``.

    ``runs`` has one row per run with columns ``scenario``, ``replication`` and the metrics.
    Scenarios keep their order of first appearance.
    """
    return intervals_by(runs, "scenario", metrics, level)


def intervals_by(frame: pd.DataFrame, by: str, metrics, level: float = 0.95) -> pd.DataFrame:
    """:func:`mean_ci` of every metric within each group: ``<by>, metric, mean, low, high, n``.

    Groups keep their order of first appearance, and metrics their order. The
    figures are :func:`mean_ci`'s to the last bit: a group's metrics whose
    values are all finite are taken together, as whole rows of one array (the
    same sums in the same order); any other is passed to :func:`mean_ci` alone.
    (A cell at a time, a 40-practice network's intervals took 0.1 s.)
    """
    metrics = list(metrics)
    groups = frame.groupby(by, sort=False).indices
    if not metrics or not groups:
        return pd.DataFrame([])
    keys = sorted(groups, key=lambda k: groups[k][0])  # first appearance
    values = np.column_stack([np.asarray(frame[m], dtype=float) for m in metrics])
    t_of: dict[int, float] = {}
    out = {name: np.empty(len(keys) * len(metrics)) for name in ("mean", "low", "high")}
    counts = np.empty(len(keys) * len(metrics), dtype=np.int64)
    for gi, key in enumerate(keys):
        block = np.ascontiguousarray(values[groups[key]].T)  # a metric's values in a row
        r = block.shape[1]
        whole = np.isfinite(block).all(axis=1)
        at = slice(gi * len(metrics), (gi + 1) * len(metrics))
        mean, low, high = (np.full(len(metrics), np.nan) for _ in range(3))
        mean[whole] = block[whole].mean(axis=1)
        if r > 1 and whole.any():
            if r not in t_of:
                from scipy.special import stdtrit  # as in mean_ci

                t_of[r] = stdtrit(r - 1, 0.5 + level / 2)
            half = t_of[r] * block[whole].std(axis=1, ddof=1) / np.sqrt(r)
            low[whole], high[whole] = mean[whole] - half, mean[whole] + half
        n = np.where(whole, r, 0)
        for j in np.flatnonzero(~whole):  # some values missing or infinite
            mean[j], low[j], high[j], n[j] = mean_ci(block[j], level)
        out["mean"][at], out["low"][at], out["high"][at], counts[at] = mean, low, high, n
    return pd.DataFrame({by: np.repeat(np.array(keys, dtype=object), len(metrics)),
                         "metric": np.tile(np.array(metrics, dtype=object), len(keys)),
                         **out, "n": counts})


def paired_differences(runs: pd.DataFrame, metrics, baseline: str,
                       level: float = 0.95) -> pd.DataFrame:
    """Each scenario minus the baseline, replication by replication, with its interval.

    Only replications present in both are paired. Rows:
    ``scenario, metric, difference, low, high, n``; the interval excludes 0
    when the difference is clear at that level.
    """
    metrics = list(metrics)
    base = runs[runs["scenario"] == baseline].set_index("replication")
    rows = []
    for scenario, g in runs.groupby("scenario", sort=False):
        if scenario == baseline:
            continue
        g = g.set_index("replication")
        common = g.index.intersection(base.index)
        # every metric's paired rows taken at once (not looked up metric by metric)
        d_all = (g.loc[common, metrics].to_numpy(dtype=float)
                 - base.loc[common, metrics].to_numpy(dtype=float))
        for j, m in enumerate(metrics):
            mean, low, high, n = mean_ci(d_all[:, j], level)
            rows.append({"scenario": scenario, "metric": m, "difference": mean, "low": low,
                         "high": high, "n": n})
    return pd.DataFrame(rows, columns=["scenario", "metric", "difference", "low", "high", "n"])
