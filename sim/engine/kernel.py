"""The compiled booking desk: numba functions over flat arrays.

These functions do, for the built-in booking rules, exactly what the
reference desk (:class:`sim.engine.reference.ReferenceDesk` with the policies
of the ``policies`` package) does in plain Python: same calendar search, same
offers, same patient choice, same random numbers in the same order. The tests
run both desks on the same worlds and require identical event logs.

The kernel takes six arguments, built by :mod:`sim.engine.compiled`:

* ``cal`` (:class:`Cal`): the calendar;
* ``rules`` (:class:`sim.world.build.BookingRules`): the practice's booking
  rules, as the world builder made them;
* ``rule`` (:class:`PolicyRule`): the booking policy's rule;
* ``usual``: each patient's usual clinician (changed in place between calls
  when a GP leaves);
* ``run`` (:class:`RunState`): the arrivals, sickness spells, pre-drawn random
  numbers, per-day lists, the patient-clinician visit counts and scratch space;
* ``log`` (:class:`Log`): the event log and counters, grown by the driver
  whenever :func:`run_days` finds a day might not fit.

Whole-number fields of several records share one 2-D array, row by row; the
constants below name the rows (``REQ_*`` of requests, ``APPT_*`` of
appointments, ``CELL_*`` of calendar cells, and so on). The codes (pools,
urgencies, statuses) are :mod:`sim.codes`'s, which numba reads as constants.

A slot found by a search is a tuple ``(time, clinician, day, pool, cell,
index)``, with clinician ``-1`` when there is none.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import NamedTuple

import numpy as np
from numba import njit

from ..codes import (
    AHEAD,
    ATTENDED,
    BOOKED,
    CANCELLED,
    DNA,
    FOLLOW_UP,
    GAVE_UP,
    GOT_APPOINTMENT,
    N_MODES,
    N_POOLS,
    NAMED_NONE,
    NAMED_USUAL_GP,
    NAV_ELSEWHERE,
    ON_THE_DAY,
    ONLINE,
    ONLINE_MODE,
    PENDING,
    PLANNED,
    REVIEW,
    ROUTINE,
    RULE_NONE,
    RULE_TEAM_LEAD,
    SIGNPOSTED,
    URGENT,
)
from .contract import new_values, rows


def _answer_the_blas_probe() -> None:
    """Spare numba's probe for BLAS its import of ``scipy.linalg`` (0.15 s) when it compiles.

    When numba first compiles (or, without :func:`_load_without_registries`,
    loads) a function it imports ``numba.np.arraymath``, which asks whether
    BLAS (for ``np.dot`` and friends) is there by importing ``scipy.linalg``.
    The booking desk uses no linear algebra, and scipy is one of this
    project's dependencies, so the probe is answered yes without the import;
    were BLAS ever used, numba's own check runs again at that point and
    imports it then.
    """
    if "numba.np.arraymath" in sys.modules or importlib.util.find_spec("scipy") is None:
        return
    import numba.np.linalg as linalg

    probe = getattr(linalg, "ensure_blas", None)
    if probe is None:  # another numba: let it probe as it likes
        return
    linalg.ensure_blas = lambda: None
    try:
        import numba.np.arraymath  # noqa: F401  (the probe runs on this import)
    finally:
        linalg.ensure_blas = probe


# Log.count: rows used, random numbers used, the next sickness spell.
(COUNT_REQUESTS, COUNT_APPOINTMENTS, COUNT_UNMET, COUNT_QUEUED, USED_DNA_DRAWS,
 USED_FOLLOW_UP_DRAWS, USED_POLICY_DRAWS, NEXT_SPELL, COUNT_PAIRS) = range(9)
N_COUNTERS = 9
# Rows of the packed arrays.
CELL_START, CELL_END, CELL_NEXT_FREE = 0, 1, 2                          # Cal.cell
HEAD_DAY, HEAD_CELL, HEAD_SLOT = 0, 1, 2                                # Cal.head
DIM_CLINICIANS, DIM_DAYS, DIM_CELLS, DIM_HAS_ONLINE = 0, 1, 2, 3        # Cal.dims
(ARR_PATIENT, ARR_NEED, ARR_URGENCY, ARR_MODE, ARR_FROM_DAY, ARR_NAMED,
 ARR_NAVIGATION) = range(7)                                             # RunState.arrivals
ARRIVAL_ROWS = 7
SPELL_DAY, SPELL_CLINICIAN, SPELL_LENGTH = 0, 1, 2                      # RunState.spells
(DAY_FIRST_APPT, DAY_LAST_APPT, DAY_APPTS, DAY_FIRST_QUEUED, DAY_LAST_QUEUED,
 DAY_QUEUED) = range(6)                                                 # RunState.days
(WANT_REQUESTS, WANT_ATTEMPTS, WANT_ATTENDANCES, WANT_POLICY_DRAWS,
 WANT_PAIRS) = range(5)                                                 # RunState.want
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

    ``cell`` holds each cell's start, end and next-free pointer (rows ``CELL_*``);
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


class PolicyRule(NamedTuple):
    """A policy's :class:`sim.engine.policy_api.BookingRule`, as the kernel takes it.

    ``named`` is a ``RULE_*`` code of :mod:`sim.codes`; a wait of -1 means up
    to the horizon; ``coded`` says per patient whether the rule applies.
    """

    named: int
    named_wait_days: int
    team_tier: bool
    team_wait_days: int
    adherence: float
    coded: np.ndarray


class RunState(NamedTuple):
    """The run's inputs in kernel form, the per-day lists and scratch space."""

    arrivals: np.ndarray        # (ARRIVAL_ROWS, arrivals): rows ARR_*
    arrival_time: np.ndarray
    day_start: np.ndarray       # arrivals of day d: day_start[d] to day_start[d + 1]
    spells: np.ndarray          # (3, spells): rows SPELL_*
    dna_draws: np.ndarray
    follow_up_draws: np.ndarray
    policy_draws: np.ndarray
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


