"""How long a run must warm up before it is recorded: MSER-5 and Welch's method.

A run starts with an empty appointment book and with nobody knowing anybody;
what it records should not depend on that start. The analysis behind
``gpsim warmup`` (Robinson, *Simulation: the practice of model development and
use*, chapter 9):

* :func:`daily_series` reduces one long pilot run, recorded from its first
  day, to a value a day for each measure that matters (:data:`MEASURES`).
* :func:`mser` is MSER-5 (White 1997; Hoad, Robinson and Davies 2010): the
  truncation point that minimises the squared standard error of the mean of
  what is left, on batch means of five open days.
* Demand here is seasonal, so the steady state is a yearly cycle, not a level,
  and MSER-5 on the series itself would cut the seasons. It is applied to the
  *year-on-year difference* instead (each day's value minus the same weekday
  52 weeks later, averaged over replications): zero in the yearly cycle, away
  from zero while the start still shows. With less than two years, the series
  itself is used.
* :func:`welch_plot` draws Welch's moving averages of the replication-averaged
  series with the recommended truncation marked, and each year of the pilot
  over the weeks of the year, so a reader sees both the start wearing off and
  the seasons.

:func:`recommend` turns the truncation points into a warm-up in whole weeks,
and says when the book is not steady: when the last pilot year still differs
from the one before by more than :data:`STEADY_TOLERANCE` (demand above
capacity, or a slow drift), with the replications' interval.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from .stats import mean_ci

#: Measures the warm-up is judged on: (column, what it is, unit).
MEASURES = (
    ("routine_wait_days", "Routine wait, by day of request", "days"),
    ("urgent_wait_hours", "Urgent wait, by day of request", "hours"),
    ("gp_utilisation", "GP slots booked", "share"),
    ("booked_ahead", "Appointments in the book for later days", "appointments"),
)

#: Batch size of MSER-5 (open days).
BATCH = 5
#: Weeks in a pilot year (the run's years are 364 days, so weekdays line up).
YEAR_WEEKS = 52
#: The last pilot year's relative change from the one before, beyond which the book is
#: not called steady (when the interval excludes zero).
STEADY_TOLERANCE = 0.05


def daily_series(appointments: pd.DataFrame, clinician_days: pd.DataFrame,
                 start: pd.Timestamp, n_days: int, gp_roles: tuple[str, ...] = ("gp",)
                 ) -> pd.DataFrame:
    """One pilot run's value of each measure on each open day (run recorded from day 0).

    Args:
        appointments: the run's appointments table.
        clinician_days: the run's clinician-days table.
        start: the run's first day.
        n_days: days recorded.
        gp_roles: roles counted as GPs for utilisation.

    Days on which the practice is shut (no available slots) are left out.
    """
    a = appointments

    def day_of(column):
        return (a[column].dt.normalize() - start).dt.days.to_numpy()

    asked = day_of("requested_at")
    booked = day_of("booked_at")
    seen = day_of("appointment_at")
    wait = a["wait_days"].to_numpy(dtype=float)
    routine = (a["urgency"] == "routine").to_numpy()
    urgent = (a["urgency"] == "urgent").to_numpy()
    held = a["status"].isin(["attended", "dna"]).to_numpy()
    days = np.arange(n_days)

    def mean_by_day(mask, values):
        total = np.bincount(asked[mask], weights=values[mask], minlength=n_days)[:n_days]
        count = np.bincount(asked[mask], minlength=n_days)[:n_days]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    # The book at the end of each day: booked by then, for a later day.
    in_book = np.bincount(np.clip(booked, 0, n_days), minlength=n_days + 1)[:n_days].cumsum() \
        - np.bincount(np.clip(seen, 0, n_days), minlength=n_days + 1)[:n_days].cumsum()
    cd = clinician_days[clinician_days["role"].isin(gp_roles)]
    cd_day = ((cd["date"] - start).dt.days).to_numpy()
    available = np.bincount(cd_day, weights=cd["available_slots"].to_numpy(dtype=float),
                            minlength=n_days)[:n_days]
    booked_slots = np.bincount(cd_day, weights=cd["booked_slots"].to_numpy(dtype=float),
                               minlength=n_days)[:n_days]
    all_available = np.bincount(((clinician_days["date"] - start).dt.days).to_numpy(),
                                weights=clinician_days["available_slots"].to_numpy(dtype=float),
                                minlength=n_days)[:n_days]
    with np.errstate(invalid="ignore", divide="ignore"):
        utilisation = np.where(available > 0, booked_slots / np.maximum(available, 1), np.nan)
    out = pd.DataFrame({
        "day": days,
        "date": start + pd.to_timedelta(days, unit="D"),
        "routine_wait_days": mean_by_day(routine & held, wait),
        "urgent_wait_hours": mean_by_day(urgent & held, wait * 24.0),
        "gp_utilisation": utilisation,
        "booked_ahead": in_book.astype(float),
    })
    return out[all_available > 0].reset_index(drop=True)


def mser(values: np.ndarray, batch: int = BATCH) -> tuple[int, np.ndarray]:
    """MSER-``batch``: the number of leading observations to drop, and the statistic.

    The series is cut into batch means of ``batch`` observations (NaNs ignored
    within a batch; a batch with none is dropped); for each number ``d`` of
    leading batches dropped, up to half of them, the statistic is the variance
    of the remaining batch means over their number squared. The truncation is
    the ``d`` that minimises it, in observations (``d * batch``). Returns
    ``(-1, statistic)`` when the minimum falls in the last tenth of the half
    searched, the known sign that the series has not settled (MSER's own
    warning).
    """
    x = np.asarray(values, dtype=float)
    n_batches = x.size // batch
    means = np.array([np.nanmean(x[i * batch:(i + 1) * batch])
                      if np.isfinite(x[i * batch:(i + 1) * batch]).any() else np.nan
                      for i in range(n_batches)])
    means = means[np.isfinite(means)]
    k = means.size
    if k < 4:
        return -1, np.array([])
    half = k // 2
    stat = np.empty(half + 1)
    for d in range(half + 1):
        rest = means[d:]
        stat[d] = ((rest - rest.mean()) ** 2).sum() / (rest.size ** 2)
    best = int(np.argmin(stat))
    if best > 0.9 * half:
        return -1, stat
    return best * batch, stat


def year_on_year(series: pd.DataFrame, column: str, per_year: int) -> np.ndarray:
    """Each open day's value minus the value ``per_year`` open days later (NaN where none)."""
    x = series[column].to_numpy(dtype=float)
    if x.size <= per_year:
        return np.array([])
    return x[:-per_year] - x[per_year:]


