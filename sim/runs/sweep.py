"""Running a sweep: every unfinished run, stored atomically as it completes.

Each finished run is stored in its own folder under ``runs/``, named by a hash
of its resolved scenario and replication (:func:`sim.inputs.sweeps.run_key`),
with ``metadata.json`` written last; a run is done when that file exists.
Running the same sweep again skips finished runs, so an interrupted sweep
(Ctrl-C, SIGKILL, a worker dying) resumes where it stopped. A run that fails
is recorded under ``failures/`` with its error, and the others go on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ..files.outputs import replace_dir, write_text_atomically
from ..inputs.policies import Registry
from ..inputs.sweeps import Point, Sweep
from ..outcomes.tables import RunResult
from .batch import RunAndReduce
from .executor import Failure
from .executor import execute as execute_tasks


def is_done(out: Path, key: str) -> bool:
    """Whether a run's results are complete on disk."""
    return (out / "runs" / key / "metadata.json").is_file()


def store(out: Path, key: str, point: Point, replication: int, tables: dict[str, pd.DataFrame]
          ) -> None:
    """Write one run's tables into ``runs/<key>/``, replacing that folder in one step."""
    with replace_dir(out / "runs" / key) as stage:
        for name, df in tables.items():
            df.to_parquet(stage / f"{name}.parquet", index=False)
        (stage / "metadata.json").write_text(json.dumps({
            "key": key, "label": point.label, "description": point.description,
            "values": point.values, "replication": replication,
        }, default=str, indent=2), encoding="utf-8")
    failure = out / "failures" / f"{key}.json"
    if failure.exists():
        failure.unlink()


def record_failure(out: Path, key: str, point: Point, replication: int, error: str) -> None:
    """Write a failed run's error to ``failures/<key>.json``."""
    (out / "failures").mkdir(parents=True, exist_ok=True)
    write_text_atomically(out / "failures" / f"{key}.json", json.dumps({
        "key": key, "label": point.label, "description": point.description,
        "replication": replication, "error": error}, default=str, indent=2))


class RunAndStore:
    """A picklable task: run a point's replication, reduce it and store it, in the worker.

    Local workers share this machine's disk, so each writes the run it made (in
    parallel, and without sending the tables back). Returns ``digest(tables,
    label)`` of the stored run's tables when a ``digest`` is given (what the
    parent adds up, made here so the parent need not read the run back; None if
    it could not be made, and the parent reads the run back), else ``True``.
    """

    def __init__(self, reducer: Callable[[RunResult], Any], out: Path,
                 policies: Registry | None = None,
                 digest: Callable[[dict[str, pd.DataFrame], str], Any] | None = None):
        self.run = RunAndReduce(reducer, policies=policies)
        self.out = out
        self.digest = digest

    def __call__(self, task: tuple[Point, int, str]) -> Any:
        """Run ``(point, replication, key)`` and store its tables under ``runs/<key>/``."""
        point, k, key = task
        tables = self.run((point.scenario, k))
        store(self.out, key, point, k, tables)
        return True if self.digest is None else digested(self.digest, tables, point.label)


def digested(digest: Callable[[dict[str, pd.DataFrame], str], Any] | None,
             tables: dict[str, pd.DataFrame], label: str) -> Any:
    """``digest(tables, label)`` of a stored run; None if there is no digest or it fails.

    A run without its digest is stored all the same: the parent reads it back
    from disk instead.
    """
    if digest is None:
        return None
    try:
        return digest(tables, label)
    except Exception:
        return None


def execute(sweep: Sweep, out: Path, reducer: Callable[[RunResult], Any], workers: int = 1,
            scheduler: str | None = None, progress: bool | None = None,
            policies: Registry | None = None,
            digest: Callable[[dict[str, pd.DataFrame], str], Any] | None = None,
            meanwhile: Callable[[], Any] | None = None,
            ) -> Iterator[tuple[str, Point, int, str | None, Any]]:
    """Run every unfinished run of the sweep; yield ``(key, point, replication, error, digest)``.

    Finished runs (already on disk) are skipped. With ``scheduler`` (a Dask
    scheduler address) the runs go to that cluster and this process writes
    each run's results as it completes, so the cluster's workers need no
    access to ``out``; local worker processes write their own runs
    (:class:`RunAndStore`). A run that fails is recorded under ``failures/``
    and the others go on. ``digest(tables, label)``: made of each stored run's tables,
    by the local worker that ran it, or on a cluster by this process as it stores
    the run (while the cluster goes on), so that no run is read back at the end
    (None is yielded where there is none). ``meanwhile``: this
    process's own work while the runs go on elsewhere
    (:func:`sim.runs.executor.execute`).
    """
    todo = [(p, k, key) for p, k, key in sweep.runs() if not is_done(out, key)]
    local = scheduler is None
    fn = (RunAndStore(reducer, out, policies, digest) if local
          else RunAndReduce(reducer, policies=policies))
    tasks = todo if local else [(p.scenario, k) for p, k, _ in todo]
    for i, value in execute_tasks(tasks, fn, workers=workers, scheduler=scheduler,
                                  capture_errors=True, progress=progress,
                                  description="sweep runs", meanwhile=meanwhile):
        p, k, key = todo[i]
        if isinstance(value, Failure):
            record_failure(out, key, p, k, f"{value.error}\n{value.detail}")
            yield key, p, k, value.error, None
        elif local:
            yield key, p, k, None, None if digest is None else value
        else:
            store(out, key, p, k, value)
            yield key, p, k, None, digested(digest, value, p.label)
