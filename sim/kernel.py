"""The compiled booking desk: numba functions over flat arrays.

These functions do, for the built-in booking rules, exactly what the
reference engine (:class:`sim.model.PracticeModel` with the policies of
:mod:`policies`) does in plain Python: same calendar search, same offers,
same patient choice, same random numbers in the same order. The tests run
both engines on the same scenarios and require identical event logs.

State lives in four named tuples of arrays built by :mod:`sim.compiled`:

* ``cal`` (:class:`Cal`): the calendar;
* ``pr`` (:class:`Practice`): the practice and the policy's rule;
* ``rn`` (:class:`Run`): the arrivals, sickness spells, pre-drawn random
  numbers, per-day lists, the patient-clinician visit counts and scratch space;
* ``lg`` (:class:`Log`): the event log and counters, grown by the driver
  whenever :func:`run_days` finds a day might not fit.

Whole-number fields of several records share one 2-D array, row by row
(the ``R_*``, ``P_*``, ... constants name the rows).

A slot found by a search is returned as ``(time, clinician, day, pool,
cell, index)``, with clinician ``-1`` when there is none.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

# Keep these equal to sim.calendar, sim.demand and sim.model (tested).
AHEAD, ON_THE_DAY, ONLINE = 0, 1, 2
N_POOLS = 3
URGENT, ROUTINE, FOLLOW_UP, REVIEW = 0, 1, 2, 3
NAMED_USUAL_GP = 0
BOOKED, ATTENDED, DNA, CANCELLED = 0, 1, 2, 3
PENDING, GOT_APPOINTMENT, GAVE_UP, SIGNPOSTED = 0, 1, 2, 3
# CompiledRule.named
RULE_NONE, RULE_USUAL_GP, RULE_TEAM_LEAD = 0, 1, 2

# Log.n: counters of rows used and of random numbers drawn.
N_REQ, N_APPT, N_UNMET, N_QUEUE, P_DNA, P_FU, P_POL, P_SPELL, N_PAIRS = range(9)
N_COUNTERS = 9
# Rows of the packed arrays.
C_START, C_END, C_NXT = 0, 1, 2                                   # Cal.cell
H_FIRST, H_K, H_I = 0, 1, 2                                       # Cal.head
D_CLIN, D_DAYS, D_CELLS, D_ONLINE = 0, 1, 2, 3                    # Cal.dims
(I_END_DAY, I_MAX_ATTEMPTS, I_HORIZON, I_FU_WINDOW, I_ONLINE_MODE, I_N_MODES,
 I_FU_KNOWN_AFTER, I_RULE_NAMED, I_RULE_NAMED_WAIT, I_RULE_TEAM, I_RULE_TEAM_WAIT,
 I_HAS_NAV) = range(12)                                           # Practice.pi
N_PI = 12
F_OPEN_TIME, F_RELEASE, F_DECLINE, F_FU_KNOWN_FACTOR, F_ADHERENCE = range(5)  # Practice.pf
N_PF = 5
O_NEXT_OPEN, O_IS_OPEN = 0, 1                                     # Practice.open_days
B_VALUES, B_CODED = 0, 1                                          # Practice.pat_b
NF_EXTRA, NF_FU_P = 0, 1                                          # Practice.need_f
NI_FU_LO, NI_FU_SPAN = 0, 1                                       # Practice.need_i
A_PATIENT, A_NEED, A_URGENCY, A_MODE, A_FROM_DAY, A_NAMED, A_NAV = range(7)  # Run.arr
S_DAY, S_CLIN, S_LEN = 0, 1, 2                                    # Run.spells
DAY_HEAD, DAY_TAIL, DAY_COUNT, Q_HEAD, Q_TAIL, Q_COUNT = range(6)  # Run.days
(R_PATIENT, R_FROM_DAY, R_WITH, R_NEED, R_URGENCY, R_MODE, R_ATTEMPTS, R_OUTCOME,
 R_APPOINTMENT) = range(9)                                        # Log.req_i
N_RI = 9
RF_TIME, RF_GAVE_UP = 0, 1                                        # Log.req_f
(P_REQUEST, P_PATIENT, P_CLINICIAN, P_POOL, P_STATUS, P_USUAL, P_NEXT) = range(7)  # Log.appt_i
N_PI_APPT = 7
PF_TIME, PF_BOOKED_AT = 0, 1                                      # Log.appt_f
Q_RID, Q_ATTEMPT, Q_NEXT = 0, 1, 2                                # Log.queue

INF = np.inf


class Cal(NamedTuple):
    """The calendar (:class:`sim.calendar.Calendar`) as arrays.

    ``cell`` holds each cell's start, end and next-free pointer (rows ``C_*``);
    ``head`` each (pool, clinician)'s first open day, cell and slot index
    (rows ``H_*``), ``head_t`` its time; ``dims`` the sizes (``D_*``).
    """

    times: np.ndarray
    cell: np.ndarray
    cell_first: np.ndarray
    booked: np.ndarray
    closed: np.ndarray
    head: np.ndarray
    head_t: np.ndarray
    dims: np.ndarray


class Practice(NamedTuple):
    """What does not change in a run (but ``usual``, changed in place when a GP leaves)."""

    pi: np.ndarray
    pf: np.ndarray
    open_days: np.ndarray
    elig: np.ndarray        # (need * n_modes + mode, 1 + clinicians): count, then clinicians
    elig_mask: np.ndarray   # (need * n_modes + mode, clinician)
    usual: np.ndarray
    pat_b: np.ndarray
    propensity: np.ndarray
    need_f: np.ndarray
    need_i: np.ndarray
    dna_by_lead: np.ndarray
    teams: np.ndarray       # (team, 1 + members): size, then members, lead first
    team_of: np.ndarray     # list-holder -> team, else -1


class Run(NamedTuple):
    """The run's inputs and per-day lists."""

    arr: np.ndarray
    a_time: np.ndarray
    day_start: np.ndarray
    spells: np.ndarray
    r_dna: np.ndarray
    r_fu: np.ndarray
    r_pol: np.ndarray
    days: np.ndarray
    slot_appt: np.ndarray
    pairs: np.ndarray   # hash table (keys, counts): patient * n_clinicians + clinician -> visits
    tiers: np.ndarray   # scratch: (2, clinicians)
    off_t: np.ndarray   # scratch: offers' times
    off_i: np.ndarray   # scratch: offers' (clinician, day, pool, cell, index)
    want: np.ndarray    # what the next day needs room for (see _room)
    scratch: np.ndarray  # room for one day's appointments