@dataclasses.dataclass(frozen=True)
class Recommendation:
    """What the warm-up analysis recommends.

    Attributes:
        warmup_days: the recommended warm-up in calendar days (whole weeks), or None
            when the book never settles in the pilot.
        by_measure: per measure: truncation in open days and in calendar days (-1:
            not settled), and the method used.
        steady: per measure: the last pilot year's mean, its change from the year
            before (relative), that change's 95% interval over replications, and
            whether it is within :data:`STEADY_TOLERANCE`.
        method: how the truncation was found, in words.
    """

    warmup_days: int | None
    by_measure: pd.DataFrame
    steady: pd.DataFrame
    method: str


def recommend(series: pd.DataFrame) -> Recommendation:
    """The warm-up from pilot runs' daily series (``replication`` column plus :func:`daily_series`).

    Every replication must cover the same open days (the same scenario and pilot length).
    """
    mean = series.groupby("day", sort=True)[[m for m, _, _ in MEASURES]].mean()
    open_days = mean.index.to_numpy()
    # Open days a year apart: the same weekday 52 weeks later (the run's calendar).
    per_year = int(np.searchsorted(open_days, open_days[0] + 7 * YEAR_WEEKS))
    seasonal = open_days[-1] - open_days[0] >= 2 * 7 * YEAR_WEEKS - 7
    rows = []
    for column, label, _ in MEASURES:
        frame = mean[[column]].reset_index()
        x = (year_on_year(frame, column, per_year) if seasonal
             else frame[column].to_numpy(dtype=float))
        cut, _ = mser(x)
        calendar_days = int(open_days[cut] - open_days[0]) if cut >= 0 else -1
        rows.append({"measure": column, "label": label, "truncation_open_days": cut,
                     "truncation_days": calendar_days,
                     "method": "MSER-5 on the year-on-year difference" if seasonal
                     else "MSER-5 on the series"})
    by_measure = pd.DataFrame(rows)
    steady = _steadiness(series, per_year) if seasonal else pd.DataFrame()
    settled = by_measure["truncation_days"] >= 0
    warmup = None
    if settled.all():
        warmup = int(np.ceil(max(by_measure["truncation_days"].max(), 1) / 7.0) * 7)
    method = ("MSER-5 (batches of 5 open days) on each measure's year-on-year difference, "
              "averaged over replications; the warm-up is the longest truncation, in whole "
              "weeks" if seasonal else
              "MSER-5 (batches of 5 open days) on each measure, averaged over replications; "
              "pilot runs of two years or more also judge the seasons")
    return Recommendation(warmup, by_measure, steady, method)


