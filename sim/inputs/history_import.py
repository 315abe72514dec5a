"""A practice's consultations before the simulated period, from a Parquet file.

Written by ``calibrate`` beside the scenario; one row per patient and
clinician, aggregated (no dates of single consultations):

* ``patient_id``: text, as in the scenario's ``list_file``;
* ``clinician_id``: a clinician of the scenario;
* ``consultations``: attended consultations before the simulated period (>= 1);
* ``last_year``: optional, how many of them fell in its last 365 days (the
  A&E proxies' recent UPC counts these, spread evenly over that year);
* ``years_since_first``: optional, years from the first of them to the
  simulated period (years with the usual GP, for the duration model).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ..files.seen import note_input

REQUIRED = ("patient_id", "clinician_id", "consultations")


class HistoryFileError(ValueError):
    """A history file that cannot be used; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class History:
    """Consultations before the simulated period, one entry per (patient, clinician)."""

    patient: np.ndarray            # patient index (row of the list)
    clinician: np.ndarray          # clinician index
    consultations: np.ndarray      # int64, >= 1
    last_year: np.ndarray          # int64, <= consultations
    years_since_first: np.ndarray  # float, NaN when unknown

    @property
    def size(self) -> int:
        """Pairs in the history."""
        return int(self.patient.size)

    @staticmethod
    def empty() -> History:
        """No history: every patient starts unknown to every clinician."""
        z = np.zeros(0, dtype=np.int64)
        return History(z, z.copy(), z.copy(), z.copy(), np.zeros(0))


def read_history(path: str | Path, patient_ids: np.ndarray, clinician_ids: list[str]) -> History:
    """Read a history file, keyed by the list's patient ids and the scenario's clinicians.

    Raises:
        HistoryFileError: naming the file and every problem found.
    """
    path = Path(path)
    if not path.is_file():
        raise HistoryFileError(f"{path}: no such file")
    try:
        note_input(path)
        df = pd.read_parquet(path)
    except Exception as e:  # pyarrow raises many kinds of error for a bad file
        raise HistoryFileError(f"{path}: not a readable Parquet file ({type(e).__name__})"
                               ) from None
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise HistoryFileError(f"{path}: missing column(s) {', '.join(missing)} (found: "
                               f"{', '.join(map(str, df.columns[:10]))})")
    problems = []
    index = pd.Index(np.asarray(patient_ids).astype(str))
    patient = index.get_indexer(df["patient_id"].astype(str))
    if (patient < 0).any():
        bad = df["patient_id"].astype(str)[patient < 0]
        problems.append(f"{(patient < 0).sum():,} row(s) name patients not on the list "
                        f"(e.g. {bad.iloc[0]!r})")
    clinician = pd.Index(clinician_ids).get_indexer(df["clinician_id"].astype(str))
    if (clinician < 0).any():
        bad = sorted(set(df["clinician_id"].astype(str)[clinician < 0]))[:5]
        problems.append(f"clinician(s) not in the scenario: {', '.join(bad)}")
    n = pd.to_numeric(df["consultations"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(n).all() or (n < 1).any() or (n != np.floor(n)).any():
        problems.append("consultations must be whole numbers, 1 or more")
    last = (pd.to_numeric(df["last_year"], errors="coerce").to_numpy(dtype=float)
            if "last_year" in df.columns else np.zeros(len(df)))
    if not np.isfinite(last).all() or (last < 0).any() or (last > n).any():
        problems.append("last_year must be whole numbers from 0 to consultations")
    years = (pd.to_numeric(df["years_since_first"], errors="coerce").to_numpy(dtype=float)
             if "years_since_first" in df.columns else np.full(len(df), np.nan))
    if (years < 0).any():
        problems.append("years_since_first must be 0 or more")
    if problems:
        raise HistoryFileError(f"{path}: " + "; ".join(problems))
    order = np.lexsort((clinician, patient))
    if (np.diff(patient[order] * len(clinician_ids) + clinician[order]) == 0).any():
        raise HistoryFileError(f"{path}: a patient and clinician appear on two rows")
    return History(patient[order].astype(np.int64), clinician[order].astype(np.int64),
                   n[order].astype(np.int64), last[order].astype(np.int64), years[order])
