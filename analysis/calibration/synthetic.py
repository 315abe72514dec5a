"""A simulated run's appointments written as a practice's export would be.

For trying ``calibrate`` without real data, and for the round-trip tests:
simulate a known practice, write its appointments as an export (canonical
columns, or EMIS Web or SystmOne headings and words, UK dates), calibrate,
and compare what comes back with the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ROLE_TEXT = {"gp": "GP", "anp": "Advanced Nurse Practitioner", "practice_nurse": "Practice Nurse",
             "pharmacist": "Clinical Pharmacist", "paramedic": "Paramedic",
             "physician_associate": "Physician Associate"}
STATUS_TEXT = {
    "canonical": {"attended": "attended", "dna": "dna", "cancelled_by_practice": "cancelled"},
    "emis_web": {"attended": "Left", "dna": "DNA", "cancelled_by_practice": "Cancelled by Unit"},
    "systmone": {"attended": "Finished", "dna": "Did Not Attend",
                 "cancelled_by_practice": "Cancelled by Unit"},
}
MODE_TEXT = {"face_to_face": "Face to Face", "telephone": "Telephone", "online": "Video",
             "home_visit": "Home Visit"}
HEADINGS = {
    "emis_web": {"patient_id": "Patient ID", "clinician_id": "Session Holder",
                 "role": "Session Holder Role", "booked_date": "Booked Date",
                 "booked_time": "Booked Time", "date": "Appointment Date",
                 "time": "Appointment Time", "status": "Slot Status", "slot_type": "Slot Type",
                 "mode": "Consultation Mode"},
    "systmone": {"patient_id": "Patient ID", "clinician_id": "Staff Member",
                 "role": "Staff Role", "booked_date": "Booked Date", "booked_time": "Booked Time",
                 "date": "Appointment Date", "time": "Start Time",
                 "status": "Appointment Status", "slot_type": "Slot Type",
                 "mode": "Delivery Mechanism"},
}


def clinician_name(cid: str, role: str) -> str:
    """A readable name for a simulated clinician (``gp_adams`` -> ``Dr Adams``)."""
    surname = cid.split("_", 1)[-1].replace("_", " ").title()
    return f"Dr {surname}" if role == "gp" else f"{surname} ({ROLE_TEXT.get(role, role)})"


def slot_type(urgency: str, role: str) -> str:
    """A slot type as a practice might name it (planned care names a review or clinic)."""
    if urgency in ("planned", "review"):
        return "Chronic disease review" if role == "gp" else "Nurse clinic"
    return "On the day" if urgency == "urgent" else "Routine"


def export_from_appointments(appointments: pd.DataFrame, form: str = "canonical",
                             usual_gp: bool = False) -> pd.DataFrame:
    """A run's recorded appointments as an export table (every cell text, UK dates).

    Args:
        appointments: a run's ``appointments`` table.
        form: ``canonical``, ``emis_web`` or ``systmone``.
        usual_gp: include the usual GP column (canonical form only).
    """
    a = appointments[appointments["in_window"].to_numpy()]
    status = a["status"].astype(str).map(STATUS_TEXT[form])
    a = a[status.notna().to_numpy()]
    status = status[status.notna()]
    roles = a["role"].astype(str)
    names = [clinician_name(c, r) for c, r in zip(a["clinician_id"].astype(str), roles,
                                                  strict=True)]
    pid = np.char.zfill(a["patient_id"].to_numpy().astype(str), 7)
    booked, at = a["booked_at"], a["appointment_at"]
    urg = a["urgency"].astype(str)
    slots = [slot_type(u, r) for u, r in zip(urg, roles, strict=True)]
    if form == "canonical":
        out = pd.DataFrame({
            "patient_id": pid, "clinician_id": names, "role": roles.map(ROLE_TEXT).to_numpy(),
            "booked_at": booked.dt.strftime("%d/%m/%Y %H:%M").to_numpy(),
            "appointment_at": at.dt.strftime("%d/%m/%Y %H:%M").to_numpy(),
            "status": status.to_numpy(), "mode": a["mode"].astype(str).to_numpy(),
            "slot_type": slots})
        if usual_gp:
            usual = a["usual_clinician_id"].astype(object)
            out["usual_gp"] = [clinician_name(u, "gp") if isinstance(u, str) else ""
                               for u in usual]
        return out
    h = HEADINGS[form]
    return pd.DataFrame({
        h["patient_id"]: pid, h["clinician_id"]: names,
        h["role"]: roles.map(ROLE_TEXT).to_numpy(),
        h["booked_date"]: booked.dt.strftime("%d/%m/%Y").to_numpy(),
        h["booked_time"]: booked.dt.strftime("%H:%M").to_numpy(),
        h["date"]: at.dt.strftime("%d/%m/%Y").to_numpy(),
        h["time"]: at.dt.strftime("%H:%M").to_numpy(),
        h["status"]: status.to_numpy(), h["slot_type"]: slots,
        h["mode"]: a["mode"].astype(str).map(MODE_TEXT).to_numpy()})


def list_from_patients(patients: pd.DataFrame, usual_gp: bool = False) -> pd.DataFrame:
    """A run's patients as a registered list (ids as in :func:`export_from_appointments`)."""
    out = pd.DataFrame({
        "patient_id": np.char.zfill(patients["patient_id"].to_numpy().astype(str), 7),
        "age_band": patients["age_band"].astype(str).to_numpy(),
        "n_ltc": patients["n_ltc"].astype(str).to_numpy(),
        "housebound": np.where(patients["housebound"].to_numpy(), "yes", "no")})
    if usual_gp:
        out["usual_gp"] = [clinician_name(u, "gp") for u in patients["usual_clinician_id"]]
    return out
