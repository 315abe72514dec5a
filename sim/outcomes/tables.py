"""Turning a run's booking record into tidy tables, and the result of a run.

Only what falls in the observation window (after the warm-up) is returned:

* ``appointments``: one row per appointment on a day in the window or after
  it (``status`` says ``attended``, ``dna``, ``cancelled_by_practice``, or
  ``booked`` for appointments still in the future when the run ends);
* ``requests``: one row per request first made in the window, with its
  outcome (``booked``, ``gave_up``, ``waiting_at_end``), the first day the
  patient wanted (``wanted_from``) and, for a follow-up or a care-plan
  review, the clinician who asked for it or is named for it
  (``asked_by_clinician_id``);
* ``unmet``: one row per attempt in the window that found no slot;
* ``clinician_days``: per clinician and day in the window they were rostered:
  status (working, leave, sick) and slots built, booked, attended and missed;
* ``patients``: the registered list, with a ``cohort_<name>`` column per cohort;
* ``emergency``: A&E attendances and emergency admissions in the window, by
  channel (``access``, ``continuity``) and cause: proxies for comparing
  policies, not forecasts (:mod:`sim.outcomes.emergency`);
* ``history``, only when the scenario has one: consultations per patient and
  clinician before the run (``population.history_file`` or ``history``).

A run that is all warm-up therefore records nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..codes import (
    APPOINTMENT_STATUS,
    ATTENDED,
    DNA,
    POOL_NAMES,
    REQUEST_OUTCOME,
    TRIAGE_NAMES,
    URGENCY_NAMES,
)
from ..engine.contract import BookingRecord
from ..inputs.schema import MODES, WEEKDAYS, Scenario
from ..ordering import lexsort
from ..world.build import World
from ..world.workforce import slots_per_session, working_days
from .emergency import CAUSE_NAMES, CHANNEL_NAMES, KIND_NAMES, Emergencies


@dataclasses.dataclass
class RunResult:
    """The tables of one run and what produced them.

    Attributes:
        scenario: the scenario as run (its ``seed`` always set).
        replication: the replication number.
        tables: name -> DataFrame (see the module docstring).
        info: run facts: wall time, requests handled, window dates.
    """

    scenario: Scenario
    replication: int
    tables: dict[str, pd.DataFrame]
    info: dict[str, Any]

    @property
    def appointments(self) -> pd.DataFrame:
        """One row per appointment on a day in the window or after it, with its status."""
        return self.tables["appointments"]

    @property
    def requests(self) -> pd.DataFrame:
        """One row per request first made in the window, with its outcome."""
        return self.tables["requests"]

    @property
    def unmet(self) -> pd.DataFrame:
        """One row per attempt in the window that found no slot."""
        return self.tables["unmet"]

    @property
    def clinician_days(self) -> pd.DataFrame:
        """Per clinician and rostered day in the window: status and slots."""
        return self.tables["clinician_days"]

    @property
    def patients(self) -> pd.DataFrame:
        """The registered list, with a ``cohort_<name>`` column per cohort."""
        return self.tables["patients"]

    @property
    def emergency(self) -> pd.DataFrame:
        """A&E attendances and emergency admissions in the window (PROXIES, not forecasts)."""
        return self.tables["emergency"]


def _datetimes(start: np.datetime64, t: np.ndarray) -> np.ndarray:
    seconds = np.round(np.asarray(t, dtype=float) * 86400.0).astype(np.int64)
    return start + seconds.astype("timedelta64[s]")


def build_tables(world: World, record: BookingRecord, emergencies: Emergencies
                 ) -> dict[str, pd.DataFrame]:
    """Turn a finished run's record into the tables described above."""
    s = world.scenario
    log = record.log
    wf = world.workforce
    start = np.datetime64(s.start_date, "s")
    w0, w1 = s.warmup_days, s.end_day
    clin_ids = pd.Categorical.from_codes(np.arange(wf.size), categories=list(wf.ids))
    role_cat = pd.CategoricalDtype(sorted(s.roles))
    role_code = role_cat.categories.get_indexer(list(wf.roles))  # each clinician's role
    need_cat = pd.CategoricalDtype(list(world.need_names))
    mode_cat = pd.CategoricalDtype(list(MODES))
    urg_cat = pd.CategoricalDtype(list(URGENCY_NAMES))

    # Requests first made in the window.
    req_time = np.asarray(log.req_time, dtype=float)
    n_req = req_time.size
    req_appt = np.asarray(log.req_appointment, dtype=np.int64)
    appt_time = np.asarray(log.appt_time, dtype=float)
    appt_clin = np.asarray(log.appt_clinician, dtype=np.int64)
    keep = (req_time >= w0) & (req_time < w1)
    has = req_appt >= 0
    r_appt_time = np.full(n_req, np.nan)
    r_appt_time[has] = appt_time[req_appt[has]]
    r_clin = np.full(n_req, -1, dtype=np.int64)
    r_clin[has] = appt_clin[req_appt[has]]
    idx = np.nonzero(keep)[0]
    requests = pd.DataFrame({
        "request_id": idx,
        "patient_id": np.asarray(log.req_patient, dtype=np.int64)[idx],
        "requested_at": _datetimes(start, req_time[idx]),
        "wanted_from": _datetimes(start, np.asarray(log.req_from_day, dtype=float)[idx]),
        "urgency": pd.Categorical.from_codes(np.asarray(log.req_urgency)[idx], dtype=urg_cat),
        "need": pd.Categorical.from_codes(np.asarray(log.req_need)[idx], dtype=need_cat),
        "mode": pd.Categorical.from_codes(np.asarray(log.req_mode)[idx], dtype=mode_cat),
        "attempts": np.asarray(log.req_attempts, dtype=np.int64)[idx],
        "outcome": pd.Categorical.from_codes(np.asarray(log.req_outcome)[idx],
                                             categories=list(REQUEST_OUTCOME)),
        "triage": pd.Categorical.from_codes(np.asarray(log.req_triage)[idx],
                                            categories=list(TRIAGE_NAMES)),
        "appointment_at": np.where(has[idx], _datetimes(start, np.nan_to_num(r_appt_time[idx])),
                                   np.datetime64("NaT", "s")),
        "clinician_id": pd.Categorical.from_codes(r_clin[idx], dtype=clin_ids.dtype),
        "asked_by_clinician_id": pd.Categorical.from_codes(
            np.asarray(log.req_with, dtype=np.int64)[idx], dtype=clin_ids.dtype),
    })
    # Appointments on days in or after the window.
    a_day = np.floor(appt_time).astype(np.int64)
    a_idx = np.nonzero(a_day >= w0)[0]
    a_req = np.asarray(log.appt_request, dtype=np.int64)[a_idx]
    a_t = appt_time[a_idx]
    a_booked = np.asarray(log.appt_booked_at, dtype=float)[a_idx]
    a_first = req_time[a_req]
    a_status = np.asarray(log.appt_status, dtype=np.int64)[a_idx]
    a_clin = appt_clin[a_idx]
    attended = pd.array(np.where(a_status == ATTENDED, True, False), dtype="boolean")
    attended[(a_status != ATTENDED) & (a_status != DNA)] = pd.NA
    appointments = pd.DataFrame({
        "appointment_id": a_idx,
        "request_id": a_req,
        "patient_id": np.asarray(log.appt_patient, dtype=np.int64)[a_idx],
        "clinician_id": clin_ids[a_clin],
        "role": pd.Categorical.from_codes(role_code[a_clin], dtype=role_cat),
        "usual_clinician_id": clin_ids[np.asarray(log.appt_usual, dtype=np.int64)[a_idx]],
        "requested_at": _datetimes(start, a_first),
        "booked_at": _datetimes(start, a_booked),
        "appointment_at": _datetimes(start, a_t),
        "wait_days": a_t - a_first,
        "held_out_days": np.asarray(log.appt_held_out_days, dtype=float)[a_idx],
        "lead_days": (a_day[a_idx] - np.floor(a_booked)).astype(np.int64),
        "urgency": pd.Categorical.from_codes(np.asarray(log.req_urgency)[a_req], dtype=urg_cat),
        "need": pd.Categorical.from_codes(np.asarray(log.req_need)[a_req], dtype=need_cat),
        "mode": pd.Categorical.from_codes(np.asarray(log.req_mode)[a_req], dtype=mode_cat),
        "pool": pd.Categorical.from_codes(np.asarray(log.appt_pool)[a_idx],
                                          categories=list(POOL_NAMES)),
        "status": pd.Categorical.from_codes(a_status, categories=list(APPOINTMENT_STATUS)),
        "attended": attended,
        "in_window": a_day[a_idx] < w1,
        "with_own_team": _with_own_team(world, np.asarray(log.appt_usual)[a_idx], a_clin),
    })
    # Unmet attempts in the window.
    u_time = np.asarray(log.unmet_time, dtype=float)
    u_req = np.asarray(log.unmet_request, dtype=np.int64)
    u_keep = (u_time >= w0) & (u_time < w1)
    unmet = pd.DataFrame({
        "request_id": u_req[u_keep],
        "patient_id": np.asarray(log.req_patient, dtype=np.int64)[u_req[u_keep]],
        "attempted_at": _datetimes(start, u_time[u_keep]),
        "urgency": pd.Categorical.from_codes(np.asarray(log.req_urgency, dtype=np.int64)[
            u_req[u_keep]], dtype=urg_cat),
    })
    clinician_days = _clinician_days(world, record, w0, w1, clin_ids, role_cat, a_idx, a_status,
                                     a_clin)
    p = world.patients
    patients = pd.DataFrame({
        "patient_id": np.arange(p.size),
        "age_band": pd.Categorical.from_codes(p.age_band, categories=list(p.age_band_names)),
        "n_ltc": p.n_ltc,
        "housebound": p.housebound,
        "rate_per_year": p.rate_per_year,
        "values_continuity": p.values_continuity,
        "dna_propensity": p.dna_propensity,
        "usual_clinician_id": clin_ids[p.usual_clinician],
        "usual_clinician_at_end_id": clin_ids[record.usual_at_end],
        **{f"cohort_{name}": mask for name, mask in world.cohorts.items()},
    })
    if p.list_patient_id is not None:
        patients.insert(1, "list_patient_id", p.list_patient_id.astype(str))
    if p.sex is not None:
        patients.insert(3, "sex", p.sex.astype(str))
    e = emergencies
    at = _datetimes(start, e.time)
    order = lexsort((e.patient, at.view(np.int64)))  # by time, then patient
    emergency = pd.DataFrame({
        "patient_id": e.patient[order],
        "at": at[order],
        "kind": pd.Categorical.from_codes(e.kind[order], categories=list(KIND_NAMES)),
        "channel": pd.Categorical.from_codes(e.channel[order], categories=list(CHANNEL_NAMES)),
        "cause": pd.Categorical.from_codes(e.cause[order], categories=list(CAUSE_NAMES)),
        "continuity_ratio": e.ratio[order],
    })
    tables = {"appointments": appointments, "requests": requests, "unmet": unmet,
              "clinician_days": clinician_days, "patients": patients, "emergency": emergency}
    h = world.history
    if h.size:  # consultations before the run: relationship depth starts from them
        tables["history"] = pd.DataFrame({
            "patient_id": h.patient, "clinician_id": clin_ids[h.clinician],
            "consultations": h.consultations})
    return tables


