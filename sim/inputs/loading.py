"""Reading scenario files: safe YAML, ``extends:``, overrides, strict validation, clear messages.

Every problem is reported as ``file:line: key.path: what is wrong``, with a
suggestion for a misspelt key. The loader never lets a traceback reach the
user for bad input: it raises :class:`ScenarioError`, which carries every
problem found, and the command line prints them and exits with status 2.

``extends:`` overlays a file on another: mappings merge key by key, and lists
of things with ids (clinicians, teams, care-plan reviews) merge **by id**: an
item whose id is in the base changes only the keys it gives, a new id is
added, and ``{id: x, remove: true}`` removes item ``x`` (``id: "*"`` removes
them all). Any other list replaces the base's. Overrides (``--set``, a
sweep's grid, a network practice's ``set:``) address keys as
``population.size``, list items by position (``clinicians[3].sessions`` or
``clinicians.3.sessions``) or by id (``clinicians[gp_adams].sessions``), and
add or remove an item by id (``clinicians[gp_new]={role: gp, ...}``,
``clinicians[gp_adams]={remove: true}``). A problem caused by an override is
reported where the override was written.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import re
import types
import typing
from collections.abc import Mapping, Sequence
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .checks import cross_reference_problems
from .files import USE, wrong_kind
from .history_import import HistoryFileError, read_history
from .list_import import ListFileError, read_list
from .policies import PolicyLookupError, Registry, policy_class
from .problems import KeyPath, Problem, ScenarioError, format_path
from .resolve import form_teams
from .roots import outside, reading_from
from .schema import PolicyRef, Scenario
from .yaml_files import YamlDoc, read_yaml

#: The marker that removes an item from an id list (``{id: x, remove: true}``).
REMOVE = "remove"
#: The id that stands for every item of the list (with ``remove: true``).
ALL_IDS = "*"
#: How overrides may address a key, for messages.
OVERRIDE_FORMS = ("population.size, clinicians[3].sessions (by position), "
                  "clinicians.3.sessions, clinicians[gp_adams].sessions (by id)")


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


# --------------------------------------------------------------------------- merging


def _is_id_list(value: Any) -> bool:
    """A non-empty list whose every item is a mapping with an ``id``."""
    return (isinstance(value, list) and bool(value)
            and all(isinstance(x, dict) and "id" in x for x in value))


def _deep_merge(base: Any, over: Any, where: KeyPath, doc: YamlDoc,
                problems: list[Problem]) -> Any:
    """Overlay ``over`` on ``base``: mappings by key, id lists by id, anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = (_deep_merge(base[k], v, (*where, k), doc, problems) if k in base
                      else copy.deepcopy(v))
        return out
    if _is_id_list(over) and (_is_id_list(base) or base == []):
        return _merge_by_id(base, over, where, doc, problems)
    return copy.deepcopy(over)


def _merge_by_id(base: list[dict], over: list[dict], where: KeyPath, doc: YamlDoc,
                 problems: list[Problem]) -> list[dict]:
    out = [copy.deepcopy(x) for x in base]
    for j, item in enumerate(over):
        ident = item["id"]
        position = next((i for i, x in enumerate(out) if x.get("id") == ident), None)
        if item.get(REMOVE) is True:
            if ident == ALL_IDS:
                out = []
            elif position is None:
                problems.append(_unknown_id(doc, (*where, j, "id"), ident, out, "remove"))
            else:
                del out[position]
            continue
        if position is None:
            out.append(copy.deepcopy(item))
        else:
            out[position] = _deep_merge(out[position], item, (*where, j), doc, problems)
    return out


def _unknown_id(doc: YamlDoc, path: KeyPath, ident: Any, items: list[dict], what: str
                ) -> Problem:
    ids = [str(x.get("id")) for x in items]
    msg = f"cannot {what} {ident!r}: no item has that id"
    close = get_close_matches(str(ident), ids, n=1)
    msg += f"; did you mean {close[0]!r}?" if close else (
        f" (ids: {', '.join(ids[:12])}{', ...' if len(ids) > 12 else ''})" if ids else "")
    return Problem(doc.file, path, msg, doc.lines.get(path))