class Log(NamedTuple):
    """The event log (fields as :class:`sim.model.EventLog`), by rows, and counters."""

    n: np.ndarray
    req_i: np.ndarray
    req_f: np.ndarray
    appt_i: np.ndarray
    appt_f: np.ndarray
    unmet_i: np.ndarray
    unmet_f: np.ndarray
    queue: np.ndarray


# Functions called only from compiled code need no Python wrapper (faster to compile).
# No reference counting (numba's _nrt=False): every array belongs to the driver's
# named tuples for the whole call and the kernel allocates nothing, so counting
# references to arrays, which cost two thirds of the time, is not needed.
inner = njit(cache=True, no_cpython_wrapper=True, _nrt=False)
NONE_SLOT = (INF, -1, 0, 0, -1, -1)
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
    n_days = cal.dims[D_DAYS]
    today = int(now)
    d = cal.head[H_FIRST, pool, c]
    if d <= today:
        d = today
    base = pool * cal.dims[D_CELLS] + c * n_days
    while d < n_days:
        k = base + d
        i = cal.cell[C_NXT, k]
        e = cal.cell[C_END, k]
        if i < e:
            if d == today and cal.times[i] < now:
                i = _bisect_left(cal.times, now, i, e)
            if i < e:
                cal.head[H_FIRST, pool, c] = d
                cal.head[H_K, pool, c] = k
                cal.head[H_I, pool, c] = i
                cal.head_t[pool, c] = cal.times[i]
                return
        d += 1
    cal.head[H_FIRST, pool, c] = n_days
    cal.head[H_K, pool, c] = -1
    cal.head[H_I, pool, c] = -1
    cal.head_t[pool, c] = INF


