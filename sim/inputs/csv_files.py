"""Reading a user's CSV file (a visit export, a registered list) safely, as text.

Shared by :mod:`sim.inputs.list_import` and :mod:`analysis.visits`: every cell is read
as text (identifiers keep their leading zeros), column names are stripped, and
a file that is missing, empty, binary, not UTF-8 or not parseable as CSV is
refused with a message naming it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

#: Most problems of a file listed at once; the rest are counted.
MAX_PROBLEMS = 20


class FileProblems(ValueError):
    """A user's file that cannot be used: every problem, capped at :data:`MAX_PROBLEMS` shown.

    Attributes:
        problems: one line per problem (``file: column: what is wrong at lines ...``).
    """

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        shown = self.problems[:MAX_PROBLEMS]
        more = len(self.problems) - len(shown)
        if more:
            shown.append(f"... and {more} more problem(s)")
        super().__init__("\n".join(shown))


def read_csv_text(path: Path, error: type[Exception], missing: str, empty: str) -> pd.DataFrame:
    """Every cell as text, column names stripped; ``error`` raised for an unusable file.

    Args:
        path: the file.
        error: the exception class to raise, with a message starting with the path.
        missing: what to say when the file does not exist.
        empty: what to say when it is empty.
    """
    if not path.is_file():
        raise error(f"{path}: {missing}")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror})") from None
    if not raw.strip():
        raise error(f"{path}: {empty}")
    if b"\x00" in raw[:4096]:
        raise error(f"{path}: not a CSV text file (it contains binary data)")
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save the file as CSV (UTF-8)") from None
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                         skipinitialspace=True)
    except (pd.errors.ParserError, csv.Error) as e:
        raise error(f"{path}: not a readable CSV file ({str(e).strip()})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def line_numbers(bad: np.ndarray) -> str:
    """The file lines of the first few flagged rows, e.g. ``lines 3, 4 and 2 more``.

    Rows count from the line after the header (the header is line 1).
    """
    rows = np.nonzero(bad)[0][:5] + 2
    more = int(bad.sum()) - rows.size
    text = "line" + ("s " if rows.size > 1 else " ") + ", ".join(map(str, rows.tolist()))
    return text + (f" and {more} more" if more > 0 else "")
