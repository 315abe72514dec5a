"""Loading scenario files: strict validation, and every problem named where it was written.

Every problem is reported as ``file:line: key.path: what is wrong``, with a
suggestion for a misspelt key. The loader never lets a traceback reach the
user for bad input: it raises :class:`ScenarioError`, which carries every
problem found, and the command line prints them and exits with status 2.

A file and its ``extends:`` chain are read by :mod:`sim.inputs.extends`; overrides
(``--set``, a sweep's grid, a network practice's ``set:``) are applied by
:mod:`sim.inputs.overrides`, and a problem an override causes is reported where
the override was written; here the data are validated against the schema
(:mod:`sim.inputs.schema`) and the cross-checks (:mod:`sim.inputs.checks`), with
:class:`Locator` finding each key's file and line. A practice's list and history
files that passed their checks are not read again while unchanged
(:func:`_checked_before`); a network's workers can check them ahead
(:func:`files_checked`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import types
import typing
from collections.abc import Mapping, Sequence
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..files.seen import note_input
from .checks import cross_reference_problems
from .extends import read_scenario_data
from .files import USE, wrong_kind
from .history_import import HistoryFileError, read_history
from .list_import import ListFileError, read_list
from .overrides import apply_override
from .policies import PolicyLookupError, Registry, policy_class
from .problems import KeyPath, Problem, ScenarioError
from .resolve import form_teams
from .roots import outside, reading_from
from .schema import PolicyRef, Scenario
from .yaml_files import YamlDoc, read_yaml


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where an override was written: a file and line, and the key path to show there.

    Attributes:
        file: the file (or ``--set`` for the command line).
        line: its line, if known.
        path: the key path as the user wrote it there (e.g. ``practices[2].set.x``).
    """

    file: str
    line: int | None
    path: KeyPath


# --------------------------------------------------------------------------- locating


class Locator:
    """Where each key of the merged scenario data was written: file, line, key path.

    A key set by an override is located at the override (its :class:`Origin`);
    any other at the first file of the ``extends:`` chain (child first) that
    sets it or its nearest ancestor. Items of id lists are matched across
    files by id, since merging by id moves them.
    """

    def __init__(self, docs: list[YamlDoc], data: dict[str, Any],
                 origins: Mapping[KeyPath, Origin] | None = None):
        self.docs = docs
        self.data = data
        self.origins = dict(origins or {})

    def problem(self, path: KeyPath, message: str) -> Problem:
        """A :class:`Problem` at ``path`` of the merged data."""
        origin = self._origin(path)
        if origin is not None:
            key_path, rest = origin
            return Problem(key_path.file, (*key_path.path, *rest), message, key_path.line)
        file, line, shown = self._located(path)
        return Problem(file, shown, message, line)

    def _origin(self, path: KeyPath) -> tuple[Origin, KeyPath] | None:
        """The override that set ``path`` (or created it), and the rest of the path below it."""
        best = None
        for key, origin in self.origins.items():
            if path[:len(key)] == key and (best is None or len(key) > len(best[0])):
                best = (key, origin)
        if best is not None:
            key, origin = best
            return origin, path[len(key):]
        # A key no file sets, made by an override below it (an unknown key's parent).
        if path and self._located(path, exact=True)[1] is None:
            for key, origin in self.origins.items():
                if key[:len(path)] == path:
                    return origin, ()
        return None

    def where(self, path: KeyPath, exact: bool = False) -> tuple[str, int | None]:
        """The file and line that set ``path`` (or, unless ``exact``, its nearest ancestor)."""
        file, line, _ = self._located(path, exact)
        return file, line

    def _located(self, path: KeyPath, exact: bool = False
                 ) -> tuple[str, int | None, KeyPath]:
        """File, line, and ``path`` as written in that file (list positions there)."""
        for n in range(len(path), -1 if not exact else len(path) - 1, -1):
            prefix = tuple(path[:n])
            for d in self.docs:
                doc_path = self._in_doc(d, prefix)
                if doc_path is not None and doc_path in d.lines:
                    return d.file, d.lines[doc_path], (*doc_path, *path[n:])
        return self.docs[0].file, None, path

    def _in_doc(self, doc: YamlDoc, path: KeyPath) -> KeyPath | None:
        """``path`` of the merged data as the same key's path in ``doc`` (ids followed)."""
        merged: Any = self.data
        node: Any = doc.data
        out: list[Any] = []
        for part in path:
            if isinstance(part, int) and isinstance(merged, list):
                item = merged[part] if part < len(merged) else None
                if isinstance(item, dict) and "id" in item and isinstance(node, list):
                    j = next((i for i, x in enumerate(node)
                              if isinstance(x, dict) and x.get("id") == item["id"]), None)
                    if j is None:
                        return None
                    part_in_doc = j
                else:
                    part_in_doc = part
                merged = item
                node = node[part_in_doc] if isinstance(node, list) and \
                    isinstance(part_in_doc, int) and part_in_doc < len(node) else None
                out.append(part_in_doc)
            else:
                merged = merged.get(part) if isinstance(merged, dict) else None
                node = node.get(part) if isinstance(node, dict) else None
                out.append(part)
        return tuple(out)