@inner
def earliest(cal, cl, n, pool, now, last_day, from_day):
    """Earliest free slot with any of ``cl[:n]`` (ties: listed first); ``from_day`` -1: none.

    As :meth:`sim.calendar.Calendar.earliest`.
    """
    if n == 0:
        return NONE_SLOT
    today = int(now)
    if from_day > today:
        return _earliest_from(cal, cl, n, pool, last_day, from_day)
    while True:
        best = cl[0]
        t = cal.head_t[pool, best]
        for j in range(1, n):
            c = cl[j]
            tc = cal.head_t[pool, c]
            if tc < t:
                best = c
                t = tc
        if t >= now:
            break
        refresh(cal, pool, best, now)
    if t == INF:
        return NONE_SLOT
    k = cal.head[H_K, pool, best]
    d = (k - pool * cal.dims[D_CELLS]) - best * cal.dims[D_DAYS]
    if d > last_day:
        return NONE_SLOT
    return t, best, d, pool, k, cal.head[H_I, pool, best]


@inner
def _earliest_from(cal, cl, n, pool, last_day, d0):
    n_days = cal.dims[D_DAYS]
    last = min(last_day, n_days - 1)
    if last < d0:
        return NONE_SLOT
    # A cell's slots all fall on its day, so a clinician's earliest free slot
    # from d0 is in their first day with one; and no day after the best found
    # so far can beat it. Ties go to the clinician listed first.
    t = INF
    best = -1
    best_d = 0
    for j in range(n):
        c = cl[j]
        base = pool * cal.dims[D_CELLS] + c * n_days
        for d in range(d0, last + 1):
            v = cal.cell_first[base + d]
            if v != INF:
                if v < t:
                    t = v
                    best = c
                    best_d = d
                    last = d
                break
    if best < 0:
        return NONE_SLOT
    k = pool * cal.dims[D_CELLS] + best * n_days + best_d
    return t, best, best_d, pool, k, cal.cell[C_NXT, k]


@inner
def book_slot(cal, c, pool, k, i, now):
    """Take a free slot (the first free one of its cell, or a later one if those have passed)."""
    nx = cal.cell[C_NXT, k]
    end = cal.cell[C_END, k]
    if not (nx <= i < end):
        raise RuntimeError("compiled engine: booking a slot that is not free")
    if cal.times[i] < now or (i > nx and cal.times[i - 1] >= now):
        raise RuntimeError("compiled engine: booking a slot that is not the first free one")
    cal.booked[i] = True
    cal.cell[C_NXT, k] = i + 1
    cal.cell_first[k] = cal.times[i + 1] if i + 1 < end else INF
    if cal.head[H_K, pool, c] == k:
        refresh(cal, pool, c, now)


# ------------------------------------------------------------------ pairs

EMPTY = -1


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
def rehash(old, new):
    """Move every pair of table ``old`` into the (larger, empty) table ``new``."""
    for j in range(old.shape[1]):
        if old[0, j] != EMPTY:
            h = pair_slot(new[0], old[0, j])
            new[0, h] = old[0, j]
            new[1, h] = old[1, j]


# ------------------------------------------------------------------ the log


@inner
def new_request(lg, patient, t, need, urgency, mode, from_day, with_clinician):
    """Log a new request (as ``PracticeModel._new_request``); return its id."""
    r = lg.n[N_REQ]
    lg.n[N_REQ] = r + 1
    q = lg.req_i
    q[R_PATIENT, r] = patient
    q[R_FROM_DAY, r] = from_day
    q[R_WITH, r] = with_clinician
    q[R_NEED, r] = need
    q[R_URGENCY, r] = urgency
    q[R_MODE, r] = mode
    q[R_ATTEMPTS, r] = 0
    q[R_OUTCOME, r] = PENDING
    q[R_APPOINTMENT, r] = -1
    lg.req_f[RF_TIME, r] = t
    lg.req_f[RF_GAVE_UP, r] = np.nan
    return r


