"""Running a sweep and writing its aggregates: the library behind ``run.py sweep``.

Runs are stored one by one as they finish (:mod:`sim.runs.sweep`), so an
interrupted sweep resumes where it stopped; the aggregates (tidy table,
plots, report) are written atomically at the end. :class:`SweepProgress`
says at any moment what is saved, so an interruption can be reported truly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from analysis.compare import reduce_run
from analysis.sweep import (
    DRAWING,
    SweepTotals,
    digest_tables,
    reported_points,
    write_aggregates,
)
from sim.files.outputs import claim_output
from sim.files.provenance import code_version, environment
from sim.inputs.parameters import parameter_rows
from sim.inputs.policies import Registry
from sim.inputs.resolve import resolved_yaml
from sim.inputs.sweeps import DEFAULT_MAX_RUNS, Point, Sweep, load_sweep
from sim.processes import usable_cores
from sim.runs.executor import importing
from sim.runs.sweep import execute, is_done


@dataclasses.dataclass
class SweepProgress:
    """Where a sweep has got to: its stage, and runs saved out of the total.

    Attributes:
        out: the sweep's folder.
        total: runs in the sweep.
        done_before: runs already saved when this call started.
        saved: runs saved so far (including those done before).
        stage: ``loading``, ``running``, ``writing`` (aggregates and report) or ``done``.
        failures: ``(point, replication, error)`` of runs that failed.
        keys: every run's folder name, so what is on disk can be counted.
        points: the sweep's points with a finished run, once written.
        chosen: whether the sweep file names the points to report (``report:``).
        report: the comparison report's page, once written; None if none was
            (none of the points to report finished, or, with no ``report:``, more
            points than a report compares: :data:`sim.inputs.sweeps.REPORT_POINTS`).
        reporting: while writing, whether a comparison report is among what is
            written (None until every finished run has been counted).
        replications: the sweep's replications of each point.
    """

    out: Path
    total: int = 0
    done_before: int = 0
    saved: int = 0
    stage: str = "loading"
    failures: list[tuple[Point, int, str]] = dataclasses.field(default_factory=list)
    keys: list[str] = dataclasses.field(default_factory=list)
    points: int = 0
    chosen: bool = False
    report: Path | None = None
    reporting: bool | None = None
    replications: int = 0

    def interrupted_message(self) -> str:
        """What an interruption now leaves behind, and how to go on.

        While running, the runs are counted on disk: a run is stored (by a
        worker, or by this process) a moment before ``saved`` hears of it, and
        an interruption can fall in between.
        """
        again = "Run the same command again to "
        if self.stage == "loading":
            return "interrupted while reading the sweep: nothing was run or written."
        if self.stage == "running":
            if self.keys:
                self.saved = sum(is_done(self.out, key) for key in self.keys)
            return (f"interrupted: {self.saved} of {self.total} runs are saved in "
                    f"{self.out / 'runs'}. {again}resume: saved runs are skipped.")
        if self.stage == "writing":
            what = {True: "tables, plots and report", False: "tables and plots",
                    None: "tables, plots and any report"}[self.reporting]
            return (f"interrupted while writing the {what}: all {self.saved} "
                    f"finished runs are saved in {self.out / 'runs'}. {again}write them "
                    "(nothing is run again).")
        return "interrupted after the sweep finished: everything is written."


def run_sweep(
    sweep: str | Path | Sweep,
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    policies: Registry | None = None,
    state: SweepProgress | None = None,
    on_start: Callable[[Sweep, SweepProgress], None] | None = None,
    on_failure: Callable[[Point, int, str], None] | None = None,
    force: bool = False,
    max_runs: int = DEFAULT_MAX_RUNS,
) -> SweepProgress:
    """Run every unfinished run of a sweep, then write its aggregates into ``out``.

    Args:
        sweep: a sweep file (or a loaded sweep).
        out: its folder (default ``results/sweeps/<file stem>``).
        workers: local processes (default: every core this process may use).
        scheduler: a Dask scheduler's address, to run on its cluster.
        progress: draw a progress bar (None: on a terminal outside CI).
        policies: the policy registry (None: the installed one).
        state: a :class:`SweepProgress` to keep up to date (made if not given).
        on_start: called once the sweep is loaded, before anything runs.
        on_failure: called for each run that fails (the others go on).
        force: write into ``out`` even if it holds files the tool did not write
            (left as they are).
        max_runs: refuse a sweep of more runs than this (counted before any is made).

    Returns:
        The final :class:`SweepProgress` (failures listed).
    """
    if not isinstance(sweep, Sweep):
        sweep = load_sweep(sweep, policies, max_runs)
    out = Path(out) if out is not None else Path("results") / "sweeps" / sweep.file.stem
    state = state or SweepProgress(out)
    state.out = out
    with claim_output(out, command="sweep", force=force, bulk=("runs", "failures")) as folder:
        folder.mark_bulk()
        runs = sweep.runs()
        state.total = len(runs)
        state.replications = sweep.spec.replications
        state.keys = [key for _, _, key in runs]
        state.done_before = state.saved = sum(is_done(out, key) for _, _, key in runs)
        state.stage = "running"
        if on_start is not None:
            on_start(sweep, state)
        totals = SweepTotals()
        for _key, point, k, error, digest in execute(sweep, out, reduce_run,
                                                     workers=workers or usable_cores(),
                                                     scheduler=scheduler, progress=progress,
                                                     policies=policies, digest=digest_tables,
                                                     meanwhile=importing(*DRAWING)):
            if error:
                state.failures.append((point, k, error))
                if on_failure is not None:
                    on_failure(point, k, error)
            else:
                state.saved += 1
                if digest is not None:  # added up as the runs go on
                    totals.add(point.label, k, digest)
        state.stage = "writing"
        first = sweep.points[0].scenario
        meta = {"title": f"Sweep: {sweep.spec.name}", "seeds": [first.seed],
                "warmup_days": first.warmup_days, "window_days": first.duration_days,
                "code_version": code_version(), "environment": environment(),
                "sweep_file": str(sweep.file)}
        totals.add_stored(sweep, out)  # runs finished before a resume, or on a cluster
        state.reporting = bool(reported_points(sweep, {label for label, _ in totals.done}))
        with folder.writing() as stage:
            tidy = write_aggregates(stage, sweep, totals, parameter_rows, resolved_yaml, meta)
    state.points = tidy["point"].nunique()
    state.chosen = sweep.reported is not None
    page = out / "report" / "report.html"
    state.report = page if page.is_file() else None
    state.stage = "done"
    return state
