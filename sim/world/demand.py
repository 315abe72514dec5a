"""Patient-initiated demand, generated up front as arrays.

Each patient ``i`` asks for care as a Poisson process of rate
``rate_i * profile(t)``. The superposition over the list is a Poisson process
of rate ``sum_i rate_i * profile(t)`` whose arrivals belong to patient ``i``
with probability ``rate_i / sum_j rate_j``; we draw it day by day in a few
vectorised calls, with no process per patient. ``profile`` combines a weekday
pattern (demand on days the practice is shut moves to open days), a yearly
cosine (winter peak) and a piecewise-constant intraday profile within opening
hours.

Because demand comes from its own streams and does not depend on the
booking policy, two policies run with the same seed see exactly the same
requests (common random numbers).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..codes import (
    FACE_TO_FACE,
    HOME_VISIT,
    NAMED_NONE,
    NAMED_TEAM_LEAD,
    NAMED_USUAL_GP,
    PLANNED,
    REVIEW,
    ROUTINE,
    URGENT,
)
from ..inputs.schema import MODES, WEEKDAYS, Scenario, hours
from ..ordering import stable_argsort
from .workforce import open_days

MODE_INDEX = {m: i for i, m in enumerate(MODES)}


@dataclasses.dataclass(frozen=True)
class Arrivals:
    """Requests in time order.

    Attributes:
        time: when the request is made (simulation days).
        patient, need, urgency, mode: who, what, how urgent, how.
        from_day: the first day wanted: today, or a later day for a planned
            routine request or a review.
        named: for a care-plan review, who it is with (``NAMED_USUAL_GP`` or
            ``NAMED_TEAM_LEAD``, resolved when it is booked); else ``NAMED_NONE``.
            None when the run has no reviews.
    """

    time: np.ndarray
    from_day: np.ndarray
    patient: np.ndarray
    need: np.ndarray
    urgency: np.ndarray
    mode: np.ndarray
    named: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.time.shape[0])


def expected_daily_requests(s: Scenario, total_rate_per_year: float, n_days: int) -> np.ndarray:
    """Expected requests on each simulation day (zero on shut days).

    A week's expected demand is ``7 * total / 365.25`` times the seasonal
    factor, shared among the week's open weekdays by their weights; the
    demand of a weekday that is shut (a bank holiday) moves to the next open
    day.
    """
    wd0 = s.start_date.weekday()
    days = np.arange(n_days)
    weekday = (wd0 + days) % 7
    w = np.array(
        [s.demand.weekday_weights.get(WEEKDAYS[i], 0.0)
         if WEEKDAYS[i] in s.practice.opening.days else 0.0 for i in range(7)]
    )
    per_day = 7.0 * total_rate_per_year / 365.25 * w[weekday] / w.sum()
    dates = np.datetime64(s.start_date, "D") + days
    doy = (dates - dates.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    season = 1.0 + s.demand.seasonal_amplitude * np.cos(
        2.0 * np.pi * (doy - (s.demand.seasonal_peak_day_of_year - 1)) / 365.25
    )
    expected = per_day * season
    is_open = open_days(s, n_days)
    # A shut weekday with weight (a bank holiday): its demand goes to the next open day.
    carry = 0.0
    for d in np.nonzero((w[weekday] > 0) | ~is_open)[0]:
        if not is_open[d]:
            carry += expected[d]
            expected[d] = 0.0
        elif carry:
            expected[d] += carry
            carry = 0.0
    return expected


def intraday_segments(s: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments of the intraday profile: start and end (fraction of a day) and probability."""
    close = hours(s.practice.opening.close) / 24.0
    points = sorted((hours(t) / 24.0, wgt) for t, wgt in s.demand.intraday_profile.items())
    open_ = hours(s.practice.opening.open) / 24.0
    if points[0][0] > open_:
        points.insert(0, (open_, points[0][1]))
    starts = np.array([p[0] for p in points])
    ends = np.append(starts[1:], close)
    mass = np.array([p[1] for p in points]) * (ends - starts)
    return starts, ends, mass / mass.sum()


