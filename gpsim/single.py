"""Running one scenario and writing its results: the library behind ``run.py run``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.outputs import write_run_files
from analysis.summary import run_parts, run_summaries
from sim.files.outputs import claim_output
from sim.inputs.loading import load_scenario
from sim.inputs.policies import Registry
from sim.inputs.schema import Scenario
from sim.outcomes.tables import RunResult
from sim.runs.single import run


def run_scenario(scenario: str | Path | Scenario, out: str | Path, *, replication: int = 0,
                 seed: int | None = None, overrides: Mapping[str, Any] | None = None,
                 policies: Registry | None = None, force: bool = False
                 ) -> tuple[RunResult, pd.Series]:
    """Run one scenario, write every output into ``out``; return the result and its summary.

    ``out`` is claimed before the run starts (:func:`sim.files.outputs.claim_output`):
    a folder holding files the tool did not write is refused unless ``force``.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides, policies)
    with claim_output(out, command="run", force=force) as folder:
        result = run(scenario, replication=replication, seed=seed, policies=policies)
        parts = run_parts(result)
        with folder.writing() as stage:
            write_run_files(result, stage, parts=parts)
    return result, run_summaries(result, parts)[0].iloc[0]
