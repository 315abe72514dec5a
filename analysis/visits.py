"""A practice's own appointment export: reading it safely and measuring its continuity.

The same index code as the simulation (:mod:`analysis.continuity`) runs on a
CSV with one row per attended consultation:

* ``patient_id``, ``date`` (ISO date or date-time), ``clinician_id``: required;
* ``usual_clinician_id``: optional (adds ``usual_share`` and SLICC and OPR);
* ``role``: optional (lets ``--roles`` keep, for example, GPs only).

Identifiers are read as text and kept exactly as written (leading zeros
stay); rows may come in any order; visits on the same date keep the file's
order for SECON.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.inputs.csv_files import line_numbers, read_csv_text

from .continuity import opr_by_clinician, patient_indices, slicc

REQUIRED = ("patient_id", "date", "clinician_id")
OPTIONAL = ("usual_clinician_id", "role")
INDEX_COLUMNS = ("patient_id", "n_visits", "n_clinicians", "upc", "coc", "secon", "hhi", "mmci")


class VisitsError(ValueError):
    """A visit export that cannot be used; the message names the file and the problem."""


def read_visits(path: str | Path) -> pd.DataFrame:
    """Read and check a visit export; dates become ``Timestamp``, identifiers stay text.

    Raises:
        VisitsError: the file is missing, empty, not CSV, lacks a required
            column, or has blank identifiers or unreadable dates (the first
            few bad rows are named, counting the header as line 1).
    """
    path = Path(path)
    df = read_csv_text(path, VisitsError, missing="no such file", empty="the file is empty")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        found = ", ".join(df.columns[:10]) or "none"
        raise VisitsError(f"{path}: missing column(s) {', '.join(missing)} "
                          f"(found: {found}); needed: {', '.join(REQUIRED)}")
    if len(df) == 0:
        raise VisitsError(f"{path}: the file has a header but no visits")
    keep = [c for c in (*REQUIRED, *OPTIONAL) if c in df.columns]
    df = df[keep].copy()
    for col in keep:
        df[col] = df[col].str.strip()
    for col in ("patient_id", "clinician_id"):
        _no_blanks(df, col, path)
    dates = pd.to_datetime(df["date"], errors="coerce", format="ISO8601")
    bad = dates.isna().to_numpy()
    if bad.any():
        raise VisitsError(f"{path}: unreadable date(s) in column date at {line_numbers(bad)} "
                          f"(e.g. {df['date'].to_numpy()[bad][0]!r}); use ISO dates such as "
                          "2024-03-31 or 2024-03-31 09:30")
    df["date"] = dates
    if "usual_clinician_id" in df.columns:
        df["usual_clinician_id"] = df["usual_clinician_id"].replace("", np.nan)
    return df


def _no_blanks(df: pd.DataFrame, col: str, path: Path) -> None:
    bad = (df[col] == "").to_numpy()
    if bad.any():
        raise VisitsError(f"{path}: blank {col} at {line_numbers(bad)}")


def select_visits(visits: pd.DataFrame, start=None, end=None, roles=None,
                  time: str = "date") -> pd.DataFrame:
    """Visits within ``[start, end)`` (dates or None) and with a role in ``roles`` (or any)."""
    keep = np.ones(len(visits), dtype=bool)
    if start is not None:
        keep &= (visits[time] >= pd.Timestamp(start)).to_numpy()
    if end is not None:
        keep &= (visits[time] < pd.Timestamp(end)).to_numpy()
    if roles:
        if "role" not in visits.columns:
            raise VisitsError("a role filter needs a role column")
        keep &= visits["role"].isin(list(roles)).to_numpy()
    return visits[keep]


def index_table(visits: pd.DataFrame, min_visits: int = 2) -> pd.DataFrame:
    """One row per patient: ``patient_id, n_visits, n_clinicians, upc, coc, secon, hhi, mmci``.

    Plus ``usual_share`` when the visits carry ``usual_clinician_id``. Undefined
    indices (fewer than ``min_visits`` visits) are NaN, written as empty cells.
    """
    usual = "usual_clinician_id" if "usual_clinician_id" in visits.columns else None
    table = patient_indices(visits, min_visits=min_visits, time="date", usual=usual)
    cols = [*INDEX_COLUMNS, *(["usual_share"] if usual else [])]
    return table[cols]


def practice_summary(visits: pd.DataFrame, table: pd.DataFrame) -> dict[str, float]:
    """Practice-level figures: counts, mean indices and, with usual clinicians, SLICC and OPR."""
    defined = table["upc"].notna()
    out: dict[str, float] = {
        "visits": float(len(visits)),
        "patients": float(len(table)),
        "patients_with_indices": float(defined.sum()),
    }
    for col in ("upc", "coc", "secon", "hhi", "mmci", "usual_share"):
        if col in table.columns and defined.any():
            out[f"{col}_mean"] = float(table.loc[defined, col].mean())
    if "usual_clinician_id" in visits.columns:
        known = visits[visits["usual_clinician_id"].notna()]
        out["slicc"] = slicc(known)
        o = opr_by_clinician(known)
        if len(o):
            out["opr"] = float(o["own_list"].sum() / o["appointments"].sum())
    return out
