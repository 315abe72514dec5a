"""What a practice's appointment export says about the practice: the scenario's numbers.

Every value comes with a note saying how it was estimated, which becomes the
comment on its line in the written scenario (and so the "source" column of
the report's parameter table). The rules, in short (docs/calibration.md has
them in full):

* **Period.** The export's first to last appointment day.
* **Clinicians.** Everyone with a kept appointment (attended or DNA) in at
  least ``min_weeks`` different weeks; a clinician last seen more than four
  weeks before the export's end has left and is not modelled; occasional
  clinicians (locums) are counted, not modelled.
* **Sessions.** A half-day (before/after 13:00) on a weekday is one of a
  clinician's sessions if they consulted in it in at least half of the weeks
  they worked at all: robust to leave (weeks off are not counted) and to odd
  extra sessions (seldom reaching half). Without appointment times, a day
  worked is two sessions, each with half the day's appointments.
* **Slots per session.** The 90th percentile of kept appointments in a
  session the clinician worked (a full session; unbooked slots are not in an
  export).
* **Slot length.** The commonest gap between a clinician's consecutive
  appointment times within a session, to 5 minutes.
* **Leave.** Whole weeks within a clinician's working span without a single
  appointment, per year.
* **Demand.** Kept appointments that are not planned care are requests that
  were met; requests = those / (1 - ``unmet_share``), since demand that was
  never booked is not in an export. One need per role, served by that role;
  its urgent share is the share booked for the same day.
* **Planned care.** Slot types naming reviews, clinics, screening or
  immunisation (or, without slot types, appointments booked more than
  ``planned_after_days`` ahead), per role, with the middle 90% of their
  lead times.
* **DNAs.** Per lead-time band, DNA / (attended + DNA).
* **Usual GPs.** The export's (or the list's) column; else the GP the
  patient saw most (the most recent on a tie); patients who saw no GP are
  given one by the model, balancing lists by sessions.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from .export import Export

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: Slot-type words that mark planned care (any case; part of a word counts).
PLANNED_WORDS = ("review", "clinic", "screen", "smear", "cytology", "immunis", "immuniz", "vaccin",
                 "imms", "flu", "injection", "depot", "chronic", "ltc", "health check", "annual",
                 "asthma", "diabetes", "diabetic", "copd", "hypertension", "bloods", "planned",
                 "b12", "dressing", "ecg", "spirometry", "baby check", "postnatal", "antenatal")

#: Roles that see patients' first requests and can stand in for one another (the default
#: practice's acute need): pooled unless ``pool_first_contact`` is off.
FIRST_CONTACT = frozenset({"gp", "anp", "paramedic", "physician_associate"})

#: The hours the intraday profile covers (the default practice's opening hours, 08:00-18:30).
OPEN_HOURS = (8, 19)

DNA_BANDS = ((0, "same day"), (1, "next day"), (7, "2-7 days"), (None, "over 7 days"))


@dataclasses.dataclass
class Estimate:
    """A value and how it was estimated (a comment for the scenario)."""

    value: object
    note: str


@dataclasses.dataclass
class Calibration:
    """Everything inferred from one export, ready to be written as a scenario."""

    source: str
    period: tuple[pd.Timestamp, pd.Timestamp]
    days: int
    list_size: Estimate
    practice: dict[str, Estimate]
    roles: dict[str, dict[str, Estimate]]
    clinicians: list[dict]
    clinician_notes: list[str]
    demand: dict[str, Estimate]
    needs: dict[str, dict[str, Estimate]]
    planned_care: list[dict]
    dna: list[tuple[int | None, Estimate]]
    usual_gp: pd.Series            # patient_id -> clinician id (scenario id), NaN if none
    usual_gp_note: str
    history: pd.DataFrame          # patient_id, clinician_id (scenario id), consultations
    clinician_ids: dict[str, str]  # export name -> scenario id
    counts: dict[str, int]
    utilisation: dict[str, float]  # role -> appointments / inferred capacity of worked sessions
    synthetic_history: Estimate | None = None  # population.history, for a practice without a list
    access_bounds: dict[str, str] = dataclasses.field(default_factory=dict)  # role -> why held

    @property
    def years(self) -> float:
        """The export's length in years."""
        return self.days / 365.25


