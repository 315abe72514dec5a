"""Reading a YAML file safely: every input file of the project goes through :func:`read_yaml`.

Scenarios, networks, sweeps and column maps are YAML. They are read with
PyYAML's safe loader (plain mappings, lists, text, numbers, booleans and
dates: no Python objects), in C (libyaml) when PyYAML has it, and refused
before anything is built from them when they are too big to be a scenario:

* a file over :data:`MAX_FILE_BYTES`;
* a document that, with its aliases expanded, holds more than
  :data:`MAX_VALUES` values: anchors and aliases (``&name`` / ``*name``) are
  allowed, but a "billion laughs" document of nested aliases, tiny on disk,
  would expand to billions of values;
* nesting deeper than :data:`MAX_DEPTH`, or an alias that refers to itself.

The size is counted on the parsed node graph, where an alias is a pointer to
its anchor, so the check itself takes time in proportion to the file, not to
the expanded document. Every key path's line is recorded, so messages can
point at the line a user wrote.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import functools
from pathlib import Path
from typing import Any

import yaml

from ..files.seen import note_input
from .problems import KeyPath, Problem, ScenarioError

#: Largest input file read, in bytes (5 MiB; the BNSSG network is 8 KB).
MAX_FILE_BYTES = 5 * 2**20
#: Most values (scalars, lists and mappings) a document may hold with its aliases expanded.
MAX_VALUES = 200_000
#: Deepest nesting of lists and mappings.
MAX_DEPTH = 64

#: PyYAML's safe loader, in C (libyaml) when PyYAML has it: same documents, same
#: marks for line numbers, several times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclasses.dataclass(frozen=True)
class YamlDoc:
    """One parsed YAML file: its data and the line of every key path (1-based)."""

    file: str
    data: Any
    lines: dict[KeyPath, int]


def read_yaml(path: str | Path, shown: str | None = None, what: str = "a scenario") -> YamlDoc:
    """Read and parse a YAML file; refuse it (with a :class:`ScenarioError`) if unusable.

    Args:
        path: the file.
        shown: how to name the file in messages (default: ``path`` as given).
        what: what the file should be, for messages ("a scenario", "a network").
    """
    shown = str(path) if shown is None else shown
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError([Problem(shown, (), f"the file is {size / 2**20:.1f} MiB; "
                                         f"{what} file is at most {MAX_FILE_BYTES // 2**20} MiB")])
        raw = path.read_bytes()
        note_input(path)
    except FileNotFoundError:
        raise ScenarioError([Problem(shown, (), f"file not found (looked for {path.resolve()})")]
                            ) from None
    except IsADirectoryError:
        raise ScenarioError([Problem(shown, (), f"is a folder, not {what} file")]) from None
    except OSError as e:
        raise ScenarioError([Problem(shown, (), f"cannot read: {e.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ScenarioError([Problem(shown, (), f"not UTF-8 text ({e.reason})")]) from None
    if len(text) > _REMEMBERED_CHARS:
        return parse_yaml(text, shown, what)
    doc = _parsed(text, shown, what)  # a network names the same base file for every practice
    return YamlDoc(doc.file, copy_tree(doc.data), dict(doc.lines))


#: What the safe loader gives that never changes in place: shared, not copied.
_UNCHANGING = (str, int, float, bool, type(None), datetime.date, bytes)


def copy_tree(value: Any) -> Any:
    """A copy of parsed YAML data: every mapping and list copied, all the way down.

    Three times as fast as :func:`copy.deepcopy` on a scenario (a network loads
    each practice's files, extends and overrides: four copies a practice). Text,
    numbers, booleans and dates are shared (they never change in place); anything
    else is deep-copied. An alias becomes a copy of its anchor of its own, so
    setting a key through one place does not change the other. Parsed files are
    at most :data:`MAX_DEPTH` deep and never refer to themselves (both refused).
    """
    kind = type(value)
    if kind is dict:
        return {k: copy_tree(v) for k, v in value.items()}
    if kind is list:
        return [copy_tree(v) for v in value]
    if isinstance(value, _UNCHANGING):
        return value
    return copy.deepcopy(value)


#: Files up to this long (every scenario) are parsed once per text, not once per read.
_REMEMBERED_CHARS = 256 * 1024


@functools.lru_cache(maxsize=16)
def _parsed(text: str, shown: str, what: str) -> YamlDoc:
    """:func:`parse_yaml`, remembered for the same text (the caller gets a copy of the data)."""
    return parse_yaml(text, shown, what)


def parse_yaml(text: str, shown: str, what: str = "a scenario") -> YamlDoc:
    """Parse YAML text safely (see the module docstring); the top level must be a mapping."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ScenarioError([Problem(shown, (), f"{what} is at most "
                                     f"{MAX_FILE_BYTES // 2**20} MiB of text")])
    try:
        loader = _SAFE_LOADER(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_size(node, shown)
                try:
                    data = loader.construct_document(node)
                except (ValueError, OverflowError):
                    raise ScenarioError(_bad_scalars(node, shown)) from None
            else:
                data = None
        finally:
            loader.dispose()
    except yaml.constructor.ConstructorError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else None
        tag = (e.problem or "").split("tag '")[-1].rstrip("'")
        raise ScenarioError(
            [Problem(shown, (), f"unsafe or unknown YAML tag {tag!r}: {what} file may hold "
                     "only plain mappings, lists, text, numbers, booleans and dates", line)]
        ) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        col = f", column {mark.column + 1}" if mark else ""
        said = " ".join(x for x in (e.context, e.problem) if x)
        rows = text.splitlines()
        row = rows[mark.line][:mark.column + 1] if mark and mark.line < len(rows) else ""
        if "\t" in row:  # the parser's own words never say "tab"
            said = ("a tab: YAML indents with spaces only; replace the tab with spaces "
                    f"({said})")
        raise ScenarioError([Problem(shown, (), f"YAML syntax error{col}: {said}", line)]
                            ) from None
    except yaml.YAMLError as e:
        raise ScenarioError([Problem(shown, (), f"YAML error: {e}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(shown, (), f"lists or mappings are nested too deeply "
                                     f"(at most {MAX_DEPTH} levels)")]) from None
    if data is None:
        raise ScenarioError([Problem(shown, (), f"the file is empty; {what} file is a YAML "
                                     "mapping of keys")])
    if not isinstance(data, dict):
        raise ScenarioError([Problem(shown, (), f"{what} file must be a mapping of keys, not "
                                     f"a {type(data).__name__}", node.start_mark.line + 1)])
    lines, dupes = _line_map(node, shown)
    if dupes:
        raise ScenarioError(dupes)
    return YamlDoc(shown, data, lines)


def _bad_scalars(root: yaml.Node, shown: str) -> list[Problem]:
    """Every value YAML reads as a date or time that is no real one (30 February), by line.

    Such a value makes PyYAML's constructor raise a bare ValueError; each is found
    again here, so every one is named at its line in one pass.
    """
    constructor = yaml.constructor.SafeConstructor()
    problems: list[Problem] = []
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, KeyPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack.extend((v, (*path, k.value if isinstance(k, yaml.ScalarNode) else str(k)))
                         for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, (*path, i)) for i, v in enumerate(node.value))
        elif node.tag.endswith(":timestamp"):
            try:
                constructor.construct_yaml_timestamp(node)
            except (ValueError, OverflowError) as e:
                problems.append(Problem(shown, path, f"{node.value!r} is not a real date ({e}); "
                                        "write dates as YYYY-MM-DD", node.start_mark.line + 1))
    problems.sort(key=lambda p: p.line or 0)
    return problems or [Problem(shown, (), "a value could not be read (not a real date or "
                                "number)")]


def _check_size(root: yaml.Node, shown: str) -> None:
    """Refuse a node graph too big once aliases are expanded, too deep, or self-referring.

    Sizes are counted once per node (an alias is the same node object as its
    anchor), so this takes time in proportion to the file.
    """
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: (node, children visited?).
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            depths[key] = 1 + max((depths[id(c)] for c in children), default=0)
            if sizes[key] > MAX_VALUES:
                raise ScenarioError([Problem(
                    shown, (), f"the document expands to more than {MAX_VALUES:,} values "
                    "through its aliases (*name); refused before expanding it (anchors and "
                    "aliases are allowed, up to that size)", node.start_mark.line + 1)])
            if depths[key] > MAX_DEPTH:
                raise ScenarioError([Problem(
                    shown, (), f"lists or mappings are nested more than {MAX_DEPTH} levels "
                    "deep", node.start_mark.line + 1)])
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ScenarioError([Problem(shown, (), "an alias (*name) refers to a list or "
                                         "mapping that contains it", node.start_mark.line + 1)])
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


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
