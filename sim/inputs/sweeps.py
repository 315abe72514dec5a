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

Running a sweep (resumable, failure-tolerant) is :mod:`sim.runs.sweep`.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .files import SWEEP
from .loading import Origin, read_spec
from .policies import Registry
from .problems import Problem, ScenarioError, merge_repeats
from .resolve import with_seed
from .roots import outside, reading_from
from .schema import Scenario
from .variants import ScenarioVariants


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
    report: list[dict[str, Any]] | None = Field(
        None, description="The points the comparison report sets side by side: each entry "
        "names values of swept parameters (a grid key, or `variant`) and picks every point "
        "that has them; at most REPORT_POINTS points in all. Without it, a sweep of up to "
        "REPORT_POINTS points reports them all, a larger one none. A sweep of one "
        "replication has no report (its intervals need two), and refuses this key.")


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
    reported: list[str] | None = None  # the labels of the points named under ``report:``

    def size(self) -> str:
        """Its points, replications and runs in words: ``9 points x 5 replications = 45 runs``."""
        n, reps = len(self.points), self.spec.replications
        return (f"{n} point{'s' * (n != 1)} x {reps} replication{'s' * (reps != 1)} = "
                f"{n * reps} run{'s' * (n * reps != 1)}")

    def runs(self) -> list[tuple[Point, int, str]]:
        """Every (point, replication, key) to run, replication-major.

        Each point's resolved scenario is written out once however often this is
        asked (it was a quarter of a 100-run sweep's time when made for every run,
        every time): the points do not change once the sweep is loaded.
        """
        if self._runs is None:
            texts = [_keyed_text(p.scenario) for p in self.points]
            self._runs = [(p, k, _key(text, k)) for k in range(self.spec.replications)
                          for p, text in zip(self.points, texts, strict=True)]
        return list(self._runs)

    _runs: list[tuple[Point, int, str]] | None = field(default=None, init=False, repr=False,
                                                       compare=False)


def _keyed_text(scenario: Scenario) -> str:
    """The resolved scenario as a run's key hashes it: every value, as compact JSON.

    The same values as :func:`sim.inputs.resolve.resolved_yaml` (both write the
    scenario's JSON-mode dump) in a fiftieth of the time or less: the YAML took
    4 to 8 ms a scenario, about 1 s of a 200-point sweep's start and 2.4 s of
    the shipped 600-run question (``gpsim choose``), in the parent alone. (Keys
    made before 7 December 2026 hashed the YAML, so runs saved then are run
    again, not reused.)
    """
    return scenario.model_dump_json(by_alias=True)


def _key(resolved: str, replication: int) -> str:
    text = resolved + f"\nreplication: {replication}\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def run_key(scenario: Scenario, replication: int) -> str:
    """The identity of a run: a hash of its resolved scenario (with seed) and replication."""
    return _key(_keyed_text(scenario), replication)


def _label(value: Any) -> str:
    text = str(value)
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)[:40]


#: The most points a sweep's comparison report sets side by side. Beyond a dozen its
#: plots repeat their ten colours and its tables (a column a point) outgrow a page,
#: and drawing it costs about 0.2 s a point after the last run (40 points: 8 s); a
#: larger sweep is shown by its own plots and its tables (every run), and its report
#: compares only the points its file names under ``report:``. A sweep of one
#: replication writes no report at all: its verdict and tables stand on 95% intervals,
#: which need two (as ``compare`` needs two replications).
REPORT_POINTS = 12

#: The most runs (points x replications) a sweep may have unless told otherwise
#: (``--max-runs``): about an hour of the default practice on two cores.
DEFAULT_MAX_RUNS = 10_000


def count_runs(spec: SweepSpec) -> int:
    """Runs the sweep asks for (points x replications), counted without expanding it."""
    points = math.prod(len(v) for v in spec.grid.values()) * max(1, len(spec.variants))
    return points * spec.replications


def load_sweep(path: str | Path, policies: Registry | None = None,
               max_runs: int = DEFAULT_MAX_RUNS) -> Sweep:
    """Read, validate and expand a sweep file: every point is validated before anything runs.

    A problem caused by the sweep's ``grid``, ``variants`` or ``set`` is
    reported at the line of the sweep file where it is written, once however
    many points share it. The runs are counted first: a sweep of more than
    ``max_runs`` is refused before any point is made.

    Raises:
        ScenarioError: naming the sweep file (or the base scenario), the line
            and the key of every problem.
    """
    with reading_from(path):
        return _load_sweep(Path(path), policies, max_runs)