def _resolve(path: Path, chain: list[Path], display: str) -> tuple[dict[str, Any], list[YamlDoc]]:
    """Read ``path`` and everything it extends; return merged data and docs, child first."""
    doc = read_yaml(path, display, "a scenario")
    data = dict(doc.data)
    parent = data.pop("extends", None)
    if parent is None:
        return data, [doc]
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError(
            [Problem(display, ("extends",), "must be the path of another scenario file",
                     doc.lines.get(("extends",)))]
        )
    parent_path = (path.parent / parent).resolve()
    refused = outside(parent_path, parent)
    if refused:
        raise ScenarioError([Problem(display, ("extends",), refused,
                                     doc.lines.get(("extends",)))])
    if parent_path in chain or parent_path == path.resolve():
        cycle = " -> ".join(str(p) for p in [*chain, path.resolve(), parent_path])
        raise ScenarioError(
            [Problem(display, ("extends",), f"extends cycle: {cycle}", doc.lines.get(("extends",)))]
        )
    if not parent_path.is_file():
        raise ScenarioError([Problem(display, ("extends",), f"file not found: {parent!r} "
                                     f"(looked for {parent_path}; a path in extends: is "
                                     "relative to the folder of the file that names it)",
                                     doc.lines.get(("extends",)))])
    parent_display = str(Path(display).parent / parent)
    base, docs = _resolve(parent_path, [*chain, path.resolve()], parent_display)
    problems: list[Problem] = []
    merged = _deep_merge(base, data, (), doc, problems)
    if problems:
        raise ScenarioError(problems)
    return merged, [doc, *docs]


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


# --------------------------------------------------------------------------- overrides


_TOKEN = re.compile(r"\[([^\]]+)\]|([^.\[\]]+)")


def parse_key(key: str) -> list[str | int | tuple[str]]:
    """Split an override key into parts: names, positions (int) and ids (a 1-tuple).

    ``clinicians[gp_adams].sessions`` -> ``["clinicians", ("gp_adams",), "sessions"]``;
    ``clinicians[3]`` and ``clinicians.3`` -> ``["clinicians", 3]``.

    Raises:
        ValueError: for an empty key or one with stray brackets or dots.
    """
    parts: list[str | int | tuple[str]] = []
    pos = 0
    text = key.strip()
    while pos < len(text):
        if parts and text[pos] == ".":
            pos += 1
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read key {key!r}; use forms like {OVERRIDE_FORMS}")
        bracket, name = m.group(1), m.group(2)
        if bracket is not None:
            parts.append(int(bracket) if bracket.strip().isdigit() else (bracket.strip(),))
        else:
            parts.append(int(name) if name.isdigit() else name)
        pos = m.end()
    if not parts:
        raise ValueError(f"empty key; use forms like {OVERRIDE_FORMS}")
    return parts


