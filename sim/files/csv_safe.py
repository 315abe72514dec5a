"""CSV files whose text cells a spreadsheet will not run as formulas.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a
formula to Excel, LibreOffice and Google Sheets: an identifier or name copied from a
user's export (``=cmd|' /C calc'!A0``) would run when the output is opened. Every CSV
the tool writes goes through :func:`write_csv`, which puts an apostrophe before such a
text cell (numbers, including negative ones, are left alone), as OWASP advises;
:func:`read_csv` takes it off again, so the tool reads back exactly what it wrote.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

#: What a formula starts with, to a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_RISKY = re.compile(r"^[=+\-@\t\r]")
_GUARDED = re.compile(r"^'[=+\-@\t\r]")


def neutralise(value: object) -> object:
    """``value`` with an apostrophe in front if a spreadsheet would read it as a formula."""
    if isinstance(value, str) and _RISKY.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value


def restore(value: object) -> object:
    """Undo :func:`neutralise` (a text cell written by :func:`write_csv`)."""
    if isinstance(value, str) and _GUARDED.match(value) and not _NUMBER.match(value[1:]):
        return value[1:]
    return value


#: Up to this many rows a text column is searched cell by cell in Python; longer ones
#: with pandas's string methods (their set-up costs more than a short column's search).
_SHORT = 512


def _text_hits(col: pd.Series, pattern: re.Pattern) -> np.ndarray | None:
    """Which cells of a text column ``pattern`` matches at their start; None if none is text."""
    if len(col) <= _SHORT:
        cells = col.tolist()
        if not any(isinstance(v, str) for v in cells):
            return None
        return np.array([isinstance(v, str) and pattern.match(v) is not None for v in cells],
                        dtype=bool)
    try:
        return col.str.match(pattern.pattern, na=False).to_numpy(dtype=bool)
    except AttributeError:  # no text at all in the column
        return None


def _map_text(df: pd.DataFrame, fn, pattern: re.Pattern) -> pd.DataFrame:
    """``df`` with ``fn`` applied to the text cells (and names) that ``pattern`` finds.

    Only columns that hold such a cell are copied and mapped (most hold none);
    columns of numbers are passed over by their type alone (a summary row has
    some sixty, and taking each out of the table cost more than the search).
    """
    out = None
    for i, dtype in enumerate(df.dtypes):
        if isinstance(dtype, pd.CategoricalDtype):
            cats = dtype.categories
            if cats.dtype == object or pd.api.types.is_string_dtype(cats.dtype):
                mapped = [fn(c) for c in cats]
                if mapped != list(cats):
                    col = df.iloc[:, i]
                    out = df.copy() if out is None else out
                    out.isetitem(i, col.cat.rename_categories(mapped))
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            col = df.iloc[:, i]
            hit = _text_hits(col, pattern)
            if hit is not None and hit.any():
                out = df.copy() if out is None else out
                mapped = col.copy()
                mapped[hit] = [fn(v) for v in col[hit]]
                out.isetitem(i, mapped)
    columns = [fn(c) for c in df.columns]
    if columns != list(df.columns):
        out = df.copy() if out is None else out
        out.columns = columns
    return df if out is None else out


def write_csv(df: pd.DataFrame, path: str | os.PathLike, **kwargs) -> None:
    """``df.to_csv(path, **kwargs)`` with formula-like text cells neutralised."""
    _map_text(df, neutralise, _RISKY).to_csv(path, **kwargs)


def read_csv(path: str | os.PathLike, **kwargs) -> pd.DataFrame:
    """``pd.read_csv(path, **kwargs)`` of a file :func:`write_csv` wrote, cells restored."""
    return _map_text(pd.read_csv(path, **kwargs), restore, _GUARDED)