# ------------------------------------------------------------------- validation


def _unwrap(tp: Any) -> Any:
    """Strip Optional / Annotated wrappers from a type annotation."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if len(args) == 1 else tp
            if len(args) != 1:
                return tp
        else:
            return tp


def _allowed_keys(model: type[BaseModel], path: KeyPath) -> list[str]:
    """Field names of the model found at ``path`` below ``model`` (for suggestions)."""
    tp: Any = model
    for part in path:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            tp = field.annotation
        else:
            origin = typing.get_origin(tp)
            args = typing.get_args(tp)
            if origin in (tuple, list) and args:
                tp = args[0]
            elif origin in (dict, Mapping) and len(args) == 2:
                tp = args[1]
            else:
                return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def pydantic_problems(err: ValidationError, model: type[BaseModel], locator: Locator,
                      prefix: KeyPath = ()) -> list[Problem]:
    """Every error of a pydantic validation, located, with suggestions for misspelt keys."""
    problems = []
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if p != "[key]")
        is_key = "[key]" in e["loc"]
        kind = e["type"]
        msg = e["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            key = loc[-1]
            msg = f"unknown key {key!r}"
            allowed = _allowed_keys(model, loc[:-1])
            close = get_close_matches(str(key), allowed, n=1)
            if close:
                msg += f"; did you mean {close[0]!r}?"
            elif allowed:
                msg += f" (allowed: {', '.join(allowed)})"
        elif kind == "missing":
            msg = f"missing required key {loc[-1]!r}"
            loc = loc[:-1]  # the mapping it is missing from
        elif kind in ("literal_error", "enum"):
            expected = e.get("ctx", {}).get("expected", "")
            options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
            got = e.get("input")
            msg = f"{'key' if is_key else 'value'} {got!r} is not allowed; expected {expected}"
            close = get_close_matches(str(got), options, n=1)
            if close:
                msg += f"; did you mean {close[0]!r}?"
        elif kind in ("too_short", "too_long"):
            ctx = e.get("ctx", {})
            n = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
            items = "item" if n == 1 else "items"
            msg = (f"give at least {n} {items}" if kind == "too_short"
                   else f"give at most {n} {items}") + f" (got {ctx.get('actual_length', 0)})"
        elif "input" in e and not isinstance(e["input"], dict | list):
            msg += f" (got {_short(e['input'])})"
        problems.append(locator.problem((*prefix, *loc), msg))
    return problems


def validate_data(data: dict[str, Any], locator: Locator, policies: Registry | None = None,
                  validated: Mapping[str, Any] | None = None) -> Scenario:
    """Validate merged scenario data, then check the scenario as a whole.

    ``validated``: top-level parts of ``data`` already validated, as their
    models (:class:`ScenarioVariants`).
    """
    try:
        scenario = _model(data, validated)
    except ValidationError as err:
        raise ScenarioError(pydantic_problems(err, Scenario, locator)) from None
    if scenario.population.list_file is not None:
        scenario = _with_list_file(scenario, locator)
    if scenario.team_formation is not None:
        if scenario.teams:
            raise ScenarioError([locator.problem(("team_formation",), "give either teams or "
                                                 "team_formation, not both")])
        # The formed teams are written out in full (scenario.resolved.yaml).
        scenario = scenario.model_copy(update={"teams": form_teams(scenario),
                                               "team_formation": None})
    problems = [locator.problem(path, msg) for path, msg in cross_reference_problems(scenario)]
    problems += _policy_problems(scenario, locator, policies)
    if problems:
        raise ScenarioError(problems)
    return _with_ramp_targets(scenario, policies)


def _model(data: dict[str, Any], validated: Mapping[str, Any] | None) -> Scenario:
    """``Scenario.model_validate(data)``, the parts in ``validated`` taken as the models they are.

    Pydantic takes a model given for a field as it is, without validating it
    again, so only the other parts are validated from their data. Data with a
    problem are validated from scratch, so that the problems are those of the
    data as they stand.
    """
    if not validated:
        return Scenario.model_validate(data)
    try:
        return Scenario.model_validate({**data, **validated})
    except ValidationError:
        return Scenario.model_validate(data)


def _with_ramp_targets(scenario: Scenario, policies: Registry | None) -> Scenario:
    """Each ramped parameter's final value written into its change's params.

    The policy's default when the change did not give one, so the resolved
    scenario shows where every ramp ends.
    """
    changes = []
    for change in scenario.policy_changes:
        missing = [r.param for r in change.ramp if r.param not in change.policy.params]
        if missing:
            params_model = policy_class(change.policy.name, policies).Params
            defaults = params_model.model_validate(change.policy.params)
            policy = change.policy.model_copy(update={"params": {
                **change.policy.params, **{k: getattr(defaults, k) for k in missing}}})
            change = change.model_copy(update={"policy": policy})
        changes.append(change)
    return scenario.model_copy(update={"policy_changes": tuple(changes)})


#: The list (and history) files already read and found good in this process, by what
#: they were checked against: the list's size and the clinicians its history names.
#: See :func:`_checked_before`.
_CHECKED: dict[tuple, tuple[int, frozenset[str]]] = {}
_CHECKED_MOST = 4096  # entries of a few hundred bytes each; all forgotten past this


def _identity(path: Path) -> tuple | None:
    """What tells one version of a file from another, or None if it cannot be looked at."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _checked_before(path: Path, bands: list[str], holders: list[str], cohorts: list[str],
                    hpath: Path | None) -> tuple | None:
    """The key under which this list and history check is remembered (None: not to be).

    A network with a hub validates each practice's scenario again with the hub's
    clinicians added, a rollout once more, a sweep each point and a choice each
    candidate; reading a practice's list and history takes about 50 ms for
    10,000 patients. A check that passed is not repeated while neither file has
    changed (same real path, device, inode, size and modification time) and it
    is checked against the same age bands, list holders and cohorts, and the
    scenario has every clinician the history names. A check that failed is not
    remembered, so its problem is reported each time.
    """
    listed = _identity(path)
    history = _identity(hpath) if hpath is not None else None
    if listed is None or (hpath is not None and history is None):
        return None
    return listed, tuple(bands), tuple(holders), tuple(cohorts), history