@inner
def queue_push(rn, lg, day, rid, attempt):
    """Queue request ``rid`` for the opening of ``day`` (after those already queued)."""
    q = lg.n[N_QUEUE]
    lg.n[N_QUEUE] = q + 1
    lg.queue[Q_RID, q] = rid
    lg.queue[Q_ATTEMPT, q] = attempt
    lg.queue[Q_NEXT, q] = -1
    if rn.days[Q_HEAD, day] < 0:
        rn.days[Q_HEAD, day] = q
    else:
        lg.queue[Q_NEXT, rn.days[Q_TAIL, day]] = q
    rn.days[Q_TAIL, day] = q
    rn.days[Q_COUNT, day] += 1


@inner
def _book(cal, pr, rn, lg, rid, now, j):
    """Book offer ``j`` of the scratch offers for request ``rid``."""
    t = rn.off_t[j]
    c, d, pool, k, i = rn.off_i[j, 0], rn.off_i[j, 1], rn.off_i[j, 2], rn.off_i[j, 3], \
        rn.off_i[j, 4]
    book_slot(cal, c, pool, k, i, now)
    a = lg.n[N_APPT]
    lg.n[N_APPT] = a + 1
    p = lg.req_i[R_PATIENT, rid]
    ap = lg.appt_i
    ap[P_REQUEST, a] = rid
    ap[P_PATIENT, a] = p
    ap[P_CLINICIAN, a] = c
    ap[P_POOL, a] = pool
    ap[P_STATUS, a] = BOOKED
    ap[P_USUAL, a] = pr.usual[p]
    ap[P_NEXT, a] = -1
    lg.appt_f[PF_TIME, a] = t
    lg.appt_f[PF_BOOKED_AT, a] = now
    lg.req_i[R_OUTCOME, rid] = GOT_APPOINTMENT
    lg.req_i[R_APPOINTMENT, rid] = a
    rn.slot_appt[i] = a
    if rn.days[DAY_HEAD, d] < 0:
        rn.days[DAY_HEAD, d] = a
    else:
        ap[P_NEXT, rn.days[DAY_TAIL, d]] = a
    rn.days[DAY_TAIL, d] = a
    rn.days[DAY_COUNT, d] += 1


# ------------------------------------------------------------------ offers


@inner
def _add_offer(rn, n, s):
    """Append slot ``s`` to the offers unless none or already there; return the count."""
    if s[1] < 0:
        return n
    for j in range(n):
        if rn.off_i[j, 3] == s[4] and rn.off_i[j, 4] == s[5]:
            return n
    rn.off_t[n] = s[0]
    rn.off_i[n, 0] = s[1]
    rn.off_i[n, 1] = s[2]
    rn.off_i[n, 2] = s[3]
    rn.off_i[n, 3] = s[4]
    rn.off_i[n, 4] = s[5]
    return n + 1


@inner
def _same_day(cal, cl, n, now, online):
    """As :func:`policies.base.same_day_slot`."""
    today = int(now)
    if online:
        return earliest(cal, cl, n, i64(ONLINE), now, today, i64(-1))
    held = earliest(cal, cl, n, i64(ON_THE_DAY), now, today, i64(-1))
    if held[1] >= 0:
        return held
    return earliest(cal, cl, n, i64(AHEAD), now, today, i64(-1))


@inner
def _routine(cal, horizon_days, release, cl, n, now, from_day, wait, online):
    """As :func:`policies.base.routine_slot`."""
    horizon = horizon_days if wait < 0 else min(wait, horizon_days)
    today = int(now)
    if online:
        return earliest(cal, cl, n, i64(ONLINE), now, today + horizon, from_day)
    best = earliest(cal, cl, n, i64(AHEAD), now, today + horizon, from_day)
    if from_day > today:
        return best
    held = earliest(cal, cl, n, i64(ON_THE_DAY), now, today, i64(-1))
    if held[1] >= 0 and held[0] <= now + release:
        if best[1] < 0 or held[0] <= best[0]:
            return held
    return best


