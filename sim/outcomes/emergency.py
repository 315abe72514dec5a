"""A&E attendances and emergency admissions: the two channels of the A&E proxy.

Both are drawn after the practice has been simulated, from what happened in it,
so they never change the booking (patients who go to A&E still keep their
appointment requests). They are proxies for comparing policies, not forecasts.

* **Access channel**: each request that fails (urgent not seen the day it was
  made, a routine patient who gave up, a routine appointment later than the
  patient tolerates) leads to an A&E attendance with a probability by cause,
  at the time of the failure.
* **Continuity channel**: each patient has background rates of A&E attendance
  and emergency admission (by age band and long-term conditions), scaled at
  each moment by a rate ratio of their recent continuity (UPC over the last
  year, Barker 2017) or of the years with their current usual GP (Sandvik
  2022). Events are drawn by thinning: candidates at the highest possible rate,
  each kept with probability ratio / highest ratio. The candidates come from
  the "emergency_ae" and "emergency_admission" streams and do not depend on
  the policy, so two policies run with the same seed are compared on the same
  candidate events (common random numbers): only the acceptance differs, and
  only through continuity.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..codes import ATTENDED, ROUTINE, SIGNPOSTED, URGENT
from ..engine.contract import BookingRecord, EventLog
from ..inputs.history_import import History
from ..inputs.schema import ContinuityChannel, Scenario
from ..ordering import count_pairs, largest_pair, lexsort
from ..world.build import World

AE, ADMISSION = 0, 1
KIND_NAMES = ("ae", "admission")
ACCESS, CONTINUITY = 0, 1
CHANNEL_NAMES = ("access", "continuity")
CAUSE_NAMES = ("urgent_not_seen_today", "gave_up", "routine_beyond_tolerance", "background")
_URGENT_FAIL, _GAVE_UP, _LATE, _BACKGROUND = range(4)
DAYS_PER_YEAR = 365.25


@dataclasses.dataclass(frozen=True)
class Emergencies:
    """Emergency events in the observation window, in no particular order.

    Attributes:
        patient: patient index.
        time: simulation days.
        kind: ``AE`` or ``ADMISSION``.
        channel: ``ACCESS`` or ``CONTINUITY``.
        cause: index into :data:`CAUSE_NAMES`.
        ratio: the continuity rate ratio at the time (1 for the access channel).
    """

    patient: np.ndarray
    time: np.ndarray
    kind: np.ndarray
    channel: np.ndarray
    cause: np.ndarray
    ratio: np.ndarray


def background_rates(s: Scenario, age_band: np.ndarray, n_ltc: np.ndarray,
                     band_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's background A&E and admission rates per year (reference continuity)."""
    e = s.emergency
    out = []
    for per_1000, by_band, per_ltc in (
        (e.ae_per_1000, e.ae_ratio_by_age_band, e.ae_ratio_per_ltc),
        (e.admissions_per_1000, e.admission_ratio_by_age_band, e.admission_ratio_per_ltc),
    ):
        band = np.array([by_band.get(b, 1.0) for b in band_names])
        w = band[age_band] * per_ltc ** n_ltc.astype(float)
        mean = w.mean() if w.size else 1.0
        out.append(per_1000 / 1000.0 * w / mean if mean > 0 else np.zeros(w.size))
    return out[0], out[1]


def upc_ratio(upc: np.ndarray, c: ContinuityChannel) -> np.ndarray:
    """Rate ratio for UPC values (NaN, meaning too few visits, gives 1)."""
    beta = np.log(c.rate_ratio_per_0_2_upc) / 0.2
    r = np.exp(beta * (upc - c.reference_upc))
    return np.where(np.isnan(upc), 1.0, r)


