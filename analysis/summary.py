"""Summary metrics of one run, computed from its tables alone.

Definitions (all over the observation window, i.e. after the warm-up):

* activity measures count appointments by appointment date, as NHS Digital's
  *Appointments in General Practice* does: an appointment "happened" if it
  was attended or missed (DNA); appointments cancelled by the practice
  (clinician sickness) are excluded and counted separately;
* access measures count requests by the date they were first made; a wait
  runs from that first request to the appointment, so retries and
  rebookings lengthen it;
* continuity indices (UPC, COC, SECON, usual-GP share) are per patient over
  attended GP consultations (list-holding roles) in the window, for patients
  with 3 or more (docs/evidence.md 10.6), then averaged over patients; SLICC pools all
  GP consultations;
* relationship depth uses consultations with any clinician in the window, so
  a one-year run measures the depth built within it (for comparing policies);
* A&E and admissions are proxies for comparing policies, not forecasts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sim.ordering import numbered

from .continuity import one_of, patient_indices, same_ids, upc_by_patient
from .depth import DEFAULT_POINTS, deep_relationship_by_patient
from .spread import lerp

DAYS_PER_YEAR = 365.25

#: Bands of days from booking to appointment, as NHS Digital publishes them:
#: (column name, words, first day, last day).
LEAD_BANDS = (
    ("same_day", "the same day", 0, 0), ("next_day", "the next day", 1, 1),
    ("2_7_days", "2 to 7 days", 2, 7), ("8_14_days", "8 to 14 days", 8, 14),
    ("15_21_days", "15 to 21 days", 15, 21), ("22_28_days", "22 to 28 days", 22, 28),
    ("over_28_days", "more than 28 days", 29, 10**9),
)
#: Bands of lead time for DNA rates (the published DNA-by-lead-time bands).
DNA_BANDS = (
    ("same_day", "the same day", 0, 0), ("next_day", "the day before", 1, 1),
    ("2_7_days", "2 to 7 days", 2, 7), ("over_7_days", "more than 7 days", 8, 10**9),
)

#: Columns of ``summary.csv``, in order, with their meaning and unit.
SUMMARY_COLUMNS: dict[str, str] = {
    "patients": "registered patients",
    "window_days": "days observed after the warm-up",
    "requests": "requests first made in the window",
    "appointments": "appointments attended or missed in the window",
    "consultations_per_patient_year": "attended appointments per patient per year",
    "same_day_share": "share of appointments on the day they were booked",
    "routine_wait_mean_days": "mean days from first request to appointment, routine",
    "routine_wait_p90_days": "90th percentile of that wait, days",
    "routine_within_14_days_share": "share of routine appointments within 14 days of request",
    "urgent_same_day_share": "share of urgent requests seen on the day first made (of those "
                             "not signposted elsewhere or resolved at triage)",
    "urgent_wait_hours_mean": "mean hours from an urgent request to its appointment",
    "urgent_wait_hours_median": "median of that wait, hours",
    "urgent_wait_hours_p90": "90th percentile of that wait, hours",
    "same_day_wait_hours_mean": "mean hours from request to appointment, of appointments on "
                                "the day the request was first made (urgent or not)",
    "same_day_wait_hours_median": "median of that wait, hours",
    "same_day_wait_hours_p90": "90th percentile of that wait, hours",
    "unmet_requests": "attempts that found no slot (each retry counts)",
    "unmet_per_1000_patients_year": "the same per 1,000 patients per year",
    "gave_up_requests": "requests abandoned after the last attempt",
    "signposted_requests": "requests care navigation sent to another service (no appointment)",
    "triaged_requests": "requests a clinician assessed by telephone before booking (triage)",
    "resolved_at_triage_requests": "triaged requests resolved on the telephone (no appointment)",
    "waiting_at_end": "requests still without an appointment when the run ended",
    "dna_rate": "share of appointments missed (did not attend)",
    "utilisation": "share of available slots booked",
    "gp_share": "share of appointments with a GP",
    "cancelled_by_practice": "appointments cancelled because the clinician was off sick",
    "held_out_share": "share of routine appointments later than the soonest slot offered: the "
                      "patient held out for their own clinician or team",
    "routine_wait_held_out_mean_days": "mean routine wait (days) of those who held out",
    "routine_wait_took_soonest_mean_days": "mean routine wait (days) of those who took the "
                                           "soonest slot offered",
    **{f"lead_{name}_share": f"share of appointments {text} after they were booked"
       for name, text, _, _ in LEAD_BANDS},
    **{f"dna_rate_{name}": f"DNA rate of appointments booked {text} ahead"
       for name, text, _, _ in DNA_BANDS},
}

#: The kinds of request a GP visit answers, for splitting SLICC (and its gain) by kind:
#: (column suffix, words, the urgencies counted).
VISIT_KINDS = (("routine", "routine requests", ("routine",)),
               ("urgent", "urgent requests", ("urgent",)),
               ("follow_up", "clinician-booked follow-ups", ("follow_up",)),
               ("planned", "planned care and care-plan reviews", ("planned", "review")))

#: Outcome columns, in ``summary.csv`` and in the per-cohort table.
OUTCOME_COLUMNS: dict[str, str] = {
    "upc_mean": "mean UPC over GP consultations, patients with 3 or more",
    "coc_mean": "mean Bice-Boxerman COC, same patients",
    "secon_mean": "mean sequential continuity (SECON), same patients",
    "usual_gp_share": "mean share of a patient's GP consultations with their usual GP, "
                      "same patients",
    "slicc": "share of GP consultations with the patient's own list GP (SLICC)",
    **{f"slicc_{key}": f"SLICC of GP consultations for {words}"
       for key, words, _ in VISIT_KINDS},
    **{f"slicc_from_{key}": f"GP consultations for {words} with the patient's own GP, as a "
                            "share of all GP consultations (the kinds add up to SLICC, so their "
                            "differences split a gain in SLICC by kind of request)"
       for key, words, _ in VISIT_KINDS},
    "preferred_gp_share": "share of patients with a preferred GP (who value seeing the same "
                          "GP)",
    "preferred_gp_usually_seen": "of patients with a preferred GP and 2 or more GP "
                                 "consultations, the share who saw that GP for more than half "
                                 "of them, exactly half counting as half (the GP Patient "
                                 "Survey's 'usually': always, almost always or a lot of the "
                                 "time)",
    "team_continuity": "mean share of a patient's consultations (all roles) with members of "
                       "their usual GP's micro-team, patients with 3 or more and a team",
    "non_gp_upc_mean": "mean UPC over consultations with other roles than GPs (nurses, "
                       "pharmacists, ...), patients with 3 or more",
    "deep_relationship_share": "expected share of patients with a deep relationship with "
                               "at least one clinician (depth curve)",
    "ae_per_1000": "A&E attendances per 1,000 patients per year, both channels (PROXY)",
    "ae_access_per_1000": "A&E attendances after a failure to get an appointment, per 1,000 "
                          "per year (PROXY)",
    "ae_continuity_per_1000": "background A&E attendances scaled by continuity, per 1,000 per "
                              "year (PROXY)",
    "admissions_per_1000": "emergency admissions per 1,000 patients per year (PROXY)",
}
SUMMARY_COLUMNS.update(OUTCOME_COLUMNS)


def summarise(
    tables: Mapping[str, pd.DataFrame],
    patients: int,
    window_days: int,
    gp_roles: tuple[str, ...] = ("gp",),
    depth_points=DEFAULT_POINTS,
) -> pd.DataFrame:
    """One-row table of the metrics in :data:`SUMMARY_COLUMNS`.

    Args:
        tables: a run's tables (``appointments``, ``requests``, ``unmet``,
            ``clinician_days``, and ``emergency`` and ``patients`` if the
            outcomes are wanted), as returned by :func:`sim.run`.
        patients: registered patients.
        window_days: length of the observation window in days.
        gp_roles: roles counted as GPs (list-holding roles).
        depth_points: the two points of the relationship-depth curve.

    Undefined metrics (for example a wait with no routine appointments) are NaN.
    """
    return summary_from_parts(summary_parts(tables, patients, window_days, gp_roles,
                                            depth_points))


def summary_parts(
    tables: Mapping[str, pd.DataFrame],
    patients: int,
    window_days: int,
    gp_roles: tuple[str, ...] = ("gp",),
    depth_points=DEFAULT_POINTS,
    outcome: dict | None = None,
) -> dict:
    """What :func:`summarise` is computed from: counts, sums and the routine waits.

    Parts of several practices with the same window add up (:func:`combine_parts`)
    to the parts of the practices together, so a network's summary needs no
    pooled tables. ``outcome``: the outcome parts of all patients, if already
    computed (``cohort_parts(...)["all"]``).
    """
    appts = tables["appointments"]
    reqs = tables["requests"]
    days = tables["clinician_days"]
    # Rows are picked by masks and only the columns needed are taken (filtering
    # whole tables cost more than the sums).
    in_w = appts["in_window"].to_numpy(dtype=bool)
    happened = in_w & one_of(appts["status"], ["attended", "dna"])
    attended = one_of(appts["status"], ["attended"])[happened]
    dna = one_of(appts["status"], ["dna"])[happened]
    routine = happened & one_of(appts["urgency"], ["routine"])
    signposted = one_of(reqs["outcome"], ["signposted_elsewhere"])
    resolved = one_of(reqs["outcome"], ["resolved_at_triage"])
    urgent = one_of(reqs["urgency"], ["urgent"]) & ~signposted & ~resolved
    # same calendar day (a request never booked, NaT, is not)
    same_day_urgent = (reqs["appointment_at"].to_numpy()[urgent].astype("datetime64[D]")
                       == reqs["requested_at"].to_numpy()[urgent].astype("datetime64[D]"))
    lead = appts["lead_days"].to_numpy()[happened]
    routine_lead_held = (appts["held_out_days"].to_numpy(dtype=float)[routine] > 0
                         if "held_out_days" in appts.columns
                         else np.zeros(int(routine.sum()), dtype=bool))
    routine_wait = appts["wait_days"].to_numpy(dtype=float)[routine]
    # Seconds from the request (first made) to the appointment, urgent and same-day ones.
    asked = appts["requested_at"].to_numpy()[happened]
    seen = appts["appointment_at"].to_numpy()[happened]
    seconds = wait_seconds(seen - asked)
    same_calendar_day = seen.astype("datetime64[D]") == asked.astype("datetime64[D]")
    urgent_appt = one_of(appts["urgency"], ["urgent"])[happened]
    parts = {
        "patients": patients,
        "window_days": window_days,
        "held_out": int(routine_lead_held.sum()),
        "held_out_wait_sum": float(routine_wait[routine_lead_held].sum()),
        "soonest_wait_sum": float(routine_wait[~routine_lead_held].sum()),
        **{f"lead_{name}": int(((lead >= lo) & (lead <= hi)).sum())
           for name, _, lo, hi in LEAD_BANDS},
        **{f"booked_{name}": int(((lead >= lo) & (lead <= hi)).sum())
           for name, _, lo, hi in DNA_BANDS},
        **{f"dna_{name}": int(((lead >= lo) & (lead <= hi) & dna).sum())
           for name, _, lo, hi in DNA_BANDS},
        "requests": len(reqs),
        "appointments": int(happened.sum()),
        "attended": int(attended.sum()),
        "same_day": int((lead == 0).sum()),
        "routine_waits": routine_wait,
        "urgent_wait_seconds": seconds[urgent_appt],
        "same_day_wait_seconds": seconds[same_calendar_day],
        "urgent": int(urgent.sum()),
        "urgent_same_day": int(same_day_urgent.sum()),
        "unmet_requests": len(tables["unmet"]),
        "gave_up_requests": int(one_of(reqs["outcome"], ["gave_up"]).sum()),
        "signposted_requests": int(signposted.sum()),
        "triaged_requests": (int((~one_of(reqs["triage"], ["not_triaged"])).sum())
                             if "triage" in reqs.columns else 0),
        "resolved_at_triage_requests": int(resolved.sum()),
        "waiting_at_end": int(one_of(reqs["outcome"], ["waiting_at_end"]).sum()),
        "dna": int(dna.sum()),
        "available_slots": float(days["available_slots"].sum()),
        "booked_slots": float(days["booked_slots"].sum()),
        "gp_appointments": int(one_of(appts["role"], gp_roles)[happened].sum()),
        "cancelled_by_practice": int((in_w & one_of(appts["status"],
                                                    ["cancelled_by_practice"])).sum()),
    }
    if outcome is None:
        pats = tables.get("patients")
        preferring = (pats.loc[pats["values_continuity"].to_numpy(dtype=bool), "patient_id"]
                      .to_numpy() if pats is not None else None)
        seen = happened.copy()
        seen[happened] = attended
        outcome = outcome_parts(appts[seen], tables.get("emergency"),
                                patients, gp_roles, depth_points, preferring)
    parts.update(outcome)
    return parts


#: The parts that are waits, one per appointment: joined, not added, when parts combine.
WAIT_ARRAYS = ("routine_waits", "urgent_wait_seconds", "same_day_wait_seconds")


def wait_seconds(waits: np.ndarray) -> np.ndarray:
    """Durations (``timedelta64``) as seconds: 32-bit whole numbers when they are whole.

    The engine's times are whole seconds, so its waits are kept exactly in half
    the memory of hours (a network's parent holds every urgent and same-day
    wait of every practice); ``seconds / 3600`` is then the very number
    ``waits / 1 hour`` is. Waits with parts of a second, or too long for 32 bits,
    stay 64-bit seconds.
    """
    if not np.isnat(waits).any():
        whole = waits // np.timedelta64(1, "s")
        if (whole * np.timedelta64(1, "s") == waits).all() and (
                not whole.size or (-(2**31) < whole.min() and whole.max() < 2**31)):
            return whole.astype(np.int32)
    return waits / np.timedelta64(1, "s")  # (a missing time: NaN)


def _spread(values: np.ndarray, name: str) -> dict[str, float]:
    """Mean, median and 90th percentile of ``values`` as ``name_mean`` ... (NaN if none)."""
    if not values.size:
        return dict.fromkeys((f"{name}_mean", f"{name}_median", f"{name}_p90"), np.nan)
    return {f"{name}_mean": float(np.mean(values)),
            f"{name}_median": float(np.median(values)),
            f"{name}_p90": float(np.quantile(values, 0.9))}


def _spread_hours(seconds: np.ndarray, name: str) -> dict[str, float]:
    """:func:`_spread` of waits in seconds, as hours: numpy's values, bit for bit.

    The mean is numpy's mean of the hours. The median and the 90th percentile
    are taken from the seconds' order statistics (:func:`_median_and_p90`):
    whole seconds (32-bit, :func:`wait_seconds`) are put in order at the four
    places needed in one pass over a copy of half the size of the hours, where
    numpy's ``median`` and ``quantile`` each pass over the hours (a network's
    are hundreds of MB: for ten BNSSGs' urgent and same-day waits, 0.31 s
    against 0.44 s, the hours and their mean included).
    """
    hours = seconds / 3600
    if not hours.size:
        return _spread(hours, name)
    mean = float(np.mean(hours))  # the sum's rounding depends on the order
    if seconds.dtype == np.int32:
        median, p90 = _median_and_p90(seconds.copy(), 3600)
    else:  # (seconds with parts of a second, or missing: numpy's own, in place)
        median = float(np.median(hours, overwrite_input=True))
        p90 = float(np.quantile(hours, 0.9, overwrite_input=True))
    return {f"{name}_mean": mean, f"{name}_median": median, f"{name}_p90": p90}


def _median_and_p90(values: np.ndarray, per: int) -> tuple[float, float]:
    """``np.median`` and ``np.quantile(q=0.9)`` of ``values / per``, from ``values`` in place.

    ``values``: whole numbers, none missing; ``per`` > 0. Dividing by a
    positive number keeps their order, so the k-th smallest of ``values / per``
    is the k-th smallest of ``values`` divided by ``per``; the middle two are
    then averaged and the 90th percentile interpolated as numpy does
    (:func:`analysis.spread.lerp`). The same numbers as numpy's, tested bit
    for bit. ``values`` is left partly ordered.
    """
    n = values.size
    half = n // 2
    position = (n - 1) * 0.9  # numpy's linear method: (n - 1) q
    below = int(np.floor(position))
    above = min(below + 1, n - 1)
    values.partition(sorted({half - 1 if n % 2 == 0 else half, half, below, above}))

    def at(k: int) -> np.float64:
        return np.float64(values[k]) / per

    median = (at(half - 1) + at(half)) / 2 if n % 2 == 0 else at(half)
    return float(median), float(lerp(at(below), at(above), position - below))


def combine_parts(parts: list[dict]) -> dict:
    """The parts of several groups of patients together (same window): sums, waits joined."""
    out = {}
    for key in parts[0]:
        values = [p[key] for p in parts]
        if key == "window_days":
            out[key] = values[0]
        elif key in WAIT_ARRAYS:
            out[key] = np.concatenate(values)
        elif key in ("has_emergency", "has_preferring"):
            out[key] = all(values)
        else:
            out[key] = sum(values)
    return out


#: The summary columns that go through the urgent and same-day waits one by one, and
#: the routine waits' 90th percentile: most of a network's summary time (its waits put in
#: order), left out (NaN) by ``summary_from_parts(waits=False)``.
WAIT_COLUMNS = ("routine_wait_p90_days", *(f"{kind}_wait_hours_{what}"
                                           for kind in ("urgent", "same_day")
                                           for what in ("mean", "median", "p90")))


def summary_from_parts(parts: dict, waits: bool = True) -> pd.DataFrame:
    """The one-row summary table from :func:`summary_parts` (or combined parts).

    ``waits=False``: the :data:`WAIT_COLUMNS` are NaN and not computed; every
    other column is the same.
    """
    p = parts
    patients = p["patients"]
    years = p["window_days"] / DAYS_PER_YEAR
    routine = p["routine_waits"]
    n = p["appointments"]
    available = p["available_slots"]
    row = {
        "patients": patients,
        "window_days": p["window_days"],
        "requests": p["requests"],
        "appointments": n,
        "consultations_per_patient_year": p["attended"] / patients / years,
        "same_day_share": _ratio(p["same_day"], n),
        "routine_wait_mean_days": float(np.mean(routine)) if routine.size else np.nan,
        "routine_wait_p90_days": (float(np.quantile(routine, 0.9)) if routine.size and waits
                                  else np.nan),
        "routine_within_14_days_share": _ratio(int((routine <= 14.0).sum()), routine.size),
        "urgent_same_day_share": _ratio(p["urgent_same_day"], p["urgent"]),
        **(_spread_hours(p["urgent_wait_seconds"], "urgent_wait_hours") if waits else {}),
        **(_spread_hours(p["same_day_wait_seconds"], "same_day_wait_hours") if waits else {}),
        "unmet_requests": p["unmet_requests"],
        "unmet_per_1000_patients_year": p["unmet_requests"] / patients * 1000.0 / years,
        "gave_up_requests": p["gave_up_requests"],
        "signposted_requests": p["signposted_requests"],
        "triaged_requests": p["triaged_requests"],
        "resolved_at_triage_requests": p["resolved_at_triage_requests"],
        "waiting_at_end": p["waiting_at_end"],
        "dna_rate": _ratio(p["dna"], n),
        "utilisation": p["booked_slots"] / available if available else np.nan,
        "gp_share": _ratio(p["gp_appointments"], n),
        "cancelled_by_practice": p["cancelled_by_practice"],
        "held_out_share": _ratio(p["held_out"], routine.size),
        "routine_wait_held_out_mean_days": _ratio(p["held_out_wait_sum"], p["held_out"]),
        "routine_wait_took_soonest_mean_days": _ratio(p["soonest_wait_sum"],
                                                      routine.size - p["held_out"]),
        **{f"lead_{name}_share": _ratio(p[f"lead_{name}"], n) for name, _, _, _ in LEAD_BANDS},
        **{f"dna_rate_{name}": _ratio(p[f"dna_{name}"], p[f"booked_{name}"])
           for name, _, _, _ in DNA_BANDS},
    }
    row.update(outcomes_from_parts(p, years))
    return pd.DataFrame([row], columns=list(SUMMARY_COLUMNS))


_INDICES = (("upc", "upc_mean"), ("coc", "coc_mean"), ("secon", "secon_mean"),
            ("usual_share", "usual_gp_share"))


def outcome_parts(visits: pd.DataFrame, emergency: pd.DataFrame | None, patients: int,
                  gp_roles: tuple[str, ...] = ("gp",), depth_points=DEFAULT_POINTS,
                  preferring: np.ndarray | None = None) -> dict:
    """The outcome columns' sums and counts for a group of ``patients`` patients.

    Args:
        visits: their attended consultations in the window (appointments rows).
        emergency: their emergency events in the window, or None (NaN outcomes).
        patients: how many patients the group has (the denominator).
        gp_roles: roles counted as GPs.
        depth_points: the depth curve's two points.
        preferring: ids of the patients with a preferred GP (for
            ``preferred_gp_usually_seen``; None: not measured).

    Each GP visit is judged against the usual GP recorded at booking, since
    lists change when a GP leaves. :func:`outcomes_from_parts` turns the parts
    (or several groups' parts added up) into the :data:`OUTCOME_COLUMNS`.
    """
    return _group_parts(visits, emergency, {"all": (patients, None)}, gp_roles,
                        depth_points, preferring)["all"]


def _group_parts(visits: pd.DataFrame, emergency: pd.DataFrame | None,
                 groups: dict[str, tuple[int, np.ndarray | None]],
                 gp_roles: tuple[str, ...], depth_points,
                 preferring: np.ndarray | None = None,
                 prior: pd.DataFrame | None = None) -> dict[str, dict]:
    """Outcome parts for groups of patients: name -> (patients, their ids or None for all).

    Per-patient indices are computed once, then summed over each group.
    ``prior``: consultations before the run (a run's ``history`` table), which
    relationship depth counts.
    """
    is_gp = one_of(visits["role"], gp_roles)
    gp = visits[is_gp]
    idx = deep = None
    extra = _extra_per_patient(visits, gp, is_gp, preferring)
    if len(gp):
        idx = patient_indices(gp, min_visits=3, time="appointment_at",
                              usual="usual_clinician_id")
        gp_same = same_ids(gp["clinician_id"], gp["usual_clinician_id"])  # SLICC's numerator
        gp_kind = {key: one_of(gp["urgency"], urgencies) if "urgency" in gp.columns
                   else np.zeros(len(gp), dtype=bool) for key, _, urgencies in VISIT_KINDS}
    if len(visits) or prior is not None:
        deep = deep_relationship_by_patient(visits, depth_points, prior=prior)
    # Each group's sums are taken from arrays (a network's practices each have several
    # groups), with missing values counted as pandas counts them: summed as 0, not counted.
    extra_ids = {key: series.index.to_numpy() for key, series in extra.items()}
    extra_values = {key: series.to_numpy(dtype=float) for key, series in extra.items()}
    if idx is not None:
        idx_ids = idx["patient_id"].to_numpy()
        idx_values = {col: idx[col].to_numpy(dtype=float) for col, _ in _INDICES}
        gp_ids = gp["patient_id"].to_numpy()
    if deep is not None:
        deep_ids, deep_values = deep.index.to_numpy(), deep.to_numpy(dtype=float)
    if emergency is not None:
        e_ids = emergency["patient_id"].to_numpy()
        ae = one_of(emergency["kind"], ["ae"])
        ae_access = ae & one_of(emergency["channel"], ["access"])
        ae_continuity = ae & one_of(emergency["channel"], ["continuity"])
        admission = one_of(emergency["kind"], ["admission"])
    out = {}
    for name, (patients, members) in groups.items():
        mine = _membership(members)

        p = {"patients": patients, "gp_visits": 0, "gp_visits_with_usual": 0,
             **{f"gp_visits_{key}": 0 for key, _, _ in VISIT_KINDS},
             **{f"gp_visits_with_usual_{key}": 0 for key, _, _ in VISIT_KINDS},
             "preferring": (int(mine(preferring).sum()) if preferring is not None else 0),
             "has_preferring": preferring is not None,
             "deep_sum": 0.0, "has_emergency": emergency is not None,
             "ae": 0, "ae_access": 0, "ae_continuity": 0, "admissions": 0}
        for key in extra:
            p[f"{key}_sum"], p[f"{key}_n"] = _sum_and_count(
                extra_values[key][mine(extra_ids[key])])
        for col, _ in _INDICES:
            p[f"{col}_sum"] = 0.0
            p[f"{col}_n"] = 0
        if idx is not None:
            in_idx = mine(idx_ids)
            for col, _ in _INDICES:
                p[f"{col}_sum"], p[f"{col}_n"] = _sum_and_count(idx_values[col][in_idx])
            in_gp = mine(gp_ids)
            p["gp_visits"] = int(in_gp.sum())
            p["gp_visits_with_usual"] = int(gp_same[in_gp].sum())
            for key, _, _ in VISIT_KINDS:
                kind = in_gp & gp_kind[key]
                p[f"gp_visits_{key}"] = int(kind.sum())
                p[f"gp_visits_with_usual_{key}"] = int(gp_same[kind].sum())
        if patients and deep is not None:
            p["deep_sum"] = _sum_and_count(deep_values[mine(deep_ids)])[0]
        if emergency is not None:
            in_e = mine(e_ids)
            p["ae"] = int(ae[in_e].sum())
            p["ae_access"] = int(ae_access[in_e].sum())
            p["ae_continuity"] = int(ae_continuity[in_e].sum())
            p["admissions"] = int(admission[in_e].sum())
        out[name] = p
    return out


def _sum_and_count(values: np.ndarray) -> tuple[float, int]:
    """The sum (missing values as 0) and the count of values present, as pandas gives them."""
    missing = np.isnan(values)
    return float(np.where(missing, 0.0, values).sum()), int(values.size - missing.sum())


def _membership(members: np.ndarray | None):
    """A function: which of some patient ids are ``members`` (None: everyone).

    Whole-number ids (every simulated list: 0 to n - 1) are looked up in a
    table indexed by id instead of searched for.
    """
    if members is None:
        return lambda ids: np.ones(np.asarray(ids).size, dtype=bool)
    members = np.asarray(members)
    if members.dtype.kind not in "iu" or (members.size and members.min() < 0):
        return lambda ids: np.isin(np.asarray(ids), members)
    table = np.zeros(int(members.max(initial=-1)) + 1, dtype=bool)
    table[members] = True

    def mine(ids):
        ids = np.asarray(ids)
        if ids.dtype.kind not in "iu":
            return np.isin(ids, members)
        inside = (ids >= 0) & (ids < table.size)
        out = np.zeros(ids.size, dtype=bool)
        out[inside] = table[ids[inside]]
        return out

    return mine


#: Per-patient measures beside the indices: part name -> outcome column.
_EXTRA = {"team": "team_continuity", "non_gp_upc": "non_gp_upc_mean",
          "usually": "preferred_gp_usually_seen"}


def _extra_per_patient(visits: pd.DataFrame, gp: pd.DataFrame, is_gp: np.ndarray,
                       preferring: np.ndarray | None) -> dict[str, pd.Series]:
    """Per patient (index: patient id): team continuity, non-GP UPC, 'usually sees' (0/1).

    Each is NaN-free and holds only the patients it is defined for: 3 or more
    consultations with a team (team continuity), 3 or more with other roles
    (non-GP UPC), a preferred GP and 2 or more GP consultations ('usually').
    """
    out: dict[str, pd.Series] = {}
    pid = visits["patient_id"].to_numpy()
    if "with_own_team" in visits.columns and len(visits):
        team = visits["with_own_team"]
        known = team.notna().to_numpy()
        who, counts, hits = _per_patient(pid[known], team[known].to_numpy(dtype=bool))
        ok = counts >= 3
        out["team"] = pd.Series(hits[ok] / counts[ok], index=who[ok])
    other = visits[~is_gp]
    if len(other):
        upc = upc_by_patient(other, min_visits=3)
        out["non_gp_upc"] = pd.Series(upc.to_numpy(), index=upc.index.to_numpy())
    if preferring is not None and len(gp):
        who, counts, hits = _per_patient(gp["patient_id"].to_numpy(),
                                         same_ids(gp["clinician_id"], gp["usual_clinician_id"]))
        ok = (counts >= 2) & np.isin(who, preferring)
        share = hits[ok] / counts[ok]
        # 'A lot of the time' or more: over half; exactly half is the boundary
        # between 'a lot' and 'some of the time', so it counts as half.
        out["usually"] = pd.Series((share > 0.5).astype(float) + 0.5 * (share == 0.5),
                                   index=who[ok])
    return out


def _per_patient(patient: np.ndarray, hit: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each patient (in id order) with their rows and their rows where ``hit``."""
    who, row_patient = numbered(patient)
    return (who, np.bincount(row_patient, minlength=who.size),
            np.bincount(row_patient, weights=hit, minlength=who.size))


def outcomes_from_parts(p: dict, years: float) -> dict[str, float]:
    """The :data:`OUTCOME_COLUMNS` from :func:`outcome_parts` (or combined parts)."""
    out = dict.fromkeys(OUTCOME_COLUMNS, np.nan)
    if p.get("has_preferring") and p["patients"]:
        out["preferred_gp_share"] = p["preferring"] / p["patients"]
    for key, column in _EXTRA.items():
        if p.get(f"{key}_n"):
            out[column] = p[f"{key}_sum"] / p[f"{key}_n"]
    if p["gp_visits"]:
        for col, name in _INDICES:
            out[name] = p[f"{col}_sum"] / p[f"{col}_n"] if p[f"{col}_n"] else np.nan
        out["slicc"] = p["gp_visits_with_usual"] / p["gp_visits"]
        for key, _, _ in VISIT_KINDS:
            with_usual = p.get(f"gp_visits_with_usual_{key}", np.nan)
            out[f"slicc_{key}"] = _ratio(with_usual, p.get(f"gp_visits_{key}", 0))
            out[f"slicc_from_{key}"] = with_usual / p["gp_visits"]
    patients = p["patients"]
    if patients:
        out["deep_relationship_share"] = p["deep_sum"] / patients
    if p["has_emergency"] and patients and years > 0:
        per = 1000.0 / patients / years
        out["ae_per_1000"] = p["ae"] * per
        out["ae_access_per_1000"] = p["ae_access"] * per
        out["ae_continuity_per_1000"] = p["ae_continuity"] * per
        out["admissions_per_1000"] = p["admissions"] * per
    return out


def summarise_by_cohort(
    tables: Mapping[str, pd.DataFrame],
    window_days: int,
    gp_roles: tuple[str, ...] = ("gp",),
    depth_points=DEFAULT_POINTS,
) -> pd.DataFrame:
    """The outcome columns for every patient (``all``) and for each cohort.

    Cohorts are the ``cohort_<name>`` columns of the ``patients`` table.
    """
    return cohorts_from_parts(cohort_parts(tables, gp_roles, depth_points), window_days)


#: The appointments' columns the outcome parts read.
_VISIT_COLUMNS = ("patient_id", "clinician_id", "usual_clinician_id", "role", "appointment_at",
                  "with_own_team", "urgency")


def cohort_parts(tables: Mapping[str, pd.DataFrame], gp_roles: tuple[str, ...] = ("gp",),
                 depth_points=DEFAULT_POINTS) -> dict[str, dict]:
    """Outcome parts (:func:`outcome_parts`) for ``all`` and for each cohort."""
    pats = tables["patients"]
    appts = tables["appointments"]
    wanted = [c for c in _VISIT_COLUMNS if c in appts.columns]  # not every column copied
    visits = appts.loc[appts["in_window"].to_numpy(dtype=bool)
                       & (appts["status"] == "attended").to_numpy(dtype=bool), wanted]
    ids = pats["patient_id"].to_numpy()
    groups = {"all": (len(pats), None)}
    for col in pats.columns:
        if col.startswith("cohort_"):
            mask = pats[col].to_numpy(dtype=bool)
            groups[col.removeprefix("cohort_")] = (int(mask.sum()), ids[mask])
    preferring = (ids[pats["values_continuity"].to_numpy(dtype=bool)]
                  if "values_continuity" in pats.columns else None)
    return _group_parts(visits, tables.get("emergency"), groups, gp_roles, depth_points,
                        preferring, prior=tables.get("history"))


def cohorts_from_parts(parts: dict[str, dict], window_days: int) -> pd.DataFrame:
    """The per-cohort table from :func:`cohort_parts` (or combined parts)."""
    years = window_days / DAYS_PER_YEAR
    rows = [{"cohort": name, "patients": p["patients"], **outcomes_from_parts(p, years)}
            for name, p in parts.items()]
    return pd.DataFrame(rows, columns=["cohort", "patients", *OUTCOME_COLUMNS])


def _ratio(k: int, n: int) -> float:
    return k / n if n else np.nan


def run_parts(result) -> tuple[dict, dict[str, dict]]:
    """A run's summary parts and cohort parts (:class:`sim.RunResult`).

    GPs are the scenario's list-holding roles; the depth curve is the
    scenario's. The per-patient indices are computed once: the summary's
    outcomes are the ``all`` cohort's.
    """
    s = result.scenario
    gp_roles = tuple(name for name, role in s.roles.items() if role.holds_list)
    points = s.relationship_depth.points
    cohorts = cohort_parts(result.tables, gp_roles, points)
    parts = summary_parts(result.tables, s.population.size, s.duration_days, gp_roles, points,
                          outcome=cohorts["all"])
    return parts, cohorts


def run_summaries(result, parts: tuple[dict, dict[str, dict]] | None = None,
                  row: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary row and the per-cohort table of a run (:class:`sim.RunResult`).

    ``parts``: the run's :func:`run_parts`, if already computed; ``row``: its summary
    row (:func:`summary_from_parts` of them), if already made.
    """
    summary, cohorts = parts if parts is not None else run_parts(result)
    return (summary_from_parts(summary) if row is None else row,
            cohorts_from_parts(cohorts, result.scenario.duration_days))
