"""The compiled booking desk: the reference desk's day, run by :mod:`sim.engine.kernel`.

:class:`CompiledDesk` keeps the booking contract (:mod:`sim.engine.contract`)
with flat arrays: the calendar (:class:`sim.engine.kernel.layout.Cal`), the world's
:class:`sim.world.build.BookingRules` as they are, the policy's rule
(:class:`sim.engine.kernel.layout.PolicyRule`), the run's state and the event log. It
runs the days a stretch at a time: up to the next day a list-holder leaves,
whose list is reassigned in Python (:class:`sim.engine.lists.ListState`), as
on the reference desk.

Random numbers: the dna, follow_up and policy streams are drawn ahead in
blocks, and used in the same order as the reference desk uses them. A NumPy
generator gives the same numbers whether drawn one at a time or in blocks, so
the results are identical (tested).

Growth: before each day the kernel checks that the log, the random blocks
and the visit-count table can hold the most that day could add (every request
it handles booked or failing, every appointment of yesterday attended); if
not, it stops and says how much it needs, the driver grows them (doubling) and
calls again from that day.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import simpy

from ..codes import N_POOLS, NAMED_NONE, NAV_AS_ASKED, ONLINE, RULE_NAMES
from ..world.build import World
from . import kernel
from .calendar import calendar_arrays, cell_table
from .contract import COLUMNS, BookingRecord, EventLog, rows
from .kernel.day import ATTENDANCE, ATTENDANCE_ONLY, NO_ATTENDANCE
from .kernel.layout import (
    ARR_FROM_DAY,
    ARR_MODE,
    ARR_NAMED,
    ARR_NAVIGATION,
    ARR_NEED,
    ARR_PATIENT,
    ARR_URGENCY,
    ARRIVAL_ROWS,
    CELL_END,
    CELL_START,
    COUNT_APPOINTMENTS,
    COUNT_PAIRS,
    COUNT_REQUESTS,
    COUNT_UNMET,
    DAY_APPTS,
    DAY_FIRST_APPT,
    DAY_FIRST_QUEUED,
    DAY_LAST_APPT,
    DAY_LAST_QUEUED,
    DIM_CELLS,
    DIM_CLINICIANS,
    DIM_DAYS,
    EMPTY,
    HEAD_CELL,
    HEAD_DAY,
    HEAD_SLOT,
    N_COUNTERS,
    ROWS,
    USED_DNA_DRAWS,
    USED_FOLLOW_UP_DRAWS,
    USED_POLICY_DRAWS,
    USED_TRIAGE_DRAWS,
    WANT_ATTEMPTS,
    WANT_ATTENDANCES,
    WANT_PAIRS,
    WANT_POLICY_DRAWS,
    WANT_REQUESTS,
    WANT_TRIAGE_DRAWS,
)
from .lists import ListState
from .policy_api import BookingRule

#: Size the log, the random blocks and the visit table for the run's arrivals at the start
#: (False: start small and grow as the run goes, as the tests check gives the same run).
PRESIZE = True


class NotCompilable(ValueError):
    """A world the compiled desk cannot run exactly (the reference desk can)."""


class _Stream:
    """A random stream drawn ahead in blocks."""

    def __init__(self, rng: np.random.Generator | None):
        self.rng = rng
        self.values = np.zeros(0)

    def ensure(self, used: int, more: int) -> bool:
        """Make ``used + more`` numbers available; whether the block had to grow."""
        if self.rng is None or used + more <= self.values.size:
            return False
        extra = max(used + more - self.values.size, self.values.size, 4096)
        self.values = np.concatenate([self.values, self.rng.random(extra)])
        return True


def _pair_table_size(pairs: int, size: int = 1 << 12) -> int:
    """The smallest table of at least ``size`` (a power of two) that keeps ``pairs`` half full."""
    while 2 * pairs > size:
        size *= 2
    return size


def _pair_table(size: int) -> np.ndarray:
    """An empty table of patient-clinician visit counts (keys, counts); size a power of two."""
    table = np.zeros((2, size), dtype=np.int64)
    table[0] = EMPTY
    return table


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    """``a`` with room for ``size`` rows along its last axis (contents kept)."""
    out = np.empty((*a.shape[:-1], size), dtype=a.dtype)
    out[..., : a.shape[-1]] = a
    return out


def policy_rule(rule: BookingRule, n_patients: int) -> kernel.PolicyRule:
    """A built-in approach's :class:`sim.engine.policy_api.BookingRule` in the kernel's form.

    Field by field: a name (``named``) becomes its ``RULE_*`` code, None (no wait
    limit) becomes -1, ``coded`` an array over patients (everyone when None).
    """
    values = {}
    for field in dataclasses.fields(rule):
        value = getattr(rule, field.name)
        if field.name == "coded":
            value = (np.ones(n_patients, dtype=np.bool_) if value is None
                     else np.array(value, dtype=np.bool_))
        elif isinstance(value, str):
            value = RULE_NAMES.index(value)
        elif value is None:
            value = -1
        values[field.name] = value
    return kernel.PolicyRule(**values)


def _calendar(world: World) -> kernel.Cal:
    """A new calendar in the kernel's form, every head refreshed at time 0."""
    arrays = calendar_arrays(world.slots)
    if not arrays["slots_within_day"]:
        raise NotCompilable("a session runs past midnight")
    layout = world.slots
    n_cells = layout.n_clinicians * layout.n_days
    counts = arrays["end"] - arrays["start"]
    cal = kernel.Cal(
        times=arrays["times"],
        cell=np.stack([arrays["start"], arrays["end"], arrays["start"],
                       np.zeros_like(arrays["start"])]),
        cell_first=arrays["cell_first"],
        booked=np.zeros(arrays["times"].size, dtype=np.bool_),
        closed=np.zeros(n_cells, dtype=np.bool_),
        head=np.zeros((3, N_POOLS, layout.n_clinicians), dtype=np.int64),
        head_time=np.full((N_POOLS, layout.n_clinicians), np.inf),
        dims=np.array([layout.n_clinicians, layout.n_days, n_cells,
                       counts[ONLINE * n_cells:].sum() > 0], dtype=np.int64),
    )
    _heads_at_start(cal)
    return cal