def generate_arrivals(
    s: Scenario,
    rate_per_year: np.ndarray,
    n_days: int,
    rng: np.random.Generator,
    mix_rng: np.random.Generator,
    housebound: np.ndarray,
) -> Arrivals:
    """Draw every request of the run.

    Args:
        s: the scenario.
        rate_per_year: each patient's expected requests per year.
        n_days: days to generate (the warm-up plus the observation window).
        rng: the "demand" stream (counts, times, patients).
        mix_rng: the "case_mix" stream (need, urgency, mode).
        housebound: patients whose face-to-face requests become home visits.
    """
    total = float(rate_per_year.sum())
    expected = expected_daily_requests(s, total, n_days)
    counts = rng.poisson(expected)
    n = int(counts.sum())
    day = np.repeat(np.arange(n_days), counts)
    seg_start, seg_end, seg_p = intraday_segments(s)
    seg = rng.choice(seg_p.size, size=n, p=seg_p)
    frac = seg_start[seg] + rng.random(n) * (seg_end[seg] - seg_start[seg])
    time = day + frac
    cum = np.cumsum(rate_per_year)
    u = rng.random(n) * cum[-1]
    # Searched in sorted order: three times faster (each search starts where the last ended).
    by_u = np.argsort(u)
    patient = np.empty(n, dtype=np.int32)
    patient[by_u] = np.searchsorted(cum, u[by_u], side="right")
    patient = np.minimum(patient, rate_per_year.size - 1)
    order = stable_argsort(time)
    time, patient = time[order], patient[order]

    needs = list(s.demand.needs.values())
    need_p = np.array([nd.share for nd in needs])
    need = mix_rng.choice(len(needs), size=n, p=need_p / need_p.sum()).astype(np.int16)
    urgent_p = np.array([nd.urgent_share for nd in needs])[need]
    urgency = np.where(mix_rng.random(n) < urgent_p, URGENT, ROUTINE).astype(np.int8)
    modes = list(s.demand.modes)
    mode_p = np.array([s.demand.modes[m] for m in modes])
    mode_codes = np.array([MODE_INDEX[m] for m in modes], dtype=np.int8)
    mode = mode_codes[mix_rng.choice(len(modes), size=n, p=mode_p / mode_p.sum())]
    mode = np.where((mode == FACE_TO_FACE) & housebound[patient], HOME_VISIT, mode).astype(np.int8)
    planned_p = np.array([nd.routine_planned_share for nd in needs])[need]
    planned = (urgency == ROUTINE) & (mix_rng.random(n) < planned_p)
    lo, hi = s.demand.planned_delay_days
    delay = mix_rng.integers(lo, hi + 1, size=n)
    from_day = (np.floor(time).astype(np.int64) + np.where(planned, delay, 0)).astype(np.int32)
    return Arrivals(time=time, from_day=from_day, patient=patient, need=need,
                    urgency=urgency, mode=mode)


def care_plan_reviews(
    s: Scenario,
    cohorts: dict[str, np.ndarray],
    housebound: np.ndarray,
    is_open: np.ndarray,
    n_days: int,
    rng: np.random.Generator,
) -> Arrivals:
    """Booking calls for the planned care-plan reviews of ``s.care_plan_reviews``.

    Each cohort member's first review is due on a day drawn uniformly in the
    first interval (the "reviews" stream), then every ``every_days``; each is
    booked at opening time ``booked_days_ahead`` before it is due (on the
    next open day if that day is shut; at the start for reviews due sooner).
    Only reviews due before ``n_days`` are made.
    """
    open_frac = hours(s.practice.opening.open) / 24.0
    next_open = np.full(n_days + 1, n_days, dtype=np.int64)
    for d in range(n_days - 1, -1, -1):
        next_open[d] = d if is_open[d] else next_open[d + 1]
    needs = list(s.demand.needs)
    parts: list[tuple[np.ndarray, ...]] = []
    for review in s.care_plan_reviews:
        members = np.nonzero(cohorts[review.cohort])[0].astype(np.int32)
        first = rng.integers(0, review.every_days, size=members.size)
        k_max = (n_days - 1) // review.every_days + 1
        due = first[:, None] + review.every_days * np.arange(k_max)[None, :]
        patient = np.broadcast_to(members[:, None], due.shape)
        keep = due < n_days
        due, patient = due[keep], patient[keep]
        call = next_open[np.maximum(due - review.booked_days_ahead, 0)]
        keep = call < n_days
        due, patient, call = due[keep], patient[keep], call[keep]
        mode = np.full(due.size, MODE_INDEX[review.mode], dtype=np.int8)
        if review.mode == "face_to_face":
            mode[housebound[patient]] = HOME_VISIT
        named = NAMED_USUAL_GP if review.named_clinician == "usual_gp" else NAMED_TEAM_LEAD
        parts.append((call + open_frac, np.maximum(due, call).astype(np.int32), patient,
                      np.full(due.size, needs.index(review.need), dtype=np.int16),
                      np.full(due.size, REVIEW, dtype=np.int8), mode,
                      np.full(due.size, named, dtype=np.int8)))
    return _stacked(parts)


