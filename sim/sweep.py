"""Scenario sweeps: a base scenario, a grid of values and/or named variants, x replications.

A sweep file::

    base: ../default.yaml          # the scenario every run starts from
    name: Policies x GP capacity
    replications: 5
    seed: 20250106                 # optional: the base scenario's seed otherwise
    set: {duration_days: 182}      # optional: applied to every run
    grid:                          # optional: every combination of these values
      policy.name: [access_first, usual_gp_first, micro_team]
      roles.gp.slots_per_session: [14, 16, 18]
    variants:                      # optional: named sets of overrides, crossed with the grid
      - {name: shorter_horizon, set: {practice.booking_horizon_days: 21}}

Every point is validated like a scenario before anything runs; an unknown
path is an error naming the sweep file and the path. Every run uses the same
master seed, so replication ``k`` of every point sees the same patients and
requests (common random numbers).

Each finished run is stored atomically in its own folder under ``runs/``,
named by a hash of its resolved scenario and replication, with
``metadata.json`` written last; a run is done when that file exists. Running
the same sweep again skips finished runs, so an interrupted sweep (Ctrl-C,
SIGKILL, a worker dying) resumes where it stopped. A run that fails is
recorded under ``failures/`` with its error, and the others go on.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .atomic import atomic_dir
from .loading import Problem, ScenarioError, format_path, load_scenario, read_spec
from .provenance import resolved_yaml
from .results import RunResult, run, with_seed
from .scenario import Scenario


class Variant(BaseModel):
    """A named set of overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    set: dict[str, Any] = Field(default_factory=dict)


class SweepSpec(BaseModel):
    """A sweep file, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base: str = Field(description="Path of the base scenario, relative to the sweep file.")
    name: str = "Sweep"
    replications: int = Field(3, ge=1, le=10000)
    seed: int | None = Field(None, ge=0, lt=2**63)
    set: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    variants: list[Variant] = Field(default_factory=list)


@dataclass
class Point:
    """One point of the sweep: its label, overrides and validated scenario."""

    label: str
    description: str
    values: dict[str, Any]
    scenario: Scenario
    overrides: dict[str, Any] = field(default_factory=dict)
    variant: str | None = None


@dataclass
class Sweep:
    """An expanded sweep: its points, replications and where it came from."""

    file: Path
    spec: SweepSpec
    points: list[Point]
    swept: list[str]

    def runs(self) -> list[tuple[Point, int, str]]:
        """Every (point, replication, key) to run, replication-major."""
        return [(p, k, run_key(p.scenario, k)) for k in range(self.spec.replications)
                for p in self.points]


def run_key(scenario: Scenario, replication: int) -> str:
    """The identity of a run: a hash of its resolved scenario (with seed) and replication."""
    text = resolved_yaml(scenario) + f"\nreplication: {replication}\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _label(value: Any) -> str:
    text = str(value)
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)[:40]


def load_sweep(path: str | Path) -> Sweep:
    """Read, validate and expand a sweep file.

    Raises:
        ScenarioError: naming the sweep file and the key (or the grid point) at fault.
    """
    path = Path(path)
    shown = str(path)
    spec = read_spec(path, SweepSpec, "a sweep must be a mapping with base:, grid: and/or "
                     "variants:")
    base = (path.parent / spec.base)
    if not base.is_file():
        raise ScenarioError([Problem(shown, ("base",), f"scenario file {spec.base!r} not found "
                                     f"(looked for {base})")])
    for key, values in spec.grid.items():
        if not values:
            raise ScenarioError([Problem(shown, ("grid", key), "needs at least one value")])
    names = [v.name for v in spec.variants]
    if len(set(names)) != len(names):
        raise ScenarioError([Problem(shown, ("variants",), "variant names must be unique")])
    keys = list(spec.grid)
    combos = list(itertools.product(*spec.grid.values())) if keys else [()]
    variants = spec.variants or [None]
    base_seed = spec.seed
    points: list[Point] = []
    problems: list[Problem] = []
    for variant in variants:
        for combo in combos:
            values = dict(zip(keys, combo, strict=True))
            overrides = {**spec.set, **(variant.set if variant else {}), **values}
            bits = ([variant.name] if variant else []) + [_label(v) for v in combo]
            label = "-".join(bits) or "base"
            desc = ", ".join(([f"variant {variant.name}"] if variant else [])
                             + [f"{k}={v}" for k, v in values.items()]) or "base"
            try:
                s = load_scenario(base, overrides)
            except ScenarioError as e:
                for prob in e.problems:
                    problems.append(_locate(shown, prob, spec, variant, desc))
                continue
            points.append(Point(label, desc, values, s, overrides,
                                variant.name if variant else None))
    if problems:
        raise ScenarioError(_dedupe(problems))
    labels = [p.label for p in points]
    if len(set(labels)) != len(labels):
        for i, p in enumerate(points):
            p.label = f"{i + 1:02d}-{p.label}"
    seed = base_seed if base_seed is not None else with_seed(points[0].scenario).seed
    for p in points:
        p.scenario = p.scenario.model_copy(update={"seed": seed})
    swept = keys + (["variant"] if spec.variants else [])
    return Sweep(path, spec, points, swept)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    """One problem per sweep key and message, saying how many points share it."""
    seen: dict[tuple, list[Problem]] = {}
    for p in problems:
        seen.setdefault((p.path, p.message.split(" (at point ")[0]), []).append(p)
    out = []
    for same in seen.values():
        first = same[0]
        extra = f" and {len(same) - 1} other point(s)" if len(same) > 1 else ""
        out.append(Problem(first.file, first.path, first.message.rstrip(")") + extra + ")"
                           if first.message.endswith(")") else first.message + extra))
    return out


def _locate(shown: str, prob: Problem, spec: SweepSpec, variant: Variant | None,
            desc: str) -> Problem:
    """Report a point's problem against the sweep key that caused it, if one did."""
    bad = format_path(prob.path)
    what = f"{bad}: {prob.message}" if bad else prob.message
    candidates = [(("grid", k), k) for k in spec.grid]
    if variant is not None:
        i = spec.variants.index(variant)
        candidates += [(("variants", i, "set", k), k) for k in variant.set]
    candidates += [(("set", k), k) for k in spec.set]
    for where, key in candidates:
        if bad and (bad == key or bad.startswith((key + ".", key + "["))
                    or key.startswith((bad + ".", bad + "["))):
            return Problem(shown, where, f"{prob.message} (at point {desc})")
    return Problem(shown, (), f"point {desc}: {prob.file}: {what}")