# ------------------------------------------------------------------ calendar


@inner
def _bisect_left(a, x, lo, hi):
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@inner
def refresh(cal, pool, c, now):
    """Clinician ``c``'s head in ``pool``: first free slot at or after ``now``."""
    n_days = cal.dims[DIM_DAYS]
    today = int(now)
    d = cal.head[HEAD_DAY, pool, c]
    if d <= today:
        d = today
    base = pool * cal.dims[DIM_CELLS] + c * n_days
    while d < n_days:
        k = base + d
        i = cal.cell[CELL_NEXT_FREE, k]
        end = cal.cell[CELL_END, k]
        if i < end:
            if d == today and cal.times[i] < now:
                i = _bisect_left(cal.times, now, i, end)
            if i < end:
                cal.head[HEAD_DAY, pool, c] = d
                cal.head[HEAD_CELL, pool, c] = k
                cal.head[HEAD_SLOT, pool, c] = i
                cal.head_time[pool, c] = cal.times[i]
                return
        d += 1
    cal.head[HEAD_DAY, pool, c] = n_days
    cal.head[HEAD_CELL, pool, c] = -1
    cal.head[HEAD_SLOT, pool, c] = -1
    cal.head_time[pool, c] = INF


@inner
def earliest(cal, clinicians, n, pool, now, last_day, from_day):
    """Earliest free slot with any of ``clinicians[:n]`` (ties: listed first).

    ``from_day`` -1: from now. As :meth:`sim.engine.calendar.Calendar.earliest`.
    """
    if n == 0:
        return NO_SLOT
    today = int(now)
    if from_day > today:
        return _earliest_from(cal, clinicians, n, pool, last_day, from_day)
    while True:
        best = clinicians[0]
        t = cal.head_time[pool, best]
        for j in range(1, n):
            c = clinicians[j]
            tc = cal.head_time[pool, c]
            if tc < t:
                best = c
                t = tc
        if t >= now:
            break
        refresh(cal, pool, best, now)
    if t == INF:
        return NO_SLOT
    k = cal.head[HEAD_CELL, pool, best]
    d = (k - pool * cal.dims[DIM_CELLS]) - best * cal.dims[DIM_DAYS]
    if d > last_day:
        return NO_SLOT
    return t, best, d, pool, k, cal.head[HEAD_SLOT, pool, best]


@inner
def _earliest_from(cal, clinicians, n, pool, last_day, first_day):
    n_days = cal.dims[DIM_DAYS]
    last = min(last_day, n_days - 1)
    if last < first_day:
        return NO_SLOT
    # A cell's slots all fall on its day, so a clinician's earliest free slot
    # from first_day is in their first day with one; and no day after the best
    # found so far can beat it. Ties go to the clinician listed first.
    t = INF
    best = -1
    best_day = 0
    for j in range(n):
        c = clinicians[j]
        base = pool * cal.dims[DIM_CELLS] + c * n_days
        for d in range(first_day, last + 1):
            v = cal.cell_first[base + d]
            if v != INF:
                if v < t:
                    t = v
                    best = c
                    best_day = d
                    last = d
                break
    if best < 0:
        return NO_SLOT
    k = pool * cal.dims[DIM_CELLS] + best * n_days + best_day
    return t, best, best_day, pool, k, cal.cell[CELL_NEXT_FREE, k]


@inner
def book_slot(cal, c, pool, k, i, now):
    """Take a free slot (the first free one of its cell, or a later one if those have passed)."""
    next_free = cal.cell[CELL_NEXT_FREE, k]
    end = cal.cell[CELL_END, k]
    if not (next_free <= i < end):
        raise RuntimeError("compiled engine: booking a slot that is not free")
    if cal.times[i] < now or (i > next_free and cal.times[i - 1] >= now):
        raise RuntimeError("compiled engine: booking a slot that is not the first free one")
    cal.booked[i] = True
    cal.cell[CELL_NEXT_FREE, k] = i + 1
    cal.cell_first[k] = cal.times[i + 1] if i + 1 < end else INF
    if cal.head[HEAD_CELL, pool, c] == k:
        refresh(cal, pool, c, now)


