"""The contract every booking desk keeps: what it takes, what it offers, what it returns.

A booking desk works through the days of one run in a fixed order (see
:class:`BookingDesk`). Two desks keep this contract and book identically:

* :class:`sim.engine.reference.ReferenceDesk`: plain Python, any policy;
* :class:`sim.engine.compiled.CompiledDesk`: numba, for the policies that
  declare a :class:`sim.engine.policy_api.BookingRule`.

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
import simpy

from ..codes import BOOKED, PENDING


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of the event log, defined once for both desks.

    The reference desk starts each record with every column's ``new`` value
    (:func:`new_record`); the compiled kernel lays its arrays out by
    :func:`rows` and starts records from :func:`new_values`; both desks'
    logs are assembled by :meth:`EventLog.from_columns`.

    Attributes:
        table: ``req`` (requests), ``appt`` (appointments) or ``unmet`` (attempts
            that found no slot).
        name: the column's name within its table (the log's field is
            ``table_name``).
        kind: ``int`` or ``float`` (times, in days).
        new: the value a new record starts with (None: always given when it is made).
        doc: what it holds.
    """

    table: str
    name: str
    kind: type
    new: float | int | None
    doc: str

    @property
    def field(self) -> str:
        """The event log's field: ``table_name``."""
        return f"{self.table}_{self.name}"


#: Every column of the event log, in order: requests, appointments, unmet attempts.
COLUMNS: tuple[Column, ...] = (
    Column("req", "patient", int, None, "the patient (index)"),
    Column("req", "time", float, None, "when the request was first made (days)"),
    Column("req", "from_day", int, None, "the first day wanted"),
    Column("req", "with", int, -1, "a follow-up's or review's named clinician, else -1"),
    Column("req", "need", int, None, "the need (index)"),
    Column("req", "urgency", int, None, "URGENT, ROUTINE, FOLLOW_UP, REVIEW or PLANNED"),
    Column("req", "mode", int, None, "face to face, telephone, home visit or online"),
    Column("req", "attempts", int, 0, "booking attempts made"),
    Column("req", "outcome", int, PENDING, "sim.codes.REQUEST_OUTCOME"),
    Column("req", "appointment", int, -1, "its row in the appointments, -1 if none"),
    Column("req", "gave_up_at", float, float("nan"),
           "time of the last failed attempt of a patient who gave up, else NaN"),
    Column("req", "triage", int, 0, "NOT_TRIAGED, TRIAGED_TO_BOOK or TRIAGED_RESOLVED "
           "(sim.codes.TRIAGE_NAMES)"),
    Column("appt", "request", int, None, "the request it answers"),
    Column("appt", "patient", int, None, "the patient"),
    Column("appt", "clinician", int, None, "the clinician"),
    Column("appt", "time", float, None, "when it is (days)"),
    Column("appt", "booked_at", float, None, "when it was booked (days)"),
    Column("appt", "pool", int, None, "AHEAD, ON_THE_DAY or ONLINE"),
    Column("appt", "status", int, BOOKED, "sim.codes.APPOINTMENT_STATUS"),
    Column("appt", "usual", int, None, "the patient's usual clinician when it was booked"),
    Column("appt", "held_out_days", float, 0.0,
           "how much later than the soonest slot offered (a patient holding out for "
           "their own clinician); 0 when they took the soonest"),
    Column("unmet", "request", int, None, "the request"),
    Column("unmet", "time", float, None, "when the attempt found no slot (days)"),
)

TABLES = ("req", "appt", "unmet")


def columns(table: str, kind: type | None = None) -> tuple[Column, ...]:
    """The columns of one table (of one kind, if given), in order."""
    return tuple(c for c in COLUMNS if c.table == table and (kind is None or c.kind is kind))


def rows(table: str, kind: type) -> dict[str, int]:
    """The compiled kernel's layout: each column's row in its table's array of that kind."""
    return {c.name: i for i, c in enumerate(columns(table, kind))}


def new_values(table: str, kind: type) -> np.ndarray:
    """A new record's values, in :func:`rows` order (0 where the maker gives the value)."""
    dtype = np.float64 if kind is float else np.int64
    return np.array([0 if c.new is None else c.new for c in columns(table, kind)], dtype=dtype)


def new_record(table: str) -> dict[str, float | int | None]:
    """A new record of ``table`` as a mapping of column name to its starting value."""
    return {c.name: c.new for c in columns(table)}


class _EventLogBase:
    """What every :class:`EventLog` offers beside its columns."""

    @classmethod
    def from_columns(cls, **values) -> EventLog:
        """Build from any sequences (by field name), each converted to its column's dtype."""
        kinds = {c.field: c.kind for c in COLUMNS}
        return cls(**{name: np.asarray(v, dtype=np.float64 if kinds[name] is float
                                       else np.int64) for name, v in values.items()})

    @property
    def n_requests(self) -> int:
        """Requests made in the run (first attempts, follow-ups and reviews)."""
        return int(self.req_patient.size)


#: What happened in a run, as columns (:data:`COLUMNS`); the row number is a record's id.
EventLog = dataclasses.make_dataclass(
    "EventLog", [(c.field, np.ndarray) for c in COLUMNS], bases=(_EventLogBase,),
    frozen=True, eq=False)
EventLog.__module__ = __name__  # pickled by reference, as a class written here would be
EventLog.__doc__ = ("What happened in a run, as columns; the row number is the record's id.\n\n"
                    + "\n".join(f"* ``{c.field}``: {c.doc}" for c in COLUMNS))


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

    def start(self, env: simpy.Environment) -> None:
        """Put the desk's processes on SimPy's clock, to be run to the world's ``end_day``.

        The reference desk's are the model's own processes (requests, sessions,
        call-backs, midnight); the compiled desk's one process runs the kernel a
        stretch at a time, up to the next day whose rule or lists change.
        """
        ...

    def finish(self) -> BookingRecord:
        """The last day's attendance, then everything that happened."""
        ...