@inner
def _fill_tiers(pr, rn, p, row):
    """The rule's tiers for patient ``p`` (eligible clinicians only), into ``rn.tiers``.

    As the ``tiers`` of :mod:`policies.usual_gp_first` and :mod:`policies.micro_team`.
    """
    usual = pr.usual[p]
    team = pr.team_of[usual]
    named = usual
    if pr.pi[I_RULE_NAMED] == RULE_TEAM_LEAD and team >= 0:
        named = pr.teams[team, 1]
    n1 = 0
    if pr.elig_mask[row, named]:
        rn.tiers[0, 0] = named
        n1 = 1
    n2 = 0
    if pr.pi[I_RULE_TEAM] and team >= 0:
        for j in range(pr.teams[team, 0]):
            c = pr.teams[team, 1 + j]
            if c != named and pr.elig_mask[row, c]:
                rn.tiers[1, n2] = c
                n2 += 1
    return n1, n2


@inner
def offers(cal, pr, rn, lg, rid, now):
    """The rule's offers for request ``rid`` at time ``now``, into the scratch offers.

    As :class:`policies.base.ContinuityPolicy` (``offers``, ``applies``) with
    :func:`policies.base.tiered_offers` and :func:`policies.base.follow_up_offers`.
    """
    pi = pr.pi
    urgency = lg.req_i[R_URGENCY, rid]
    mode = lg.req_i[R_MODE, rid]
    row = lg.req_i[R_NEED, rid] * pi[I_N_MODES] + mode
    n_elig = pr.elig[row, 0]
    elig = pr.elig[row, 1:]
    online = mode == pi[I_ONLINE_MODE] and cal.dims[D_ONLINE] != 0
    from_day = lg.req_i[R_FROM_DAY, rid]
    horizon = pi[I_HORIZON]
    n = i64(0)
    if urgency == FOLLOW_UP or urgency == REVIEW:
        pool = i64(ONLINE) if online else i64(AHEAD)
        c = lg.req_i[R_WITH, rid]
        if c >= 0:
            rn.tiers[0, 0] = c
            n = _add_offer(rn, n, earliest(cal, rn.tiers[0], i64(1), pool, now,
                                           from_day + pi[I_FU_WINDOW], from_day))
        return _add_offer(rn, n, earliest(cal, elig, n_elig, pool, now, from_day + horizon,
                                          from_day))
    p = lg.req_i[R_PATIENT, rid]
    apply = False
    if pi[I_RULE_NAMED] != RULE_NONE and pr.pat_b[B_CODED, p]:
        adherence = pr.pf[F_ADHERENCE]
        if adherence >= 1.0:
            apply = True
        else:
            u = rn.r_pol[lg.n[P_POL]]
            lg.n[P_POL] += 1
            apply = u < adherence
    n1 = 0
    n2 = 0
    if apply:
        n1, n2 = _fill_tiers(pr, rn, p, row)
    if urgency == URGENT:
        if n1 > 0:
            s = _same_day(cal, rn.tiers[0], n1, now, online)
            if s[1] >= 0:
                return _add_offer(rn, i64(0), s)
        if n2 > 0:
            s = _same_day(cal, rn.tiers[1], n2, now, online)
            if s[1] >= 0:
                return _add_offer(rn, i64(0), s)
        return _add_offer(rn, i64(0), _same_day(cal, elig, n_elig, now, online))
    release = pr.pf[F_RELEASE]
    if n1 > 0:
        n = _add_offer(rn, n, _routine(cal, horizon, release, rn.tiers[0], n1, now, from_day,
                                       pi[I_RULE_NAMED_WAIT], online))
    if n2 > 0:
        n = _add_offer(rn, n, _routine(cal, horizon, release, rn.tiers[1], n2, now, from_day,
                                       pi[I_RULE_TEAM_WAIT], online))
    return _add_offer(rn, n, _routine(cal, horizon, release, elig, n_elig, now, from_day, i64(-1),
                                      online))


