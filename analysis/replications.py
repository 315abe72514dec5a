"""How many replications a question needs: the confidence-interval method and its look-ahead.

The confidence-interval method (Robinson, *Simulation: The Practice of Model
Development and Use*, 2014) runs replications, and after each one computes the
95% interval of the running mean; the *relative precision* is the interval's
half-width over the mean's size. Enough replications have been run once the
relative precision is at or below the target. Hoad, Robinson and Davies'
replications algorithm (Journal of the Operational Research Society 61, 2010)
adds a look-ahead: the precision must stay at or below the target for the next
``look_ahead`` replications (``look_ahead * n / 100`` once past 100), so that one
lucky replication does not stop the count too early.

This module only reads replications already run (``analysis/`` never
simulates); :mod:`gpsim.replications` and ``compare --precision`` run them.

Why not the ``sim-tools`` package, which implements the same algorithm
(``ReplicationsAlgorithm``)? It drives the model itself, one replication at a
time, through its own interface, whereas this project's runs go through its one
executor, in parallel batches, on processes or a Dask cluster, with common
random numbers; and a comparison needs the same reasoning on *paired
differences*, which sim-tools does not cover. The method is a few lines over the
Student-t interval this project already uses (:func:`analysis.stats.mean_ci`),
and ``tests/test_replications.py`` checks it against the formulas.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from .stats import mean_ci

#: The measures a precision target applies to by default: what a practice decides on.
KEY_MEASURES = ("routine_wait_mean_days", "urgent_wait_hours_mean", "slicc", "upc_mean",
                "ae_per_1000")

#: Replications the method starts judging from (the algorithm's initial replications).
INITIAL = 3

#: The look-ahead of Hoad, Robinson and Davies (their default and sim-tools').
LOOK_AHEAD = 5


def running_precision(values, level: float = 0.95) -> pd.DataFrame:
    """The confidence-interval method's table: after each replication, the interval so far.

    Columns: ``replications, mean, std, low, high, half_width, relative_precision``
    (half-width over the mean's size; NaN for the first replication, and infinite
    when the mean is 0 and the half-width is not).
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    rows = []
    for n in range(1, x.size + 1):
        part = x[:n]
        mean, low, high, _ = mean_ci(part, level)
        hw = high - mean
        std = float(part.std(ddof=1)) if n > 1 else float("nan")
        if math.isnan(hw):
            rel = float("nan")
        elif mean == 0:
            rel = 0.0 if hw == 0 else math.inf
        else:
            rel = hw / abs(mean)
        rows.append({"replications": n, "mean": mean, "std": std, "low": low,
                     "high": high, "half_width": hw, "relative_precision": rel})
    return pd.DataFrame(rows)


def look_ahead(n: int, base: int = LOOK_AHEAD) -> int:
    """How many further replications must keep the precision (Hoad et al.'s kLimit)."""
    return base if n <= 100 else base * n // 100


def replications_reached(table: pd.DataFrame, precision: float,
                         base: int = LOOK_AHEAD) -> int | None:
    """The fewest replications at which the precision is reached and kept, or None.

    ``table`` is :func:`running_precision`'s. The count ``n`` qualifies when the
    relative precision is at or below ``precision`` at ``n`` and at every count
    up to ``n + look_ahead(n)``, all of which must have been run; none before
    :data:`INITIAL` counts.
    """
    rel = table["relative_precision"].to_numpy(dtype=float)
    ok = rel <= precision
    for i in range(INITIAL - 1, rel.size):
        end = i + look_ahead(i + 1) + 1
        if end > rel.size:
            return None
        if ok[i:end].all():
            return i + 1
    return None


