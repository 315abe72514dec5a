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
    rows = []
    for scenario, g in runs.groupby("scenario", sort=False):
        for m in metrics:
            mean, low, high, n = mean_ci(g[m], level)
            rows.append({"scenario": scenario, "metric": m, "mean": mean, "low": low,
                         "high": high, "n": n})
    return pd.DataFrame(rows)


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