def _with_own_team(world: World, usual: np.ndarray, clinician: np.ndarray
                   ) -> pd.arrays.BooleanArray:
    """Per appointment: whether it was with a member of the usual GP's micro-team (NA: no team)."""
    rules = world.rules
    team = rules.team_of[usual] if usual.size else np.zeros(0, dtype=np.int64)
    member = np.zeros((max(len(world.teams), 1), max(world.workforce.size, 1)), dtype=bool)
    for k, members in enumerate(world.teams):
        member[k, list(members)] = True
    has_team = team >= 0
    out = pd.array(np.zeros(usual.size, dtype=bool), dtype="boolean")
    out[has_team] = member[team[has_team], clinician[has_team]]
    out[~has_team] = pd.NA
    return out


def _clinician_days(world: World, record: BookingRecord, w0: int, w1: int,
                    clin_ids: pd.Categorical, role_cat: pd.CategoricalDtype, a_idx: np.ndarray,
                    a_status: np.ndarray, a_clin: np.ndarray) -> pd.DataFrame:
    s = world.scenario
    wf = world.workforce
    cal = record.cells
    days = np.arange(w0, w1)
    wd0 = s.start_date.weekday()
    weekday = (wd0 + days) % 7
    rostered = np.zeros((wf.size, days.size), dtype=np.int64)
    for c, clin in enumerate(s.clinicians):
        per_wd = np.zeros(7, dtype=np.int64)
        for code in clin.sessions:
            per_wd[WEEKDAYS.index(code.partition("_")[0])] += slots_per_session(s, clin)
        works = working_days(s, clin, world.is_open)
        rostered[c] = per_wd[weekday] * works[days] * world.in_post[c, days]
    built = cal["built"][:, :, w0:w1].sum(axis=0)
    booked = cal["booked"][:, :, w0:w1].sum(axis=0)
    closed = cal["closed"][:, w0:w1]
    leave = world.leave[:, w0:w1] & (rostered > 0)
    log = record.log
    a_day = np.floor(np.asarray(log.appt_time, dtype=float)[a_idx]).astype(np.int64)
    in_w = a_day < w1
    cell = a_clin.astype(np.int64) * days.size + (a_day - w0)  # (clinician, day), flat

    def per_cell(sel: np.ndarray) -> np.ndarray:
        return np.bincount(cell[sel], minlength=wf.size * days.size).reshape(wf.size, days.size)

    att = per_cell(in_w & (a_status == ATTENDED))
    dna = per_cell(in_w & (a_status == DNA))
    # A sick day's slots were built but closed: none of them was available.
    available = np.where(closed, 0, built)
    status = np.where(leave, 1, np.where(closed & (built > 0), 2, 0))  # working, leave, sick
    cc, dd = np.nonzero(rostered > 0)
    booked_kept = np.where(closed, 0, booked)
    role_code = role_cat.categories.get_indexer(list(wf.roles))
    return pd.DataFrame({
        "date": (np.datetime64(s.start_date, "D") + days[dd]),
        "clinician_id": clin_ids[cc],
        "role": pd.Categorical.from_codes(role_code[cc], dtype=role_cat),
        "status": pd.Categorical.from_codes(status[cc, dd],
                                            categories=["working", "leave", "sick"]),
        "rostered_slots": rostered[cc, dd],
        "available_slots": available[cc, dd],
        "booked_slots": booked_kept[cc, dd],
        "attended": att[cc, dd],
        "dna": dna[cc, dd],
    })