def _heads_at_start(cal: kernel.Cal) -> None:
    """Every (pool, clinician)'s head at time 0, as :func:`sim.engine.kernel.refresh` finds it.

    Nothing is booked or closed yet and no slot is before time 0, so a head is
    the first slot of the clinician's first day with a slot in the pool. Done
    with numpy: a compiled function for it was an entry point of its own,
    linked and compiled separately (0.1 s of the first compile).
    """
    n_clinicians, n_days = int(cal.dims[DIM_CLINICIANS]), int(cal.dims[DIM_DAYS])
    start = cal.cell[CELL_START].reshape(N_POOLS, n_clinicians, n_days)
    open_days = start < cal.cell[CELL_END].reshape(N_POOLS, n_clinicians, n_days)
    found = open_days.any(axis=2)
    day = np.where(found, open_days.argmax(axis=2) if n_days else 0, n_days)
    pool, clinician = np.indices((N_POOLS, n_clinicians))
    cell = np.where(found, pool * cal.dims[DIM_CELLS] + clinician * n_days + day, -1)
    slot = np.full(found.shape, -1, dtype=np.int64)
    slot[found] = cal.cell[CELL_START][cell[found]]
    cal.head[HEAD_DAY] = day
    cal.head[HEAD_CELL] = cell
    cal.head[HEAD_SLOT] = slot
    cal.head_time[...] = np.inf
    cal.head_time[found] = cal.times[slot[found]]