# ------------------------------------------------------------------ visit counts


@inner
def pair_slot(keys, key):
    """Where ``key`` is, or would go, in an open-addressing table (size a power of two)."""
    mask = keys.size - 1
    h = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    i = np.int64(h >> np.uint64(40)) & mask
    while keys[i] != key and keys[i] != EMPTY:
        i = (i + 1) & mask
    return i


@njit(cache=True)
def seed_pairs(table, keys, counts):
    """Put the history's pairs (``keys``, with their ``counts``) into an empty ``table``."""
    for j in range(keys.size):
        h = pair_slot(table[0], keys[j])
        table[0, h] = keys[j]
        table[1, h] = counts[j]


@njit(cache=True)
def rehash(old, new):
    """Move every pair of table ``old`` into the (larger, empty) table ``new``."""
    for j in range(old.shape[1]):
        if old[0, j] != EMPTY:
            h = pair_slot(new[0], old[0, j])
            new[0, h] = old[0, j]
            new[1, h] = old[1, j]


# ------------------------------------------------------------------ the log


@inner
def new_request(log, patient, t, need, urgency, mode, from_day, with_clinician):
    """Log a new request (as ``ReferenceDesk._new_request``); return its id."""
    r = log.count[COUNT_REQUESTS]
    log.count[COUNT_REQUESTS] = r + 1
    q = log.req_int
    for row in range(REQ_INT_NEW.size):
        q[row, r] = REQ_INT_NEW[row]
    for row in range(REQ_FLOAT_NEW.size):
        log.req_float[row, r] = REQ_FLOAT_NEW[row]
    q[REQ_PATIENT, r] = patient
    q[REQ_FROM_DAY, r] = from_day
    q[REQ_WITH, r] = with_clinician
    q[REQ_NEED, r] = need
    q[REQ_URGENCY, r] = urgency
    q[REQ_MODE, r] = mode
    log.req_float[REQ_TIME, r] = t
    return r


@inner
def queue_push(run, log, day, rid, attempt):
    """Queue request ``rid`` for the opening of ``day`` (after those already queued)."""
    q = log.count[COUNT_QUEUED]
    log.count[COUNT_QUEUED] = q + 1
    log.queue[QUEUE_REQUEST, q] = rid
    log.queue[QUEUE_ATTEMPT, q] = attempt
    log.queue[QUEUE_NEXT, q] = -1
    if run.days[DAY_FIRST_QUEUED, day] < 0:
        run.days[DAY_FIRST_QUEUED, day] = q
    else:
        log.queue[QUEUE_NEXT, run.days[DAY_LAST_QUEUED, day]] = q
    run.days[DAY_LAST_QUEUED, day] = q
    run.days[DAY_QUEUED, day] += 1


@inlined
def _book(cal, usual, run, log, rid, now, j, held_out):
    """Book offer ``j`` of the scratch offers for request ``rid``."""
    t = run.offer_time[j]
    offer = run.offer_int[j]
    c = offer[OFFER_CLINICIAN]
    d = offer[OFFER_DAY]
    pool = offer[OFFER_POOL]
    i = offer[OFFER_SLOT]
    book_slot(cal, c, pool, offer[OFFER_CELL], i, now)
    a = log.count[COUNT_APPOINTMENTS]
    log.count[COUNT_APPOINTMENTS] = a + 1
    patient = log.req_int[REQ_PATIENT, rid]
    appt = log.appt_int
    for row in range(APPT_INT_NEW.size):
        appt[row, a] = APPT_INT_NEW[row]
    for row in range(APPT_FLOAT_NEW.size):
        log.appt_float[row, a] = APPT_FLOAT_NEW[row]
    appt[APPT_REQUEST, a] = rid
    appt[APPT_PATIENT, a] = patient
    appt[APPT_CLINICIAN, a] = c
    appt[APPT_POOL, a] = pool
    appt[APPT_USUAL, a] = usual[patient]
    log.appt_float[APPT_TIME, a] = t
    log.appt_float[APPT_BOOKED_AT, a] = now
    log.appt_float[APPT_HELD_OUT, a] = held_out
    log.req_int[REQ_OUTCOME, rid] = GOT_APPOINTMENT
    log.req_int[REQ_APPOINTMENT, rid] = a
    run.slot_appointment[i] = a
    if run.days[DAY_FIRST_APPT, d] < 0:
        run.days[DAY_FIRST_APPT, d] = a
    else:
        appt[APPT_NEXT_SAME_DAY, run.days[DAY_LAST_APPT, d]] = a
    run.days[DAY_LAST_APPT, d] = a
    run.days[DAY_APPTS, d] += 1


