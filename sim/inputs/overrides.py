"""Overrides: one key of a scenario changed from outside its file.

``--set``, a sweep's grid and a network practice's ``set:`` address keys as
``population.size``, list items by position (``clinicians[3].sessions`` or
``clinicians.3.sessions``) or by id (``clinicians[gp_adams].sessions``), and
add or remove an item by id (``clinicians[gp_new]={role: gp, ...}``,
``clinicians[gp_adams]={remove: true}``).
"""

from __future__ import annotations

import re
from difflib import get_close_matches
from typing import Any

from .extends import REMOVE
from .problems import KeyPath, Problem, ScenarioError, format_path

#: How overrides may address a key, for messages.
OVERRIDE_FORMS = ("population.size, clinicians[3].sessions (by position), "
                  "clinicians.3.sessions, clinicians[gp_adams].sessions (by id)")


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
    # Only the mappings and lists on the key's path are copied (each before it changes);
    # the rest is shared with ``data``, which nothing changes in place. Copying the whole
    # tree for every key was a sixth of loading a network of hundreds of practices.
    out = dict(data)
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
                node[name] = node = _own(node[name]) if name in node else {}
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
            node[position] = node = _own(node[position])
    return out, tuple(path)


def _own(value: Any) -> Any:
    """A mapping or list copied one level (to be changed), anything else as it is."""
    return dict(value) if type(value) is dict else list(value) if type(value) is list else value


def set_path(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Return a copy of raw scenario data with ``dotted`` set (see :func:`apply_override`).

    Raises:
        ScenarioError: for a key that cannot be set (the message names the forms that work).
    """
    try:
        return apply_override(data, dotted, value)[0]
    except ValueError as e:
        raise ScenarioError([Problem("--set", (dotted,), str(e))]) from None
