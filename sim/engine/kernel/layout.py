"""The kernel's data: its arrays' layout (rows, named tuples) and how its functions compile.

Whole-number fields of several records share one 2-D array, row by row; the
constants here name the rows (``REQ_*`` of requests, ``APPT_*`` of appointments,
``CELL_*`` of calendar cells, and so on); the event log's rows follow its one
definition (:data:`sim.engine.contract.COLUMNS`).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import NamedTuple

import numpy as np
from numba import njit

from ..contract import new_values, rows
from ..policy_api import BookingRule

# Log.count: rows used, random numbers used, the next sickness spell.
(COUNT_REQUESTS, COUNT_APPOINTMENTS, COUNT_UNMET, COUNT_QUEUED, USED_DNA_DRAWS,
 USED_FOLLOW_UP_DRAWS, USED_POLICY_DRAWS, NEXT_SPELL, COUNT_PAIRS, USED_TRIAGE_DRAWS) = range(10)
N_COUNTERS = 10
# Rows of the packed arrays.
CELL_START, CELL_END, CELL_NEXT_FREE, CELL_BOOKED = 0, 1, 2, 3           # Cal.cell
HEAD_DAY, HEAD_CELL, HEAD_SLOT = 0, 1, 2                                # Cal.head
DIM_CLINICIANS, DIM_DAYS, DIM_CELLS, DIM_HAS_ONLINE = 0, 1, 2, 3        # Cal.dims
(ARR_PATIENT, ARR_NEED, ARR_URGENCY, ARR_MODE, ARR_FROM_DAY, ARR_NAMED,
 ARR_NAVIGATION) = range(7)                                             # RunState.arrivals
ARRIVAL_ROWS = 7
SPELL_DAY, SPELL_CLINICIAN, SPELL_LENGTH = 0, 1, 2                      # RunState.spells
(DAY_FIRST_APPT, DAY_LAST_APPT, DAY_APPTS, DAY_FIRST_QUEUED, DAY_LAST_QUEUED,
 DAY_QUEUED) = range(6)                                                 # RunState.days
(WANT_REQUESTS, WANT_ATTEMPTS, WANT_ATTENDANCES, WANT_POLICY_DRAWS,
 WANT_PAIRS, WANT_TRIAGE_DRAWS) = range(6)                              # RunState.want
OFFER_CLINICIAN, OFFER_DAY, OFFER_POOL, OFFER_CELL, OFFER_SLOT = range(5)  # RunState.offer_int
# The log's rows, as the event log's definition lays them out (sim.engine.contract.COLUMNS):
# each table has an array of whole numbers and one of times, a row per column.
_REQ_INT, _REQ_FLOAT = rows("req", int), rows("req", float)
_APPT_INT, _APPT_FLOAT = rows("appt", int), rows("appt", float)
_UNMET_INT, _UNMET_FLOAT = rows("unmet", int), rows("unmet", float)
REQ_PATIENT, REQ_FROM_DAY, REQ_WITH = (_REQ_INT[k] for k in ("patient", "from_day", "with"))
REQ_NEED, REQ_URGENCY, REQ_MODE = (_REQ_INT[k] for k in ("need", "urgency", "mode"))
REQ_ATTEMPTS, REQ_OUTCOME, REQ_APPOINTMENT = (_REQ_INT[k] for k in ("attempts", "outcome",
                                                                    "appointment"))
REQ_TRIAGE = _REQ_INT["triage"]
REQ_TIME, REQ_GAVE_UP_AT = _REQ_FLOAT["time"], _REQ_FLOAT["gave_up_at"]
APPT_REQUEST, APPT_PATIENT, APPT_CLINICIAN = (_APPT_INT[k] for k in ("request", "patient",
                                                                     "clinician"))
APPT_POOL, APPT_STATUS, APPT_USUAL = (_APPT_INT[k] for k in ("pool", "status", "usual"))
APPT_TIME, APPT_BOOKED_AT, APPT_HELD_OUT = (_APPT_FLOAT[k] for k in ("time", "booked_at",
                                                                     "held_out_days"))
UNMET_REQUEST, UNMET_TIME = _UNMET_INT["request"], _UNMET_FLOAT["time"]
#: The kernel's own row after the log's: each appointment's next on the same day.
APPT_NEXT_SAME_DAY = len(_APPT_INT)
ROWS = {"req_int": len(_REQ_INT), "req_float": len(_REQ_FLOAT),
        "appt_int": len(_APPT_INT) + 1, "appt_float": len(_APPT_FLOAT),
        "unmet_int": len(_UNMET_INT), "unmet_float": len(_UNMET_FLOAT)}
# A new record's values (sim.engine.contract.Column.new), in row order.
REQ_INT_NEW, REQ_FLOAT_NEW = new_values("req", int), new_values("req", float)
APPT_INT_NEW = np.append(new_values("appt", int), -1)   # next on the same day: none yet
APPT_FLOAT_NEW = new_values("appt", float)
QUEUE_REQUEST, QUEUE_ATTEMPT, QUEUE_NEXT = 0, 1, 2                      # Log.queue
#: An empty key in the visit-count table.
EMPTY = -1

INF = np.inf


class Cal(NamedTuple):
    """The calendar (as :class:`sim.engine.calendar.Calendar`) as arrays.

    ``cell`` holds each cell's start, end, next-free pointer and bookings (rows ``CELL_*``);
    ``head`` each (pool, clinician)'s first open day, cell and slot index
    (rows ``HEAD_*``), ``head_time`` its time; ``dims`` the sizes (``DIM_*``).
    """

    times: np.ndarray
    cell: np.ndarray
    cell_first: np.ndarray
    booked: np.ndarray
    closed: np.ndarray
    head: np.ndarray
    head_time: np.ndarray
    dims: np.ndarray


#: A built-in approach's :class:`sim.engine.policy_api.BookingRule` as the kernel takes it:
#: the same fields (made from them, so a new field needs no code here), with ``named`` a
#: ``RULE_*`` code of :mod:`sim.codes`, a wait of -1 for none (up to the horizon) and
#: ``coded`` an array saying per patient whether the rule applies
#: (:func:`sim.engine.compiled.policy_rule`).
PolicyRule = collections.namedtuple("PolicyRule", [f.name for f in dataclasses.fields(BookingRule)])


class RunState(NamedTuple):
    """The run's inputs in kernel form, the per-day lists and scratch space."""

    arrivals: np.ndarray        # (ARRIVAL_ROWS, arrivals): rows ARR_*
    arrival_time: np.ndarray
    day_start: np.ndarray       # arrivals of day d: day_start[d] to day_start[d + 1]
    spells: np.ndarray          # (3, spells): rows SPELL_*
    dna_draws: np.ndarray
    follow_up_draws: np.ndarray
    policy_draws: np.ndarray
    triage_draws: np.ndarray
    triage_left: np.ndarray  # per day, the triage calls still free
    days: np.ndarray            # (6, days): rows DAY_*: each day's appointments and queue
    slot_appointment: np.ndarray
    pairs: np.ndarray   # hash table (keys, counts): patient * n_clinicians + clinician -> visits
    tiers: np.ndarray   # scratch: (2, clinicians)
    offer_time: np.ndarray  # scratch: offers' times
    offer_int: np.ndarray   # scratch: offers' (clinician, day, pool, cell, slot)
    want: np.ndarray    # what the next day needs room for (see _room)
    scratch: np.ndarray  # room for one day's appointments