def _stacked(parts: list[tuple[np.ndarray, ...]], in_time_order: bool = False) -> Arrivals:
    """Arrivals from parts, each (time, from day, patient, need, urgency, mode, named).

    No parts give no arrivals; ``in_time_order`` sorts them by time (stably).
    """
    if not parts:
        empty = np.zeros(0)
        return Arrivals(empty, empty.astype(np.int32), empty.astype(np.int32),
                        empty.astype(np.int16), empty.astype(np.int8), empty.astype(np.int8),
                        empty.astype(np.int8))
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    if in_time_order:
        order = np.argsort(cols[0], kind="stable")
        cols = [c[order] for c in cols]
    return Arrivals(*cols)


def merge_arrivals(a: Arrivals, b: Arrivals) -> Arrivals:
    """Both sets of requests in one time order (``a`` first on a tie)."""
    named_a = a.named if a.named is not None else np.full(len(a), NAMED_NONE, dtype=np.int8)
    named_b = b.named if b.named is not None else np.full(len(b), NAMED_NONE, dtype=np.int8)
    time = np.concatenate([a.time, b.time])
    order = np.argsort(time, kind="stable")
    return Arrivals(
        time=time[order],
        from_day=np.concatenate([a.from_day, b.from_day])[order],
        patient=np.concatenate([a.patient, b.patient])[order],
        need=np.concatenate([a.need, b.need])[order],
        urgency=np.concatenate([a.urgency, b.urgency])[order],
        mode=np.concatenate([a.mode, b.mode])[order],
        named=np.concatenate([named_a, named_b])[order],
    )


def planned_care(
    s: Scenario,
    n_ltc: np.ndarray,
    cohorts: dict[str, np.ndarray],
    housebound: np.ndarray,
    is_open: np.ndarray,
    end_day: int,
    rng: np.random.Generator,
) -> Arrivals:
    """Booking calls for the scenario's planned care (:class:`sim.inputs.schema.PlannedCare`).

    Each stream's appointments are due on days spread evenly from day 0 to
    beyond the run (so the warm-up sees a steady state once the longest lead
    has passed); each is booked ``lead_days`` before it is due, on that day
    if the practice is open, else on the last open day before it, at a time
    drawn evenly within opening hours. Only calls made before ``end_day`` are
    kept. Drawn from the "planned_care" stream.
    """
    open_at = hours(s.practice.opening.open) / 24.0
    close_at = hours(s.practice.opening.close) / 24.0
    n = int(is_open.size)
    previous_open = np.full(n, -1, dtype=np.int64)
    last = -1
    for d in range(n):
        if is_open[d]:
            last = d
        previous_open[d] = last
    needs = list(s.demand.needs)
    parts = []
    for stream in s.planned_care:
        span = end_day + stream.lead_days[1]  # due days whose call can fall in the run
        rate = stream.rate_per_year + stream.rate_per_ltc_year * n_ltc.astype(float)
        if stream.cohort is not None:
            rate = np.where(cohorts[stream.cohort], rate, 0.0)
        counts = rng.poisson(rate * span / 365.25)
        patient = np.repeat(np.arange(rate.size, dtype=np.int32), counts)
        due = rng.integers(0, span, size=patient.size)
        lead = rng.integers(stream.lead_days[0], stream.lead_days[1] + 1, size=patient.size)
        frac = rng.random(patient.size)
        call_day = due - lead
        ok = (call_day >= 0) & (call_day < min(end_day, n))
        patient, due, call_day, frac = patient[ok], due[ok], call_day[ok], frac[ok]
        call_day = previous_open[call_day]
        ok = call_day >= 0
        patient, due, call_day, frac = patient[ok], due[ok], call_day[ok], frac[ok]
        mode = np.full(patient.size, MODE_INDEX[stream.mode], dtype=np.int8)
        if stream.mode == "face_to_face":
            mode[housebound[patient]] = HOME_VISIT
        named = NAMED_USUAL_GP if stream.with_usual_gp else NAMED_NONE
        parts.append((call_day + open_at + frac * (close_at - open_at),
                      np.maximum(due, call_day).astype(np.int32), patient,
                      np.full(patient.size, needs.index(stream.need), dtype=np.int16),
                      np.full(patient.size, PLANNED, dtype=np.int8), mode,
                      np.full(patient.size, named, dtype=np.int8)))
    return _stacked(parts, in_time_order=True)
