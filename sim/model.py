"""The model of one practice: its day, on SimPy's clock.

Each day, in this order (:meth:`PracticeModel.day`):

* at **midnight**, yesterday's appointments are attended or missed (DNA, by
  lead time and the patient's propensity) and follow-ups are booked; a
  list-holder who leaves today has their list reassigned; sickness spells
  that start today are revealed: the clinician's days are closed and patients
  already booked with them are queued for rebooking;
* at **opening**, the requests queued for today (retries and rebookings) are
  handled in the order they were queued;
* then the day's **new requests**, in continuous time within opening hours
  (drawn up front, :mod:`sim.demand`): each goes to the booking policy, which
  offers slots, and the patient chooses (:func:`patient_choice`). A request
  that finds nothing is logged as unmet and queued for the next working day's
  opening, until ``practice.max_attempts``; then the patient gives up.

The booking desk that does this is either this class (the reference engine:
plain Python, any policy) or :class:`sim.compiled.CompiledDesk` (numba, the
built-in policies; identical results): see :func:`choose_engine`.
Everything is recorded in column buffers (:class:`EventLog`); metrics are
computed later, by :mod:`analysis`. Nothing here plots or prints.
"""
from __future__ import annotations

import logging
import os

import numpy as np
import simpy

from .calendar import ONLINE, Calendar, Slot
from .cohorts import cohort_masks, team_index
from .demand import (
    FOLLOW_UP,
    NAMED_USUAL_GP,
    REVIEW,
    ROUTINE,
    Arrivals,
    care_plan_reviews,
    generate_arrivals,
    merge_arrivals,
)
from .emergency import Emergencies, simulate_emergencies
from .policy_api import BookingPolicy, PracticeView, Request, make_policy
from .population import Patients, build_patients, reassign_list
from .scenario import MODES, Scenario, hours
from .streams import Streams
from .workforce import (
    Workforce,
    annual_leave,
    build_calendar,
    build_workforce,
    employed,
    open_days,
    sickness_spells,
)

log = logging.getLogger(__name__)

# Appointment status codes in the event log.
BOOKED, ATTENDED, DNA, CANCELLED = 0, 1, 2, 3
APPOINTMENT_STATUS = ("booked", "attended", "dna", "cancelled_by_practice")
# Request outcomes.
PENDING, GOT_APPOINTMENT, GAVE_UP, SIGNPOSTED = 0, 1, 2, 3
REQUEST_OUTCOME = ("waiting_at_end", "booked", "gave_up", "signposted_elsewhere")


class EventLog:
    """Column buffers for requests, appointments and unmet attempts.

    Rows are appended as events happen; the few fields that change later
    (an appointment's status, a request's outcome) are updated in place by
    row number, which is also the record's id.
    """

    def __init__(self) -> None:
        self.req_patient: list[int] = []
        self.req_time: list[float] = []
        self.req_from_day: list[int] = []
        self.req_with: list[int] = []
        self.req_need: list[int] = []
        self.req_urgency: list[int] = []
        self.req_mode: list[int] = []
        self.req_attempts: list[int] = []
        self.req_outcome: list[int] = []
        self.req_appointment: list[int] = []  # -1: none
        self.appt_request: list[int] = []
        self.appt_patient: list[int] = []
        self.appt_clinician: list[int] = []
        self.appt_time: list[float] = []
        self.appt_booked_at: list[float] = []
        self.appt_pool: list[int] = []
        self.appt_status: list[int] = []
        self.appt_usual: list[int] = []
        self.unmet_request: list[int] = []
        self.unmet_time: list[float] = []
        self.gave_up_at: dict[int, float] = {}


