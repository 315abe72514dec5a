"""Reading scenario files: safe YAML, ``extends:``, strict validation, clear messages.

Every problem is reported as ``file:line: key.path: what is wrong``. The loader
never lets a traceback reach the user for bad input: it raises
:class:`ScenarioError`, which carries every problem found, and the command line
prints them and exits with status 2.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .scenario import Scenario, cross_reference_problems, form_teams

KeyPath = tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located as precisely as we can."""

    file: str
    path: KeyPath
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        key = format_path(self.path)
        return f"{where}: {key + ': ' if key else ''}{self.message}"


class ScenarioError(Exception):
    """A scenario could not be loaded; ``problems`` says every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(path: Iterable[Any]) -> str:
    """Format a key path as ``a.b[2].c``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


# --------------------------------------------------------------------------- YAML


class _Doc:
    """One parsed YAML file: its data and the line of every key path."""

    def __init__(self, file: str, data: Any, lines: dict[KeyPath, int]):
        self.file = file
        self.data = data
        self.lines = lines


def _line_map(node: yaml.Node, file: str) -> tuple[dict[KeyPath, int], list[Problem]]:
    lines: dict[KeyPath, int] = {}
    problems: list[Problem] = []

    def walk(n: yaml.Node, path: KeyPath) -> None:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            seen: set[Any] = set()
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else str(k.value)
                if key in seen:
                    problems.append(
                        Problem(file, (*path, key), "key appears twice in the same mapping",
                                k.start_mark.line + 1)
                    )
                seen.add(key)
                lines[(*path, key)] = k.start_mark.line + 1
                walk(v, (*path, key))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*path, i))

    walk(node, ())
    return lines, problems


#: PyYAML's safe loader, in C (libyaml) when PyYAML has it: same documents, same
#: marks for line numbers, several times faster (a 40-practice network reads its
#: scenario files 40 times).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(path: Path, shown: str) -> _Doc:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(shown, (), "file not found")]) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(shown, (), "is a directory, not a scenario file")]) from None
    except UnicodeDecodeError as e:
        raise ScenarioError([Problem(shown, (), f"not UTF-8 text ({e.reason})")]) from None
    except OSError as e:
        raise ScenarioError([Problem(shown, (), f"cannot read: {e.strerror}")]) from None
    try:
        node = yaml.compose(text, Loader=_SAFE_LOADER)
        data = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.constructor.ConstructorError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        tag = (e.problem or "").split("tag '")[-1].rstrip("'")
        raise ScenarioError(
            [Problem(shown, (), f"unsafe or unknown YAML tag {tag!r}: scenarios may hold "
                     "only plain mappings, lists, text, numbers, booleans and dates", line)]
        ) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        col = f", column {mark.column + 1}" if mark else ""
        what = " ".join(x for x in (e.context, e.problem) if x)
        raise ScenarioError([Problem(shown, (), f"YAML syntax error{col}: {what}", line)]) from None
    except yaml.YAMLError as e:
        raise ScenarioError([Problem(shown, (), f"YAML error: {e}")]) from None
    if node is None or data is None:
        raise ScenarioError(
            [Problem(shown, (), "the file is empty; a scenario is a YAML mapping of keys "
                     "(see scenarios/default.yaml)")]
        )
    if not isinstance(data, dict):
        raise ScenarioError(
            [Problem(shown, (), f"a scenario must be a mapping of keys, not a "
                     f"{type(data).__name__}", node.start_mark.line + 1)]
        )
    lines, dupes = _line_map(node, shown)
    if dupes:
        raise ScenarioError(dupes)
    return _Doc(shown, data, lines)