def scenario_id(name: str, taken: set[str]) -> str:
    """A scenario identifier for a clinician's name (``Dr A. Smith``: ``dr_a_smith``)."""
    base = re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_") or "clinician"
    out, k = base, 2
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def _fmt_date(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%d")


def is_planned(table: pd.DataFrame, planned_after_days: int) -> tuple[np.ndarray, str]:
    """Which appointments are planned care, and the rule used."""
    if "slot_type" in table.columns and table["slot_type"].notna().any():
        text = table["slot_type"].fillna("").str.casefold()
        pattern = "|".join(re.escape(w) for w in PLANNED_WORDS)
        return (text.str.contains(pattern).to_numpy(),
                "slot types naming reviews, clinics, screening or immunisation")
    return ((table["lead_days"] > planned_after_days).to_numpy(),
            f"booked more than {planned_after_days} days ahead (the export has no slot types)")


def follow_ups(kept: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Which appointments are follow-ups, and the days since the consultation that asked.

    A follow-up is booked, on the day of a consultation or the next, for a
    later day with the same clinician (a clinician booking a patient back).
    Planned care is never a follow-up.
    """
    seen = kept.loc[kept["status"] == "attended", ["patient_id", "clinician_id", "day"]]
    seen = seen.drop_duplicates()
    cand = kept.loc[~kept["planned"], ["patient_id", "clinician_id", "day", "booked_at"]]
    cand = cand.assign(row=np.flatnonzero(~kept["planned"].to_numpy()),
                       booked_day=cand["booked_at"].dt.normalize())
    both = cand.merge(seen, on=["patient_id", "clinician_id"], suffixes=("", "_seen"))
    gap = (both["booked_day"] - both["day_seen"]).dt.days
    hit = both[(gap >= 0) & (gap <= 1) & (both["day_seen"] < both["day"])]
    hit = hit.assign(days=(hit["day"] - hit["day_seen"]).dt.days).sort_values("days")
    first = hit.drop_duplicates("row")
    is_fu = np.zeros(len(kept), dtype=bool)
    days = np.full(len(kept), -1, dtype=np.int64)
    is_fu[first["row"].to_numpy()] = True
    days[first["row"].to_numpy()] = first["days"].to_numpy()
    return is_fu, days


def _half_day(t: pd.Series, has_times: bool) -> np.ndarray:
    if not has_times:
        return np.zeros(len(t), dtype=np.int8)
    return (t.dt.hour >= 13).to_numpy().astype(np.int8)


def calibrate(export: Export, list_table: pd.DataFrame | None = None, *,
              list_size: int | None = None, unmet_share: float = 0.0,
              planned_after_days: int = 28, min_weeks: int = 8,
              default_roles: dict | None = None, pool_first_contact: bool = True
              ) -> Calibration:
    """Infer a practice from its export (see the module docstring for every rule).

    Args:
        export: the export, read by :func:`analysis.calibration.export.read_export`.
        list_table: the registered list (``patient_id`` and optionally ``usual_gp``), if given.
        list_size: patients on the list, when no list is given (default: distinct
            patients in the export, an underestimate: patients who never
            booked are not in it).
        unmet_share: the share of requests that never became an appointment.
        planned_after_days: without slot types, the lead time beyond which an
            appointment counts as planned care.
        min_weeks: weeks with appointments a clinician needs to be modelled.
        pool_first_contact: let the first-contact roles (:data:`FIRST_CONTACT`)
            take each other's requests, as in the default practice; else each
            role takes only its own.
        default_roles: role key -> the default practice's role settings (for
            modes and labels, and slot lengths when the export has no times).
    """
    default_roles = default_roles or {}
    t = export.table
    kept = t[t["status"] != "cancelled"].copy()
    first, last = kept["appointment_at"].min().normalize(), kept["appointment_at"].max().normalize()
    days = int((last - first).days) + 1
    years = days / 365.25
    span = f"{_fmt_date(first)} to {_fmt_date(last)}"
    n_kept = len(kept)
    counts = {"appointments": len(t), "kept": n_kept,
              "attended": int((t["status"] == "attended").sum()),
              "dna": int((t["status"] == "dna").sum()),
              "cancelled": int((t["status"] == "cancelled").sum()), **export.notes}

    # List size.
    if list_table is not None:
        size = Estimate(len(list_table), f"from the registered list ({len(list_table):,} patients)")
    elif list_size is not None:
        size = Estimate(int(list_size), "given with --list-size")
    else:
        n = int(kept["patient_id"].nunique())
        size = Estimate(n, f"CAVEAT: {n:,} distinct patients in the export, fewer than the list "
                           "(patients who never booked are missing); give --list or --list-size")
    n_patients = int(size.value)

    kept["day"] = kept["appointment_at"].dt.normalize()
    kept["week"] = kept["day"] - pd.to_timedelta(kept["day"].dt.day_of_week, unit="D")
    kept["weekday"] = kept["day"].dt.day_of_week
    kept["half"] = _half_day(kept["appointment_at"], export.has_times)
    planned, planned_rule = is_planned(kept, planned_after_days)
    kept["planned"] = planned
    kept["follow_up"], kept["follow_up_days"] = follow_ups(kept)

    practice = _practice(kept, export.has_times, span)
    open_days = practice["opening_days"].value
    clinicians, notes, ids, role_slots = _clinicians(kept, export.has_times, min_weeks, last,
                                                    open_days, span)
    roles = _roles(kept, export.has_times, clinicians, role_slots, default_roles, span)
    modelled_roles = {c["role"] for c in clinicians}
    demand, needs = _demand(kept, n_patients, years, unmet_share, modelled_roles,
                            [WEEKDAYS.index(d) for d in open_days], span)
    for role, need in needs.items():
        pool = [role]
        if pool_first_contact and role in FIRST_CONTACT:
            pool += sorted(r for r in modelled_roles & FIRST_CONTACT if r != role)
        note = ("first-contact roles take each other's requests, as in the default practice: "
                "ASSUMPTION (--separate-roles: each role only its own)" if len(pool) > 1
                else "this role only (an export says who saw a patient, not who else could "
                "have): ASSUMPTION")
        need["roles"] = Estimate(pool, note)
    planned_care = _planned(kept, n_patients, years, modelled_roles, planned_rule, span)
    dna = _dna(kept, span)
    usual, usual_note = _usual_gps(t, list_table, ids, clinicians)
    history = _history(t, ids, last + pd.Timedelta(days=1))
    utilisation = {}
    for role, parts in role_slots.items():
        if role in roles:
            booked = np.concatenate(parts)
            capacity = booked.size * roles[role]["slots_per_session"].value
            utilisation[role] = float(booked.sum() / capacity)
    synthetic = _synthetic_history(kept, demand, n_patients, years, span)
    return Calibration(export.path, (first, last), days, size, practice, roles, clinicians, notes,
                       demand, needs, planned_care, dna, usual, usual_note, history, ids, counts,
                       utilisation, synthetic)


def _synthetic_history(kept, demand, n_patients, years, span) -> Estimate | None:
    """``population.history`` shaped like the export: its length, GP share and continuity."""
    from ..continuity import patient_indices

    gp = kept[(kept["status"] == "attended") & (kept["role"] == "gp")]
    requests = demand["requests_per_patient_year"].value * n_patients * years
    if len(gp) == 0 or requests <= 0:
        return None
    upc = patient_indices(gp, min_visits=3, time="appointment_at")["upc"].mean()
    value = {"years": round(max(years, 0.1), 2),
             "gp_share": round(min(1.0, len(gp) / requests), 3),
             "usual_gp_share": round(float(upc) if np.isfinite(upc) else 0.5, 3)}
    return Estimate(value, f"drawn like the export ({span}): its length, GP consultations per "
                           "request and mean UPC; no list, so not the real patients' history")


def _practice(kept: pd.DataFrame, has_times: bool, span: str) -> dict[str, Estimate]:
    weeks = kept["week"].nunique()
    per_day = kept.groupby("weekday")["week"].nunique().reindex(range(7), fill_value=0)
    open_days = [WEEKDAYS[d] for d in range(7) if per_day[d] >= 0.5 * weeks]
    out = {"opening_days": Estimate(open_days, f"weekdays with appointments in at least half of "
                                                f"the {weeks} weeks, {span}")}
    if has_times:
        for half, name in ((0, "am"), (1, "pm")):
            rows = kept[kept["half"] == half]
            if len(rows):
                firsts = rows.groupby(["clinician_id", "day"])["appointment_at"].min()
                minutes = (firsts.dt.hour * 60 + firsts.dt.minute)
                common = int(round(minutes.mode().iloc[0] / 5) * 5)
                out[f"session_start_{name}"] = Estimate(
                    f"{common // 60:02d}:{common % 60:02d}",
                    f"the commonest first appointment of a {name} session, {span}")
    return out


def _clinicians(kept: pd.DataFrame, has_times: bool, min_weeks: int, last: pd.Timestamp,
                open_days: list[str], span: str):
    taken: set[str] = set()
    ids = {name: scenario_id(name, taken) for name in sorted(kept["clinician_id"].unique())}
    all_weeks = np.sort(kept["week"].unique())
    clinicians, notes = [], []
    role_slots: dict[str, list[np.ndarray]] = {}
    occasional = {"n": 0, "appointments": 0}
    left = []
    for name, rows in kept.groupby("clinician_id", sort=True):
        role = rows["role"].mode().iloc[0]
        weeks = np.sort(rows["week"].unique())
        if weeks.size < min_weeks:
            occasional["n"] += 1
            occasional["appointments"] += len(rows)
            continue
        if (last - rows["day"].max()).days > 28:
            left.append((ids[name], _fmt_date(rows["day"].max()), len(rows)))
            continue
        used = rows.groupby(["weekday", "half"])["week"].nunique()
        sessions = [f"{WEEKDAYS[d]}_{'pm' if h else 'am'}" for (d, h), n in used.items()
                    if n >= 0.5 * weeks.size and WEEKDAYS[d] in open_days]
        if not has_times:
            sessions = [f"{s[:3]}_{h}" for s in sessions for h in ("am", "pm")]
        if not sessions:
            occasional["n"] += 1
            occasional["appointments"] += len(rows)
            continue
        session_set = set(sessions)
        key = rows["weekday"].map(lambda d: WEEKDAYS[d]) + np.where(
            rows["half"] == 1, "_pm", "_am")
        regular = rows[key.isin(session_set).to_numpy()]
        per_session = regular.groupby(["day", "half"]).size().to_numpy()
        if not has_times:  # a day's appointments, shared between its two sessions
            per_session = per_session / 2.0
        role_slots.setdefault(role, []).append(per_session)
        in_span = all_weeks[(all_weeks >= weeks[0]) & (all_weeks <= weeks[-1])]
        off = max(0, in_span.size - weeks.size)
        leave = min(20.0, round(off * 52.0 / max(in_span.size, 1), 1))
        clinicians.append({
            "id": ids[name], "name": name, "role": role,
            "sessions": sorted(sessions, key=_session_order), "appointments": len(rows),
            "slots_p90": float(np.percentile(per_session, 90)) if per_session.size else 0.0,
            "annual_leave_weeks": leave,
            "note": (f"{len(rows):,} appointments in {weeks.size} weeks; sessions worked in at "
                     f"least half of them; {off} whole weeks off in {in_span.size}"),
        })
    if occasional["n"]:
        notes.append(f"{occasional['n']} occasional clinician(s) (fewer than {min_weeks} weeks "
                     f"or no regular session; {occasional['appointments']:,} appointments) are "
                     "not modelled as staff")
    for cid, day, n in left:
        notes.append(f"{cid} last consulted on {day} ({n:,} appointments) and is taken to "
                     "have left: not modelled")
    return clinicians, notes, ids, role_slots


def _session_order(s: str) -> tuple[int, int]:
    return WEEKDAYS.index(s[:3]), 0 if s.endswith("am") else 1


def _roles(kept, has_times, clinicians, role_slots, default_roles, span):
    roles = {}
    for role in sorted({c["role"] for c in clinicians}):
        rows = kept[kept["role"] == role]
        known = default_roles.get(role, {})
        slots = np.concatenate(role_slots.get(role, [np.zeros(0)]))
        per = int(max(1, min(48, round(np.percentile(slots, 90))))) if slots.size else 12
        r = {"label": Estimate(known.get("label", rows["role_label"].mode().iloc[0]),
                               "the export's role name"),
             "slots_per_session": Estimate(per, f"90th percentile of appointments in a worked "
                                                f"session ({slots.size:,} sessions, {span})")}
        if has_times:
            t = rows.sort_values(["clinician_id", "appointment_at"])
            gap = t.groupby(["clinician_id", "day", "half"])["appointment_at"].diff()
            gap = gap.dt.total_seconds().div(60).dropna()
            gap = gap[(gap > 0) & (gap <= 60)]
            if gap.size:
                minutes = int(max(5, round(gap.mode().iloc[0] / 5) * 5))
                r["slot_minutes"] = Estimate(minutes, "the commonest gap between a clinician's "
                                                      "consecutive appointments in a session")
        if "slot_minutes" not in r:
            r["slot_minutes"] = Estimate(known.get("slot_minutes", 15),
                                         "default practice (the export has no times): ASSUMPTION")
        same_day = float((rows["lead_days"] == 0).mean())
        r["on_the_day_share"] = Estimate(round(same_day, 3), f"share of its {len(rows):,} "
                                         "appointments booked on the day")
        r["modes"] = Estimate(["face_to_face", "telephone", "home_visit", "online"],
                              "every mode: an export does not say which a role cannot do "
                              "(ASSUMPTION)")
        leave = [c["annual_leave_weeks"] for c in clinicians if c["role"] == role]
        r["annual_leave_weeks"] = Estimate(round(float(np.median(leave)), 1),
                                           "median over its clinicians of whole weeks without "
                                           "appointments, per year")
        r["holds_list"] = Estimate(role == "gp", "GPs hold lists")
        roles[role] = r
    return roles


def _demand(kept, n_patients, years, unmet_share, roles, open_days, span):
    own = kept[~kept["planned"] & ~kept["follow_up"] & kept["role"].isin(roles)]
    n = len(own)
    rate = n / (n_patients * years) / (1.0 - unmet_share)
    demand = {"requests_per_patient_year": Estimate(
        round(rate, 3), f"{n:,} kept appointments neither planned care nor follow-ups, {span}, "
        "per patient-year"
        + (f", / (1 - {unmet_share}) for unmet demand" if unmet_share else
           "; unmet demand assumed 0 (--unmet-share)"))}
    booked_day = own["booked_at"].dt.normalize()
    wd = booked_day.dt.day_of_week
    by_day = wd.value_counts().reindex(range(7), fill_value=0)
    weeks = max(1, booked_day.dt.to_period("W").nunique())
    mean = by_day[open_days].mean() if open_days else 0.0
    if mean > 0:
        demand["weekday_weights"] = Estimate(
            {WEEKDAYS[d]: round(float(by_day[d] / mean), 2) for d in open_days},
            f"requests by the weekday they were booked, opening days ({weeks} weeks)")
    month = own["booked_at"].dt.month
    if years >= 0.75:
        counts = month.value_counts().reindex(range(1, 13), fill_value=0).to_numpy(float)
        present = counts > 0
        angle = (np.arange(12) + 0.5) / 12 * 2 * np.pi
        c = np.sum(counts[present] * np.cos(angle[present]))
        s = np.sum(counts[present] * np.sin(angle[present]))
        amp = float(2 * np.hypot(c, s) / counts[present].sum())
        peak = round((np.arctan2(s, c) % (2 * np.pi)) / (2 * np.pi) * 365.25) or 1
        demand["seasonal_amplitude"] = Estimate(round(min(amp, 0.9), 3),
                                                "first harmonic of requests by month")
        demand["seasonal_peak_day_of_year"] = Estimate(min(peak, 366), "its peak")
    else:
        demand["seasonal_amplitude"] = Estimate(0.0, "the export covers under 9 months: no "
                                                     "seasonal swing estimated")
        demand["seasonal_peak_day_of_year"] = Estimate(15, "not estimated")
    times = own["booked_at"]
    if (times.dt.normalize() != times).mean() > 0.5:
        hours = times.dt.hour.value_counts().sort_index()
        hours = hours[(hours > 0.005 * hours.sum()) & (hours.index >= OPEN_HOURS[0])
                      & (hours.index < OPEN_HOURS[1])]
        mean = hours.mean()
        demand["intraday_profile"] = Estimate(
            {f"{h:02d}:00": round(float(v / mean), 2) for h, v in hours.items()},
            "requests by the hour they were booked, within opening hours")
    if "mode" in own.columns and own["mode"].notna().any():
        m = own["mode"].dropna().replace({"home_visit": "face_to_face"})
        shares = _rounded_shares(m.value_counts(normalize=True).to_dict(), 3)
        demand["modes"] = Estimate(shares,
                                   f"the export's modes ({m.size:,} appointments; home visits "
                                   "as face to face, given to housebound patients)")
    needs = {}
    attended = kept[(kept["status"] == "attended") & kept["role"].isin(roles)]
    fu = kept[kept["follow_up"] & kept["role"].isin(roles)]
    for role, rows in own.groupby("role", sort=True):
        mine = fu[fu["role"] == role]
        seen = int((attended["role"] == role).sum())
        p = len(mine) / seen if seen else 0.0
        lo, hi = (np.percentile(mine["follow_up_days"], [5, 95]).astype(int) if len(mine)
                  else (7, 21))
        needs[role] = {
            "follow_up_probability": Estimate(round(p, 4), f"{len(mine):,} follow-ups (booked "
                                              "with the same clinician at or the day after a "
                                              f"consultation) per {seen:,} consultations"),
            "follow_up_delay_days": Estimate([int(lo), int(max(hi, lo))],
                                             "middle 90% of days from consultation to follow-up"),
            "share": Estimate(round(len(rows) / n, 4), f"{len(rows):,} of the {n:,} requests "
                                                       f"were with a {role}"),
            "urgent_share": Estimate(round(float((rows["lead_days"] == 0).mean()), 3),
                                     "share booked for the same day"),
        }
    rounded = _rounded_shares({r: n["share"].value for r, n in needs.items()}, 4)
    for role, share in rounded.items():
        needs[role]["share"].value = share
    return demand, needs


def _rounded_shares(shares: dict[str, float], places: int) -> dict[str, float]:
    """Shares rounded to ``places``, the largest taking the rounding so that they sum to 1."""
    out = {k: round(float(v), places) for k, v in shares.items()}
    if out:
        top = max(out, key=out.get)
        out[top] = round(1.0 - sum(v for k, v in out.items() if k != top), places)
    return out


def _planned(kept, n_patients, years, roles, rule, span):
    out = []
    for role, rows in kept[kept["planned"] & kept["role"].isin(roles)].groupby("role", sort=True):
        lo, hi = np.percentile(rows["lead_days"], [5, 95])
        lo, hi = int(lo), int(max(hi, lo))
        out.append({"id": f"{role}_planned", "need": role,
                    "rate_per_year": round(len(rows) / (n_patients * years), 4),
                    "lead_days": [lo, hi],
                    "note": f"{len(rows):,} appointments ({rule}), {span}; leads: middle 90%"})
    return out


def _dna(kept, span):
    out = []
    lo = -1
    for top, label in DNA_BANDS:
        band = (kept["lead_days"] > lo) & ((kept["lead_days"] <= top) if top is not None else True)
        rows = kept[band]
        p = float((rows["status"] == "dna").mean()) if len(rows) else 0.0
        out.append((top, Estimate(round(p, 4), f"{label}: {int((rows['status'] == 'dna').sum()):,}"
                                               f" DNAs in {len(rows):,} appointments, {span}")))
        lo = top if top is not None else lo
    return out


def _usual_gps(t, list_table, ids, clinicians):
    gps = {c["id"] for c in clinicians if c["role"] == "gp"}
    if list_table is not None and "usual_gp" in list_table.columns \
            and (list_table["usual_gp"].str.strip() != "").any():
        raw = list_table.set_index("patient_id")["usual_gp"].str.strip()
        usual = raw.map(lambda n: ids.get(n, n) if n else np.nan)
        note = "the list's usual_gp column"
    elif "usual_gp" in t.columns and t["usual_gp"].notna().any():
        latest = t.dropna(subset=["usual_gp"]).sort_values("appointment_at")
        usual = latest.groupby("patient_id")["usual_gp"].last().map(lambda n: ids.get(n, n))
        note = "the export's usual_gp column (the latest per patient)"
    else:
        seen = t[(t["status"] == "attended") & (t["role"] == "gp")]
        seen = seen.assign(cid=seen["clinician_id"].map(ids))
        per = seen.groupby(["patient_id", "cid"]).agg(n=("appointment_at", "size"),
                                                      last=("appointment_at", "max"))
        per = per.reset_index().sort_values(["patient_id", "n", "last"])
        usual = per.groupby("patient_id")["cid"].last()
        note = ("the GP each patient saw most (the most recent on a tie); the export names "
                "no usual GP")
    usual = usual.where(usual.isin(gps))
    return usual, note


def _history(t, ids, end: pd.Timestamp) -> pd.DataFrame:
    """Attended consultations per patient and clinician, for the history file.

    All of them, those in the last 365 days, and the years from the first of
    them to ``end`` (the day after the export).
    """
    seen = t[t["status"] == "attended"]
    seen = seen.assign(clinician_id=seen["clinician_id"].map(ids),
                       recent=seen["appointment_at"] >= end - pd.Timedelta(days=365))
    h = seen.groupby(["patient_id", "clinician_id"]).agg(
        consultations=("recent", "size"), last_year=("recent", "sum"),
        first=("appointment_at", "min")).reset_index()
    h["consultations"] = h["consultations"].astype(np.int64)
    h["last_year"] = h["last_year"].astype(np.int64)
    h["years_since_first"] = ((end - h.pop("first").dt.normalize()).dt.days / 365.25).round(3)
    return h