# ------------------------------------------------------------------ offers


@inner
def _add_offer(run, n, slot):
    """Append ``slot`` to the offers unless none or already there; return the count."""
    t, c, d, pool, k, i = slot
    if c < 0:
        return n
    for j in range(n):
        if run.offer_int[j, OFFER_CELL] == k and run.offer_int[j, OFFER_SLOT] == i:
            return n
    run.offer_time[n] = t
    run.offer_int[n, OFFER_CLINICIAN] = c
    run.offer_int[n, OFFER_DAY] = d
    run.offer_int[n, OFFER_POOL] = pool
    run.offer_int[n, OFFER_CELL] = k
    run.offer_int[n, OFFER_SLOT] = i
    return n + 1


@inner
def _same_day(cal, clinicians, n, now, online):
    """As :func:`sim.engine.offers.same_day_slot`."""
    today = int(now)
    if online:
        return earliest(cal, clinicians, n, i64(ONLINE), now, today, i64(-1))
    held = earliest(cal, clinicians, n, i64(ON_THE_DAY), now, today, i64(-1))
    if held[1] >= 0:  # a clinician: found
        return held
    return earliest(cal, clinicians, n, i64(AHEAD), now, today, i64(-1))


@inner
def _routine(cal, horizon_days, release, clinicians, n, now, from_day, wait, online):
    """As :func:`sim.engine.offers.routine_slot`."""
    horizon = horizon_days if wait < 0 else min(wait, horizon_days)
    today = int(now)
    if online:
        return earliest(cal, clinicians, n, i64(ONLINE), now, today + horizon, from_day)
    best = earliest(cal, clinicians, n, i64(AHEAD), now, today + horizon, from_day)
    if from_day > today:
        return best
    held = earliest(cal, clinicians, n, i64(ON_THE_DAY), now, today, i64(-1))
    if held[1] >= 0 and held[0] <= now + release:  # found, and within the release window
        if best[1] < 0 or held[0] <= best[0]:
            return held
    return best


@inner
def _fill_tiers(rules, rule, usual, run, patient, row):
    """The rule's tiers for ``patient`` (eligible clinicians only), into ``run.tiers``.

    As :func:`sim.engine.offers.rule_tiers`.
    """
    usual_gp = usual[patient]
    team = rules.team_of[usual_gp]
    named = usual_gp
    if rule.named == RULE_TEAM_LEAD and team >= 0:
        named = rules.teams[team, 1]
    n_first = 0
    if rules.eligible_mask[row, named]:
        run.tiers[0, 0] = named
        n_first = 1
    n_team = 0
    if rule.team_tier and team >= 0:
        for j in range(rules.teams[team, 0]):
            c = rules.teams[team, 1 + j]
            if c != named and rules.eligible_mask[row, c]:
                run.tiers[1, n_team] = c
                n_team += 1
    return n_first, n_team


@inlined
def offers(cal, rules, rule, usual, run, log, rid, now):
    """The rule's offers for request ``rid`` at time ``now``, into the scratch offers.

    As :func:`sim.engine.offers.rule_offers` (with ``rule_applies``, ``tiered_offers``
    and ``follow_up_offers``), and the desk's own offer of the patient's GP first.
    """
    urgency = log.req_int[REQ_URGENCY, rid]
    mode = log.req_int[REQ_MODE, rid]
    row = log.req_int[REQ_NEED, rid] * N_MODES + mode
    n_eligible = rules.eligible_list[row, 0]
    eligible = rules.eligible_list[row, 1:]
    online = mode == ONLINE_MODE and cal.dims[DIM_HAS_ONLINE] != 0
    from_day = log.req_int[REQ_FROM_DAY, rid]
    horizon = rules.horizon_days
    n = i64(0)
    if urgency == FOLLOW_UP or urgency == REVIEW or urgency == PLANNED:
        pool = i64(ONLINE) if online else i64(AHEAD)
        c = log.req_int[REQ_WITH, rid]
        if c >= 0:
            run.tiers[0, 0] = c
            n = _add_offer(run, n, earliest(cal, run.tiers[0], i64(1), pool, now,
                                            from_day + rules.follow_up_window_days, from_day))
        return _add_offer(run, n, earliest(cal, eligible, n_eligible, pool, now,
                                           from_day + horizon, from_day))
    patient = log.req_int[REQ_PATIENT, rid]
    n = _policy_offers(cal, rules, rule, usual, run, log, rid, now, urgency, row, n_eligible,
                       eligible, online, from_day, patient)
    own = usual[patient]
    if not (urgency == ROUTINE and rules.ask_for_own_gp and rules.values_continuity[patient]
            and rules.eligible_mask[row, own]):
        return n
    # The patient asks for their own GP, whatever the policy: their slot goes first.
    run.tiers[0, 0] = own
    slot = _routine(cal, horizon, rules.release_days, run.tiers[0], i64(1), now, from_day,
                    i64(-1), online)
    return _put_first(run, n, slot)