@inner
def choose(pr, rn, lg, rid, n):
    """The offer the patient takes (as :func:`sim.model.patient_choice`), or -1."""
    if n == 0:
        return -1
    urgency = lg.req_i[R_URGENCY, rid]
    chosen = 0
    if urgency == ROUTINE and n > 1:
        soonest = 0
        for j in range(1, n):
            if rn.off_t[j] < rn.off_t[soonest]:
                soonest = j
        chosen = soonest
        if pr.pat_b[B_VALUES, lg.req_i[R_PATIENT, rid]]:
            extra = pr.need_f[NF_EXTRA, lg.req_i[R_NEED, rid]]
            for j in range(n):
                if j == soonest or rn.off_t[j] - rn.off_t[soonest] <= extra:
                    chosen = j
                    break
    if urgency == ROUTINE and rn.off_t[chosen] - lg.req_f[RF_TIME, rid] > pr.pf[F_DECLINE]:
        return -1
    return chosen


@inner
def handle(cal, pr, rn, lg, rid, now, attempt):
    """One attempt to book request ``rid`` at time ``now`` (as ``PracticeModel._handle``)."""
    lg.req_i[R_ATTEMPTS, rid] += 1
    n = offers(cal, pr, rn, lg, rid, now)
    j = choose(pr, rn, lg, rid, n)
    if j >= 0:
        _book(cal, pr, rn, lg, rid, now, j)
        return
    u = lg.n[N_UNMET]
    lg.n[N_UNMET] = u + 1
    lg.unmet_i[u] = rid
    lg.unmet_f[u] = now
    if attempt >= pr.pi[I_MAX_ATTEMPTS]:
        lg.req_i[R_OUTCOME, rid] = GAVE_UP
        lg.req_f[RF_GAVE_UP, rid] = now
        return
    day = pr.open_days[O_NEXT_OPEN, int(now)]
    if day + pr.pf[F_OPEN_TIME] < pr.pi[I_END_DAY]:
        queue_push(rn, lg, day, rid, i64(attempt + 1))


# ------------------------------------------------------------------ the day


@inner
def _attendance(cal, pr, rn, lg, d):
    """Day ``d``'s booked appointments are attended or missed; follow-ups are booked."""
    ap = lg.appt_i
    n = 0
    a = rn.days[DAY_HEAD, d]
    while a >= 0:
        if ap[P_STATUS, a] == BOOKED:
            n += 1
        a = ap[P_NEXT, a]
    if n == 0:
        return
    attended = rn.scratch[:n]
    m = 0
    online = cal.dims[D_ONLINE] != 0
    a = rn.days[DAY_HEAD, d]
    while a >= 0:
        if ap[P_STATUS, a] == BOOKED:
            lead = d - int(lg.appt_f[PF_BOOKED_AT, a])
            p = pr.dna_by_lead[lead] * pr.propensity[ap[P_PATIENT, a]]
            if p > 1.0:
                p = 1.0
            if online and ap[P_POOL, a] == ONLINE:
                p = 0.0
            u = rn.r_dna[lg.n[P_DNA]]
            lg.n[P_DNA] += 1
            if u < p:
                ap[P_STATUS, a] = DNA
            else:
                ap[P_STATUS, a] = ATTENDED
                attended[m] = a
                m += 1
        a = ap[P_NEXT, a]
    if m > 0:
        _follow_ups(cal, pr, rn, lg, d, attended[:m])


