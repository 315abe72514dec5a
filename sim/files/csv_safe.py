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


def _map_text(df: pd.DataFrame, fn, pattern: re.Pattern) -> pd.DataFrame:
    """``df`` with ``fn`` applied to the text cells (and names) that ``pattern`` finds.

    Only columns that hold such a cell are copied and mapped (most hold none).
    """
    out = None
    for name in df.columns:
        col = df[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories
            if cats.dtype == object or pd.api.types.is_string_dtype(cats.dtype):
                mapped = [fn(c) for c in cats]
                if mapped != list(cats):
                    out = df.copy() if out is None else out
                    out[name] = col.cat.rename_categories(mapped)
        elif col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            try:
                hit = col.str.match(pattern.pattern, na=False).to_numpy(dtype=bool)
            except AttributeError:  # no text at all in the column
                continue
            if hit.any():
                out = df.copy() if out is None else out
                mapped = col.copy()
                mapped[hit] = [fn(v) for v in col[hit]]
                out[name] = mapped
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
