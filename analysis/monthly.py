"""Month by month: how a practice's access, continuity and emergency use move through the run.

Each calendar month of the observation window (the first and last may be
partial; ``days`` says how many of its days are in the window) gets:

* counts that add up to the yearly summary's: ``appointments`` (attended or
  missed, by appointment date), ``unmet_requests`` (attempts that found no
  slot), ``gave_up_requests`` (by the month the request was first made),
  ``ae`` and ``admissions`` (proxies), ``booked_slots`` and
  ``available_slots`` by role;
* rates computed as the yearly figures are, within the month: ``slicc``,
  ``same_day_share``, ``routine_wait_mean_days``, ``routine_wait_p90_days``,
  ``ae_per_1000`` and ``admissions_per_1000`` (a year's rate, from the month's
  events), ``utilisation`` and ``utilisation_<role>``;
* continuity per patient over the 364 days up to the month's end (or since
  the window began, when shorter), as the yearly figures are over the
  window: ``upc_rolling`` and ``team_continuity_rolling`` (patients with 3 or
  more consultations). At the window's end the window is the year, so the
  last month's values equal the yearly summary's ``upc_mean`` and
  ``team_continuity`` (tested).

:func:`monthly_parts` keeps what adds up across practices (a network's
months add its practices' parts), :func:`monthly_from_parts` makes the rates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sim.ordering import numbered

from .continuity import one_of, same_ids
from .summary import DAYS_PER_YEAR

#: The columns of ``monthly.csv``, with what each is (``utilisation_<role>`` are added per role).
MONTHLY_COLUMNS: dict[str, str] = {
    "month": "calendar month (YYYY-MM)",
    "days": "days of the month in the observation window",
    "appointments": "appointments attended or missed in the month",
    "same_day_share": "share of the month's appointments on the day they were booked",
    "routine_wait_mean_days": "mean wait of the month's routine appointments, days",
    "routine_wait_p90_days": "90th percentile of that wait, days",
    "slicc": "share of the month's GP consultations with the patient's own list GP",
    "upc_rolling": "mean UPC over the 364 days to the month's end (GP, patients with 3+)",
    "team_continuity_rolling": "mean share of consultations with the patient's own micro-team, "
                               "364 days to the month's end (patients with 3+)",
    "unmet_requests": "attempts in the month that found no slot",
    "gave_up_requests": "requests first made in the month that the patient gave up on",
    "ae": "A&E attendances in the month (PROXY)",
    "ae_per_1000": "A&E attendances per 1,000 patients a year, at the month's rate (PROXY)",
    "admissions": "emergency admissions in the month (PROXY)",
    "admissions_per_1000": "emergency admissions per 1,000 a year, at the month's rate (PROXY)",
    "utilisation": "share of the month's available slots booked",
}
ROLLING_DAYS = 364


def _months(start: np.datetime64, w0: int, w1: int) -> list[tuple[str, int, int]]:
    """(YYYY-MM, first day, end day) of each calendar month of the window [w0, w1)."""
    out = []
    d = w0
    while d < w1:
        month = (start + np.timedelta64(d, "D")).astype("datetime64[M]")
        nxt = ((month + np.timedelta64(1, "M")).astype("datetime64[D]") - start).astype(int)
        end = min(int(nxt), w1)
        out.append((str(month), d, end))
        d = end
    return out


def _day(times: pd.Series, start: np.datetime64) -> np.ndarray:
    """Simulation day of each timestamp."""
    return ((times.to_numpy(dtype="datetime64[s]") - start.astype("datetime64[s]"))
            // np.timedelta64(1, "D")).astype(np.int64)


class _PerPatient:
    """Per-patient means over rolling windows of days, kept as running counts.

    Every (patient, clinician) pair of the rows gets a number, in order of
    patient then clinician, and the rows are put in day order once; moving a
    window on adds the counts of the rows that enter and takes away those of
    the rows that leave. A window's UPC sum is the sum, over patients with
    ``min_visits`` or more of its rows in patient order, of their commonest
    clinician's count over their count: the same values in the same order as
    sorting the window's rows would give, so the same sum to the last bit.
    """

    def __init__(self, patient: np.ndarray, day: np.ndarray,
                 clinician: np.ndarray | None = None, hits: np.ndarray | None = None):
        # days fit 16 bits, which numpy sorts stably by radix: five times faster
        small = day.size and -(2**15) <= day.min() and day.max() < 2**15
        order = np.argsort(day.astype(np.int16) if small else day, kind="stable")
        self.day = day[order]
        _, number = numbered(patient)  # patient numbers in id order
        self.patient = number[order]
        self.n_patients = int(number.max()) + 1 if patient.size else 0
        self.hits = None if hits is None else hits[order].astype(np.int64)
        self.pair = None
        if clinician is not None and patient.size:
            width = int(clinician.max()) + 1
            pairs, pair = numbered(number * width + clinician)
            self.pair = pair[order]
            self.n_pairs = pairs.size
            pair_patient = pairs // width  # pairs in (patient, clinician) order
            # each patient's first pair (every patient with rows has one)
            self.pair_first = np.flatnonzero(np.r_[True, pair_patient[1:] != pair_patient[:-1]])

    def windows(self, bounds: list[tuple[int, int]], min_visits: int = 3
                ) -> list[tuple[float, int]]:
        """Per window ``[first, end)`` of days: the sum and count of UPC (or hit share).

        Over the patients with ``min_visits`` or more rows in the window: UPC
        when the rows have clinicians, else the share of their rows that are
        hits. The windows' starts and ends must not go backwards.
        """
        if self.n_patients == 0:
            return [(0.0, 0)] * len(bounds)
        counts = np.zeros(self.n_patients, dtype=np.int64)
        tally = np.zeros(self.n_pairs if self.pair is not None else self.n_patients,
                         dtype=np.int64)
        lo = hi = 0
        out = []
        for first, end in bounds:
            new_lo, new_hi = np.searchsorted(self.day, [first, end])
            entering, leaving = slice(max(hi, new_lo), new_hi), slice(lo, min(new_lo, hi))
            for rows, sign in ((entering, 1), (leaving, -1)):
                counts += sign * np.bincount(self.patient[rows], minlength=self.n_patients)
                if self.pair is not None:
                    tally += sign * np.bincount(self.pair[rows], minlength=self.n_pairs)
                else:
                    tally += sign * np.bincount(self.patient[rows], weights=self.hits[rows],
                                                minlength=self.n_patients).astype(np.int64)
            lo, hi = new_lo, new_hi
            top = (np.maximum.reduceat(tally, self.pair_first) if self.pair is not None
                   else tally)
            ok = counts >= min_visits
            out.append((float((top[ok] / counts[ok]).sum()), int(ok.sum())))
        return out


def _factorized(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """``pd.factorize(column.astype(str), sort=True)``, from a category's codes when it is one."""
    if not isinstance(column.dtype, pd.CategoricalDtype) or column.isna().any():
        codes, names = pd.factorize(column.astype(str), sort=True)
        return codes, list(names)
    codes = column.cat.codes.to_numpy()
    labels = column.cat.categories.astype(str)
    present = np.flatnonzero(np.bincount(codes, minlength=labels.size))
    names = sorted(labels[present])
    rank = np.zeros(labels.size, dtype=np.int64)
    rank[present] = [names.index(x) for x in labels[present]]
    return rank[codes], names


