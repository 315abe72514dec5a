"""One run: build the world, book it on a desk, compute the outcomes, make the tables."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.practice import PracticeModel
from ..inputs.loading import load_scenario
from ..inputs.policies import Registry
from ..inputs.resolve import with_seed
from ..inputs.schema import Scenario
from ..outcomes.emergency import simulate_emergencies
from ..outcomes.tables import RunResult, build_tables
from ..world.build import build_world


def run(scenario: Scenario, replication: int = 0, seed: int | None = None,
        policies: Registry | None = None, engine: str | None = None) -> RunResult:
    """Simulate one replication of a validated scenario and return its tables.

    Args:
        scenario: a validated scenario (:func:`sim.load_scenario`).
        replication: the replication number; with the seed, it picks the random streams.
        seed: overrides the scenario's seed (a fresh one is chosen if neither is set).
        policies: the policy registry (None: the installed one).
        engine: ``auto`` (default), ``compiled`` or ``reference``: both book identically.
    """
    scenario = with_seed(scenario, seed)
    t0 = time.perf_counter()
    world = build_world(scenario, replication)
    model = PracticeModel(world, policies=policies)
    t_build = time.perf_counter() - t0
    record = model.run(engine)
    emergencies = simulate_emergencies(world, record)
    wall = time.perf_counter() - t0
    tables = build_tables(world, record, emergencies)
    info = {
        "seed": scenario.seed,
        "replication": replication,
        "engine": record.engine,
        "wall_seconds": wall,
        "build_seconds": t_build,
        "requests_handled": record.log.n_requests,
        "arrivals": len(world.arrivals),
        "patients": world.patients.size,
        "clinicians": world.workforce.size,
        "window_start": str(np.datetime64(scenario.start_date, "D")
                            + np.timedelta64(scenario.warmup_days, "D")),
        "window_end": str(np.datetime64(scenario.start_date, "D")
                          + np.timedelta64(scenario.end_day, "D")),
        "window_days": scenario.duration_days,
    }
    return RunResult(scenario=scenario, replication=replication, tables=tables, info=info)


def load_engine() -> None:
    """Load now what a process's first run would: the compiled desk and the bank holidays' rules.

    numba and the desk's compiled module (0.15 to 0.2 s), and python-holidays'
    rules for the United Kingdom (about 0.015 s, the package's import included).
    A worker started ahead of its tasks calls it
    (:func:`sim.runs.executor.kept_workers`); nothing a run returns depends on it.
    """
    from ..engine import compiled  # noqa: F401  (imports numba and the kernel)
    from ..world.closures import BANK_HOLIDAYS, bank_holidays

    day = dt.date(2024, 1, 1)
    bank_holidays(next(iter(BANK_HOLIDAYS)), day, day)


def simulate(
    path: str | Path,
    replication: int = 0,
    seed: int | None = None,
    overrides: dict[str, Any] | None = None,
    policies: Registry | None = None,
) -> RunResult:
    """Load a scenario file and run it: the one-call API for notebooks.

    Example:
        >>> from sim import simulate
        >>> res = simulate("scenarios/default.yaml", seed=1)  # doctest: +SKIP
        >>> res.appointments.head()  # doctest: +SKIP
    """
    return run(load_scenario(path, overrides, policies), replication=replication, seed=seed,
               policies=policies)