@inner
def _put_first(run, n, slot):
    """Move ``slot`` to the front of the offers (adding it if new); return the count."""
    t, c, d, pool, k, i = slot
    if c < 0:
        return n
    at = n
    for j in range(n):
        if run.offer_int[j, OFFER_CELL] == k and run.offer_int[j, OFFER_SLOT] == i:
            at = j
            break
    for j in range(at, 0, -1):
        run.offer_time[j] = run.offer_time[j - 1]
        for f in range(5):
            run.offer_int[j, f] = run.offer_int[j - 1, f]
    run.offer_time[0] = t
    run.offer_int[0, OFFER_CLINICIAN] = c
    run.offer_int[0, OFFER_DAY] = d
    run.offer_int[0, OFFER_POOL] = pool
    run.offer_int[0, OFFER_CELL] = k
    run.offer_int[0, OFFER_SLOT] = i
    return n + 1 if at == n else n


@inlined
def _policy_offers(cal, rules, rule, usual, run, log, rid, now, urgency, row, n_eligible,
                   eligible, online, from_day, patient):
    """The rule's offers for an urgent or routine request (as ``rule_offers``)."""
    apply = False
    if rule.named != RULE_NONE and rule.coded[patient]:
        if rule.adherence >= 1.0:
            apply = True
        else:
            u = run.policy_draws[log.count[USED_POLICY_DRAWS]]
            log.count[USED_POLICY_DRAWS] += 1
            apply = u < rule.adherence
    n_first = 0
    n_team = 0
    if apply:
        n_first, n_team = _fill_tiers(rules, rule, usual, run, patient, row)
    if urgency == URGENT:
        if n_first > 0:
            slot = _same_day(cal, run.tiers[0], n_first, now, online)
            if slot[1] >= 0:
                return _add_offer(run, i64(0), slot)
        if n_team > 0:
            slot = _same_day(cal, run.tiers[1], n_team, now, online)
            if slot[1] >= 0:
                return _add_offer(run, i64(0), slot)
        return _add_offer(run, i64(0), _same_day(cal, eligible, n_eligible, now, online))
    n = i64(0)
    horizon = rules.horizon_days
    release = rules.release_days
    if n_first > 0:
        n = _add_offer(run, n, _routine(cal, horizon, release, run.tiers[0], n_first, now,
                                        from_day, rule.named_wait_days, online))
    if n_team > 0:
        n = _add_offer(run, n, _routine(cal, horizon, release, run.tiers[1], n_team, now,
                                        from_day, rule.team_wait_days, online))
    return _add_offer(run, n, _routine(cal, horizon, release, eligible, n_eligible, now,
                                       from_day, i64(-1), online))


@inlined
def choose(rules, run, log, rid, n):
    """The offer the patient takes (as :func:`sim.engine.choice.patient_choice`), or -1."""
    if n == 0:
        return -1
    urgency = log.req_int[REQ_URGENCY, rid]
    chosen = 0
    if urgency == ROUTINE and n > 1:
        soonest = 0
        for j in range(1, n):
            if run.offer_time[j] < run.offer_time[soonest]:
                soonest = j
        chosen = soonest
        if rules.values_continuity[log.req_int[REQ_PATIENT, rid]]:
            extra = rules.extra_days[log.req_int[REQ_NEED, rid]]
        else:
            extra = rules.extra_days_without_preference
        for j in range(n):
            if j == soonest or run.offer_time[j] - run.offer_time[soonest] <= extra:
                chosen = j
                break
    if (urgency == ROUTINE
            and run.offer_time[chosen] - log.req_float[REQ_TIME, rid] > rules.decline_after_days):
        return -1
    return chosen


@inlined
def handle(cal, rules, rule, usual, run, log, rid, now, attempt):
    """One attempt to book request ``rid`` at time ``now`` (as ``ReferenceDesk._handle``)."""
    log.req_int[REQ_ATTEMPTS, rid] += 1
    n = offers(cal, rules, rule, usual, run, log, rid, now)
    j = choose(rules, run, log, rid, n)
    if j >= 0:
        soonest = run.offer_time[0]
        for k in range(1, n):
            soonest = min(soonest, run.offer_time[k])
        _book(cal, usual, run, log, rid, now, j, run.offer_time[j] - soonest)
        return
    u = log.count[COUNT_UNMET]
    log.count[COUNT_UNMET] = u + 1
    log.unmet_int[UNMET_REQUEST, u] = rid
    log.unmet_float[UNMET_TIME, u] = now
    if attempt >= rules.max_attempts:
        log.req_int[REQ_OUTCOME, rid] = GAVE_UP
        log.req_float[REQ_GAVE_UP_AT, rid] = now
        return
    day = rules.next_open[int(now)]
    if day + rules.open_time < rules.end_day:
        queue_push(run, log, day, rid, i64(attempt + 1))


