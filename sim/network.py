"""Many practices in one scenario: a primary care network or a federation.

A network file::

    name: Riverside PCN
    seed: 7
    practices:
      - {id: riverside, scenario: ../default.yaml, set: {population.size: 8000}}
      - {id: hillview, scenario: ../policies/usual_gp_first.yaml}

Each practice is a full scenario (its own population, workforce and booking
policy), validated like any other, with ``set`` overrides. Practices do not
interact (there is no shared hub yet), so they run independently, in one
process or several. Each practice's seed is derived from the network seed and
its id, so the results are identical however the runs are spread over
processes, and adding a practice does not change the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .loading import Problem, ScenarioError, load_scenario
from .results import RunResult, run
from .scenario import Scenario


class PracticeRef(BaseModel):
    """One practice of a network."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    scenario: str = Field(description="Scenario file, relative to the network file.")
    set: dict[str, Any] = Field(default_factory=dict)


class NetworkSpec(BaseModel):
    """A network file, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "Network"
    seed: int = Field(20250106, ge=0, lt=2**63)
    practices: list[PracticeRef] = Field(min_length=1)


@dataclass
class Network:
    """A loaded network: its spec and each practice's validated scenario (seed set)."""

    file: Path
    spec: NetworkSpec
    practices: list[tuple[str, Scenario]]


def practice_seed(network_seed: int, practice_id: str) -> int:
    """A practice's master seed: a stable hash of the network seed and the practice id."""
    digest = hashlib.sha256(f"{network_seed}:{practice_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def load_network(path: str | Path) -> Network:
    """Read and validate a network file and every practice's scenario.

    Raises:
        ScenarioError: naming the network file and the practice at fault.
    """
    path = Path(path)
    shown = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError([Problem(shown, (), "file not found")]) from None
    except yaml.YAMLError as e:
        raise ScenarioError([Problem(shown, (), f"YAML error: {e}")]) from None
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(shown, (), "a network must be a mapping with practices:")])
    try:
        spec = NetworkSpec.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError([Problem(shown, tuple(e["loc"]), e["msg"]) for e in err.errors()]
                            ) from None
    ids = [p.id for p in spec.practices]
    if len(set(ids)) != len(ids):
        raise ScenarioError([Problem(shown, ("practices",), "practice ids must be unique")])
    practices, problems = [], []
    for i, ref in enumerate(spec.practices):
        try:
            s = load_scenario(path.parent / ref.scenario, ref.set)
        except ScenarioError as e:
            problems += [Problem(shown, ("practices", i), f"practice {ref.id!r}: {p}")
                         for p in e.problems]
            continue
        practices.append((ref.id, s.model_copy(update={"seed": practice_seed(spec.seed,
                                                                              ref.id)})))
    if problems:
        raise ScenarioError(problems)
    first = practices[0][1]
    for i, (pid, s) in enumerate(practices):
        if (s.start_date, s.warmup_days, s.duration_days) != (
                first.start_date, first.warmup_days, first.duration_days):
            raise ScenarioError([Problem(shown, ("practices", i), f"practice {pid!r} has a "
                                         "different start_date, warmup_days or duration_days "
                                         f"from {practices[0][0]!r}; a network shares one "
                                         "calendar (set them in the network's set: overrides)")])
    return Network(path, spec, practices)


def _one(practice_id: str, scenario: Scenario, replication: int, reducer) -> tuple[str, Any]:
    result = run(scenario, replication=replication)
    return practice_id, (reducer(result) if reducer is not None else result)


def run_network(network: Network, replication: int = 0, workers: int = 1,
                reducer=None) -> Iterator[tuple[str, RunResult | Any]]:
    """Run every practice; yield ``(practice id, result)`` in the network's order.

    ``reducer`` (picklable) turns each :class:`RunResult` into what is kept,
    in the worker; without one the full results come back.
    """
    jobs = [(pid, s, replication, reducer) for pid, s in network.practices]
    if workers <= 1:
        for job in jobs:
            yield _one(*job)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_one, *zip(*jobs, strict=True))
