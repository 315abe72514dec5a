"""A practice's real registered list as the population, from a CSV file.

Columns (a header row; any order; extra columns are ignored):

* ``age_band`` (one of the scenario's band names) or ``age`` (whole years;
  bands named like ``25-44`` or ``85+`` are matched): required;
* ``patient_id``: optional, kept as text in the outputs (``list_patient_id``);
* ``sex``: optional, kept (not used by the model);
* ``n_ltc``: long-term conditions, a whole number >= 0 (default 0);
* ``housebound``: true/false, yes/no, 1/0 or empty (default false);
* ``usual_gp``: the id of a list-holding clinician in the scenario; empty
  rows are given one, balancing lists by sessions;
* ``cohort_<name>``: true/false flags that define membership of the
  scenario's cohort ``<name>`` instead of its search rule.

Personal request rates, preferences and DNA propensities are still drawn
(the "population" stream), from the patient's age band and conditions.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..files.csv_read import line_numbers, read_csv_text

TRUE = {"true", "yes", "y", "1", "t"}
FALSE = {"false", "no", "n", "0", "f", ""}


class ListFileError(ValueError):
    """A list file that cannot be used; the message names the file, the lines and the problem."""


@dataclasses.dataclass(frozen=True)
class ImportedList:
    """A registered list read from a file (row ``i`` is patient ``i``)."""

    patient_id: np.ndarray
    age_band: np.ndarray
    n_ltc: np.ndarray
    housebound: np.ndarray
    usual_gp: np.ndarray  # clinician id or "" (to be assigned)
    sex: np.ndarray | None
    cohorts: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        """Patients on the list."""
        return int(self.age_band.size)


def _band_bounds(names: list[str]) -> list[tuple[int, float]] | None:
    out = []
    for name in names:
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)|\+)\s*", name)
        if not m:
            return None
        out.append((int(m.group(1)), float(m.group(2)) if m.group(2) else np.inf))
    return out


def _flags(values: pd.Series, col: str, path: Path, lines: np.ndarray) -> np.ndarray:
    v = values.str.strip().str.lower()
    bad = ~v.isin(TRUE | FALSE).to_numpy()
    if bad.any():
        raise ListFileError(f"{path}: column {col}: not true/false at {line_numbers(bad, lines)} "
                            f"(e.g. {values.to_numpy()[bad][0]!r})")
    return v.isin(TRUE).to_numpy()


def read_list(path: str | Path, band_names: list[str], holders: list[str],
              cohort_names: list[str]) -> ImportedList:
    """Read and check a list file against the scenario's age bands, list-holders and cohorts.

    Raises:
        ListFileError: naming the file, the column, the lines and what is wrong.
    """
    path = Path(path)
    df = read_csv_text(path, ListFileError, missing="list file not found",
                       empty="the list file is empty")
    if len(df) == 0:
        raise ListFileError(f"{path}: the list file has a header but no patients")
    lines = df.attrs.pop("lines")
    if "age_band" in df.columns:
        band = df["age_band"].str.strip()
        bad = ~band.isin(band_names).to_numpy()
        if bad.any():
            raise ListFileError(f"{path}: column age_band: unknown band at "
                                f"{line_numbers(bad, lines)} (e.g. {band.to_numpy()[bad][0]!r}; "
                                "the scenario's bands: "
                                f"{', '.join(band_names)})")
        # each band's first index among the scenario's (found once a distinct band)
        kinds, which = np.unique(band.to_numpy(dtype=object), return_inverse=True)
        age_band = np.array([band_names.index(b) for b in kinds], dtype=np.int16)[which]
    elif "age" in df.columns:
        bounds = _band_bounds(band_names)
        if bounds is None:
            raise ListFileError(f"{path}: column age: the scenario's age bands "
                                f"({', '.join(band_names)}) are not named like 25-44 or 85+, "
                                "so give an age_band column instead")
        age = pd.to_numeric(df["age"].str.strip(), errors="coerce").to_numpy()
        bad = ~np.isfinite(age) | (age < 0) | (age > 130)
        if bad.any():
            raise ListFileError(f"{path}: column age: not an age in years at "
                                f"{line_numbers(bad, lines)}")
        age_band = np.full(age.size, -1, dtype=np.int16)
        for i, (lo, hi) in enumerate(bounds):
            age_band[(age >= lo) & (age <= hi) & (age_band < 0)] = i
        if (age_band < 0).any():
            raise ListFileError(f"{path}: column age: no age band covers the age at "
                                f"{line_numbers(age_band < 0, lines)}")
    else:
        raise ListFileError(f"{path}: missing column age_band (or age); found: "
                            f"{', '.join(df.columns[:10])}")
    n = len(df)
    if "n_ltc" in df.columns:
        ltc = pd.to_numeric(df["n_ltc"].str.strip().replace("", "0"), errors="coerce").to_numpy()
        bad = ~np.isfinite(ltc) | (ltc < 0) | (ltc != np.round(ltc))
        if bad.any():
            raise ListFileError(f"{path}: column n_ltc: not a whole number >= 0 at "
                                f"{line_numbers(bad, lines)}")
        n_ltc = ltc.astype(np.int16)
    else:
        n_ltc = np.zeros(n, dtype=np.int16)
    housebound = (_flags(df["housebound"], "housebound", path, lines) if "housebound" in df.columns
                  else np.zeros(n, dtype=bool))
    usual = (df["usual_gp"].str.strip().to_numpy(dtype=object) if "usual_gp" in df.columns
             else np.full(n, "", dtype=object))
    bad = (usual != "") & ~np.isin(usual, holders)
    if bad.any():
        raise ListFileError(f"{path}: column usual_gp: not a list-holding clinician of the "
                            f"scenario at {line_numbers(bad, lines)} (e.g. {usual[bad][0]!r}; "
                            f"list-holders: {', '.join(holders)})")
    cohorts = {}
    for col in df.columns:
        if col.startswith("cohort_"):
            name = col.removeprefix("cohort_")
            if name not in cohort_names:
                raise ListFileError(f"{path}: column {col}: the scenario has no cohort "
                                    f"{name!r} (cohorts: {', '.join(cohort_names) or 'none'})")
            cohorts[name] = _flags(df[col], col, path, lines)
    pid = (df["patient_id"].str.strip().to_numpy(dtype=object) if "patient_id" in df.columns
           else np.arange(n).astype(str).astype(object))
    if "patient_id" in df.columns:
        dup = pd.Series(pid).duplicated().to_numpy()
        if dup.any():
            raise ListFileError(f"{path}: column patient_id: repeated at "
                                f"{line_numbers(dup, lines)}")
    sex = df["sex"].str.strip().to_numpy(dtype=object) if "sex" in df.columns else None
    return ImportedList(pid, age_band, n_ltc, housebound, usual, sex, cohorts)
