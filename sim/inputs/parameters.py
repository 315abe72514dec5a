"""Every parameter of a resolved scenario with its value and where it comes from.

For the report's parameter table and every comparison's ``parameters.csv``: a
key's source is the comment on its line in the scenario file (its EVIDENCE row or
ASSUMPTION note), else the schema's description of a built-in default.
"""

from __future__ import annotations

from typing import Any

from .schema import Scenario


def parameter_rows(scenario: Scenario, sources: dict[str, str] | None = None) -> list[dict]:
    """Every parameter of a resolved scenario with its value and where it comes from.

    ``source`` is the inline comment on the key's line in the scenario file (its
    EVIDENCE row or ASSUMPTION note; see :func:`sim.inputs.loading.parameter_sources`),
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
