"""The contract every booking desk keeps: what it takes, what it offers, what it returns.

A booking desk works through the days of one run in a fixed order (see
:class:`BookingDesk`). Two desks keep this contract and book identically:

* :class:`sim.engine.reference.ReferenceDesk`: plain Python, any policy;
* :class:`sim.engine.compiled.CompiledDesk`: numba, for the policies that
  declare a :class:`sim.engine.policy_api.CompiledRule`.

Both take a :class:`sim.world.build.World` (read only), the policy (or its
compiled rule), and the run's :class:`sim.engine.lists.ListState` (the one
piece of state they share: usual GPs change when a list-holder leaves).
Neither reads another object's private attributes. Both return a
:class:`BookingRecord`, from which every output is computed
(:mod:`sim.outcomes`). :func:`sim.engine.practice.choose_desk` picks one.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Protocol

import numpy as np

#: The event log's columns of times (days); every other column is whole numbers.
_FLOAT_COLUMNS = frozenset({"req_time", "req_gave_up_at", "appt_time", "appt_booked_at",
                            "appt_held_out_days", "unmet_time"})


@dataclasses.dataclass(frozen=True, eq=False)
class EventLog:
    """What happened in a run, as columns; the row number is the record's id.

    Requests (``req_*``): ``patient``, ``time`` (when first made, days),
    ``from_day`` (the first day wanted), ``with`` (a follow-up's or review's
    named clinician, else -1), ``need``, ``urgency``, ``mode``, ``attempts``,
    ``outcome`` (:data:`sim.codes.REQUEST_OUTCOME`), ``appointment`` (its row
    in the appointments, -1 if none) and ``gave_up_at`` (time of the last
    failed attempt of a patient who gave up, else NaN).

    Appointments (``appt_*``): ``request``, ``patient``, ``clinician``,
    ``time``, ``booked_at``, ``pool``, ``status``
    (:data:`sim.codes.APPOINTMENT_STATUS`), ``usual`` (the patient's usual
    clinician when it was booked) and ``held_out_days`` (how much later it is
    than the soonest slot offered: a patient holding out for their own
    clinician; 0 when they took the soonest).

    Unmet attempts (``unmet_*``): ``request`` and ``time``.
    """

    req_patient: np.ndarray
    req_time: np.ndarray
    req_from_day: np.ndarray
    req_with: np.ndarray
    req_need: np.ndarray
    req_urgency: np.ndarray
    req_mode: np.ndarray
    req_attempts: np.ndarray
    req_outcome: np.ndarray
    req_appointment: np.ndarray
    req_gave_up_at: np.ndarray
    appt_request: np.ndarray
    appt_patient: np.ndarray
    appt_clinician: np.ndarray
    appt_time: np.ndarray
    appt_booked_at: np.ndarray
    appt_pool: np.ndarray
    appt_status: np.ndarray
    appt_usual: np.ndarray
    appt_held_out_days: np.ndarray
    unmet_request: np.ndarray
    unmet_time: np.ndarray

    @classmethod
    def from_columns(cls, **columns) -> EventLog:
        """Build from any sequences, each converted to its dtype (float64 or int64)."""
        return cls(**{name: np.asarray(values, dtype=np.float64 if name in _FLOAT_COLUMNS
                                       else np.int64)
                      for name, values in columns.items()})


    @property
    def n_requests(self) -> int:
        """Requests made in the run (first attempts, follow-ups and reviews)."""
        return int(self.req_patient.size)


@dataclasses.dataclass(frozen=True, eq=False)
class BookingRecord:
    """What a booking desk returns when the run is over.

    Attributes:
        engine: which desk ran (``reference`` or ``compiled``).
        log: the event log.
        cells: the calendar's slots built and booked per (pool, clinician,
            day) and closed (clinician, day) days
            (:func:`sim.engine.calendar.cell_table`).
        usual_at_end: each patient's usual clinician when the run ended.
        list_changes: ``(day, patients)`` for each list moved by a leaver, in time order.
    """

    engine: str
    log: EventLog
    cells: dict[str, np.ndarray]
    usual_at_end: np.ndarray
    list_changes: tuple[tuple[int, np.ndarray], ...]


class BookingDesk(Protocol):
    """A booking desk: the days of one run, in a fixed order.

    Each day: at midnight, yesterday's appointments are attended or missed
    (and follow-ups booked), leavers' lists move, and sickness that starts
    today closes clinicians' days (their patients are queued for rebooking);
    at opening, the requests queued for today, in the order queued; then the
    day's new requests, in time order.
    """

    engine_name: ClassVar[str]

    def days(self, d: int) -> int:
        """Work from day ``d`` (its midnight included) up to some later day; return that day.

        The reference desk does one day at a time, the compiled desk a stretch
        up to the next day whose lists change. The clock (SimPy) follows.
        """
        ...

    def finish(self) -> BookingRecord:
        """The last day's attendance, then everything that happened."""
        ...
