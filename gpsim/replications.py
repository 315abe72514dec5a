"""The replications advisor: the library behind ``gpsim replications``.

Pilot replications of a scenario (each with its own streams, as a comparison
runs them), reduced to their yearly summary rows where they ran; then the
confidence-interval method with the look-ahead (:mod:`analysis.replications`)
says, for each key measure, after how many replications the 95% interval is
within the target relative precision, or how many the spread so far says it
would take. Written as named files the tool owns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from analysis.labels import measure, number
from analysis.replications import (
    KEY_MEASURES,
    Advice,
    advise,
    look_ahead,
    needed,
    replications_plot,
    running_precision,
)
from analysis.summary import run_summaries
from sim.files.csv_safe import write_csv
from sim.files.outputs import claim_output
from sim.inputs.policies import Registry
from sim.runs.batch import run_batch


@dataclasses.dataclass(frozen=True)
class ReplicationsRequest:
    """What ``gpsim replications`` is asked for.

    Attributes:
        scenario: the scenario (loaded, seed set).
        name: what to call it in the plot and messages.
        out: the folder to write into.
        replications: pilot replications to run.
        precision: the target relative precision (0.05: the 95% interval's
            half-width within 5% of the mean).
        measures: the summary measures judged.
        workers: processes.
        scheduler: a Dask scheduler's address, to run on its cluster.
        force: write into a folder holding files the tool did not write.
    """

    scenario: object
    name: str
    out: Path
    replications: int = 20
    precision: float = 0.05
    measures: Sequence[str] = KEY_MEASURES
    workers: int = 1
    scheduler: str | None = None
    force: bool = False


def summary_row(result) -> pd.DataFrame:
    """A run's yearly summary row (a run reducer: picklable, top level)."""
    return run_summaries(result)[0]


def run_replications(request: ReplicationsRequest, policies: Registry | None = None,
                     say: Callable[[str], None] = print) -> list[Advice]:
    """Run the pilots, apply the method and write; return the advice per measure.

    Raises:
        sim.files.outputs.OutputRefused: files it may not write.
    """
    r = request
    jobs = [(r.name, r.scenario, k) for k in range(r.replications)]
    with claim_output(r.out, command="replications", force=r.force) as claimed:
        say(f"Running {r.replications} replications of {r.name} ...")
        rows = [row.assign(scenario=r.name, replication=k)
                for _, k, row in run_batch(jobs, summary_row, workers=r.workers,
                                           scheduler=r.scheduler, description="replications",
                                           policies=policies)]
        runs = pd.concat(rows, ignore_index=True).sort_values("replication")
        advice = advise(runs, r.precision, r.measures)
        tables = [running_precision(runs[a.measure]).assign(measure=a.measure)
                  for a in advice]
        table = pd.concat(tables, ignore_index=True)
        table = table[["measure"] + [c for c in table.columns if c != "measure"]]
        with claimed.writing() as stage:
            replications_plot(table, r.precision, stage / "replications.png",
                              title=f"Replications for {r.name}: the 95% interval's "
                                    "half-width, as a share of the mean")
            write_csv(table, stage / "replications.csv", index=False)
            write_csv(pd.DataFrame([dataclasses.asdict(a) for a in advice]),
                      stage / "advice.csv", index=False)
            (stage / "recommendation.txt").write_text(
                advice_text(advice, r.precision) + "\n", encoding="utf-8")
    return advice


def advice_text(advice: list[Advice], precision: float) -> str:
    """What the method found and recommends, in words (printed, and written to a file)."""
    if not advice:
        return "None of the measures asked for has a value in these runs."
    run = advice[0].run
    lines = [f"Method: the confidence-interval method with a look-ahead (Hoad, Robinson and "
             f"Davies 2010), on {run} replications; target: the 95% interval's half-width "
             f"within {precision:.0%} of the mean."]
    for a in advice:
        label = measure(a.measure).label
        kind = measure(a.measure).kind
        hw = (f"{a.half_width * 100:.2g} points" if kind == "share" else
              f"{a.half_width:.2g}" + (f" {kind}" if kind in ("days", "hours") else ""))
        now = (f"mean {number(a.measure, a.mean, True)}, 95% interval \u00b1{hw} "
               f"({a.relative_precision:.1%} of the mean)")
        if a.reached is not None:
            lines.append(f"  {label}: reached at {a.reached} replications and kept; {now}.")
        elif a.projected is not None:
            lines.append(f"  {label}: not reached and kept within {run} (the look-ahead asks "
                         f"that it stay within for {look_ahead(max(a.projected, run))} more); "
                         f"about {a.wanted} would settle it, from the spread so far; {now}.")
        else:
            lines.append(f"  {label}: cannot be judged by relative precision (a mean of 0); "
                         f"{now}.")
    n = needed(advice)
    if n is None:
        lines.append("No count can be recommended for every measure: see above.")
    elif all(a.reached is not None for a in advice):
        most = max(a.reached for a in advice)
        lines.append(f"Recommended: -r {most} (or more) for this precision on these measures. "
                     "A comparison's differences between approaches need their own check: "
                     "run compare with --precision, and read its verdict on what cannot be "
                     "told apart.")
    else:
        lines.append(f"Recommended: about -r {n} (projected; run this again with -r {n} to "
                     "confirm), or compare --precision, which adds replications until the "
                     "target is met.")
    return "\n".join(lines)