def _steadiness(series: pd.DataFrame, per_year: int) -> pd.DataFrame:
    """Last pilot year against the one before, per replication, then over replications."""
    rows = []
    for column, label, _ in MEASURES:
        changes, levels = [], []
        for _, one in series.groupby("replication", sort=True):
            x = one.sort_values("day")[column].to_numpy(dtype=float)
            last, before = x[-per_year:], x[-2 * per_year:-per_year]
            if before.size < per_year:
                continue
            b = np.nanmean(before)
            levels.append(np.nanmean(last))
            changes.append((np.nanmean(last) - b) / b if b else np.nan)
        m, low, high, _ = mean_ci(np.array(changes))
        steady = bool(abs(m) <= STEADY_TOLERANCE or (low <= 0 <= high))
        rows.append({"measure": column, "label": label, "last_year_mean": float(np.mean(levels)),
                     "change_from_year_before": m, "change_low": low, "change_high": high,
                     "steady": steady})
    return pd.DataFrame(rows)


def welch_plot(series: pd.DataFrame, rec: Recommendation, path: str | Path, title: str = "",
               window_weeks: int = 4) -> Path:
    """Welch's moving averages with the truncation marked, and each pilot year by week.

    Left: each measure averaged over replications and smoothed by a centred moving
    average of ``window_weeks`` weeks, over the whole pilot, with the recommended
    warm-up as a dashed line. Right: the same measure by week of the year, one line
    per pilot year, so a start that has not worn off shows as a first year unlike
    the others.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = series.groupby("day", sort=True).agg(
        {**{m: "mean" for m, _, _ in MEASURES}, "date": "first"})
    fig, axes = plt.subplots(len(MEASURES), 2, figsize=(11, 2.6 * len(MEASURES)), dpi=100,
                             gridspec_kw={"width_ratios": [2.2, 1]})
    start = mean["date"].iloc[0]
    weeks = ((mean["date"] - start).dt.days // 7).to_numpy()
    colours = ("#c0392b", "#1b6ca8", "#1b9e77", "#7570b3", "#d95f02", "#666666")
    for row, (column, label, unit) in enumerate(MEASURES):
        ax, by_year = axes[row]
        weekly = pd.Series(mean[column].to_numpy(), index=weeks).groupby(level=0).mean()
        smooth = weekly.rolling(window_weeks, center=True, min_periods=1).mean()
        ax.plot(start + pd.to_timedelta(weekly.index * 7, unit="D"), weekly.to_numpy(),
                color="#bbbbbb", lw=0.8, label="weekly mean")
        ax.plot(start + pd.to_timedelta(smooth.index * 7, unit="D"), smooth.to_numpy(),
                color="#1b6ca8", lw=1.6, label=f"{window_weeks}-week moving average")
        cut = rec.by_measure.set_index("measure").loc[column, "truncation_days"]
        if cut >= 0:
            ax.axvline(start + pd.Timedelta(days=int(cut)), color="#c0392b", ls=":", lw=1,
                       label=f"this measure settles ({int(cut)} days)")
        if rec.warmup_days is not None:
            ax.axvline(start + pd.Timedelta(days=rec.warmup_days), color="#c0392b", ls="--",
                       lw=1.2, label=f"recommended warm-up ({rec.warmup_days} days)")
        ax.set_title(label, fontsize=10, loc="left")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        if row == 0:
            ax.legend(fontsize=7, loc="upper right")
        year = weekly.index.to_numpy() // YEAR_WEEKS
        for y in np.unique(year):
            part = weekly[year == y]
            by_year.plot(part.index.to_numpy() % YEAR_WEEKS, part.to_numpy(),
                         color=colours[int(y) % len(colours)], lw=1.2, label=f"pilot year {y + 1}")
        by_year.set_title("by week of the pilot year", fontsize=9, loc="left")
        by_year.grid(alpha=0.3)
        if row == 0:
            by_year.legend(fontsize=7)
    axes[-1][0].set_xlabel("date")
    axes[-1][1].set_xlabel("week from the start's date")
    fig.suptitle(title or "Warm-up: Welch's moving averages and MSER-5", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
