"""Reading a scenario file and its ``extends:`` chain into one mapping of raw data.

``extends:`` overlays a file on another: mappings merge key by key, and lists
of things with ids (clinicians, teams, care-plan reviews) merge **by id**: an
item whose id is in the base changes only the keys it gives, a new id is
added, and ``{id: x, remove: true}`` removes item ``x`` (``id: "*"`` removes
them all). Any other list replaces the base's. Each file named must be in the
folders the user chose (:mod:`sim.inputs.roots`).
"""

from __future__ import annotations

from difflib import get_close_matches
from pathlib import Path
from typing import Any

from .problems import KeyPath, Problem, ScenarioError
from .roots import outside, reading_from
from .yaml_files import YamlDoc, copy_tree, read_yaml

#: The marker that removes an item from an id list (``{id: x, remove: true}``).
REMOVE = "remove"
#: The id that stands for every item of the list (with ``remove: true``).
ALL_IDS = "*"


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
                      else copy_tree(v))
        return out
    if _is_id_list(over) and (_is_id_list(base) or base == []):
        return _merge_by_id(base, over, where, doc, problems)
    return copy_tree(over)


def _merge_by_id(base: list[dict], over: list[dict], where: KeyPath, doc: YamlDoc,
                 problems: list[Problem]) -> list[dict]:
    out = [copy_tree(x) for x in base]
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
            out.append(copy_tree(item))
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


def read_scenario_data(path: str | Path) -> tuple[dict[str, Any], list[YamlDoc]]:
    """Read a scenario file and its ``extends:`` chain into raw merged data (and the files)."""
    with reading_from(path):
        return _resolve(Path(path), [], str(path))