def years_ratio(years: np.ndarray, points: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Rate ratio for years with the usual GP: linear between the points, flat beyond."""
    xs = np.array([p[0] for p in points])
    ys = np.array([p[1] for p in points])
    return np.interp(years, xs, ys)


def recent_upc(visit_patient: np.ndarray, visit_time: np.ndarray, visit_clinician: np.ndarray,
               patient: np.ndarray, time: np.ndarray, lookback: float,
               min_visits: int) -> np.ndarray:
    """UPC of each (patient, time) over visits in ``[time - lookback, time)``; NaN if too few.

    The visits must be sorted by patient, then time.
    """
    key = visit_patient.astype(np.float64) * 1e4 + visit_time
    lo = np.searchsorted(key, patient * 1e4 + time - lookback, side="left")
    hi = np.searchsorted(key, patient * 1e4 + time, side="left")
    out = np.full(patient.size, np.nan)
    n = hi - lo
    sel = np.nonzero(n >= min_visits)[0]
    if sel.size == 0:
        return out
    # Every selected (patient, time)'s visits side by side, counted per clinician at once
    # (memory in proportion to the visits counted, not to candidates x clinicians).
    lens = n[sel]
    within = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    clin = visit_clinician[np.repeat(lo[sel], lens) + within].astype(np.int64)
    # every selected candidate owns at least one pair
    _, most = largest_pair(*count_pairs(np.repeat(np.arange(sel.size, dtype=np.int64), lens),
                                        clin))
    out[sel] = most / lens
    return out


def simulate_emergencies(world: World, record: BookingRecord) -> Emergencies:
    """Draw both channels' events in the observation window of a finished run.

    Streams: "emergency_access" (one uniform per request), "emergency_ae" and
    "emergency_admission" (candidate events), "relationship_years" (years
    with the usual GP at the start, duration model).
    """
    s = world.scenario
    streams = world.streams
    patients = world.patients
    w0, w1 = float(s.warmup_days), float(s.end_day)
    parts = [_access_channel(s, record.log, streams.get("emergency_access"), w0, w1)]
    ae_rate, adm_rate = background_rates(s, patients.age_band, patients.n_ltc,
                                         patients.age_band_names)
    start_years = streams.get("relationship_years").exponential(
        s.emergency.continuity.initial_years_mean, size=patients.size)
    h = world.history
    with_usual = (h.clinician == patients.usual_clinician[h.patient]) & np.isfinite(
        h.years_since_first)
    start_years[h.patient[with_usual]] = h.years_since_first[with_usual]
    gp_role = np.array([s.roles[r].holds_list for r in world.workforce.roles], dtype=bool)
    visits = _gp_visits(record, gp_role, h) if s.emergency.continuity.model == "upc" else None
    for kind, rate, name in ((AE, ae_rate, "emergency_ae"),
                             (ADMISSION, adm_rate, "emergency_admission")):
        parts.append(_continuity_channel(s, record, streams.get(name), kind, rate,
                                         start_years, w0, w1, visits))
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    return Emergencies(*cols)


def _access_channel(s: Scenario, log: EventLog, rng: np.random.Generator, w0: float,
                    w1: float) -> tuple[np.ndarray, ...]:
    a = s.emergency.access
    urgency = log.req_urgency
    t_req = log.req_time
    from_day = log.req_from_day.astype(float)
    appt = log.req_appointment
    booked = appt >= 0
    t_appt = np.full(t_req.size, np.inf)
    t_appt[booked] = log.appt_time[appt[booked]]
    gave_up = log.req_gave_up_at
    day = np.floor(t_req)
    cause = np.full(t_req.size, -1, dtype=np.int64)
    when = np.full(t_req.size, np.nan)
    # Requests signposted to another service are not failures of access here.
    here = log.req_outcome != SIGNPOSTED
    # Urgent, not seen the day it was made (booked later, gave up, or still waiting).
    u = (urgency == URGENT) & (np.floor(t_appt) > day) & here
    cause[u], when[u] = _URGENT_FAIL, np.minimum(day[u] + 1.0, w1) - 1e-6
    r = (urgency == ROUTINE) & here
    g = r & ~np.isnan(gave_up)
    cause[g], when[g] = _GAVE_UP, gave_up[g]
    wanted = np.maximum(t_req, from_day)
    tolerance = np.array([a.routine_tolerance_days_by_need.get(n, a.routine_tolerance_days)
                          for n in s.demand.needs])[log.req_need]
    late = r & ~g & (t_appt - wanted > tolerance)
    cause[late], when[late] = _LATE, wanted[late] + tolerance[late]
    prob = np.array([a.urgent_not_seen_today, a.gave_up, a.routine_beyond_tolerance])
    failed = np.nonzero(cause >= 0)[0]
    # One uniform per request, drawn for every request so the draws line up by request id.
    uniform = rng.random(t_req.size)[failed]
    keep = (uniform < prob[cause[failed]]) & (when[failed] >= w0) & (when[failed] < w1)
    idx = failed[keep]
    n = idx.size
    return (log.req_patient[idx], when[idx],
            np.full(n, AE, dtype=np.int8), np.full(n, ACCESS, dtype=np.int8),
            cause[idx].astype(np.int8), np.ones(n))


def _with_last_year(history: History, gp_role: np.ndarray, vp: np.ndarray, vt: np.ndarray,
                    vc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GP visits with the history's last year added, spread evenly over the year before day 0."""
    keep = (history.last_year > 0) & gp_role[history.clinician]
    k = history.last_year[keep]
    p = np.repeat(history.patient[keep], k)
    c = np.repeat(history.clinician[keep], k)
    i = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)  # 0..k-1 within each pair
    t = -DAYS_PER_YEAR + (i + 0.5) * DAYS_PER_YEAR / np.repeat(k, k)
    return (np.concatenate([vp, p]), np.concatenate([vt, t]),
            np.concatenate([vc, c]).astype(vc.dtype if vc.size else np.int64))