class CompiledDesk:
    """The booking desk run by :mod:`sim.engine.kernel` (see the module docstring).

    Args:
        world: the run's world (read only).
        rules: the :class:`sim.engine.policy_api.BookingRule` in force from each
            day on (day 0 first; a rollout has more).
        lists: the run's lists (changed in place when a GP leaves).

    Raises:
        NotCompilable: when a session runs past midnight.
    """

    engine_name = "compiled"

    def __init__(self, world: World, rules: dict[int, BookingRule], lists: ListState):
        self.world = world
        self.lists = lists
        if lists.usual.dtype != np.int64 or not lists.usual.flags.c_contiguous:
            raise TypeError("usual clinicians must be a contiguous int64 array")
        self.cal = _calendar(world)
        self._rules = {d: policy_rule(r, world.patients.size) for d, r in rules.items()}
        self.rule = self._rules[0]
        # Days the kernel stops at: a change of rule or of lists (done in Python).
        self._stops = sorted({*self._rules, *world.leavers, *world.rebalance_days} - {0})
        a = world.arrivals
        n_arrivals = len(a)
        arrivals = np.empty((ARRIVAL_ROWS, n_arrivals), dtype=np.int64)
        arrivals[ARR_PATIENT] = a.patient
        arrivals[ARR_NEED] = a.need
        arrivals[ARR_URGENCY] = a.urgency
        arrivals[ARR_MODE] = a.mode
        arrivals[ARR_FROM_DAY] = a.from_day
        arrivals[ARR_NAMED] = a.named if a.named is not None else NAMED_NONE
        arrivals[ARR_NAVIGATION] = (world.navigation if world.navigation is not None
                                    else NAV_AS_ASKED)
        uses_policy_stream = any(r.named != "none" and r.adherence < 1.0
                                 for r in rules.values())
        self._streams = {
            "dna_draws": _Stream(world.streams.get("dna")),
            "follow_up_draws": _Stream(world.streams.get("follow_up")),
            "policy_draws": _Stream(world.streams.get("policy") if uses_policy_stream
                                    else None),
            "triage_draws": _Stream(world.streams.get("triage")
                                    if world.rules.triage_calls.any() else None)}
        n_days = world.n_days
        days = np.zeros((6, n_days), dtype=np.int64)
        days[[DAY_FIRST_APPT, DAY_LAST_APPT, DAY_FIRST_QUEUED, DAY_LAST_QUEUED]] = -1
        n_clinicians = max(world.workforce.size, 1)
        n_slots = self.cal.times.size
        # Sized for the run's arrivals from the start (the random numbers are the same
        # drawn in one block or several), so the kernel seldom stops for room.
        presized_pairs = min(n_arrivals, 8 * world.patients.size) if PRESIZE else 0
        self.run = kernel.RunState(
            arrivals=arrivals, arrival_time=np.array(a.time, dtype=float),
            day_start=np.searchsorted(a.time, np.arange(world.end_day + 1),
                                      side="left").astype(np.int64),
            spells=np.array(world.spells, dtype=np.int64).reshape(-1, 3).T.copy(),
            dna_draws=np.zeros(0), follow_up_draws=np.zeros(0), policy_draws=np.zeros(0),
            triage_draws=np.zeros(0), triage_left=world.rules.triage_calls.copy(),
            days=days, slot_appointment=np.full(n_slots, -1, dtype=np.int64),
            pairs=_pair_table(_pair_table_size(max(presized_pairs, world.history.size))),
            tiers=np.zeros((2, n_clinicians), dtype=np.int64),
            offer_time=np.zeros(4), offer_int=np.zeros((4, 5), dtype=np.int64),
            want=np.zeros(6, dtype=np.int64),
            scratch=np.zeros(max(n_slots, 1), dtype=np.int64),
        )
        room = n_arrivals + n_arrivals // 2 + 64 if PRESIZE else 64
        self.log = kernel.Log(
            count=np.zeros(N_COUNTERS, dtype=np.int64),
            **{name: np.empty((n, room), dtype=np.float64 if name.endswith("float")
                              else np.int64) for name, n in ROWS.items()},
            queue=np.empty((3, 3 * room), dtype=np.int64),
        )
        history = world.history
        if history.size:  # who already knows whom: the pairs' consultations before the run
            kernel.seed_pairs(self.run.pairs, history.patient * world.slots.n_clinicians
                              + history.clinician,
                              history.consultations)
            self.log.count[COUNT_PAIRS] = history.size
        self._ensure(0, 0, room if PRESIZE else 0,
                     n_arrivals if uses_policy_stream and PRESIZE else 0,
                     max(presized_pairs - int(self.log.count[COUNT_PAIRS]), 0),
                     n_arrivals if world.rules.triage_calls.any() and PRESIZE else 0)

    # ---------------------------------------------------------------- capacity

    def _ensure(self, requests: int, attempts: int, attendances: int, policy_draws: int,
                pairs: int = 0, triage_draws: int = 0) -> None:
        """Room for ``requests`` new requests, ``attempts`` booking attempts and their draws.

        ``attendances``: appointments that may be attended (a DNA draw and two
        follow-up draws each); ``pairs``: new patient-clinician pairs (the
        table is kept at most half full); ``triage_draws``: triage calls.
        """
        log = self.log
        count = log.count
        grow = {}
        for names, need in ((("req_int", "req_float"), count[COUNT_REQUESTS] + requests),
                            (("appt_int", "appt_float"), count[COUNT_APPOINTMENTS] + attempts),
                            (("unmet_int", "unmet_float"), count[COUNT_UNMET] + attempts)):
            size = getattr(log, names[0]).shape[-1]
            if need > size:
                for f in names:
                    grow[f] = _grown(getattr(log, f), max(int(need), 2 * size))
        # Each queued entry is a failed attempt, a cancelled appointment or a request for a
        # day beyond the horizon (once each).
        queue_need = (grow.get("unmet_int", log.unmet_int).shape[-1]
                      + grow.get("appt_int", log.appt_int).shape[-1]
                      + grow.get("req_int", log.req_int).shape[-1])
        if queue_need > log.queue.shape[-1]:
            grow["queue"] = _grown(log.queue, queue_need)
        if grow:
            self.log = log._replace(**grow)
        drawn = {}
        for name, used, more in (("dna_draws", count[USED_DNA_DRAWS], attendances),
                                 ("follow_up_draws", count[USED_FOLLOW_UP_DRAWS],
                                  2 * attendances),
                                 ("policy_draws", count[USED_POLICY_DRAWS], policy_draws),
                                 ("triage_draws", count[USED_TRIAGE_DRAWS], triage_draws)):
            stream = self._streams[name]
            if stream.ensure(int(used), int(more)):
                drawn[name] = stream.values
        size = self.run.pairs.shape[1]
        if 2 * (count[COUNT_PAIRS] + pairs) > size:
            table = _pair_table(_pair_table_size(int(count[COUNT_PAIRS]) + pairs, size))
            kernel.rehash(self.run.pairs, table)
            drawn["pairs"] = table
        if drawn:
            self.run = self.run._replace(**drawn)

    def _grow_as_wanted(self) -> None:
        want = self.run.want
        self._ensure(int(want[WANT_REQUESTS]), int(want[WANT_ATTEMPTS]),
                     int(want[WANT_ATTENDANCES]), int(want[WANT_POLICY_DRAWS]),
                     int(want[WANT_PAIRS]), int(want[WANT_TRIAGE_DRAWS]))

    # ---------------------------------------------------------------- the contract

    def start(self, env: simpy.Environment) -> None:
        """The desk's one process: the kernel runs a stretch of days, the clock follows."""
        env.process(self._stretches(env))

    def _stretches(self, env: simpy.Environment):
        d = 0
        while True:
            reached = self.days(d)
            if reached >= self.world.end_day:
                # Return rather than wait for the end: a process left waiting would
                # keep the model in a reference cycle until a full garbage collection.
                return
            yield env.timeout(reached - d)
            d = reached

    def days(self, d: int) -> int:
        """Days from ``d`` up to the next day the rule or the lists change (or the end).

        A new rule applies from the start of its day. A day whose lists move
        (a leaver, or lists tidied by a change) starts with yesterday's
        attendance, then the lists move (in Python), then the rest of the day
        goes on in the kernel. Returns the day reached.
        """
        world = self.world
        if d in self._rules:
            self.rule = self._rules[d]
        leavers = world.leavers.get(d, ())
        attend = True
        if leavers or d in world.rebalance_days:
            if d > 0:
                self.attendance(d - 1)
            for c in leavers:
                self.lists.reassign(c, d)
            if d in world.rebalance_days:
                self.lists.rebalance(d)
            attend = False
        stop = min([x for x in self._stops if x > d] + [world.end_day])
        start = d
        while True:
            first = ATTENDANCE if attend or d != start else NO_ATTENDANCE
            reached = kernel.run_days(self.cal, world.rules, self.rule, self.lists.usual,
                                      self.run, self.log, d, stop, first)
            if reached == stop:
                return stop
            d = int(reached)
            self._grow_as_wanted()

    def attendance(self, d: int) -> None:
        """Day ``d``'s appointments attended or missed; follow-ups booked."""
        k = int(self.run.days[DAY_APPTS, d])
        self._ensure(k, k, k, 0, k)  # follow-ups never draw from the policy stream
        kernel.run_days(self.cal, self.world.rules, self.rule, self.lists.usual, self.run,
                        self.log, d + 1, d + 1, ATTENDANCE_ONLY)

    def finish(self) -> BookingRecord:
        """The last day's attendance, then the run's record, cut from the kernel's arrays.

        The record's columns are views of the kernel's arrays (the desk is done
        with them): copying them cost more than the rest of ``finish``.
        """
        self.attendance(self.world.end_day - 1)
        log = self.log
        n_req, n_appt, n_unmet = (int(log.count[k]) for k in (COUNT_REQUESTS, COUNT_APPOINTMENTS,
                                                              COUNT_UNMET))
        counts = {"req": n_req, "appt": n_appt, "unmet": n_unmet}
        event_log = EventLog.from_columns(**{
            c.field: getattr(log, f"{c.table}_{c.kind.__name__}")[
                rows(c.table, c.kind)[c.name], :counts[c.table]] for c in COLUMNS})
        cal = self.cal
        layout = self.world.slots
        cells = cell_table(cal.cell[CELL_START], cal.cell[CELL_END], cal.booked, cal.closed,
                           layout.n_clinicians, layout.n_days)
        return BookingRecord(engine=self.engine_name, log=event_log, cells=cells,
                             usual_at_end=self.lists.usual.copy(),
                             list_changes=tuple(self.lists.changes))