def files_checked(task: tuple[Path, Mapping[str, Any], Sequence[Path], Registry | None]
                  ) -> dict[tuple, tuple[int, frozenset[str]]]:
    """In a worker: check a scenario's list and history files; the checks that passed.

    ``task``: the scenario file, its overrides, the allowed folders (the
    parent's: a worker reads nothing the parent may not) and the policy
    registry. The parent takes the result with :func:`remember_checked`, and
    its own loading then finds the files checked. A scenario without a list
    file is only read; a problem is left for the parent to find and report.
    """
    path, overrides, roots, policies = task
    known = set(_CHECKED)
    try:
        with reading_from(path, roots=roots):
            data, locator = _merged(path, overrides, None)
            population = data.get("population")
            if not (isinstance(population, dict) and population.get("list_file")):
                return {}
            validate_data(data, locator, policies)
    except ScenarioError:
        return {}
    return {key: value for key, value in _CHECKED.items() if key not in known}


def remember_checked(found: Mapping[tuple, tuple[int, frozenset[str]]]) -> None:
    """Remember list and history checks that passed elsewhere (:func:`files_checked`)."""
    for key, value in found.items():
        if len(_CHECKED) >= _CHECKED_MOST:
            _CHECKED.clear()
        _CHECKED[key] = value


