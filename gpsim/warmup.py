"""The warm-up analysis: the library behind ``gpsim warmup``.

Long pilot runs of a scenario, recorded from their first day (no warm-up),
reduced to daily series (:func:`analysis.warmup.daily_series`); MSER-5 and
Welch's moving averages (:mod:`analysis.warmup`) then say how long the run
takes to forget its empty start. Written as named files the tool owns: the
plot, the replication-averaged series, the truncation per measure and the
year-on-year steadiness check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.warmup import Recommendation, daily_series, recommend, welch_plot
from sim.files.csv_safe import write_csv
from sim.files.outputs import claim_output
from sim.inputs.policies import Registry
from sim.runs.batch import run_batch

#: GP utilisation at which the book is called full (demand above capacity).
SATURATED = 0.97

@dataclasses.dataclass(frozen=True)
class WarmupRequest:
    """What ``gpsim warmup`` is asked for.

    Attributes:
        scenario: the scenario (loaded, seed set), run from its ``start_date``.
        name: what to call it in the plot and messages.
        out: the folder to write into.
        years: pilot length in years of 364 days (2 or more to judge the seasons).
        replications: pilot runs (each its own replication's streams).
        workers: processes.
        force: write into a folder holding files the tool did not write.
    """

    scenario: object
    name: str
    out: Path
    years: int = 3
    replications: int = 5
    workers: int = 1
    force: bool = False


def _series_of_run(result) -> pd.DataFrame:
    """A pilot run's daily series (a run reducer: picklable, top level)."""
    s = result.scenario
    holders = tuple(name for name, role in s.roles.items() if role.holds_list) or ("gp",)
    return daily_series(result.appointments, result.clinician_days,
                        pd.Timestamp(s.start_date), s.duration_days, holders)


def run_warmup(request: WarmupRequest, policies: Registry | None = None,
               say: Callable[[str], None] = print) -> Recommendation:
    """Run the pilots, analyse and write; return the recommendation.

    Raises:
        sim.files.outputs.OutputRefused: files it may not write.
    """
    r = request
    pilot = r.scenario.model_copy(update={"warmup_days": 0, "duration_days": 364 * r.years})
    jobs = [(r.name, pilot, k) for k in range(r.replications)]
    with claim_output(r.out, command="warmup", force=r.force) as claimed:
        say(f"Running {r.replications} pilot run(s) of {r.years} year(s) from "
            f"{pilot.start_date} with no warm-up ...")
        parts = [series.assign(replication=k)
                 for _, k, series in run_batch(jobs, _series_of_run, workers=r.workers,
                                               description="pilot runs", policies=policies)]
        series = pd.concat(parts, ignore_index=True)
        rec = recommend(series)
        with claimed.writing() as stage:
            welch_plot(series, rec, stage / "warmup.png",
                       title=f"Warm-up of {r.name}: Welch's moving averages and MSER-5")
            averaged = series.groupby("day", sort=True).agg(
                {"date": "first", **{c: "mean" for c in series.columns
                                     if c not in ("day", "date", "replication")}})
            write_csv(averaged.reset_index(), stage / "series.csv", index=False)
            write_csv(rec.by_measure, stage / "truncation.csv", index=False)
            write_csv(rec.steady, stage / "steadiness.csv", index=False)
            (stage / "recommendation.txt").write_text(
                recommendation_text(rec, r.scenario, r.years, r.replications) + "\n",
                encoding="utf-8")
    return rec


def recommendation_text(rec: Recommendation, scenario, years: int, replications: int) -> str:
    """What the analysis found and recommends, in words (printed, and written to a file)."""
    lines = [f"Method: {rec.method}; {replications} pilot run(s) of {years} year(s) from "
             f"{scenario.start_date}."]
    for row in rec.by_measure.itertuples():
        settles = (f"settles after {row.truncation_days} days" if row.truncation_days >= 0
                   else "does not settle within the first half of the pilot")
        lines.append(f"  {row.label}: {settles}")
    if len(rec.steady):
        for row in rec.steady.itertuples():
            if not row.steady:
                lines.append(f"  Still moving: {row.label.lower()} changed by "
                             f"{row.change_from_year_before:+.1%} ({row.change_low:+.1%} to "
                             f"{row.change_high:+.1%}) from the pilot's second-last year to its "
                             "last. Part may be the calendar (bank holidays and Easter move "
                             "between years), part a drift; a recorded year's mean depends on "
                             "which year is recorded.")
        use = rec.steady.set_index("measure").loc["gp_utilisation", "last_year_mean"]
        if use >= SATURATED:
            lines.append(f"  The GPs' book is full ({use:.0%} of slots booked in the pilot's "
                         "last year): demand is above capacity. Waits are capped by the "
                         "booking horizon and the excess goes unmet, so a mean wait describes "
                         "a full book, not a practice that copes.")
    if rec.warmup_days is None:
        lines.append("No warm-up can be recommended: at least one measure does not settle "
                     "(demand above capacity, or a slow drift). Read the plot; a longer pilot "
                     "(--years) may show whether it settles at all.")
    else:
        today = dt.date.today().isoformat()
        lines.append(f"Recommended: warmup_days: {rec.warmup_days} (or more), from a start on "
                     f"{scenario.start_date}; to record that it was checked, add to the "
                     f"scenario: warmup_check: {{recommended_days: {rec.warmup_days}, "
                     f"checked_on: {today}, start_date: {scenario.start_date}}}")
        if scenario.warmup_days < rec.warmup_days:
            lines.append(f"The scenario's warm-up ({scenario.warmup_days} days) is shorter.")
    return "\n".join(lines)
