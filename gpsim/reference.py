"""The scenario reference page, written from the schema itself so it cannot drift.

``python run.py schema --markdown --out docs/scenario-reference.md`` writes it;
a test checks the file in the repository equals what the schema gives now.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from sim.inputs.schema import Scenario

INTRO = """# Scenario reference

Every key a scenario file may hold, with its type, default and meaning. This
page is generated from the schema (`sim/inputs/schema/`) by
`python run.py schema --markdown --out docs/scenario-reference.md`, and a test
fails if it is out of date. Unknown keys are errors. Units are in the names
(`_days`, `_minutes`, `_per_patient_year`); times of day are `"HH:MM"`;
shares are between 0 and 1. `scenarios/default.yaml` sets most of these with
the evidence for each value (see `docs/evidence.md`).

Files may build on each other with `extends:` (see the README: mappings merge
key by key, lists of things with ids merge by id), and any key can be
overridden from the command line with `--set KEY=VALUE`.
"""


def _type_name(tp: Any) -> str:
    """A short, readable name of a field's type."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        text = " or ".join(names)
        return f"{text} or null" if type(None) in args else text
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (tuple, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {_type_name(args[0])}"
        if args and all(a == args[0] for a in args):
            return f"[{', '.join(_type_name(a) for a in args)}]"
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    return {str: "text", int: "whole number", float: "number", bool: "true/false",
            dt.date: "date", Any: "any"}.get(tp, getattr(tp, "__name__", str(tp)))


def _models(tp: Any) -> list[type[BaseModel]]:
    """Models named inside a type (for their own sections)."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for a in typing.get_args(tp) for m in _models(a)]


def _meaning(field) -> str:
    """The field's description, else the first sentence of its model's docstring."""
    if field.description:
        return field.description
    inner = _models(field.annotation)
    return _doc(inner[0]) if inner else ""


def _bounds(field) -> str:
    """The field's range, e.g. ``1 to 365``, ``at least 0``, from its constraints."""
    lo = hi = None
    lo_strict = hi_strict = False
    for m in field.metadata:
        for attr, strict, is_lo in (("ge", False, True), ("gt", True, True), ("le", False, False),
                                    ("lt", True, False)):
            value = getattr(m, attr, None)
            if value is not None:
                if is_lo:
                    lo, lo_strict = value, strict
                else:
                    hi, hi_strict = value, strict
    if lo is not None and hi is not None:
        return (f", {'over ' if lo_strict else ''}{lo} to {hi}"
                f"{' (not included)' if hi_strict else ''}")
    if lo is not None:
        return f", {'over' if lo_strict else 'at least'} {lo}"
    if hi is not None:
        return f", {'under' if hi_strict else 'at most'} {hi}"
    return ""


def _default(field) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "see below"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | list) and not value:
        return "none"
    if isinstance(value, dict) and not value:
        return "none"
    if value == "":
        return "empty"
    text = str(list(value) if isinstance(value, tuple) else value)
    return f"`{text}`" if len(text) <= 60 else f"`{text[:57]}...`"


def _doc(model: type[BaseModel]) -> str:
    text = (model.__doc__ or "").strip()
    return " ".join(line.strip() for line in text.split("\n\n")[0].splitlines())


def render_reference() -> str:
    """The whole reference page (markdown)."""
    out = [INTRO]
    seen: list[type[BaseModel]] = []
    queue: list[tuple[type[BaseModel], str]] = [(Scenario, "the top level of a scenario file")]
    while queue:
        model, where = queue.pop(0)
        if model in seen:
            continue
        seen.append(model)
        out.append(f"## {model.__name__}\n")
        out.append(f"{_doc(model)} *Used as: {where}.*\n")
        out.append("| key | type | default | meaning |")
        out.append("|---|---|---|---|")
        for name, field in model.model_fields.items():
            desc = _meaning(field).replace("|", "\\|").replace("\n", " ")
            out.append(f"| `{name}` | {_type_name(field.annotation)}{_bounds(field)} | "
                       f"{_default(field)} | {desc} |")
            queue += [(m, f"`{name}` of {model.__name__}") for m in _models(field.annotation)
                      if m not in seen]
        out.append("")
    out.append(_policies_section())
    return "\n".join(out).rstrip() + "\n"


def _policies_section() -> str:
    """``policy.name`` values and each policy's ``policy.params``."""
    from policies import REGISTRY

    out = ["## Booking policies (`policy.name` and `policy.params`)\n",
           "A scenario names a registered policy, or `package.module:Class` for your own, "
           "enabled on the command line with `--policy-class` (see `docs/model.md`). Each "
           "policy's parameters go under `policy.params`.\n"]
    for name, cls in REGISTRY.items():
        out.append(f"### `{name}`\n")
        out.append(f"{_doc(cls)}\n")
        params = getattr(cls, "Params", None)
        if params is None:
            out.append("No parameters.\n")
            continue
        out.append("| key | type | default | meaning |")
        out.append("|---|---|---|---|")
        for key, field in params.model_fields.items():
            desc = _param_doc(params, key).replace("|", "\\|")
            out.append(f"| `{key}` | {_type_name(field.annotation)}{_bounds(field)} | "
                       f"{_default(field)} | {desc} |")
        out.append("")
    return "\n".join(out)


def _param_doc(model: type[BaseModel], key: str) -> str:
    """A parameter's line in its model's (or a parent's) Google-style ``Attributes:`` section."""
    for cls in model.__mro__:
        lines = (cls.__doc__ or "").splitlines()
        for i, line in enumerate(lines):
            if line.strip().startswith(f"{key}:"):
                text = [line.strip()[len(key) + 1:].strip()]
                indent = len(line) - len(line.lstrip())
                for more in lines[i + 1:]:
                    # the description goes on while lines are indented under its key
                    if not more.strip() or len(more) - len(more.lstrip()) <= indent:
                        break
                    text.append(more.strip())
                return " ".join(text)
    return ""
