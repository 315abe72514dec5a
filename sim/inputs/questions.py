"""Question files: which approach, with which settings, suits this practice (``gpsim choose``).

A question file::

    name: Most continuity, routine waits no more than a day longer
    base: ../default.yaml              # today's practice: every option starts from it
    seed: 20250106                     # optional: the base scenario's seed otherwise
    set: {duration_days: 182}          # optional: applied to every run, today's too
    options:                           # the approaches the practice could adopt
      - name: usual_gp_first
        set: {policy.name: usual_gp_first}
        search:                        # the settings it can change, and their ranges
          policy.params.adherence: {low: 0.3, high: 0.9}
          practice.booking_horizon_days: [14, 28, 42]
    objective: {measure: slicc, direction: maximise}
    constraints:
      - {measure: routine_wait_mean_days, at_most: 1.0, relative_to: today}
      - {measure: urgent_same_day_share, at_least: 0.95}
    search: {trials: 24, replications: 3}
    selection: {finalists: 4, indifference_zone: 0.01, probability: 0.95}
    robustness:
      assumptions:                     # plausible ranges of what the practice is unsure of
        policy.params.adherence: {low: 0.3, high: 0.8}

Every option is validated as a scenario at each end of every range it searches
(and at every listed value), and every assumption at both ends, before anything
runs; a problem names the question file's line and key. Measures are checked
by the caller (``measures``), since what a run measures is analysis's business.

What runs (the search, the selection, the robustness check) is
:mod:`gpsim.choose`; the procedures are :mod:`analysis.selection`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .checks import _unknown
from .files import QUESTION
from .loading import Origin, load_scenario, read_spec
from .policies import Registry
from .problems import Problem, ScenarioError, merge_repeats
from .resolve import with_seed
from .roots import outside, reading_from
from .schema import Scenario


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """A range of a number: ``low`` to ``high``, optionally in steps (whole numbers if all are)."""

    low: float
    high: float
    step: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.high > self.low:
            raise ValueError(f"high ({self.high:g}) must be more than low ({self.low:g})")
        return self

    @property
    def whole(self) -> bool:
        """Whether the range holds whole numbers only (low, high and step all whole)."""
        return all(float(x).is_integer() for x in (self.low, self.high, self.step or 1))

    def value(self, x: Any) -> Any:
        """``x`` as the scenario takes it: a whole number when the range is whole."""
        return round(float(x)) if self.whole else float(x)


class Option(_Strict):
    """An approach the practice could adopt: fixed settings, and the settings to search."""

    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    set: dict[str, Any] = Field(default_factory=dict)
    search: dict[str, list[Any] | Range] = Field(default_factory=dict)


class Objective(_Strict):
    """What the choice is for: one measure, made as large (or as small) as it can be."""

    measure: str
    direction: Literal["maximise", "minimise"] = "maximise"


class Constraint(_Strict):
    """What the practice cannot compromise on: a measure's bound, judged on its interval.

    ``relative_to: today``: the bound is on the change from today's practice
    (paired, replication by replication), e.g. a routine wait no more than
    ``at_most: 1.0`` day longer than today's.
    """

    measure: str
    at_most: float | None = None
    at_least: float | None = None
    relative_to: Literal["none", "today"] = "none"

    @model_validator(mode="after")
    def _one_bound(self) -> Constraint:
        if (self.at_most is None) == (self.at_least is None):
            raise ValueError("give exactly one of at_most and at_least")
        return self

    @property
    def bound(self) -> float:
        """The bound's value."""
        return self.at_most if self.at_most is not None else self.at_least

    def excess(self, value):
        """How far ``value`` (a number or an array) is past the bound: 0 or less when met."""
        return value - self.bound if self.at_most is not None else self.bound - value


class SearchSettings(_Strict):
    """The search: how many settings to try, and how many replications each."""

    trials: int = Field(24, ge=1, le=5000, description="Settings tried (options first).")
    replications: int = Field(3, ge=1, le=100, description="Replications per setting tried.")
    batch: int = Field(4, ge=1, le=256, description="Settings proposed at once (runs in "
                       "parallel). Fixed in the file, never taken from the number of workers, "
                       "so the same question gives the same answer on any machine.")
    sampler: Literal["tpe", "random"] = "tpe"


class SelectionSettings(_Strict):
    """Ranking and selection among the search's best: KN with an indifference zone."""

    finalists: int = Field(4, ge=1, le=20)
    indifference_zone: float = Field(gt=0, description="The smallest difference in the "
                                     "objective worth telling apart, in its own units "
                                     "(0.01 = 1 point of a share).")
    probability: float = Field(0.95, gt=0.5, lt=1, description="Probability of correct "
                               "selection when the best beats the rest by the zone or more.")
    first_stage: int = Field(5, ge=2, le=100)
    max_replications: int = Field(40, ge=2, le=10000)
    include_today: bool = Field(True, description="Keep today's practice as a finalist: "
                                "the answer may be to change nothing.")

    @model_validator(mode="after")
    def _stages(self) -> SelectionSettings:
        if self.max_replications < self.first_stage:
            raise ValueError("max_replications must be at least first_stage")
        return self


