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
  with 3 or more (EVIDENCE V), then averaged over patients; SLICC pools all
  GP consultations;
* relationship depth uses consultations with any clinician in the window, so
  a one-year run measures the depth built within it (for comparing policies);
* A&E and admissions are proxies for comparing policies, not forecasts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .continuity import patient_indices, slicc
from .depth import DEFAULT_POINTS, deep_relationship_by_patient

DAYS_PER_YEAR = 365.25

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
                             "not signposted elsewhere)",
    "unmet_requests": "attempts that found no slot (each retry counts)",
    "unmet_per_1000_patients_year": "the same per 1,000 patients per year",
    "gave_up_requests": "requests abandoned after the last attempt",
    "signposted_requests": "requests care navigation sent to another service (no appointment)",
    "waiting_at_end": "requests still without an appointment when the run ended",
    "dna_rate": "share of appointments missed (did not attend)",
    "utilisation": "share of available slots booked",
    "gp_share": "share of appointments with a GP",
    "cancelled_by_practice": "appointments cancelled because the clinician was off sick",
}

#: Outcome columns, in ``summary.csv`` and in the per-cohort table.
OUTCOME_COLUMNS: dict[str, str] = {
    "upc_mean": "mean UPC over GP consultations, patients with 3 or more (EVIDENCE V)",
    "coc_mean": "mean Bice-Boxerman COC, same patients",
    "secon_mean": "mean sequential continuity (SECON), same patients",
    "usual_gp_share": "mean share of a patient's GP consultations with their usual GP, "
                      "same patients",
    "slicc": "share of GP consultations with the patient's own list GP (SLICC)",
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
    appts = tables["appointments"]
    reqs = tables["requests"]
    unmet = tables["unmet"]
    days = tables["clinician_days"]
    years = window_days / DAYS_PER_YEAR
    in_w = appts[appts["in_window"].to_numpy(dtype=bool)]
    happened = in_w[in_w["status"].isin(["attended", "dna"])]
    attended = int((happened["status"] == "attended").sum())
    n_happened = len(happened)
    routine = happened[happened["urgency"] == "routine"]
    waits = routine["wait_days"].to_numpy(dtype=float)
    signposted = reqs["outcome"] == "signposted_elsewhere"
    urgent = reqs[(reqs["urgency"] == "urgent") & ~signposted]
    same_day_urgent = (
        urgent["appointment_at"].dt.normalize() == urgent["requested_at"].dt.normalize()
    )
    available = float(days["available_slots"].sum())
    row = {
        "patients": patients,
        "window_days": window_days,
        "requests": len(reqs),
        "appointments": n_happened,
        "consultations_per_patient_year": attended / patients / years,
        "same_day_share": _mean(happened["lead_days"].to_numpy() == 0),
        "routine_wait_mean_days": float(np.mean(waits)) if waits.size else np.nan,
        "routine_wait_p90_days": float(np.quantile(waits, 0.9)) if waits.size else np.nan,
        "routine_within_14_days_share": _mean(waits <= 14.0),
        "urgent_same_day_share": _mean(same_day_urgent.fillna(False).to_numpy(dtype=bool)),
        "unmet_requests": len(unmet),
        "unmet_per_1000_patients_year": len(unmet) / patients * 1000.0 / years,
        "gave_up_requests": int((reqs["outcome"] == "gave_up").sum()),
        "signposted_requests": int(signposted.sum()),
        "waiting_at_end": int((reqs["outcome"] == "waiting_at_end").sum()),
        "dna_rate": _mean(happened["status"].to_numpy() == "dna"),
        "utilisation": float(days["booked_slots"].sum()) / available if available else np.nan,
        "gp_share": _mean(happened["role"].isin(gp_roles).to_numpy()),
        "cancelled_by_practice": int((in_w["status"] == "cancelled_by_practice").sum()),
    }
    attended_visits = happened[happened["status"] == "attended"]
    emergency = tables.get("emergency")
    row.update(outcomes(attended_visits, emergency, patients, years, gp_roles, depth_points))
    return pd.DataFrame([row], columns=list(SUMMARY_COLUMNS))


def outcomes(
    visits: pd.DataFrame,
    emergency: pd.DataFrame | None,
    patients: int,
    years: float,
    gp_roles: tuple[str, ...] = ("gp",),
    depth_points=DEFAULT_POINTS,
) -> dict[str, float]:
    """The :data:`OUTCOME_COLUMNS` for a group of ``patients`` patients.

    Args:
        visits: their attended consultations in the window (appointments rows).
        emergency: their emergency events in the window, or None (NaN outcomes).
        patients: how many patients the group has (the denominator).
        years: length of the window in years.
        gp_roles: roles counted as GPs.
        depth_points: the depth curve's two points.

    Each GP visit is judged against the usual GP recorded at booking, since
    lists change when a GP leaves.
    """
    out = dict.fromkeys(OUTCOME_COLUMNS, np.nan)
    gp = visits[visits["role"].isin(gp_roles)]
    if len(gp):
        idx = patient_indices(gp, min_visits=3, time="appointment_at",
                              usual="usual_clinician_id")
        for col, name in (("upc", "upc_mean"), ("coc", "coc_mean"), ("secon", "secon_mean"),
                          ("usual_share", "usual_gp_share")):
            out[name] = float(idx[col].mean()) if idx[col].notna().any() else np.nan
        out["slicc"] = slicc(gp)
    if patients:
        deep = deep_relationship_by_patient(visits, depth_points)
        out["deep_relationship_share"] = float(deep.sum()) / patients
    if emergency is not None and patients and years > 0:
        per = 1000.0 / patients / years
        ae = emergency["kind"] == "ae"
        out["ae_per_1000"] = float(ae.sum()) * per
        out["ae_access_per_1000"] = float((ae & (emergency["channel"] == "access")).sum()) * per
        out["ae_continuity_per_1000"] = float(
            (ae & (emergency["channel"] == "continuity")).sum()) * per
        out["admissions_per_1000"] = float((emergency["kind"] == "admission").sum()) * per
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
    pats = tables["patients"]
    appts = tables["appointments"]
    visits = appts[appts["in_window"].to_numpy(dtype=bool) & (appts["status"] == "attended")]
    emergency = tables.get("emergency")
    years = window_days / DAYS_PER_YEAR
    groups = {"all": np.ones(len(pats), dtype=bool)}
    for col in pats.columns:
        if col.startswith("cohort_"):
            groups[col.removeprefix("cohort_")] = pats[col].to_numpy(dtype=bool)
    rows = []
    for name, mask in groups.items():
        ids = pats["patient_id"].to_numpy()[mask]
        v = visits[visits["patient_id"].isin(ids)]
        e = emergency[emergency["patient_id"].isin(ids)] if emergency is not None else None
        rows.append({"cohort": name, "patients": int(mask.sum()),
                     **outcomes(v, e, int(mask.sum()), years, gp_roles, depth_points)})
    return pd.DataFrame(rows, columns=["cohort", "patients", *OUTCOME_COLUMNS])


def _mean(flags: np.ndarray) -> float:
    flags = np.asarray(flags, dtype=bool)
    return float(flags.mean()) if flags.size else np.nan


def run_summaries(result) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary row and the per-cohort table of a run (:class:`sim.RunResult`).

    GPs are the scenario's list-holding roles; the depth curve is the scenario's.
    """
    s = result.scenario
    gp_roles = tuple(name for name, role in s.roles.items() if role.holds_list)
    points = s.relationship_depth.points
    summary = summarise(result.tables, s.population.size, s.duration_days, gp_roles, points)
    return summary, summarise_by_cohort(result.tables, s.duration_days, gp_roles, points)