def _deep_merge(base: Any, over: Any) -> Any:
    """Overlay ``over`` on ``base``: mappings merge key by key; anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def _resolve(path: Path, chain: list[Path], display: str) -> tuple[dict[str, Any], list[_Doc]]:
    """Read ``path`` and everything it extends; return merged data and docs, child first."""
    doc = _parse_yaml(path, display)
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
    if parent_path in chain or parent_path == path.resolve():
        cycle = " -> ".join(str(p) for p in [*chain, path.resolve(), parent_path])
        raise ScenarioError(
            [Problem(display, ("extends",), f"extends cycle: {cycle}", doc.lines.get(("extends",)))]
        )
    parent_display = str(Path(display).parent / parent)
    base, docs = _resolve(parent_path, [*chain, path.resolve()], parent_display)
    return _deep_merge(base, data), [doc, *docs]


def _line_for(docs: list[_Doc], path: KeyPath) -> tuple[str, int | None]:
    """The file and line that set ``path``, or its nearest located ancestor."""
    for n in range(len(path), -1, -1):
        prefix = tuple(path[:n])
        for d in docs:
            if prefix in d.lines:
                return d.file, d.lines[prefix]
    return docs[0].file, None


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


def _pydantic_problems(err: ValidationError, model: type[BaseModel], docs: list[_Doc],
                       prefix: KeyPath = ()) -> list[Problem]:
    problems = []
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if p != "[key]")
        is_key = "[key]" in e["loc"]
        kind = e["type"]
        msg = e["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            key = loc[-1]
            msg = f"unknown key {key!r}"
            close = get_close_matches(str(key), _allowed_keys(model, loc[:-1]), n=1)
            if close:
                msg += f"; did you mean {close[0]!r}?"
            else:
                allowed = _allowed_keys(model, loc[:-1])
                if allowed:
                    msg += f" (allowed: {', '.join(allowed)})"
        elif kind == "missing":
            msg = f"missing required key {loc[-1]!r}"
        elif kind in ("literal_error", "enum"):
            expected = e.get("ctx", {}).get("expected", "")
            options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
            got = e.get("input")
            msg = f"{'key' if is_key else 'value'} {got!r} is not allowed; expected {expected}"
            close = get_close_matches(str(got), options, n=1)
            if close:
                msg += f"; did you mean {close[0]!r}?"
        elif "input" in e and not isinstance(e["input"], dict | list):
            msg += f" (got {_short(e['input'])})"
        full = (*prefix, *loc)
        file, line = _line_for(docs, full)
        problems.append(Problem(file, full, msg, line))
    return problems


def _validate(data: dict[str, Any], docs: list[_Doc]) -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_pydantic_problems(err, Scenario, docs)) from None
    problems = []
    if scenario.population.list_file is not None:
        scenario = _with_list_file(scenario, docs)
    if scenario.team_formation is not None:
        if scenario.teams:
            file, line = _line_for(docs, ("team_formation",))
            raise ScenarioError([Problem(file, ("team_formation",), "give either teams or "
                                         "team_formation, not both", line)])
        # The formed teams are written out in full (scenario.resolved.yaml).
        scenario = scenario.model_copy(update={"teams": form_teams(scenario),
                                               "team_formation": None})
    for path, msg in cross_reference_problems(scenario):
        file, line = _line_for(docs, path)
        problems.append(Problem(file, path, msg, line))
    problems += _policy_problems(scenario, docs)
    if problems:
        raise ScenarioError(problems)
    return scenario


def _with_list_file(scenario: Scenario, docs: list[_Doc]) -> Scenario:
    """Resolve and check ``population.list_file``; set ``population.size`` from it."""
    from .list_import import ListFileError, read_list

    key = ("population", "list_file")
    file, line = _line_for(docs, key)
    raw = Path(scenario.population.list_file)
    path = raw if raw.is_absolute() or file in ("<dict>", "override") else (
        Path(file).parent / raw)
    holders = [c.id for c in scenario.clinicians if not c.extended_access
               and c.role in scenario.roles and scenario.roles[c.role].holds_list]
    try:
        imported = read_list(path, [b.name for b in scenario.population.age_bands], holders,
                             list(scenario.cohorts))
    except ListFileError as e:
        raise ScenarioError([Problem(file, key, str(e), line)]) from None
    population = scenario.population.model_copy(
        update={"list_file": str(path.resolve()), "size": imported.size})
    return scenario.model_copy(update={"population": population})


def _policy_problems(scenario: Scenario, docs: list[_Doc]) -> list[Problem]:
    from .policy_api import PolicyLookupError, policy_class

    try:
        cls = policy_class(scenario.policy.name)
    except PolicyLookupError as e:
        file, line = _line_for(docs, ("policy", "name"))
        return [Problem(file, ("policy", "name"), str(e), line)]
    params_model = getattr(cls, "Params", None)
    if params_model is None:
        if scenario.policy.params:
            file, line = _line_for(docs, ("policy", "params"))
            return [Problem(file, ("policy", "params"),
                            f"policy {scenario.policy.name!r} takes no parameters", line)]
        return []
    try:
        params = params_model.model_validate(scenario.policy.params)
    except ValidationError as err:
        return _pydantic_problems(err, params_model, docs, prefix=("policy", "params"))
    check = getattr(cls, "check_scenario", None)
    problems = []
    for path, msg in (check(params, scenario) if check is not None else []):
        full = ("policy", "params", *path)
        file, line = _line_for(docs, full)
        problems.append(Problem(file, full, msg, line))
    return problems


# --------------------------------------------------------------------- public API


def set_path(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Return a copy of raw scenario data with ``dotted`` (e.g. ``population.size``) set.

    List items are addressed by index (``clinicians.0.role``). Missing mappings
    on the way are created; whether the key is valid is checked by validation.
    """
    out = copy.deepcopy(data)
    parts = dotted.split(".")
    node: Any = out
    for i, part in enumerate(parts[:-1]):
        key: Any = int(part) if isinstance(node, list) and part.isdigit() else part
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            raise ScenarioError(
                [Problem("override", tuple(parts[: i + 1]), f"cannot set {dotted!r}: "
                         f"{format_path(parts[:i + 1])} is not a mapping or list item")]
            )
    last: Any = parts[-1]
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError([Problem("override", tuple(parts), f"cannot set {dotted!r}")])
    return out


