"""The reference booking desk: the model's day in plain Python, for any policy.

Each day, in this order (:meth:`ReferenceDesk.day`):

* at **midnight**, yesterday's appointments are attended or missed (DNA, by
  lead time and the patient's propensity) and follow-ups are booked; a
  list-holder who leaves today has their list reassigned; sickness spells
  that start today are revealed: the clinician's days are closed and patients
  already booked with them are queued for rebooking;
* at **opening**, the requests queued for today (retries and rebookings) are
  handled in the order they were queued;
* then the day's **new requests**, in continuous time within opening hours
  (drawn up front, :mod:`sim.world.demand`): each goes to the booking policy,
  which offers slots, and the patient chooses
  (:func:`sim.engine.choice.patient_choice`). A request that finds nothing is
  logged as unmet and queued for the next working day's opening, until
  ``practice.max_attempts``; then the patient gives up.

:class:`sim.engine.compiled.CompiledDesk` does exactly the same in numba for
the built-in policies; the tests require identical event logs. Nothing here
plots or prints.
"""

from __future__ import annotations

import logging

import numpy as np

from ..codes import (
    ATTENDED,
    BOOKED,
    CANCELLED,
    DNA,
    FOLLOW_UP,
    GAVE_UP,
    GOT_APPOINTMENT,
    NAMED_NONE,
    NAMED_USUAL_GP,
    NAV_ELSEWHERE,
    ONLINE,
    PENDING,
    PLANNED,
    REVIEW,
    ROUTINE,
    SIGNPOSTED,
)
from ..world.build import World
from .calendar import Calendar, Slot
from .choice import patient_choice
from .contract import BookingRecord, EventLog
from .lists import ListState
from .offers import routine_slot, with_first
from .policy_api import BookingPolicy, Request

log = logging.getLogger(__name__)


class _Columns:
    """The event log's columns as growing Python lists (see :class:`EventLog`)."""

    def __init__(self) -> None:
        for name in EventLog.__dataclass_fields__:
            setattr(self, name, [])

    def to_log(self) -> EventLog:
        return EventLog.from_columns(**{name: getattr(self, name)
                                        for name in EventLog.__dataclass_fields__})