class Log(NamedTuple):
    """The event log (fields as :class:`sim.engine.contract.EventLog`), by rows, and counters."""

    count: np.ndarray
    req_int: np.ndarray
    req_float: np.ndarray
    appt_int: np.ndarray
    appt_float: np.ndarray
    unmet_int: np.ndarray
    unmet_float: np.ndarray
    queue: np.ndarray


# Functions called only from compiled code need no Python wrapper (faster to compile).
# No reference counting (numba's _nrt=False): every array belongs to the driver's
# named tuples for the whole call and the kernel allocates nothing, so counting
# references to arrays, which cost two thirds of the time, is not needed.
inner = njit(cache=True, no_cpython_wrapper=True, _nrt=False)
# A call between compiled functions copies every array of the named tuples it takes
# (about 380 words for the calendar, rules, run state and log) onto the stack. On the
# per-request path that copying was most of the kernel's time, so the functions there
# with a single call site are inlined by numba (its IR inlining): the code is not
# duplicated, so compiling costs no more (see _attempts).
inlined = njit(cache=True, no_cpython_wrapper=True, _nrt=False, inline="always")
NO_SLOT = (INF, -1, 0, 0, -1, -1)
# Whole numbers passed to compiled functions go through i64(): a bare constant
# would be typed as that literal value and compile a copy of the function for it.
i64 = np.int64

