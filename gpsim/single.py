"""Running one scenario and writing its results: the library behind ``run.py run``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.outputs import write_run
from analysis.summary import run_parts, run_summaries
from sim.inputs.loading import load_scenario
from sim.inputs.policies import Registry
from sim.inputs.schema import Scenario
from sim.outcomes.tables import RunResult
from sim.runs.single import run


def run_scenario(scenario: str | Path | Scenario, out: str | Path, *, replication: int = 0,
                 seed: int | None = None, overrides: Mapping[str, Any] | None = None,
                 policies: Registry | None = None) -> tuple[RunResult, pd.Series]:
    """Run one scenario, write every output into ``out``; return the result and its summary."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides, policies)
    result = run(scenario, replication=replication, seed=seed, policies=policies)
    parts = run_parts(result)
    write_run(result, out, parts=parts)
    return result, run_summaries(result, parts)[0].iloc[0]
