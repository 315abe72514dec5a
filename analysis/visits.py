"""A practice's own appointment export: reading it safely and measuring its continuity.

The same index code as the simulation (:mod:`analysis.continuity`) runs on a
CSV with one row per attended consultation:

* ``patient_id``, ``date``, ``clinician_id``: required; dates are ISO
  (``2024-03-31``, ``2024-03-31 09:30``) or day/month/year (``31/03/2024``,
  ``31/03/2024 09:30``), one form per file (:mod:`sim.inputs.dates`);
* ``usual_clinician_id``: optional (adds ``usual_share`` and SLICC and OPR);
* ``role``: optional (lets ``--roles`` keep, for example, GPs only; any case).

Identifiers are read as text and kept exactly as written (leading zeros
stay); rows may come in any order; visits on the same date keep the file's
order for SECON.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.files.csv_read import (
    MAX_PROBLEMS,  # noqa: F401 (re-exported: the cap on problems)
    FileProblems,
    duplicate_problems,
    line_numbers,
    name_problems,
    read_csv_text,
)
from sim.inputs.dates import FORMS, DateColumnError, parse_dates

from .continuity import opr_by_clinician, patient_indices, slicc

REQUIRED = ("patient_id", "date", "clinician_id")
OPTIONAL = ("usual_clinician_id", "role")
INDEX_COLUMNS = ("patient_id", "n_visits", "n_clinicians", "upc", "coc", "secon", "hhi", "mmci")


class VisitsError(FileProblems):
    """A visit export that cannot be used: every problem, each naming the file and the lines."""


def read_visits(path: str | Path, dayfirst: bool = True, duplicates: str = "refuse",
                clinician_names: str = "refuse") -> pd.DataFrame:
    """Read and check a visit export; dates become ``Timestamp``, identifiers stay text.

    Every problem is found in one pass: missing columns, blank identifiers,
    unreadable dates (each with the first few lines, counting the header as
    line 1, and how many more).

    Args:
        path: the CSV file.
        dayfirst: read dates with slashes as day/month/year (UK exports; the
            default) rather than month/day/year. ISO dates are read either way.
        duplicates: rows that repeat an earlier row in every column: ``refuse``
            (a problem naming their lines), ``drop`` or ``keep``.
        clinician_names: clinician names that differ only in capitals, spaces or
            punctuation (``DR ADAMS``, ``Dr Adams``): ``refuse``, ``merge`` (into
            the first spelling) or ``keep`` (as different clinicians).

    Raises:
        VisitsError: with every problem found.
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
    lines = df.attrs.pop("lines")
    keep = [c for c in (*REQUIRED, *OPTIONAL) if c in df.columns]
    df = df[keep].copy()
    for col in keep:
        df[col] = df[col].str.strip()
    timed = bool(df["date"].str.contains(":", regex=False).any())
    kept, problems, note = duplicate_problems(path, df, lines, "visit", duplicates, timed)
    df, lines = df[kept].reset_index(drop=True), lines[kept]
    columns = [c for c in ("clinician_id", "usual_clinician_id") if c in df.columns]
    rename, found = name_problems(path, "clinician_id",
                                  pd.concat([df[c] for c in columns], ignore_index=True),
                                  np.tile(lines, len(columns)), clinician_names)
    problems += found
    for col in ("clinician_id", "usual_clinician_id"):
        if rename and col in df.columns:
            df[col] = df[col].replace(rename)
    for col in ("patient_id", "clinician_id"):
        bad = (df[col] == "").to_numpy()
        if bad.any():
            problems.append(f"{path}: column {col}: blank at {line_numbers(bad, lines)}")
    try:
        dates, bad = parse_dates(df["date"], dayfirst=dayfirst)
    except DateColumnError as e:
        problems.append(f"{path}: column date: {e}")
    else:
        if bad.any():
            problems.append(f"{path}: column date: unreadable at {line_numbers(bad, lines)} (e.g. "
                            f"{df['date'].to_numpy()[bad][0]!r}); {FORMS}")
        df["date"] = dates
    if problems:
        raise VisitsError(problems)
    if "usual_clinician_id" in df.columns:
        df["usual_clinician_id"] = df["usual_clinician_id"].replace("", np.nan)
    df.attrs = {"repeats_dropped": int((~kept).sum()), "names_merged": len(rename),
                "note": note}
    return df


