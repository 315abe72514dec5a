"""The day's work, the log and the visit counts: :mod:`sim.engine.reference`'s twin.

Each day, in the order the reference desk's processes keep (:func:`run_days`):
yesterday's clinics (attendance, DNAs, follow-ups), sickness, the call-backs at
opening, the day's new requests. :func:`run_days` is the kernel's one entry point
for booking.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...codes import (
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
    ONLINE,
    PENDING,
    PLANNED,
    RESOLVED_AT_TRIAGE,
    REVIEW,
    ROUTINE,
    RULE_NONE,
    SIGNPOSTED,
    TRIAGED_RESOLVED,
    TRIAGED_TO_BOOK,
)
from .calendar import book_slot, refresh
from .layout import (
    APPT_BOOKED_AT,
    APPT_CLINICIAN,
    APPT_FLOAT_NEW,
    APPT_HELD_OUT,
    APPT_INT_NEW,
    APPT_NEXT_SAME_DAY,
    APPT_PATIENT,
    APPT_POOL,
    APPT_REQUEST,
    APPT_STATUS,
    APPT_TIME,
    APPT_USUAL,
    ARR_FROM_DAY,
    ARR_MODE,
    ARR_NAMED,
    ARR_NAVIGATION,
    ARR_NEED,
    ARR_PATIENT,
    ARR_URGENCY,
    CELL_END,
    CELL_NEXT_FREE,
    CELL_START,
    COUNT_APPOINTMENTS,
    COUNT_PAIRS,
    COUNT_QUEUED,
    COUNT_REQUESTS,
    COUNT_UNMET,
    DAY_APPTS,
    DAY_FIRST_APPT,
    DAY_FIRST_QUEUED,
    DAY_LAST_APPT,
    DAY_LAST_QUEUED,
    DAY_QUEUED,
    DIM_CELLS,
    DIM_CLINICIANS,
    DIM_DAYS,
    DIM_HAS_ONLINE,
    EMPTY,
    HEAD_CELL,
    INF,
    NEXT_SPELL,
    OFFER_CELL,
    OFFER_CLINICIAN,
    OFFER_DAY,
    OFFER_POOL,
    OFFER_SLOT,
    QUEUE_ATTEMPT,
    QUEUE_NEXT,
    QUEUE_REQUEST,
    REQ_APPOINTMENT,
    REQ_ATTEMPTS,
    REQ_FLOAT_NEW,
    REQ_FROM_DAY,
    REQ_GAVE_UP_AT,
    REQ_INT_NEW,
    REQ_MODE,
    REQ_NEED,
    REQ_OUTCOME,
    REQ_PATIENT,
    REQ_TIME,
    REQ_TRIAGE,
    REQ_URGENCY,
    REQ_WITH,
    SPELL_CLINICIAN,
    SPELL_DAY,
    SPELL_LENGTH,
    UNMET_REQUEST,
    UNMET_TIME,
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
    i64,
    inlined,
    inner,
)
from .offers import choose, offers

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



@inlined
def handle(cal, rules, rule, usual, run, log, rid, now, attempt):
    """One attempt to book request ``rid`` at time ``now`` (as ``ReferenceDesk.reception``).

    A routine request for a day beyond the booking horizon is not an attempt yet:
    the patient calls again at the first opening from which that day is in reach.
    """
    from_day = log.req_int[REQ_FROM_DAY, rid]
    if log.req_int[REQ_URGENCY, rid] == ROUTINE and from_day > int(now) + rules.horizon_days:
        day = from_day - rules.horizon_days
        if day < rules.end_day:
            if not rules.is_open[day]:
                day = rules.next_open[day]
            if day + rules.open_time < rules.end_day:
                queue_push(run, log, day, rid, attempt)
        return
    log.req_int[REQ_ATTEMPTS, rid] += 1
    n = -1
    if rules.triage_kinds[log.req_int[REQ_URGENCY, rid]] and log.req_int[REQ_TRIAGE, rid] == 0:
        # As ReferenceDesk.triage: a clinician's call first, while the day has calls left.
        day = int(now)
        if run.triage_left[day] > 0:
            run.triage_left[day] -= 1
            u = run.triage_draws[log.count[USED_TRIAGE_DRAWS]]
            log.count[USED_TRIAGE_DRAWS] += 1
            if u < rules.triage_resolved_share:
                log.req_int[REQ_TRIAGE, rid] = TRIAGED_RESOLVED
                log.req_int[REQ_OUTCOME, rid] = RESOLVED_AT_TRIAGE
                return
            log.req_int[REQ_TRIAGE, rid] = TRIAGED_TO_BOOK
        else:
            n = 0  # the day's calls are used up: this attempt finds nothing
    if n < 0:
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
    triage_draws = min(queued + new, run.triage_left[d])  # a draw per triage call
    run.want[WANT_REQUESTS] = yesterday + new
    run.want[WANT_ATTEMPTS] = attempts
    run.want[WANT_ATTENDANCES] = yesterday
    run.want[WANT_POLICY_DRAWS] = draws
    run.want[WANT_PAIRS] = yesterday
    run.want[WANT_TRIAGE_DRAWS] = triage_draws
    count = log.count
    appt_room = log.appt_int.shape[1]
    unmet_room = log.unmet_int.shape[1]
    return (count[COUNT_REQUESTS] + yesterday + new <= log.req_int.shape[1]
            and count[COUNT_APPOINTMENTS] + attempts <= appt_room
            and count[COUNT_UNMET] + attempts <= unmet_room
            and log.queue.shape[1] >= appt_room + unmet_room + log.req_int.shape[1]
            and count[USED_DNA_DRAWS] + yesterday <= run.dna_draws.size
            and count[USED_FOLLOW_UP_DRAWS] + 2 * yesterday <= run.follow_up_draws.size
            and count[USED_POLICY_DRAWS] + draws <= run.policy_draws.size
            and count[USED_TRIAGE_DRAWS] + triage_draws <= run.triage_draws.size
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