def monthly_parts(tables: Mapping[str, pd.DataFrame], start_date, warmup_days: int,
                  end_day: int, patients: int, gp_roles: tuple[str, ...] = ("gp",)
                  ) -> dict[str, dict]:
    """What the monthly table is computed from, per month: counts, sums, routine waits.

    Parts of several practices with the same window add up (a network's months).
    """
    parts, waits, months = monthly_parts_by_code(tables, start_date, warmup_days, end_day,
                                                 patients, gp_roles)
    return with_routine_waits(parts, waits, months)


def with_routine_waits(parts: dict[str, dict], waits: np.ndarray,
                       months: np.ndarray | list[np.ndarray]) -> dict[str, dict]:
    """Monthly parts with each month's routine waits put in (``routine_waits``).

    ``months``: each wait's month, numbered in the order of ``parts`` (a number
    past the last: outside the window); a month's waits keep their order. For
    several practices' waits joined (a network's), ``months`` is each practice's
    in turn, and a month's waits come practice by practice: sorted one practice
    at a time, into one array, with no order of every wait held at once.
    """
    pieces = months if isinstance(months, list) else [months]
    n = len(parts)
    counts = np.array([np.bincount(m, minlength=n + 1)[:n] for m in pieces],
                      dtype=np.int64).reshape(len(pieces), n)
    month_start = np.concatenate([[0], np.cumsum(counts.sum(axis=0))])
    at = month_start[:n] + np.cumsum(counts, axis=0) - counts  # each practice's place
    out = np.empty(int(month_start[-1]), dtype=waits.dtype)
    first = 0
    for p, m in enumerate(pieces):
        order = np.argsort(m, kind="stable")  # 16-bit numbers: a radix sort
        mine = waits[first:first + m.size][order]
        first += m.size
        ends = np.cumsum(counts[p])
        for k in range(n):
            out[at[p, k]:at[p, k] + counts[p, k]] = mine[ends[k] - counts[p, k]:ends[k]]
    return {month: {**part, "routine_waits": out[month_start[k]:month_start[k + 1]]}
            for k, (month, part) in enumerate(parts.items())}


