"""Where an input file may point: files it names must lie in folders the user chose.

A scenario, network or sweep names other files (``extends:``, ``population.list_file``
and ``history_file``, a network's ``scenario:``, ``appointments:``, ``list:`` and
``columns:``, a sweep's ``base:``). Each must resolve (symbolic links followed) inside
one of the *allowed folders*:

* the folder of each file the user named (on the command line, or in the app);
* the project's own ``scenarios/`` folder (the shipped bases);
* the current folder, unless it is the file system's root or a home folder (too
  wide to say the user chose it).

A file uploaded to the app may name nothing outside its own upload. A reference
outside is refused before the file is opened, so its contents never reach a message.

The allowed folders are set once, by the outermost loader (:func:`reading_from`), and
every file read under it (a network's practices, their ``extends:`` chains) is held to
the same folders.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

#: The project's shipped scenarios (a base any scenario may extend).
PROJECT_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

_ROOTS: contextvars.ContextVar[tuple[Path, ...] | None] = contextvars.ContextVar(
    "gpsim_allowed_roots", default=None)


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(path))


def default_roots(*named: str | os.PathLike) -> tuple[Path, ...]:
    """The allowed folders for files named by the user (see the module docstring)."""
    roots = [_real(Path(p).parent if str(Path(p).parent) else ".") for p in named]
    roots.append(_real(PROJECT_SCENARIOS))
    cwd = _real(os.getcwd())
    if cwd != Path(cwd.anchor) and cwd != _real(Path.home()):
        roots.append(cwd)
    return tuple(dict.fromkeys(roots))


@contextlib.contextmanager
def reading_from(*named: str | os.PathLike, roots: Sequence[str | os.PathLike] | None = None
                 ) -> Iterator[tuple[Path, ...]]:
    """Hold references made while reading ``named`` to the allowed folders.

    The outermost call decides; an inner one (a network loading its practices)
    keeps the outer folders. ``roots`` sets them explicitly, overriding an outer
    call (an upload: its own folder only).
    """
    current = _ROOTS.get()
    if current is not None and roots is None:
        yield current
        return
    chosen = tuple(_real(r) for r in roots) if roots is not None else default_roots(*named)
    token = _ROOTS.set(chosen)
    try:
        yield chosen
    finally:
        _ROOTS.reset(token)


def outside(path: str | os.PathLike, written: str) -> str | None:
    """Why a referenced file may not be read (None: it may), without opening it.

    ``written``: the reference as the file wrote it, for the message.
    """
    roots = _ROOTS.get()
    if roots is None:
        roots = default_roots()
    real = _real(path)
    if any(real == r or r in real.parents for r in roots):
        return None
    shown = ", ".join(str(r) for r in roots)
    return (f"{written!r} is outside the folders input files may refer to ({shown}); "
            "keep the files a scenario names in its own folder (or below it), or run from "
            "a folder that holds them")


def roots_of(scenario) -> tuple[Path, ...]:
    """The allowed folders, with those of a loaded scenario's own list and history files.

    For checking a scenario again after changing it (the app's forms): its files
    were checked when it was loaded.
    """
    files = [f for f in (scenario.population.list_file, scenario.population.history_file) if f]
    return tuple(dict.fromkeys((*default_roots(), *(_real(Path(f).parent) for f in files))))
