"""Continuity indices of a practice's own visit export: the library behind ``gpsim indices``.

:func:`run_indices` reads and checks the export (:func:`analysis.visits.read_visits`),
applies the date and role filters, computes each patient's indices and the practice
summary, and writes them (and, if asked, the page of distributions) as named files
the tool owns (:func:`sim.files.outputs.claim_output`). The command line only
parses, calls and prints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.visits import (
    VisitsError,
    filter_visits,
    index_table,
    indices_page,
    practice_summary,
    read_visits,
    summary_table,
)
from sim.files.csv_safe import write_csv
from sim.files.outputs import claim_output


@dataclasses.dataclass(frozen=True)
class IndicesRequest:
    """What ``gpsim indices`` is asked for.

    Attributes:
        visits: the export (CSV: patient_id, date, clinician_id [, usual_clinician_id, role]).
        out: the per-patient CSV to write (the summary goes beside it as
            ``NAME_summary.csv``, the page as ``NAME.html``).
        html: also write the page of distributions.
        min_visits: fewer visits leave a patient's indices undefined (2 or more).
        from_date, to_date: keep visits on or after / before these dates (``YYYY-MM-DD``).
        roles: keep only these roles (needs a role column).
        dayfirst: read slashed dates as day/month/year.
        duplicates, clinician_names: what to do with repeated rows and near-duplicate
            clinician names (:func:`analysis.visits.read_visits`).
    """

    visits: str
    out: str
    html: bool = False
    min_visits: int = 2
    from_date: str | None = None
    to_date: str | None = None
    roles: tuple[str, ...] = ()
    dayfirst: bool = True
    duplicates: str = "refuse"
    clinician_names: str = "refuse"


@dataclasses.dataclass(frozen=True)
class IndicesResult:
    """What was computed and where it went."""

    summary: pd.Series
    out: Path
    summary_file: Path
    page: Path | None


class IndicesError(ValueError):
    """A request that cannot be met; ``problems`` lists every reason, one line each."""

    def __init__(self, *problems: str):
        self.problems = list(problems)
        super().__init__("\n".join(problems))


def run_indices(request: IndicesRequest, say: Callable[[str], None] = print) -> IndicesResult:
    """Read, filter, compute and write; ``say`` hears what was dropped or left out.

    Raises:
        IndicesError: bad arguments or an unusable export (every problem).
        sim.files.outputs.OutputRefused: files it may not write.
    """
    r = request
    if r.min_visits < 2:
        raise IndicesError("--min-visits must be 2 or more (the indices need two visits)")
    dates = {}
    for flag in ("from_date", "to_date"):
        value = getattr(r, flag)
        if value is not None:
            try:
                dates[flag] = pd.Timestamp(value)
            except ValueError:
                raise IndicesError(f"--{flag.split('_')[0]} {value!r}: not a date "
                                   "(use 2024-04-01)") from None
    roles = list(r.roles) or None
    try:
        visits = read_visits(r.visits, dayfirst=r.dayfirst, duplicates=r.duplicates,
                             clinician_names=r.clinician_names)
        if roles and "role" not in visits.columns:
            raise VisitsError(f"{r.visits}: --roles needs a role column")
        asked = {"repeats_dropped": "rows that repeated an earlier row dropped",
                 "names_merged": "spellings of clinician names merged"}
        if any(visits.attrs.get(k) for k in asked):
            say("; ".join(f"{visits.attrs[k]:,} {words}" for k, words in asked.items()
                          if visits.attrs.get(k)) + ", as asked.")
        if visits.attrs.get("note"):
            say(f"Note: {visits.attrs['note']}.")
        total = len(visits)
        visits, excluded = filter_visits(visits, dates.get("from_date"), dates.get("to_date"),
                                         roles)
    except VisitsError as e:
        raise IndicesError(*e.problems) from None
    said = {"before": f"before {r.from_date}", "after": f"on or after {r.to_date}",
            "other_roles": f"with a role other than {', '.join(roles or [])}"}
    if excluded:
        say(f"{total:,} visits read; left out: " + "; ".join(
            f"{n:,} {said[k]}" for k, n in excluded.items()) + ".")
    if len(visits) == 0:
        raise IndicesError(f"{r.visits}: no visits left after the date and role filters")
    table = index_table(visits, r.min_visits)
    out = Path(r.out)
    summary = practice_summary(visits, table)
    summary_file = out.with_name(f"{out.stem}_summary.csv")
    page = out.with_suffix(".html") if r.html else None
    names = [out.name, summary_file.name, *([page.name] if page else [])]
    with claim_output(out.parent, command="indices", files=names) as claimed, \
            claimed.writing() as stage:
        write_csv(table, stage / out.name, index=False, na_rep="")
        write_csv(summary_table(summary, r.min_visits), stage / summary_file.name,
                  index=False)
        if page is not None:
            indices_page(table, summary, r.min_visits, Path(r.visits).name, stage / page.name)
    return IndicesResult(summary, out, summary_file, page)
