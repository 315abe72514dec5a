"""Summary metrics of one run, computed from its tables alone.

Definitions (all over the observation window, i.e. after the warm-up):

* activity measures count appointments by appointment date, as NHS Digital's
  *Appointments in General Practice* does: an appointment "happened" if it
  was attended or missed (DNA); appointments cancelled by the practice
  (clinician sickness) are excluded and counted separately;
* access measures count requests by the date they were first made; a wait
  runs from that first request to the appointment, so retries and
  rebookings lengthen it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .continuity import patient_indices, slicc

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
    "urgent_same_day_share": "share of urgent requests seen on the day first made",
    "unmet_requests": "attempts that found no slot (each retry counts)",
    "unmet_per_1000_patients_year": "the same per 1,000 patients per year",
    "gave_up_requests": "requests abandoned after the last attempt",
    "waiting_at_end": "requests still without an appointment when the run ended",
    "dna_rate": "share of appointments missed (did not attend)",
    "utilisation": "share of available slots booked",
    "gp_share": "share of appointments with a GP",
    "cancelled_by_practice": "appointments cancelled because the clinician was off sick",
    "upc_mean": "mean UPC over GP consultations, patients with 3 or more (EVIDENCE V)",
    "slicc": "share of GP consultations with the patient's own list GP (SLICC)",
}


def summarise(
    tables: Mapping[str, pd.DataFrame],
    patients: int,
    window_days: int,
    gp_roles: tuple[str, ...] = ("gp",),
) -> pd.DataFrame:
    """One-row table of the metrics in :data:`SUMMARY_COLUMNS`.

    Args:
        tables: a run's tables (``appointments``, ``requests``, ``unmet``,
            ``clinician_days``), as returned by :func:`sim.run`.
        patients: registered patients.
        window_days: length of the observation window in days.
        gp_roles: roles counted as GPs for ``gp_share``.

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
    urgent = reqs[reqs["urgency"] == "urgent"]
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
        "waiting_at_end": int((reqs["outcome"] == "waiting_at_end").sum()),
        "dna_rate": _mean(happened["status"].to_numpy() == "dna"),
        "utilisation": float(days["booked_slots"].sum()) / available if available else np.nan,
        "gp_share": _mean(happened["role"].isin(gp_roles).to_numpy()),
        "cancelled_by_practice": int((in_w["status"] == "cancelled_by_practice").sum()),
    }
    row.update(_continuity(happened, gp_roles))
    return pd.DataFrame([row], columns=list(SUMMARY_COLUMNS))


def _continuity(happened: pd.DataFrame, gp_roles: tuple[str, ...]) -> dict[str, float]:
    """UPC (GP visits, patients with 3 or more) and SLICC from attended GP consultations.

    Each visit is judged against the usual GP recorded at booking, since lists
    change when a GP leaves.
    """
    visits = happened[(happened["status"] == "attended") & happened["role"].isin(gp_roles)]
    if len(visits) == 0:
        return {"upc_mean": np.nan, "slicc": np.nan}
    idx = patient_indices(visits, min_visits=3, time="appointment_at")
    upc = float(idx["upc"].mean()) if idx["upc"].notna().any() else np.nan
    return {"upc_mean": upc, "slicc": slicc(visits)}


def _mean(flags: np.ndarray) -> float:
    flags = np.asarray(flags, dtype=bool)
    return float(flags.mean()) if flags.size else np.nan
