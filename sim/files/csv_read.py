"""Reading a user's CSV file (a visit export, a registered list) safely, as text.

Shared by :mod:`sim.inputs.list_import`, :mod:`analysis.visits` and the calibration's
export reader: every cell is read
as text (identifiers keep their leading zeros), column names are stripped, and
a file that is missing, empty, binary, not UTF-8 or not parseable as CSV is
refused with a message naming it.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .csv_safe import restore
from .seen import note_input

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

    The file is parsed record by record with the standard library's reader, so
    each row's first line in the file is known even when a quoted cell holds a
    line break: ``df.attrs["lines"]`` (for :func:`line_numbers`; take it out with
    ``df.attrs.pop`` before other work, as pandas compares attributes). Blank lines are
    skipped; a short row is padded with empty cells; a header naming a column
    twice, and a row with more cells than the header, are refused. Cells the
    tool neutralised as formulas when it wrote the file are read back as they
    were (:mod:`sim.files.csv_safe`).

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
        note_input(path)
    except OSError as e:
        raise error(f"{path}: cannot read ({e.strerror})") from None
    if not raw.strip():
        raise error(f"{path}: {empty}")
    if b"\x00" in raw[:4096]:
        raise error(f"{path}: not a CSV text file (it contains binary data)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text; save the file as CSV (UTF-8)") from None
    header, header_line, rows, lines = _records(path, text, error)
    if header is None:
        raise error(f"{path}: {empty}")
    named = [c for c in header if c]
    twice = sorted({c for c in named if named.count(c) > 1})
    if twice:
        raise error(f"{path}: line {header_line}: the header names {', '.join(map(repr, twice))} "
                    "more than once; give each column one heading")
    header = [c or f"Unnamed: {i}" for i, c in enumerate(header)]
    width = len(header)
    long = np.array([len(r) > width for r in rows], dtype=bool)
    if long.any():
        raise error(f"{path}: more cells than the header has columns at "
                    f"{line_numbers(long, np.array(lines))}; check the commas and quotes there")
    df = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], columns=header, dtype=str)
    for col in df.columns:
        values = df[col]
        if values.str.startswith("'").any():
            df[col] = values.map(restore)
    df.attrs["lines"] = np.array(lines, dtype=np.int64)
    return df


def _records(path: Path, text: str, error: type[Exception]
             ) -> tuple[list[str] | None, int, list[list[str]], list[int]]:
    """The header, its line, and every other non-blank record with its first line."""
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    header: list[str] | None = None
    header_line, rows, lines, next_line = 0, [], [], 1
    try:
        for record in reader:
            line, next_line = next_line, reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if header is None:
                header, header_line = [str(c).strip() for c in record], line
            else:
                rows.append(record)
                lines.append(line)
    except csv.Error as e:
        raise error(f"{path}: not a readable CSV file (line {reader.line_num}: {e})") from None
    return header, header_line, rows, lines


def line_numbers(bad: np.ndarray, lines: np.ndarray | None = None) -> str:
    """The file lines of the first few flagged rows, e.g. ``lines 3, 4 and 2 more``.

    ``lines``: each row's first line in the file (``df.attrs["lines"]`` of
    :func:`read_csv_text`); without it, rows count from the line after the
    header (the header is line 1).
    """
    index = np.nonzero(bad)[0]
    rows = (np.asarray(lines)[index[:5]] if lines is not None else index[:5] + 2)
    more = int(bad.sum()) - rows.size
    text = "line" + ("s " if rows.size > 1 else " ") + ", ".join(map(str, rows.tolist()))
    return text + (f" and {more} more" if more > 0 else "")


# ------------------------------------------------------------------ rows and names to check

#: What to do with rows that repeat an earlier row exactly, and with clinician names that
#: differ only in capitals, spaces or punctuation: refuse (the default, naming the lines),
#: or do as the user said.
DUPLICATES = ("refuse", "drop", "keep")
CLINICIAN_NAMES = ("refuse", "merge", "keep")


def repeated_rows(df: pd.DataFrame) -> np.ndarray:
    """Rows equal in every cell (spaces around cells ignored) to an earlier row."""
    if len(df) == 0:
        return np.zeros(0, dtype=bool)
    return df.apply(lambda c: c.str.strip()).duplicated(keep="first").to_numpy()


def name_key(name: str) -> str:
    """A clinician name without capitals, spaces or punctuation (``Dr. Adams``: ``dradams``)."""
    return re.sub(r"[\W_]+", "", name.casefold())


def near_duplicate_names(values: pd.Series) -> list[list[str]]:
    """Groups of distinct spellings that fold to one name (``DR ADAMS``, ``Dr Adams``)."""
    spellings = pd.unique(values[values.str.strip() != ""].str.strip())
    groups: dict[str, list[str]] = {}
    for s in spellings:
        groups.setdefault(name_key(s), []).append(s)
    return [g for g in groups.values() if len(g) > 1]


#: Without times, this share of repeated rows is taken as a copied file, not same-day visits.
REPEATS_WITHOUT_TIMES = 0.05


def duplicate_problems(path: Path, df: pd.DataFrame, lines: np.ndarray, what: str, rule: str,
                       timed: bool = True) -> tuple[np.ndarray, list[str], str | None]:
    """Rows to keep under ``rule`` (:data:`DUPLICATES`), the problem if refused, and a note.

    ``timed``: the rows carry times of day. Then a row equal to an earlier one in
    every column is a copy. With dates alone, two real appointments of one patient
    with one clinician on one day look the same, so repeats are kept with a note,
    unless they are more than :data:`REPEATS_WITHOUT_TIMES` of the rows (a file
    copied into itself).
    """
    repeat = repeated_rows(df)
    n = int(repeat.sum())
    everything = np.ones(len(df), dtype=bool)
    if n == 0 or rule == "keep":
        return everything, [], None
    if rule == "drop":
        return ~repeat, [], None
    if not timed and n <= REPEATS_WITHOUT_TIMES * len(df):
        return everything, [], (
            f"{n:,} row(s) repeat an earlier row in every column (e.g. "
            f"{line_numbers(repeat, lines)}); the file has no times, so they are taken as "
            f"separate {what}s on the same day (say --duplicates drop if they are copies)")
    return everything, [
        f"{path}: {n:,} row(s) repeat an earlier row in every column, at "
        f"{line_numbers(repeat, lines)}: an export lists each {what} once, so a repeat would "
        "count twice; remove them, or say --duplicates drop (drop the repeats) or "
        "--duplicates keep (count them)"], None


def name_problems(path: Path, column: str, values: pd.Series, lines: np.ndarray, rule: str
                  ) -> tuple[dict[str, str], list[str]]:
    """How to rename clinicians under ``rule`` (:data:`CLINICIAN_NAMES`), and the problems."""
    groups = near_duplicate_names(values)
    if not groups or rule == "keep":
        return {}, []
    if rule == "merge":
        return {s: g[0] for g in groups for s in g[1:]}, []
    stripped = values.str.strip()
    shown = []
    for g in groups[:5]:
        at = np.unique(np.asarray(lines)[stripped.isin(g).to_numpy()])
        where = line_numbers(np.ones(at.size, dtype=bool), at)
        shown.append(" / ".join(map(repr, g)) + f" ({where})")
    more = f"; and {len(groups) - 5} more" if len(groups) > 5 else ""
    return {}, [f"{path}: column {column!r}: names that differ only in capitals, spaces or "
                f"punctuation: {'; '.join(shown)}{more}. If each is one clinician, say "
                "--clinician-names merge; if they are different people, --clinician-names "
                "keep"]