# ------------------------------------------------------------------ the day


@inner
def _attendance(cal, rules, run, log, d):
    """Day ``d``'s booked appointments are attended or missed; return how many attended.

    The attended ones are listed in ``run.scratch``, in the day's booking order.
    """
    appt = log.appt_int
    n = 0
    a = run.days[DAY_FIRST_APPT, d]
    while a >= 0:
        if appt[APPT_STATUS, a] == BOOKED:
            n += 1
        a = appt[APPT_NEXT_SAME_DAY, a]
    if n == 0:
        return 0
    attended = run.scratch[:n]
    n_attended = 0
    online = cal.dims[DIM_HAS_ONLINE] != 0
    a = run.days[DAY_FIRST_APPT, d]
    while a >= 0:
        if appt[APPT_STATUS, a] == BOOKED:
            lead = d - int(log.appt_float[APPT_BOOKED_AT, a])
            p = rules.dna_by_lead[lead] * rules.dna_propensity[appt[APPT_PATIENT, a]]
            if p > 1.0:
                p = 1.0
            if online and appt[APPT_POOL, a] == ONLINE:
                p = 0.0
            u = run.dna_draws[log.count[USED_DNA_DRAWS]]
            log.count[USED_DNA_DRAWS] += 1
            if u < p:
                appt[APPT_STATUS, a] = DNA
            else:
                appt[APPT_STATUS, a] = ATTENDED
                attended[n_attended] = a
                n_attended += 1
        a = appt[APPT_NEXT_SAME_DAY, a]
    return n_attended


@inner
def _sickness(cal, rules, run, log, d):
    """Sickness spells starting on day ``d``: close the days, queue their patients."""
    n_days = cal.dims[DIM_DAYS]
    spells = run.spells
    while log.count[NEXT_SPELL] < spells.shape[1] and spells[SPELL_DAY, log.count[NEXT_SPELL]] == d:
        s = log.count[NEXT_SPELL]
        log.count[NEXT_SPELL] = s + 1
        c = spells[SPELL_CLINICIAN, s]
        for day in range(d, min(d + spells[SPELL_LENGTH, s], n_days)):
            k = c * n_days + day
            if cal.closed[k]:
                continue
            cal.closed[k] = True
            for pool in range(N_POOLS):
                kk = pool * cal.dims[DIM_CELLS] + k
                for i in range(cal.cell[CELL_START, kk], cal.cell[CELL_END, kk]):
                    if cal.booked[i]:
                        _cancel_and_rebook(rules, run, log, run.slot_appointment[i], d)
                cal.cell[CELL_NEXT_FREE, kk] = cal.cell[CELL_END, kk]
                cal.cell_first[kk] = INF
                if cal.head[HEAD_CELL, pool, c] == kk:
                    refresh(cal, pool, c, cal.head_time[pool, c])


@inner
def _cancel_and_rebook(rules, run, log, a, d):
    log.appt_int[APPT_STATUS, a] = CANCELLED
    rid = log.appt_int[APPT_REQUEST, a]
    log.req_int[REQ_OUTCOME, rid] = PENDING
    log.req_int[REQ_APPOINTMENT, rid] = -1
    if not rules.is_open[d]:
        d = rules.next_open[d]
    if d + rules.open_time >= rules.end_day:
        return
    queue_push(run, log, d, rid, i64(1))


# The steps of a day, in order (run_days); all but sickness are a source of booking
# attempts (_attempts): yesterday's attendance then its follow-ups, the sickness
# spells starting today, the requests queued for today's opening, today's new requests.
FOLLOW_UPS, SICKNESS, OPENING, NEW_REQUESTS = 0, 1, 2, 3