def _gp_visits(record: BookingRecord, gp_role: np.ndarray, history: History | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Attended GP visits (with the history's last year), sorted by patient then time."""
    log = record.log
    clin = log.appt_clinician
    gp = gp_role[clin] if clin.size else np.zeros(0, dtype=bool)
    v = np.nonzero((log.appt_status == ATTENDED) & gp)[0]
    vp, vt, vc = log.appt_patient[v], log.appt_time[v], clin[v]
    if history is not None and history.size:
        vp, vt, vc = _with_last_year(history, gp_role, vp, vt, vc)
    order = lexsort((vt, vp))
    return vp[order], vt[order], vc[order]


def _continuity_channel(s: Scenario, record: BookingRecord, rng: np.random.Generator,
                        kind: int, rate: np.ndarray, start_years: np.ndarray, w0: float,
                        w1: float, visits: tuple[np.ndarray, ...] | None
                        ) -> tuple[np.ndarray, ...]:
    """One kind's background events; ``visits``: :func:`_gp_visits` (the UPC model)."""
    c = s.emergency.continuity
    n_pat = rate.size
    # Candidate events at the highest ratio the model can give.
    if c.model == "upc":
        beta = np.log(c.rate_ratio_per_0_2_upc) / 0.2
        top = max(1.0, np.exp(-beta * c.reference_upc), np.exp(beta * (1 - c.reference_upc)))
    else:
        pts = c.ae_ratio_by_years if kind == AE else c.admission_ratio_by_years
        top = max(r for _, r in pts)
    years = (w1 - w0) / DAYS_PER_YEAR
    total = float(rate.sum()) * top * years
    n = int(rng.poisson(total)) if total > 0 else 0
    cum = np.cumsum(rate)
    patient = np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"),
                         n_pat - 1) if n else np.zeros(0, dtype=np.int64)
    time = w0 + rng.random(n) * (w1 - w0)
    u = rng.random(n)
    # The continuity ratio at each candidate.
    if c.model == "upc":
        upc = recent_upc(*visits, patient, time, float(c.lookback_days), c.min_visits)
        ratio = upc_ratio(upc, c)
    else:
        # Years with the current usual GP: drawn at the start, reset by list changes.
        since = -start_years[patient] * DAYS_PER_YEAR
        for day, moved in record.list_changes:
            hit = np.isin(patient, moved) & (time >= day)
            since[hit] = day
        pts = c.ae_ratio_by_years if kind == AE else c.admission_ratio_by_years
        ratio = years_ratio((time - since) / DAYS_PER_YEAR, pts)
    keep = u < ratio / top
    m = int(keep.sum())
    return (patient[keep].astype(np.int64), time[keep], np.full(m, kind, dtype=np.int8),
            np.full(m, CONTINUITY, dtype=np.int8), np.full(m, _BACKGROUND, dtype=np.int8),
            ratio[keep])