def replications_for(values, target_half_width: float, level: float = 0.95,
                     cap: int = 100_000) -> int | None:
    """Replications whose interval would have a half-width at or below ``target_half_width``.

    Projected from the spread of ``values`` (the usual formula, solved with the
    t quantile for the projected count): the smallest ``n`` with
    ``t(n - 1) * s / sqrt(n) <= target``. None with fewer than two values, or
    when more than ``cap`` would be needed; 2 if the values do not vary.
    """
    from scipy.special import stdtrit

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2 or not target_half_width > 0:
        return None
    s = float(x.std(ddof=1))
    if s == 0:
        return 2
    q = 0.5 + level / 2
    n = max(2, math.ceil((1.96 * s / target_half_width) ** 2))  # the normal guess, then up
    while n <= cap:
        if stdtrit(n - 1, q) * s / math.sqrt(n) <= target_half_width:
            # the guess may overshoot when t is close to z: step down to the smallest
            while n > 2 and stdtrit(n - 2, q) * s / math.sqrt(n - 1) <= target_half_width:
                n -= 1
            return n
        n += max(1, n // 50)
    return None


@dataclasses.dataclass(frozen=True)
class Advice:
    """What the method says for one measure of one scenario.

    Attributes:
        scenario, measure: what it is about.
        mean, half_width, relative_precision: at the replications run.
        run: replications run.
        reached: the fewest replications that reach and keep the precision (None: not yet).
        projected: replications the spread so far says would reach it (None: cannot tell).
    """

    scenario: str
    measure: str
    mean: float
    half_width: float
    relative_precision: float
    run: int
    reached: int | None
    projected: int | None

    @property
    def wanted(self) -> int | None:
        """Replications to run for this measure (None: cannot tell).

        Those that reached the precision, or else the projection plus its look-ahead (and
        at least one more than were run).
        """
        if self.reached is not None:
            return self.reached
        if self.projected is None:
            return None
        n = max(self.projected, self.run)
        return max(n + look_ahead(n), self.run + 1)


def advise(runs: pd.DataFrame, precision: float, measures=KEY_MEASURES,
           level: float = 0.95) -> list[Advice]:
    """The method's advice for each scenario and measure of ``runs``.

    ``runs`` has one row per run (``scenario``, ``replication`` and the measures),
    taken in replication order; measures absent or never finite are skipped.
    """
    out = []
    for scenario, g in runs.sort_values("replication").groupby("scenario", sort=False):
        for m in measures:
            if m not in g.columns:
                continue
            x = g[m].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            if x.size == 0:
                continue
            table = running_precision(x, level)
            last = table.iloc[-1]
            mean = float(last["mean"])
            projected = (replications_for(x, precision * abs(mean), level)
                         if mean != 0 else None)
            out.append(Advice(str(scenario), m, mean, float(last["half_width"]),
                              float(last["relative_precision"]), int(x.size),
                              replications_reached(table, precision), projected))
    return out


def needed(advice: list[Advice]) -> int | None:
    """Replications that would reach the precision on every measure (None: cannot tell).

    Each measure's :attr:`Advice.wanted`, the largest.
    """
    counts = [a.wanted for a in advice]
    if not counts or any(n is None for n in counts):
        return None
    return max(counts)


def to_settle(differences, level: float = 0.95) -> int | None:
    """Paired replications that would tell a difference of the size measured from none.

    The projected count whose interval's half-width falls below the size of the
    mean difference (None when the mean is 0 or the differences are too few).
    """
    x = np.asarray(differences, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2 or x.mean() == 0:
        return None
    return replications_for(x, abs(float(x.mean())), level)


def replications_plot(table: pd.DataFrame, precision: float, path, title: str = ""):
    """Each measure's running mean with its interval, and its relative precision, by count.

    ``table``: :func:`running_precision`'s rows with a ``measure`` column. Left:
    the running mean and its 95% interval; right: the half-width as a share of
    the mean, with the target as a dashed line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .labels import measure

    names = list(dict.fromkeys(table["measure"]))
    fig, axes = plt.subplots(len(names), 2, figsize=(10, 2.3 * len(names) + 0.6), dpi=100,
                             squeeze=False)
    for row, m in enumerate(names):
        t = table[table["measure"] == m]
        n = t["replications"].to_numpy()
        left, right = axes[row]
        left.fill_between(n, t["low"], t["high"], color="#1b6ca8", alpha=0.18, lw=0,
                          label="95% interval")
        left.plot(n, t["mean"], color="#1b6ca8", lw=1.6, marker="o", ms=3, label="mean so far")
        left.set_title(measure(m).label, fontsize=10, loc="left")
        left.grid(alpha=0.3)
        rel = t["relative_precision"].to_numpy(dtype=float) * 100
        right.plot(n, rel, color="#c0392b", lw=1.6, marker="o", ms=3)
        right.axhline(precision * 100, color="#333333", ls="--", lw=1,
                      label=f"target {precision:.0%}")
        finite = rel[np.isfinite(rel)]
        top = max(precision * 300, float(np.nanpercentile(finite, 90)) if finite.size else 1)
        right.set_ylim(0, top)
        right.set_ylabel("half-width, % of mean", fontsize=8)
        right.grid(alpha=0.3)
        if row == 0:
            left.legend(fontsize=8, loc="best")
            right.legend(fontsize=8, loc="upper right")
        if row == len(names) - 1:
            left.set_xlabel("replications")
            right.set_xlabel("replications")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