@inlined
def _attempts(cal, rules, rule, usual, run, log, d, source, attended):
    """Day ``d``'s booking attempts from one ``source``, in order; ``attended`` for follow-ups.

    ``OPENING``: the requests queued for day ``d`` (retries, rebookings), in the
    order queued, at opening time. ``NEW_REQUESTS``: the day's new requests in
    time order (as ``ReferenceDesk.new_requests``). ``FOLLOW_UPS``: the
    follow-ups of the ``attended`` appointments of day ``d - 1`` (as
    ``ReferenceDesk._follow_ups``), at the start of day ``d``.

    :func:`handle` is called here only, and inlined with everything it calls
    once (offers, choice, booking): a call would copy every array of the named
    tuples onto the stack for each attempt. With the three sources in one loop
    there is one copy of its code (inlined at three call sites instead, the
    first compile took 13.6 s rather than 9). The kernel of a BNSSG practice
    (10,000 patients, two years) went from 79 to about 31 ms. This function is
    in turn inlined into :func:`run_days`, its only caller.
    """
    q = run.days[DAY_FIRST_QUEUED, d] if source == OPENING else i64(-1)
    j = run.day_start[d] if source == NEW_REQUESTS else i64(0)
    end = run.day_start[d + 1] if source == NEW_REQUESTS else attended.size
    base = log.count[USED_FOLLOW_UP_DRAWS]
    if source == FOLLOW_UPS:
        log.count[USED_FOLLOW_UP_DRAWS] = base + 2 * attended.size
    n_clinicians = cal.dims[DIM_CLINICIANS]
    arrivals = run.arrivals
    while True:
        if source == OPENING:
            if q < 0:
                break
            rid = log.queue[QUEUE_REQUEST, q]
            now = d + rules.open_time
            attempt = log.queue[QUEUE_ATTEMPT, q]
        elif source == NEW_REQUESTS:
            if j >= end:
                break
            now = run.arrival_time[j]
            patient = arrivals[ARR_PATIENT, j]
            need = arrivals[ARR_NEED, j]
            urgency = arrivals[ARR_URGENCY, j]
            mode = arrivals[ARR_MODE, j]
            attempt = i64(1)
            k = j
            j += 1
            if rules.has_navigation and urgency != REVIEW and urgency != PLANNED:
                to = arrivals[ARR_NAVIGATION, k]
                if to == NAV_ELSEWHERE:
                    rid = new_request(log, patient, now, need, urgency, mode,
                                      arrivals[ARR_FROM_DAY, k], i64(-1))
                    log.req_int[REQ_OUTCOME, rid] = SIGNPOSTED
                    continue
                if to >= 0:
                    need = to
            with_clinician = i64(-1)
            if (urgency == REVIEW or urgency == PLANNED) and arrivals[ARR_NAMED, k] != NAMED_NONE:
                c = usual[patient]
                if arrivals[ARR_NAMED, k] != NAMED_USUAL_GP:
                    team = rules.team_of[c]
                    if team >= 0:
                        c = rules.teams[team, 1]
                with_clinician = c if rules.eligible_mask[need * N_MODES + mode, c] else i64(-1)
            rid = new_request(log, patient, now, need, urgency, mode, arrivals[ARR_FROM_DAY, k],
                              with_clinician)
        else:
            if j >= end:
                break
            k = j
            j += 1
            a = attended[k]
            patient = log.appt_int[APPT_PATIENT, a]
            c = log.appt_int[APPT_CLINICIAN, a]
            key = patient * n_clinicians + c
            h = pair_slot(run.pairs[0], key)
            if run.pairs[0, h] == EMPTY:
                run.pairs[0, h] = key
                run.pairs[1, h] = 0
                log.count[COUNT_PAIRS] += 1
            prior = run.pairs[1, h]
            run.pairs[1, h] = prior + 1
            first = log.appt_int[APPT_REQUEST, a]
            need = log.req_int[REQ_NEED, first]
            p = rules.follow_up_probability[need]
            if prior >= rules.known_after_visits:
                p *= rules.known_clinician_factor
            now = float(d)
            if not now < rules.end_day or run.follow_up_draws[base + k] >= p:
                continue
            from_day = d - 1 + int(rules.follow_up_delay_lo[need]
                                   + int(run.follow_up_draws[base + attended.size + k]
                                         * rules.follow_up_delay_span[need]))
            rid = new_request(log, patient, log.appt_float[APPT_TIME, a], need, FOLLOW_UP,
                              log.req_int[REQ_MODE, first], from_day, c)
            attempt = i64(1)
        handle(cal, rules, rule, usual, run, log, rid, now, attempt)
        if source == OPENING:
            q = log.queue[QUEUE_NEXT, q]
    if source == OPENING:
        run.days[DAY_FIRST_QUEUED, d] = -1


# ------------------------------------------------------------------ entry points


@inner
def _room(cal, rule, run, log, d, attend):
    """Whether the log and the random blocks can hold the most day ``d`` could add.

    The most: every appointment of yesterday attended and asking for a
    follow-up, every sickness cancellation, queued and new request handled,
    each booking or failing. ``run.want`` gets what the driver must grow by
    (rows ``WANT_*``).
    """
    yesterday = run.days[DAY_APPTS, d - 1] if attend else 0
    cancelled = 0
    for s in range(log.count[NEXT_SPELL], run.spells.shape[1]):
        if run.spells[SPELL_DAY, s] != d:
            break
        for day in range(d, min(d + run.spells[SPELL_LENGTH, s], cal.dims[DIM_DAYS])):
            cancelled += run.days[DAY_APPTS, day]
    new = run.day_start[d + 1] - run.day_start[d]
    queued = run.days[DAY_QUEUED, d] + cancelled
    attempts = yesterday + queued + new
    draws = queued + new if rule.named != RULE_NONE and rule.adherence < 1.0 else 0
    run.want[WANT_REQUESTS] = yesterday + new
    run.want[WANT_ATTEMPTS] = attempts
    run.want[WANT_ATTENDANCES] = yesterday
    run.want[WANT_POLICY_DRAWS] = draws
    run.want[WANT_PAIRS] = yesterday
    count = log.count
    appt_room = log.appt_int.shape[1]
    unmet_room = log.unmet_int.shape[1]
    return (count[COUNT_REQUESTS] + yesterday + new <= log.req_int.shape[1]
            and count[COUNT_APPOINTMENTS] + attempts <= appt_room
            and count[COUNT_UNMET] + attempts <= unmet_room
            and log.queue.shape[1] >= appt_room + unmet_room
            and count[USED_DNA_DRAWS] + yesterday <= run.dna_draws.size
            and count[USED_FOLLOW_UP_DRAWS] + 2 * yesterday <= run.follow_up_draws.size
            and count[USED_POLICY_DRAWS] + draws <= run.policy_draws.size
            and 2 * (count[COUNT_PAIRS] + yesterday) <= run.pairs.shape[1]
            and yesterday <= run.scratch.size)