def _with_list_file(scenario: Scenario, locator: Locator) -> Scenario:
    """Resolve and check ``population.list_file``; set ``population.size`` from it.

    The files are read only if this check has not passed before on the same
    files (:func:`_checked_before`); where it has, they are still noted as read
    (:func:`sim.files.seen.note_input`) and still refused if outside the allowed
    folders.
    """
    key = ("population", "list_file")
    where = locator.problem(key, "")
    raw = Path(scenario.population.list_file)
    path = raw if raw.is_absolute() or where.line is None else Path(where.file).parent / raw
    refused = outside(path, str(raw))
    if refused:
        raise ScenarioError([locator.problem(key, refused)])
    holders = [c.id for c in scenario.clinicians if not c.extended_access
               and c.role in scenario.roles and scenario.roles[c.role].holds_list]
    bands = [b.name for b in scenario.population.age_bands]
    clinicians = [c.id for c in scenario.clinicians]
    hkey = ("population", "history_file")
    hpath = hrefused = None
    if scenario.population.history_file is not None:
        hwhere = locator.problem(hkey, "")
        hraw = Path(scenario.population.history_file)
        hpath = (hraw if hraw.is_absolute() or hwhere.line is None
                 else Path(hwhere.file).parent / hraw)
        hrefused = outside(hpath, str(hraw))
    memo = None if hrefused else _checked_before(path, bands, holders, list(scenario.cohorts),
                                                 hpath)
    known = _CHECKED.get(memo) if memo is not None else None
    if known is not None and known[1] <= set(clinicians):
        size = known[0]
        note_input(path)
        if hpath is not None:
            note_input(hpath)
    else:
        try:
            imported = read_list(path, bands, holders, list(scenario.cohorts))
        except ListFileError as e:
            raise ScenarioError([locator.problem(key, str(e))]) from None
        if hrefused:
            raise ScenarioError([locator.problem(hkey, hrefused)])
        named: frozenset[str] = frozenset()
        if hpath is not None:
            try:
                history = read_history(hpath, imported.patient_id, clinicians)
            except HistoryFileError as e:
                raise ScenarioError([locator.problem(hkey, str(e))]) from None
            named = frozenset(clinicians[i] for i in set(history.clinician.tolist()))
        size = imported.size
        if memo is not None:
            remember_checked({memo: (size, named)})
    update = {"list_file": str(path.resolve()), "size": size}
    if hpath is not None:
        update["history_file"] = str(hpath.resolve())
    population = scenario.population.model_copy(update=update)
    return scenario.model_copy(update={"population": population})


def _policy_problems(scenario: Scenario, locator: Locator, policies: Registry | None
                     ) -> list[Problem]:
    """The policy and every policy change: names, parameters, ramps, dates."""
    problems = _one_policy(scenario, scenario.policy, ("policy",), locator, policies)[0]
    previous = scenario.start_date
    last = scenario.start_date + dt.timedelta(days=scenario.end_day - 1)
    for i, change in enumerate(scenario.policy_changes):
        where = ("policy_changes", i)
        day = change.from_date
        if day > last:
            problems.append(locator.problem((*where, "from"), (
                f"{day} is after the run ends ({last}); lengthen duration_days or move "
                f"the change")))
        elif day <= previous:
            problems.append(locator.problem((*where, "from"), (
                f"{day} is not after the previous change ({previous}); changes go in date "
                f"order" if i else f"{day} is not after the run starts ({previous})")))
        previous = max(previous, change.from_date)
        found, params = _one_policy(scenario, change.policy, (*where, "policy"), locator,
                                    policies)
        problems += found
        if found:  # an unknown policy, or bad parameters: its ramps cannot be checked
            continue
        for j, ramp in enumerate(change.ramp):
            problems += _ramp_problems(ramp, params, change, (*where, "ramp", j), locator)
    return problems


def _one_policy(scenario: Scenario, ref: PolicyRef, where: KeyPath, locator: Locator,
                policies: Registry | None) -> tuple[list[Problem], BaseModel | None]:
    """Problems with one policy reference, and its validated parameters (None if invalid)."""
    try:
        cls = policy_class(ref.name, policies)
    except PolicyLookupError as e:
        return [locator.problem((*where, "name"), str(e))], None
    params_model = getattr(cls, "Params", None)
    if params_model is None:
        if ref.params:
            return [locator.problem((*where, "params"),
                                    f"policy {ref.name!r} takes no parameters")], None
        return [], None
    try:
        params = params_model.model_validate(ref.params)
    except ValidationError as err:
        return pydantic_problems(err, params_model, locator, prefix=(*where, "params")), None
    check = getattr(cls, "check_scenario", None)
    return [locator.problem((*where, "params", *path), msg)
            for path, msg in (check(params, scenario) if check is not None else [])], params


