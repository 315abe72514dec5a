"""What is wrong with an input file, located as precisely as we can: file, line, key path.

Every reader (scenarios, networks, sweeps, lists, exports) raises
:class:`ScenarioError` with every problem it found, so the command line can
print them all at once and exit with status 2, never a traceback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

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


def merge_repeats(found: list[tuple[str, Problem]], what: str) -> list[Problem]:
    """One problem per distinct message, naming every ``what`` (practice, point) that has it.

    Problems at different lines of the same file with the same message (the
    same override typed in every practice) are one problem too: the first line
    is given, with how many others.
    """
    groups: dict[tuple[str, tuple, str], list[tuple[str, Problem]]] = {}
    for who, p in found:
        groups.setdefault((p.file, _unindexed(p.path), p.message), []).append((who, p))
    out = []
    for same in groups.values():
        who = list(dict.fromkeys(w for w, _ in same))
        first = same[0][1]
        if len(who) == 1:
            note = f" ({what} {who[0]})"
        else:
            names = ", ".join(who[:3]) + (f" and {len(who) - 3} more" if len(who) > 3 else "")
            note = f" ({len(who)} {what}s: {names})"
        lines = sorted({p.line for _, p in same if p.line is not None})
        if len(lines) > 1:
            note += f"; also at line{'s' if len(lines) > 2 else ''} " + ", ".join(
                map(str, lines[1:6])) + (", ..." if len(lines) > 6 else "")
        out.append(Problem(first.file, first.path, first.message + note, first.line))
    return out


def _unindexed(path: tuple) -> tuple:
    """A key path without the practice's, variant's or grid value's own position."""
    if len(path) >= 2 and path[0] in ("practices", "variants") and isinstance(path[1], int):
        return (path[0], *path[2:])
    if len(path) == 3 and path[0] == "grid" and isinstance(path[2], int):
        return path[:2]
    return path
