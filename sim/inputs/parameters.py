"""Every parameter of a resolved scenario with its value and where it comes from.

For the report's parameter table and every comparison's ``parameters.csv``: a
key's source is the comment on its line in the scenario file (its EVIDENCE row or
ASSUMPTION note), else the schema's description of a built-in default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .loading import Locator, read_scenario_data
from .problems import KeyPath, format_path
from .schema import Scenario


def parameter_rows(scenario: Scenario, sources: dict[str, str] | None = None) -> list[dict]:
    """Every parameter of a resolved scenario with its value and where it comes from.

    ``source`` is the inline comment on the key's line in the scenario file (its
    EVIDENCE row or ASSUMPTION note; see :func:`parameter_sources`),
    else that of the nearest enclosing key with one; a key set in the file
    without a comment says so; a built-in default gives the schema's
    description of the field.
    """
    sources = sources or {}
    rows: list[dict] = []

    def walk(value: Any, path: tuple, model: Any) -> None:
        fields = getattr(model, "model_fields", None)
        if fields and isinstance(value, dict):
            for k, v in value.items():
                ann = fields[k].annotation if k in fields else None
                inner, kind = _inner_model(ann)
                if inner is not None and kind == "map" and isinstance(v, dict):
                    for name, item in v.items():
                        walk(item, (*path, k, name), inner)
                elif inner is not None and kind == "list" and isinstance(v, list):
                    for i, item in enumerate(v):
                        walk(item, (*path, k, i), inner)
                else:
                    walk(v, (*path, k), inner)
            return
        rows.append({"parameter": _dotted(path), "value": _show(value),
                     "source": (_not_a_parameter(path) or _source_of(path, sources)
                                or _describe(scenario, path))})

    walk(scenario.model_dump(mode="json"), (), type(scenario))
    return rows


def _inner_model(ann: Any) -> tuple[Any, str]:
    """The pydantic model inside a field annotation and how: model, map or list."""
    import typing

    for cand in (ann, *typing.get_args(ann)):
        if hasattr(cand, "model_fields"):
            return cand, "model"
        origin = typing.get_origin(cand)
        args = typing.get_args(cand)
        if origin is dict and args and hasattr(args[-1], "model_fields"):
            return args[-1], "map"
        if origin in (tuple, list) and args and hasattr(args[0], "model_fields"):
            return args[0], "list"
    return None, ""


def _dotted(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return "null" if value is None else str(value).strip()


#: Keys that name or label things, or pick the run's random numbers: not model parameters.
_LABELS = {"name", "description", "label", "id"}


def _not_a_parameter(path: tuple) -> str:
    """What a key is when it is not a model parameter ('' for a parameter)."""
    last = next((p for p in reversed(path) if isinstance(p, str)), "")
    if last in _LABELS and not (len(path) >= 2 and path[-2] == "policy"):
        return "a name, not a model parameter"
    if path == ("seed",):
        return "the master seed: which random patients and requests (stored with every output)"
    if path == ("policy", "name"):
        return "the booking policy being compared"
    return ""


def _source_of(path: tuple, sources: dict[str, str]) -> str:
    set_in_file = False
    for n in range(len(path), 0, -1):
        key = _dotted(path[:n])
        if key in sources:
            if sources[key]:
                return sources[key]
            set_in_file = set_in_file or n == len(path)
    return "set in the scenario file (no source noted)" if set_in_file else ""


def _describe(scenario: Scenario, path: tuple) -> str:
    model: Any = type(scenario)
    desc = ""
    for p in path:
        fields = getattr(model, "model_fields", None)
        if isinstance(p, int) or not fields or p not in fields:
            continue
        desc = fields[p].description or ""
        model = _inner_model(fields[p].annotation)[0]
    if "EVIDENCE" in desc or "ASSUMPTION" in desc:
        return f"built-in default: {desc}"
    return (f"built-in default, ASSUMPTION: {desc}" if desc
            else "built-in default, ASSUMPTION")


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