class RobustnessSettings(_Strict):
    """The robustness check: Morris screening, then Sobol indices on the assumptions that matter."""

    assumptions: dict[str, Range] = Field(default_factory=dict)
    trajectories: int = Field(6, ge=2, le=1000, description="Morris trajectories.")
    levels: int = Field(4, ge=2, le=20, description="Morris grid levels.")
    sobol_samples: int = Field(8, ge=0, le=4096, description="Sobol base samples (0: skip).")
    sobol_top: int = Field(3, ge=1, le=20, description="Assumptions taken on to Sobol.")
    replications: int = Field(2, ge=1, le=100)
    finalists: int = Field(3, ge=2, le=10, description="The chosen option and its nearest "
                           "rivals, run at every sampled practice.")


class QuestionSpec(_Strict):
    """A question file, validated."""

    base: str = Field(description="Path of today's practice (a scenario), relative to the "
                      "question file.")
    name: str = "Which approach suits this practice?"
    description: str = ""
    seed: int | None = Field(None, ge=0, lt=2**63)
    set: dict[str, Any] = Field(default_factory=dict)
    options: list[Option] = Field(min_length=1)
    objective: Objective
    constraints: list[Constraint] = Field(default_factory=list)
    search: SearchSettings = SearchSettings()
    selection: SelectionSettings
    robustness: RobustnessSettings = RobustnessSettings()


@dataclass(frozen=True)
class Candidate:
    """One setting of one option (or today's practice): what a run is made of."""

    option: str
    values: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """``option(key=value, ...)``, with each key's last part."""
        if not self.values:
            return self.option
        inner = ", ".join(f"{k.rsplit('.', 1)[-1]}={_short(v)}" for k, v in self.values)
        return f"{self.option}({inner})"


TODAY = "today"