class PracticeModel:
    """One practice, one replication: build everything, then :meth:`run`.

    Args:
        scenario: a validated scenario whose ``seed`` is set.
        replication: replication number; with the seed, it picks the streams.
    """

    def __init__(self, scenario: Scenario, replication: int = 0):
        if scenario.seed is None:
            raise ValueError("the scenario's seed must be set before building a model")
        s = scenario
        self.scenario = s
        self.replication = replication
        streams = Streams(s.seed, replication)
        self.streams = streams
        self.end_day = s.end_day
        longest_follow_up = max(n.follow_up_delay_days[1] for n in s.demand.needs.values())
        self.n_days = s.end_day + max(s.practice.booking_horizon_days, longest_follow_up) + 1
        self.is_open = open_days(s, self.n_days)
        self.workforce: Workforce = build_workforce(s)
        self.leave = annual_leave(s, self.n_days, streams.get("leave"))
        self.in_post = employed(s, self.n_days)
        self.calendar: Calendar = build_calendar(
            s, self.workforce, self.n_days, self.is_open, self.leave, self.in_post
        )
        self._caps = np.array([np.inf if c.max_list_size is None else c.max_list_size
                               for c in s.clinicians])
        holders = np.nonzero(self.workforce.holds_list & self.in_post[:, 0])[0]
        self._lists_rng = streams.get("lists")
        imported = None
        if s.population.list_file is not None:
            from .list_import import read_list

            imported = read_list(s.population.list_file, [b.name for b in s.population.age_bands],
                                 [self.workforce.ids[c] for c in np.nonzero(
                                     self.workforce.holds_list)[0]], list(s.cohorts))
        self.patients: Patients = build_patients(
            s, streams.get("population"), self._lists_rng, holders,
            self.workforce.sessions_per_week[holders], self._caps[holders],
            imported=imported, clinician_ids=tuple(self.workforce.ids),
        )
        # Usual clinicians change when a list-holder leaves; the patients'
        # starting lists stay in self.patients.
        self.usual = self.patients.usual_clinician.astype(np.int64)  # a copy
        self._usual_list = self.usual.tolist()
        # (day, patients whose usual clinician changed that day), in time order.
        self.list_changes: list[tuple[int, np.ndarray]] = []
        self._leavers: dict[int, list[int]] = {}
        for c, clin in enumerate(s.clinicians):
            if clin.leaves is not None and self.workforce.holds_list[c]:
                d = (clin.leaves - s.start_date).days
                if 0 < d < s.end_day:
                    self._leavers.setdefault(d, []).append(c)
        self.cohorts = cohort_masks(s, self.patients)
        self.arrivals: Arrivals = generate_arrivals(
            s, self.patients.rate_per_year, self.end_day, streams.get("demand"),
            streams.get("case_mix"), self.patients.housebound,
        )
        if s.care_plan_reviews:
            self.arrivals = merge_arrivals(self.arrivals, care_plan_reviews(
                s, self.cohorts, self.patients.housebound, self.is_open, self.end_day,
                streams.get("reviews")))
        self.spells = [sp for sp in sickness_spells(s, self.n_days, streams.get("sickness"))
                       if sp[0] < self.end_day]
        self.need_names = tuple(s.demand.needs)
        self._navigation = self._signposting(streams.get("navigation"))
        self.eligible = self._eligibility()
        teams, team_of = team_index(s)
        self.practice_view = PracticeView(
            patients=self.patients,
            workforce=self.workforce,
            need_names=self.need_names,
            horizon_days=s.practice.booking_horizon_days,
            release_days=s.practice.on_the_day_release_minutes / (24.0 * 60.0),
            cohorts=self.cohorts,
            teams=teams,
            team_of_clinician=team_of,
            usual_clinician=self.usual,
            follow_up_window_days=s.follow_ups.same_clinician_window_days,
        )
        self._extra_days = [s.choice.extra_days_by_need.get(n, 0.0) for n in self.need_names]
        self._values = self.patients.values_continuity.tolist()
        self._decline_after = s.choice.decline_beyond_days
        self.policy: BookingPolicy = make_policy(
            s.policy.name, dict(s.policy.params), self.practice_view, streams.get("policy")
        )
        self._dna_rng = streams.get("dna")
        self._fu_rng = streams.get("follow_up")
        needs = list(s.demand.needs.values())
        self._fu_p = np.array([n.follow_up_probability for n in needs])
        self._fu_lo = np.array([n.follow_up_delay_days[0] for n in needs])
        self._fu_span = np.array([n.follow_up_delay_days[1] - n.follow_up_delay_days[0] + 1
                                  for n in needs])
        self._fu_known_factor = s.follow_ups.known_clinician_factor
        self._fu_known_after = s.follow_ups.known_after_visits
        # Attended consultations per (patient, clinician) so far.
        self.pair_visits: dict[tuple[int, int], int] = {}
        bands = s.dna.by_lead_days
        max_lead = self.n_days + 1
        self._dna_by_lead = np.empty(max_lead)
        lo = 0
        for b in bands:
            hi = max_lead if b.max_lead_days is None else min(b.max_lead_days + 1, max_lead)
            self._dna_by_lead[lo:hi] = b.probability
            lo = hi
        nxt = np.full(self.n_days + 1, self.n_days, dtype=np.int64)
        for d in range(self.n_days - 1, -1, -1):
            nxt[d] = d + 1 if d + 1 < self.n_days and self.is_open[d + 1] else nxt[d + 1]
        self._next_open = nxt.tolist()
        self._open_time = hours(s.practice.opening.open) / 24.0
        self.log = EventLog()
        self._slot_appointment: dict[int, int] = {}
        self._day_appointments: list[list[int]] = [[] for _ in range(self.n_days)]
        self._max_attempts = s.practice.max_attempts
        self._spell_ptr = 0
        # Retries and rebookings waiting for each day's opening, in the order queued.
        self._queue: list[list[Request]] = [[] for _ in range(self.n_days)]
        a = self.arrivals
        # Arrivals of day d are a[_day_start[d]:_day_start[d + 1]].
        self._day_start = np.searchsorted(a.time, np.arange(self.end_day + 1), side="left").tolist()
        self._arrival_lists: tuple | None = None  # made when the reference engine runs
        self.engine = ""
        self.env: simpy.Environment | None = None
        self.emergencies: Emergencies | None = None

    def _eligibility(self) -> list[list[tuple[int, ...]]]:
        """Clinicians able to take each (need, mode): role suits need, role does mode."""
        wf, s = self.workforce, self.scenario
        table = []
        for need in s.demand.needs.values():
            roles = set(need.roles)
            row = []
            for mode in MODES:
                row.append(tuple(c for c in range(wf.size)
                                 if wf.roles[c] in roles and mode in wf.modes[c]))
            table.append(row)
        return table

    # ---------------------------------------------------------------- running

    def run(self, engine: str | None = None) -> EventLog:
        """Simulate from day 0 to the end of the observation window.

        Args:
            engine: ``"compiled"``, ``"reference"`` or ``"auto"`` (the default, or the
                ``GPSIM_ENGINE`` environment variable): see :func:`choose_engine`.
                Both give identical results.
        """
        desk = choose_engine(self, engine)
        self.engine = desk.engine_name
        env = simpy.Environment()
        self.env = env
        env.process(self._days(env, desk))
        env.run(until=self.end_day)
        desk.attendance(self.end_day - 1)
        desk.finish()
        self.emergencies = simulate_emergencies(self, self.streams)
        return self.log

    def _days(self, env: simpy.Environment, desk):
        """SimPy's clock: the desk works through days in order, the clock follows.

        The reference desk does one day per step; the compiled desk a stretch
        of days up to the next change of lists (a leaver).
        """
        d = 0
        while True:
            reached = desk.days(d)
            if reached >= self.end_day:
                # Return rather than wait for the end: a process left waiting would
                # keep the model in a reference cycle until a full garbage collection.
                return
            yield env.timeout(reached - d)
            d = reached

    # The reference engine: the booking desk in plain Python, for any policy.

    engine_name = "reference"

    def days(self, d: int) -> int:
        """Day ``d`` (see :meth:`day`); the next day to do."""
        self.day(d, self._leavers.get(d, ()))
        return d + 1

    def day(self, d: int, leavers=()) -> None:
        """Day ``d``, in this order (the compiled engine keeps it exactly).

        At midnight: yesterday's appointments are attended or missed (and
        follow-ups booked), leavers' lists are reassigned, and sickness that
        starts today closes clinicians' days (their patients are queued for
        rebooking at opening). At opening: requests queued for today
        (retries and rebookings, in the order they were queued). Then the
        day's new requests, in time order.
        """
        if d > 0:
            self.attendance(d - 1)
        for c in leavers:
            self._reassign(c, d)
        self.sickness(d)
        self.opening(d)
        self.new_requests(d)

    def finish(self) -> None:
        """Nothing to write back: the reference engine logs as it goes."""

    def opening(self, d: int) -> None:
        """Retries and rebookings queued for day ``d``, in the order they were queued."""
        queue = self._queue[d]
        for req in queue:
            self._handle(req)
        queue.clear()

    def new_requests(self, d: int) -> None:
        """The new requests of day ``d``, in time order."""
        if self._arrival_lists is None:
            a = self.arrivals
            self._arrival_lists = (
                a.time.tolist(), a.patient.tolist(), a.need.tolist(), a.urgency.tolist(),
                a.mode.tolist(), a.from_day.tolist(),
                a.named.tolist() if a.named is not None else None)
        times, patients, needs, urgencies, modes, from_day, named = self._arrival_lists
        eligible = self.eligible
        for j in range(self._day_start[d], self._day_start[d + 1]):
            t = times[j]
            need, mode, urgency, p = needs[j], modes[j], urgencies[j], patients[j]
            if self._navigation is not None and urgency != REVIEW:
                to = self._navigation[j]
                if to == -2:  # signposted to another service: no appointment here
                    rid = self._new_request(p, t, need, urgency, mode, from_day[j])
                    self.log.req_outcome[rid] = SIGNPOSTED
                    continue
                if to >= 0:
                    need = to
            with_clinician = -1
            if urgency == REVIEW:
                with_clinician = self._named_clinician(p, named[j], eligible[need][mode])
            rid = self._new_request(p, t, need, urgency, mode, from_day[j], with_clinician)
            self._handle(Request(rid, p, t, need, urgency, mode, 1, t,
                                 eligible[need][mode], from_day[j], with_clinician))

    def _signposting(self, rng: np.random.Generator) -> list[int] | None:
        """Care navigation for each arrival: -1 book as asked, -2 elsewhere, else a new need.

        Drawn from the "navigation" stream, one uniform per arrival, so the
        other streams are unchanged and every policy sees the same signposting.
        """
        needs = list(self.scenario.demand.needs.values())
        if not any(n.signposted_share > 0 for n in needs):
            return None
        share = np.array([n.signposted_share for n in needs])
        target = np.array([-2 if n.signposted_to == "external"
                           else self.need_names.index(n.signposted_to) for n in needs])
        a = self.arrivals
        hit = rng.random(len(a)) < share[a.need]
        return np.where(hit, target[a.need], -1).tolist()

    def _named_clinician(self, patient: int, named: int, eligible: tuple[int, ...]) -> int:
        """The clinician a review is with now (the usual GP or their team's lead), or -1.

        -1 when that clinician cannot take the review's need and mode (it then
        goes to anyone who can).
        """
        c = self._usual_list[patient]
        if named != NAMED_USUAL_GP:
            team = self.practice_view.team_of_patient(patient)
            c = team[0] if team else c
        return c if c in eligible else -1

    def _new_request(self, patient: int, t: float, need: int, urgency: int, mode: int,
                     from_day: int, with_clinician: int = -1) -> int:
        L = self.log
        L.req_patient.append(patient)
        L.req_time.append(t)
        L.req_from_day.append(from_day)
        L.req_with.append(with_clinician)
        L.req_need.append(need)
        L.req_urgency.append(urgency)
        L.req_mode.append(mode)
        L.req_attempts.append(0)
        L.req_outcome.append(PENDING)
        L.req_appointment.append(-1)
        return len(L.req_patient) - 1

    def _handle(self, req: Request) -> None:
        L = self.log
        L.req_attempts[req.id] += 1
        slot = self._choose(req, self.policy.offers(req, self.calendar))
        if slot is not None:
            self._book(req, slot)
            return
        L.unmet_request.append(req.id)
        L.unmet_time.append(req.time)
        if req.attempt >= self._max_attempts:
            L.req_outcome[req.id] = GAVE_UP
            L.gave_up_at[req.id] = req.time
            return
        t = self._next_open[req.day] + self._open_time
        if t < self.end_day:
            retry = Request(req.id, req.patient, t, req.need, req.urgency, req.mode,
                            req.attempt + 1, req.first_time, req.eligible, req.from_day,
                            req.with_clinician)
            self._at(t, retry)

    def _choose(self, req: Request, offers) -> Slot | None:
        """The patient's choice among the offers: see :func:`patient_choice`."""
        return patient_choice(
            offers, req.urgency, bool(self._values[req.patient]), self._extra_days[req.need],
            req.first_time, self._decline_after,
        )

    def _at(self, t: float, req: Request) -> None:
        """Queue a retry or rebooking for opening time ``t`` (handled by :meth:`opening`)."""
        self._queue[int(t)].append(req)

    def _book(self, req: Request, slot: Slot) -> None:
        self.calendar.book(slot, req.time)
        L = self.log
        aid = len(L.appt_request)
        L.appt_request.append(req.id)
        L.appt_patient.append(req.patient)
        L.appt_clinician.append(slot.clinician)
        L.appt_time.append(slot.time)
        L.appt_booked_at.append(req.time)
        L.appt_pool.append(slot.pool)
        L.appt_status.append(BOOKED)
        L.appt_usual.append(self._usual_list[req.patient])
        L.req_outcome[req.id] = GOT_APPOINTMENT
        L.req_appointment[req.id] = aid
        self._slot_appointment[slot.index] = aid
        self._day_appointments[slot.day].append(aid)

    def _reassign(self, leaver: int, d: int) -> None:
        """A list-holder leaves: their patients go to their team's list-holders, else anyone's."""
        holds = self.workforce.holds_list & self.in_post[:, d]
        team = self.practice_view.team_of_clinician.get(leaver)
        pool = np.array([], dtype=np.int64)
        if team is not None:
            pool = np.array([c for c in self.practice_view.teams[team] if holds[c]], dtype=np.int64)
        if pool.size == 0:
            pool = np.nonzero(holds)[0]
        if pool.size == 0:
            log.warning("day %d: %s leaves and no list-holder remains; list kept", d,
                        self.workforce.ids[leaver])
            return
        moving = np.nonzero(self.usual == leaver)[0]
        moved = reassign_list(self.usual, leaver, pool, self.workforce.sessions_per_week[pool],
                              self._caps[pool], self._lists_rng)
        self.list_changes.append((d, moving))
        self._usual_list = self.usual.tolist()
        log.debug("day %d: %d patients of %s reassigned", d, moved, self.workforce.ids[leaver])

    def sickness(self, d: int) -> None:
        """Sickness starting on day ``d``: close the days, queue the patients for rebooking."""
        spells = self.spells
        while self._spell_ptr < len(spells) and spells[self._spell_ptr][0] == d:
            _, c, length = spells[self._spell_ptr]
            self._spell_ptr += 1
            for day in range(d, min(d + length, self.n_days)):
                for index in self.calendar.close_day(c, day):
                    self._cancel_and_rebook(self._slot_appointment[index], d)

    def _cancel_and_rebook(self, aid: int, d: int) -> None:
        L = self.log
        L.appt_status[aid] = CANCELLED
        rid = L.appt_request[aid]
        L.req_outcome[rid] = PENDING
        L.req_appointment[rid] = -1
        if not self.is_open[d]:
            d = self._next_open[d]
        t = d + self._open_time
        if t >= self.end_day:
            return
        need, mode = L.req_need[rid], L.req_mode[rid]
        req = Request(rid, L.req_patient[rid], t, need, L.req_urgency[rid], mode, 1,
                      L.req_time[rid], self.eligible[need][mode], L.req_from_day[rid],
                      L.req_with[rid])
        log.debug("day %d: appointment %d cancelled by sickness; rebooking", d, aid)
        self._at(t, req)

    def attendance(self, d: int) -> None:
        """Day ``d``'s booked appointments are attended or missed; follow-ups are booked."""
        L = self.log
        ids = [a for a in self._day_appointments[d] if L.appt_status[a] == BOOKED]
        if not ids:
            return
        ids_arr = np.array(ids)
        booked_day = np.array([L.appt_booked_at[a] for a in ids], dtype=float).astype(np.int64)
        lead = d - booked_day
        patient = np.array([L.appt_patient[a] for a in ids])
        p = np.minimum(self._dna_by_lead[lead] * self.patients.dna_propensity[patient], 1.0)
        if self.calendar.has_online:  # an online consultation is answered, never missed
            p[np.array([L.appt_pool[a] for a in ids]) == ONLINE] = 0.0
        missed = self._dna_rng.random(ids_arr.size) < p
        status = L.appt_status
        for a, m in zip(ids, missed.tolist(), strict=True):
            status[a] = DNA if m else ATTENDED
        self._follow_ups(d, [a for a, m in zip(ids, missed.tolist(), strict=True) if not m])

    def _follow_ups(self, d: int, attended: list[int]) -> None:
        """Record who was seen by whom; some consultations ask for a follow-up.

        The follow-up probability is lower when the clinician already knows the
        patient (``follow_ups.known_after_visits`` earlier consultations). The
        request counts as made at the consultation; it is booked at the end of
        that day (midnight) for a day ``follow_up_delay_days`` later, with the
        same clinician.
        """
        if not attended:
            return
        L = self.log
        pairs = self.pair_visits
        n = len(attended)
        u = self._fu_rng.random(n)
        v = self._fu_rng.random(n)
        t = float(d + 1)
        make = t < self.end_day
        for j, a in enumerate(attended):
            key = (L.appt_patient[a], L.appt_clinician[a])
            prior = pairs.get(key, 0)
            pairs[key] = prior + 1
            rid = L.appt_request[a]
            need = L.req_need[rid]
            p = self._fu_p[need]
            if prior >= self._fu_known_after:
                p *= self._fu_known_factor
            if not make or u[j] >= p:
                continue
            from_day = d + int(self._fu_lo[need] + int(v[j] * self._fu_span[need]))
            mode = L.req_mode[rid]
            seen_at = L.appt_time[a]
            new = self._new_request(key[0], seen_at, need, FOLLOW_UP, mode, from_day, key[1])
            self._handle(Request(new, key[0], t, need, FOLLOW_UP, mode, 1, seen_at,
                                 self.eligible[need][mode], from_day, key[1]))


