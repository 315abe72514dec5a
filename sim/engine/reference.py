"""The reference booking desk: the practice as a SimPy model, in plain Python, for any policy.

This is the readable definition of the model. Its processes, each a generator
that SimPy runs on one clock (:meth:`ReferenceDesk.start`):

* :meth:`~ReferenceDesk.patients_get_in_touch`: requests arrive in continuous
  time within opening hours (each drawn up front, :mod:`sim.world.demand`), and
  reception tries to book each at once (:meth:`~ReferenceDesk.reception`);
* :meth:`~ReferenceDesk.clinician_works`: one per clinician; on each day they
  work, at midnight, their session's held (on-the-day) slots open for that day;
  their bookable-ahead slots are in the book from the start (a practice's rota
  is set months ahead), and who may book how far ahead is reception's rule
  (below);
* :meth:`~ReferenceDesk.practice_at_midnight`: each midnight, a change of policy
  takes effect; yesterday's clinics are closed (each appointment attended or
  missed, a DNA, in the order it was booked, and clinicians ask some patients to
  come back: follow-ups, booked there and then); a leaving GP's list passes to the
  others;
* :meth:`~ReferenceDesk.clinician_falls_sick`: one per sickness spell; on its
  first day the clinician's sessions close and every patient booked with them is
  asked to call again;
* :meth:`~ReferenceDesk.patient_calls_back`: a patient who found nothing (or
  lost an appointment to sickness) calls again when the practice next opens,
  until they give up (``practice.max_attempts``).

Reception (:meth:`~ReferenceDesk.reception`) asks the booking policy for offers,
the patient chooses (:func:`sim.engine.choice.patient_choice`) and the slot is
booked. Where the practice triages (``practice.urgent_care.triage``), a GP's
call comes first (:meth:`~ReferenceDesk.triage`) and may resolve the request.
Reception's rules on what may be offered are the booking policy's and
:mod:`sim.engine.offers`: routine requests up to the booking horizon, a held
slot to a routine caller only within ``on_the_day_release_minutes`` of its start,
follow-ups and reviews with their named clinician near the day wanted.

Order within a moment: the midnight routine and each clinician's opening come
before anything else at midnight, and call-backs at opening before a new request
at the same instant (they have SimPy's ``URGENT`` priority); events at the same
moment otherwise keep the order they were scheduled in. This is the order
:class:`sim.engine.compiled.CompiledDesk` follows, the model's fast twin for the
built-in policies; the tests require identical event logs. Nothing here plots
or prints.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

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
    NOT_TRIAGED,
    ON_THE_DAY,
    ONLINE,
    PENDING,
    PLANNED,
    RESOLVED_AT_TRIAGE,
    REVIEW,
    ROUTINE,
    SIGNPOSTED,
    TRIAGED_RESOLVED,
    TRIAGED_TO_BOOK,
)
from ..world.build import World
from .calendar import Calendar, Slot
from .choice import patient_choice
from .contract import TABLES, BookingRecord, EventLog, columns
from .lists import ListState
from .offers import routine_slot, with_first
from .policy_api import BookingPolicy, Request

log = logging.getLogger(__name__)


class At(simpy.events.Event):
    """An event at a given moment (simulation days), ``URGENT`` or ``NORMAL`` among its peers."""

    def __init__(self, env: simpy.Environment, time: float, priority: int = NORMAL):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority, time - env.now)


class EventLogBook:
    """The event log as it grows: one list per column (:data:`sim.engine.contract.COLUMNS`)."""

    def __init__(self) -> None:
        self.cols: dict[str, list] = {c.field: [] for t in TABLES for c in columns(t)}
        # Per table: each column's list, name and starting value.
        self._specs = {t: [(self.cols[c.field], c.name, c.new) for c in columns(t)]
                       for t in TABLES}

    def add(self, table: str, **values) -> int:
        """A new record of ``table``: the given values, every other column at its start.

        Returns its row. (``with_`` stands for the column ``with``, a Python keyword.)
        """
        if "with_" in values:
            values["with"] = values.pop("with_")
        specs = self._specs[table]
        for column, name, new in specs:
            column.append(values.get(name, new))
        return len(specs[0][0]) - 1

    def to_log(self) -> EventLog:
        """The finished log."""
        return EventLog.from_columns(**self.cols)


class ReferenceDesk:
    """The practice as a SimPy model (see the module docstring).

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
        self.lists = lists
        self.calendar = Calendar(world.slots, sessions_open_held=True)
        self.book = EventLogBook()
        self.env: simpy.Environment | None = None
        rules = world.rules
        self._usual = lists.usual.tolist()
        self._values = world.patients.values_continuity.tolist()
        self._dna_rng = world.streams.get("dna")
        self._fu_rng = world.streams.get("follow_up")
        self._triage_rng = world.streams.get("triage")
        #: Triage calls each day can still take (``practice.urgent_care.triage``).
        self._triage_left = rules.triage_calls.tolist()
        self._triaged = rules.triage_kinds.tolist()
        #: Attended consultations per (patient, clinician) so far, the history's first.
        h = world.history
        self.pair_visits: dict[tuple[int, int], int] = dict(zip(
            zip(h.patient.tolist(), h.clinician.tolist(), strict=True),
            h.consultations.tolist(), strict=True))
        self._slot_appointment: dict[int, int] = {}
        self._day_appointments: list[list[int]] = [[] for _ in range(world.n_days)]
        self._open_at = rules.open_time
        self._next_open = rules.next_open.tolist()
        #: Each opening's event (time -> event), which every call-back for it waits on.
        self._openings: dict[float, simpy.Event] = {}

    # ------------------------------------------------------------------ the contract

    def start(self, env: simpy.Environment) -> None:
        """Put the model's processes on the clock (run it to ``world.end_day``)."""
        self.env = env
        for c in range(self.calendar.n_clinicians):
            env.process(self.clinician_works(c))
        env.process(self.practice_at_midnight())
        for spell in self.world.spells:
            if spell[0] < self.world.end_day:
                env.process(self.clinician_falls_sick(*spell))
        env.process(self.patients_get_in_touch())

    def finish(self) -> BookingRecord:
        """The last day's clinics closed, then everything that happened."""
        self.clinics_close(self.world.end_day - 1)
        return BookingRecord(engine=self.engine_name, log=self.book.to_log(),
                             cells=self.calendar.cell_table(),
                             usual_at_end=self.lists.usual.copy(),
                             list_changes=tuple(self.lists.changes))

    # ------------------------------------------------------------------ the processes

    def clinician_works(self, c: int) -> Iterator[simpy.Event]:
        """Clinician ``c``'s working days: each opens their held slots at midnight."""
        env = self.env
        for day in self.calendar.days_with(ON_THE_DAY, c):
            if day >= self.world.end_day:
                return
            if day > env.now:
                yield At(env, day, URGENT)
            self.calendar.open_held(c, day)

    def practice_at_midnight(self) -> Iterator[simpy.Event]:
        """Each midnight: a new policy, yesterday's clinics closed, leavers' lists moved."""
        env, world = self.env, self.world
        changes = set(self.schedule.change_days)
        for d in range(world.end_day):
            if d > 0:
                yield At(env, d, URGENT)
            if d in changes:
                self.policy = self.schedule.policy_on(d)
            if d > 0:
                self.clinics_close(d - 1)
            for c in world.leavers.get(d, ()):
                self.lists.reassign(c, d)
                self._usual = self.lists.usual.tolist()
            if d in world.rebalance_days:
                self.lists.rebalance(d)
                self._usual = self.lists.usual.tolist()

    def clinician_falls_sick(self, day: int, c: int, length: int) -> Iterator[simpy.Event]:
        """A sickness spell: the clinician's sessions close; their patients must rebook."""
        if day > self.env.now:
            yield self.env.timeout(day - self.env.now)
        for d in range(day, min(day + length, self.world.n_days)):
            for index in self.calendar.close_day(c, d):
                self.cancel_and_rebook(self._slot_appointment[index], day)

    def patients_get_in_touch(self) -> Iterator[simpy.Event]:
        """The requests of the run, each at its time; reception tries to book each at once."""
        env, world = self.env, self.world
        a = world.arrivals
        times = a.time.tolist()
        patients, needs, urgencies = a.patient.tolist(), a.need.tolist(), a.urgency.tolist()
        modes, from_days = a.mode.tolist(), a.from_day.tolist()
        named = a.named.tolist() if a.named is not None else None
        navigation = None if world.navigation is None else world.navigation.tolist()
        eligible = world.eligible
        for j in range(int(np.searchsorted(a.time, world.end_day, side="left"))):
            t = times[j]
            if t > env.now:
                yield env.timeout(t - env.now)
            need, mode, urgency, p = needs[j], modes[j], urgencies[j], patients[j]
            if navigation is not None and urgency != REVIEW and urgency != PLANNED:
                to = navigation[j]
                if to == NAV_ELSEWHERE:  # care navigation: another service, no appointment
                    self.book.add("req", patient=p, time=t, from_day=from_days[j], need=need,
                                  urgency=urgency, mode=mode, outcome=SIGNPOSTED)
                    continue
                if to >= 0:
                    need = to
            with_clinician = -1
            if (urgency == REVIEW or urgency == PLANNED) and named[j] != NAMED_NONE:
                with_clinician = self._named_clinician(p, named[j], eligible[need][mode])
            rid = self.book.add("req", patient=p, time=t, from_day=from_days[j],
                                with_=with_clinician, need=need, urgency=urgency, mode=mode)
            self.reception(Request(rid, p, t, need, urgency, mode, 1, t,
                                   eligible[need][mode], from_days[j], with_clinician))

    def patient_calls_back(self, request: Request, opening: simpy.Event
                           ) -> Iterator[simpy.Event]:
        """A patient calls again when the practice opens (``opening``); reception tries again."""
        yield opening
        self.reception(request)

    # ------------------------------------------------------------------ reception

    def reception(self, request: Request) -> None:
        """One attempt to book: the policy's offers, the patient's choice, the booking.

        A request of a kind the practice triages is first called back by a GP
        (:meth:`triage`), once; when the day's calls are used up the attempt
        finds nothing. A request that finds nothing suitable is logged as unmet;
        the patient calls back at the next opening, or gives up after ``max_attempts``. A routine
        request for a day beyond the booking horizon is not an attempt yet: the
        patient calls again at the first opening from which that day is in reach.
        """
        rules = self.world.rules
        if request.urgency == ROUTINE and request.from_day > request.day + rules.horizon_days:
            day = request.from_day - rules.horizon_days
            if day < self.world.end_day:
                if not rules.is_open[day]:
                    day = self._next_open[day]
                t = day + self._open_at
                if t < self.world.end_day:
                    self._call_back_at(t, Request(
                        request.id, request.patient, t, request.need, request.urgency,
                        request.mode, request.attempt, request.first_time, request.eligible,
                        request.from_day, request.with_clinician))
            return
        cols = self.book.cols
        cols["req_attempts"][request.id] += 1
        triage_full = False
        if self._triaged[request.urgency] and cols["req_triage"][request.id] == NOT_TRIAGED:
            if self._triage_left[request.day] > 0:
                if self.triage(request):
                    return
            else:
                triage_full = True
        offers = [] if triage_full else self._offers(request)
        values = self._values[request.patient]
        slot = patient_choice(
            offers, request.urgency,
            (rules.extra_days[request.patient, request.need] if values
             else rules.extra_days_without_preference),
            request.first_time, rules.decline_after_days)
        if slot is not None:
            self._book(request, slot, slot.time - min(o.time for o in offers))
            return
        self.book.add("unmet", request=request.id, time=request.time)
        if request.attempt >= rules.max_attempts:
            cols["req_outcome"][request.id] = GAVE_UP
            cols["req_gave_up_at"][request.id] = request.time
            return
        t = self._next_open[request.day] + self._open_at
        if t < self.world.end_day:
            self._call_back_at(t, Request(
                request.id, request.patient, t, request.need, request.urgency, request.mode,
                request.attempt + 1, request.first_time, request.eligible, request.from_day,
                request.with_clinician))

    def triage(self, request: Request) -> bool:
        """A clinician calls the patient back; whether the call resolved the request.

        It takes one of the day's triage calls; ``triage_resolved_share`` of
        calls end with advice and no appointment (drawn from the triage
        stream, one number per call). Otherwise reception books as asked (the
        request keeps its urgency). When the day's calls are used up, the
        request is not triaged and the attempt finds nothing (see
        :meth:`reception`): the patient is asked to call again.
        """
        self._triage_left[request.day] -= 1
        cols = self.book.cols
        if self._triage_rng.random() < self.world.rules.triage_resolved_share:
            cols["req_triage"][request.id] = TRIAGED_RESOLVED
            cols["req_outcome"][request.id] = RESOLVED_AT_TRIAGE
            return True
        cols["req_triage"][request.id] = TRIAGED_TO_BOOK
        return False

    def _call_back_at(self, t: float, request: Request) -> None:
        """The patient calls again at time ``t``, an opening, before new requests then.

        Every call-back for one opening waits on that opening's one event, so they
        are taken in the order they were arranged (events for the same instant
        made from different moments could differ in their last bit of time).
        """
        opening = self._openings.get(t)
        if opening is None:
            opening = self._openings[t] = At(self.env, t, URGENT)
        self.env.process(self.patient_calls_back(request, opening))

    def _offers(self, request: Request) -> list[Slot]:
        """The policy's offers, with the patient's own GP first if they ask for them.

        A patient who values continuity asks for their usual GP (whatever the
        policy) for a routine request their GP can take: their GP's earliest
        slot is offered first. (An urgent request goes to whoever the policy
        offers today: the patient does not choose who is on duty.)
        """
        offers = self.policy.offers(request, self.calendar)
        rules = self.world.rules
        if not (rules.ask_for_own_gp and self._values[request.patient]
                and request.urgency == ROUTINE):
            return offers
        own = self._usual[request.patient]
        if own not in request.eligible:
            return offers
        return with_first(offers, routine_slot(request, self.calendar, rules.horizon_days,
                                               rules.release_days, (own,)))

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

    def _book(self, request: Request, slot: Slot, held_out: float) -> None:
        self.calendar.book(slot, request.time)
        aid = self.book.add("appt", request=request.id, patient=request.patient,
                            clinician=slot.clinician, time=slot.time, booked_at=request.time,
                            pool=slot.pool, usual=self._usual[request.patient],
                            held_out_days=held_out)
        cols = self.book.cols
        cols["req_outcome"][request.id] = GOT_APPOINTMENT
        cols["req_appointment"][request.id] = aid
        self._slot_appointment[slot.index] = aid
        self._day_appointments[slot.day].append(aid)

    # ------------------------------------------------------------------ sickness

    def cancel_and_rebook(self, aid: int, d: int) -> None:
        """An appointment lost to sickness on day ``d``: the patient calls again at opening."""
        cols = self.book.cols
        cols["appt_status"][aid] = CANCELLED
        rid = cols["appt_request"][aid]
        cols["req_outcome"][rid] = PENDING
        cols["req_appointment"][rid] = -1
        if not self.world.rules.is_open[d]:
            d = self._next_open[d]
        t = d + self._open_at
        if t >= self.world.end_day:
            return
        need, mode = cols["req_need"][rid], cols["req_mode"][rid]
        log.debug("day %d: appointment %d cancelled by sickness; rebooking", d, aid)
        self._call_back_at(t, Request(
            rid, cols["req_patient"][rid], t, need, cols["req_urgency"][rid], mode, 1,
            cols["req_time"][rid], self.world.eligible[need][mode], cols["req_from_day"][rid],
            cols["req_with"][rid]))

    # ------------------------------------------------------------------ clinics

    def clinics_close(self, d: int) -> None:
        """Day ``d``'s booked appointments are attended or missed (DNA); follow-ups are booked.

        Decided at the midnight after the day, in the order the appointments were
        booked (the DNA stream is drawn in that order).
        """
        cols = self.book.cols
        status = cols["appt_status"]
        ids = [a for a in self._day_appointments[d] if status[a] == BOOKED]
        if not ids:
            return
        rules = self.world.rules
        booked_at = cols["appt_booked_at"]
        booked_day = np.array([booked_at[a] for a in ids], dtype=float).astype(np.int64)
        patient = np.array([cols["appt_patient"][a] for a in ids])
        p = np.minimum(rules.dna_by_lead[d - booked_day] * rules.dna_propensity[patient], 1.0)
        if self.calendar.has_online:  # an online consultation is answered, never missed
            p[np.array([cols["appt_pool"][a] for a in ids]) == ONLINE] = 0.0
        missed = (self._dna_rng.random(len(ids)) < p).tolist()
        for a, m in zip(ids, missed, strict=True):
            status[a] = DNA if m else ATTENDED
        self._follow_ups(d, [a for a, m in zip(ids, missed, strict=True) if not m])

    def _follow_ups(self, d: int, attended: list[int]) -> None:
        """Record who was seen by whom; some consultations ask for a follow-up.

        The follow-up probability is lower when the clinician already knows the
        patient (``follow_ups.known_after_visits`` earlier consultations). The
        request counts as made at the consultation; reception books it at the
        midnight after that day for a day ``follow_up_delay_days`` later, with the
        same clinician.
        """
        if not attended:
            return
        cols = self.book.cols
        rules = self.world.rules
        pairs = self.pair_visits
        n = len(attended)
        u = self._fu_rng.random(n)
        v = self._fu_rng.random(n)
        t = float(d + 1)
        make = t < self.world.end_day
        for j, a in enumerate(attended):
            key = (cols["appt_patient"][a], cols["appt_clinician"][a])
            prior = pairs.get(key, 0)
            pairs[key] = prior + 1
            rid = cols["appt_request"][a]
            need = cols["req_need"][rid]
            p = rules.follow_up_probability[need]
            if prior >= rules.known_after_visits:
                p *= rules.known_clinician_factor
            if not make or u[j] >= p:
                continue
            from_day = d + int(rules.follow_up_delay_lo[need]
                               + int(v[j] * rules.follow_up_delay_span[need]))
            mode = cols["req_mode"][rid]
            seen_at = cols["appt_time"][a]
            new = self.book.add("req", patient=key[0], time=seen_at, from_day=from_day,
                                with_=key[1], need=need, urgency=FOLLOW_UP, mode=mode)
            self.reception(Request(new, key[0], t, need, FOLLOW_UP, mode, 1, seen_at,
                                   self.world.eligible[need][mode], from_day, key[1]))