class ReferenceDesk:
    """The booking desk in plain Python (see the module docstring).

    Args:
        world: the run's world (read only).
        schedule: the policy of each day (:class:`sim.engine.schedule.PolicySchedule`).
        lists: the run's lists (changed in place when a GP leaves).
    """

    engine_name = "reference"

    def __init__(self, world: World, schedule, lists: ListState):
        self.world = world
        self.schedule = schedule
        self.policy: BookingPolicy = schedule.policy_on(0)
        self._changes = set(schedule.change_days)
        self._rebalance = set(world.rebalance_days)
        self.lists = lists
        rules = world.rules
        self.calendar = Calendar(world.slots)
        self._log = _Columns()
        self._usual = lists.usual.tolist()
        self._values = world.patients.values_continuity.tolist()
        self._extra_days = rules.extra_days.tolist()
        self._extra_without_preference = rules.extra_days_without_preference
        self._asks = rules.ask_for_own_gp
        self._next_open = rules.next_open.tolist()
        self._is_open = rules.is_open
        self._eligible = world.eligible
        self._dna_rng = world.streams.get("dna")
        self._fu_rng = world.streams.get("follow_up")
        #: Attended consultations per (patient, clinician) so far, the history's first.
        h = world.history
        self.pair_visits: dict[tuple[int, int], int] = dict(zip(
            zip(h.patient.tolist(), h.clinician.tolist(), strict=True),
            h.consultations.tolist(), strict=True))
        self._slot_appointment: dict[int, int] = {}
        self._day_appointments: list[list[int]] = [[] for _ in range(world.n_days)]
        self._spell = 0
        # Retries and rebookings waiting for each day's opening, in the order queued.
        self._queue: list[list[Request]] = [[] for _ in range(world.n_days)]
        a = world.arrivals
        # Arrivals of day d are a[day_start[d]:day_start[d + 1]].
        self._day_start = np.searchsorted(a.time, np.arange(world.end_day + 1),
                                          side="left").tolist()
        self._arrivals = (a.time.tolist(), a.patient.tolist(), a.need.tolist(),
                          a.urgency.tolist(), a.mode.tolist(), a.from_day.tolist(),
                          a.named.tolist() if a.named is not None else None)
        self._navigation = None if world.navigation is None else world.navigation.tolist()

    # ------------------------------------------------------------------ the contract

    def days(self, d: int) -> int:
        """Day ``d`` (see :meth:`day`); the next day to do."""
        self.day(d)
        return d + 1

    def finish(self) -> BookingRecord:
        """The last day's attendance, then the run's record."""
        self.attendance(self.world.end_day - 1)
        return BookingRecord(engine=self.engine_name, log=self._log.to_log(),
                             cells=self.calendar.cell_table(),
                             usual_at_end=self.lists.usual.copy(),
                             list_changes=tuple(self.lists.changes))

    # ------------------------------------------------------------------ the day

    def day(self, d: int) -> None:
        """Day ``d``: a change of policy, midnight, the opening queue, new requests.

        Midnight: yesterday's attendance, leavers' lists, lists tidied by a
        change, sickness.
        """
        if d in self._changes:
            self.policy = self.schedule.policy_on(d)
        if d > 0:
            self.attendance(d - 1)
        for c in self.world.leavers.get(d, ()):
            self.lists.reassign(c, d)
            self._usual = self.lists.usual.tolist()
        if d in self._rebalance:
            self.lists.rebalance(d)
            self._usual = self.lists.usual.tolist()
        self.sickness(d)
        self.opening(d)
        self.new_requests(d)

    def opening(self, d: int) -> None:
        """Retries and rebookings queued for day ``d``, in the order they were queued."""
        queue = self._queue[d]
        for request in queue:
            self._handle(request)
        queue.clear()

    def new_requests(self, d: int) -> None:
        """The new requests of day ``d``, in time order."""
        times, patients, needs, urgencies, modes, from_day, named = self._arrivals
        eligible = self._eligible
        navigation = self._navigation
        for j in range(self._day_start[d], self._day_start[d + 1]):
            t = times[j]
            need, mode, urgency, p = needs[j], modes[j], urgencies[j], patients[j]
            if navigation is not None and urgency != REVIEW and urgency != PLANNED:
                to = navigation[j]
                if to == NAV_ELSEWHERE:  # another service: no appointment here
                    rid = self._new_request(p, t, need, urgency, mode, from_day[j])
                    self._log.req_outcome[rid] = SIGNPOSTED
                    continue
                if to >= 0:
                    need = to
            with_clinician = -1
            if (urgency == REVIEW or urgency == PLANNED) and named[j] != NAMED_NONE:
                with_clinician = self._named_clinician(p, named[j], eligible[need][mode])
            rid = self._new_request(p, t, need, urgency, mode, from_day[j], with_clinician)
            self._handle(Request(rid, p, t, need, urgency, mode, 1, t,
                                 eligible[need][mode], from_day[j], with_clinician))

    def _named_clinician(self, patient: int, named: int, eligible: tuple[int, ...]) -> int:
        """The clinician a review is with now (the usual GP or their team's lead), or -1.

        -1 when that clinician cannot take the review's need and mode (it then
        goes to anyone who can).
        """
        c = self._usual[patient]
        if named != NAMED_USUAL_GP:
            k = self.world.team_of.get(c)
            if k is not None:
                c = self.world.teams[k][0]
        return c if c in eligible else -1

    def _new_request(self, patient: int, t: float, need: int, urgency: int, mode: int,
                     from_day: int, with_clinician: int = -1) -> int:
        log_ = self._log
        log_.req_patient.append(patient)
        log_.req_time.append(t)
        log_.req_from_day.append(from_day)
        log_.req_with.append(with_clinician)
        log_.req_need.append(need)
        log_.req_urgency.append(urgency)
        log_.req_mode.append(mode)
        log_.req_attempts.append(0)
        log_.req_outcome.append(PENDING)
        log_.req_appointment.append(-1)
        log_.req_gave_up_at.append(np.nan)
        return len(log_.req_patient) - 1

    def _offers(self, request: Request) -> list[Slot]:
        """The policy's offers, with the patient's own GP first if they ask for them.

        A patient who values continuity asks for their usual GP (whatever the
        policy) for a routine request their GP can take: their GP's earliest
        slot is offered first. (An urgent request goes to whoever the policy
        offers today: the patient does not choose who is on duty.)
        """
        offers = self.policy.offers(request, self.calendar)
        if not (self._asks and self._values[request.patient] and request.urgency == ROUTINE):
            return offers
        own = self._usual[request.patient]
        if own not in request.eligible:
            return offers
        rules = self.world.rules
        return with_first(offers, routine_slot(request, self.calendar, rules.horizon_days,
                                               rules.release_days, (own,)))

    def _handle(self, request: Request) -> None:
        log_ = self._log
        log_.req_attempts[request.id] += 1
        offers = self._offers(request)
        values = self._values[request.patient]
        slot = patient_choice(
            offers, request.urgency,
            self._extra_days[request.need] if values else self._extra_without_preference,
            request.first_time, self.world.rules.decline_after_days)
        if slot is not None:
            self._book(request, slot, slot.time - min(o.time for o in offers))
            return
        log_.unmet_request.append(request.id)
        log_.unmet_time.append(request.time)
        if request.attempt >= self.world.rules.max_attempts:
            log_.req_outcome[request.id] = GAVE_UP
            log_.req_gave_up_at[request.id] = request.time
            return
        t = self._next_open[request.day] + self.world.rules.open_time
        if t < self.world.end_day:
            self._queue[int(t)].append(Request(
                request.id, request.patient, t, request.need, request.urgency, request.mode,
                request.attempt + 1, request.first_time, request.eligible, request.from_day,
                request.with_clinician))

    def _book(self, request: Request, slot: Slot, held_out: float) -> None:
        self.calendar.book(slot, request.time)
        log_ = self._log
        aid = len(log_.appt_request)
        log_.appt_request.append(request.id)
        log_.appt_patient.append(request.patient)
        log_.appt_clinician.append(slot.clinician)
        log_.appt_time.append(slot.time)
        log_.appt_booked_at.append(request.time)
        log_.appt_pool.append(slot.pool)
        log_.appt_status.append(BOOKED)
        log_.appt_usual.append(self._usual[request.patient])
        log_.appt_held_out_days.append(held_out)
        log_.req_outcome[request.id] = GOT_APPOINTMENT
        log_.req_appointment[request.id] = aid
        self._slot_appointment[slot.index] = aid
        self._day_appointments[slot.day].append(aid)

    def sickness(self, d: int) -> None:
        """Sickness starting on day ``d``: close the days, queue the patients for rebooking."""
        spells = self.world.spells
        n_days = self.world.n_days
        while self._spell < len(spells) and spells[self._spell][0] == d:
            _, c, length = spells[self._spell]
            self._spell += 1
            for day in range(d, min(d + length, n_days)):
                for index in self.calendar.close_day(c, day):
                    self._cancel_and_rebook(self._slot_appointment[index], d)

    def _cancel_and_rebook(self, aid: int, d: int) -> None:
        log_ = self._log
        log_.appt_status[aid] = CANCELLED
        rid = log_.appt_request[aid]
        log_.req_outcome[rid] = PENDING
        log_.req_appointment[rid] = -1
        if not self._is_open[d]:
            d = self._next_open[d]
        t = d + self.world.rules.open_time
        if t >= self.world.end_day:
            return
        need, mode = log_.req_need[rid], log_.req_mode[rid]
        log.debug("day %d: appointment %d cancelled by sickness; rebooking", d, aid)
        self._queue[int(t)].append(Request(
            rid, log_.req_patient[rid], t, need, log_.req_urgency[rid], mode, 1,
            log_.req_time[rid], self._eligible[need][mode], log_.req_from_day[rid],
            log_.req_with[rid]))

    def attendance(self, d: int) -> None:
        """Day ``d``'s booked appointments are attended or missed; follow-ups are booked."""
        log_ = self._log
        ids = [a for a in self._day_appointments[d] if log_.appt_status[a] == BOOKED]
        if not ids:
            return
        rules = self.world.rules
        booked_day = np.array([log_.appt_booked_at[a] for a in ids], dtype=float).astype(np.int64)
        patient = np.array([log_.appt_patient[a] for a in ids])
        p = np.minimum(rules.dna_by_lead[d - booked_day] * rules.dna_propensity[patient], 1.0)
        if self.calendar.has_online:  # an online consultation is answered, never missed
            p[np.array([log_.appt_pool[a] for a in ids]) == ONLINE] = 0.0
        missed = (self._dna_rng.random(len(ids)) < p).tolist()
        status = log_.appt_status
        for a, m in zip(ids, missed, strict=True):
            status[a] = DNA if m else ATTENDED
        self._follow_ups(d, [a for a, m in zip(ids, missed, strict=True) if not m])

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
        log_ = self._log
        rules = self.world.rules
        pairs = self.pair_visits
        n = len(attended)
        u = self._fu_rng.random(n)
        v = self._fu_rng.random(n)
        t = float(d + 1)
        make = t < self.world.end_day
        for j, a in enumerate(attended):
            key = (log_.appt_patient[a], log_.appt_clinician[a])
            prior = pairs.get(key, 0)
            pairs[key] = prior + 1
            rid = log_.appt_request[a]
            need = log_.req_need[rid]
            p = rules.follow_up_probability[need]
            if prior >= rules.known_after_visits:
                p *= rules.known_clinician_factor
            if not make or u[j] >= p:
                continue
            from_day = d + int(rules.follow_up_delay_lo[need]
                               + int(v[j] * rules.follow_up_delay_span[need]))
            mode = log_.req_mode[rid]
            seen_at = log_.appt_time[a]
            new = self._new_request(key[0], seen_at, need, FOLLOW_UP, mode, from_day, key[1])
            self._handle(Request(new, key[0], t, need, FOLLOW_UP, mode, 1, seen_at,
                                 self._eligible[need][mode], from_day, key[1]))