@inner
def _follow_ups(cal, pr, rn, lg, d, attended):
    """As ``PracticeModel._follow_ups``."""
    n = attended.size
    base = lg.n[P_FU]
    lg.n[P_FU] = base + 2 * n
    t = float(d + 1)
    make = t < pr.pi[I_END_DAY]
    n_clin = cal.dims[D_CLIN]
    for j in range(n):
        a = attended[j]
        patient = lg.appt_i[P_PATIENT, a]
        c = lg.appt_i[P_CLINICIAN, a]
        key = patient * n_clin + c
        h = pair_slot(rn.pairs[0], key)
        if rn.pairs[0, h] == EMPTY:
            rn.pairs[0, h] = key
            rn.pairs[1, h] = 0
            lg.n[N_PAIRS] += 1
        prior = rn.pairs[1, h]
        rn.pairs[1, h] = prior + 1
        rid = lg.appt_i[P_REQUEST, a]
        need = lg.req_i[R_NEED, rid]
        p = pr.need_f[NF_FU_P, need]
        if prior >= pr.pi[I_FU_KNOWN_AFTER]:
            p *= pr.pf[F_FU_KNOWN_FACTOR]
        if not make or rn.r_fu[base + j] >= p:
            continue
        from_day = d + int(pr.need_i[NI_FU_LO, need]
                           + int(rn.r_fu[base + n + j] * pr.need_i[NI_FU_SPAN, need]))
        new = new_request(lg, patient, lg.appt_f[PF_TIME, a], need, FOLLOW_UP,
                          lg.req_i[R_MODE, rid], from_day, c)
        handle(cal, pr, rn, lg, new, t, i64(1))


@inner
def _sickness(cal, pr, rn, lg, d):
    """Sickness spells starting on day ``d``: close the days, queue their patients."""
    n_days = cal.dims[D_DAYS]
    while lg.n[P_SPELL] < rn.spells.shape[1] and rn.spells[S_DAY, lg.n[P_SPELL]] == d:
        s = lg.n[P_SPELL]
        lg.n[P_SPELL] = s + 1
        c = rn.spells[S_CLIN, s]
        for day in range(d, min(d + rn.spells[S_LEN, s], n_days)):
            k = c * n_days + day
            if cal.closed[k]:
                continue
            cal.closed[k] = True
            for pool in range(N_POOLS):
                kk = pool * cal.dims[D_CELLS] + k
                for i in range(cal.cell[C_START, kk], cal.cell[C_END, kk]):
                    if cal.booked[i]:
                        _cancel_and_rebook(pr, rn, lg, rn.slot_appt[i], d)
                cal.cell[C_NXT, kk] = cal.cell[C_END, kk]
                cal.cell_first[kk] = INF
                if cal.head[H_K, pool, c] == kk:
                    refresh(cal, pool, c, cal.head_t[pool, c])


@inner
def _cancel_and_rebook(pr, rn, lg, a, d):
    lg.appt_i[P_STATUS, a] = CANCELLED
    rid = lg.appt_i[P_REQUEST, a]
    lg.req_i[R_OUTCOME, rid] = PENDING
    lg.req_i[R_APPOINTMENT, rid] = -1
    if not pr.open_days[O_IS_OPEN, d]:
        d = pr.open_days[O_NEXT_OPEN, d]
    if d + pr.pf[F_OPEN_TIME] >= pr.pi[I_END_DAY]:
        return
    queue_push(rn, lg, d, rid, i64(1))


@inner
def _opening(cal, pr, rn, lg, d):
    """Requests queued for day ``d`` (retries, rebookings), in the order queued."""
    now = d + pr.pf[F_OPEN_TIME]
    q = rn.days[Q_HEAD, d]
    while q >= 0:
        handle(cal, pr, rn, lg, lg.queue[Q_RID, q], now, lg.queue[Q_ATTEMPT, q])
        q = lg.queue[Q_NEXT, q]
    rn.days[Q_HEAD, d] = -1


