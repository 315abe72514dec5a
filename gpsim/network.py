"""Running a network (a PCN or federation): the library behind ``run.py network``.

Every practice runs in a worker, which writes the practice's own results
there (unless only the summary is wanted) and sends back only its summary
parts, so memory stays flat however many practices there are; the network's
summary adds the parts up (:mod:`analysis.network`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path

import pandas as pd

from analysis.network import (
    NetworkTotals,
    practice_parts,
    write_and_reduce,
)
from sim.files.csv_safe import write_csv
from sim.files.outputs import claim_output
from sim.inputs.networks import Network, load_network
from sim.inputs.policies import Registry
from sim.processes import usable_cores
from sim.runs.executor import importing, release_kept_workers
from sim.runs.network import run_network_replications


class PracticeSummary:
    """Picklable reducer for network runs: keep a practice's summary parts, write nothing.

    Its summary row (and with ``months`` its monthly table) is made here, in the
    worker, so that the parent only adds the practices up.
    """

    def __init__(self, hub_ids=frozenset(), months: bool = False):
        self.hub_ids = hub_ids
        self.tables = "monthly" if months else "summary"

    def __call__(self, practice_id: str, result):
        """The practice's :class:`analysis.network.PracticeParts`."""
        return practice_parts(result, self.hub_ids, tables=self.tables)


class PracticeWriter:
    """Picklable reducer for network runs: write a practice's results, keep its summary parts."""

    def __init__(self, folder: Path, hub_ids=frozenset(), plots: bool = False):
        self.folder = folder
        self.hub_ids = hub_ids
        self.plots = plots

    def __call__(self, practice_id: str, result):
        """Write into ``folder/<practice id>``; return the practice's summary parts."""
        return write_and_reduce(result, self.folder / practice_id, self.hub_ids, self.plots)


@dataclasses.dataclass(frozen=True)
class NetworkResult:
    """What :func:`run_network_study` did: the network, where, its tables, how long."""

    network: Network
    out: Path
    summary: pd.DataFrame
    by_cohort: pd.DataFrame
    seconds: float
    summary_only: bool


def approach_periods(s) -> list[list[str]]:
    """A practice's approaches in order: ``[first recorded day, policy name]`` per period."""
    start = s.start_date + dt.timedelta(days=s.warmup_days)
    periods = [[start.isoformat(), s.policy.name]]
    for change in s.policy_changes:
        periods.append([change.from_date.isoformat(), change.policy.name])
    return periods


def warmup_words(s) -> str:
    """The warm-up of a network's practices, and whether it was checked, in a sentence.

    A network's practices share the calendar, so the first practice's stands for all.
    """
    text = (f"Each practice is recorded for {s.duration_days} days after a "
            f"{s.warmup_days}-day warm-up from {s.start_date:%d %B %Y}")
    check = s.warmup_check
    if check is None:
        return text + ("; no warm-up analysis is recorded for the practices' scenario "
                       "(gpsim warmup runs one).")
    if check.start_date is not None and check.start_date != s.start_date:
        return text + (f"; the warm-up analysis on record ran from {check.start_date}, not "
                       "from this start, so this warm-up was not checked.")
    if s.warmup_days < check.recommended_days:
        return text + (f", shorter than the {check.recommended_days} days a warm-up analysis "
                       f"recommended on {check.checked_on}: waits are likely biased.")
    return text + (f", chosen from a warm-up analysis run on {check.checked_on} (it "
                   f"recommended at least {check.recommended_days} days).")


def network_workers(workers: int | None, practices: int, replications: int) -> int:
    """Local processes for a network's runs: as asked (default: every core), no more than runs.

    Each practice's replication is a task of its own, so ``-r 3`` may use three
    times as many workers as the network has practices.
    """
    return min(workers or usable_cores(), practices * replications)