ENGINES = ("auto", "compiled", "reference")


def choose_engine(model: PracticeModel, engine: str | None = None):
    """The booking desk that runs ``model``: the compiled engine or the reference one.

    ``"auto"`` (the default; the ``GPSIM_ENGINE`` environment variable may set
    another) uses the compiled engine (:mod:`sim.compiled`, numba) when the
    policy declares a compiled rule (every built-in policy does) and numba
    imports, and the reference engine (plain Python, any policy) otherwise.
    ``"compiled"`` insists on the compiled engine. The two give identical results.
    """
    engine = engine or os.environ.get("GPSIM_ENGINE") or "auto"
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    if engine == "reference":
        return model
    rule_of = getattr(model.policy, "compiled_rule", None)
    rule = rule_of() if rule_of is not None else None
    if rule is None:
        if engine == "compiled":
            raise ValueError(f"policy {model.scenario.policy.name!r} declares no compiled rule; "
                             "it runs on the reference engine only")
        return model
    try:
        from .compiled import CompiledDesk, NotCompilable
    except ImportError as e:  # numba missing or broken: the reference engine still works
        if engine == "compiled":
            raise
        log.warning("compiled engine unavailable (%s); using the reference engine", e)
        return model
    try:
        return CompiledDesk(model, rule)
    except NotCompilable as e:
        if engine == "compiled":
            raise
        log.info("reference engine: %s", e)
        return model


def patient_choice(
    offers, urgency: int, values_continuity: bool, extra_days: float, first_time: float,
    decline_after: float | None,
) -> Slot | None:
    """Which offer a patient takes (offers are ranked best first by the policy).

    Urgent requests and follow-ups take the first offer. A routine patient
    takes the soonest offer, unless they value continuity and an offer ranked
    before it (their usual clinician or team) is at most ``extra_days`` later;
    then they take that one. A routine patient declines everything when the
    chosen slot is more than ``decline_after`` days after they first asked.

    Returns:
        The slot taken, or None (nothing offered, or declined).
    """
    if not offers:
        return None
    chosen = offers[0]
    if urgency == ROUTINE and len(offers) > 1:
        soonest = min(offers, key=_slot_time)
        chosen = soonest
        if values_continuity:
            for o in offers:
                if o is soonest or o.time - soonest.time <= extra_days:
                    chosen = o
                    break
    if (decline_after is not None and urgency == ROUTINE
            and chosen.time - first_time > decline_after):
        return None
    return chosen


def _slot_time(slot: Slot) -> float:
    return slot.time