@inner
def _new_requests(cal, pr, rn, lg, d):
    """The new requests of day ``d``, in time order (as ``PracticeModel.new_requests``)."""
    arr = rn.arr
    has_nav = pr.pi[I_HAS_NAV] != 0
    for j in range(rn.day_start[d], rn.day_start[d + 1]):
        t = rn.a_time[j]
        p = arr[A_PATIENT, j]
        need = arr[A_NEED, j]
        urgency = arr[A_URGENCY, j]
        mode = arr[A_MODE, j]
        if has_nav and urgency != REVIEW:
            to = arr[A_NAV, j]
            if to == -2:
                rid = new_request(lg, p, t, need, urgency, mode, arr[A_FROM_DAY, j], i64(-1))
                lg.req_i[R_OUTCOME, rid] = SIGNPOSTED
                continue
            if to >= 0:
                need = to
        with_clinician = i64(-1)
        if urgency == REVIEW:
            c = pr.usual[p]
            if arr[A_NAMED, j] != NAMED_USUAL_GP:
                team = pr.team_of[c]
                if team >= 0:
                    c = pr.teams[team, 1]
            with_clinician = c if pr.elig_mask[need * pr.pi[I_N_MODES] + mode, c] else i64(-1)
        rid = new_request(lg, p, t, need, urgency, mode, arr[A_FROM_DAY, j], with_clinician)
        handle(cal, pr, rn, lg, rid, t, i64(1))


# ------------------------------------------------------------------ entry points


@inner
def _room(cal, pr, rn, lg, d, attend):
    """Whether the log and the random blocks can hold the most day ``d`` could add.

    The most: every appointment of yesterday attended and asking for a
    follow-up, every sickness cancellation, queued and new request handled,
    each booking or failing. ``rn.want`` gets (requests, attempts,
    appointments to attend, policy draws, new patient-clinician pairs) for
    the driver to grow by.
    """
    yesterday = rn.days[DAY_COUNT, d - 1] if attend else 0
    cancelled = 0
    for s in range(lg.n[P_SPELL], rn.spells.shape[1]):
        if rn.spells[S_DAY, s] != d:
            break
        for day in range(d, min(d + rn.spells[S_LEN, s], cal.dims[D_DAYS])):
            cancelled += rn.days[DAY_COUNT, day]
    new = rn.day_start[d + 1] - rn.day_start[d]
    queued = rn.days[Q_COUNT, d] + cancelled
    handles = yesterday + queued + new
    draws = queued + new if pr.pi[I_RULE_NAMED] != RULE_NONE and pr.pf[F_ADHERENCE] < 1.0 else 0
    rn.want[0] = yesterday + new
    rn.want[1] = handles
    rn.want[2] = yesterday
    rn.want[3] = draws
    rn.want[4] = yesterday
    n = lg.n
    appt_cap = lg.appt_i.shape[1]
    unmet_cap = lg.unmet_i.shape[0]
    return (n[N_REQ] + yesterday + new <= lg.req_i.shape[1]
            and n[N_APPT] + handles <= appt_cap
            and n[N_UNMET] + handles <= unmet_cap
            and lg.queue.shape[1] >= appt_cap + unmet_cap
            and n[P_DNA] + yesterday <= rn.r_dna.size
            and n[P_FU] + 2 * yesterday <= rn.r_fu.size
            and n[P_POL] + draws <= rn.r_pol.size
            and 2 * (n[N_PAIRS] + yesterday) <= rn.pairs.shape[1]
            and yesterday <= rn.scratch.size)


@njit(cache=True, _nrt=False)
def run_days(cal, pr, rn, lg, d0, d1, attend_first):
    """Days ``d0`` to ``d1 - 1``, each as ``PracticeModel.day``; return the day reached.

    Yesterday's attendance opens each day (not ``d0``'s unless
    ``attend_first``), then sickness, opening and new requests. Stops before
    a day that might not fit in the log (see :func:`_room`): the driver
    grows it and calls again from there.
    """
    for d in range(d0, d1):
        attend = d > 0 and (d > d0 or attend_first)
        if not _room(cal, pr, rn, lg, d, attend):
            return d
        if attend:
            _attendance(cal, pr, rn, lg, d - 1)
        _sickness(cal, pr, rn, lg, d)
        _opening(cal, pr, rn, lg, d)
        _new_requests(cal, pr, rn, lg, d)
    return d1


@njit(cache=True, _nrt=False)
def attendance(cal, pr, rn, lg, d):
    """Day ``d``'s appointments attended or missed, alone (before a leaver's lists move)."""
    _attendance(cal, pr, rn, lg, d)