def apply_override(data: dict[str, Any], key: str, value: Any) -> tuple[dict[str, Any], KeyPath]:
    """Return a copy of ``data`` with ``key`` set to ``value``, and the key's resolved path.

    Missing mappings on the way are created (whether a key is valid is checked
    by validation). For a list item addressed by id, a mapping value for a new
    id adds the item and ``{remove: true}`` removes it.

    Raises:
        ValueError: a key that cannot address anything here (the message names
            the forms that work).
    """
    parts = parse_key(key)
    out = copy.deepcopy(data)
    node: Any = out
    path: list[Any] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = format_path(path) or "the top level"
        if isinstance(node, dict):
            if isinstance(part, tuple):
                raise ValueError(f"{where} is a mapping, not a list: give its key, not [{part[0]}]")
            name = str(part)
            path.append(name)
            if last:
                node[name] = value
            else:
                node = node.setdefault(name, {})
            continue
        if not isinstance(node, list):
            raise ValueError(f"{where} is a single value; it has no key {part!r}")
        if isinstance(part, tuple):
            ident = part[0]
            position = next((j for j, x in enumerate(node)
                             if isinstance(x, dict) and str(x.get("id")) == ident), None)
            if position is None:
                if last and isinstance(value, dict) and value.get(REMOVE) is not True:
                    node.append({"id": ident, **value})
                    path.append(len(node) - 1)
                    return out, tuple(path)
                ids = [str(x.get("id")) for x in node if isinstance(x, dict)]
                close = get_close_matches(ident, ids, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else (
                    f" (ids: {', '.join(ids[:12])}{', ...' if len(ids) > 12 else ''})")
                raise ValueError(f"{where} has no item with id {ident!r}{hint}")
        elif isinstance(part, int):
            position = part
            if not 0 <= position < len(node):
                raise ValueError(f"{where} has {len(node)} items; position {position} is "
                                 "not one of them (positions count from 0)")
        else:
            raise ValueError(f"{where} is a list: address an item as {where}[3] (by position) "
                             f"or {where}[some_id] (by id), not .{part}")
        if last and isinstance(value, dict) and value.get(REMOVE) is True:
            del node[position]
            return out, tuple(path)
        path.append(position)
        if last:
            node[position] = ({**node[position], **value}
                              if isinstance(value, dict) and isinstance(node[position], dict)
                              and isinstance(part, tuple) else value)
        else:
            node = node[position]
    return out, tuple(path)


def set_path(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Return a copy of raw scenario data with ``dotted`` set (see :func:`apply_override`).

    Raises:
        ScenarioError: for a key that cannot be set (the message names the forms that work).
    """
    try:
        return apply_override(data, dotted, value)[0]
    except ValueError as e:
        raise ScenarioError([Problem("--set", (dotted,), str(e))]) from None


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


def _validate(data: dict[str, Any], locator: Locator, policies: Registry | None = None
              ) -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
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


def _with_list_file(scenario: Scenario, locator: Locator) -> Scenario:
    """Resolve and check ``population.list_file``; set ``population.size`` from it."""
    key = ("population", "list_file")
    where = locator.problem(key, "")
    raw = Path(scenario.population.list_file)
    path = raw if raw.is_absolute() or where.line is None else Path(where.file).parent / raw
    refused = outside(path, str(raw))
    if refused:
        raise ScenarioError([locator.problem(key, refused)])
    holders = [c.id for c in scenario.clinicians if not c.extended_access
               and c.role in scenario.roles and scenario.roles[c.role].holds_list]
    try:
        imported = read_list(path, [b.name for b in scenario.population.age_bands], holders,
                             list(scenario.cohorts))
    except ListFileError as e:
        raise ScenarioError([locator.problem(key, str(e))]) from None
    update = {"list_file": str(path.resolve()), "size": imported.size}
    if scenario.population.history_file is not None:
        hkey = ("population", "history_file")
        hwhere = locator.problem(hkey, "")
        hraw = Path(scenario.population.history_file)
        hpath = (hraw if hraw.is_absolute() or hwhere.line is None
                 else Path(hwhere.file).parent / hraw)
        refused = outside(hpath, str(hraw))
        if refused:
            raise ScenarioError([locator.problem(hkey, refused)])
        try:
            read_history(hpath, imported.patient_id, [c.id for c in scenario.clinicians])
        except HistoryFileError as e:
            raise ScenarioError([locator.problem(hkey, str(e))]) from None
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


def read_scenario_data(path: str | Path) -> tuple[dict[str, Any], list[YamlDoc]]:
    """Read a scenario file and its ``extends:`` chain into raw merged data (and the files)."""
    with reading_from(path):
        return _resolve(Path(path), [], str(path))


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
    data, docs = read_scenario_data(path)
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
    return _validate(data, Locator(docs, data, found), policies)


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
        return _validate(data, Locator([YamlDoc(source, data, {})], data), policies)


def parameter_sources(path: str | Path) -> dict[str, str]:
    """Every key the file (or what it extends) sets, with the comment that cites its source.

    The comment is the key's evidence or ASSUMPTION note: the one at the end
    of the key's line, else the block of comment lines directly above it
    ('' if neither). A key set in a child file takes the child's comment.
    Keys are as in the merged scenario (items of id lists at their merged place).
    """
    data, docs = read_scenario_data(path)
    locator = Locator(docs, data)
    texts: dict[str, list[str]] = {}
    out: dict[str, str] = {}
    for key_path in _all_paths(data):
        file, line = locator.where(key_path, exact=True)
        if line is None:
            continue
        if file not in texts:
            try:
                texts[file] = Path(file).read_text(encoding="utf-8").splitlines()
            except OSError:
                texts[file] = []
        lines = texts[file]
        if line > len(lines):
            continue
        out[format_path(key_path)] = _comment_for(lines, line)
    return out


def _all_paths(value: Any, path: KeyPath = ()) -> list[KeyPath]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _all_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _all_paths(v, (*path, i))
    return out


def _comment_for(lines: list[str], line: int) -> str:
    """The comment at the end of line ``line`` (1-based), else the comment block above it."""
    inline = _inline_comment(lines[line - 1])
    if inline:
        return inline
    block: list[str] = []
    i = line - 2
    while i >= 0 and lines[i].strip().startswith("#"):
        block.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    return " ".join(b for b in block if b)


def _inline_comment(line: str) -> str:
    """The text after an unquoted ``#`` on a YAML line, stripped ('' if none)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[i + 1:].strip()
    return ""


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