def _load_sweep(path: Path, policies: Registry | None, max_runs: int) -> Sweep:
    shown = str(path)
    spec, doc = read_spec(path, SweepSpec, SWEEP)
    base = (path.parent / spec.base)
    refused = outside(base, spec.base)
    if refused:
        raise ScenarioError([Problem(shown, ("base",), refused, doc.lines.get(("base",)))])
    if not base.is_file():
        raise ScenarioError([Problem(shown, ("base",), f"scenario file {spec.base!r} not found "
                                     f"(looked for {base.resolve()})", doc.lines.get(("base",)))])
    for key, values in spec.grid.items():
        if not values:
            raise ScenarioError([Problem(shown, ("grid", key), "needs at least one value",
                                         doc.lines.get(("grid", key)))])
    runs = count_runs(spec)
    if runs > max_runs:
        where = ("grid",) if spec.grid else ("replications",)
        sizes = " x ".join(str(len(v)) for v in spec.grid.values()) or "1"
        raise ScenarioError([Problem(shown, where, (
            f"the sweep asks for {runs:,} runs ({sizes} grid values"
            + (f" x {len(spec.variants)} variants" if spec.variants else "")
            + f" x {spec.replications} replications); the most allowed is {max_runs:,}: "
            "make the grid smaller, or raise the limit with --max-runs if you mean it"),
            doc.lines.get(where))])
    names = [v.name for v in spec.variants]
    if len(set(names)) != len(names):
        raise ScenarioError([Problem(shown, ("variants",), "variant names must be unique",
                                     doc.lines.get(("variants",)))])
    keys = list(spec.grid)
    combos = list(itertools.product(*(list(enumerate(v)) for v in spec.grid.values()))
                  ) if keys else [()]
    variants = list(enumerate(spec.variants)) or [(None, None)]
    loads = ScenarioVariants(base, policies)  # the base read once for every point
    points: list[Point] = []
    found: list[tuple[str, Problem]] = []
    for vi, variant in variants:
        for combo in combos:
            values = {k: v for k, (_, v) in zip(keys, combo, strict=True)}
            overrides = {**spec.set, **(variant.set if variant else {}), **values}
            origins = {k: Origin(shown, doc.lines.get(("set", k)), ("set", k)) for k in spec.set}
            if variant is not None:
                origins.update({k: Origin(shown, doc.lines.get(("variants", vi, "set", k)),
                                          ("variants", vi, "set", k)) for k in variant.set})
            for k, (j, _) in zip(keys, combo, strict=True):
                # The value's own line when the grid lists one value per line.
                origins[k] = Origin(shown, doc.lines.get(("grid", k, j),
                                                         doc.lines.get(("grid", k))),
                                    ("grid", k))
            bits = ([variant.name] if variant else []) + [_label(v) for v in values.values()]
            label = "-".join(bits) or "base"
            desc = ", ".join(([f"variant {variant.name}"] if variant else [])
                             + [f"{k}={v}" for k, v in values.items()]) or "base"
            try:
                s = loads.load(overrides, origins)
            except ScenarioError as e:
                found += [(desc, prob) for prob in e.problems]
                continue
            points.append(Point(label, desc, values, s, overrides,
                                variant.name if variant else None))
    if found:
        raise ScenarioError(merge_repeats(found, "point"))
    labels = [p.label for p in points]
    if len(set(labels)) != len(labels):
        for i, p in enumerate(points):
            p.label = f"{i + 1:02d}-{p.label}"
    seed = spec.seed if spec.seed is not None else with_seed(points[0].scenario).seed
    for p in points:
        p.scenario = p.scenario.model_copy(update={"seed": seed})
    swept = keys + (["variant"] if spec.variants else [])
    reported = None if spec.report is None else _reported(spec, doc, shown, points, swept)
    return Sweep(path, spec, points, swept, reported)


def _reported(spec: SweepSpec, doc, shown: str, points: list[Point],
              swept: list[str]) -> list[str]:
    """The labels of the points the sweep file names under ``report:``, in the sweep's order.

    Raises:
        ScenarioError: every entry that names a parameter not swept or a value the
            sweep does not have, one that names nothing, too many points in all, or
            a report asked of a sweep of one replication (no intervals to compare).
    """
    problems = []
    if spec.replications < 2:
        problems.append(Problem(shown, ("report",), "a report compares points by their 95% "
                                "intervals, which need at least 2 replications (this sweep "
                                "has 1): set replications: 2 or more, or leave report: out",
                                doc.lines.get(("report",))))
    chosen: set[str] = set()

    def value_of(p: Point, key: str):
        return p.variant if key == "variant" else p.values[key]

    for i, entry in enumerate(spec.report or []):
        at = ("report", i)
        if not entry:
            problems.append(Problem(shown, at, "names no swept parameter (for example "
                                    f"{{{swept[0] if swept else 'policy.name'}: ...}})",
                                    doc.lines.get(at)))
            continue
        bad = False
        for key, value in entry.items():
            where = (*at, key)
            line = doc.lines.get(where, doc.lines.get(at))
            if key not in swept:
                problems.append(Problem(shown, where, f"{key!r} is not swept by this file "
                                        f"(swept: {', '.join(swept) or 'nothing'})", line))
                bad = True
                continue
            values: list[Any] = []  # (a value may be a list, which dict.fromkeys refuses)
            for p in points:
                if value_of(p, key) not in values:
                    values.append(value_of(p, key))
            if value not in values:
                problems.append(Problem(shown, where, f"{value!r} is not one of its values "
                                        f"({', '.join(map(str, values))})", line))
                bad = True
        if not bad:
            chosen.update(p.label for p in points
                          if all(value_of(p, k) == v for k, v in entry.items()))
    if not problems and len(chosen) > REPORT_POINTS:
        problems.append(Problem(shown, ("report",), f"picks {len(chosen)} points; a report "
                                f"sets at most {REPORT_POINTS} side by side",
                                doc.lines.get(("report",))))
    if problems:
        raise ScenarioError(problems)
    return [p.label for p in points if p.label in chosen]