def read_scenario_data(path: str | Path) -> tuple[dict[str, Any], list[_Doc]]:
    """Read a scenario file and its ``extends:`` chain into raw merged data."""
    p = Path(path)
    return _resolve(p, [], str(path))


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load, merge and validate a scenario file.

    Args:
        path: the YAML file.
        overrides: optional ``{"dotted.key": value}`` applied after ``extends:``.

    Raises:
        ScenarioError: with every problem found, each naming file, key path and line.
    """
    data, docs = read_scenario_data(path)
    for key, value in (overrides or {}).items():
        data = set_path(data, key, value)
    return _validate(data, docs)


def scenario_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate raw scenario data given as a mapping (for notebooks and tests)."""
    data = dict(data)
    if "extends" in data:
        raise ScenarioError([Problem(source, ("extends",), "extends works only in files")])
    return _validate(data, [_Doc(source, data, {})])


def parameter_sources(path: str | Path) -> dict[str, str]:
    """Every key the file (or what it extends) sets, with the inline comment on its line.

    The comment is the key's evidence or ASSUMPTION note ('' if none). A key
    set in a child file takes the child's comment when it has one.
    """
    _, docs = read_scenario_data(path)
    out: dict[str, str] = {}
    for doc in reversed(docs):  # parents first, children override
        try:
            lines = Path(doc.file).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for key_path, line in doc.lines.items():
            if not key_path or line is None or line > len(lines):
                continue
            comment = _inline_comment(lines[line - 1])
            key = format_path(key_path)
            if comment or key not in out:
                out[key] = comment
    return out


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


def read_spec(path: Path, model: type[BaseModel], shape: str) -> BaseModel:
    """Read a small YAML file (a sweep, a network) and validate it against ``model``.

    Args:
        path: the file.
        model: the pydantic model of the file.
        shape: what the top level must be, for the message when it is not a mapping.

    Raises:
        ScenarioError: naming the file, and the key path of each problem.
    """
    shown = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError([Problem(shown, (), "file not found")]) from None
    except yaml.YAMLError as e:
        raise ScenarioError([Problem(shown, (), f"YAML error: {e}")]) from None
    if not isinstance(raw, dict):
        raise ScenarioError([Problem(shown, (), shape)])
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError([Problem(shown, tuple(e["loc"]), e["msg"]) for e in err.errors()]
                            ) from None