def _ramp_problems(ramp, params: BaseModel | None, change, where: KeyPath,
                   locator: Locator) -> list[Problem]:
    """A ramp must name a numeric parameter of the change's policy, and start at a valid value."""
    numeric = [k for k, v in (params.model_dump().items() if params is not None else [])
               if isinstance(v, int | float) and not isinstance(v, bool)]
    if ramp.param not in numeric:
        close = get_close_matches(ramp.param, numeric, n=1)
        hint = (f"; did you mean {close[0]!r}?" if close
                else f" (numeric parameters: {', '.join(numeric) or 'none'})")
        return [locator.problem((*where, "param"), f"policy {change.policy.name!r} has no "
                                f"numeric parameter {ramp.param!r}{hint}")]
    try:
        type(params).model_validate({**change.policy.params, ramp.param: ramp.start})
    except ValidationError as err:
        msg = err.errors(include_url=False)[0]["msg"]
        return [locator.problem((*where, "start"), f"not a valid {ramp.param}: {msg}")]
    return []


# --------------------------------------------------------------------- public API


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None,
                  policies: Registry | None = None,
                  origins: Mapping[str, Origin] | None = None,
                  roots: Sequence[str | Path] | None = None) -> Scenario:
    """Load, merge and validate a scenario file.

    Args:
        path: the YAML file.
        overrides: optional ``{"key": value}`` applied after ``extends:`` (key
            forms: see the module docstring).
        policies: the policy registry (name -> class); None: the installed one
            (:func:`sim.inputs.policies.installed_policies`).
        origins: where each override key was written (a sweep or network file's
            line); by default ``--set``.
        roots: the only folders the file may refer to (default: see
            :mod:`sim.inputs.roots`; the app gives an upload its own folder only).

    Raises:
        ScenarioError: with every problem found, each naming file, key path and line.
    """
    with reading_from(path, roots=roots):
        return _load(path, overrides, policies, origins)


def _load(path: str | Path, overrides: Mapping[str, Any] | None, policies: Registry | None,
          origins: Mapping[str, Origin] | None) -> Scenario:
    return validate_data(*_merged(path, overrides, origins), policies)


def _merged(path: str | Path, overrides: Mapping[str, Any] | None,
            origins: Mapping[str, Origin] | None) -> tuple[dict[str, Any], Locator]:
    """A scenario file's data, its ``extends:`` chain and overrides merged, not yet validated."""
    return set_overrides(*read_scenario_data(path), overrides, origins)


def set_overrides(data: dict[str, Any], docs: list[YamlDoc],
                  overrides: Mapping[str, Any] | None,
                  origins: Mapping[str, Origin] | None) -> tuple[dict[str, Any], Locator]:
    """A scenario's merged data with overrides set (``data`` itself is left as it is)."""
    found: dict[KeyPath, Origin] = {}
    problems = []
    for key, value in (overrides or {}).items():
        origin = (origins or {}).get(key) or Origin("--set", None, (key,))
        try:
            data, resolved = apply_override(data, key, value)
        except ValueError as e:
            problems.append(Problem(origin.file, origin.path, str(e), origin.line))
            continue
        found[resolved] = origin
    if problems:
        raise ScenarioError(problems)
    return data, Locator(docs, data, found)


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>",
                       policies: Registry | None = None,
                       roots: Sequence[str | Path] | None = None) -> Scenario:
    """Validate raw scenario data given as a mapping (for notebooks and tests).

    ``roots``: the folders its list and history files may be in (default: see
    :mod:`sim.inputs.roots`; a scenario already loaded gives its own files' folders).
    """
    data = dict(data)
    if "extends" in data:
        raise ScenarioError([Problem(source, ("extends",), "extends works only in files")])
    with reading_from(roots=roots):
        return validate_data(data, Locator([YamlDoc(source, data, {})], data), policies)


def read_spec(path: str | Path, model: type[BaseModel], kind: str) -> tuple[BaseModel, YamlDoc]:
    """Read a network or sweep file and validate it against ``model``.

    Problems name the file, the line and the key path, with a suggestion for a
    misspelt key; a file of another kind gets a one-line hint instead.

    Args:
        path: the file.
        model: the pydantic model of the file.
        kind: ``network`` or ``sweep`` (:mod:`sim.inputs.files`).

    Raises:
        ScenarioError: naming the file, the line and the key path of each problem.
    """
    shown = str(path)
    doc = read_yaml(path, shown, USE[kind].split(":")[0])
    hint = wrong_kind(path, doc.data, kind)
    if hint is not None:
        raise ScenarioError([Problem(shown, (), hint)])
    try:
        return model.model_validate(doc.data), doc
    except ValidationError as err:
        raise ScenarioError(pydantic_problems(err, model, Locator([doc], doc.data))) from None