# ------------------------------------------------------------------------- running


def _execute(scenario: Scenario, replication: int, reducer: Callable[[RunResult], Any]) -> Any:
    """Run and reduce one run (in a worker); errors come back as an ("error", text) pair."""
    try:
        return "ok", reducer(run(scenario, replication=replication))
    except Exception as e:  # recorded, and the sweep goes on
        return "error", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"


def is_done(out: Path, key: str) -> bool:
    """Whether a run's results are complete on disk."""
    return (out / "runs" / key / "metadata.json").is_file()


def store(out: Path, key: str, point: Point, replication: int, tables: dict[str, pd.DataFrame]
          ) -> None:
    """Write one run's tables atomically into ``runs/<key>/`` (metadata.json last)."""
    with atomic_dir(out / "runs" / key) as stage:
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
    with atomic_dir(out / "failures") as stage:
        (stage / f"{key}.json").write_text(json.dumps({
            "key": key, "label": point.label, "description": point.description,
            "replication": replication, "error": error}, default=str, indent=2),
            encoding="utf-8")


def execute(sweep: Sweep, out: Path, reducer: Callable[[RunResult], Any], workers: int = 1,
            scheduler: str | None = None, progress: bool | None = None
            ) -> Iterator[tuple[str, Point, int, str | None]]:
    """Run every unfinished run of the sweep; yield ``(key, point, replication, error)``.

    Finished runs (already on disk) are skipped. Results are written by this
    process as each run completes, so workers need no access to ``out``.
    With ``scheduler`` (a Dask scheduler address) the runs go to that
    cluster; otherwise to ``workers`` local processes.
    """
    todo = [(p, k, key) for p, k, key in sweep.runs() if not is_done(out, key)]
    if progress is None:
        progress = sys.stderr.isatty() and not os.environ.get("CI")
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="sweep runs", unit="run", file=sys.stderr)

    def finish(p: Point, k: int, key: str, status: str, value: Any):
        if status == "ok":
            store(out, key, p, k, value)
            err = None
        else:
            record_failure(out, key, p, k, value)
            err = value.splitlines()[0]
        if bar is not None:
            bar.update(1)
        return key, p, k, err

    try:
        if scheduler:
            from dask.distributed import Client, as_completed

            with Client(scheduler, timeout="30s") as client:
                futures = {client.submit(_execute, p.scenario, k, reducer, key=f"run-{key}",
                                         pure=False): (p, k, key) for p, k, key in todo}
                for fut in as_completed(futures):
                    p, k, key = futures[fut]
                    try:
                        status, value = fut.result()
                    except Exception as e:  # the worker died or the task was lost
                        status, value = "error", f"{type(e).__name__}: {e}"
                    yield finish(p, k, key, status, value)
        elif workers <= 1:
            for p, k, key in todo:
                status, value = _execute(p.scenario, k, reducer)
                yield finish(p, k, key, status, value)
        else:
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_execute, p.scenario, k, reducer): (p, k, key)
                           for p, k, key in todo}
                for fut in as_completed(futures):
                    p, k, key = futures[fut]
                    try:
                        status, value = fut.result()
                    except Exception as e:  # a worker process died
                        status, value = "error", f"{type(e).__name__}: {e}"
                    yield finish(p, k, key, status, value)
    finally:
        if bar is not None:
            bar.close()


def read_runs(sweep: Sweep, out: Path, table: str) -> list[tuple[Point, int, pd.DataFrame]]:
    """One stored table of every finished run, in sweep order."""
    got = []
    for p, k, key in sweep.runs():
        f = out / "runs" / key / f"{table}.parquet"
        if is_done(out, key) and f.is_file():
            got.append((p, k, pd.read_parquet(f)))
    return got
