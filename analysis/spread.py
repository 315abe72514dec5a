"""The distributions the report draws, kept as summaries that add up run by run.

A comparison's wait plot (an ECDF per approach) and continuity plot (box plots
of per-patient UPC, COC and SECON) pool every replication. Rather than hold
every wait and every patient of every run, the report keeps:

* :class:`WaitsWithin`: per approach and urgency, how many waits fall within
  each point of the plot's axis (the ECDF at the 2,001 points it is drawn at),
  and how many waits in all: a fixed size whatever the number of runs;
* :class:`IndexValues`: per approach and index, each distinct value and how
  often it occurs (the indices are ratios of small counts, so a few thousand
  distinct values at most), from which the box plot's statistics are exact
  (:func:`box_stats`, as matplotlib computes them from the values).

Both are filled one run at a time (a sweep streams its runs through them) or
from a stacked table (a comparison), and give the same tables either way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The wait plot's axes: urgency, where the axis ends, the factor from days to its unit.
WAIT_AXES = (("urgent", 48.0, 24.0), ("routine", 42.0, 1.0))
#: Points each ECDF is drawn at (finer than its pixels).
GRID_POINTS = 2001
#: The per-patient continuity indices drawn as box plots.
PATIENT_INDICES = ("upc", "coc", "secon")


def wait_grid(end: float) -> np.ndarray:
    """The points of a wait axis ending at ``end`` at which its ECDF is drawn."""
    return np.linspace(0.0, end, GRID_POINTS)


class _Summary:
    """A summary filled one run at a time (``add``), or from a stacked table."""

    def add(self, label: str, table: pd.DataFrame) -> None:
        raise NotImplementedError

    def add_stacked(self, table: pd.DataFrame) -> None:
        """A stacked table of several approaches' runs (with a ``scenario`` column)."""
        for label, part in table.groupby("scenario", sort=False, observed=True):
            self.add(str(label), part)


class WaitsWithin(_Summary):
    """Waits within each point of the plot's axis, per approach and urgency."""

    def __init__(self) -> None:
        self.within: dict[tuple[str, str], np.ndarray] = {}
        self.n: dict[tuple[str, str], int] = {}

    def add(self, label: str, waits: pd.DataFrame) -> None:
        """One run's waits (``urgency``, ``wait_days``) of the approach ``label``."""
        # Compared as the column stores it (categories, Arrow strings): turning it into
        # Python strings first took most of the time (0.5 of 0.67 s for a network's run).
        urgency = waits["urgency"]
        wait = waits["wait_days"].to_numpy(dtype=float)
        for name, end, scale in WAIT_AXES:
            w = np.sort(wait[(urgency == name).to_numpy(dtype=bool)] * scale)
            if not w.size:
                continue
            key = (label, name)
            counts = np.searchsorted(w, wait_grid(end), side="right").astype(np.int64)
            self.within[key] = self.within.get(key, 0) + counts
            self.n[key] = self.n.get(key, 0) + int(w.size)

    def merge(self, other: WaitsWithin) -> None:
        """Add another's counts (in any order: the sums are exact)."""
        for key, n in other.n.items():
            self.within[key] = self.within.get(key, 0) + other.within[key]
            self.n[key] = self.n.get(key, 0) + n

    def table(self, labels: list[str]) -> pd.DataFrame:
        """``scenario, urgency, at, within, n``: the ECDF is ``within / n`` at ``at``."""
        parts = []
        for label in labels:
            for name, end, _ in WAIT_AXES:
                key = (label, name)
                if key in self.n:
                    parts.append(pd.DataFrame({
                        "scenario": label, "urgency": name, "at": wait_grid(end),
                        "within": self.within[key], "n": self.n[key]}))
        if not parts:
            return pd.DataFrame({"scenario": pd.Series(dtype=str),
                                 "urgency": pd.Series(dtype=str), "at": pd.Series(dtype=float),
                                 "within": pd.Series(dtype=np.int64),
                                 "n": pd.Series(dtype=np.int64)})
        return pd.concat(parts, ignore_index=True)


class IndexValues(_Summary):
    """Each distinct value of each per-patient index and its count, per approach."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def add(self, label: str, pc: pd.DataFrame) -> None:
        """One run's per-patient indices (``upc``, ``coc``, ``secon``) of approach ``label``."""
        for name in PATIENT_INDICES:
            v = pc[name].dropna().to_numpy(dtype=float)
            self._put((label, name), v, np.ones(v.size, dtype=np.int64))

    def merge(self, other: IndexValues) -> None:
        """Add another's values and counts (in any order: the counts are exact)."""
        for key, (v, c) in other.values.items():
            self._put(key, v, c)

    def _put(self, key: tuple[str, str], v: np.ndarray, c: np.ndarray) -> None:
        if key in self.values:
            old_v, old_c = self.values[key]
            v, c = np.concatenate([old_v, v]), np.concatenate([old_c, c])
        u, inverse = np.unique(v, return_inverse=True)
        self.values[key] = (u, np.bincount(inverse, weights=c, minlength=u.size).astype(np.int64))

    def table(self, labels: list[str]) -> pd.DataFrame:
        """``scenario, index, q1, median, q3, whislo, whishi, n`` (:func:`box_stats`)."""
        rows = []
        for label in labels:
            for name in PATIENT_INDICES:
                values, counts = self.values.get((label, name), (np.zeros(0), np.zeros(0, int)))
                rows.append({"scenario": label, "index": name, **box_stats(values, counts)})
        return pd.DataFrame(rows)


def lerp(a: float, b: float, t: float) -> float:
    """Linear interpolation as NumPy's percentile does it (exact at both ends)."""
    diff = b - a
    return a + diff * t if t < 0.5 else b - diff * (1.0 - t)


def box_stats(values: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    """A box plot's statistics from distinct sorted ``values`` and their ``counts``.

    The quartiles are NumPy's linear percentiles of the data the counts stand
    for; the whiskers reach the furthest value within 1.5 interquartile ranges
    of the box, as :func:`matplotlib.cbook.boxplot_stats` draws them. NaN when
    there is no value.
    """
    n = int(counts.sum())
    if n == 0:
        return dict.fromkeys(("q1", "median", "q3", "whislo", "whishi"), np.nan) | {"n": 0}
    cum = np.cumsum(counts)

    def at(rank: int) -> float:
        return float(values[np.searchsorted(cum, rank, side="right")])

    def percentile(q: float) -> float:
        pos = q / 100.0 * (n - 1)
        lo = int(np.floor(pos))
        return lerp(at(lo), at(min(lo + 1, n - 1)), pos - lo)

    q1, median, q3 = percentile(25), percentile(50), percentile(75)
    iqr = q3 - q1
    high = values[values <= q3 + 1.5 * iqr]
    low = values[values >= q1 - 1.5 * iqr]
    whishi = q3 if not high.size or high.max() < q3 else float(high.max())
    whislo = q1 if not low.size or low.min() > q1 else float(low.min())
    return {"q1": q1, "median": median, "q3": q3, "whislo": whislo, "whishi": whishi, "n": n}