def filter_visits(visits: pd.DataFrame, start=None, end=None, roles=None,
                  time: str = "date") -> tuple[pd.DataFrame, dict[str, int]]:
    """Visits within ``[start, end)`` and with a role in ``roles``; and how many each excluded.

    Roles are compared without regard to case or surrounding spaces (``GP``,
    ``gp `` and ``Gp`` are the same role). The counts are keyed ``before``,
    ``after`` and ``other_roles`` (a visit excluded by several filters is
    counted under the first).
    """
    keep = np.ones(len(visits), dtype=bool)
    excluded = {}
    if start is not None:
        out = (visits[time] < pd.Timestamp(start)).to_numpy()
        excluded["before"] = int((keep & out).sum())
        keep &= ~out
    if end is not None:
        out = (visits[time] >= pd.Timestamp(end)).to_numpy()
        excluded["after"] = int((keep & out).sum())
        keep &= ~out
    if roles:
        if "role" not in visits.columns:
            raise VisitsError("a role filter needs a role column")
        wanted = {r.strip().casefold() for r in roles}
        out = ~visits["role"].str.strip().str.casefold().isin(wanted).to_numpy()
        excluded["other_roles"] = int((keep & out).sum())
        keep &= ~out
    return visits[keep], excluded


def select_visits(visits: pd.DataFrame, start=None, end=None, roles=None,
                  time: str = "date") -> pd.DataFrame:
    """Visits within ``[start, end)`` and with a role in ``roles`` (:func:`filter_visits`)."""
    return filter_visits(visits, start, end, roles, time)[0]


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


#: What each practice-level figure is, for ``indices``' summary file and page.
SUMMARY_MEANINGS = {
    "visits": "visits read (after the date and role filters)",
    "patients": "patients with at least one visit",
    "patients_with_indices": "patients with enough visits for the indices",
    "upc_mean": "mean UPC: share of a patient's visits with the clinician seen most",
    "coc_mean": "mean COC (Bice-Boxerman): how concentrated visits are on few clinicians",
    "secon_mean": "mean SECON: share of consecutive visits with the same clinician",
    "hhi_mean": "mean Herfindahl index of visits over clinicians",
    "mmci_mean": "mean MMCI (modified modified continuity index)",
    "usual_share_mean": "mean share of a patient's visits with their usual clinician",
    "slicc": "SLICC: share of visits with the patient's usual clinician (pooled)",
    "opr": "OPR: share of list-holders' visits with patients on their own list",
}


def summary_table(summary: dict, min_visits: int) -> pd.DataFrame:
    """The practice-level figures as a table: ``measure, value, meaning``."""
    rows = [{"measure": k, "value": v, "meaning": SUMMARY_MEANINGS.get(k, k)}
            for k, v in summary.items()]
    rows.append({"measure": "min_visits", "value": float(min_visits),
                 "meaning": "visits a patient needs for the indices"})
    return pd.DataFrame(rows)


def indices_page(table: pd.DataFrame, summary: dict, min_visits: int, source: str,
                 path: Path) -> Path:
    """A small self-contained HTML page: the summary, and each index's spread over patients."""
    import base64
    import html
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = html.escape
    cols = [c for c in ("upc", "coc", "secon", "hhi", "mmci", "usual_share") if c in table]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), dpi=100, layout="constrained")
    names = {"upc": "UPC", "coc": "COC (Bice-Boxerman)", "secon": "SECON", "hhi": "Herfindahl",
             "mmci": "MMCI", "usual_share": "Share with the usual clinician"}
    for ax, col in zip(axes.flat, cols, strict=False):
        x = table[col].dropna().to_numpy(dtype=float)
        ax.hist(x, bins=np.linspace(0, 1, 21), color="#1b6ca8", alpha=0.8)
        ax.set_title(f"{names[col]} (mean {x.mean():.2f})" if x.size else names[col],
                     loc="left", fontsize=10)
        ax.set_xlabel("index per patient (0 to 1; 1: always the same clinician)")
        ax.set_ylabel("patients")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    rows = "".join(
        f"<tr><td>{e(SUMMARY_MEANINGS.get(k, k))}</td><td class=\"num\">"
        f"{(f'{v:,.0f}' if k in ('visits', 'patients', 'patients_with_indices') else f'{v:.3f}')}"
        "</td></tr>" for k, v in summary.items())
    image = base64.b64encode(buf.getvalue()).decode("ascii")
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Continuity indices of {e(source)}</title><style>
body {{ font-family: system-ui, sans-serif; max-width: 1180px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; }} td {{ border: 1px solid #ddd; padding: 0.3em 0.6em; }}
td.num {{ text-align: right; }} img {{ max-width: 100%; }}
</style></head><body><h1>Continuity indices of {e(source)}</h1>
<p>Indices per patient over patients with {min_visits} or more visits.</p>
<table>{rows}</table>
<h2>Spread over patients</h2>
<img alt="The distribution of each index over patients" src="data:image/png;base64,{image}">
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