#: ``run_days``' ``attend_first``: whether its first day opens with yesterday's attendance,
#: or only that attendance (and its follow-ups) is wanted.
NO_ATTENDANCE, ATTENDANCE, ATTENDANCE_ONLY = 0, 1, 2


@njit(cache=True, _nrt=False)
def run_days(cal, rules, rule, usual, run, log, first_day, stop_day, attend_first):
    """Days ``first_day`` to ``stop_day - 1``, as ``ReferenceDesk.day``; return the day reached.

    Each day is its four steps (``FOLLOW_UPS`` to ``NEW_REQUESTS``):
    yesterday's attendance and its follow-ups (on ``first_day`` only if
    ``attend_first`` is ``ATTENDANCE``), sickness, the opening queue, the new
    requests. Stops before a day that might not fit in the log (see
    :func:`_room`): the driver grows it and calls again from there.

    ``attend_first`` ``ATTENDANCE_ONLY``: only day ``first_day - 1``'s
    attendance and its follow-ups (before a leaver's lists move, and at the
    end; the driver makes room for them first); returns ``first_day``.

    The kernel's one entry point for booking, calling :func:`_attempts` from
    one place: each compiled function links, optimises and compiles its own
    copy of what it calls, so the booking code compiled once here rather than
    three times (in ``_attempts``, a function calling it and a second entry
    point) takes about 1.4 s off the first compile.
    """
    only = attend_first == ATTENDANCE_ONLY
    if only:
        stop_day = first_day + 1
    none = run.scratch[:0]
    d = first_day
    step = i64(FOLLOW_UPS)
    while d < stop_day:
        if step == SICKNESS:
            _sickness(cal, rules, run, log, d)
        else:
            attended = none
            if step == FOLLOW_UPS:
                attend = d > 0 and (d > first_day or attend_first != NO_ATTENDANCE)
                if not only and not _room(cal, rule, run, log, d, attend):
                    return d
                if attend:
                    attended = run.scratch[:_attendance(cal, rules, run, log, d - 1)]
            _attempts(cal, rules, rule, usual, run, log, d, step, attended)
            if only:
                return first_day
        step += 1
        if step > NEW_REQUESTS:
            step = i64(FOLLOW_UPS)
            d += 1
    return stop_day


def _load_without_registries(*dispatchers) -> None:
    """Load these functions from numba's cache without its compiler's registries.

    Before loading a cached function numba refreshes its compiler: it imports
    and installs the typing and lowering rules of everything it can compile
    (arrays, random numbers, linear algebra, typed containers...), 0.1 to 0.2 s
    a process. Running the cached machine code needs none of that, only
    numba's runtime (which :func:`seed_pairs` and :func:`rehash` use to count
    references), started here. A function not in the cache is compiled by
    numba as usual, and compiling refreshes the compiler itself (the BLAS
    probe answered first). Only this module's functions load this way; a numba
    whose cache does not look like this (numba is pinned below 1.0) loads as
    it always does. The engine tests run in processes that load this way, and
    one loads every function in a fresh process (history, growth).
    """
    from numba.core.runtime import rtsys

    for dispatcher in dispatchers:
        cache = getattr(dispatcher, "_cache", None)
        load = getattr(cache, "_load_overload", None)
        guard = getattr(cache, "_guard_against_spurious_io_errors", None)
        if load is None or guard is None or not hasattr(cache, "load_overload"):
            continue

        def load_overload(sig, target_context, load=load, guard=guard):
            rtsys.initialize(target_context)
            loaded = None
            with guard():  # as numba's own: an unreadable cache is a miss
                loaded = load(sig, target_context)
            if loaded is None:  # numba compiles it next
                _answer_the_blas_probe()
            return loaded

        cache.load_overload = load_overload


_load_without_registries(run_days, seed_pairs, rehash)