def monthly_parts_by_code(tables: Mapping[str, pd.DataFrame], start_date, warmup_days: int,
                          end_day: int, patients: int, gp_roles: tuple[str, ...] = ("gp",)
                          ) -> tuple[dict[str, dict], np.ndarray, np.ndarray]:
    """:func:`monthly_parts` without each month's routine waits, and the waits apart.

    Returns the parts, every routine wait (in the order of
    :func:`analysis.summary.summary_parts`' ``routine_waits``) and each one's month
    (16-bit numbers, in the order of the parts; past the last: outside the window).
    A network's practices send their month numbers rather than their waits twice.
    """
    start = np.datetime64(start_date, "D")
    a = tables["appointments"]
    # The appointments that happened in the window, as arrays (masks on the whole table,
    # then the rows taken: no table is filtered).
    rows = a["in_window"].to_numpy(dtype=bool) & one_of(a["status"], ["attended", "dna"])
    h_day = _day(a["appointment_at"], start)[rows]
    lead = a["lead_days"].to_numpy()[rows]
    routine_rows = one_of(a["urgency"], ["routine"])[rows]
    waits = a["wait_days"].to_numpy(dtype=float)[rows]
    is_gp = one_of(a["role"], gp_roles)[rows]
    attended = one_of(a["status"], ["attended"])[rows]
    gp_att = is_gp & attended
    with_usual = same_ids(a["clinician_id"], a["usual_clinician_id"])[rows]
    pid = a["patient_id"].to_numpy(dtype=np.int64)[rows]
    clin = (a["clinician_id"].cat.codes.to_numpy().astype(np.int64)[rows]
            if isinstance(a["clinician_id"].dtype, pd.CategoricalDtype)
            else pd.factorize(a["clinician_id"].to_numpy()[rows])[0])
    if "with_own_team" in a.columns:
        team = a["with_own_team"]
        team_known = attended & team.notna().to_numpy()[rows]
        team_hit = team.fillna(False).to_numpy(dtype=bool)[rows]
    else:
        team_known = team_hit = np.zeros(int(rows.sum()), dtype=bool)
    months = _months(start, warmup_days, end_day)
    edges = np.array([d0 for _, d0, _ in months] + [months[-1][2]] if months else [0],
                     dtype=np.int64)
    n_months = len(months)

    # each day's month number, looked up (n_months: outside the window)
    month_by_day = np.full(int(edges[-1]) + 2, n_months, dtype=np.int64)
    for k in range(n_months):
        month_by_day[edges[k] + 1:edges[k + 1] + 1] = k

    def month_of(day: np.ndarray) -> np.ndarray:
        """Each day's month number in the window (n_months: outside it)."""
        return month_by_day[np.clip(day + 1, 0, month_by_day.size - 1)]

    def in_months(month: np.ndarray, weights=None) -> np.ndarray:
        return np.bincount(month, weights=weights, minlength=n_months + 1)[:n_months]

    def per_month(day: np.ndarray, weights=None) -> np.ndarray:
        return in_months(month_of(day), weights)

    h_month = month_of(h_day)
    counts = {
        "appointments": in_months(h_month),
        "same_day": in_months(h_month[lead == 0]),
        "gp_visits": in_months(h_month[gp_att]),
        "gp_visits_with_usual": in_months(h_month[gp_att & with_usual]),
        "unmet_requests": per_month(_day(tables["unmet"]["attempted_at"], start)),
    }
    r = tables["requests"]
    counts["gave_up_requests"] = per_month(_day(r.loc[r["outcome"] == "gave_up",
                                                      "requested_at"], start))
    # each routine wait's month
    r_month = h_month[routine_rows].astype(np.int16 if n_months < 2**15 else np.int32)
    e = tables.get("emergency")
    if e is not None:
        e_day = _day(e["at"], start)
        counts["ae"] = per_month(e_day[(e["kind"] == "ae").to_numpy()])
        counts["admissions"] = per_month(e_day[(e["kind"] == "admission").to_numpy()])
    cd = tables["clinician_days"]
    cd_day = ((cd["date"].to_numpy(dtype="datetime64[D]") - start)
              // np.timedelta64(1, "D")).astype(np.int64)
    role_codes, roles = _factorized(cd["role"])
    booked, available = {}, {}
    for j, role in enumerate(roles):
        mine = role_codes == j
        booked[role] = per_month(cd_day[mine], cd["booked_slots"].to_numpy()[mine])
        available[role] = per_month(cd_day[mine], cd["available_slots"].to_numpy()[mine])
    bounds = [(max(warmup_days, d1 - ROLLING_DAYS), d1) for _, _, d1 in months]
    gp_rolling = _PerPatient(pid[gp_att], h_day[gp_att], clinician=clin[gp_att]).windows(bounds)
    team_rolling = _PerPatient(pid[team_known], h_day[team_known],
                               hits=team_hit[team_known]).windows(bounds)
    out = {}
    for k, (month, d0, d1) in enumerate(months):
        (upc_sum, upc_n), (team_sum, team_n) = gp_rolling[k], team_rolling[k]
        part = {"days": d1 - d0, "patients": patients,
                **{key: int(v[k]) for key, v in counts.items()
                   if key not in ("ae", "admissions")},
                "upc_sum": upc_sum, "upc_n": upc_n, "team_sum": team_sum, "team_n": team_n,
                "has_emergency": e is not None,
                "ae": int(counts["ae"][k]) if e is not None else 0,
                "admissions": int(counts["admissions"][k]) if e is not None else 0}
        for role in roles:
            part[f"booked_{role}"] = float(booked[role][k])
            part[f"available_{role}"] = float(available[role][k])
        out[month] = part
    return out, waits[routine_rows], r_month


def combine_monthly_parts(parts: list[dict[str, dict]]) -> dict[str, dict]:
    """The monthly parts of several practices (same window) together."""
    months = list(parts[0])
    out = {}
    for month in months:
        rows = [p[month] for p in parts]
        merged = {}
        for key in {k for r in rows for k in r}:
            values = [r.get(key, 0) for r in rows]
            if key == "days":
                merged[key] = values[0]
            elif key == "routine_waits":
                merged[key] = np.concatenate(values)
            elif key == "has_emergency":
                merged[key] = all(values)
            else:
                merged[key] = sum(values)
        out[month] = merged
    return out


def monthly_from_parts(parts: dict[str, dict]) -> pd.DataFrame:
    """The monthly table (:data:`MONTHLY_COLUMNS`, plus utilisation by role) from its parts."""
    rows = []
    for month, p in parts.items():
        waits = p["routine_waits"]
        per = 1000.0 / p["patients"] * DAYS_PER_YEAR / p["days"] if p["patients"] else np.nan
        roles = sorted(k.removeprefix("booked_") for k in p if k.startswith("booked_"))
        booked = sum(p[f"booked_{r}"] for r in roles)
        available = sum(p[f"available_{r}"] for r in roles)
        row = {
            "month": month, "days": p["days"], "appointments": p["appointments"],
            "same_day_share": _ratio(p["same_day"], p["appointments"]),
            "routine_wait_mean_days": float(waits.mean()) if waits.size else np.nan,
            "routine_wait_p90_days": float(np.quantile(waits, 0.9)) if waits.size else np.nan,
            "slicc": _ratio(p["gp_visits_with_usual"], p["gp_visits"]),
            "upc_rolling": _ratio(p["upc_sum"], p["upc_n"]),
            "team_continuity_rolling": _ratio(p["team_sum"], p["team_n"]),
            "unmet_requests": p["unmet_requests"], "gave_up_requests": p["gave_up_requests"],
            "ae": p["ae"] if p["has_emergency"] else np.nan,
            "ae_per_1000": p["ae"] * per if p["has_emergency"] else np.nan,
            "admissions": p["admissions"] if p["has_emergency"] else np.nan,
            "admissions_per_1000": p["admissions"] * per if p["has_emergency"] else np.nan,
            "utilisation": _ratio(booked, available),
            **{f"utilisation_{r}": _ratio(p[f"booked_{r}"], p[f"available_{r}"])
               for r in roles},
        }
        rows.append(row)
    return pd.DataFrame(rows)


def monthly_table(result, parts: dict | None = None) -> pd.DataFrame:
    """A run's monthly table (:class:`sim.RunResult`); ``parts``: its monthly parts, if made."""
    if parts is not None:
        return monthly_from_parts(parts)
    s = result.scenario
    gp_roles = tuple(name for name, role in s.roles.items() if role.holds_list)
    return monthly_from_parts(monthly_parts(result.tables, s.start_date, s.warmup_days,
                                            s.end_day, s.population.size, gp_roles))


def _ratio(k: float, n: float) -> float:
    return k / n if n else np.nan
