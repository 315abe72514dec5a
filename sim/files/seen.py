"""The input files a command has read, so that no command writes over one of them.

Every reader of a user's file (YAML, CSV, Parquet history) calls
:func:`note_input`; a command that collects (:func:`inputs_read`, which the
command line opens around every command) hands them to the output guard
(:mod:`sim.files.outputs`), which refuses to replace or remove any of them.
Outside a collection, noting does nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from pathlib import Path

_READ: contextvars.ContextVar[set[Path] | None] = contextvars.ContextVar("gpsim_inputs_read",
                                                                        default=None)


@contextlib.contextmanager
def inputs_read() -> Iterator[set[Path]]:
    """Collect the input files read inside the ``with`` block (their real paths)."""
    seen: set[Path] = set()
    token = _READ.set(seen)
    try:
        yield seen
    finally:
        _READ.reset(token)


def note_input(path: str | os.PathLike) -> None:
    """Record that ``path`` was read as an input (nothing outside :func:`inputs_read`)."""
    seen = _READ.get()
    if seen is not None:
        seen.add(Path(os.path.realpath(path)))


def inputs_so_far() -> frozenset[Path]:
    """The input files read so far in the current collection (empty outside one)."""
    return frozenset(_READ.get() or ())