def _short(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


@dataclass
class Question:
    """A loaded question: its spec, base file and today's scenario."""

    file: Path
    spec: QuestionSpec
    base: Path
    today: Scenario
    #: Per option (or ``today``), the assumptions its policy does not take.
    not_applicable: dict[str, set[str]] = field(default_factory=dict)

    def option(self, name: str) -> Option:
        """The option of that name."""
        return next(o for o in self.spec.options if o.name == name)

    def scenario(self, candidate: Candidate, assumptions: dict[str, Any] | None = None,
                 policies: Registry | None = None) -> Scenario:
        """The scenario of a candidate (today's practice for ``today``), with assumed values."""
        overrides = dict(self.spec.set)
        if candidate.option != TODAY:
            overrides.update(self.option(candidate.option).set)
            overrides.update(dict(candidate.values))
        skip = self.not_applicable.get(candidate.option, set())
        overrides.update({k: v for k, v in (assumptions or {}).items() if k not in skip})
        s = load_scenario(self.base, overrides, policies)
        return s.model_copy(update={"seed": self.today.seed})


def load_question(path: str | Path, policies: Registry | None = None,
                  measures: set[str] | None = None) -> Question:
    """Read and validate a question file; every option setting is validated as a scenario.

    Args:
        path: the question file.
        policies: the policy registry (None: the installed one).
        measures: the measures an objective or constraint may name (None: not checked).

    Raises:
        ScenarioError: every problem, naming the question file (or the base
            scenario), the line and the key.
    """
    with reading_from(path):
        return _load(Path(path), policies, measures)


def _load(path: Path, policies: Registry | None, measures: set[str] | None) -> Question:
    shown = str(path)
    spec, doc = read_spec(path, QuestionSpec, QUESTION)
    base = path.parent / spec.base
    refused = outside(base, spec.base)
    if refused:
        raise ScenarioError([Problem(shown, ("base",), refused, doc.lines.get(("base",)))])
    return _check(path, shown, spec, doc.lines, base, policies, measures)


def question_from_form(data: dict, base: str | Path, policies: Registry | None = None,
                       measures: set[str] | None = None, shown: str = "the form") -> Question:
    """A question made in the app's form rather than a file, checked the same way.

    ``data`` is what a question file holds (``base`` is taken from ``base``,
    a scenario file the user chose); problems name ``shown`` and the key.
    """
    from pydantic import ValidationError

    base = Path(base)
    try:
        spec = QuestionSpec.model_validate({**data, "base": str(base)})
    except ValidationError as err:
        raise ScenarioError([Problem(shown, tuple(e["loc"]), e["msg"])
                             for e in err.errors()]) from None
    with reading_from(base):
        return _check(base.parent / "question (from the form)", shown, spec, {}, base,
                      policies, measures)


def _check(path: Path, shown: str, spec: QuestionSpec, lines: dict, base: Path,
           policies: Registry | None, measures: set[str] | None) -> Question:
    """Every check of a question whose spec has been read: measures, options, assumptions."""

    def problem(where: tuple, message: str) -> Problem:
        return Problem(shown, where, message, lines.get(where))

    if not base.is_file():
        raise ScenarioError([problem(("base",), f"scenario file {spec.base!r} not found "
                                                f"(looked for {base.resolve()})")])
    found: list[Problem] = []
    names = [o.name for o in spec.options]
    for i, name in enumerate(names):
        if name in names[:i]:
            found.append(problem(("options", i, "name"), f"option name {name!r} is used twice"))
        if name == TODAY:
            found.append(problem(("options", i, "name"), "'today' is today's practice; give "
                                 "the option another name"))
    if measures is not None:
        wanted = [(("objective", "measure"), spec.objective.measure)]
        wanted += [(("constraints", i, "measure"), c.measure)
                   for i, c in enumerate(spec.constraints)]
        for where, m in wanted:
            if m not in measures:
                found.append(problem(where, _unknown("measure", m, sorted(measures))
                                     + " (the measures are the columns of a run's summary.csv)"))
    for i, o in enumerate(spec.options):
        for key, values in o.search.items():
            if isinstance(values, list) and not values:
                found.append(problem(("options", i, "search", key), "needs at least one value"))
    set_origins = {k: Origin(shown, lines.get(("set", k)), ("set", k)) for k in spec.set}
    failed: list[tuple[str, Problem]] = []

    def check(who: str, overrides: dict, origins: dict) -> Scenario | None:
        try:
            return load_scenario(base, overrides, policies, origins)
        except ScenarioError as e:
            failed.extend((who, p) for p in e.problems)
            return None

    today = check("today's practice", dict(spec.set), set_origins)
    for i, o in enumerate(spec.options):
        fixed = {**spec.set, **o.set}
        origins = {**set_origins, **{k: Origin(shown, lines.get(("options", i, "set", k)),
                                               ("options", i, "set", k)) for k in o.set}}
        ends = _ends(o.search)
        for j, values in enumerate(ends):
            here = {**origins, **{k: Origin(shown, lines.get(("options", i, "search", k)),
                                            ("options", i, "search", k)) for k in values}}
            check(f"option {o.name}" + (f" #{j + 1}" if len(ends) > 1 else ""),
                  {**fixed, **values}, here)
    skip: dict[str, set[str]] = {}
    for key, r in spec.robustness.assumptions.items():
        where = ("robustness", "assumptions", key)
        origins = {**set_origins, key: Origin(shown, lines.get(where), where)}
        if key.startswith("policy.params."):
            # A policy's own parameter (adherence, say) applies to the options whose
            # policy takes it; it must apply to at least one of them.
            takers = []  # the settings of each that takes it
            for who, fixed in [(TODAY, dict(spec.set))] + [
                    (o.name, {**spec.set, **o.set, **_ends(o.search)[0]})
                    for o in spec.options]:
                try:
                    load_scenario(base, {**fixed, key: r.value(r.low)}, policies, origins)
                    takers.append(fixed)
                except ScenarioError:
                    skip.setdefault(who, set()).add(key)
            if not takers:
                failed.append((f"assumption {key}", Problem(
                    shown, where, "no option's policy takes this parameter", lines.get(where))))
                continue
            for end in (r.low, r.high):
                check(f"assumption {key}={end:g}", {**takers[-1], key: r.value(end)}, origins)
            continue
        for end in (r.low, r.high):
            check(f"assumption {key}={end:g}", {**spec.set, key: r.value(end)}, origins)
    if found or failed:
        raise ScenarioError(found + (merge_repeats(failed, "setting") if failed else []))
    assert today is not None
    seed = spec.seed if spec.seed is not None else with_seed(today).seed
    today = today.model_copy(update={"seed": seed})
    return Question(path, spec, base, today, skip)


def _ends(search: dict[str, list[Any] | Range]) -> list[dict[str, Any]]:
    """Settings that between them reach every listed value and both ends of every range."""
    if not search:
        return [{}]
    columns = {k: (v if isinstance(v, list) else [v.value(v.low), v.value(v.high)])
               for k, v in search.items()}
    n = max(len(v) for v in columns.values())
    return [{k: v[min(j, len(v) - 1)] for k, v in columns.items()} for j in range(n)]


def grid_size(search: dict[str, list[Any] | Range]) -> float:
    """How many distinct settings an option has (inf when a range is continuous)."""
    size = 1.0
    for v in search.values():
        if isinstance(v, list):
            size *= len(v)
        elif v.step is not None:
            size *= math.floor((v.high - v.low) / v.step + 1e-9) + 1
        else:
            return math.inf
    return size