def run_network_study(
    network: str | Path | Network,
    out: str | Path | None = None,
    *,
    replication: int = 0,
    replications: int = 1,
    workers: int | None = None,
    scheduler: str | None = None,
    summary_only: bool = False,
    progress: bool | None = None,
    policies: Registry | None = None,
    practice_plots: bool = False,
    force: bool = False,
    side_by_side: bool = False,
) -> NetworkResult:
    """Run every practice of a network and write its summary tables into ``out``.

    Args:
        network: a network file (or a loaded network).
        out: the folder (default ``results/networks/<file stem>``).
        replication: the (first) replication number.
        replications: how many replications (practices' own files are written for the
            first only; every one adds to ``network_replications.csv``, the intervals
            and the report).
        workers: local processes (default: every core this process may use).
        scheduler: a Dask scheduler's address, to run on its cluster (each
            worker then needs ``out`` on a shared disk unless ``summary_only``).
        summary_only: write only ``network_summary.csv`` and
            ``network_summary_by_cohort.csv``, not each practice's files.
        progress: draw a progress bar (None: on a terminal outside CI).
        policies: the policy registry (None: the installed one).
        practice_plots: also draw each practice's wait plot (``wait_distribution.png``).
        force: write into ``out`` even if it holds files the tool did not write (left as
            they are).
        side_by_side: draw the report's figure and write the month-by-month tables in
            forked processes while this one writes the others
            (:func:`analysis.report.written_aside`; the command line
            asks for it, as a long-running server with threads should not).

    Workers kept by the caller (:func:`sim.runs.executor.kept_workers`) end once
    the last practice's result is in (:func:`sim.runs.executor.release_kept_workers`);
    a later call in the same block starts new ones.
    """
    if not isinstance(network, Network):
        from gpsim.exports import calibrate_network_practices

        network = load_network(network, policies, calibrate_network_practices)
    out = Path(out) if out is not None else Path("results") / "networks" / network.file.stem
    if replications < 1:
        raise ValueError("replications must be 1 or more")
    workers = network_workers(workers, len(network.practices), replications)
    with claim_output(out, command="network", force=force, bulk=("practices",)) as folder:
        folder.mark_bulk()
        t0 = time.perf_counter()
        reducer = (PracticeSummary(network.hub_ids, months=True) if summary_only
                   else PracticeWriter(out / "practices", network.hub_ids, practice_plots))
        # Every replication's practices go to the workers as one batch; each practice
        # is added up as it arrives (in the network's order, replication by
        # replication), while the others still run: the parent never holds every
        # practice's parts. The later replications are summaries only.
        ks = range(replication, replication + replications)
        summary = PracticeSummary(network.hub_ids)
        totals = {k: NetworkTotals(network.hub_ids, months=k == replication) for k in ks}
        reps = []
        for k, pid, kept in run_network_replications(
                network, ks, workers, {k: reducer if k == replication else summary for k in ks},
                scheduler=scheduler, progress=progress, policies=policies,
                meanwhile=importing("analysis.network_report")):
            totals[k].add(pid, kept)
            if len(totals[k].rows) == len(network.practices) and len(totals) > 1:
                # A replication done while later ones still run: summed up meanwhile
                # (its month-by-month tables too, if it is the first).
                done = totals.pop(k)
                if k == replication:
                    table, by_cohort = done.summaries()
                    months = done.monthly(), done.practice_monthly()
                    reps.append(table)
                else:
                    reps.append(done.summaries()[0])
        # The runs are done: their workers (kept by the command line) end now, so that
        # no pool's threads run beside the forks below.
        release_kept_workers()
        # The last replication to finish (the only one, usually): its summary is made
        # below, beside the practices' figure, which needs only its means.
        (last, done), = totals.items()
        meta = {"name": network.spec.name, "replications": replications,
                "first_replication": replication,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "practices": {pid: {"policy": s.policy.name, "patients": s.population.size}
                              for pid, s in network.practices},
                "warmup": warmup_words(network.practices[0][1]),
                "periods": {pid: approach_periods(s) for pid, s in network.practices}}
        from analysis.network_report import network_intervals, practices_figure, render_network
        from analysis.report import written_aside

        def replications_table(last_table: pd.DataFrame) -> pd.DataFrame:
            tables = [t.assign(replication=k) for k, t in zip(ks, [*reps, last_table], strict=True)]
            out = pd.concat(tables, ignore_index=True)
            out.insert(1, "replication", out.pop("replication"))
            return out

        def write_months(into: Path) -> None:
            monthly, by_practice = months if last != replication else (
                done.monthly(), done.practice_monthly())
            write_csv(monthly, into / "network_monthly.csv", index=False)
            write_csv(by_practice, into / "network_monthly_by_practice.csv", index=False)

        with folder.writing() as stage:
            # Three processes side by side: the practices' figure (which needs only each
            # practice's row and the network's means), the month-by-month tables, and
            # here the network's summary (its waits put in order for its percentiles)
            # with the other tables.
            means = replications_table(done.without_wait_columns())
            with written_aside(lambda: practices_figure(stage, means, meta),
                               lambda: write_months(stage), side_by_side=side_by_side):
                last_table, last_by_cohort = done.summaries()
                all_reps = replications_table(last_table)
                if last == replication:
                    table, by_cohort = last_table, last_by_cohort
                    by_practice = done.practice_monthly()
                else:
                    by_practice = months[1]
                write_csv(table, stage / "network_summary.csv", index=False)
                write_csv(by_cohort, stage / "network_summary_by_cohort.csv", index=False)
                write_csv(all_reps, stage / "network_replications.csv", index=False)
                intervals = network_intervals(all_reps)
                write_csv(intervals, stage / "network_intervals.csv", index=False)
            render_network(stage, all_reps, meta, intervals, by_practice, figure_drawn=True)
    return NetworkResult(network, out, table, by_cohort, time.perf_counter() - t0, summary_only)
